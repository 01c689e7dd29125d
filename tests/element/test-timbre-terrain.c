/* A Latent Terrain over AFTER's timbre space, with the shipped models and real clips:
 *   - `raveencode method=timbre` on models/after-gm.ts at the default block gives
 *     audio/x-latent with the timbre dims and the timbre ratio;
 *   - terraintrain learns a terrain from four GM instruments' clips (piano, flute, violin,
 *     trumpet; layout straight: one instrument per path, y = -6, -2, 2, 6);
 *   - terrainplay at each instrument's path (x = 0) drives aftertransfer's timbre pad
 *     (audio/x-latent) while piano-phrase.wav plays as the structure: the output's MFCC mean
 *     must be closer to that instrument's clip than to every other's (steps 4, guidance-timbre
 *     2, as models/README.md measured AFTER at its best; TT_PROPS overrides the properties);
 *   - a walk from the piano's path to the trumpet's interpolates smoothly: the largest
 *     sample jump at chunk boundaries stays within JUMP_FACTOR of the steady runs' largest;
 *   - the shipped models/timbre-gm.pt (make_timbre_terrain.py: six instruments on a circle of
 *     radius 8) played the same way at the piano, flute, violin and trumpet centres: each
 *     output is closest to that instrument's clip;
 *   - a terrain of other dims is refused at caps time, naming what was expected.
 * Exits 77 (skipped) while models/after-gm.ts is absent. Prints the measured figures. */
#include <gst/gst.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "after-util.h"
#include "audio-metrics.h"
#include "compile-check.h"
#include "latent.h"

#define CLIPS LATENT_SOURCE_ROOT "/models/clips"
#define TIMEOUT_MS 300000
#define N_INSTRUMENTS 4
/* A smooth walk may change the timbre at every chunk; allow that much more than the steady
 * runs' largest jump before calling it a click. */
#define JUMP_FACTOR 1.5
#define COORD_RATE 100

static const char *const clips[N_INSTRUMENTS] = {
  "piano-phrase.wav", "flute-phrase.wav", "heldout-violin.wav", "heldout-trumpet.wav",
};
static const char *const names[N_INSTRUMENTS] = { "piano", "flute", "violin", "trumpet" };

static char *MODEL, *TMP, *TERRAIN;
static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf ("FAIL: " __VA_ARGS__); \
      printf ("\n"); } else { printf ("ok: " __VA_ARGS__); printf ("\n"); } } while (0)

typedef struct {
  float *x;
  size_t n;
  int rate;
} Signal;

static Signal
read_clip (const char *name)
{
  char *path = g_build_filename (CLIPS, name, NULL);
  AmAudio audio;
  GError *error = NULL;
  if (!am_wav_read (path, &audio, &error))
    g_error ("%s", error->message);
  g_free (path);
  Signal s = { am_audio_mono (&audio), audio.frames, audio.rate };
  am_audio_clear (&audio);
  return s;
}

/* Runs a gst-launch description to EOS; returns the first error (g_free) or NULL. */
static char *
run_launch (const char *description, GstCaps **caps_out, const char *caps_of)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (description, &error);
  if (!pipeline)
    g_error ("%s: %s", description, error->message);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, (GstClockTime) TIMEOUT_MS * GST_MSECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  char *result = NULL;
  if (!msg)
    result = g_strdup ("timeout");
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *e = NULL;
    gst_message_parse_error (msg, &e, NULL);
    result = g_strdup (e->message);
    g_error_free (e);
  }
  if (msg)
    gst_message_unref (msg);
  if (caps_out && caps_of) {
    GstElement *el = gst_bin_get_by_name (GST_BIN (pipeline), caps_of);
    GstPad *pad = gst_element_get_static_pad (el, "src");
    *caps_out = gst_pad_get_current_caps (pad);
    gst_object_unref (pad);
    gst_object_unref (el);
  }
  gst_object_unref (bus);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return result;
}

static void
train_terrain (void)
{
  GString *d = g_string_new (NULL);
  g_string_append_printf (d, "concat name=c ! audioconvert ! raveencode name=enc model=%s "
      "method=timbre ! terraintrain location=%s epochs=300 seed=1 ", MODEL, TERRAIN);
  for (int i = 0; i < N_INSTRUMENTS; i++)
    g_string_append_printf (d, "filesrc location=%s/%s ! wavparse ! c. ", CLIPS, clips[i]);
  GstCaps *caps = NULL;
  gint64 t0 = g_get_monotonic_time ();
  char *error = run_launch (d->str, &caps, "enc");
  CHECK (!error, "raveencode method=timbre ! terraintrain on %d clips (%.1f s)%s%s",
      N_INSTRUMENTS, (g_get_monotonic_time () - t0) / 1e6, error ? ": " : "",
      error ? error : "");
  GstStructure *s = caps ? gst_caps_get_structure (caps, 0) : NULL;
  int channels = 0, ratio = 0;
  if (s) {
    gst_structure_get_int (s, "channels", &channels);
    gst_structure_get_int (s, "ratio", &ratio);
  }
  CHECK (s && gst_structure_has_name (s, "audio/x-latent") && channels == 6 && ratio == 1024,
      "timbre latents: audio/x-latent, channels %d (timbre dims 6), ratio %d (1024)", channels,
      ratio);
  if (caps)
    gst_caps_unref (caps);
  g_free (error);
  g_string_free (d, TRUE);
  CHECK (g_file_test (TERRAIN, G_FILE_TEST_EXISTS), "terrain written: %s", TERRAIN);
}

