/* urn:latent:rave in a lilv host (suite 'host'): block patterns, latency, bypass, latent
 * bias, patch:Set with good and bad files, state save/restore, a 48 kHz model at a 44.1 kHz
 * host (resampled: impulse positions against the latency port, a sine), no host
 * features (as lv2apply), and a real-time paced run without underruns.
 * Fixture: tests/data/stateful-codec.ts (sr 8000; encode = means of 4 samples, decode repeats
 * latent 0), so decode(encode(x)) is exact in float32. */
#include "host-checks.h"
#include "compile-check.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define RATE 8000
#define N_FRAMES (RATE * 3)
#define MODEL_URI "urn:latent:rave#model"

static const char *fixture;
static const char *bad_file;
static const char *resampled;

static HostFeatures full = { .worker = true, .log = true, .map = true };

static float *
make_signal (void)
{
  float *x = g_new0 (float, N_FRAMES);
  GRand *rand = g_rand_new_with_seed (7);
  for (int t = 0; t < N_FRAMES; t++)
    x[t] = 0.4f * sinf (2 * G_PI * 220 * t / RATE) + 0.1f * (float) g_rand_double_range (rand,
        -1, 1);
  x[400] = 1.0f; /* impulse on a frame boundary */
  g_rand_free (rand);
  return x;
}

/* What the plugin must output: the model's output delayed by latency. */
static float *
reference (const float *x, int latency, float bias0)
{
  float *y = g_new0 (float, N_FRAMES);
  for (int t = latency; t < N_FRAMES; t++) {
    int s = t - latency, f = s / 4 * 4;
    y[t] = (x[f] + x[f + 1] + x[f + 2] + x[f + 3]) / 4 + bias0;
  }
  return y;
}

/* Runs the whole signal through `host` in blocks of `pattern` (0: random 1..3000). */
static float *
run_pattern (Host *host, const float *x, int pattern, guint32 seed)
{
  float *y = g_new0 (float, N_FRAMES);
  GRand *rand = g_rand_new_with_seed (seed);
  int t = 0;
  while (t < N_FRAMES) {
    int n = pattern > 0 ? pattern : g_rand_int_range (rand, 1, 3001);
    n = MIN (n, N_FRAMES - t);
    host_run (host, x + t, y + t, (uint32_t) n);
    t += n;
  }
  g_rand_free (rand);
  return y;
}

static Host *
new_host (double rate, HostFeatures features)
{
  Host *host = host_new ("urn:latent:rave", rate, features);
  g_assert_nonnull (host);
  host_activate (host);
  return host;
}

/* A host whose `latency_mode` control is `mode` (0 low, 1 safe) from activation. */
static Host *
new_host_mode (double rate, HostFeatures features, int mode)
{
  Host *host = host_new ("urn:latent:rave", rate, features);
  g_assert_nonnull (host);
  host_set_control (host, "latency_mode", (float) mode);
  host_activate (host);
  return host;
}

static void
test_patterns (void)
{
  float *x = make_signal ();
  const int patterns[] = { 1, 64, 1000, 0, 0 };
  float *first = NULL;
  int latency = 0;
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++) {
    Host *host = new_host (RATE, full);
    float *y = run_pattern (host, x, patterns[i], 100 + i);
    int lat = (int) host_get_control (host, "latency");
    g_test_message ("%s", host_log_text (host));
    g_assert_cmpint (lat, >, 0);
    g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
    if (!first) {
      first = y;
      latency = lat;
      /* The impulse (x[400] = 1, neighbours from the signal) shows up `latency` later. */
      float *ref = reference (x, latency, 0);
      host_assert_same (y, ref, N_FRAMES, 1e-6f, "output against the model");
      g_free (ref);
    } else {
      g_assert_cmpint (lat, ==, latency);
      host_assert_same (y, first, N_FRAMES, 0.0f, "output across block patterns");
      g_free (y);
    }
    host_free (host);
  }
  g_test_message ("latency %d frames; identical for blocks 1, 64, 1000 and random", latency);
  /* low: B (256 samples) + H (none announced: B) + M (8 ms at 8 kHz = 64) */
  g_assert_cmpint (latency, ==, 256 + 256 + 64);
  g_free (first);
  g_free (x);
}

