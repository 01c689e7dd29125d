/* `latent terrain info|train|render`. */
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------ info */

int
latent_cli_terrain_info (int argc, char **argv)
{
  if (!latent_cli_parse ("terrain info", "FILE", NULL, &argc, &argv))
    return 1;
  if (argc != 2)
    return latent_cli_fail ("terrain info: expected one FILE, got %d arguments", argc - 1);
  GError *error = NULL;
  LatentTerrain *t = latent_terrain_load (argv[1], &error);
  if (!t) {
    int status = latent_cli_fail ("%s", error->message);
    g_error_free (error);
    return status;
  }
  const LatentTerrainConfig *c = latent_terrain_get_config (t);
  printf ("%s: nn_terrain checkpoint\n", argv[1]);
  printf ("  control dims  %d\n", c->control_dims);
  printf ("  latent dims   %d\n", c->latent_dims);
  printf ("  channels      %d\n", c->channels);
  printf ("  features      %d%s\n", c->features,
      c->gauss_scale > 0.0f ? "" : " (unused: no Fourier mapping)");
  printf ("  gauss scale   %g\n", c->gauss_scale);
  printf ("  parameters    %" G_GSIZE_FORMAT "\n", latent_terrain_get_param_count (t));
  latent_terrain_free (t);
  return 0;
}

/* ----------------------------------------------------------------- train */

static LatentTerrainTrainer *interrupt_target;
static volatile sig_atomic_t interrupt_signal; /* the exit status is 128 + it, as a shell's */

/* SIGINT and SIGTERM. Cancelling only stores an atomic flag: safe inside a signal handler. */
static void
on_interrupt (int signal_number)
{
  interrupt_signal = signal_number;
  if (interrupt_target)
    latent_terrain_trainer_cancel (interrupt_target);
}

typedef struct {
  int epochs;
  gboolean tty;
} BarState;

/* Called on the training thread after every epoch: draws the bar on stderr. */
static void
draw_progress (const LatentTerrainProgress *progress, gpointer data)
{
  BarState *bar = data;
  enum { WIDTH = 24 };
  /* A log (not a terminal) gets about twenty lines, not one per epoch. */
  guint64 every = MAX (1, bar->epochs / 20);
  if (!bar->tty && progress->epoch % every != 0 && progress->epoch != 1)
    return;
  int filled = bar->epochs ? (int) (WIDTH * progress->epoch / bar->epochs) : WIDTH;
  char cells[WIDTH + 1];
  for (int i = 0; i < WIDTH; i++)
    cells[i] = i < filled ? '#' : '.';
  cells[WIDTH] = '\0';
  fprintf (stderr, "%sepoch %" G_GUINT64_FORMAT "/%d [%s] loss %.6g%s", bar->tty ? "\r" : "",
      progress->epoch, bar->epochs, cells, progress->loss, bar->tty ? "" : "\n");
  fflush (stderr);
}

/* The output must be writable before spending minutes on training. */
static gboolean
check_writable (const char *path)
{
  GError *error = NULL;
  gboolean ok = latent_check_save_path (path, &error);
  if (!ok)
    latent_cli_fail ("terrain train: %s", error->message);
  g_clear_error (&error);
  return ok;
}

/* --layout: the dataset's latents, fragment by fragment, at the coordinates a core layout gives
 * them (as terraintrain without a coords pad); the dataset's own coordinates are dropped. */
static LatentTerrainDataset *
lay_out_dataset (const LatentTerrainDataset *dataset, LatentTerrainLayout layout,
    int control_dims)
{
  const guint n = latent_terrain_dataset_get_n_fragments (dataset);
  const int latent_dims = latent_terrain_dataset_get_latent_dims (dataset);
  const float **latents = g_new (const float *, MAX (n, 1));
  gsize *n_frames = g_new (gsize, MAX (n, 1));
  float **coords = g_new (float *, MAX (n, 1));
  for (guint f = 0; f < n; f++) {
    const float *ignored_coords;
    latent_terrain_dataset_get_fragment (dataset, f, &n_frames[f], &ignored_coords,
        &latents[f]);
    coords[f] = g_new (float, n_frames[f] * control_dims);
  }
  latent_terrain_layout (layout, latents, n_frames, n, latent_dims, control_dims, coords);
  LatentTerrainDataset *laid_out = latent_terrain_dataset_new (control_dims, latent_dims);
  for (guint f = 0; f < n; f++) {
    latent_terrain_dataset_add_fragment (laid_out, coords[f], latents[f], n_frames[f]);
    g_free (coords[f]);
  }
  g_free (coords);
  g_free (n_frames);
  g_free (latents);
  return laid_out;
}

/* --layout NAME: *dataset becomes its laid-out copy, with --control-dims (default 2, as
 * terraintrain's control-dims) control dims. */
