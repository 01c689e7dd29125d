/* bench-terrain: the terrain core (core/terrain-train.c, core/terrain-render.c) against
 * python3-torch (tests/bench/terrain_reference.py) on the same network, data and initial
 * weights, measured in one run, one thread each side:
 *   (a) training steps per second at batch 32, DESIGN.md's default network (2 -> 8, c 128,
 *       m 256, sigma 0.1), MSE + Adam (lr 1e-3), on a synthetic dataset (a smooth map from
 *       nn_terrain's canvas to 8 latents, 4096 pairs);
 *   (b) the time to render the default 600 x 150 picture (latent_terrain_render) against the
 *       reference's forward on the same 90,000 points.
 * Prints both ratios with their targets (training >= 2x the reference's steps/s; render no
 * slower than the reference) and exits 1 when a target is missed, or when the two sides do not
 * compute the same thing (both must lower the loss; the rendered values' means must agree).
 *
 *   ninja -C build bench-terrain        (run_target)
 *   meson test -C build --benchmark     (benchmark)
 *   build/tests/bench/bench-terrain [--pairs N] [--epochs E] [--reference-epochs E] */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-glib/json-glib.h>

#include "latent.h"
#include "synthetic-terrain.h"
#include "bench-util.h"

static void
record_loss (const LatentTerrainProgress *progress, gpointer data)
{
  g_array_append_val ((GArray *) data, progress->loss);
}

/* Ours: steps per second over `epochs` epochs; first and last epoch loss. */
static double
train_ours (const LatentTerrain *initial, const LatentTerrainDataset *ds, int epochs,
    double *loss_first, double *loss_last)
{
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, NULL, 1);
  GError *error = NULL;
  if (!latent_terrain_trainer_set_dataset (trainer, ds, &error))
    g_error ("%s", error->message);
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));
  latent_terrain_trainer_set_progress_func (trainer, record_loss, losses, NULL);
  latent_terrain_trainer_set_batch_size (trainer, 32);
  latent_terrain_trainer_set_learning_rate (trainer, 1e-3);
  latent_terrain_trainer_set_epochs (trainer, epochs);
  gint64 t0 = g_get_monotonic_time ();
  if (!latent_terrain_trainer_run (trainer, NULL, &error))
    g_error ("%s", error->message);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (trainer, &progress);
  *loss_first = g_array_index (losses, double, 0);
  *loss_last = g_array_index (losses, double, losses->len - 1);
  g_array_unref (losses);
  latent_terrain_trainer_free (trainer);
  return progress.step / seconds;
}

/* Ours: seconds to render the default picture; *mean0 = mean of latent 0 on its grid. */
static double
render_ours (const LatentTerrain *terrain, double *mean0)
{
  LatentTerrainRenderOptions options;
  latent_terrain_render_options_init (&options);
  guint8 *pixels = g_new (guint8, (gsize) options.width * options.height);
  GError *error = NULL;
  LatentTerrainRenderOptions small = options;
  small.height = 1; /* warm-up, as the reference warms up */
  latent_terrain_render (terrain, &small, pixels, NULL);
  gint64 t0 = g_get_monotonic_time ();
  if (!latent_terrain_render (terrain, &options, pixels, &error))
    g_error ("%s", error->message);
  double seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_free (pixels);

  /* The values behind the picture, to check that the reference computed the same thing. */
  gsize n = (gsize) options.width * options.height;
  float *xy = g_new (float, 2 * n), *out = g_new (float, 8 * n);
  for (int i = 0; i < options.height; i++)
    for (int j = 0; j < options.width; j++) {
      gsize k = (gsize) i * options.width + j;
      xy[2 * k] = options.left + j * ((options.right - options.left) / options.width);
      xy[2 * k + 1] = options.top + i * ((options.bottom - options.top) / options.height);
    }
  latent_terrain_forward_batch (terrain, xy, n, out);
  double sum = 0;
  for (gsize k = 0; k < n; k++)
    sum += out[8 * k];
  *mean0 = sum / n;
  g_free (xy);
  g_free (out);
  return seconds;
}

static JsonObject *
run_reference (const char *initial, const char *dataset, int epochs, JsonParser **parser)
{
  char *epochs_s = g_strdup_printf ("%d", epochs);
  char *argv[] = { (char *) LATENT_PYTHON, (char *) TERRAIN_REFERENCE, (char *) initial,
    (char *) dataset, epochs_s, (char *) "600", (char *) "150", NULL };
  char *out = bench_run_reference (argv);
  g_free (epochs_s);
  if (!out)
    return NULL;
  GError *error = NULL;
  *parser = json_parser_new ();
  gboolean ok = json_parser_load_from_data (*parser, out, -1, &error);
  g_free (out);
  if (!ok || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (*parser))) {
    fprintf (stderr, "reference printed no JSON object: %s\n", error ? error->message : "");
    g_clear_error (&error);
    return NULL;
  }
  return json_node_get_object (json_parser_get_root (*parser));
}

