/* urn:latent:terrain in a lilv host (suite 'host'): output against a reference computed with
 * the core API, identical for block patterns 1 / 64 / 1000 / random with automation, latency
 * port = measured delay of a step in x, patch:Set of terrains and decoders (good, corrupt,
 * wrong latent dims: the previous pair keeps playing), state round trip (also restored while running, with the host worker taking or refusing the load), no host features, a
 * 48 kHz decoder at a 44.1 kHz host (resampled: the output's onset at the latency), and the shipped pair (rave-gm.ts + terrain-gm.pt): x changes the
 * pitch, y the loudness, measured on the output.
 *
 * Fixture decoder: tests/data/stateful-codec.ts (8000 Hz, decode takes 2 latents at ratio 4
 * and repeats latent 0), so the plugin's output is exactly latent 0 of the terrain at the
 * smoothed coordinate of each 4-sample frame's centre (the core rule every terrain caller
 * shares: the centre, interpolated linearly; the plugin took the frame's mean before).
 * Fixture terrains (2 -> 2, small) are made here
 * with the core API. */
#include "host-checks.h"
#include "compile-check.h"
#include "latent.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#define RATE 8000
#define RATIO 4
#define N_FRAMES (RATE * 3)
#define TERRAIN_URI "urn:latent:terrain#terrain"
#define MODEL_URI "urn:latent:terrain#model"

static const char *fixture_model;
static char *tmp_dir, *terrain_a, *terrain_b, *terrain_3dims, *terrain_corrupt, *decoder_copy;
static HostFeatures full = { .worker = true, .log = true, .map = true };

/* ------------------------------------------------------------- fixtures */

static char *
make_terrain (const char *name, int latent_dims, guint64 seed)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = latent_dims;
  config.channels = 16;
  config.features = 16;
  config.gauss_scale = 0.2f;
  LatentTerrain *t = latent_terrain_new (&config, seed, NULL);
  char *path = g_build_filename (tmp_dir, name, NULL);
  g_assert_true (latent_terrain_save (t, path, NULL));
  latent_terrain_free (t);
  return path;
}

/* Automation: x and y take new values at given frames (the host splits its cycles there). */
typedef struct {
  int frame;
  float x, y;
} Point;

static const Point automation[] = {
  { 0, 1.5f, -0.5f }, { 6000, 5.0f, -0.5f }, { 12000, 5.0f, 2.0f }, { 15001, -7.0f, 2.0f },
};

static float
smooth_coefficient (double rate)
{
  return (float) (1.0 - exp (-1.0 / (0.01 * rate)));
}

/* What the plugin must output with the fixture decoder: latent 0 of `terrain_path` at each
 * frame's smoothed coordinate at its centre, delayed by `latency`. */
static float *
reference (const char *terrain_path, const Point *points, int n_points, int latency)
{
  LatentTerrain *t = latent_terrain_load (terrain_path, NULL);
  g_assert_nonnull (t);
  LatentTerrainWorkspace *ws = latent_terrain_workspace_new (latent_terrain_get_config (t));
  float *coords = g_new (float, 2 * N_FRAMES);
  const float a = smooth_coefficient (RATE);
  float sx = points[0].x, sy = points[0].y;
  int p = 0;
  for (int i = 0; i < N_FRAMES; i++) {
    while (p + 1 < n_points && points[p + 1].frame <= i)
      p++;
    sx += a * (points[p].x - sx);
    sy += a * (points[p].y - sy);
    coords[2 * i] = sx;
    coords[2 * i + 1] = sy;
  }
  float *y = g_new0 (float, N_FRAMES);
  for (int f = 0; (f + 1) * RATIO + latency <= N_FRAMES; f++) {
    /* Frame f covers samples [f*R, (f+1)*R): its centre lies at (f + 1/2) * R, between
     * samples `at` and at + 1 (with R = 4 exactly on sample 4f + 2). */
    const double centre = (f + 0.5) * RATIO;
    const int at = (int) floor (centre);
    const float w = (float) (centre - at);
    const float *c0 = coords + 2 * at, *c1 = coords + 2 * MIN (at + 1, N_FRAMES - 1);
    float xy[2] = { c0[0] + w * (c1[0] - c0[0]), c0[1] + w * (c1[1] - c0[1]) }, z[8];
    g_assert_true (latent_terrain_forward (t, xy, z, ws));
    for (int i = 0; i < RATIO; i++)
      y[latency + f * RATIO + i] = z[0];
  }
  g_free (coords);
  latent_terrain_workspace_free (ws);
  latent_terrain_free (t);
  return y;
}

