/* bench-after: wall time of an `aftertransfer` pipeline (structure + timbre audio) over the
 * wall time of python3-torch calling the same model methods on the same blocks
 * (tests/bench/after_reference.py: timbre, structure, generate per chunk) and over the bare
 * core loop (LatentAfter on the same chunks), one torch thread on all sides, same run, for
 * each `steps` value. Structure: the clips of models/clips
 * looped; timbre: the same clips in reverse order. Prints both times, their ratio (target
 * <= 1.10), the real-time factor (wall time / audio time) and the element's latency in ms.
 * A printed figure, not a test.
 *
 *   ninja -C build bench-after            (run_target)
 *   meson test -C build --benchmark       (benchmark)
 *   build/tests/bench/bench-after [--model M] [--seconds S] [--steps 1,4] [--repeat 3]
 *
 * Exits 77 when the model is missing. The pipeline is brought to READY (model load, chunk
 * probe and warm-up) before the clock starts, as the Python side warms up before timing. */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#include "audio-metrics.h"
#include "bench-util.h"
#include "latent.h"

/* The clips of models/clips at `rate`, concatenated (reversed order if asked), looped to
 * `seconds`, written as raw f32 to a temporary file. */
static char *
make_clip (int rate, double seconds, gboolean reversed, size_t *n_out, GError **error)
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
  for (guint k = 0; k < names->len; k++) {
    guint i = reversed ? names->len - 1 - k : k;
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
  if (all->len == 0) {
    g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT, "no clips in models/clips");
    g_array_unref (all);
    return NULL;
  }
  size_t want = (size_t) (seconds * rate);
  float *clip = g_new (float, want);
  for (size_t i = 0; i < want; i++)
    clip[i] = g_array_index (all, float, i % all->len);
  g_array_unref (all);
  char *path = g_build_filename (g_get_tmp_dir (),
      reversed ? "latent-bench-after-timbre.f32" : "latent-bench-after-structure.f32", NULL);
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

static const char *
raw_source (int rate)
{
  static char buf[256];
  g_snprintf (buf, sizeof buf, "rawaudioparse use-sink-caps=false format=pcm "
      "pcm-format=f32le sample-rate=%d num-channels=1", rate);
  return buf;
}

/* Largest |a - b| of two raw f32 files over their first `limit` samples (0: all), -1 if
 * unreadable or of different lengths. */
static double
max_file_diff (const char *a_path, const char *b_path, size_t limit)
{
  char *a = NULL, *b = NULL;
  gsize na = 0, nb = 0;
  double diff = -1;
  if (g_file_get_contents (a_path, &a, &na, NULL) && g_file_get_contents (b_path, &b, &nb, NULL)
      && na == nb) {
    size_t n = na / sizeof (float);
    diff = am_max_abs_diff ((const float *) a, (const float *) b, limit ? MIN (limit, n) : n);
  }
  g_free (a);
  g_free (b);
  return diff;
}

/* The element's own latency, as a downstream latency query sees it. */
static void
query_latency (GstElement *pipe, gpointer latency_ms)
{
  GstQuery *query = gst_query_new_latency ();
  GstElement *after = gst_bin_get_by_name (GST_BIN (pipe), "a");
  GstPad *srcpad = gst_element_get_static_pad (after, "src");
  if (gst_pad_query (srcpad, query)) {
    GstClockTime min;
    gst_query_parse_latency (query, NULL, &min, NULL);
    *(double *) latency_ms = (double) min / GST_MSECOND;
  }
  gst_object_unref (srcpad);
  gst_object_unref (after);
  gst_query_unref (query);
}

/* Wall time of PLAYING -> EOS (READY reached before the clock starts), < 0 on error. */
static double
run_pipeline (const char *model, const char *structure, const char *timbre, int rate,
    int steps, const char *out, double *load_s, double *latency_ms)
{
  char *src = g_strdup (raw_source (rate));
  char *desc = g_strdup_printf ("filesrc location=%s blocksize=65536 ! %s ! a.structure "
      "filesrc location=%s blocksize=65536 ! %s ! a.timbre "
      "aftertransfer name=a model=%s steps=%d threads=1 ! filesink location=%s sync=false",
      structure, src, timbre, src, model, steps, out);
  g_free (src);
  double secs = bench_run_pipeline (desc, load_s, query_latency, latency_ms);
  g_free (desc);
  return secs;
}

/* The bare core loop on the same data: LatentAfter (opened, warmed up and reset as the
 * element does it), per chunk latent_after_update_timbre + latent_after_render. Returns the
 * wall time of the loop, < 0 on error; *load_s gets open + chunk probe + warm-up. */
