/* urn:latent:after and urn:latent:after-midi in a lilv host (suite 'host'), with the AFTER
 * fixtures (tests/data/make_after_fixtures.py: sr 16000, ratio 256, chunk 4, so one model
 * call is 1024 samples; decode plays sines at the latents' MIDI pitches with the diffused
 * amplitudes):
 * - after: output for blocks of 1, 64, 1000 and random sizes is identical, equals the core
 *   API (latent_after_* on the same blocks) delayed by the reported latency, and steps /
 *   guidance change it as the model says (amplitude proportional to both);
 * - after, each latency mode (low and safe): an impulse comes out exactly the latency port's
 *   value after the core API's response to it;
 * - after-midi: notes come out at their frames (shifted by the latency) and pitch, a note
 *   shorter than a latent frame still sounds in its frame, identical for every block
 *   pattern; the timbre controls scale it; a model of the wrong kind is refused and logged;
 * - both with 48 kHz fixtures (after-*-48k.ts) at a 44.1 kHz host: resampled inside; after
 *   equals the core API behind the core resampler, delayed by the latency port; A4 stays
 *   440 Hz; after-midi's note starts where the latency says.
 * - timbre sources 2 and 3: x, y on a timbre terrain (core API reference: the terrain's output
 *   as the timbre vector) and on the model's 2-D map (after-audio-map.ts: map2latent (x, y) ->
 *   (x / 2, y / 4)); a terrain of other dims or a bad file keeps the previous one (logged, the
 *   output unchanged); the chosen terrain is saved with state and restored into a fresh
 *   instance; a step of x is smoothed (10 ms one pole) before the chunk mean.
 * The host's audio inputs share one buffer: after's structure and sidechain get the same
 * signal. */
#include "host-checks.h"
#include "compile-check.h"
#include "latent.h"

#include <glib/gstdio.h>

#include <math.h>
#include <string.h>

#define RATE 16000
#define N_FRAMES (RATE * 3)
#define BLOCK 1024 /* chunk 4 x ratio 256 */
/* Low latency's margin, fixed by LATENT_RT_MARGIN_US=8000 in main (core/latent-rt.h): the
 * latency is BLOCK + BLOCK (no host block announced) + MARGIN; safe's is 2 * BLOCK. */
#define MARGIN 128
#define RATIO 256

static const char *audio_fixture, *midi_fixture;
static HostFeatures full = { .worker = true, .log = true, .map = true };

static float *
make_signal (void)
{
  float *x = g_new0 (float, N_FRAMES);
  for (int t = 0; t < N_FRAMES; t++)
    x[t] = (0.2f + 0.6f * (t / 8000 % 2)) * sinf (2 * G_PI * 330 * t / RATE);
  return x;
}

static Host *
new_host (const char *uri, HostFeatures features)
{
  Host *host = host_new (uri, RATE, features);
  g_assert_nonnull (host);
  return host;
}

typedef struct {
  uint32_t frame; /* absolute */
  uint8_t msg[3];
} Note;

/* Runs the whole signal in blocks of `pattern` (0: random 1..3000), delivering `notes`. */
static float *
run_pattern (Host *host, const float *x, int pattern, guint32 seed, const Note *notes,
    int n_notes)
{
  float *y = g_new0 (float, N_FRAMES);
  GRand *rand = g_rand_new_with_seed (seed);
  int t = 0, k = 0;
  while (t < N_FRAMES) {
    int n = pattern > 0 ? pattern : g_rand_int_range (rand, 1, 3001);
    n = MIN (n, N_FRAMES - t);
    for (; k < n_notes && notes[k].frame < (uint32_t) (t + n); k++)
      host_midi_event (host, notes[k].frame - t, notes[k].msg, 3);
    host_run (host, x + t, y + t, (uint32_t) n);
    t += n;
  }
  g_rand_free (rand);
  return y;
}

