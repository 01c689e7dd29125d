/* Sub-commands of the `latent` tool. Each takes the arguments after its own name
 * (argv[0] is "latent NOUN VERB") and returns the exit status. */
#ifndef LATENT_CLI_H
#define LATENT_CLI_H

#include "latent.h"

int latent_cli_terrain_info (int argc, char **argv);
int latent_cli_terrain_train (int argc, char **argv);
int latent_cli_terrain_render (int argc, char **argv);
int latent_cli_model_info (int argc, char **argv);

/* Prints "latent: MESSAGE" on one line and returns 1. */
int latent_cli_fail (const char *format, ...) G_GNUC_PRINTF (1, 2);
/* Parses options; on error prints one line and returns FALSE. `parameter` names the
 * positional arguments in --help. */
gboolean latent_cli_parse (const char *command, const char *parameter, GOptionEntry *entries,
    int *argc, char ***argv);

#endif /* LATENT_CLI_H */