static gboolean
apply_layout_option (const char *layout_name, int control_dims, LatentTerrainDataset **dataset)
{
  LatentTerrainLayout layout;
  if (!latent_terrain_layout_from_name (layout_name, &layout)) {
    latent_cli_fail ("terrain train: --layout takes %s or %s, not \"%s\"",
        latent_terrain_layout_name (LATENT_TERRAIN_LAYOUT_STRAIGHT),
        latent_terrain_layout_name (LATENT_TERRAIN_LAYOUT_PCA), layout_name);
    return FALSE;
  }
  const int dims = control_dims ? control_dims : 2;
  if (dims < 1 || dims > LATENT_TERRAIN_MAX_CONTROL_DIMS) {
    latent_cli_fail ("terrain train: --control-dims must be 1..%d (got %d)",
        LATENT_TERRAIN_MAX_CONTROL_DIMS, dims);
    return FALSE;
  }
  LatentTerrainDataset *laid_out = lay_out_dataset (*dataset, layout, dims);
  latent_terrain_dataset_free (*dataset);
  *dataset = laid_out;
  return TRUE;
}

/* What `latent terrain train` was asked to do; the fields start at the documented defaults. */
typedef struct {
  char *dataset_path, *out_path, *from_path, *layout_name;
  int epochs, batch;
  int control_dims; /* 0: the dataset's */
  double lr;
  LatentTerrainConfig config;
  double gauss_scale;
  gint64 seed;
  double checkpoint_interval; /* seconds; 0: --out only at the end */
} TrainOptions;

static void
train_options_init (TrainOptions *options)
{
  *options = (TrainOptions) {
    .epochs = LATENT_TERRAIN_DEFAULT_EPOCHS,
    .batch = LATENT_TERRAIN_DEFAULT_BATCH,
    .lr = LATENT_TERRAIN_DEFAULT_LR,
    .seed = 1,
    .checkpoint_interval = 1.0,
  };
  latent_terrain_config_init (&options->config);
  options->gauss_scale = options->config.gauss_scale;
}

static void
train_options_clear (TrainOptions *options)
{
  g_free (options->dataset_path);
  g_free (options->out_path);
  g_free (options->from_path);
  g_free (options->layout_name);
}

/* Parses and checks the command line; on a problem prints one line and returns FALSE. */
static gboolean
parse_train_options (TrainOptions *o, int *argc, char ***argv)
{
  GOptionEntry entries[] = {
    { "dataset", 0, 0, G_OPTION_ARG_FILENAME, &o->dataset_path,
      "Training data, nn_terrain's dictionary as JSON (required)", "D.json" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &o->out_path, "Where to write the terrain (required)",
      "T.pt" },
    { "from", 0, 0, G_OPTION_ARG_FILENAME, &o->from_path,
      "Continue from this terrain instead of a new one", "T.pt" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &o->epochs, "Epochs to train (10)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &o->lr, "Adam learning rate (0.001)", "X" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &o->batch, "Batch size (32)", "B" },
    { "control-dims", 0, 0, G_OPTION_ARG_INT, &o->control_dims,
      "Control dims (default: the dataset's)", "D" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &o->config.channels, "Hidden layer width c (128)",
      "C" },
    { "features", 0, 0, G_OPTION_ARG_INT, &o->config.features, "Fourier features m (256)", "M" },
    { "gauss-scale", 0, 0, G_OPTION_ARG_DOUBLE, &o->gauss_scale,
      "Sigma of the Fourier matrix; 0 = no Fourier mapping (0.1)", "S" },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &o->seed, "Seed of initialisation and shuffling (1)",
      "N" },
    { "layout", 0, 0, G_OPTION_ARG_STRING, &o->layout_name,
      "Place the dataset's latents by a layout instead of its coordinates, as terraintrain's "
      "layout property: straight (one straight path per fragment) or pca (each frame at its "
      "projection on the two principal axes); control dims 2 unless --control-dims",
      "straight|pca" },
    { "checkpoint-interval", 0, 0, G_OPTION_ARG_DOUBLE, &o->checkpoint_interval,
      "While training, also write --out with the current weights every S seconds, so a "
      "killed run leaves its training; 0 = only at the end (1)", "S" },
    { NULL },
  };
  if (!latent_cli_parse ("terrain train", "", entries, argc, argv))
    return FALSE;
  if (*argc != 1) {
    latent_cli_fail ("terrain train: unexpected argument \"%s\"", (*argv)[1]);
    return FALSE;
  }
  if (!o->dataset_path || !o->out_path) {
    latent_cli_fail ("terrain train: --dataset and --out are required");
    return FALSE;
  }
  if (o->epochs < 1 || o->batch < 1 || o->batch > LATENT_TERRAIN_MAX_BATCH
      || !(o->lr > 0.0 && isfinite (o->lr))) {
    latent_cli_fail ("terrain train: --epochs must be >= 1, --batch 1..%d, --lr > 0 "
        "(got %d, %d, %g)", LATENT_TERRAIN_MAX_BATCH, o->epochs, o->batch, o->lr);
    return FALSE;
  }
  if (!(o->checkpoint_interval >= 0.0 && o->checkpoint_interval <= 86400.0)) {
    latent_cli_fail ("terrain train: --checkpoint-interval must be 0..86400 seconds (got %g)",
        o->checkpoint_interval);
    return FALSE;
  }
  return TRUE;
}

