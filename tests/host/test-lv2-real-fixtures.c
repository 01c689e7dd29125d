/* The LV2 plugins in a lilv host on fixtures of the real architectures users bring (issue 9),
 * generated at build time by tests/data/make_rave_v2_fixture.py and make_after_v2_fixture.py
 * (44.1 kHz, ratio 2048; AFTER chunk 4 frames, n_poly 8), with python3-torch references:
 *   urn:latent:rave with the RAVE v2 fixture in the nn~ 1.6 and nn~ 1.5.6 layouts, and the
 *   48 kHz export at a 44.1 kHz host (resampled inside the plugin: finite, sounding);
 *   urn:latent:after with the AFTER audio fixture (the host's inputs share one buffer, so
 *   structure = timbre = the signal, as the reference `same_seed*` has it);
 *   urn:latent:after-midi with the MIDI fixture (n_poly 8): one held note, timbre controls.
 * Each: as many frames out as in (every sample finite), the reported latency, and the output
 * after the latency agreeing with python (RAVE's decode and AFTER's diffusion draw noise:
 * block loudness and log-mel spectra, against the spread between two python seeds). */
#include "host-checks.h"
#include "audio-metrics.h"
#include "compile-check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define DIR LATENT_REAL_FIXTURES
#define RATE 44100
#define RATIO 2048
#define AFTER_BLOCK (4 * RATIO)

static HostFeatures full = { .worker = true, .log = true, .map = true };

static float *
read_f32 (const char *name, size_t expect)
{
  char *path = g_build_filename (DIR, name, NULL);
  char *data = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents (path, &data, &len, &error))
    g_error ("%s", error->message);
  g_assert_cmpuint (len, ==, expect * sizeof (float));
  g_free (path);
  return (float *) data;
}

static double
envelope_correlation (const float *a, const float *b, size_t n, size_t block)
{
  size_t m = n / block;
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (size_t k = 0; k < m; k++) {
    double ea = am_rms (a + k * block, block), eb = am_rms (b + k * block, block);
    sa += ea; sb += eb; saa += ea * ea; sbb += eb * eb; sab += ea * eb;
  }
  return (sab - sa * sb / m) / sqrt ((saa - sa * sa / m) * (sbb - sb * sb / m));
}

/* As tests/element/test-real-fixtures.c: y (n samples, already aligned) against python's two
 * seeds ref0, ref1. */
static void
check_noisy (const char *what, const float *y, const float *ref0, const float *ref1, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite (y[i]))
      g_error ("%s: sample %" G_GSIZE_FORMAT " is not finite", what, i);
  double env = envelope_correlation (y, ref0, n, RATIO);
  double env_seeds = envelope_correlation (ref0, ref1, n, RATIO);
  double level = am_rms (y, n) / am_rms (ref0, n);
  double corr = am_log_mel_correlation (y, ref0, n, RATE);
  double corr_seeds = am_log_mel_correlation (ref1, ref0, n, RATE);
  g_test_message ("%s: envelope r %.3f (python seeds %.3f), level %.3f of python, log-mel r "
      "%.3f (python seeds %.3f)", what, env, env_seeds, level, corr, corr_seeds);
  if (env_seeds >= 0.8)
    g_assert_cmpfloat (env, >=, MIN (0.9, env_seeds - 0.05));
  g_assert_cmpfloat (level, >, 0.8);
  g_assert_cmpfloat (level, <, 1.25);
  g_assert_cmpfloat (corr, >=, corr_seeds - 0.1);
}

/* Runs x (n frames) in blocks of `block` as an offline host (freewheeling: the plugin waits
 * for its inference thread); the output has n frames. A note on at 0 when `note` > 0. */
static float *
run_blocks (Host *host, const float *x, size_t n, int block, int note)
{
  float *y = g_new0 (float, n);
  host_set_control (host, "freewheel", 1.0f);
  for (size_t t = 0; t < n; t += block) {
    uint32_t m = (uint32_t) MIN ((size_t) block, n - t);
    if (note > 0 && t == 0) {
      const uint8_t on[3] = { 0x90, (uint8_t) note, 100 };
      host_midi_event (host, 0, on, 3);
    }
    host_run (host, x + t, y + t, m);
  }
  return y;
}

static void
test_rave (gconstpointer data)
{
  const char *layout = data;
  const size_t n = 48 * RATIO;
  char *name = g_strdup_printf ("rave-v2-%s-ref-input.f32", layout);
  float *x = read_f32 (name, n);
  g_free (name);
  name = g_strdup_printf ("rave-v2-%s-ref-forward.f32", layout);
  float *ref0 = read_f32 (name, n);
  g_free (name);
  name = g_strdup_printf ("rave-v2-%s-ref-forward_seed1.f32", layout);
  float *ref1 = read_f32 (name, n);
  g_free (name);
  char *model = g_strdup_printf (DIR "/rave-v2-%s.ts", layout);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", model, TRUE);
  Host *host = host_new ("urn:latent:rave", RATE, full);
  g_assert_nonnull (host);
  host_activate (host);
  /* The input followed by silence, long enough to flush the latency. */
  const size_t total = n + 4 * RATIO;
  float *in = g_new0 (float, total);
  memcpy (in, x, n * sizeof (float));
  gint64 t0 = g_get_monotonic_time ();
  float *y = run_blocks (host, in, total, 64, 0);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  int latency = (int) host_get_control (host, "latency");
  g_test_message ("rave %s: latency %d, %.2f s for %.2f s of audio in 64-frame run()s", layout,
      latency, secs, (double) total / RATE);
  g_assert_cmpint (latency, >=, RATIO);
  g_assert_cmpint (latency, <=, 4 * RATIO);
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  for (int t = 0; t < latency; t++)
    g_assert_cmpfloat (fabsf (y[t]), <, 1e-6f);
  char *what = g_strdup_printf ("urn:latent:rave %s", layout);
  check_noisy (what, y + latency, ref0, ref1, n);
  g_free (what);
  host_free (host);
  g_free (model);
  g_free (in);
  g_free (y);
  g_free (x);
  g_free (ref0);
  g_free (ref1);
}

