/* bench-rave: wall time of a `raveencode ! ravedecode` pipeline over the wall time of
 * python3-torch running the same model's encode then decode on the same blocks
 * (tests/bench/rave_reference.py) and over the bare core loop (latent_model_run encode +
 * decode per block), one torch thread on all sides, on the same 60 s clip
 * (the shipped clips of models/clips looped). Prints, per block size, both times, their ratio,
 * the real-time factor (wall time / audio time) and peak RSS. A printed figure, not a test.
 *
 *   ninja -C build bench-rave            (run_target)
 *   meson test -C build --benchmark      (benchmark)
 *   build/tests/bench/bench-rave [--model M] [--seconds S] [--blocks 2048,8192] [--repeat 3]
 *
 * Exits 77 when the model is missing. The pipeline is brought to READY (model loads and
 * warm-up) before the clock starts, as the Python side warms up before its timing. */
#include <gst/gst.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <glib/gstdio.h>

#include "audio-metrics.h"
#include "bench-util.h"
#include "latent.h"

static char *
make_clip (int rate, double seconds, size_t *n_out, GError **error)
{
  GDir *dir = g_dir_open (LATENT_SOURCE_ROOT "/models/clips", 0, error);
  if (!dir)
    return NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (dir)))
    if (g_str_has_suffix (name, ".wav"))
      g_ptr_array_add (names, g_strdup (name));
  g_dir_close (dir);
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  GArray *all = g_array_new (FALSE, FALSE, sizeof (float));
  for (guint i = 0; i < names->len; i++) {
    char *path = g_build_filename (LATENT_SOURCE_ROOT "/models/clips", names->pdata[i], NULL);
    AmAudio a;
    if (am_wav_read (path, &a, NULL)) {
      float *m = am_audio_mono (&a);
      size_t n = a.frames;
      if (a.rate != rate) {
        float *r = am_resample_linear (m, a.frames, a.rate, rate, &n);
        g_free (m);
        m = r;
      }
      g_array_append_vals (all, m, (guint) n);
      g_free (m);
      am_audio_clear (&a);
    }
    g_free (path);
  }
  g_ptr_array_unref (names);
  size_t want = (size_t) (seconds * rate);
  if (all->len == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no clips in models/clips");
    g_array_unref (all);
    return NULL;
  }
  float *clip = g_new (float, want);
  for (size_t i = 0; i < want; i++)
    clip[i] = g_array_index (all, float, i % all->len);
  g_array_unref (all);
  char *path = g_build_filename (g_get_tmp_dir (), "latent-bench-clip.f32", NULL);
  gboolean ok = g_file_set_contents (path, (const char *) clip,
      (gssize) (want * sizeof (float)), error);
  g_free (clip);
  if (!ok) {
    g_free (path);
    return NULL;
  }
  *n_out = want;
  return path;
}

static long
peak_rss_kb (int who)
{
  struct rusage ru;
  getrusage (who, &ru);
  return ru.ru_maxrss;
}

/* Returns the wall time of READY -> PLAYING -> EOS, or < 0 on error; *load_s gets NULL->READY. */
static double
run_pipeline (const char *model, const char *clip, int rate, int block, int ratio,
    double *load_s)
{
  char *desc = g_strdup_printf ("filesrc location=%s blocksize=%d ! rawaudioparse "
      "use-sink-caps=false format=pcm pcm-format=f32le sample-rate=%d num-channels=1 ! "
      "raveencode model=%s block=%d threads=1 ! ravedecode model=%s block=%d threads=1 ! "
      "fakesink sync=false", clip, block * 4, rate, model, block, model, block / ratio);
  double secs = bench_run_pipeline (desc, load_s, NULL, NULL);
  g_free (desc);
  return secs;
}

/* The bare core loop on the same data: one model (loaded, warmed up and reset as the
 * elements do it), encode then decode per block through latent_model_run. Returns the wall
 * time of the loop, or < 0 on error; *load_s gets load + warm-up + reset. */
