/* Real-time safety of urn:latent:rave's run() (rt-interpose.c counts allocations, locks and
 * semaphore waits made inside run() and work_response). After a warm-up, thousands of run()
 * calls, including a patch:Set model change (the host's worker runs the load between cycles;
 * work_response runs flagged, like run()), in 64-frame and 1-frame blocks, must make no
 * allocation and take no lock (GLib's g_mutex_lock counts as a lock); semaphore waits are
 * allowed only for hosts running faster than real time (see core/latent-rt.h), not while the
 * host is paced in real time. With the argument `resampled`: a 48 kHz model
 * (tests/data/identity-48k.ts) at a 44.1 kHz host, so the worker resamples both ways; run()
 * must stay as clean. */
#include "host-checks.h"
#include "rt-interpose.h"

#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>

int
main (int argc, char **argv)
{
  gboolean resampled = argc > 1 && !strcmp (argv[1], "resampled");
  const char *fixture = resampled ? LATENT_TEST_DATA "/identity-48k.ts"
      : LATENT_TEST_DATA "/stateful-codec.ts";
  const double rate = resampled ? 44100 : 8000;
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture, TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  if (rt_self_check ()) {
    printf ("interposition does not work\n");
    return 1;
  }

  char *dir = g_dir_make_tmp ("latent-rt-XXXXXX", NULL);
  char *copy = host_copy_file (fixture, dir, "copy.ts");

  HostFeatures features = { .worker = true, .log = true, .map = true };
  Host *host = host_new ("urn:latent:rave", rate, features);
  host_activate (host);
  host_set_run_hooks (host, rt_enter, rt_leave);

  enum { BLOCK = 64 };
  float in[BLOCK], out[BLOCK];
  GRand *rand = g_rand_new_with_seed (3);
  int total = 0;
  /* Warm-up: first blocks, first output, first notification. */
  for (int i = 0; i < 200; i++) {
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    host_run (host, in, out, BLOCK);
  }
  /* Real time: 64-frame cycles paced by the clock, a model change in the middle. The audio
   * thread must not allocate, lock or wait. */
  rt_counting (1);
  gint64 start = g_get_monotonic_time ();
  const int cycles = resampled ? 3000 : 700;
  for (int i = 0; i < cycles; i++) {
    host_pace (start, (int64_t) i * BLOCK, rate);
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    if (i == 100)
      host_patch_set_path (host, "urn:latent:rave#model", copy);
    if (i % 7 == 0)
      host_set_control (host, "bias0", (float) (i % 5) * 0.1f);
    host_run (host, in, out, BLOCK);
    total += BLOCK;
  }
  unsigned long paced_waits = rt_counts ().wait;
  /* Offline (as fast as possible): run() may wait for the worker, but still never allocates
   * or locks. 64-frame and 1-frame blocks. */
  total += host_run_offline_noise (host, rand);
  rt_counting (0);
  RtCounts counts = rt_counts ();
  const char *notified = host_notified_path (host);
  gboolean swapped = notified && !strcmp (notified, copy);
  float underruns = host_get_control (host, "underruns");
  printf ("%s run(): %d frames in 64- and 1-frame blocks, model change %s: malloc-family %lu, "
      "free %lu, mutex locks %lu; semaphore waits %lu while paced in real time, %lu offline "
      "(underrun frames %g)\n", resampled ? "44.1 kHz host, 48 kHz model:" : "", total, swapped ? "done" : "NOT done", counts.malloc, counts.free,
      counts.lock, paced_waits, counts.wait - paced_waits, underruns);
  host_free (host);
  g_rand_free (rand);
  g_unlink (copy);
  g_rmdir (dir);
  g_free (copy);
  g_free (dir);
  return counts.malloc || counts.free || counts.lock || paced_waits || !swapped ? 1 : 0;
}