static void
test_impulse_latency (void)
{
  /* Each latency mode: the impulse comes out exactly `latency` frames later (safe is
   * B + max(B, H) = 2 * 2048; low B + B + M, no host block announced). */
  int latencies[2];
  for (int mode = 0; mode < 2; mode++) {
    float *x = g_new0 (float, N_FRAMES), *y;
    x[800] = 4.0f; /* one frame of 4 samples -> mean 1 -> decode: 1,1,1,1 */
    Host *host = new_host_mode (RATE, full, mode);
    y = run_pattern (host, x, 64, 1);
    int first = -1;
    for (int t = 0; t < N_FRAMES && first < 0; t++)
      if (fabsf (y[t]) > 1e-6f)
        first = t;
    latencies[mode] = (int) host_get_control (host, "latency");
    g_test_message ("%s: latency port %d, impulse delay %d", mode ? "safe" : "low",
        latencies[mode], first - 800);
    g_assert_cmpint (first - 800, ==, latencies[mode]);
    g_assert_cmpfloat_with_epsilon (y[first], 1.0f, 1e-6);
    host_free (host);
    g_free (x);
    g_free (y);
  }
  g_assert_cmpint (latencies[1], ==, 2 * 2048);
  g_assert_cmpint (latencies[0], ==, 256 + 256 + 64);
  g_assert_cmpint (latencies[0], <, latencies[1]);
}

/* Switching the latency control mid-stream reloads the model in the new mode: the latency port
 * follows, and the output never falls silent. */
static void
test_latency_mode_switch (void)
{
  float *x = make_signal ();
  Host *host = new_host_mode (RATE, full, 0);
  float *y = g_new0 (float, N_FRAMES);
  int low = -1, t = 0;
  for (; t < N_FRAMES; t += 64) {
    if (t == RATE) {
      low = (int) host_get_control (host, "latency");
      host_set_control (host, "latency_mode", 1);
    }
    host_run (host, x + t, y + t, 64);
  }
  int safe = (int) host_get_control (host, "latency");
  g_test_message ("latency %d (low) -> %d (safe)", low, safe);
  g_assert_cmpint (safe, ==, 2 * 2048);
  g_assert_cmpint (low, <, safe);
  int zeros = 0, worst = 0;
  for (int i = low; i < N_FRAMES; i++) {
    zeros = y[i] == 0.0f ? zeros + 1 : 0;
    worst = MAX (worst, zeros);
  }
  g_assert_cmpint (worst, <, 4); /* a latent frame may be 0 by chance, not a gap */
  /* Back to low: the port follows again. */
  host_set_control (host, "latency_mode", 0);
  for (t = 0; t < N_FRAMES; t += 64)
    host_run (host, x + t, y + t, 64);
  g_assert_cmpint ((int) host_get_control (host, "latency"), <, safe);
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_free (host);
  g_free (x);
  g_free (y);
}

static void
test_bypass_and_bias (void)
{
  float *x = make_signal ();
  Host *host = host_new ("urn:latent:rave", RATE, full);
  host_set_control (host, "enabled", 0);
  host_activate (host);
  float *y = run_pattern (host, x, 64, 1);
  int latency = (int) host_get_control (host, "latency");
  for (int t = latency; t < N_FRAMES; t++)
    g_assert_cmpfloat (y[t], ==, x[t - latency]);
  host_free (host);
  g_free (y);

  host = host_new ("urn:latent:rave", RATE, full);
  host_set_control (host, "bias0", 0.5f);
  host_set_control (host, "scale1", 3.0f); /* latent 1 is not decoded by the fixture */
  host_activate (host);
  y = run_pattern (host, x, 1000, 1);
  float *ref = reference (x, latency, 0.5f);
  host_assert_same (y + latency, ref + latency, N_FRAMES - latency, 1e-6f, "bias on latent 0");
  host_free (host);
  g_free (ref);
  g_free (y);

  /* Dry/wet 0: the input, delayed like the wet signal. */
  host = host_new ("urn:latent:rave", RATE, full);
  host_set_control (host, "wet", 0.0f);
  host_activate (host);
  y = run_pattern (host, x, 64, 1);
  for (int t = latency; t < N_FRAMES; t++)
    g_assert_cmpfloat (y[t], ==, x[t - latency]);
  host_free (host);
  g_free (y);
  g_free (x);
}