/* The network training starts from: the --from file, or a new one shaped by the dataset and
 * the options. NULL with `error`, or with a message printed (control dims that disagree). */
static LatentTerrain *
initial_terrain (TrainOptions *o, const LatentTerrainDataset *dataset, GError **error)
{
  int dataset_dims = latent_terrain_dataset_get_control_dims (dataset);
  if (o->control_dims && o->control_dims != dataset_dims) {
    latent_cli_fail ("terrain train: %s has %d control dims, --control-dims says %d",
        o->dataset_path, dataset_dims, o->control_dims);
    return NULL;
  }
  if (o->from_path)
    return latent_terrain_load (o->from_path, error);
  o->config.control_dims = dataset_dims;
  o->config.latent_dims = latent_terrain_dataset_get_latent_dims (dataset);
  o->config.gauss_scale = (float) o->gauss_scale;
  return latent_terrain_new (&o->config, (guint64) o->seed, error);
}

/* Trains with a progress bar on stderr, checkpointing --out as terraintrain does (the core
 * trainer's checkpoints: a SIGKILL leaves the last one). Ctrl-C (or SIGTERM) cancels the run
 * within a step (LATENT_ERROR_CANCELLED) instead of killing the process, so that the caller
 * saves exactly what was learnt. */
static gboolean
run_with_progress (LatentTerrainTrainer *trainer, const TrainOptions *o, GError **error)
{
  latent_terrain_trainer_set_epochs (trainer, o->epochs);
  latent_terrain_trainer_set_batch_size (trainer, o->batch);
  latent_terrain_trainer_set_learning_rate (trainer, o->lr);
  latent_terrain_trainer_set_checkpoint (trainer, o->out_path, o->checkpoint_interval, NULL,
      NULL, NULL);
  BarState bar = { .epochs = o->epochs, .tty = isatty (STDERR_FILENO) };
  latent_terrain_trainer_set_progress_func (trainer, draw_progress, &bar, NULL);

  interrupt_target = trainer;
  struct sigaction action = { .sa_handler = on_interrupt }, previous_int, previous_term;
  sigemptyset (&action.sa_mask);
  sigaction (SIGINT, &action, &previous_int);
  sigaction (SIGTERM, &action, &previous_term);
  gboolean trained_ok = latent_terrain_trainer_run (trainer, NULL, error);
  sigaction (SIGINT, &previous_int, NULL);
  sigaction (SIGTERM, &previous_term, NULL);
  interrupt_target = NULL;
  if (bar.tty)
    fputc ('\n', stderr);
  /* The progress function points at `bar`, which ends here; the trainer has stopped. */
  latent_terrain_trainer_set_progress_func (trainer, NULL, NULL, NULL);
  return trained_ok;
}

int
latent_cli_terrain_train (int argc, char **argv)
{
  TrainOptions options;
  train_options_init (&options);
  int status = 1;
  LatentTerrainDataset *dataset = NULL;
  LatentTerrain *initial = NULL, *trained = NULL;
  LatentTerrainTrainer *trainer = NULL;
  GError *error = NULL;
  if (!parse_train_options (&options, &argc, &argv) || !check_writable (options.out_path))
    goto out;
  dataset = latent_terrain_dataset_load_json (options.dataset_path, &error);
  if (!dataset || (options.layout_name
          && !apply_layout_option (options.layout_name, options.control_dims, &dataset)))
    goto out;
  initial = initial_terrain (&options, dataset, &error);
  if (!initial)
    goto out;
  trainer = latent_terrain_trainer_new (initial, NULL, (guint64) options.seed);
  if (!latent_terrain_trainer_set_dataset (trainer, dataset, &error))
    goto out;
  fprintf (stderr, "training on %" G_GSIZE_FORMAT " pairs from %s\n",
      latent_terrain_dataset_get_n_pairs (dataset), options.dataset_path);
  gboolean complete = run_with_progress (trainer, &options, &error);
  gboolean interrupted = g_error_matches (error, LATENT_ERROR, LATENT_ERROR_CANCELLED);
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (trainer, &progress);
  if (interrupted)
    g_clear_error (&error);
  if (interrupted && progress.step == 0) {
    latent_cli_fail ("terrain train: interrupted before the first step, %s not written",
        options.out_path);
    goto out;
  }
  if (!complete && !interrupted)
    goto out;
  /* Interrupted: what was learnt is kept, as terraintrain stopped mid-training keeps it. */
  trained = latent_terrain_trainer_copy_terrain (trainer);
  if (!latent_terrain_save (trained, options.out_path, &error))
    goto out;
  fprintf (stderr, "%s%s (%" G_GUINT64_FORMAT " epochs, loss %.6g)\n",
      interrupted ? "interrupted: wrote what was learnt to " : "wrote ", options.out_path,
      progress.epoch, progress.loss);
  status = interrupted ? 128 + interrupt_signal : 0;
out:
  if (error) {
    latent_cli_fail ("terrain train: %s", error->message);
    g_error_free (error);
  }
  latent_terrain_trainer_free (trainer);
  latent_terrain_free (trained);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (dataset);
  train_options_clear (&options);
  return status;
}