/* The core API on the same blocks: structure = timbre = x. */
static float *
core_reference (const float *x, int steps, double gs, double gt)
{
  GError *error = NULL;
  LatentAfter *after = latent_after_open (audio_fixture, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent_after_get_block (after), ==, BLOCK);
  g_assert_true (latent_after_set_steps (after, steps, &error));
  g_assert_true (latent_after_set_guidance (after, gs, gt, &error));
  float *ref = g_new0 (float, N_FRAMES);
  for (int b = 0; b + BLOCK <= N_FRAMES; b += BLOCK) {
    g_assert_true (latent_after_update_timbre (after, x + b, &error));
    g_assert_true (latent_after_render (after, x + b, ref + b, &error));
  }
  latent_after_free (after);
  return ref;
}

static void
test_after_patterns (void)
{
  float *x = make_signal ();
  float *ref = core_reference (x, 4, 1.0, 1.0);
  const int patterns[] = { 1, 64, 1000, 0, 0 };
  float *first = NULL;
  int latency = 0;
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++) {
    Host *host = new_host ("urn:latent:after", full);
    host_activate (host);
    float *y = run_pattern (host, x, patterns[i], 10 + i, NULL, 0);
    int lat = (int) host_get_control (host, "latency");
    g_assert_cmpint (lat, ==, 2 * BLOCK + MARGIN);
    g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
    if (!first) {
      first = y;
      latency = lat;
      for (int t = 0; t < latency; t++)
        g_assert_cmpfloat (y[t], ==, 0.0f);
      host_assert_same (y + latency, ref, N_FRAMES - latency, 1e-5f, "after against the core API");
      g_assert_cmpfloat (host_rms (y + latency, N_FRAMES - latency), >, 0.01);
    } else {
      host_assert_same (y, first, N_FRAMES, 0.0f, "after across block patterns");
      g_free (y);
    }
    host_free (host);
  }
  g_test_message ("after: latency %d, identical for blocks 1, 64, 1000 and random", latency);
  g_free (first);
  g_free (ref);
  g_free (x);
}

/* An impulse through urn:latent:after in each latency mode (the `latency_mode` control, set
 * before activation): the first sample the plugin outputs that is not silence comes exactly
 * the latency port's value after the first the core API outputs on the same input, so a
 * latency reported one chunk (or one sample) off fails. Safe is B + max(B, H) = 2 * BLOCK
 * (no host block announced), low B + B + MARGIN. */
static int
first_sound (const float *y, int n)
{
  for (int t = 0; t < n; t++)
    if (fabsf (y[t]) > 1e-6f)
      return t;
  return -1;
}

static void
test_after_impulse (gconstpointer mode_name)
{
  const int mode = !strcmp (mode_name, "safe");
  float *x = g_new0 (float, N_FRAMES);
  x[3 * BLOCK + 100] = 1.0f;
  float *ref = core_reference (x, 4, 1.0, 1.0);
  int ref_first = first_sound (ref, N_FRAMES);
  /* Silence in, silence out: the response starts in the impulse's chunk, so the delay is
   * measured, not the start of the output. */
  g_assert_cmpint (ref_first, >=, 3 * BLOCK);
  Host *host = new_host ("urn:latent:after", full);
  host_set_control (host, "latency_mode", (float) mode);
  host_activate (host);
  float *y = run_pattern (host, x, 64, 1, NULL, 0);
  int latency = (int) host_get_control (host, "latency");
  int delay = first_sound (y, N_FRAMES) - ref_first;
  g_test_message ("after, %s: latency port %d, impulse delay %d", (const char *) mode_name,
      latency, delay);
  g_assert_cmpint (latency, ==, mode ? 2 * BLOCK : 2 * BLOCK + MARGIN);
  g_assert_cmpint (delay, ==, latency);
  host_assert_same (y + latency, ref, N_FRAMES - latency, 1e-5f, "impulse against the core API");
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_free (host);
  g_free (y);
  g_free (ref);
  g_free (x);
}

static void
test_after_controls (void)
{
  /* The fixture's amplitude is proportional to steps and to both guidances. */
  float *x = make_signal ();
  Host *host = new_host ("urn:latent:after", full);
  host_set_control (host, "steps", 2);
  host_set_control (host, "guidance_timbre", 3.0f);
  host_activate (host);
  float *y = run_pattern (host, x, 64, 1, NULL, 0);
  int latency = (int) host_get_control (host, "latency");
  float *ref = core_reference (x, 2, 1.0, 3.0);
  host_assert_same (y + latency, ref, N_FRAMES - latency, 1e-5f, "steps 2, guidance timbre 3");
  float *ref4 = core_reference (x, 4, 1.0, 1.0);
  double ratio = host_rms (ref, N_FRAMES - latency)
      / host_rms (ref4, N_FRAMES - latency);
  g_test_message ("steps 2 x guidance 3 over steps 4 x guidance 1: rms ratio %.3f", ratio);
  g_assert_cmpfloat (fabs (ratio - 1.5), <, 0.05);
  host_free (host);
  g_free (ref);
  g_free (ref4);
  g_free (y);
  g_free (x);
}