static double
run_core (const char *model, const char *structure, const char *timbre, int steps,
    double *load_s)
{
  GError *error = NULL;
  char *sd = NULL, *td = NULL;
  gsize sn = 0, tn = 0;
  if (!g_file_get_contents (structure, &sd, &sn, &error)
      || !g_file_get_contents (timbre, &td, &tn, &error)) {
    fprintf (stderr, "%s\n", error->message);
    g_error_free (error);
    g_free (sd);
    return -1;
  }
  gint64 t0 = g_get_monotonic_time ();
  LatentAfter *after = latent_after_open (model, 1, &error);
  gboolean ok = after && latent_after_set_steps (after, steps, &error);
  *load_s = (g_get_monotonic_time () - t0) / 1e6;
  double secs = -1;
  if (ok) {
    const size_t block = (size_t) latent_after_get_block (after);
    const size_t n = MIN (sn, tn) / sizeof (float), padded = (n + block - 1) / block * block;
    float *s = g_new0 (float, padded), *t = g_new0 (float, padded), *out = g_new (float, block);
    memcpy (s, sd, n * sizeof (float));
    memcpy (t, td, n * sizeof (float));
    t0 = g_get_monotonic_time ();
    for (size_t i = 0; ok && i < padded; i += block)
      ok = latent_after_update_timbre (after, t + i, &error)
          && latent_after_render (after, s + i, out, &error);
    secs = (g_get_monotonic_time () - t0) / 1e6;
    g_free (s);
    g_free (t);
    g_free (out);
  }
  if (!ok) {
    fprintf (stderr, "core loop: %s\n", error ? error->message : "?");
    g_clear_error (&error);
    secs = -1;
  }
  latent_after_free (after);
  g_free (sd);
  g_free (td);
  return secs;
}

/* run_core's arguments, for bench_on_thread. */
typedef struct {
  const char *model, *clip, *timbre;
  int steps;
  double load_s;
} CoreArgs;

static double
run_core_args (gpointer data)
{
  CoreArgs *a = data;
  return run_core (a->model, a->clip, a->timbre, a->steps, &a->load_s);
}

static gboolean
run_reference (const char *model, const char *structure, const char *timbre, int steps,
    const char *out_path, double *load_s, double *run_s)
{
  char *steps_s = g_strdup_printf ("%d", steps);
  char *argv[] = { (char *) LATENT_PYTHON, (char *) AFTER_REFERENCE, (char *) model,
    (char *) structure, (char *) timbre, steps_s, (char *) out_path, NULL };
  char *out = bench_run_reference (argv);
  gboolean ok = out && bench_json_number (out, "load_s", load_s)
      && bench_json_number (out, "run_s", run_s);
  if (out && !ok)
    fprintf (stderr, "reference printed no load_s / run_s: %s\n", out);
  g_free (out);
  g_free (steps_s);
  return ok;
}