static double
run_core (const char *model, const char *clip, int block, int ratio, double *load_s)
{
  GError *error = NULL;
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (clip, &data, &len, &error)) {
    fprintf (stderr, "%s\n", error->message);
    g_error_free (error);
    return -1;
  }
  size_t n = len / sizeof (float), padded = (n + block - 1) / block * block;
  float *x = g_new0 (float, padded);
  memcpy (x, data, n * sizeof (float));
  g_free (data);
  gint64 t0 = g_get_monotonic_time ();
  LatentModel *m = latent_model_open (model, 1, &error);
  LatentMethodInfo enc;
  float *z = NULL, *y = g_new0 (float, block);
  gboolean ok = m && latent_model_get_method_info (m, "encode", &enc, &error);
  if (ok) {
    z = g_new0 (float, (gsize) enc.out_channels * (block / ratio));
    for (int i = 0; ok && i < 3; i++)
      ok = latent_model_run (m, "encode", x, block, z, &error)
          && latent_model_run (m, "decode", z, block / ratio, y, &error);
    ok = ok && latent_model_reset (m, &error);
  }
  *load_s = (g_get_monotonic_time () - t0) / 1e6;
  t0 = g_get_monotonic_time ();
  for (size_t i = 0; ok && i < padded; i += block)
    ok = latent_model_run (m, "encode", x + i, block, z, &error)
        && latent_model_run (m, "decode", z, block / ratio, y, &error);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  if (!ok) {
    fprintf (stderr, "core loop: %s\n", error ? error->message : "?");
    g_clear_error (&error);
  }
  latent_model_free (m);
  g_free (x);
  g_free (y);
  g_free (z);
  return ok ? secs : -1;
}

/* run_core's arguments, for bench_on_thread. */
typedef struct {
  const char *model, *clip;
  int block, ratio;
  double load_s;
} CoreArgs;

static double
run_core_args (gpointer data)
{
  CoreArgs *a = data;
  return run_core (a->model, a->clip, a->block, a->ratio, &a->load_s);
}

static gboolean
run_reference (const char *model, const char *clip, int block, double *load_s, double *run_s,
    long *rss_kb)
{
  char *block_s = g_strdup_printf ("%d", block);
  char *argv[] = { (char *) LATENT_PYTHON, (char *) RAVE_REFERENCE, (char *) model,
    (char *) clip, block_s, NULL };
  char *out = bench_run_reference (argv);
  double rss = 0;
  gboolean ok = out && bench_json_number (out, "load_s", load_s)
      && bench_json_number (out, "run_s", run_s) && bench_json_number (out, "peak_rss_kb", &rss);
  if (out && !ok)
    fprintf (stderr, "reference printed no load_s / run_s / peak_rss_kb: %s\n", out);
  *rss_kb = (long) rss;
  g_free (out);
  g_free (block_s);
  return ok;
}