/* Latent 0 of a terrain at one point. */
static float
terrain_value (const char *terrain_path, float x, float y)
{
  LatentTerrain *t = latent_terrain_load (terrain_path, NULL);
  float xy[2] = { x, y }, z[8];
  latent_terrain_forward_batch (t, xy, 1, z);
  latent_terrain_free (t);
  return z[0];
}

/* Runs the automation through `host` in blocks of `pattern` (0: random 1..3000), cutting
 * blocks at automation points. */
static float *
run_pattern (Host *host, const Point *points, int n_points, int pattern, guint32 seed)
{
  float *y = g_new0 (float, N_FRAMES);
  float zeros[8192] = { 0 };
  GRand *rand = g_rand_new_with_seed (seed);
  int t = 0, p = 0;
  while (t < N_FRAMES) {
    while (p < n_points && points[p].frame <= t) {
      host_set_control (host, "x", points[p].x);
      host_set_control (host, "y", points[p].y);
      p++;
    }
    int n = pattern > 0 ? pattern : g_rand_int_range (rand, 1, 3001);
    n = MIN (n, N_FRAMES - t);
    if (p < n_points)
      n = MIN (n, points[p].frame - t);
    host_run (host, zeros, y + t, (uint32_t) n);
    t += n;
  }
  g_rand_free (rand);
  return y;
}

static Host *
new_host (double rate, HostFeatures features)
{
  Host *host = host_new ("urn:latent:terrain", rate, features);
  g_assert_nonnull (host);
  return host;
}

/* ---------------------------------------------------------------- tests */

static void
test_patterns (void)
{
  const int patterns[] = { 1, 64, 1000, 0, 0 };
  float *first = NULL;
  int latency = 0;
  for (guint i = 0; i < G_N_ELEMENTS (patterns); i++) {
    Host *host = new_host (RATE, full);
    host_set_control (host, "x", automation[0].x);
    host_set_control (host, "y", automation[0].y);
    host_activate (host);
    float *y = run_pattern (host, automation, G_N_ELEMENTS (automation), patterns[i], 10 + i);
    int lat = (int) host_get_control (host, "latency");
    g_assert_cmpint (lat, >, 0);
    g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
    if (!first) {
      first = y;
      latency = lat;
      float *ref = reference (terrain_a, automation, G_N_ELEMENTS (automation), latency);
      host_assert_same (y, ref, N_FRAMES, 1e-5f, "output against the core terrain");
      /* The automation is heard: x and y moves change the output. */
      g_assert_cmpfloat (fabsf (ref[N_FRAMES - 1] - ref[latency + 100]), >, 1e-3);
      g_free (ref);
    } else {
      g_assert_cmpint (lat, ==, latency);
      host_assert_same (y, first, N_FRAMES, 0.0f, "output across block patterns");
      g_free (y);
    }
    host_free (host);
  }
  g_test_message ("latency %d frames; identical for blocks 1, 64, 1000 and random", latency);
  g_free (first);
}

static void
test_step_latency (void)
{
  /* A step in x on a frame boundary: the output is constant until exactly `latency` frames
   * after the step, then changes. */
  const int step = 8000;
  const Point points[] = { { 0, -3.0f, 1.0f }, { step, 9.0f, 1.0f } };
  Host *host = new_host (RATE, full);
  host_set_control (host, "x", points[0].x);
  host_set_control (host, "y", points[0].y);
  host_activate (host);
  float *y = run_pattern (host, points, 2, 64, 1);
  int latency = (int) host_get_control (host, "latency");
  int changed = -1;
  for (int t = latency + 1; t < N_FRAMES && changed < 0; t++)
    if (fabsf (y[t] - y[latency]) > 1e-6f)
      changed = t;
  g_test_message ("step at %d, output changes at %d, latency port %d", step, changed, latency);
  g_assert_cmpint (changed - step, ==, latency);
  host_free (host);
  g_free (y);
}

