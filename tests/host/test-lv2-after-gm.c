/* The AFTER plugins out of the box: the shipped models and their default timbre terrains
 * (models/timbre-gm.pt, timbre-gm-midi.pt, six instruments on a circle of radius 8) in a lilv
 * host at 44.1 kHz, timbre source 2 (x, y on the terrain), steps 4, guidance timbre 2:
 * - urn:latent:after, piano-phrase.wav as the structure: at the piano, flute, violin and
 *   trumpet centres the output's MFCC mean is closest to that instrument's clip;
 * - urn:latent:after-midi, a melody of MIDI notes: the flute centre sounds closer to the flute
 *   clip than the piano centre does, and the piano centre closer to the piano clip.
 * Every output is finite and not silent. Exits 77 (skipped) while the models are absent. */
#include "host-checks.h"
#include "audio-metrics.h"
#include "latent.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define RATE 44100
#define BLOCK 512
#define MODELS LATENT_SOURCE_ROOT "/models"
#define N_CLIPS 4

static const char *const clip_files[N_CLIPS] = {
  "piano-phrase.wav", "flute-phrase.wav", "heldout-violin.wav", "heldout-trumpet.wav",
};
static const char *const names[N_CLIPS] = { "piano", "flute", "violin", "trumpet" };
static float *clips[N_CLIPS];
static size_t clip_n[N_CLIPS];
static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf ("FAIL: " __VA_ARGS__); \
      printf ("\n"); } else { printf ("ok: " __VA_ARGS__); printf ("\n"); } } while (0)

static float *
read_clip (const char *name, size_t *n)
{
  char *path = g_build_filename (MODELS, "clips", name, NULL);
  AmAudio audio;
  GError *error = NULL;
  if (!am_wav_read (path, &audio, &error))
    g_error ("%s", error->message);
  g_free (path);
  float *x = am_audio_mono (&audio);
  *n = audio.frames;
  am_audio_clear (&audio);
  return x;
}

typedef struct {
  uint32_t frame;
  uint8_t msg[3];
} Note;

/* Runs `in` (n frames, NULL: silence) plus the latency through the plugin at centre i of the
 * terrain (60 i degrees); returns the n frames after the latency. */
static float *
render (const char *uri, const float *in, size_t n, int centre, const Note *notes, int n_notes)
{
  HostFeatures features = { .worker = true, .log = true, .map = true };
  Host *host = host_new (uri, RATE, features);
  g_assert_nonnull (host);
  const double a = G_PI * centre / 3.0;
  host_set_control (host, "timbre_source", 2);
  host_set_control (host, "x", (float) (8.0 * cos (a)));
  host_set_control (host, "y", (float) (8.0 * sin (a)));
  host_set_control (host, "steps", 4);
  host_set_control (host, "guidance_timbre", 2.0f);
  host_set_control (host, "freewheel", 1.0f); /* offline: wait for inference */
  host_activate (host);
  float buf_in[BLOCK], buf_out[BLOCK];
  float *out = g_new0 (float, n);
  int latency = -1;
  size_t total = n + 3 * RATE, done = 0;
  int k = 0;
  for (size_t t = 0; t < total; t += BLOCK) {
    uint32_t m = (uint32_t) MIN ((size_t) BLOCK, total - t);
    for (uint32_t i = 0; i < m; i++)
      buf_in[i] = in && t + i < n ? in[t + i] : 0.0f;
    for (; k < n_notes && notes[k].frame < t + m; k++)
      host_midi_event (host, notes[k].frame - (uint32_t) t, notes[k].msg, 3);
    host_run (host, buf_in, buf_out, m);
    if (latency < 0)
      latency = (int) host_get_control (host, "latency");
    for (uint32_t i = 0; i < m; i++) {
      size_t at = t + i;
      if (at >= (size_t) latency && at - latency < n) {
        out[at - latency] = buf_out[i];
        done++;
      }
    }
  }
  g_assert_cmpuint (done, ==, n);
  host_free (host);
  return out;
}

static int
nearest_clip (const float *y, size_t n, double *dist)
{
  int best = 0;
  for (int j = 0; j < N_CLIPS; j++) {
    dist[j] = am_mfcc_distance (y, n, clips[j], clip_n[j], RATE);
    if (dist[j] < dist[best])
      best = j;
  }
  return best;
}

