/* core/resample.c and the resampling of core/rt-stream.c, without a model (suite 'unit'):
 * the converter's alignment and lag bound, held channels, and a LatentRtStream whose
 * processor is the identity at 48 kHz behind a 44.1 kHz host: every impulse comes out
 * exactly latent_rt_stream_get_latency() frames later, for any host block pattern. */
#include "latent.h"

#include <math.h>
#include <string.h>

static int
peak (const float *x, int from, int to)
{
  int best = from;
  for (int t = from; t < to; t++)
    if (fabsf (x[t]) > fabsf (x[best]))
      best = t;
  return best;
}

/* Feeds n frames of x (1 channel) in pieces from `rand` (NULL: 1 frame at a time); checks
 * the lag bound after every piece; returns the output and its length. */
static float *
convert (LatentResampler *rs, const float *x, int n, int max_in, GRand *rand, int *n_out)
{
  double ratio = latent_resampler_get_ratio (rs);
  float *y = g_new0 (float, (gsize) (n * ratio) + 4096);
  int made = 0;
  for (int t = 0; t < n;) {
    int k = rand ? g_rand_int_range (rand, 1, max_in + 1) : 1;
    k = MIN (k, n - t);
    made += latent_resampler_process (rs, x + t, k, y + made);
    t += k;
    g_assert_cmpint (made, >=, (int) ceil (t * ratio - 1e-9) - latent_resampler_get_lag (rs));
    g_assert_cmpint (made, <=, (int) ceil (t * ratio) + 2);
  }
  *n_out = made;
  return y;
}

static void
test_alignment (void)
{
  const double rates[][2] = { { 44100, 48000 }, { 48000, 44100 }, { 16000, 44100 },
    { 96000, 44100 } };
  for (guint r = 0; r < G_N_ELEMENTS (rates); r++) {
    double in_rate = rates[r][0], out_rate = rates[r][1];
    const int n = 20000;
    float *x = g_new0 (float, n);
    x[3000] = 1.0f;
    GRand *rand = g_rand_new_with_seed (r + 1);
    LatentResampler *rs = latent_resampler_new (in_rate, out_rate, 1, 0, 4000, NULL);
    g_assert_nonnull (rs);
    int n1, n2;
    float *y1 = convert (rs, x, n, 4000, rand, &n1);
    latent_resampler_reset (rs);
    float *y2 = convert (rs, x, n, 4000, NULL, &n2);
    /* Deterministic however the input is cut. */
    int m = MIN (n1, n2);
    for (int j = 0; j < m; j++)
      g_assert_cmpfloat (y1[j], ==, y2[j]);
    /* Aligned: the impulse lands at 3000 * out / in, rounded to the nearest frame. */
    double want = 3000 * out_rate / in_rate;
    int p = peak (y1, 0, n1);
    g_test_message ("%.0f -> %.0f Hz: lag %d, impulse at %.2f -> peak %d (%.3f)", in_rate,
        out_rate, latent_resampler_get_lag (rs), want, p, y1[p]);
    g_assert_cmpint (p, ==, (int) lround (want));
    latent_resampler_free (rs);
    g_rand_free (rand);
    g_free (x);
    g_free (y1);
    g_free (y2);
  }
}

static void
test_hold (void)
{
  /* Channel 0 audio, channel 1 held: a step stays a step (only input values), aligned with
   * the audio channel to within 2 input frames. */
  const int n = 8000;
  float *x = g_new0 (float, 2 * n);
  for (int t = 0; t < n; t++)
    x[2 * t + 1] = t >= 4000 ? 60.0f : 0.0f;
  x[2 * 4000] = 1.0f;
  LatentResampler *rs = latent_resampler_new (44100, 48000, 2, 0x2, 512, NULL);
  float *y = g_new0 (float, 2 * (n * 2));
  int made = 0;
  for (int t = 0; t < n; t += 500)
    made += latent_resampler_process (rs, x + 2 * t, MIN (500, n - t), y + 2 * made);
  int step = -1, p = 0;
  for (int j = 0; j < made; j++) {
    g_assert_true (y[2 * j + 1] == 0.0f || y[2 * j + 1] == 60.0f);
    if (step < 0 && y[2 * j + 1] == 60.0f)
      step = j;
    if (fabsf (y[2 * j]) > fabsf (y[2 * p]))
      p = j;
  }
  g_test_message ("held step at %d, audio impulse at %d", step, p);
  g_assert_cmpint (abs (step - p), <=, 3);
  latent_resampler_free (rs);
  g_free (x);
  g_free (y);
}

static gboolean
identity (gpointer data, const float *in, float *out, int block, GError **error)
{
  memcpy (out, in, sizeof (float) * block);
  (*(int *) data)++;
  return TRUE;
}