/* piano-phrase.wav as the structure, the timbre from the terrain along coordinates xy
 * [n][2] at COORD_RATE. */
static Signal
walk (const float *xy, size_t n, const char *terrain)
{
  char *d = g_strdup_printf ("filesrc location=%s/piano-phrase.wav ! wavparse ! audioconvert ! "
      "a.structure appsrc name=xy format=time caps=audio/x-raw,format=F32LE,"
      "layout=interleaved,channels=2,rate=%d ! terrainplay terrain=%s rate=44100 ratio=1024 ! "
      "a.timbre aftertransfer name=a model=%s %s ! appsink name=sink sync=false", CLIPS,
      COORD_RATE, terrain, MODEL, g_getenv ("TT_PROPS") ? g_getenv ("TT_PROPS") : "steps=4 guidance-timbre=2");
  AtRun *run = at_new (d);
  at_push (run, "xy", xy, n, 2, COORD_RATE, COORD_RATE / 10, 0);
  at_end (run, "xy");
  if (!run->error && !at_wait (run, TIMEOUT_MS))
    g_error ("timeout: %s", d);
  Signal s = { NULL, 0, run->out_rate };
  if (run->error)
    printf ("  error: %s\n", run->error);
  else
    s.x = g_memdup2 (run->out->data, run->out->len * sizeof (float));
  s.n = run->error ? 0 : run->out->len;
  at_free (run);
  g_free (d);
  return s;
}

static double
path_y (int i)
{
  return (i - (N_INSTRUMENTS - 1) / 2.0) * 4.0; /* terraintrain's straight layout */
}

/* Largest |x[b] - x[b - 1]| over chunk boundaries b (multiples of 4096 samples). */
static double
boundary_jump (const Signal *s)
{
  double worst = 0;
  for (size_t b = 4096; b < s->n; b += 4096)
    worst = MAX (worst, fabs ((double) s->x[b] - s->x[b - 1]));
  return worst;
}

static void
check_regions (void)
{
  Signal clip[N_INSTRUMENTS];
  for (int i = 0; i < N_INSTRUMENTS; i++)
    clip[i] = read_clip (clips[i]);
  const size_t n = 6 * COORD_RATE;
  float *xy = g_new0 (float, 2 * n);
  double steady_jump = 0;
  for (int i = 0; i < N_INSTRUMENTS; i++) {
    for (size_t t = 0; t < n; t++) {
      xy[2 * t] = 0.0f;
      xy[2 * t + 1] = (float) path_y (i);
    }
    Signal out = walk (xy, n, TERRAIN);
    CHECK (out.n == clip[0].n, "%s region (0, %.0f): %zu samples out for %zu in", names[i],
        path_y (i), out.n, clip[0].n);
    if (!out.n)
      continue;
    double dist[N_INSTRUMENTS];
    int nearest = 0;
    printf ("  MFCC-mean distance from the output at the %s region:", names[i]);
    for (int j = 0; j < N_INSTRUMENTS; j++) {
      dist[j] = am_mfcc_distance (out.x, out.n, clip[j].x, clip[j].n, out.rate);
      printf (" %s %.2f", names[j], dist[j]);
      if (dist[j] < dist[nearest])
        nearest = j;
    }
    printf ("\n");
    CHECK (nearest == i, "walking to the %s region makes the output closest to the %s clip",
        names[i], names[nearest]);
    steady_jump = MAX (steady_jump, boundary_jump (&out));
    g_free (out.x);
  }
  /* A walk from the piano's path to the trumpet's over the phrase. */
  for (size_t t = 0; t < n; t++) {
    xy[2 * t] = 0.0f;
    xy[2 * t + 1] = (float) (path_y (0) + (path_y (N_INSTRUMENTS - 1) - path_y (0)) * t / (n - 1));
  }
  Signal out = walk (xy, n, TERRAIN);
  if (out.n) {
    double jump = boundary_jump (&out);
    CHECK (jump <= JUMP_FACTOR * steady_jump, "walk piano -> trumpet: largest jump at a chunk "
        "boundary %.4f <= %.1f x the steady runs' %.4f", jump, JUMP_FACTOR, steady_jump);
    const size_t third = out.n / 3;
    const float *first = out.x, *last = out.x + 2 * third;
    double first_t = am_mfcc_distance (first, third, clip[3].x, clip[3].n, out.rate);
    double last_t = am_mfcc_distance (last, third, clip[3].x, clip[3].n, out.rate);
    printf ("  walk: MFCC-mean distance to the trumpet clip: first third %.2f, last third %.2f\n",
        first_t, last_t);
    CHECK (last_t < first_t, "the walk reaches the trumpet: last third %.2f < first third %.2f "
        "from the trumpet clip", last_t, first_t);
  }
  g_free (out.x);
  g_free (xy);
  for (int i = 0; i < N_INSTRUMENTS; i++)
    g_free (clip[i].x);
}