/* The 48 kHz RAVE v2 export at a 44.1 kHz host: resampled inside the plugin; finite, sounding
 * output after the reported latency (which covers the model block at the model's rate). */
static void
test_rave_48k (void)
{
  const size_t n = 48 * RATIO;
  float *x = read_f32 ("rave-v2-nn16-ref-input.f32", n);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", DIR "/rave-v2-48k.ts", TRUE);
  Host *host = host_new ("urn:latent:rave", RATE, full);
  g_assert_nonnull (host);
  host_activate (host);
  const size_t total = n + 4 * RATIO;
  float *in = g_new0 (float, total);
  memcpy (in, x, n * sizeof (float));
  float *y = run_blocks (host, in, total, 64, 0);
  int latency = (int) host_get_control (host, "latency");
  double rms = am_rms (y + latency, n);
  g_test_message ("rave 48 kHz model at 44.1 kHz: latency %d, rms %.4f, log %s", latency, rms,
      host_log_text (host));
  g_assert_cmpint (latency, >=, RATIO * RATE / 48000);
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  for (size_t i = 0; i < total; i++)
    g_assert_true (isfinite (y[i]));
  g_assert_cmpfloat (rms, >, 0.01);
  host_free (host);
  g_free (in);
  g_free (y);
  g_free (x);
}

static void
test_after (void)
{
  const size_t n = 8 * AFTER_BLOCK;
  float *x = read_f32 ("after-v2-audio-ref-structure_input.f32", n);
  float *ref0 = read_f32 ("after-v2-audio-ref-same_seed0.f32", n);
  float *ref1 = read_f32 ("after-v2-audio-ref-same_seed1.f32", n);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", DIR "/after-v2-audio.ts", TRUE);
  Host *host = host_new ("urn:latent:after", RATE, full);
  g_assert_nonnull (host);
  host_activate (host);
  const size_t total = n + 4 * AFTER_BLOCK;
  float *in = g_new0 (float, total);
  memcpy (in, x, n * sizeof (float));
  gint64 t0 = g_get_monotonic_time ();
  float *y = run_blocks (host, in, total, 256, 0);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  int latency = (int) host_get_control (host, "latency");
  g_test_message ("after: latency %d, %.2f s for %.2f s of audio", latency, secs,
      (double) total / RATE);
  g_assert_cmpint (latency, >=, AFTER_BLOCK);
  g_assert_cmpint (latency, <=, 3 * AFTER_BLOCK);
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  check_noisy ("urn:latent:after", y + latency, ref0, ref1, n);
  host_free (host);
  g_free (in);
  g_free (y);
  g_free (x);
  g_free (ref0);
  g_free (ref1);
}

static void
test_after_midi (void)
{
  const size_t n = 8 * AFTER_BLOCK;
  float *ref0 = read_f32 ("after-v2-midi-ref-output_seed0.f32", n);
  float *ref1 = read_f32 ("after-v2-midi-ref-output_seed1.f32", n);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", DIR "/after-v2-midi.ts", TRUE);
  Host *host = host_new ("urn:latent:after-midi", RATE, full);
  g_assert_nonnull (host);
  /* The reference's timbre: 0.5 in the six controls (the model's other two dims get 0). */
  host_set_control (host, "timbre_source", 1);
  for (int d = 0; d < 6; d++) {
    char *symbol = g_strdup_printf ("timbre%d", d);
    host_set_control (host, symbol, 0.5f);
    g_free (symbol);
  }
  host_activate (host);
  const size_t total = n + 4 * AFTER_BLOCK;
  float *silence = g_new0 (float, total);
  float *y = run_blocks (host, silence, total, 256, 60);
  int latency = (int) host_get_control (host, "latency");
  g_test_message ("after-midi: latency %d", latency);
  g_assert_cmpint (latency, >=, AFTER_BLOCK);
  g_assert_cmpint (latency, <=, 3 * AFTER_BLOCK);
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  check_noisy ("urn:latent:after-midi", y + latency, ref0, ref1, n);
  host_free (host);
  g_free (silence);
  g_free (y);
  g_free (ref0);
  g_free (ref1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/real-fixtures/rave-nn16", "nn16", test_rave);
  g_test_add_data_func ("/real-fixtures/rave-nn156", "nn156", test_rave);
  g_test_add_func ("/real-fixtures/rave-48k-resampled", test_rave_48k);
  g_test_add_func ("/real-fixtures/after", test_after);
  g_test_add_func ("/real-fixtures/after-midi", test_after_midi);
  int status = g_test_run ();
  /* After every plugin above: none optimised a graph after its warm-up. */
  if (!latent_test_no_streaming_compilations (argv[0]))
    status = 1;
  return status;
}