static int
count_occurrences (const char *text, const char *needle)
{
  int n = 0;
  for (const char *p = text; (p = strstr (p, needle)); p += strlen (needle))
    n++;
  return n;
}

/* Hostile input and controls (issue 12): NaN/Inf input samples and a NaN `wet` at activate,
 * bypassed and processed: nothing non-finite reaches the host; processed, the output is what
 * the model gives for the input with those samples as 0 (the dry path too: 0 * Inf is NaN);
 * bypassed, the plugin's input stage already replaced them. */
static void
test_non_finite_input_and_controls (void)
{
  float *x = make_signal ();
  float *hostile = g_memdup2 (x, sizeof (float) * N_FRAMES);
  for (int t = 0; t < N_FRAMES; t += 97) {
    hostile[t] = t % 2 ? NAN : INFINITY;
    x[t] = 0.0f;
  }
  for (int enabled = 0; enabled <= 1; enabled++) {
    Host *host = host_new ("urn:latent:rave", RATE, full);
    host_set_control (host, "wet", NAN);
    host_set_control (host, "enabled", (float) enabled);
    host_activate (host);
    float *y = run_pattern (host, hostile, 64, 1);
    for (int t = 0; t < N_FRAMES; t++)
      g_assert_true (isfinite (y[t]));
    int latency = (int) host_get_control (host, "latency");
    if (enabled) {
      float *ref = reference (x, latency, 0.0f);
      host_assert_same (y + latency, ref + latency, N_FRAMES - latency, 1e-6f,
          "NaN input samples as 0, NaN wet as 1");
      g_free (ref);
    } else {
      for (int t = latency; t < N_FRAMES; t++)
        g_assert_cmpfloat (y[t], ==, x[t - latency]);
    }
    g_free (y);
    host_free (host);
  }
  g_free (hostile);
  g_free (x);
}

/* A wild control (bias 1000) drives a model's state to NaN, as a 1e30 latent does to a real
 * decoder's caches: the output stays finite, the host's log says so once, and once the
 * control is back the model has recovered by itself: the output is again exactly the
 * model's. */
static void
test_poisoned_state_recovers (void)
{
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", LATENT_HOSTILE_MODELS "/poisoned-nan.ts", TRUE);
  Host *host = host_new ("urn:latent:rave", RATE, full);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture, TRUE);
  host_activate (host);
  float *x = make_signal (), *y = g_new0 (float, N_FRAMES);
  host_set_control (host, "bias0", 1000.0f);
  int t = 0;
  for (; t < N_FRAMES / 2; t += 64)
    host_run (host, x + t, y + t, 64);
  host_set_control (host, "bias0", 0.0f);
  for (; t < N_FRAMES; t += 64)
    host_run (host, x + t, y + t, MIN (64, N_FRAMES - t));
  for (int k = 0; k < N_FRAMES; k++)
    g_assert_true (isfinite (y[k]));
  int latency = (int) host_get_control (host, "latency");
  g_assert_cmpint (latency, >, 0);
  float *ref = reference (x, latency, 0.0f);
  const int from = 3 * N_FRAMES / 4;
  host_assert_same (y + from, ref + from, N_FRAMES - from, 1e-6f, "after the control is back");
  g_test_message ("%s", host_log_text (host));
  g_assert_cmpint (count_occurrences (host_log_text (host),
          "the model returned NaN or Inf values"), ==, 1);
  g_free (ref);
  g_free (y);
  g_free (x);
  host_free (host);
}

/* Runs silence until the plugin reports `path` as its model (load finished). */
static gboolean
wait_for_model (Host *host, const char *path)
{
  float zeros[64] = { 0 }, out[64];
  for (int i = 0; i < 2000; i++) {
    host_run (host, zeros, out, 64);
    if (host_notified_path (host) && !strcmp (host_notified_path (host), path))
      return TRUE;
    g_usleep (1000);
  }
  return FALSE;
}