/* The shipped timbre terrain: instrument i of make_timbre_terrain.py at 8 (cos, sin)(60 i deg);
 * piano 0, flute 1, violin 2, trumpet 3 there, as here. */
static void
check_shipped (void)
{
  char *terrain = g_build_filename (LATENT_SOURCE_ROOT, "models", "timbre-gm.pt", NULL);
  if (!g_file_test (terrain, G_FILE_TEST_EXISTS)) {
    printf ("  (no %s)\n", terrain);
    g_free (terrain);
    return;
  }
  Signal clip[N_INSTRUMENTS];
  for (int i = 0; i < N_INSTRUMENTS; i++)
    clip[i] = read_clip (clips[i]);
  const size_t n = 6 * COORD_RATE;
  float *xy = g_new0 (float, 2 * n);
  for (int i = 0; i < N_INSTRUMENTS; i++) {
    const double a = G_PI * i / 3.0;
    for (size_t t = 0; t < n; t++) {
      xy[2 * t] = (float) (8.0 * cos (a));
      xy[2 * t + 1] = (float) (8.0 * sin (a));
    }
    Signal out = walk (xy, n, terrain);
    if (!out.n) {
      CHECK (FALSE, "shipped terrain at the %s centre", names[i]);
      continue;
    }
    int nearest = 0;
    double dist[N_INSTRUMENTS];
    printf ("  timbre-gm.pt at the %s centre (%.1f, %.1f): MFCC-mean distance", names[i],
        xy[0], xy[1]);
    for (int j = 0; j < N_INSTRUMENTS; j++) {
      dist[j] = am_mfcc_distance (out.x, out.n, clip[j].x, clip[j].n, out.rate);
      printf (" %s %.2f", names[j], dist[j]);
      if (dist[j] < dist[nearest])
        nearest = j;
    }
    printf ("\n");
    CHECK (nearest == i, "timbre-gm.pt: the %s centre makes the output closest to the %s clip",
        names[i], names[nearest]);
    g_free (out.x);
  }
  g_free (xy);
  for (int i = 0; i < N_INSTRUMENTS; i++)
    g_free (clip[i].x);
  g_free (terrain);
}

/* A terrain over rave-gm's 8 latents is not a timbre terrain for after-gm (6 timbre dims). */
static void
check_mismatch (void)
{
  char *terrain = g_build_filename (LATENT_SOURCE_ROOT, "models", "terrain-gm.pt", NULL);
  float xy[2 * 50] = { 0 };
  char *d = g_strdup_printf ("filesrc location=%s/piano-phrase.wav ! wavparse ! audioconvert ! "
      "a.structure appsrc name=xy format=time caps=audio/x-raw,format=F32LE,"
      "layout=interleaved,channels=2,rate=%d ! terrainplay terrain=%s rate=44100 ratio=1024 ! "
      "a.timbre aftertransfer name=a model=%s ! appsink name=sink sync=false", CLIPS,
      COORD_RATE, terrain, MODEL);
  AtRun *run = at_new (d);
  at_push (run, "xy", xy, 50, 2, COORD_RATE, 50, 0);
  at_end (run, "xy");
  if (!run->error)
    at_wait (run, TIMEOUT_MS);
  CHECK (run->error && strstr (run->error, "expected 6"), "a terrain of 8 dims on the timbre "
      "pad is refused: %s", run->error ? run->error : "(no error)");
  at_free (run);
  g_free (d);
  g_free (terrain);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  MODEL = g_build_filename (LATENT_SOURCE_ROOT, "models", "after-gm.ts", NULL);
  if (!g_file_test (MODEL, G_FILE_TEST_EXISTS)) {
    printf ("SKIP: %s is absent\n", MODEL);
    return 77;
  }
  TMP = g_dir_make_tmp ("timbre-terrain-XXXXXX", NULL);
  TERRAIN = g_build_filename (TMP, "timbre.pt", NULL);
  train_terrain ();
  if (g_file_test (TERRAIN, G_FILE_TEST_EXISTS)) {
    check_regions ();
    check_mismatch ();
  }
  check_shipped ();
  CHECK (latent_test_no_streaming_compilations ("timbre-terrain"),
      "a warmed-up model optimised a graph while streaming");
  g_unlink (TERRAIN);
  g_rmdir (TMP);
  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