/* Runs silence at a constant x, y until `property` is notified as `path`. */
static gboolean
wait_for (Host *host, const char *property, const char *path, gboolean own_thread)
{
  float zeros[256] = { 0 }, out[256];
  for (int i = 0; i < 3000; i++) {
    host_run (host, zeros, out, 256);
    const char *now = host_notified_path_for (host, property);
    if (now && !strcmp (now, path))
      return TRUE;
    if (own_thread)
      g_usleep (1000);
  }
  return FALSE;
}

/* Runs `n` frames; the last 1000 must all equal `value`. */
static void
assert_plays (Host *host, int n, float value, const char *what)
{
  float *y = g_new0 (float, n), zeros[1000] = { 0 };
  for (int t = 0; t < n; t += 1000)
    host_run (host, zeros, y + t, (uint32_t) MIN (1000, n - t));
  for (int t = n - 1000; t < n; t++)
    if (!(fabsf (y[t] - value) <= 1e-5f))
      g_error ("%s: frame %d: %.9g, expected %.9g", what, t, y[t], value);
  g_free (y);
}

static void
check_patch_set (HostFeatures features)
{
  gboolean own = !features.worker;
  const float x = 2.5f, yv = -1.0f;
  Host *host = new_host (RATE, features);
  host_set_control (host, "x", x);
  host_set_control (host, "y", yv);
  host_activate (host);
  host_patch_get (host, TERRAIN_URI);
  assert_plays (host, 12000, terrain_value (terrain_a, x, yv), "default terrain");
  g_assert_cmpstr (host_notified_path_for (host, TERRAIN_URI), ==, terrain_a);
  g_assert_cmpstr (host_notified_path_for (host, MODEL_URI), ==, fixture_model);
  float latency = host_get_control (host, "latency");

  /* A good terrain takes over. */
  host_patch_set_path (host, TERRAIN_URI, terrain_b);
  g_assert_true (wait_for (host, TERRAIN_URI, terrain_b, own));
  assert_plays (host, 12000, terrain_value (terrain_b, x, yv), "second terrain");

  /* A corrupt terrain, a terrain with 3 latent dims for a 2-latent decoder, a decoder without
   * decode, a missing decoder: each logged, terrain_b keeps playing. */
  host_log_clear (host);
  const char *bad[][2] = {
    { TERRAIN_URI, terrain_corrupt }, { TERRAIN_URI, terrain_3dims },
    { MODEL_URI, LATENT_TEST_DATA "/wrong-shape.ts" }, { MODEL_URI, "/nonexistent/decoder.ts" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    host_patch_set_path (host, bad[i][0], bad[i][1]);
    for (int k = 0; k < 20; k++) {
      float zeros[256] = { 0 }, out[256];
      host_run (host, zeros, out, 256);
      if (own)
        g_usleep (5000);
    }
  }
  if (own)
    g_usleep (300000);
  assert_plays (host, 12000, terrain_value (terrain_b, x, yv), "after bad files");
  const char *log = host_log_text (host);
  g_test_message ("log:\n%s", log);
  if (features.log) {
    g_assert_true (strstr (log, "corrupt.pt") != NULL);
    g_assert_true (strstr (log, "gives 3 latent dims but the decoder") != NULL);
    g_assert_true (strstr (log, "wrong-shape.ts") != NULL);
    g_assert_true (strstr (log, "/nonexistent/decoder.ts") != NULL);
    g_assert_true (strstr (log, "keeping the previous pair") != NULL);
  }
  g_assert_cmpstr (host_notified_path_for (host, TERRAIN_URI), ==, terrain_b);
  g_assert_cmpstr (host_notified_path_for (host, MODEL_URI), ==, fixture_model);
  g_assert_cmpfloat (host_get_control (host, "latency"), ==, latency);

  /* A good decoder after those: it is tried first with the last terrain asked for (the
   * 3-dim one), then with the terrain playing, which works. */
  host_log_clear (host);
  host_patch_set_path (host, MODEL_URI, decoder_copy);
  g_assert_true (wait_for (host, MODEL_URI, decoder_copy, own));
  g_assert_true (strstr (host_log_text (host), "trying with the file playing now") != NULL);
  g_assert_cmpstr (host_notified_path_for (host, TERRAIN_URI), ==, terrain_b);
  assert_plays (host, 12000, terrain_value (terrain_b, x, yv), "new decoder");
  host_free (host);
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
  const char *keys[] = { TERRAIN_URI, MODEL_URI };
  char *decoder = host_copy_file (fixture_model, tmp_dir, "decoder.ts");
  const float x = -4.0f, yv = 3.0f;

  Host *host = new_host (RATE, full);
  host_set_control (host, "x", x);
  host_set_control (host, "y", yv);
  host_activate (host);
  char **saved = host_state_save_keys (host, tmp_dir, keys, 2);
  g_assert_null (saved[0]); /* the defaults: nothing saved */
  g_assert_null (saved[1]);
  g_strfreev (saved);
  host_patch_set_path (host, TERRAIN_URI, terrain_b);
  g_assert_true (wait_for (host, TERRAIN_URI, terrain_b, FALSE));
  host_patch_set_path (host, MODEL_URI, decoder);
  g_assert_true (wait_for (host, MODEL_URI, decoder, FALSE));
  saved = host_state_save_keys (host, tmp_dir, keys, 2);
  g_assert_cmpstr (saved[0], ==, "terrain-b.pt"); /* through state:mapPath */
  g_assert_cmpstr (saved[1], ==, "decoder.ts");
  host_free (host);

  /* A fresh instance restores both files and plays them. */
  host = new_host (RATE, full);
  host_set_control (host, "x", x);
  host_set_control (host, "y", yv);
  g_assert_cmpint (host_state_restore_keys (host, tmp_dir, keys,
      (const char *const *) saved, 2), ==, LV2_STATE_SUCCESS);
  host_activate (host);
  assert_plays (host, 12000, terrain_value (terrain_b, x, yv), "after restore");
  g_assert_cmpstr (host_notified_path_for (host, TERRAIN_URI), ==, terrain_b);
  g_assert_cmpstr (host_notified_path_for (host, MODEL_URI), ==, decoder);

  /* A state naming a missing terrain fails and keeps the pair. */
  host_log_clear (host);
  const char *missing[] = { "missing.pt", "decoder.ts" };
  g_assert_cmpint (host_state_restore_keys (host, tmp_dir, keys, missing, 2), !=,
      LV2_STATE_SUCCESS);
  g_assert_true (strstr (host_log_text (host), "missing.pt") != NULL);
  char **again = host_state_save_keys (host, tmp_dir, keys, 2);
  g_assert_cmpstr (again[0], ==, "terrain-b.pt");
  g_assert_cmpstr (again[1], ==, "decoder.ts");
  assert_plays (host, 4000, terrain_value (terrain_b, x, yv), "after a failed restore");
  host_free (host);
  g_strfreev (again);
  g_strfreev (saved);
  g_unlink (decoder);
  g_free (decoder);
}

static void
test_state_threadsafe (gconstpointer refused)
{
  /* A host restoring while the plugin runs passes its worker to restore()
   * (state:threadSafeRestore): a state holding only a terrain loads it beside the default
   * decoder as a job, not inside restore(), and the pair takes over mid-stream. When that
   * worker refuses the job (`refused`: jalv 1.6.8 before its worker exists), restore() loads
   * the pair itself and it takes over the same way. */
  const char *keys[] = { TERRAIN_URI, MODEL_URI };
  const float x = -4.0f, yv = 3.0f;
  Host *host = new_host (RATE, full);
  host_set_control (host, "x", x);
  host_set_control (host, "y", yv);
  host_activate (host);
  assert_plays (host, 4000, terrain_value (terrain_a, x, yv), "before restore");
  host_log_clear (host);
  g_assert_cmpint ((refused ? host_state_restore_refused : host_state_restore_threadsafe) (
      host, tmp_dir, TERRAIN_URI, "terrain-b.pt"), ==, LV2_STATE_SUCCESS);
  /* Loaded in restore() only when the worker refused. */
  g_assert_true (!strstr (host_log_text (host), "terrain-b.pt, decoder") == !refused);
  g_assert_true (wait_for (host, TERRAIN_URI, terrain_b, FALSE));
  g_assert_cmpstr (host_notified_path_for (host, MODEL_URI), ==, fixture_model);
  assert_plays (host, 12000, terrain_value (terrain_b, x, yv), "after a thread-safe restore");
  char **saved = host_state_save_keys (host, tmp_dir, keys, 2);
  g_assert_cmpstr (saved[0], ==, "terrain-b.pt");
  g_assert_null (saved[1]); /* the default decoder: not saved */
  g_strfreev (saved);
  host_free (host);
}

static void
test_no_features (void)
{
  /* As lv2apply: no features at all, one frame per run(): the default pair plays. */
  HostFeatures none = { 0 };
  Host *host = new_host (RATE, none);
  host_activate (host);
  float *y = run_pattern (host, automation, G_N_ELEMENTS (automation), 1, 1);
  float *ref = reference (terrain_a, automation, G_N_ELEMENTS (automation),
      (int) host_get_control (host, "latency"));
  host_assert_same (y, ref, N_FRAMES, 1e-5f, "no host features");
  host_free (host);
  g_free (y);
  g_free (ref);
}

/* The 48 kHz fixture decoder (tests/data/stateful-codec-48k.ts) at a 44.1 kHz host: the
 * worker resamples (x and y held, the audio filtered). With x and y constant from the start
 * the model's output is a step from 0 to c (latent 0 of the terrain there) at model time 0:
 * after resampling, silence until the latency, then c, crossing c / 2 at the latency. */
static float *
run_resampled (int pattern, int n, int *latency)
{
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", LATENT_TEST_DATA "/stateful-codec-48k.ts", TRUE);
  Host *host = new_host (44100, full);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture_model, TRUE);
  host_set_control (host, "x", 2.0f);
  host_set_control (host, "y", -1.0f);
  host_activate (host);
  float *y = g_new0 (float, n), zeros[4096] = { 0 };
  for (int t = 0; t < n;) {
    int m = MIN (pattern, n - t);
    host_run (host, zeros, y + t, (uint32_t) m);
    t += m;
  }
  *latency = (int) host_get_control (host, "latency");
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_free (host);
  g_assert_true (host_all_finite (y, n));
  return y;
}