static void
check_patch_set (HostFeatures features)
{
  char *dir = g_dir_make_tmp ("latent-lv2-XXXXXX", NULL);
  char *copy = host_copy_file (fixture, dir, "copy.ts");

  float *x = make_signal ();
  Host *host = new_host (RATE, features);
  float *y = g_new0 (float, N_FRAMES);

  /* patch:Get reports the default model. */
  host_patch_get (host, MODEL_URI);
  host_run (host, x, y, 64);
  g_assert_cmpstr (host_notified_path (host), ==, fixture);
  int latency = (int) host_get_control (host, "latency");
  float *ref = reference (x, latency, 0);

  /* A good file mid-stream: the new model takes over with no gap in the output. */
  host_run (host, x + 64, y + 64, 4000 - 64);
  host_patch_set_path (host, MODEL_URI, copy);
  int t = 4000;
  gboolean seen = FALSE;
  while (t < N_FRAMES / 2) {
    host_run (host, x + t, y + t, 100);
    t += 100;
    if (!seen && host_notified_path (host) && !strcmp (host_notified_path (host), copy))
      seen = TRUE;
    if (!features.worker)
      g_usleep (2000); /* give the plugin's own loader thread time */
  }
  g_assert_true (seen);
  g_assert_true (strstr (host_log_text (host), "copy.ts") != NULL);

  /* A bad file: logged, the previous model keeps running. */
  host_log_clear (host);
  host_patch_set_path (host, MODEL_URI, bad_file);
  while (t < N_FRAMES) {
    int n = MIN (100, N_FRAMES - t);
    host_run (host, x + t, y + t, (uint32_t) n);
    t += n;
    if (!features.worker)
      g_usleep (2000);
  }
  const char *log = host_log_text (host);
  if (features.log) {
    g_assert_true (strstr (log, "not-torchscript.ts") != NULL);
  }
  g_assert_cmpstr (host_notified_path (host), ==, copy);
  g_assert_cmpfloat (host_get_control (host, "latency"), ==, latency);
  host_assert_same (y, ref, N_FRAMES, 1e-6f, "output through model changes");

  host_free (host);
  g_free (x);
  g_free (y);
  g_free (ref);
  g_unlink (copy);
  g_rmdir (dir);
  g_free (copy);
  g_free (dir);
}

static void
test_patch_set_worker (void)
{
  check_patch_set (full);
}

static void
test_patch_set_own_thread (void)
{
  HostFeatures f = { .worker = false, .log = true, .map = true };
  check_patch_set (f);
}

static void
test_state (void)
{
  char *dir = g_dir_make_tmp ("latent-lv2-XXXXXX", NULL);
  char *copy = host_copy_file (fixture, dir, "chosen.ts");

  Host *host = new_host (RATE, full);
  /* Default model: nothing to save. */
  char *saved = host_state_save (host, dir, MODEL_URI);
  g_assert_null (saved);
  host_patch_set_path (host, MODEL_URI, copy);
  g_assert_true (wait_for_model (host, copy));
  saved = host_state_save (host, dir, MODEL_URI);
  g_assert_cmpstr (saved, ==, "chosen.ts"); /* through state:mapPath */
  host_free (host);

  /* Restore into a fresh instance: the model comes back, and it runs. */
  host = host_new ("urn:latent:rave", RATE, full);
  g_assert_cmpint (host_state_restore (host, dir, MODEL_URI, saved), ==, LV2_STATE_SUCCESS);
  host_activate (host);
  float *x = make_signal ();
  float *y = run_pattern (host, x, 64, 1);
  g_assert_cmpstr (host_notified_path (host), ==, copy);
  float *ref = reference (x, (int) host_get_control (host, "latency"), 0);
  host_assert_same (y, ref, N_FRAMES, 1e-6f, "after restore");
  char *again = host_state_save (host, dir, MODEL_URI);
  g_assert_cmpstr (again, ==, "chosen.ts");

  /* Restoring a missing file fails and keeps the model. */
  host_log_clear (host);
  g_assert_cmpint (host_state_restore (host, dir, MODEL_URI, "missing.ts"), !=,
      LV2_STATE_SUCCESS);
  g_assert_true (strstr (host_log_text (host), "missing.ts") != NULL);
  g_free (again);
  again = host_state_save (host, dir, MODEL_URI);
  g_assert_cmpstr (again, ==, "chosen.ts");
  host_free (host);

  g_free (again);
  g_free (saved);
  g_free (x);
  g_free (y);
  g_free (ref);
  g_unlink (copy);
  g_rmdir (dir);
  g_free (copy);
  g_free (dir);
}