/* Energy of output latent frame f (after the latency). */
static double
frame_rms (const float *y, int latency, int f)
{
  return host_rms (y + latency + f * RATIO, RATIO);
}

static const Note notes[] = {
  { 2 * RATIO + 100, { 0x90, 69, 100 } },  /* A4 from the middle of frame 2 */
  { 10 * RATIO + 40, { 0x80, 69, 0 } },    /* to frame 10 */
  { 20 * RATIO + 30, { 0x90, 81, 127 } },  /* A5 for 50 samples inside frame 20 */
  { 20 * RATIO + 80, { 0x80, 81, 0 } },
};

static float *
run_midi (int pattern, guint32 seed, float timbre0, int *latency)
{
  float *silence = g_new0 (float, N_FRAMES);
  Host *host = new_host ("urn:latent:after-midi", full);
  host_set_control (host, "timbre_source", 1);
  host_set_control (host, "timbre0", timbre0);
  host_activate (host);
  float *y = run_pattern (host, silence, pattern, seed, notes, G_N_ELEMENTS (notes));
  *latency = (int) host_get_control (host, "latency");
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_free (host);
  g_free (silence);
  return y;
}

/* Frequency with the most energy in y[0..n) (a DFT scan over 50..2000 Hz, 5 Hz steps). */
static double
peak_hz (const float *y, int n)
{
  double best = 0, best_p = -1;
  for (double f = 50; f <= 2000; f += 5) {
    double re = 0, im = 0;
    for (int t = 0; t < n; t++) {
      re += y[t] * cos (2 * G_PI * f * t / RATE);
      im += y[t] * sin (2 * G_PI * f * t / RATE);
    }
    if (re * re + im * im > best_p) {
      best_p = re * re + im * im;
      best = f;
    }
  }
  return best;
}

static void
test_midi_notes (void)
{
  int latency = 0;
  float *y = run_midi (64, 1, 1.0f, &latency);
  g_assert_cmpint (latency, ==, 2 * BLOCK + MARGIN);
  for (int t = 0; t < latency + 2 * RATIO; t++)
    g_assert_cmpfloat (fabsf (y[t]), <, 1e-6f);
  /* A4 sounds in frames 2..10 (its partial first and last frames included), at 440 Hz. */
  for (int f = 2; f <= 10; f++)
    g_assert_cmpfloat (frame_rms (y, latency, f), >, 0.5);
  for (int f = 11; f < 20; f++)
    g_assert_cmpfloat (frame_rms (y, latency, f), <, 1e-3);
  double hz = peak_hz (y + latency + 3 * RATIO, 6 * RATIO);
  g_assert_cmpfloat (fabs (hz - 440), <=, 5);
  /* The 50-sample A5 still fills its frame (velocity 127, 880 Hz), and only it. */
  g_assert_cmpfloat (frame_rms (y, latency, 20), >, 0.5);
  g_assert_cmpfloat (frame_rms (y, latency, 21), <, 1e-3);
  hz = peak_hz (y + latency + 20 * RATIO, RATIO);
  g_assert_cmpfloat (fabs (hz - 880), <=, 35); /* one frame: coarse resolution */
  g_test_message ("after-midi: A4 frame rms %.3f at %.0f Hz, 50-sample A5 frame rms %.3f",
      frame_rms (y, latency, 5), peak_hz (y + latency + 3 * RATIO, 6 * RATIO),
      frame_rms (y, latency, 20));

  /* Identical for other block patterns; the timbre control scales the amplitude. */
  const int patterns[] = { 1, 1000, 0 };
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++) {
    int lat;
    float *z = run_midi (patterns[i], 20 + i, 1.0f, &lat);
    g_assert_cmpint (lat, ==, latency);
    host_assert_same (z, y, N_FRAMES, 0.0f, "after-midi across block patterns");
    g_free (z);
  }
  int lat;
  float *half = run_midi (64, 1, 0.5f, &lat);
  double ratio = frame_rms (half, latency, 5) / frame_rms (y, latency, 5);
  g_assert_cmpfloat (fabs (ratio - 0.5), <, 0.02);
  g_free (half);
  g_free (y);
}

