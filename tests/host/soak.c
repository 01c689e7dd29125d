/* Soak run (issue 12): RAVE and AFTER through GStreamer (raveencode ! ravedecode,
 * aftertransfer) and through the LV2 plugins urn:latent:rave and urn:latent:after (a lilv
 * host), for --seconds of wall time, with random control changes (NaN, Inf and 1e30 among
 * them), model swaps and bad files thrown in. Prints the resident memory after the first round
 * (warm-up) and at the end, and how many output samples were not finite.
 *   build/tests/host/soak --seconds 3600
 * Exit 1 when an output sample was not finite, a good model failed, a bad file was accepted,
 * a warmed-up model optimised a graph again, or memory grew past --max-growth-mb after the
 * first round. */
#include "host-util.h"
#include "latent.h"

#include <gst/gst.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RAVE_MODEL LATENT_SOURCE_ROOT "/models/rave-gm.ts"
#define AFTER_MODEL LATENT_SOURCE_ROOT "/models/after-gm.ts"
#define RATE 44100
#define MAX_BLOCK 4096

typedef struct {
  guint64 samples, non_finite, good_loads, refused_loads, failures, control_changes;
} Counts;

static GRand *rng;
static Counts counts;

/* Resident memory once freed blocks are given back (malloc_trim), so what is left is what
 * is held, not the allocator's slack. */