static void
test_state_threadsafe (gconstpointer refused)
{
  /* A host restoring while the plugin runs passes its worker to restore()
   * (state:threadSafeRestore): the load is scheduled there, not done inside restore(), and the
   * restored model takes over mid-stream with no gap in the output. When that worker refuses
   * the job (`refused`: jalv 1.6.8 before its worker exists), restore() loads the model itself
   * and it takes over the same way. */
  char *dir = g_dir_make_tmp ("latent-lv2-XXXXXX", NULL);
  char *copy = host_copy_file (fixture, dir, "chosen.ts");

  float *x = make_signal ();
  float *y = g_new0 (float, N_FRAMES);
  Host *host = new_host (RATE, full);
  int t = 0;
  for (; t < 4000; t += 100)
    host_run (host, x + t, y + t, 100);
  int latency = (int) host_get_control (host, "latency");
  host_log_clear (host);
  g_assert_cmpint ((refused ? host_state_restore_refused : host_state_restore_threadsafe) (
      host, dir, MODEL_URI, "chosen.ts"), ==, LV2_STATE_SUCCESS);
  if (refused) { /* loaded in restore(), saved from now on */
    g_assert_true (strstr (host_log_text (host), "chosen.ts (latency") != NULL);
    char *saved_now = host_state_save (host, dir, MODEL_URI);
    g_assert_cmpstr (saved_now, ==, "chosen.ts");
    g_free (saved_now);
  } else {
    g_assert_null (strstr (host_log_text (host), "chosen.ts")); /* not loaded in restore() */
  }
  gboolean seen = FALSE;
  for (; t < N_FRAMES; t += 100) {
    host_run (host, x + t, y + t, 100);
    seen = seen || (host_notified_path (host) && !strcmp (host_notified_path (host), copy));
  }
  g_assert_true (seen);
  g_assert_true (strstr (host_log_text (host), "chosen.ts") != NULL); /* loaded */
  float *ref = reference (x, latency, 0);
  host_assert_same (y, ref, N_FRAMES, 1e-6f, "through a thread-safe restore");
  char *saved = host_state_save (host, dir, MODEL_URI);
  g_assert_cmpstr (saved, ==, "chosen.ts");

  host_free (host);
  g_free (saved);
  g_free (ref);
  g_free (x);
  g_free (y);
  g_unlink (copy);
  g_rmdir (dir);
  g_free (copy);
  g_free (dir);
}

/* A 48 kHz model (tests/data/identity-48k.ts: decode(encode(x)) == x) at a 44.1 kHz host:
 * resampled on the worker both ways (libsamplerate, linear phase), the delay in the latency
 * port. Runs `x` (RS_FRAMES) in blocks of `pattern` (0: random) and returns the output. */
#define RS_RATE 44100
#define RS_FRAMES (RS_RATE * 2)

static float *
run_resampled (const float *x, int pattern, int mode, int *latency)
{
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", resampled, TRUE);
  Host *host = new_host_mode (RS_RATE, full, mode);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture, TRUE);
  float *y = g_new0 (float, RS_FRAMES);
  GRand *rand = g_rand_new_with_seed (3);
  for (int t = 0; t < RS_FRAMES;) {
    int n = pattern > 0 ? pattern : g_rand_int_range (rand, 1, 3001);
    n = MIN (n, RS_FRAMES - t);
    host_run (host, x + t, y + t, (uint32_t) n);
    t += n;
  }
  g_rand_free (rand);
  *latency = (int) host_get_control (host, "latency");
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  g_test_message ("%s", host_log_text (host));
  host_free (host);
  g_assert_true (host_all_finite (y, RS_FRAMES));
  return y;
}

