/* Real-time safety of urn:latent:terrain's run(), as tests/host/test-rt-safety.c checks the
 * rave plugin (rt-interpose.c counts allocations, locks and semaphore waits made inside run()
 * and work_response). After a warm-up, real-time paced 64-frame cycles with x/y automation and
 * a patch:Set terrain change (loaded by the host's worker between cycles), then offline 64-
 * and 1-frame cycles, must make no allocation and take no lock; semaphore waits only
 * offline. */
#include "host-checks.h"
#include "latent.h"
#include "rt-interpose.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static char *
make_terrain (const char *dir, const char *name, guint64 seed)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = 2;
  config.channels = 16;
  config.features = 16;
  LatentTerrain *t = latent_terrain_new (&config, seed, NULL);
  char *path = g_build_filename (dir, name, NULL);
  if (!latent_terrain_save (t, path, NULL))
    g_error ("cannot write %s", path);
  latent_terrain_free (t);
  return path;
}

int
main (int argc, char **argv)
{
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  char *dir = g_dir_make_tmp ("latent-terrain-rt-XXXXXX", NULL);
  char *first = make_terrain (dir, "first.pt", 1), *second = make_terrain (dir, "second.pt", 2);
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", LATENT_TEST_DATA "/stateful-codec.ts", TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_TERRAIN", first, TRUE);

  if (rt_self_check ()) {
    printf ("interposition does not work\n");
    return 1;
  }

  HostFeatures features = { .worker = true, .log = true, .map = true };
  Host *host = host_new ("urn:latent:terrain", 8000, features);
  host_activate (host);
  host_set_run_hooks (host, rt_enter, rt_leave);

  enum { BLOCK = 64 };
  float in[BLOCK] = { 0 }, out[BLOCK];
  int total = 0;
  double energy = 0;
  for (int i = 0; i < 200; i++) /* warm-up: first blocks, first output, first notification */
    host_run (host, in, out, BLOCK);
  rt_counting (1);
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < 700; i++) {
    host_pace (start, (int64_t) i * BLOCK, 8000);
    if (i == 100)
      host_patch_set_path (host, "urn:latent:terrain#terrain", second);
    host_set_control (host, "x", (float) (8.0 * sin (i * 0.05)));
    host_set_control (host, "y", (float) (3.0 * cos (i * 0.03)));
    host_run (host, in, out, BLOCK);
    for (int t = 0; t < BLOCK; t++)
      energy += out[t] * out[t];
    total += BLOCK;
  }
  unsigned long paced_waits = rt_counts ().wait;
  for (int i = 0; i < 2000; i++) {
    host_set_control (host, "x", (float) (i % 32) - 16.0f);
    host_run (host, in, out, BLOCK);
    total += BLOCK;
  }
  for (int i = 0; i < 5000; i++) {
    host_set_control (host, "y", (float) (i % 8) - 4.0f);
    host_run (host, in, out, 1);
    total += 1;
  }
  rt_counting (0);
  RtCounts counts = rt_counts ();
  const char *notified = host_notified_path_for (host, "urn:latent:terrain#terrain");
  gboolean swapped = notified && !strcmp (notified, second);
  printf ("run(): %d frames in 64- and 1-frame blocks, terrain change %s, output energy %g: "
      "malloc-family %lu, free %lu, mutex locks %lu; semaphore waits %lu while paced in real "
      "time, %lu offline (underrun frames %g)\n", total, swapped ? "done" : "NOT done", energy,
      counts.malloc, counts.free, counts.lock, paced_waits, counts.wait - paced_waits,
      host_get_control (host, "underruns"));
  host_free (host);
  g_unlink (first);
  g_unlink (second);
  g_rmdir (dir);
  g_free (first);
  g_free (second);
  g_free (dir);
  return counts.malloc || counts.free || counts.lock || paced_waits || !swapped || !(energy > 0)
      ? 1 : 0;
}