/* ------------------------------------------- 48 kHz models at a 44.1 kHz host */

#define RS_RATE 44100
#define RS_FRAMES (RS_RATE * 2)

/* Runs after (audio) or after-midi with the 48 kHz fixtures at 44.1 kHz, blocks of
 * `pattern`, `x` on the audio inputs, `notes` (absolute frames). */
static float *
run_resampled (const char *uri, const float *x, int pattern, const Note *notes, int n_notes,
    int *latency)
{
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", LATENT_TEST_DATA "/after-audio-48k.ts", TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", LATENT_TEST_DATA "/after-midi-48k.ts", TRUE);
  Host *host = host_new (uri, RS_RATE, full);
  g_assert_nonnull (host);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", audio_fixture, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", midi_fixture, TRUE);
  if (notes) {
    host_set_control (host, "timbre_source", 1);
    host_set_control (host, "timbre0", 1.0f);
  }
  host_activate (host);
  float *y = g_new0 (float, RS_FRAMES);
  for (int t = 0, k = 0; t < RS_FRAMES;) {
    int n = MIN (pattern, RS_FRAMES - t);
    for (; k < n_notes && notes[k].frame < (uint32_t) (t + n); k++)
      host_midi_event (host, notes[k].frame - t, notes[k].msg, 3);
    host_run (host, x + t, y + t, (uint32_t) n);
    t += n;
  }
  *latency = (int) host_get_control (host, "latency");
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_free (host);
  g_assert_true (host_all_finite (y, RS_FRAMES));
  return y;
}

/* What urn:latent:after must output at 44.1 kHz: x (structure and timbre) converted to
 * 48 kHz by the core resampler, the core API on whole 1024-sample blocks, converted back,
 * delayed by `latency`. */
static float *
resampled_reference (const float *x, int latency)
{
  GError *error = NULL;
  float *x2 = g_new (float, 2 * RS_FRAMES);
  for (int t = 0; t < RS_FRAMES; t++)
    x2[2 * t] = x2[2 * t + 1] = x[t];
  LatentResampler *down = latent_resampler_new (RS_RATE, 48000, 2, 0, RS_FRAMES, &error);
  g_assert_no_error (error);
  float *m2 = g_new0 (float, 2 * (gsize) latent_resampler_get_max_out (down));
  int m = latent_resampler_process (down, x2, RS_FRAMES, m2);
  float *m1 = g_new (float, m), *mo = g_new0 (float, m);
  for (int j = 0; j < m; j++)
    m1[j] = m2[2 * j];
  LatentAfter *after = latent_after_open (LATENT_TEST_DATA "/after-audio-48k.ts", 1, &error);
  g_assert_no_error (error);
  g_assert_true (latent_after_set_steps (after, 4, &error));
  g_assert_true (latent_after_set_guidance (after, 1.0, 1.0, &error));
  int done = 0;
  for (; done + BLOCK <= m; done += BLOCK) {
    g_assert_true (latent_after_update_timbre (after, m1 + done, &error));
    g_assert_true (latent_after_render (after, m1 + done, mo + done, &error));
  }
  latent_after_free (after);
  LatentResampler *up = latent_resampler_new (48000, RS_RATE, 1, 0, done, &error);
  float *h = g_new0 (float, latent_resampler_get_max_out (up));
  int nh = latent_resampler_process (up, mo, done, h);
  float *ref = g_new0 (float, RS_FRAMES);
  for (int t = latency; t < RS_FRAMES && t - latency < nh; t++)
    ref[t] = h[t - latency];
  latent_resampler_free (down);
  latent_resampler_free (up);
  g_free (x2);
  g_free (m2);
  g_free (m1);
  g_free (mo);
  g_free (h);
  return ref;
}

