/* Real-time safety of urn:latent:after's and urn:latent:after-midi's run() (rt-interpose.c
 * counts allocations, locks and semaphore waits made inside run() and work_response). With
 * the AFTER fixtures: after a warm-up, real-time paced 64-frame cycles with control changes
 * (steps, guidances, timbre), MIDI notes (after-midi) and a patch:Set model change loaded by
 * the host's worker, then offline 64- and 1-frame cycles, must make no allocation and take no
 * lock; semaphore waits are allowed only offline. The model change must leave no gap:
 * swapping at once would output the new stream's first latency's worth of frames, all exactly
 * 0, so from the change on the longest run of silent frames (less any underrun frames) must be
 * shorter than the latency. (The fixtures themselves output up to 1024 silent frames at
 * times, and a new after-midi engine does not know the notes held before it started.)
 * Then both again with the timbre from a timbre terrain (timbre_source 2), x and y moving every
 * cycle and a patch:Set of another terrain (loaded by the host's worker) mid-run. */
#include "host-checks.h"
#include "latent.h"
#include "rt-interpose.h"

#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define RATE 16000

static int
check_plugin (const char *uri, const char *fixture, const char *terrain)
{
  char *dir = g_dir_make_tmp ("latent-rt-XXXXXX", NULL);
  char *copy = host_copy_file (fixture, dir, "copy.ts");
  char *property = g_strdup_printf ("%s#model", uri);
  gboolean midi = g_str_has_suffix (uri, "-midi");

  HostFeatures features = { .worker = true, .log = true, .map = true };
  Host *host = host_new (uri, RATE, features);
  if (midi) {
    host_set_control (host, "timbre_source", 1);
    host_set_control (host, "timbre0", 1.0f);
  }
  char *terrain_property = g_strdup_printf ("%s#timbre_terrain", uri);
  if (terrain)
    host_set_control (host, "timbre_source", 2);
  host_activate (host);
  host_set_run_hooks (host, rt_enter, rt_leave);

  enum { BLOCK = 64 };
  float in[BLOCK], out[BLOCK];
  GRand *rand = g_rand_new_with_seed (3);
  int total = 0, silent_run = 0, longest_silent_run = 0;
  double underrun_frames = 0, last_underruns = 0;
  RtCounts base = { 0 };
  /* Paced from the start, as a real-time host is: 200 warm-up cycles (first blocks, first
   * output, first notification), then 700 counted ones. */
  gint64 start = g_get_monotonic_time ();
  for (int i = -200; i < 700; i++) {
    if (i == 0) {
      base = rt_counts ();
      rt_counting (1);
    }
    host_pace (start, (int64_t) (i + 200) * BLOCK, RATE);
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    if (i == 100)
      host_patch_set_path (host, property, copy);
    if (terrain && i == 300)
      host_patch_set_path (host, terrain_property, terrain);
    if (terrain) {
      host_set_control (host, "x", 3.0f * sinf (i * 0.05f));
      host_set_control (host, "y", 3.0f * cosf (i * 0.03f));
    }
    if (i % 7 == 0) {
      host_set_control (host, "steps", 1 + i % 4);
      host_set_control (host, "guidance_timbre", 1.0f + (float) (i % 3) * 0.5f);
    }
    if (midi && i % 5 == 0) {
      uint8_t on[3] = { 0x90, (uint8_t) (60 + i % 12), 100 };
      uint8_t off[3] = { 0x80, (uint8_t) (60 + (i + 5) % 12), 0 };
      host_midi_event (host, 3, on, 3);
      host_midi_event (host, 40, off, 3);
      host_set_control (host, "timbre1", (float) (i % 9) * 0.1f);
    }
    host_run (host, in, out, BLOCK);
    if (i < 0)
      continue;
    total += BLOCK;
    for (int t = 0; t < BLOCK && i >= 100; t++) {
      silent_run = out[t] == 0.0f ? silent_run + 1 : 0;
      longest_silent_run = MAX (longest_silent_run, silent_run);
    }
    /* The port counts the playing engine's underruns; a new engine starts from 0. */
    float underruns = host_get_control (host, "underruns");
    if (i >= 100)
      underrun_frames += underruns >= last_underruns ? underruns - last_underruns : underruns;
    last_underruns = underruns;
  }
  int latency = (int) host_get_control (host, "latency");
  int gap = longest_silent_run - (int) underrun_frames;
  RtCounts paced = rt_counts ();
  paced.wait -= base.wait;
  total += host_run_offline_noise (host, rand);
  rt_counting (0);
  RtCounts all = rt_counts ();
  all.malloc -= base.malloc;
  all.free -= base.free;
  all.lock -= base.lock;
  all.wait -= base.wait;
  const char *notified = host_notified_path_for (host, property);
  gboolean swapped = notified && !strcmp (notified, copy);
  const char *terrain_notified = terrain ? host_notified_path_for (host, terrain_property) : NULL;
  gboolean terrain_swapped = !terrain || (terrain_notified && !strcmp (terrain_notified, terrain));
  printf ("%s%s run(): %d frames in 64- and 1-frame blocks, model change %s: malloc-family %lu, "
      "free %lu, mutex locks %lu; semaphore waits %lu while paced in real time, %lu offline "
      "(underrun frames %g); paced, from the change on: longest silence %d frames, underruns "
      "%g, so a gap of at most %d frames (latency %d)\n", uri,
      terrain ? " (timbre terrain, moving x/y, terrain change)" : "", total,
      swapped ? (terrain_swapped ? "done" : "done, terrain change NOT done") : "NOT done",
      all.malloc, all.free, all.lock, paced.wait,
      all.wait - paced.wait,
      host_get_control (host, "underruns"), longest_silent_run, underrun_frames, gap, latency);
  host_free (host);
  g_rand_free (rand);
  g_unlink (copy);
  g_rmdir (dir);
  g_free (copy);
  g_free (dir);
  g_free (property);
  g_free (terrain_property);
  gboolean gap_free = gap < latency;
  return all.malloc || all.free || all.lock || paced.wait || !swapped || !terrain_swapped
      || !gap_free;
}