static double
rss_mb (void)
{
  malloc_trim (0);
  long pages = 0, resident = 0;
  FILE *f = fopen ("/proc/self/statm", "r");
  if (f) {
    if (fscanf (f, "%ld %ld", &pages, &resident) != 2)
      resident = 0;
    fclose (f);
  }
  return (double) resident * (double) sysconf (_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* A control value a careless or hostile host may send: mostly sane, sometimes not. */
static float
wild (float lo, float hi)
{
  switch (g_rand_int_range (rng, 0, 12)) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return 1e30f;
    default: return (float) g_rand_double_range (rng, lo, hi);
  }
}

static void
fill_input (float *x, int n, guint64 t)
{
  for (int i = 0; i < n; i++) {
    x[i] = 0.3f * sinf (2.0f * (float) G_PI * 220.0f * (float) (t + i) / RATE)
        + 0.05f * (float) g_rand_double_range (rng, -1, 1);
    if (g_rand_int_range (rng, 0, 20000) == 0)
      x[i] = g_rand_boolean (rng) ? NAN : INFINITY;
  }
}

static void
count_output (const float *y, size_t n)
{
  counts.samples += n;
  for (size_t i = 0; i < n; i++)
    if (!isfinite (y[i]))
      counts.non_finite++;
}

/* ------------------------------------------------------------------ LV2 */

typedef struct {
  const char *uri, *property, *good[2];
  const char *controls[4];
  float lo[4], hi[4];
} PluginSoak;

static const char *bad_files[] = {
  LATENT_TEST_DATA "/not-torchscript.ts", LATENT_TEST_DATA "/no-params.ts",
  "/nonexistent/model.ts", LATENT_TEST_DATA "/wrong-shape.ts",
};

/* `seconds` of audio in random blocks, a control change every ~0.3 s, a model swap (good or
 * bad file) every ~3 s. */
static void
soak_plugin (const PluginSoak *p, double seconds)
{
  Host *host = host_new (p->uri, RATE, (HostFeatures) { .worker = true, .log = true,
      .map = true, .max_block = MAX_BLOCK });
  host_activate (host);
  float x[MAX_BLOCK], y[MAX_BLOCK];
  const guint64 total = (guint64) (seconds * RATE);
  guint64 next_control = 0, next_swap = 3 * RATE;
  for (guint64 t = 0; t < total;) {
    int n = g_rand_boolean (rng) ? g_rand_int_range (rng, 1, 65) : g_rand_int_range (rng, 1,
        MAX_BLOCK + 1);
    fill_input (x, n, t);
    host_run (host, x, y, (uint32_t) n);
    count_output (y, (size_t) n);
    t += (guint64) n;
    if (t >= next_control) {
      int c = g_rand_int_range (rng, 0, 4);
      if (p->controls[c])
        host_set_control (host, p->controls[c], wild (p->lo[c], p->hi[c]));
      counts.control_changes++;
      next_control = t + (guint64) g_rand_int_range (rng, RATE / 10, RATE / 2);
    }
    if (t >= next_swap) {
      gboolean bad = g_rand_int_range (rng, 0, 3) == 0;
      host_patch_set_path (host, p->property, bad
          ? bad_files[g_rand_int_range (rng, 0, G_N_ELEMENTS (bad_files))]
          : p->good[g_rand_int_range (rng, 0, 2)]);
      next_swap = t + 3 * RATE;
    }
  }
  host_free (host);
}

/* ------------------------------------------------------------ GStreamer */

static GstPadProbeReturn
count_buffer (GstPad *pad, GstPadProbeInfo *info, gpointer unused)
{
  GstMapInfo map;
  if (gst_buffer_map (GST_PAD_PROBE_INFO_BUFFER (info), &map, GST_MAP_READ)) {
    count_output ((const float *) map.data, map.size / sizeof (float));
    gst_buffer_unmap (GST_PAD_PROBE_INFO_BUFFER (info), &map);
  }
  return GST_PAD_PROBE_OK;
}

/* One pipeline run of ~`seconds` of audio; `element` (named "x") gets random property
 * changes while it plays. TRUE when it ended with EOS, FALSE with an error. */
static gboolean
run_pipeline (const char *desc, const char *const *props, const char *const *values, int n)
{
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstElement *x = gst_bin_get_by_name (GST_BIN (pipeline), "x");
  GstPad *pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (pad, GST_PAD_PROBE_TYPE_BUFFER, count_buffer, NULL, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gboolean ok = FALSE, done = FALSE;
  while (!done) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 200 * GST_MSECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    if (!msg) {
      int k = g_rand_int_range (rng, 0, n);
      gst_util_set_object_arg (G_OBJECT (x), props[k], values[k]);
      counts.control_changes++;
      continue;
    }
    ok = GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
    done = TRUE;
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pad);
  gst_object_unref (x);
  gst_object_unref (sink);
  gst_object_unref (pipeline);
  return ok;
}

static void
expect (gboolean ok, gboolean bad_file, const char *what)
{
  if (ok == bad_file) {
    counts.failures++;
    fprintf (stderr, "soak: %s %s\n", what, bad_file ? "accepted a bad file" : "failed");
  }
  if (bad_file)
    counts.refused_loads++;
  else
    counts.good_loads++;
}

static void
soak_gstreamer (double seconds)
{
  const int buffers = (int) (seconds * RATE / 1024);
  gboolean bad = g_rand_int_range (rng, 0, 4) == 0;
  const char *model = bad ? bad_files[g_rand_int_range (rng, 0, G_N_ELEMENTS (bad_files))]
      : RAVE_MODEL;
  char *desc = g_strdup_printf ("audiotestsrc wave=sine freq=220 num-buffers=%d "
      "samplesperbuffer=1024 ! audio/x-raw,format=F32LE,rate=%d,channels=1 ! "
      "raveencode model=%s ! ravedecode name=x model=%s ! fakesink name=sink sync=false",
      buffers, RATE, RAVE_MODEL, model);
  static const char *const rave_props[] = { "bias", "bias", "scale", "bias" };
  static const char *const rave_values[] = { "<0.5, 0.0, -0.5>", "<1e30>", "<2.0, 1.0>",
    "<0.0>" };
  expect (run_pipeline (desc, rave_props, rave_values, 4), bad, "raveencode ! ravedecode");
  g_free (desc);

  desc = g_strdup_printf ("aftertransfer name=x model=%s ! fakesink name=sink sync=false "
      "audiotestsrc wave=sine freq=330 num-buffers=%d samplesperbuffer=1024 ! "
      "audio/x-raw,format=F32LE,rate=%d,channels=1 ! x.structure", AFTER_MODEL, buffers, RATE);
  static const char *const after_props[] = { "steps", "guidance-timbre", "timbre-vector",
    "guidance-structure" };
  static const char *const after_values[] = { "2", "3.5", "<0.5, -0.2, 1.0>", "1.0" };
  expect (run_pipeline (desc, after_props, after_values, 4), FALSE, "aftertransfer");
  g_free (desc);
}

int
main (int argc, char **argv)
{
  double seconds = 60, max_growth_mb = 150;
  GOptionEntry entries[] = {
    { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &seconds, "Wall time to run (60)", "S" },
    { "max-growth-mb", 0, 0, G_OPTION_ARG_DOUBLE, &max_growth_mb,
      "Largest resident-memory growth after the first round (150)", "MB" },
    { NULL },
  };
  GOptionContext *ctx = g_option_context_new ("- rave and after under random abuse");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, NULL) || seconds <= 0)
    return 2;
  g_option_context_free (ctx);
  if (!g_file_test (RAVE_MODEL, G_FILE_TEST_EXISTS) || !g_file_test (AFTER_MODEL,
          G_FILE_TEST_EXISTS)) {
    printf ("SKIP: the shipped models are absent\n");
    return 77;
  }
  gst_init (&argc, &argv);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", RAVE_MODEL, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", AFTER_MODEL, TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  rng = g_rand_new_with_seed (12345);
  static const PluginSoak plugins[] = {
    { "urn:latent:rave", "urn:latent:rave#model",
      { RAVE_MODEL, LATENT_TEST_DATA "/stateful-codec.ts" },
      { "bias0", "wet", "enabled", "scale1" }, { -2, 0, 0, -2 }, { 2, 1, 1, 2 } },
    { "urn:latent:after", "urn:latent:after#model",
      { AFTER_MODEL, LATENT_TEST_DATA "/after-audio.ts" },
      { "steps", "guidance_structure", "guidance_timbre", "threads" }, { 1, 0, 0, 1 },
      { 4, 5, 5, 2 } },
  };
  const gint64 start = g_get_monotonic_time ();
  double warm_rss = 0, round_s = MIN (10.0, seconds / 4);
  int rounds = 0;
  while ((g_get_monotonic_time () - start) / 1e6 < seconds) {
    soak_plugin (&plugins[0], round_s);
    soak_plugin (&plugins[1], round_s);
    soak_gstreamer (round_s);
    if (++rounds == 1)
      warm_rss = rss_mb ();
    if (rounds % 5 == 0) {
      printf ("soak: round %d, %.0f s: resident %.1f MB\n", rounds,
          (g_get_monotonic_time () - start) / 1e6, rss_mb ());
      fflush (stdout);
    }
  }
  const double elapsed = (g_get_monotonic_time () - start) / 1e6, end_rss = rss_mb ();
  guint64 streaming = 0, graphs = latent_backend_graph_compilations (&streaming);
  printf ("soak: %.0f s, %d rounds, %.1f M output samples, %" G_GUINT64_FORMAT
      " non-finite; %" G_GUINT64_FORMAT " control changes, %" G_GUINT64_FORMAT
      " good pipelines, %" G_GUINT64_FORMAT " bad files tried, %" G_GUINT64_FORMAT
      " failures\n", elapsed, rounds, counts.samples / 1e6, counts.non_finite,
      counts.control_changes, counts.good_loads, counts.refused_loads, counts.failures);
  printf ("soak: resident memory %.1f MB after round 1, %.1f MB at the end: %+.1f MB "
      "(limit %.0f)\n", warm_rss, end_rss, end_rss - warm_rss, max_growth_mb);
  printf ("soak: %" G_GUINT64_FORMAT " graph optimisations in this process's loads, %"
      G_GUINT64_FORMAT " while streaming\n", graphs, streaming);
  g_rand_free (rng);
  gboolean ok = counts.non_finite == 0 && counts.failures == 0 && streaming == 0
      && end_rss - warm_rss <= max_growth_mb && counts.samples > 0;
  printf ("%s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