static void
test_after_resampled (void)
{
  float *x = g_new (float, RS_FRAMES);
  for (int t = 0; t < RS_FRAMES; t++)
    x[t] = (0.2f + 0.6f * (t / 22050 % 2)) * sinf (2 * G_PI * 330 * t / RS_RATE);
  int latency, lat1;
  float *y = run_resampled ("urn:latent:after", x, 64, NULL, 0, &latency);
  float *y1 = run_resampled ("urn:latent:after", x, 1000, NULL, 0, &lat1);
  g_assert_cmpint (lat1, ==, latency);
  host_assert_same (y1, y, RS_FRAMES, 0.0f, "after resampled across block patterns");
  float *ref = resampled_reference (x, latency);
  /* Compared where the reference has whole blocks (it stops at the last one). */
  int end = RS_FRAMES - 4096;
  host_assert_same (y, ref, end, 1e-5f, "after resampled against core API + core resampler");
  /* The fixture plays A4: 440 Hz at 48 kHz must stay 440 Hz at 44.1 kHz. */
  double hz = host_dominant_hz (y + latency + 4096, 16384, RS_RATE, 380, 500, 1);
  double rms = host_rms (y + latency, end - latency);
  g_test_message ("after, 48 kHz model at 44.1 kHz: latency %d, %.0f Hz, rms %.3f", latency,
      hz, rms);
  g_assert_cmpfloat (fabs (hz - 440), <=, 1);
  g_assert_cmpfloat (rms, >, 0.01);
  for (int t = 0; t < latency; t++)
    g_assert_cmpfloat (fabsf (y[t]), <, 1e-6f);
  g_free (ref);
  g_free (y);
  g_free (y1);
  g_free (x);
}

static void
test_midi_resampled (void)
{
  /* A4 from host frame 10000 to 30000: latent frame 42 at 48 kHz (10000 * 48000 / 44100 /
   * 256 = 42.5) is its first, model sample 10752 = host 9878.4; it sounds from there,
   * `latency` later, at 440 Hz. */
  static const Note a4[] = { { 10000, { 0x90, 69, 100 } }, { 30000, { 0x80, 69, 0 } } };
  float *silence = g_new0 (float, RS_FRAMES);
  int latency, lat1;
  float *y = run_resampled ("urn:latent:after-midi", silence, 64, a4, 2, &latency);
  float *y1 = run_resampled ("urn:latent:after-midi", silence, 1, a4, 2, &lat1);
  g_assert_cmpint (lat1, ==, latency);
  host_assert_same (y1, y, RS_FRAMES, 0.0f, "after-midi resampled across block patterns");
  const int onset = 9878 + latency;
  double before = host_rms (y + onset - 400, 340), after = host_rms (y + onset + 60, 340);
  double hz = host_dominant_hz (y + onset + 1000, 8192, RS_RATE, 380, 500, 1);
  g_test_message ("after-midi, 48 kHz model at 44.1 kHz: latency %d, rms %.2g before the "
      "onset, %.3f after, %.0f Hz", latency, before, after, hz);
  g_assert_cmpfloat (before, <, 1e-3);
  g_assert_cmpfloat (after, >, 0.3);
  g_assert_cmpfloat (fabs (hz - 440), <=, 1);
  g_free (y);
  g_free (y1);
  g_free (silence);
}

static void
test_wrong_kind (void)
{
  /* The audio plugin refuses the MIDI model (and keeps its own), and logs why. */
  Host *host = new_host ("urn:latent:after", full);
  host_activate (host);
  float zeros[64] = { 0 }, out[64];
  host_run (host, zeros, out, 64);
  host_log_clear (host);
  host_patch_set_path (host, "urn:latent:after#model", midi_fixture);
  for (int i = 0; i < 10; i++)
    host_run (host, zeros, out, 64);
  g_assert_nonnull (strstr (host_log_text (host), "after-midi.ts: an AFTER model with MIDI "
      "structure; urn:latent:after needs one with audio structure"));
  host_patch_get (host, "urn:latent:after#model");
  host_run (host, zeros, out, 64);
  g_assert_cmpstr (host_notified_path (host), ==, audio_fixture);
  host_free (host);
}