int
main (int argc, char **argv)
{
  char *model = g_strdup (LATENT_SOURCE_ROOT "/models/after-gm.ts");
  double seconds = 30;
  char *steps_list = g_strdup ("1,4");
  int repeat = 3;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model, "AFTER audio model", "PATH" },
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Clip length (s)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps_list, "Diffusion steps to time", "1,4" },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Runs per side; the fastest counts "
      "(default 3)", "N" },
    { NULL }
  };
  GOptionContext *ctx = g_option_context_new ("- aftertransfer vs python3-torch");
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
  LatentAfter *after = latent_after_open (model, 1, &error);
  if (!after) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  LatentAfterInfo info = *latent_after_get_info (after);
  int block = latent_after_get_block (after);
  latent_after_free (after);
  if (info.kind == LATENT_AFTER_MIDI) {
    printf ("SKIP: %s is an AFTER MIDI export (n_poly %d); bench-after times the audio path "
        "(structure + timbre audio). Time it with build/tests/host/bench-lv2 --model %s "
        "(urn:latent:after-midi against the core API)\n", model, info.n_poly, model);
    return 77;
  }
  int rate = info.sample_rate > 0 ? info.sample_rate : 44100;
  size_t n = 0, nt = 0;
  char *structure = make_clip (rate, seconds, FALSE, &n, &error);
  char *timbre = structure ? make_clip (rate, seconds, TRUE, &nt, &error) : NULL;
  if (!timbre) {
    fprintf (stderr, "%s\n", error->message);
    return 1;
  }
  double audio_s = (double) n / rate;
  printf ("bench-after: %s, %.1f s of structure + timbre at %d Hz (models/clips looped), "
      "chunk %d x ratio %d = %d samples (%.1f ms), 1 torch thread, %s\n", model, audio_s,
      rate, info.chunk, info.ratio, block, 1000.0 * block / rate,
      latent_backend_version () ? latent_backend_version () : "?");
  printf ("%5s | %9s %8s | %9s | %9s %8s | %7s %8s %7s | %10s | %9s %9s\n", "steps", "gst s",
      "gst RTF", "core s", "torch s", "py RTF", "gst/py", "gst/core", "core/py", "latency ms",
      "chunk0 d", "rerun d");
  char *gst_out = g_build_filename (g_get_tmp_dir (), "latent-bench-after-gst.f32", NULL);
  char *gst_first = g_build_filename (g_get_tmp_dir (), "latent-bench-after-gst0.f32", NULL);
  char *py_out = g_build_filename (g_get_tmp_dir (), "latent-bench-after-py.f32", NULL);
  int status = 0;
  char **steps_v = g_strsplit (steps_list, ",", -1);
  for (char **s = steps_v; *s; s++) {
    int steps = atoi (*s);
    /* Alternate the sides, keep each one's fastest run (least disturbed by other load). */
    double gst_run = G_MAXDOUBLE, py_run = G_MAXDOUBLE, gst_load = 0, py_load = 0, latency = 0;
    double core_run = G_MAXDOUBLE, core_load = 0;
    double rerun = 0;
    gboolean ok = steps >= 1 && steps <= LATENT_AFTER_MAX_STEPS;
    for (int r = 0; ok && r < MAX (repeat, 1); r++) {
      double gl = 0, pl = 0, pr = 0, cl = 0;
      double gr = run_pipeline (model, structure, timbre, rate, steps, gst_out, &gl, &latency);
      CoreArgs core_args = { .model = model, .clip = structure, .timbre = timbre,
        .steps = steps };
      double cr = gr >= 0 ? bench_on_thread (run_core_args, &core_args) : -1;
      cl = core_args.load_s;
      ok = gr >= 0 && cr >= 0
          && run_reference (model, structure, timbre, steps, py_out, &pl, &pr);
      if (ok && cr < core_run) {
        core_run = cr;
        core_load = cl;
      }
      if (ok && r == 0)
        ok = g_rename (gst_out, gst_first) == 0;
      else if (ok)
        rerun = MAX (rerun, max_file_diff (gst_first, gst_out, 0));
      if (ok && gr < gst_run) {
        gst_run = gr;
        gst_load = gl;
      }
      if (ok && pr < py_run) {
        py_run = pr;
        py_load = pl;
      }
    }
    if (!ok) {
      status = 1;
      continue;
    }
    /* Both sides compute the same thing: the first chunk agrees up to the two torch builds'
     * rounding (later chunks drift apart: the model feeds its previous latents back), and
     * the element gives the same samples on every run. */
    double chunk0 = max_file_diff (gst_first, py_out, (size_t) block);
    printf ("%5d | %9.3f %8.4f | %9.3f | %9.3f %8.4f | %7.3f %8.3f %7.3f | %10.1f | %9.2e "
        "%9.2e\n", steps, gst_run, gst_run / audio_s, core_run, py_run, py_run / audio_s,
        gst_run / py_run, gst_run / core_run, core_run / py_run, latency, chunk0, rerun);
    printf ("        (load + chunk probe + warm-up: gst %.2f s, core %.2f s, python %.2f s)  "
        "gst/py %s (target <= 1.10), gst/core %s (target <= 1.05)\n", gst_load, core_load,
        py_load, gst_run / py_run <= 1.10 ? "met" : "MISSED",
        gst_run / core_run <= 1.05 ? "met" : "MISSED");
  }
  printf ("fastest of %d runs per side; RTF = wall time / audio time (below 1: faster than "
      "real time); gst/py, gst/core, core/py = ratios of wall times (targets gst/py <= 1.10, "
      "gst/core <= 1.05; core = latent_after_update_timbre + latent_after_render per chunk, "
      "the bare core loop); latency = the element's "
      "latency-query answer (one chunk); chunk0 d = largest sample difference between the "
      "element and python3-torch in the first chunk (%s and python3-torch builds "
      "round differently, and the model's latent feedback amplifies it over later chunks; a model "
      "whose diffusion draws torch.randn noise, as AFTER exports do, differs by its noise); "
      "rerun d = largest difference between the element's runs (0: deterministic)\n",
      MAX (repeat, 1), latent_backend_version () ? latent_backend_version () : "?");
  g_unlink (gst_out);
  g_unlink (gst_first);
  g_free (gst_first);
  g_unlink (py_out);
  g_free (gst_out);
  g_free (py_out);
  g_strfreev (steps_v);
  g_unlink (structure);
  g_unlink (timbre);
  g_free (structure);
  g_free (timbre);
  g_free (model);
  g_free (steps_list);
  return status;
}
