/* Benchmark (printed, not asserted): urn:latent:rave through lilv against the same processing
 * through the core API (LatentStream encode -> decode, no plugin layer).
 *   1. throughput: seconds to process the clip offline in 64-frame run() calls (the plugin
 *      waits for its worker: freewheel on) over the core API's seconds, as a ratio;
 *   2. real time: 64-frame run() calls paced by the clock; mean and worst run() time as a
 *      fraction of the block's duration, and underrun frames.
 * Model: argv[1], else $LATENT_BENCH_MODEL, else models/rave-gm.ts when present, else the
 * test fixture. The host runs at the model's rate. */
#include "host-checks.h"
#include "latent.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BLOCK 64

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static float *
make_clip (int n, int rate)
{
  float *x = g_new (float, n);
  for (int t = 0; t < n; t++)
    x[t] = 0.3f * sinf (2 * G_PI * 220 * t / rate) + 0.2f * sinf (2 * G_PI * 331 * t / rate);
  return x;
}

static double
core_seconds (const char *path, const float *x, int n, int *block_out)
{
  GError *error = NULL;
  LatentModel *model = latent_model_open (path, 1, &error);
  g_assert_no_error (error);
  LatentStream *enc = latent_stream_new (model, "encode", 0, &error);
  g_assert_no_error (error);
  int block = latent_stream_get_block (enc);
  const LatentMethodInfo *ei = latent_stream_get_info (enc);
  int zblock = block * ei->in_ratio / ei->out_ratio;
  LatentStream *dec = latent_stream_new (model, "decode", zblock, &error);
  g_assert_no_error (error);
  latent_model_warm_up (model, "encode", block, NULL);
  latent_model_warm_up (model, "decode", zblock, NULL);
  float *z = g_new (float, (gsize) zblock * ei->out_channels * 2);
  float *y = g_new (float, block * 2);
  double start = now_s ();
  for (int t = 0; t < n; t += BLOCK) {
    int m = MIN (BLOCK, n - t);
    size_t nz = latent_stream_output_frames (enc, m);
    latent_stream_process (enc, x + t, m, z, NULL, &error);
    if (nz)
      latent_stream_process (dec, z, nz, y, NULL, &error);
    g_assert_no_error (error);
  }
  double seconds = now_s () - start;
  *block_out = block;
  latent_stream_free (enc);
  latent_stream_free (dec);
  latent_model_free (model);
  g_free (z);
  g_free (y);
  return seconds;
}

int
main (int argc, char **argv)
{
  const char *path = argc > 1 ? argv[1] : g_getenv ("LATENT_BENCH_MODEL");
  if (!path)
    path = g_file_test (LATENT_SOURCE_ROOT "/models/rave-gm.ts", G_FILE_TEST_EXISTS)
        ? LATENT_SOURCE_ROOT "/models/rave-gm.ts" : LATENT_TEST_DATA "/stateful-codec.ts";
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", path, TRUE);

  GError *error = NULL;
  LatentModel *probe = latent_model_open (path, 1, &error);
  if (!probe) {
    printf ("bench-lv2-rave: %s\n", error->message);
    return 1;
  }
  int rate = latent_model_get_sample_rate (probe);
  latent_model_free (probe);
  if (rate <= 0)
    rate = 44100;

  const int n = rate * 6;
  float *x = make_clip (n, rate);
  float *y = g_new0 (float, n);
  int block = 0;
  double core = core_seconds (path, x, n, &block);

  HostFeatures features = { .worker = true, .log = true, .map = true };
  Host *host = host_new ("urn:latent:rave", rate, features);
  host_set_control (host, "freewheel", 1);
  host_activate (host);
  double start = now_s ();
  for (int t = 0; t < n; t += BLOCK)
    host_run (host, x + t, y + t, MIN (BLOCK, n - t));
  double plugin = now_s () - start;
  int latency = (int) host_get_control (host, "latency");
  host_free (host);

  printf ("model %s: %d Hz, block %d, plugin latency %d frames (%.1f ms)\n", path, rate, block,
      latency, 1e3 * latency / rate);
  printf ("throughput, %.1f s of audio in %d-frame run() calls: core API %.3f s, plugin %.3f s,"
      " ratio %.3f (real-time factor core %.3f, plugin %.3f)\n", (double) n / rate, BLOCK, core,
      plugin, plugin / core, core * rate / n, plugin * rate / n);

  /* Real time: paced 64-frame cycles, the audio thread never waits. */
  const int paced = rate * 4;
  host = host_new ("urn:latent:rave", rate, features);
  host_activate (host);
  double worst = 0, sum = 0, worst_cpu = 0, worst_cpu_of_worst = 0;
  int calls = 0;
  gint64 t0 = g_get_monotonic_time ();
  for (int t = 0; t < paced; t += BLOCK) {
    host_pace (t0, t, rate);
    double a = now_s (), c = cpu_s ();
    host_run (host, x + t, y + t, BLOCK);
    double d = now_s () - a, dc = cpu_s () - c;
    if (t >= rate) { /* after the first second */
      if (d > worst)
        worst_cpu_of_worst = dc;
      worst = MAX (worst, d);
      worst_cpu = MAX (worst_cpu, dc);
      sum += d;
      calls++;
    }
  }
  double block_s = (double) BLOCK / rate;
  printf ("real time, %d-frame cycles for %d s: run() mean %.2f us (%.4f of the block), "
      "worst %.2f us (%.4f of the %.2f ms block); underrun frames %g\n", BLOCK, paced / rate,
      1e6 * sum / calls, sum / calls / block_s, 1e6 * worst, worst / block_s, 1e3 * block_s,
      host_get_control (host, "underruns"));
  printf ("  (thread CPU time: worst call %.2f us, %.4f of the block; the worst wall-clock call "
      "used %.2f us of CPU: the rest is the scheduler, the audio thread here is not SCHED_FIFO)\n",
      1e6 * worst_cpu, worst_cpu / block_s, 1e6 * worst_cpu_of_worst);
  host_free (host);
  g_free (x);
  g_free (y);
  return 0;
}