static char *
make_terrain (const char *dir, const char *name, int dims, guint64 seed)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = dims;
  GError *error = NULL;
  LatentTerrain *t = latent_terrain_new (&config, seed, &error);
  g_assert_no_error (error);
  char *path = g_build_filename (dir, name, NULL);
  g_assert_true (latent_terrain_save (t, path, &error));
  latent_terrain_free (t);
  return path;
}

/* The core API on the same blocks with the timbre from a terrain at (x, y) (terrain != NULL)
 * or from the model's map. */
static float *
core_timbre_reference (const char *model, const float *x, const char *terrain_path, float cx,
    float cy)
{
  GError *error = NULL;
  LatentAfter *after = latent_after_open (model, 1, &error);
  g_assert_no_error (error);
  g_assert_true (latent_after_set_steps (after, 4, &error));
  LatentTerrain *terrain = terrain_path ? latent_terrain_load (terrain_path, &error) : NULL;
  g_assert_no_error (error);
  LatentTerrainWorkspace *ws = terrain
      ? latent_terrain_workspace_new (latent_terrain_get_config (terrain)) : NULL;
  const float xy[2] = { cx, cy };
  float *ref = g_new0 (float, N_FRAMES);
  for (int b = 0; b + BLOCK <= N_FRAMES; b += BLOCK) {
    if (terrain)
      g_assert_true (latent_after_set_timbre_from_terrain (after, terrain, ws, xy, 2));
    else
      g_assert_true (latent_after_set_timbre_from_map (after, cx, cy, &error));
    g_assert_true (latent_after_render (after, x + b, ref + b, &error));
  }
  latent_terrain_workspace_free (ws);
  latent_terrain_free (terrain);
  latent_after_free (after);
  return ref;
}