static void
check_output (const char *what, const float *y, size_t n)
{
  size_t bad = 0;
  for (size_t i = 0; i < n; i++)
    bad += !isfinite (y[i]);
  double rms = am_rms (y, n);
  CHECK (bad == 0 && rms > 0.01, "%s: finite (%zu non-finite), RMS %.3f", what, bad, rms);
}

static void
check_after (void)
{
  for (int i = 0; i < N_CLIPS; i++) {
    float *y = render ("urn:latent:after", clips[0], clip_n[0], i, NULL, 0);
    char *what = g_strdup_printf ("after at the %s centre", names[i]);
    check_output (what, y, clip_n[0]);
    double dist[N_CLIPS];
    int best = nearest_clip (y, clip_n[0], dist);
    printf ("  %s: MFCC-mean distance piano %.2f flute %.2f violin %.2f trumpet %.2f\n", what,
        dist[0], dist[1], dist[2], dist[3]);
    CHECK (best == i, "%s: closest to the %s clip", what, names[best]);
    g_free (what);
    g_free (y);
  }
}

static void
check_after_midi (void)
{
  /* A melody: 12 notes of 0.4 s, MIDI 62..81, velocity 90. */
  const int pitches[12] = { 62, 66, 69, 74, 72, 69, 67, 71, 74, 78, 76, 81 };
  Note notes[24];
  for (int i = 0; i < 12; i++) {
    uint32_t on = (uint32_t) (0.25 * RATE + i * 0.4 * RATE);
    notes[2 * i] = (Note) { on, { 0x90, (uint8_t) pitches[i], 90 } };
    notes[2 * i + 1] = (Note) { on + (uint32_t) (0.38 * RATE), { 0x80, (uint8_t) pitches[i], 0 } };
  }
  const size_t n = 5 * RATE;
  float *piano = render ("urn:latent:after-midi", NULL, n, 0, notes, 24);
  float *flute = render ("urn:latent:after-midi", NULL, n, 1, notes, 24);
  check_output ("after-midi at the piano centre", piano, n);
  check_output ("after-midi at the flute centre", flute, n);
  double dp[N_CLIPS], df[N_CLIPS];
  nearest_clip (piano, n, dp);
  nearest_clip (flute, n, df);
  printf ("  after-midi: to the flute clip: flute centre %.2f, piano centre %.2f; to the piano "
      "clip: piano centre %.2f, flute centre %.2f\n", df[1], dp[1], dp[0], df[0]);
  CHECK (df[1] < dp[1], "after-midi: the flute centre is closer to the flute clip (%.2f < %.2f)",
      df[1], dp[1]);
  CHECK (dp[0] < df[0], "after-midi: the piano centre is closer to the piano clip (%.2f < %.2f)",
      dp[0], df[0]);
  g_free (piano);
  g_free (flute);
}

int
main (int argc, char **argv)
{
  const char *need[] = { "after-gm.ts", "after-gm-midi.ts", "timbre-gm.pt", "timbre-gm-midi.pt" };
  for (guint i = 0; i < G_N_ELEMENTS (need); i++) {
    char *path = g_build_filename (MODELS, need[i], NULL);
    gboolean there = g_file_test (path, G_FILE_TEST_EXISTS);
    g_free (path);
    if (!there) {
      printf ("SKIP: models/%s is absent\n", need[i]);
      return 77;
    }
  }
  /* The bundle's defaults: the shipped models and terrains. */
  g_unsetenv ("LATENT_LV2_DEFAULT_AFTER");
  g_unsetenv ("LATENT_LV2_DEFAULT_AFTER_MIDI");
  g_unsetenv ("LATENT_LV2_DEFAULT_TIMBRE_TERRAIN");
  g_unsetenv ("LATENT_LV2_DEFAULT_TIMBRE_TERRAIN_MIDI");
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  for (int i = 0; i < N_CLIPS; i++)
    clips[i] = read_clip (clip_files[i], &clip_n[i]);
  check_after ();
  check_after_midi ();
  for (int i = 0; i < N_CLIPS; i++)
    g_free (clips[i]);
  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