static void
test_rt_stream (void)
{
  const int n = 44100 * 3;
  float *x = g_new0 (float, n), *first = NULL;
  const int at[] = { 9000, 30001, 77777, 100003 };
  for (guint i = 0; i < G_N_ELEMENTS (at); i++)
    x[at[i]] = 1.0f;
  const int patterns[] = { 64, 1, 0, 4096, 333 };
  int latency = 0;
  for (guint k = 0; k < G_N_ELEMENTS (patterns); k++) {
    int calls = 0;
    LatentRtProcessor proc = { .block = 2048, .in_channels = 1, .out_channels = 1,
      .process = identity, .user_data = &calls };
    LatentRtConfig config = { .rate = 44100, .model_rate = 48000, .threads = 1,
      .max_host_block = patterns[k] == 4096 ? 4096 : 0 };
    LatentRtStream *rt = latent_rt_stream_new_custom (&proc, &config, NULL);
    g_assert_nonnull (rt);
    g_assert_cmpint (latent_rt_stream_get_block (rt), ==, 1882);
    g_assert_cmpint (latent_rt_stream_get_model_block (rt), ==, 2048);
    float *y = g_new0 (float, n), *dry = g_new0 (float, n);
    GRand *rand = g_rand_new_with_seed (k);
    for (int t = 0; t < n;) {
      int m = patterns[k] ? patterns[k] : g_rand_int_range (rand, 1, 3000);
      m = MIN (m, n - t);
      latent_rt_stream_process (rt, x + t, y + t, dry + t, (uint32_t) m, LATENT_RT_WAIT_ALWAYS);
      t += m;
    }
    int lat = latent_rt_stream_get_latency (rt);
    g_test_message ("pattern %d: latency %d (D %d), %d model blocks", patterns[k], lat,
        latent_rt_stream_get_resample_delay (rt), calls);
    g_assert_cmpuint (latent_rt_stream_get_underruns (rt), ==, 0);
    g_assert_cmpuint (latent_rt_stream_get_resample_shortfalls (rt), ==, 0);
    for (int t = lat; t < n; t++)
      g_assert_cmpfloat (dry[t], ==, x[t - lat]);
    for (guint i = 0; i < G_N_ELEMENTS (at); i++) {
      int p = peak (y, at[i] + lat - 300, MIN (n, at[i] + lat + 300));
      g_assert_cmpint (p, ==, at[i] + lat);
      g_assert_cmpfloat (y[p], >, 0.8f);
    }
    if (patterns[k] != 4096) {
      if (!first) {
        first = y;
        latency = lat;
        y = NULL;
      } else {
        g_assert_cmpint (lat, ==, latency);
        for (int t = 0; t < n; t++)
          g_assert_cmpfloat (y[t], ==, first[t]);
      }
    }
    /* After a reset (the plugins' re-activation) the same input gives the same output. */
    if (patterns[k] == 64) {
      GError *error = NULL;
      g_assert_true (latent_rt_stream_reset (rt, &error));
      float *again = g_new0 (float, n);
      for (int t = 0; t < n; t += 64)
        latent_rt_stream_process (rt, x + t, again + t, NULL, (uint32_t) MIN (64, n - t),
            LATENT_RT_WAIT_ALWAYS);
      for (int t = 0; t < n; t++)
        g_assert_cmpfloat (again[t], ==, (y ? y : first)[t]);
      g_assert_cmpuint (latent_rt_stream_get_resample_shortfalls (rt), ==, 0);
      g_free (again);
    }
    latent_rt_stream_free (rt);
    g_rand_free (rand);
    g_free (y);
    g_free (dry);
  }
  g_free (first);
  g_free (x);
}

/* Low latency (issue 14): block choice, margin formula, and L = B + H + M (+ D) exactly, with
 * the margin measured (no LATENT_RT_MARGIN_US here): an impulse comes out exactly the
 * reported latency later, resampled or not. */