static void
test_resampled (void)
{
  const int n = 44100;
  int latency, lat1;
  float *y = run_resampled (64, n, &latency);
  float *y1 = run_resampled (1, n, &lat1);
  g_assert_cmpint (lat1, ==, latency);
  host_assert_same (y1, y, n, 0.0f, "resampled terrain across block patterns");
  const float c = terrain_value (terrain_a, 2.0f, -1.0f);
  int half = -1;
  for (int t = 0; t < n && half < 0; t++)
    if (fabsf (y[t]) >= fabsf (c) / 2)
      half = t;
  g_test_message ("44.1 kHz host, 48 kHz decoder: latency %d, output reaches c/2 at %d "
      "(c = %.4f), y[latency + 500] = %.4f", latency, half, c, y[latency + 500]);
  g_assert_cmpfloat (fabsf (c), >, 0.01f);
  /* Half a model sample (0.46 host frames) of step position, 2 of held coordinates. */
  g_assert_cmpint (abs (half - latency), <=, 2);
  for (int t = 0; t < latency - 200; t++)
    g_assert_cmpfloat (fabsf (y[t]), <, 1e-4f);
  for (int t = latency + 300; t < n; t++)
    g_assert_cmpfloat (fabsf (y[t] - c), <, 1e-3f * MAX (1.0f, fabsf (c)));
  g_free (y);
  g_free (y1);
}