static void
test_after_terrain (void)
{
  char *dir = g_dir_make_tmp ("latent-after-terrain-XXXXXX", NULL);
  char *good = make_terrain (dir, "good.pt", 2, 3), *other = make_terrain (dir, "other.pt", 2, 4);
  char *wide = make_terrain (dir, "wide.pt", 8, 5);
  char *bad = g_build_filename (dir, "bad.pt", NULL);
  g_assert_true (g_file_set_contents (bad, "not a terrain", -1, NULL));
  g_setenv ("LATENT_LV2_DEFAULT_TIMBRE_TERRAIN", good, TRUE);
  float *x = make_signal ();
  float *ref = core_timbre_reference (audio_fixture, x, good, 1.5f, -2.0f);
  Host *host = new_host ("urn:latent:after", full);
  host_set_control (host, "timbre_source", 2);
  host_set_control (host, "x", 1.5f);
  host_set_control (host, "y", -2.0f);
  host_activate (host);
  float *y = g_new0 (float, N_FRAMES);
  const int half = N_FRAMES / 2;
  host_run (host, x, y, 64);
  host_log_clear (host);
  /* A terrain of 8 dims (the fixture's timbre has 2) and a file that is no terrain: refused,
   * logged, the default terrain keeps playing. */
  host_patch_set_path (host, "urn:latent:after#timbre_terrain", wide);
  host_run (host, x + 64, y + 64, 64);
  host_patch_set_path (host, "urn:latent:after#timbre_terrain", bad);
  for (int t = 128; t < half; t += 64)
    host_run (host, x + t, y + t, 64);
  const char *log = host_log_text (host);
  g_assert_nonnull (strstr (log, "wide.pt: the terrain gives 8 dims but the model's timbre has 2"));
  g_assert_nonnull (strstr (log, "bad.pt"));
  g_assert_nonnull (strstr (log, "previous timbre terrain stays"));
  int latency = (int) host_get_control (host, "latency");
  host_assert_same (y + latency, ref, half - latency, 1e-5f, "timbre terrain against the core API");
  g_assert_cmpfloat (host_rms (y + latency, half - latency), >, 0.001);
  /* Another terrain: saved with state, and the output follows it. */
  host_patch_set_path (host, "urn:latent:after#timbre_terrain", other);
  for (int t = half; t < N_FRAMES; t += 64)
    host_run (host, x + t, y + t, MIN (64, N_FRAMES - t));
  float *ref_other = core_timbre_reference (audio_fixture, x, other, 1.5f, -2.0f);
  int from = half + 2 * BLOCK + latency; /* the change lands within a chunk */
  host_assert_same (y + from, ref_other + from - latency, N_FRAMES - from, 1e-5f,
      "the chosen terrain");
  const char *notified = host_notified_path_for (host, "urn:latent:after#timbre_terrain");
  g_assert_nonnull (notified);
  g_assert_true (g_str_has_suffix (notified, "other.pt"));
  char *saved = host_state_save (host, dir, "urn:latent:after#timbre_terrain");
  g_assert_nonnull (saved);
  g_assert_true (g_str_has_suffix (saved, "other.pt"));
  host_free (host);
  /* Restored into a fresh instance (whose default is good.pt): the saved terrain comes back,
   * plays from the first chunk and is announced. */
  host = new_host ("urn:latent:after", full);
  g_assert_cmpint (host_state_restore (host, dir, "urn:latent:after#timbre_terrain", saved), ==,
      LV2_STATE_SUCCESS);
  host_set_control (host, "timbre_source", 2);
  host_set_control (host, "x", 1.5f);
  host_set_control (host, "y", -2.0f);
  host_activate (host);
  for (int t = 0; t < N_FRAMES; t += 64)
    host_run (host, x + t, y + t, MIN (64, N_FRAMES - t));
  latency = (int) host_get_control (host, "latency");
  host_assert_same (y + latency, ref_other, N_FRAMES - latency, 1e-5f,
      "the restored terrain against the core API");
  notified = host_notified_path_for (host, "urn:latent:after#timbre_terrain");
  g_assert_nonnull (notified);
  g_assert_true (g_str_has_suffix (notified, "other.pt"));
  g_test_message ("terrain source: core API reference met; refused: 8-dim terrain, bad file; "
      "saved and restored: %s", saved);
  g_free (saved);
  host_free (host);
  g_free (ref_other);
  g_free (ref);

  /* The model's own map (source 3). */
  const char *map_fixture = LATENT_TEST_DATA "/after-audio-map.ts";
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", map_fixture, TRUE);
  ref = core_timbre_reference (map_fixture, x, NULL, 1.2f, 0.8f);
  host = new_host ("urn:latent:after", full);
  host_set_control (host, "timbre_source", 3);
  host_set_control (host, "x", 1.2f);
  host_set_control (host, "y", 0.8f);
  host_activate (host);
  g_free (y);
  y = run_pattern (host, x, 64, 1, NULL, 0);
  latency = (int) host_get_control (host, "latency");
  host_assert_same (y + latency, ref, N_FRAMES - latency, 1e-5f, "timbre map against the core API");
  g_assert_cmpfloat (host_rms (y + latency, N_FRAMES - latency), >, 0.001);
  host_free (host);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", audio_fixture, TRUE);
  g_unsetenv ("LATENT_LV2_DEFAULT_TIMBRE_TERRAIN");
  for (const char *const *f = (const char *const[]) { good, other, wide, bad, NULL }; *f; f++)
    g_unlink (*f);
  g_rmdir (dir);
  g_free (good);
  g_free (other);
  g_free (wide);
  g_free (bad);
  g_free (dir);
  g_free (ref);
  g_free (y);
  g_free (x);
}

/* x and y are smoothed (one pole, 10 ms, per sample) before each chunk takes their mean: a
 * step of x at a chunk boundary on the map source (after-audio-map.ts) matches the core API
 * with the smoothed chunk means, and not the one with the bare step. */
