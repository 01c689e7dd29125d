/* `latent`: command-line access to the core. `latent NOUN VERB [OPTIONS] ARGS`. */
#include "cli.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *noun, *verb;
  int (*run) (int argc, char **argv);
  const char *summary;
} Command;

static const Command commands[] = {
  { "terrain", "info", latent_cli_terrain_info, "FILE: dims, channels, features, parameters" },
  { "terrain", "train", latent_cli_terrain_train, "--dataset D.json --out T.pt: train a terrain" },
  { "terrain", "render", latent_cli_terrain_render, "FILE --png OUT.png: draw a terrain" },
  { "model", "info", latent_cli_model_info, "FILE: methods and shapes of a model" },
};

int
latent_cli_fail (const char *format, ...)
{
  va_list args;
  va_start (args, format);
  char *message = g_strdup_vprintf (format, args);
  va_end (args);
  /* One line, whatever the message carried. */
  g_strdelimit (message, "\n", ' ');
  g_printerr ("latent: %s\n", message);
  g_free (message);
  return 1;
}

gboolean
latent_cli_parse (const char *command, const char *parameter, GOptionEntry *entries,
    int *argc, char ***argv)
{
  GOptionContext *context = g_option_context_new (parameter);
  char *prgname = g_strdup_printf ("latent %s", command);
  g_set_prgname (prgname);
  if (entries)
    g_option_context_add_main_entries (context, entries, NULL);
  GError *error = NULL;
  gboolean ok = g_option_context_parse (context, argc, argv, &error);
  if (!ok) {
    latent_cli_fail ("%s: %s", command, error->message);
    g_error_free (error);
  }
  g_option_context_free (context);
  g_free (prgname);
  return ok;
}

static void
usage (FILE *out)
{
  fprintf (out, "Usage: latent NOUN VERB [OPTION...] ARGS (--help after the verb for its options)\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  latent %-7s %-6s %s\n", commands[i].noun, commands[i].verb,
        commands[i].summary);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
    usage (argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  gboolean noun_known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++) {
    if (strcmp (argv[1], commands[i].noun) != 0)
      continue;
    noun_known = TRUE;
    if (argc < 3 || strcmp (argv[2], commands[i].verb) != 0)
      continue;
    /* The sub-command sees "latent NOUN VERB" as argv[0]. */
    char *name = g_strdup_printf ("latent %s %s", argv[1], argv[2]);
    argv[2] = name;
    int status = commands[i].run (argc - 2, argv + 2);
    g_free (name);
    return status;
  }
  if (!noun_known)
    return latent_cli_fail ("unknown command \"%s\" (try latent --help)", argv[1]);
  return latent_cli_fail ("%s: unknown or missing verb%s%s (try latent --help)", argv[1],
      argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
}