int
main (int argc, char **argv)
{
  int pairs = 4096, epochs = 20, reference_epochs = 5;
  GOptionEntry entries[] = {
    { "pairs", 0, 0, G_OPTION_ARG_INT, &pairs, "Training pairs (4096)", "N" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs timed for the core (20)", "E" },
    { "reference-epochs", 0, 0, G_OPTION_ARG_INT, &reference_epochs,
      "Epochs timed for python3-torch (5)", "E" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("- terrain core vs python3-torch");
  g_option_context_add_main_entries (ctx, entries, NULL);
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || pairs < 64 || epochs < 1
      || reference_epochs < 1) {
    fprintf (stderr, "bench-terrain: %s\n", error ? error->message
        : "--pairs must be >= 64, --epochs and --reference-epochs >= 1");
    return 2;
  }
  g_option_context_free (ctx);
  if (!g_file_test (LATENT_PYTHON, G_FILE_TEST_IS_EXECUTABLE)) {
    printf ("bench-terrain: %s not found (python3-torch)\n", LATENT_PYTHON);
    return 77;
  }

  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  LatentTerrain *initial = latent_terrain_new (&config, 1, NULL);
  LatentTerrainDataset *ds = synthetic_terrain_dataset (1, pairs);
  char *dir = g_dir_make_tmp ("latent-bench-terrain-XXXXXX", NULL);
  char *initial_path = g_build_filename (dir, "initial.pt", NULL);
  char *dataset_path = g_build_filename (dir, "dataset.json", NULL);
  if (!latent_terrain_save (initial, initial_path, &error)
      || !latent_terrain_dataset_save_json (ds, dataset_path, &error))
    g_error ("%s", error->message);

  printf ("terrain %d -> %d, c %d, m %d, sigma %g; %d pairs, batch 32; one thread each side\n",
      config.control_dims, config.latent_dims, config.channels, config.features,
      config.gauss_scale, pairs);
  double our_first, our_last, our_mean0;
  double our_steps = train_ours (initial, ds, epochs, &our_first, &our_last);
  double our_render = render_ours (initial, &our_mean0);

  JsonParser *parser = NULL;
  JsonObject *ref = run_reference (initial_path, dataset_path, reference_epochs, &parser);
  int status = 0;
  if (!ref) {
    status = 1;
  } else {
    double ref_steps = json_object_get_double_member (ref, "steps")
        / json_object_get_double_member (ref, "train_s");
    double ref_first = json_object_get_double_member (ref, "loss_first");
    double ref_last = json_object_get_double_member (ref, "loss_last");
    double ref_render = json_object_get_double_member (ref, "render_s");
    double ref_mean0 = json_object_get_double_member (ref, "render_mean0");
    double train_ratio = our_steps / ref_steps, render_ratio = ref_render / our_render;
    printf ("training:  core %.0f steps/s (loss %.4f -> %.4f over %d epochs), python3-torch "
        "%.0f steps/s (loss %.4f -> %.4f over %d epochs)\n", our_steps, our_first, our_last,
        epochs, ref_steps, ref_first, ref_last, reference_epochs);
    printf ("           ratio %.2fx (target >= 2x): %s\n", train_ratio,
        train_ratio >= 2 ? "met" : "MISSED");
    printf ("render 600x150: core %.3f s, python3-torch forward on the 90000 points %.3f s\n",
        our_render, ref_render);
    printf ("           ratio %.2fx as fast (target >= 1x): %s\n", render_ratio,
        render_ratio >= 1 ? "met" : "MISSED");
    printf ("same network: mean of latent 0 on the grid, core %.6f, python3-torch %.6f\n",
        our_mean0, ref_mean0);
    gboolean same = fabs (our_mean0 - ref_mean0) <= 1e-4 * (1 + fabs (ref_mean0));
    gboolean both_learn = our_last < our_first / 2 && ref_last < ref_first / 2;
    if (!same || !both_learn)
      printf ("the two sides do not compute the same thing (%s)\n",
          !same ? "rendered values differ" : "a side does not learn");
    status = train_ratio >= 2 && render_ratio >= 1 && same && both_learn ? 0 : 1;
  }
  if (parser)
    g_object_unref (parser);
  g_unlink (initial_path);
  g_unlink (dataset_path);
  g_rmdir (dir);
  g_free (initial_path);
  g_free (dataset_path);
  g_free (dir);
  latent_terrain_dataset_free (ds);
  latent_terrain_free (initial);
  return status;
}