int
main (int argc, char **argv)
{
  const char *audio = LATENT_TEST_DATA "/after-audio.ts";
  const char *midi = LATENT_TEST_DATA "/after-midi.ts";
  g_setenv ("LATENT_LV2_DEFAULT_AFTER", audio, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_AFTER_MIDI", midi, TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  if (rt_self_check ()) {
    printf ("interposition does not work\n");
    return 1;
  }
  int failed = check_plugin ("urn:latent:after", audio, NULL);
  failed |= check_plugin ("urn:latent:after-midi", midi, NULL);
  /* Timbre terrains of the fixtures' 2 timbre dims: the default one and a change. */
  char *dir = g_dir_make_tmp ("latent-rt-terrain-XXXXXX", NULL);
  char *first = g_build_filename (dir, "first.pt", NULL);
  char *second = g_build_filename (dir, "second.pt", NULL);
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = 2;
  for (int i = 0; i < 2; i++) {
    GError *error = NULL;
    LatentTerrain *t = latent_terrain_new (&config, 7 + i, &error);
    if (!t || !latent_terrain_save (t, i ? second : first, &error)) {
      printf ("cannot make a terrain: %s\n", error->message);
      return 1;
    }
    latent_terrain_free (t);
  }
  g_setenv ("LATENT_LV2_DEFAULT_TIMBRE_TERRAIN", first, TRUE);
  g_setenv ("LATENT_LV2_DEFAULT_TIMBRE_TERRAIN_MIDI", first, TRUE);
  failed |= check_plugin ("urn:latent:after", audio, second);
  failed |= check_plugin ("urn:latent:after-midi", midi, second);
  g_unlink (first);
  g_unlink (second);
  g_rmdir (dir);
  g_free (first);
  g_free (second);
  g_free (dir);
  return failed;
}