static void
test_realtime_paced (void)
{
  /* A real-time host: 64-frame cycles paced by the clock with x/y automation. The audio
   * thread never waits, the worker keeps up: no underruns, and the same output as offline. */
  const int block = 64, n = RATE * 2;
  Host *host = new_host (RATE, full);
  host_set_control (host, "x", automation[0].x);
  host_set_control (host, "y", automation[0].y);
  host_activate (host);
  float *y = g_new0 (float, N_FRAMES), zeros[64] = { 0 };
  const Point points[] = { { 0, automation[0].x, automation[0].y }, { 6400, 5.0f, -3.0f } };
  gint64 start = g_get_monotonic_time ();
  for (int t = 0; t < n; t += block) {
    host_pace (start, t, RATE);
    if (t == points[1].frame) {
      host_set_control (host, "x", points[1].x);
      host_set_control (host, "y", points[1].y);
    }
    host_run (host, zeros, y + t, block);
  }
  float *ref = reference (terrain_a, points, 2, (int) host_get_control (host, "latency"));
  g_test_message ("paced run: %g underrun frames", host_get_control (host, "underruns"));
  g_assert_cmpfloat (host_get_control (host, "underruns"), ==, 0);
  host_assert_same (y, ref, n, 1e-5f, "real-time paced");
  host_free (host);
  g_free (y);
  g_free (ref);
}