/* ---------------------------------------------------------------- render */

/* "a<sep>b<sep>..." with exactly n numbers. */
static gboolean
parse_numbers (const char *text, char separator, int n, double *values)
{
  const char *p = text;
  for (int i = 0; i < n; i++) {
    char *end = NULL;
    values[i] = g_ascii_strtod (p, &end);
    if (end == p || !isfinite (values[i]))
      return FALSE;
    if (i + 1 < n && *end != separator)
      return FALSE;
    if (i + 1 == n && *end != '\0')
      return FALSE;
    p = end + 1;
  }
  return TRUE;
}

int
latent_cli_terrain_render (int argc, char **argv)
{
  char *png = NULL, *size = NULL, *bounds = NULL, *clamp = NULL;
  LatentTerrainRenderOptions options;
  latent_terrain_render_options_init (&options);
  GOptionEntry entries[] = {
    { "png", 0, 0, G_OPTION_ARG_FILENAME, &png, "Picture to write (required)", "OUT.png" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "Pixels (600x150)", "WxH" },
    { "bounds", 0, 0, G_OPTION_ARG_STRING, &bounds,
      "Control values at the left, top, right, bottom edges (-16,-4,16,4)", "L,T,R,B" },
    { "channel", 0, 0, G_OPTION_ARG_INT, &options.channel,
      "Latent channel; with --colour the first of four (0)", "N" },
    { "clamp", 0, 0, G_OPTION_ARG_STRING, &clamp, "Values mapped to black..white (-1,4)",
      "LO,HI" },
    { "colour", 0, 0, G_OPTION_ARG_NONE, &options.colour,
      "Colour from four channels: brightness, red, green, blue", NULL },
    { "color", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_NONE, &options.colour, NULL, NULL },
    { NULL },
  };
  int status = 1;
  LatentTerrain *t = NULL;
  GError *error = NULL;
  double v[4];
  if (!latent_cli_parse ("terrain render", "FILE", entries, &argc, &argv))
    goto out;
  if (argc != 2) {
    latent_cli_fail ("terrain render: expected one FILE, got %d arguments", argc - 1);
    goto out;
  }
  if (!png) {
    latent_cli_fail ("terrain render: --png is required");
    goto out;
  }
  if (size) {
    if (!parse_numbers (size, 'x', 2, v) || v[0] != floor (v[0]) || v[1] != floor (v[1])) {
      latent_cli_fail ("terrain render: --size \"%s\" is not WIDTHxHEIGHT", size);
      goto out;
    }
    options.width = (int) CLAMP (v[0], -1, G_MAXINT);
    options.height = (int) CLAMP (v[1], -1, G_MAXINT);
  }
  if (bounds) {
    if (!parse_numbers (bounds, ',', 4, v)) {
      latent_cli_fail ("terrain render: --bounds \"%s\" is not LEFT,TOP,RIGHT,BOTTOM", bounds);
      goto out;
    }
    options.left = v[0], options.top = v[1], options.right = v[2], options.bottom = v[3];
  }
  if (clamp) {
    if (!parse_numbers (clamp, ',', 2, v)) {
      latent_cli_fail ("terrain render: --clamp \"%s\" is not LO,HI", clamp);
      goto out;
    }
    options.clamp_lo = v[0], options.clamp_hi = v[1];
  }
  t = latent_terrain_load (argv[1], &error);
  if (t && latent_terrain_render_png (t, &options, png, &error))
    status = 0;
out:
  if (error) {
    latent_cli_fail ("terrain render: %s", error->message);
    g_error_free (error);
  }
  latent_terrain_free (t);
  g_free (png);
  g_free (size);
  g_free (bounds);
  g_free (clamp);
  return status;
}