static void
test_resampled_impulses (void)
{
  /* Impulses at frames with different fractional positions on the 48 kHz grid: each peak
   * comes out exactly `latency` frames later (linear-phase filters both ways, aligned). */
  const int at[] = { 5000, 20001, 33333, 50007, 70010 };
  float *x = g_new0 (float, RS_FRAMES);
  for (guint i = 0; i < G_N_ELEMENTS (at); i++)
    x[at[i]] = 1.0f;
  for (int mode = 0; mode < 2; mode++) {
    const int patterns[] = { 64, 1, 0, 4096 };
    float *first = NULL;
    int latency = 0;
    for (guint k = 0; k < G_N_ELEMENTS (patterns); k++) {
      int lat;
      float *y = run_resampled (x, patterns[k], mode, &lat);
      if (!first) {
        first = y;
        latency = lat;
        continue;
      }
      g_assert_cmpint (lat, ==, latency);
      host_assert_same (y, first, RS_FRAMES, 0.0f, "resampled output across block patterns");
      g_free (y);
    }
    /* Safe: latency beyond the stream's own 2 B (B = ceil(2048 * 44100 / 48000) = 1882); low:
     * below it (B = ceil(256 * 44100 / 48000) = 236, + H (236) + M (8 ms: 353) + D). */
    if (mode)
      g_assert_cmpint (latency, >, 2 * 1882);
    else
      g_assert_cmpint (latency, <, 2 * 1882);
    g_test_message ("%s: latency %d", mode ? "safe" : "low", latency);
    for (guint i = 0; i < G_N_ELEMENTS (at); i++) {
      int want = at[i] + latency;
      int peak = host_peak_index (first, want - 400, want + 400);
      g_test_message ("impulse at %d: peak at %d (+%d, latency %d), %.4f", at[i], peak,
          peak - at[i], latency, first[peak]);
      g_assert_cmpint (peak, ==, want);
      g_assert_cmpfloat (first[peak], >, 0.8f);
      /* Band-limited: the ringing dies away; nothing far from the peak. */
      for (int t = want - 400; t < want + 400; t++)
        if (abs (t - want) > 200)
          g_assert_cmpfloat (fabsf (first[t]), <, 0.01f);
    }
    for (int t = 0; t < at[0] + latency - 400; t++)
      g_assert_cmpfloat (fabsf (first[t]), <, 1e-6f);
    g_free (first);
  }
  g_free (x);
}

static void
test_resampled_sine (void)
{
  /* 1 kHz at 44.1 kHz through the 48 kHz identity: the same sine, `latency` later. */
  float *x = g_new0 (float, RS_FRAMES);
  for (int t = 0; t < RS_FRAMES; t++)
    x[t] = 0.5f * sinf (2 * G_PI * 1000 * t / RS_RATE);
  int latency;
  float *y = run_resampled (x, 64, 0, &latency);
  const int from = latency + 2000, n = RS_FRAMES - from;
  double hz = host_dominant_hz (y + from, 8192, RS_RATE, 900, 1100, 1);
  double ratio = host_rms (y + from, n) / host_rms (x + from - latency, n);
  double err = 0;
  for (int t = from; t < RS_FRAMES; t++)
    err = MAX (err, fabs (y[t] - x[t - latency]));
  g_test_message ("resampled sine: %.0f Hz, rms ratio %.5f, max error %.2g (latency %d)", hz,
      ratio, err, latency);
  g_assert_cmpfloat (hz, ==, 1000);
  g_assert_cmpfloat (fabs (ratio - 1), <, 0.001);
  g_assert_cmpfloat (err, <, 1e-3);
  g_free (x);
  g_free (y);
}

static void
test_no_features (void)
{
  /* lv2apply instantiates with no features at all and runs one frame at a time. */
  HostFeatures none = { 0 };
  Host *host = new_host (RATE, none);
  float *x = make_signal ();
  float *y = run_pattern (host, x, 1, 1);
  float *ref = reference (x, (int) host_get_control (host, "latency"), 0);
  host_assert_same (y, ref, N_FRAMES, 1e-6f, "no host features");
  host_free (host);
  g_free (x);
  g_free (y);
  g_free (ref);
}