/* Fundamental frequency of x[0..n) by normalised autocorrelation: the first lag (min..1500 Hz)
 * whose correlation reaches 90 % of the best one (so an octave below is not preferred). */
static double
pitch_hz (const float *x, int n, double rate, double min_hz)
{
  int lo = (int) (rate / 1500), hi = (int) (rate / min_hz);
  double *r = g_new0 (double, hi + 1), best = 0;
  for (int lag = lo; lag <= hi; lag++) {
    double xy = 0, xx = 0, yy = 0;
    for (int t = 0; t + lag < n; t++) {
      xy += x[t] * x[t + lag];
      xx += x[t] * x[t];
      yy += x[t + lag] * x[t + lag];
    }
    r[lag] = xy / sqrt (xx * yy + 1e-20);
    best = MAX (best, r[lag]);
  }
  int found = hi;
  for (int lag = lo + 1; lag < hi; lag++)
    if (r[lag] >= 0.9 * best && r[lag] >= r[lag - 1] && r[lag] >= r[lag + 1]) {
      found = lag;
      break;
    }
  g_free (r);
  return rate / found;
}

/* Plays the shipped pair at (x, y): one second of output after the latency, from the plugin
 * with no file chosen (the defaults inside the bundle). */
static float *
play_shipped (Host *host, float x, float y, int n)
{
  host_set_control (host, "x", x);
  host_set_control (host, "y", y);
  float *out = g_new0 (float, n), zeros[1024] = { 0 };
  for (int t = 0; t < n; t += 1024)
    host_run (host, zeros, out + t, (uint32_t) MIN (1024, n - t));
  return out;
}