static void
test_after_smoothing (void)
{
  const char *map_fixture = LATENT_TEST_DATA "/after-audio-map.ts";
  const int step = 8 * BLOCK;
  const float from = -1.0f, to = 1.5f, cy = 0.5f;
  const float smooth = (float) (1.0 - exp (-1.0 / (0.01 * RATE)));
  float *x = make_signal ();
  float *ref[2]; /* 0: smoothed, 1: the bare step */
  for (int r = 0; r < 2; r++) {
    GError *error = NULL;
    LatentAfter *after = latent_after_open (map_fixture, 1, &error);
    g_assert_no_error (error);
    g_assert_true (latent_after_set_steps (after, 4, &error));
    ref[r] = g_new0 (float, N_FRAMES);
    float sx = from;
    for (int b = 0; b + BLOCK <= N_FRAMES; b += BLOCK) {
      double sum = 0;
      for (int t = b; t < b + BLOCK; t++) {
        sx += smooth * ((t < step ? from : to) - sx);
        sum += sx;
      }
      const float cx = r == 0 ? (float) (sum / BLOCK) : b < step ? from : to;
      g_assert_true (latent_after_set_timbre_from_map (after, cx, cy, &error));
      g_assert_true (latent_after_render (after, x + b, ref[r] + b, &error));
    }
    latent_after_free (after);
  }
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", map_fixture, TRUE);
  Host *host = new_host ("urn:latent:after", full);
  host_set_control (host, "timbre_source", 3);
  host_set_control (host, "x", from);
  host_set_control (host, "y", cy);
  host_activate (host);
  float *y = g_new0 (float, N_FRAMES);
  for (int t = 0; t < N_FRAMES; t += 64) {
    if (t == step)
      host_set_control (host, "x", to);
    host_run (host, x + t, y + t, MIN (64, N_FRAMES - t));
  }
  int latency = (int) host_get_control (host, "latency");
  host_assert_same (y + latency, ref[0], N_FRAMES - latency, 1e-4f,
      "x smoothed over 10 ms against the core API");
  double off = 0;
  for (int t = step; t < step + BLOCK; t++)
    off = MAX (off, fabs ((double) y[t + latency] - ref[1][t]));
  g_test_message ("x step at frame %d: largest difference from the unsmoothed step %.4f", step,
      off);
  g_assert_cmpfloat (off, >, 1e-3);
  host_free (host);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", audio_fixture, TRUE);
  g_free (ref[0]);
  g_free (ref[1]);
  g_free (y);
  g_free (x);
}

/* after-midi's map source (3) on after-midi-map.ts: x = 2 gives timbre0 = 1, so the output
 * equals the timbre controls' with timbre0 = 1 on the same maths (after-midi.ts). */
static void
test_midi_map (void)
{
  int latency = 0;
  float *controls = run_midi (64, 1, 1.0f, &latency);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", LATENT_TEST_DATA "/after-midi-map.ts", TRUE);
  float *silence = g_new0 (float, N_FRAMES);
  Host *host = new_host ("urn:latent:after-midi", full);
  host_set_control (host, "timbre_source", 3);
  host_set_control (host, "x", 2.0f);
  host_set_control (host, "y", 0.0f);
  host_activate (host);
  float *y = run_pattern (host, silence, 64, 1, notes, G_N_ELEMENTS (notes));
  g_assert_cmpint ((int) host_get_control (host, "latency"), ==, latency);
  host_assert_same (y, controls, N_FRAMES, 1e-6f, "after-midi: map (2, 0) as timbre0 = 1");
  g_assert_cmpfloat (frame_rms (y, latency, 5), >, 0.5);
  host_free (host);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", midi_fixture, TRUE);
  g_free (silence);
  g_free (y);
  g_free (controls);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  audio_fixture = LATENT_TEST_DATA "/after-audio.ts";
  midi_fixture = LATENT_TEST_DATA "/after-midi.ts";
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", audio_fixture, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", midi_fixture, TRUE);
  g_setenv ("LATENT_RT_MARGIN_US", "8000", TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  g_test_add_func ("/after/patterns", test_after_patterns);
  g_test_add_data_func ("/after/impulse-low", "low", test_after_impulse);
  g_test_add_data_func ("/after/impulse-safe", "safe", test_after_impulse);
  g_test_add_func ("/after/controls", test_after_controls);
  g_test_add_func ("/after/wrong-kind", test_wrong_kind);
  g_test_add_func ("/after/timbre-terrain", test_after_terrain);
  g_test_add_func ("/after/xy-smoothing", test_after_smoothing);
  g_test_add_func ("/after-midi/timbre-map", test_midi_map);
  g_test_add_func ("/after-midi/notes", test_midi_notes);
  g_test_add_func ("/after/resampled", test_after_resampled);
  g_test_add_func ("/after-midi/resampled", test_midi_resampled);
  int status = g_test_run ();
  /* After every stream above: none optimised a graph after its warm-up. */
  if (!latent_test_no_streaming_compilations (argv[0]))
    status = 1;
  return status;
}