static void
test_max_block_option (void)
{
  /* A host announcing 4096-frame blocks gets a latency that covers them: safe B + max(B, H),
   * low B + H + M (M fixed here: 8 ms = 64 frames). */
  for (int mode = 0; mode < 2; mode++) {
    HostFeatures f = full;
    f.max_block = 4096;
    Host *host = new_host_mode (RATE, f, mode);
    float *x = make_signal ();
    float *y = run_pattern (host, x, 4096, 1);
    int latency = (int) host_get_control (host, "latency");
    g_assert_cmpint (latency, ==, mode ? 2048 + 4096 : 256 + 4096 + 64);
    float *ref = reference (x, latency, 0);
    host_assert_same (y, ref, N_FRAMES, 1e-6f, "max block 4096");
    host_free (host);
    g_free (x);
    g_free (y);
    g_free (ref);
  }
}

static void
test_realtime_paced (void)
{
  /* A real-time host: 64-frame cycles paced by the clock. The audio thread never waits, and
   * the worker keeps up, so there are no underruns and the output is the same. */
  const int n = RATE * 2, block = 64;
  float *x = make_signal ();
  Host *host = new_host (RATE, full);
  float *y = g_new0 (float, N_FRAMES);
  gint64 start = g_get_monotonic_time ();
  for (int t = 0; t < n; t += block) {
    host_pace (start, t, RATE);
    host_run (host, x + t, y + t, block);
  }
  int latency = (int) host_get_control (host, "latency");
  float *ref = reference (x, latency, 0);
  g_test_message ("paced run: %g underrun frames", host_get_control (host, "underruns"));
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_assert_same (y, ref, n, 1e-6f, "real-time paced");
  host_free (host);
  g_free (x);
  g_free (y);
  g_free (ref);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fixture = LATENT_TEST_DATA "/stateful-codec.ts";
  bad_file = LATENT_TEST_DATA "/not-torchscript.ts";
  resampled = LATENT_TEST_DATA "/identity-48k.ts";
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture, TRUE);
  /* Low latency's compute margin fixed (8 ms = 64 frames at 8 kHz) rather than measured, so
   * every host here gets the same latency, whatever the machine's load
   * (core/latent-rt.h; test-lv2-rt-safety and bench-lv2 use measured margins). */
  g_setenv ("LATENT_RT_MARGIN_US", "8000", TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  g_test_add_func ("/rave/patterns", test_patterns);
  g_test_add_func ("/rave/impulse-latency", test_impulse_latency);
  g_test_add_func ("/rave/latency-mode-switch", test_latency_mode_switch);
  g_test_add_func ("/rave/bypass-bias-wet", test_bypass_and_bias);
  g_test_add_func ("/rave/patch-set/worker", test_patch_set_worker);
  g_test_add_func ("/rave/patch-set/own-thread", test_patch_set_own_thread);
  g_test_add_func ("/rave/state", test_state);
  g_test_add_data_func ("/rave/state-threadsafe", NULL, test_state_threadsafe);
  g_test_add_data_func ("/rave/state-threadsafe-refused", "refused", test_state_threadsafe);
  g_test_add_func ("/rave/resampled/impulses", test_resampled_impulses);
  g_test_add_func ("/rave/resampled/sine", test_resampled_sine);
  g_test_add_func ("/rave/no-features", test_no_features);
  g_test_add_func ("/rave/max-block-option", test_max_block_option);
  g_test_add_func ("/rave/realtime-paced", test_realtime_paced);
  g_test_add_func ("/rave/non-finite-input-and-controls", test_non_finite_input_and_controls);
  g_test_add_func ("/rave/poisoned-state-recovers", test_poisoned_state_recovers);
  int status = g_test_run ();
  /* After every stream above: none optimised a graph after its warm-up. */
  if (!latent_test_no_streaming_compilations (argv[0]))
    status = 1;
  return status;
}