static void
test_shipped_pair (void)
{
  const int rate = 44100;
  char *terrain = g_build_filename (LATENT_LV2_PATH, "latent.lv2", "models", "terrain-gm.pt",
      NULL);
  char *model = g_build_filename (LATENT_LV2_PATH, "latent.lv2", "models", "rave-gm.ts",
      NULL);
  if (!g_file_test (terrain, G_FILE_TEST_EXISTS) || !g_file_test (model, G_FILE_TEST_EXISTS)) {
    g_test_skip ("the bundle has no shipped terrain-gm.pt / rave-gm.ts");
    g_free (terrain);
    g_free (model);
    return;
  }
  char *saved_model = g_strdup (g_getenv ("LATENT_LV2_DEFAULT_MODEL"));
  char *saved_terrain = g_strdup (g_getenv ("LATENT_LV2_DEFAULT_TERRAIN"));
  g_unsetenv ("LATENT_LV2_DEFAULT_MODEL");
  g_unsetenv ("LATENT_LV2_DEFAULT_TERRAIN");
  Host *host = new_host (rate, full);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", saved_model, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_TERRAIN", saved_terrain, TRUE);
  host_set_control (host, "freewheel", 1); /* an offline render: wait for inference */
  host_activate (host);
  host_patch_get (host, TERRAIN_URI);
  int latency = 0;
  /* x is pitch (8 units per octave from MIDI 64), y loudness. Each setting plays 1.5 s; the
   * last 0.5 s is measured. */
  const float xs[] = { -4.0f, 0.0f, 4.0f, 8.0f };
  double hz[G_N_ELEMENTS (xs)];
  const int n = rate * 3 / 2, tail = rate / 2;
  float *settle = play_shipped (host, xs[0], 2.0f, 1024);
  latency = (int) host_get_control (host, "latency");
  g_free (settle);
  for (guint i = 0; i < G_N_ELEMENTS (xs); i++) {
    float *y = play_shipped (host, xs[i], 2.0f, n);
    hz[i] = pitch_hz (y + n - tail, 4096, rate, 50);
    double expect = 440.0 * pow (2.0, (64 + 12 * xs[i] / 8.0 - 69) / 12.0);
    g_test_message ("x %+.0f: pitch %.1f Hz (MIDI %.2f, the terrain's training data says "
        "%.1f Hz), rms %.3f", xs[i], hz[i], 69 + 12 * log2 (hz[i] / 440), expect,
        host_rms (y + n - tail, tail));
    /* Within two semitones of the pitch the terrain was trained to give there, and rising. */
    g_assert_cmpfloat (fabs (12 * log2 (hz[i] / expect)), <, 2.0);
    if (i > 0)
      g_assert_cmpfloat (hz[i], >, hz[i - 1] * pow (2.0, 2.0 / 12));
    g_free (y);
  }
  g_assert_cmpstr (host_notified_path_for (host, TERRAIN_URI), ==, terrain);
  float *quiet = play_shipped (host, 2.0f, -3.0f, n);
  float *loud = play_shipped (host, 2.0f, 3.0f, n);
  double rms_quiet = host_rms (quiet + n - tail, tail);
  double rms_loud = host_rms (loud + n - tail, tail);
  g_test_message ("y -3: rms %.4f, y +3: rms %.4f", rms_quiet, rms_loud);
  g_assert_cmpfloat (rms_loud, >, 10 * rms_quiet);

  /* A step in x from low to high pitch: the pitch of 1024-sample windows (hop 128) rises
   * past the middle (geometric) of the two, not before the reported latency and within a
   * decoder block and a window after it. */
  float *low = play_shipped (host, -4.0f, 2.0f, n);
  float *high = play_shipped (host, 8.0f, 2.0f, n);
  const double middle = sqrt (hz[0] * hz[G_N_ELEMENTS (xs) - 1]);
  int onset = -1;
  for (int w = 0; w + 1024 <= n && onset < 0; w += 128)
    if (pitch_hz (high + w, 1024, rate, 100) > middle)
      onset = w + 1024;
  g_test_message ("step in x: the pitch rises at %d samples after the step (end of the first "
      "high window), latency port %d", onset, latency);
  g_assert_cmpint (onset, >=, latency);
  g_assert_cmpint (onset, <=, latency + 2048 + 1024);
  g_free (low);
  g_free (high);
  g_free (quiet);
  g_free (loud);
  host_free (host);
  g_free (saved_model);
  g_free (saved_terrain);
  g_free (terrain);
  g_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  fixture_model = LATENT_TEST_DATA "/stateful-codec.ts";
  /* Low latency's margin fixed (core/latent-rt.h): equal latencies across hosts. */
  g_setenv ("LATENT_RT_MARGIN_US", "8000", TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  tmp_dir = g_dir_make_tmp ("latent-terrain-XXXXXX", NULL);
  terrain_a = make_terrain ("terrain-a.pt", 2, 1);
  terrain_b = make_terrain ("terrain-b.pt", 2, 2);
  terrain_3dims = make_terrain ("terrain-3dims.pt", 3, 3);
  terrain_corrupt = g_build_filename (tmp_dir, "corrupt.pt", NULL);
  g_assert_true (g_file_set_contents (terrain_corrupt, "PK\003\004 not a zip", -1, NULL));
  decoder_copy = host_copy_file (fixture_model, tmp_dir, "decoder-copy.ts");
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture_model, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_TERRAIN", terrain_a, TRUE);

  g_test_add_func ("/terrain/patterns", test_patterns);
  g_test_add_func ("/terrain/step-latency", test_step_latency);
  g_test_add_func ("/terrain/patch-set/worker", test_patch_set_worker);
  g_test_add_func ("/terrain/patch-set/own-thread", test_patch_set_own_thread);
  g_test_add_func ("/terrain/state", test_state);
  g_test_add_data_func ("/terrain/state-threadsafe", NULL, test_state_threadsafe);
  g_test_add_data_func ("/terrain/state-threadsafe-refused", "refused", test_state_threadsafe);
  g_test_add_func ("/terrain/no-features", test_no_features);
  g_test_add_func ("/terrain/resampled", test_resampled);
  g_test_add_func ("/terrain/realtime-paced", test_realtime_paced);
  g_test_add_func ("/terrain/shipped-pair", test_shipped_pair);
  int status = g_test_run ();
  /* After every stream above: none optimised a graph after its warm-up. */
  if (!latent_test_no_streaming_compilations (argv[0]))
    status = 1;

  const char *files[] = { terrain_a, terrain_b, terrain_3dims, terrain_corrupt, decoder_copy };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    g_unlink (files[i]);
  g_rmdir (tmp_dir);
  return status;
}