static void
test_rt_low_latency (void)
{
  g_assert_cmpint (latent_rt_block_count (1024, LATENT_RT_LATENCY_LOW), ==, 1);
  g_assert_cmpint (latent_rt_block_count (1024, LATENT_RT_LATENCY_SAFE), ==, 2);
  g_assert_cmpint (latent_rt_block_count (2048, LATENT_RT_LATENCY_SAFE), ==, 1);
  g_assert_cmpint (latent_rt_block_count (4, LATENT_RT_LATENCY_LOW), ==, 64);
  g_assert_cmpint (latent_rt_block_count (4, LATENT_RT_LATENCY_SAFE), ==, 512);
  /* 1 ms step: 2 * 1 ms + 3 ms = 221 frames at 44.1 kHz, rounded up to 256. */
  g_assert_cmpint (latent_rt_margin_frames (1000, 44100), ==, 256);
  const int n = 44100 * 2;
  float *x = g_new0 (float, n);
  const int at[] = { 5000, 20001, 60007 };
  for (guint i = 0; i < G_N_ELEMENTS (at); i++)
    x[at[i]] = 1.0f;
  for (int resampled = 0; resampled < 2; resampled++) {
    int calls = 0;
    LatentRtProcessor proc = { .block = 1024, .in_channels = 1, .out_channels = 1,
      .process = identity, .user_data = &calls };
    LatentRtConfig config = { .rate = 44100, .model_rate = resampled ? 48000 : 0, .threads = 1,
      .max_host_block = 64, .latency = LATENT_RT_LATENCY_LOW };
    LatentRtStream *rt = latent_rt_stream_new_custom (&proc, &config, NULL);
    g_assert_nonnull (rt);
    g_assert_cmpint (latent_rt_stream_get_latency_mode (rt), ==, LATENT_RT_LATENCY_LOW);
    int B = latent_rt_stream_get_block (rt), M = latent_rt_stream_get_margin (rt);
    int D = latent_rt_stream_get_resample_delay (rt);
    g_assert_cmpint (M % LATENT_RT_MARGIN_STEP, ==, 0);
    g_assert_cmpint (M, >=, 44100 * LATENT_RT_MARGIN_FLOOR_US / 1000000);
    g_assert_cmpint (latent_rt_stream_get_latency (rt), ==, B + 64 + M + D);
    float *y = g_new0 (float, n);
    for (int t = 0; t < n; t += 64)
      latent_rt_stream_process (rt, x + t, y + t, NULL, (uint32_t) MIN (64, n - t),
          LATENT_RT_WAIT_ALWAYS);
    int lat = latent_rt_stream_get_latency (rt);
    g_test_message ("%s: B %d + H 64 + M %d (slowest step %.0f us) + D %d = %d",
        resampled ? "48 kHz model" : "same rate", B, M,
        latent_rt_stream_get_measured_step_us (rt), D, lat);
    for (guint i = 0; i < G_N_ELEMENTS (at); i++) {
      int p = peak (y, at[i] + lat - 300, MIN (n, at[i] + lat + 300));
      g_assert_cmpint (p, ==, at[i] + lat);
      g_assert_cmpfloat (y[p], >, 0.8f);
    }
    if (!resampled)
      for (int t = 0; t < n; t++)
        g_assert_cmpfloat (y[t], ==, t >= lat ? x[t - lat] : 0.0f);
    latent_rt_stream_free (rt);
    g_free (y);
  }
  g_free (x);
}

/* GStreamer chains of latent elements (raveencode ! ravedecode): block waits with whole
 * pushes upstream, and each element's share of the chain's compute margin. */
static void
test_rt_chain_latency (void)
{
  g_assert_cmpint (latent_rt_block_wait_frames (4, 1), ==, 3);
  g_assert_cmpint (latent_rt_block_wait_frames (4, 4), ==, 0);
  g_assert_cmpint (latent_rt_block_wait_frames (4, 3), ==, 3);
  g_assert_cmpint (latent_rt_block_wait_frames (2, 4), ==, 0);
  /* Alone: block - 1 frames and the margin measured at load. */
  LatentRtChainTiming chain = { 0 };
  LatentRtChainStep encoder = {
    .block_frames = 2048, .in_ratio = 1, .pushes_blocks = TRUE, .mode = LATENT_RT_LATENCY_LOW,
    .step_us = 1000, .load_margin = 300,
  };
  g_assert_cmpint (latent_rt_chain_latency (&encoder, 44100, &chain), ==, 2047 + 300);
  g_assert_cmpint (chain.push_samples, ==, 2048);
  g_assert_cmpint (chain.margin, ==, 300);
  /* Downstream, fed whole blocks: no wait, only the margin the sum needs beyond upstream's. */
  LatentRtChainStep decoder = {
    .block_frames = 1, .in_ratio = 2048, .sink_is_latent = TRUE, .mode = LATENT_RT_LATENCY_LOW,
    .step_us = 1000, .load_margin = 999,
  };
  const int added = MAX (0, latent_rt_margin_frames (2000, 44100) - 300);
  g_assert_cmpint (latent_rt_chain_latency (&decoder, 44100, &chain), ==, added);
  g_assert_cmpint (chain.margin, ==, 300 + added);
  g_assert_cmpfloat (chain.compute_us, ==, 2000);
  g_assert_cmpint (chain.push_samples, ==, 0);
  /* Safe: one whole block, nothing else. */
  decoder.mode = LATENT_RT_LATENCY_SAFE;
  g_assert_cmpint (latent_rt_chain_latency (&decoder, 44100, &chain), ==, 2048);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/resample/alignment", test_alignment);
  g_test_add_func ("/resample/hold", test_hold);
  g_test_add_func ("/resample/rt-stream", test_rt_stream);
  g_test_add_func ("/resample/rt-low-latency", test_rt_low_latency);
  g_test_add_func ("/resample/rt-chain-latency", test_rt_chain_latency);
  return g_test_run ();
}