int
main (int argc, char **argv)
{
  char *model = g_strdup (LATENT_SOURCE_ROOT "/models/rave-gm.ts");
  double seconds = 60;
  char *blocks_s = g_strdup ("2048,8192");
  int repeat = 3;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "Model file", "PATH" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Clip length (s)", "S" },
    { "blocks", 'b', 0, G_OPTION_ARG_STRING, &blocks_s, "Audio samples per model call",
      "B1,B2" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Runs per side and block; the fastest "
      "counts (default 3)", "N" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- raveencode ! ravedecode vs python3-torch");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  GError *error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (!g_file_test (model, G_FILE_TEST_IS_REGULAR)) {
    printf ("SKIP: %s not found\n", model);
    return 77;
  }
  gst_init (&argc, &argv);

  LatentModel *m = latent_model_open (model, 1, &error);
  LatentMethodInfo info;
  if (!m || !latent_model_get_method_info (m, "encode", &info, &error)) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  int rate = latent_model_get_sample_rate (m);
  int ratio = info.out_ratio / info.in_ratio;
  latent_model_free (m);
  if (rate <= 0)
    rate = 44100;
  size_t n = 0;
  char *clip = make_clip (rate, seconds, &n, &error);
  if (!clip) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  double audio_s = (double) n / rate;
  printf ("bench-rave: %s, %.1f s clip at %d Hz (models/clips looped), ratio %d, "
      "1 torch thread, %s\n", model, audio_s, rate, ratio,
      latent_backend_version () ? latent_backend_version () : "?");
  printf ("%6s | %9s %9s %8s | %9s | %9s %9s %8s | %7s %9s %8s\n", "block", "gst s", "gst RTF",
      "gst RSS", "core s", "torch s", "torch RTF", "py RSS", "gst/py", "gst/core", "core/py");
  int status = 0;
  char **blocks = g_strsplit (blocks_s, ",", -1);
  for (char **b = blocks; *b; b++) {
    int block = atoi (*b);
    if (block <= 0 || block % ratio) {
      fprintf (stderr, "block %d is not a positive multiple of %d\n", block, ratio);
      status = 1;
      continue;
    }
    /* Alternate the two sides and keep each one's fastest run: on a shared machine the
     * minimum is the figure least disturbed by other load. */
    double gst_load = 0, py_load = 0, py_run = G_MAXDOUBLE, gst_run = G_MAXDOUBLE;
    double core_load = 0, core_run = G_MAXDOUBLE;
    long py_rss = 0;
    gboolean ok = TRUE;
    for (int r = 0; ok && r < MAX (repeat, 1); r++) {
      double gl = 0, pl = 0, pr = 0, cl = 0;
      long rss = 0;
      double gr = run_pipeline (model, clip, rate, block, ratio, &gl);
      CoreArgs core_args = { .model = model, .clip = clip, .block = block, .ratio = ratio };
      double cr = gr >= 0 ? bench_on_thread (run_core_args, &core_args) : -1;
      cl = core_args.load_s;
      ok = gr >= 0 && cr >= 0 && run_reference (model, clip, block, &pl, &pr, &rss);
      if (ok && cr < core_run) {
        core_run = cr;
        core_load = cl;
      }
      if (ok && gr < gst_run) {
        gst_run = gr;
        gst_load = gl;
      }
      if (ok && pr < py_run) {
        py_run = pr;
        py_load = pl;
      }
      py_rss = MAX (py_rss, rss);
    }
    if (!ok) {
      status = 1;
      continue;
    }
    printf ("%6d | %9.3f %9.4f %6ldMB | %9.3f | %9.3f %9.4f %6ldMB | %7.3f %9.3f %8.3f\n",
        block, gst_run, gst_run / audio_s, peak_rss_kb (RUSAGE_SELF) / 1024, core_run, py_run,
        py_run / audio_s, py_rss / 1024, gst_run / py_run, gst_run / core_run,
        core_run / py_run);
    printf ("         (load + warm-up: gst %.2f s for two elements, core %.2f s, python %.2f s)"
        "  gst/py %s (target <= 1.10), gst/core %s (target <= 1.05)\n", gst_load, core_load,
        py_load, gst_run / py_run <= 1.10 ? "met" : "MISSED",
        gst_run / core_run <= 1.05 ? "met" : "MISSED");
  }
  printf ("fastest of %d runs per side; RTF = wall time / audio time (below 1: faster than "
      "real time); gst/py, gst/core, core/py = ratios of wall times; core = latent_model_run "
      "encode + decode per block on one model (the bare core loop); RSS = peak resident set "
      "(gst: this process so far)\n", MAX (repeat, 1));
  g_strfreev (blocks);
  g_unlink (clip);
  g_free (clip);
  g_free (model);
  g_free (blocks_s);
  return status;
}
