/* Benchmark (printed, not asserted) of the four LV2 plugins through lilv against the same
 * processing through the core API, without the plugin layer:
 *   rave:       LatentStream encode -> decode;
 *   terrain:    per latent frame latent_terrain_forward at the frame's centre coordinate, then
 *               latent_model_run "decode" on the block (what core/terrain-stream.c's worker does);
 *   after:      per chunk latent_after_update_timbre (sidechain) + latent_after_render;
 *   after-midi: per sample LatentVoices written as the plugin's run() does, per chunk
 *               latent_voices_reduce + latent_after_set_timbre + latent_after_render.
 * For each plugin, in one run:
 *   1. throughput, in each latency mode (low: one-frame worker blocks; safe: >= 2048 samples),
 *      the core API side running the same blocks as the plugin's worker:
 *      seconds to process the same signal offline in 64-frame run() calls (freewheel
 *      on: run() waits for the plugin's worker), until the output of the last input frame is out,
 *      over the core API's seconds for the same blocks of the same frames (the signal and then
 *      the plugin's latency in zeros), as a ratio against the target 1.05.
 *      The core API runs on a thread of its own, as the plugin's worker; one discarded warm-up
 *      pair, then the best of ROUNDS
 *      alternating pairs (the CPUs are shared); process CPU time beside wall-clock time;
 *   2. real time: 64-frame run() calls paced by the clock; mean and worst run() time as a
 *      fraction of the block's duration, and underrun frames.
 * The host connects every audio input to one buffer, so `after` gets the clip as structure and
 * as timbre; the core API gets the same. Models: the shipped ones in models/ (a plugin whose
 * model is missing is skipped), or `--model PATH` for the plugins named (default: the one
 * that runs that kind of file: rave, after or after-midi). Arguments: [--model PATH]
 * [plugin names] (default: all four). */
#include "host-checks.h"
#include "latent.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BLOCK 64
#define TARGET 1.05
#define ROUNDS 5
#define MODELS LATENT_SOURCE_ROOT "/models/"

typedef struct {
  int rate, n;  /* the signal: n frames at rate */
  float *audio; /* the audio input (structure, timbre) */
} Signal;

typedef struct Bench Bench;
struct Bench {
  const char *name;
  const char *model;   /* file in models/ */
  const char *env;     /* the plugin's default-model variable */
  const char *terrain; /* terrain plugin: file in models/ */
  /* Core API seconds for frames [0, n) of the signal, in the plugin's blocks; NAN on error. */
  double (*core) (const Bench *bench, const Signal *s, GError **error);
  /* Before each run() of frames [t, t + n): controls and MIDI events. */
  void (*feed) (Host *host, const Signal *s, int t, int n);
};

/* --model PATH: the file every benchmarked plugin loads instead of its shipped model. */
static const char *model_override;
/* The latency mode of the throughput run: the plugin's latency_mode control, and the block the
 * core API side runs (the same block as the plugin's worker, so the ratio is the adapter's
 * cost, not the block size's). */
static LatentRtLatency throughput_mode = LATENT_RT_LATENCY_LOW;

static char *
bench_model_path (const Bench *bench)
{
  return model_override ? g_strdup (model_override) : g_strconcat (MODELS, bench->model, NULL);
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

static double
process_cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------- shared inputs */

/* The terrain's x coordinate at frame t: a slow sweep over two octaves (8 units each). */
static float
terrain_x (int t, int rate)
{
  return 8.0f * sinf (2 * G_PI * 0.25f * t / rate);
}

#define TERRAIN_Y 0.5f

/* The MIDI part: a note every half second (pitch walking in fourths), released after 0.4 s.
 * Returns the message size written to msg (0: no event at frame t). */
static int
midi_at (int t, int rate, uint8_t msg[3])
{
  const int period = rate / 2, length = rate * 2 / 5;
  const int k = t / period, pitch = 55 + (k * 5) % 17;
  if (t % period == 0) {
    msg[0] = 0x90, msg[1] = pitch, msg[2] = 100;
    return 3;
  }
  if (t % period == length) {
    msg[0] = 0x80, msg[1] = pitch, msg[2] = 0;
    return 3;
  }
  return 0;
}

/* after-midi's timbre controls (timbre_source = 1: controls). */
static const float midi_timbre[6] = { 0.5f, -0.2f, 0.0f, 0.0f, 0.0f, 0.0f };

static void
feed_none (Host *host, const Signal *s, int t, int n)
{
  (void) host, (void) s, (void) t, (void) n;
}

static void
feed_terrain (Host *host, const Signal *s, int t, int n)
{
  (void) n;
  host_set_control (host, "x", terrain_x (t, s->rate));
  host_set_control (host, "y", TERRAIN_Y);
}

static void
feed_midi (Host *host, const Signal *s, int t, int n)
{
  uint8_t msg[3];
  for (int i = 0; i < n; i++)
    if (midi_at (t + i, s->rate, msg))
      host_midi_event (host, i, msg, 3);
}

/* ------------------------------------------------------------- core API */

static double
core_rave (const Bench *bench, const Signal *s, GError **error)
{
  char *path = bench_model_path (bench);
  LatentModel *model = latent_model_open (path, 1, error);
  g_free (path);
  if (!model)
    return NAN;
  LatentMethodInfo encode_info;
  LatentStream *enc = NULL, *dec = NULL;
  double seconds = NAN;
  if (latent_model_get_method_info (model, "encode", &encode_info, error))
    enc = latent_stream_new (model, "encode",
        latent_rt_method_block (&encode_info, throughput_mode), error);
  if (!enc)
    goto out;
  const int block = latent_stream_get_block (enc);
  const LatentMethodInfo *ei = latent_stream_get_info (enc);
  const int zblock = block * ei->in_ratio / ei->out_ratio;
  dec = latent_stream_new (model, "decode", zblock, error);
  if (!dec || !latent_model_warm_up (model, "encode", block, error)
      || !latent_model_warm_up (model, "decode", zblock, error))
    goto out;
  float *z = g_new (float, (gsize) zblock * ei->out_channels * 2);
  float *y = g_new (float, (gsize) block * 2);
  double start = now_s ();
  for (int t = 0; t < s->n; t += BLOCK) {
    int m = MIN (BLOCK, s->n - t);
    size_t nz = latent_stream_output_frames (enc, m);
    if (!latent_stream_process (enc, s->audio + t, m, z, NULL, error)
        || (nz && !latent_stream_process (dec, z, nz, y, NULL, error)))
      break;
  }
  if (!*error)
    seconds = now_s () - start;
  g_free (z);
  g_free (y);
out:
  if (dec)
    latent_stream_free (dec);
  if (enc)
    latent_stream_free (enc);
  latent_model_free (model);
  return seconds;
}

static double
core_terrain (const Bench *bench, const Signal *s, GError **error)
{
  LatentTerrain *terrain = latent_terrain_load (MODELS "terrain-gm.pt", error);
  if (!terrain)
    return NAN;
  (void) bench;
  const LatentTerrainConfig *tc = latent_terrain_get_config (terrain);
  LatentModel *model = latent_model_open (MODELS "rave-gm.ts", 1, error);
  LatentMethodInfo info;
  double seconds = NAN;
  if (!model || !latent_model_get_method_info (model, "decode", &info, error)) {
    latent_terrain_free (terrain);
    if (model)
      latent_model_free (model);
    return NAN;
  }
  /* As core/terrain-stream.c: one frame (low), the fewest covering 2048 samples (safe). */
  const int ratio = info.in_ratio, frames = latent_rt_method_block (&info, throughput_mode);
  const int block = frames * ratio;
  LatentTerrainWorkspace *workspace = latent_terrain_workspace_new (tc);
  float *latents = g_new0 (float, (gsize) tc->latent_dims * frames);
  float *audio = g_new0 (float, (gsize) info.out_channels * block);
  float *coords = g_new (float, (gsize) block * 2);
  float *out = g_new (float, block);
  if (latent_model_warm_up (model, "decode", frames, error)) {
    double start = now_s ();
    for (int b = 0; b + block <= s->n; b += block) {
      for (int t = 0; t < block; t++) { /* what run() hands the worker: x, y per sample */
        coords[2 * t] = terrain_x (b + t - (b + t) % BLOCK, s->rate);
        coords[2 * t + 1] = TERRAIN_Y;
      }
      float x[LATENT_TERRAIN_MAX_CONTROL_DIMS] = { 0 }, z[LATENT_TERRAIN_MAX_LATENT_DIMS];
      const LatentControlSignal xy = { .values = coords, .n = (gsize) block, .dims = 2 };
      for (int f = 0; f < frames; f++) {
        float at_centre[2];
        latent_terrain_sample_control (&xy, latent_terrain_frame_centre (f, ratio, 1, 1), NULL,
            at_centre);
        x[0] = at_centre[0];
        if (tc->control_dims > 1)
          x[1] = at_centre[1];
        latent_terrain_forward (terrain, x, z, workspace);
        for (int d = 0; d < tc->latent_dims; d++)
          latents[(gsize) d * frames + f] = z[d];
      }
      if (!latent_model_run (model, "decode", latents, frames, audio, error))
        break;
      for (int t = 0; t < block; t++) {
        float sum = 0;
        for (int c = 0; c < info.out_channels; c++)
          sum += audio[(gsize) c * block + t];
        out[t] = sum / info.out_channels;
      }
    }
    if (!*error)
      seconds = now_s () - start;
  }
  g_free (latents);
  g_free (audio);
  g_free (coords);
  g_free (out);
  latent_terrain_workspace_free (workspace);
  latent_terrain_free (terrain);
  latent_model_free (model);
  return seconds;
}

/* Both AFTER plugins: steps 4, guidance 1 and 1 (the plugins' defaults). */
static double
core_after (const Bench *bench, const Signal *s, GError **error)
{
  char *path = bench_model_path (bench);
  LatentAfter *after = latent_after_open (path, 1, error);
  g_free (path);
  if (!after)
    return NAN;
  const LatentAfterInfo *info = latent_after_get_info (after);
  const int block = latent_after_get_block (after), notes = 2 * MAX (1, info->n_poly);
  float *out = g_new (float, block);
  float *samples = g_new0 (float, (gsize) block * notes); /* per sample voices, as run() */
  float *planar = g_new0 (float, (gsize) info->chunk * notes);
  LatentVoices *voices = info->kind == LATENT_AFTER_MIDI ? latent_voices_new (info->n_poly) : NULL;
  double seconds = NAN;
  if (latent_after_set_steps (after, 4, error) && latent_after_set_guidance (after, 1, 1, error)) {
    double start = now_s ();
    for (int b = 0; b + block <= s->n; b += block) {
      gboolean ok;
      if (!voices) {
        ok = latent_after_update_timbre (after, s->audio + b, error)
            && latent_after_render (after, s->audio + b, out, error);
      } else {
        uint8_t msg[3];
        for (int t = 0; t < block; t++) {
          if (midi_at (b + t, s->rate, msg))
            msg[0] == 0x90 ? latent_voices_note_on (voices, msg[1], msg[2])
                : latent_voices_note_off (voices, msg[1]);
          latent_voices_write (voices, samples + (gsize) t * notes);
          if ((b + t + 1) % info->ratio == 0)
            latent_voices_next_frame (voices);
        }
        latent_voices_reduce (info->n_poly, samples, info->ratio, info->chunk, planar);
        latent_after_set_timbre (after, midi_timbre, MIN (info->timbre_dims, 6));
        ok = latent_after_render (after, planar, out, error);
      }
      if (!ok)
        break;
    }
    if (!*error)
      seconds = now_s () - start;
  }
  if (voices)
    latent_voices_free (voices);
  g_free (out);
  g_free (samples);
  g_free (planar);
  latent_after_free (after);
  return seconds;
}

/* ------------------------------------------------------------- plugin */

/* --paced: the latency mode and the host block announced (bufsz:maxBlockLength). */
static int paced_mode = -1, paced_max_block;

static Host *
plugin_new (const Bench *bench, const Signal *s, bool freewheel)
{
  HostFeatures features = { .worker = true, .log = true, .map = true,
    .max_block = paced_max_block };
  char *uri = g_strconcat ("urn:latent:", bench->name, NULL);
  Host *host = host_new (uri, s->rate, features);
  g_free (uri);
  host_set_control (host, "freewheel", freewheel);
  /* The port's values: 0 low, 1 safe. */
  host_set_control (host, "latency_mode", paced_mode >= 0 ? paced_mode
      : throughput_mode == LATENT_RT_LATENCY_LOW ? 0 : 1);
  if (!strcmp (bench->name, "after-midi")) {
    host_set_control (host, "timbre_source", 1);
    for (int i = 0; i < 6; i++) {
      char symbol[16];
      g_snprintf (symbol, sizeof symbol, "timbre%d", i);
      host_set_control (host, symbol, midi_timbre[i]);
    }
  }
  host_activate (host); /* loads the default model (off the timed part) */
  return host;
}

/* Plugin seconds for the signal and then zeros until the last input frame's output is out. */
static double
plugin_seconds (const Bench *bench, const Signal *s, int *latency)
{
  Host *host = plugin_new (bench, s, true);
  float *zeros = g_new0 (float, BLOCK), *y = g_new (float, BLOCK);
  *latency = 0; /* the port is written by run() */
  double start = now_s ();
  for (int t = 0; t < s->n + *latency; t += BLOCK) {
    int m = t < s->n ? MIN (BLOCK, s->n - t) : BLOCK;
    bench->feed (host, s, t, m);
    host_run (host, t < s->n ? s->audio + t : zeros, y, m);
    *latency = (int) host_get_control (host, "latency");
  }
  double seconds = now_s () - start;
  if (*latency == 0) /* no model loaded: say why */
    printf ("  urn:latent:%s did not load its model: %s\n", bench->name, host_log_text (host));
  host_free (host);
  g_free (zeros);
  g_free (y);
  return seconds;
}

/* Paced 64-frame cycles; the audio thread never waits. Times after the first second. */
static void
plugin_real_time (const Bench *bench, const Signal *s)
{
  Host *host = plugin_new (bench, s, false);
  float *y = g_new (float, BLOCK);
  double worst = 0, sum = 0, worst_cpu = 0, worst_cpu_of_worst = 0;
  int calls = 0;
  gint64 t0 = g_get_monotonic_time ();
  for (int t = 0; t + BLOCK <= s->n; t += BLOCK) {
    host_pace (t0, t, s->rate);
    bench->feed (host, s, t, BLOCK);
    double a = now_s (), c = cpu_s ();
    host_run (host, s->audio + t, y, BLOCK);
    double d = now_s () - a, dc = cpu_s () - c;
    if (t >= s->rate) {
      if (d > worst)
        worst_cpu_of_worst = dc;
      worst = MAX (worst, d);
      worst_cpu = MAX (worst_cpu, dc);
      sum += d;
      calls++;
    }
  }
  double block_s = (double) BLOCK / s->rate;
  printf ("  real time, %d-frame cycles for %.0f s: run() mean %.2f us (%.4f of the block), "
      "worst %.2f us (%.4f of the %.2f ms block); underrun frames %g\n", BLOCK,
      (double) s->n / s->rate, 1e6 * sum / calls, sum / calls / block_s, 1e6 * worst,
      worst / block_s, 1e3 * block_s, host_get_control (host, "underruns"));
  printf ("  (thread CPU time: worst call %.2f us, %.4f of the block; the worst wall-clock call "
      "used %.2f us of CPU: the rest is the scheduler, the audio thread is not SCHED_FIFO)\n",
      1e6 * worst_cpu, worst_cpu / block_s, 1e6 * worst_cpu_of_worst);
  host_free (host);
  g_free (y);
}

/* --paced SECONDS [--hog]: for each plugin, latency mode (low, safe) and host block (64, 256)
 * a paced real-time run of SECONDS: the latency, underrun frames, and the worst run() against
 * its deadline (the host block's duration); the plugin's log line gives its block, margin and
 * slowest warm-up step. --hog keeps a thread spinning meanwhile (a busy core); --low-only skips
 * safe. The paced thread asks for SCHED_FIFO 10, as a real host's audio thread. */
static volatile int hog_running;
static int paced_modes = 2; /* --low-only: 1 */
static float *make_clip (int n, int rate);
static gboolean wanted (const char *name, int argc, char **argv);

static gpointer
hog_main (gpointer data)
{
  /* An ordinary thread, whatever the creating thread's scheduling. */
  struct sched_param sp = { .sched_priority = 0 };
  pthread_setschedparam (pthread_self (), SCHED_OTHER, &sp);
  volatile double x = 1;
  while (hog_running)
    x = x * 1.0000001 + 1e-9;
  return NULL;
}

static void
paced_bench (const Bench *bench, double seconds, int block)
{
  char *model = bench_model_path (bench);
  char *terrain = bench->terrain ? g_strconcat (MODELS, bench->terrain, NULL) : NULL;
  if (!g_file_test (model, G_FILE_TEST_EXISTS)
      || (terrain && !g_file_test (terrain, G_FILE_TEST_EXISTS))) {
    printf ("%s: skipped, no %s\n", bench->name, model);
    goto out;
  }
  g_setenv (bench->env, model, TRUE);
  if (terrain)
    g_setenv ("LATENT_LV2_DEFAULT_TERRAIN", terrain, TRUE);
  LatentModel *m = latent_model_open (model, 1, NULL);
  int rate = m && latent_model_get_sample_rate (m) > 0 ? latent_model_get_sample_rate (m) : 44100;
  latent_model_free (m);
  Signal s = { rate, (int) (seconds * rate), NULL };
  s.audio = make_clip (s.n, rate);
  for (int mode = 0; mode < paced_modes; mode++) {
    paced_mode = mode;
    paced_max_block = block;
    Host *host = plugin_new (bench, &s, false);
    float *y = g_new (float, block);
    double worst = 0, sum = 0;
    long calls = 0, late = 0;
    gint64 t0 = g_get_monotonic_time ();
    for (int t = 0; t + block <= s.n; t += block) {
      host_pace (t0, t, rate);
      bench->feed (host, &s, t, block);
      double a = now_s ();
      host_run (host, s.audio + t, y, block);
      double d = now_s () - a;
      worst = MAX (worst, d);
      late += d > (double) block / rate;
      sum += d;
      calls++;
    }
    int latency = (int) host_get_control (host, "latency");
    char *log = g_strstrip (g_strdup (host_log_text (host)));
    printf ("urn:latent:%s %s, host block %d, %d Hz, %.0f s paced%s: latency %d frames = %.1f ms;"
        " underrun frames %g; run() mean %.1f us, worst %.1f us of the %.2f ms deadline, %ld "
        "late\n  [%s]\n", bench->name, mode ? "safe" : "low", block, rate, seconds,
        hog_running ? " + CPU hog" : "", latency, 1e3 * latency / rate,
        host_get_control (host, "underruns"), 1e6 * sum / MAX (1, calls), 1e6 * worst,
        1e3 * block / rate, late, log);
    fflush (stdout);
    g_free (log);
    host_free (host);
    g_free (y);
  }
  paced_mode = -1;
  paced_max_block = 0;
  g_free (s.audio);
out:
  g_free (model);
  g_free (terrain);
}

/* ------------------------------------------------------------------ main */

static const Bench benches[] = {
  { "rave", "rave-gm.ts", "LATENT_LV2_DEFAULT_MODEL", NULL, core_rave, feed_none },
  { "terrain", "rave-gm.ts", "LATENT_LV2_DEFAULT_MODEL", "terrain-gm.pt", core_terrain,
    feed_terrain },
  { "after", "after-gm.ts", "LATENT_LV2_DEFAULT_AFTER", NULL, core_after, feed_none },
  { "after-midi", "after-gm-midi.ts", "LATENT_LV2_DEFAULT_AFTER_MIDI", NULL, core_after,
    feed_midi },
};

static float *
make_clip (int n, int rate)
{
  float *x = g_new (float, n);
  for (int t = 0; t < n; t++)
    x[t] = 0.3f * sinf (2 * G_PI * 220 * t / rate) + 0.2f * sinf (2 * G_PI * 331 * t / rate);
  return x;
}

static gboolean
wanted (const char *name, int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (!strcmp (argv[i], name))
      return TRUE;
  return argc < 2;
}

/* The core API runs on a thread of its own, as the plugin's worker does: measured here, the
 * same calls on the process's main thread took 2-4x longer (torch's per-thread settings). */
typedef struct {
  const Bench *bench;
  const Signal *s;
  GError **error;
  double seconds;
} CoreJob;

static gpointer
core_job (gpointer data)
{
  CoreJob *job = data;
  job->seconds = job->bench->core (job->bench, job->s, job->error);
  return NULL;
}

static double
core_on_thread (const Bench *bench, const Signal *s, GError **error)
{
  CoreJob job = { bench, s, error, 0 };
  g_thread_join (g_thread_new ("core", core_job, &job));
  return job.seconds;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Returns the throughput ratio, or NAN when skipped or failed. */
static double
run_bench (const Bench *bench, double *median)
{
  char *model = bench_model_path (bench);
  char *terrain = bench->terrain ? g_strconcat (MODELS, bench->terrain, NULL) : NULL;
  double ratio = NAN;
  GError *error = NULL;
  LatentModel *probe = NULL;
  if (!g_file_test (model, G_FILE_TEST_EXISTS) || (terrain
      && !g_file_test (terrain, G_FILE_TEST_EXISTS))) {
    printf ("%s: skipped, %s missing\n", bench->name, terrain ? terrain : model);
    goto out;
  }
  g_setenv (bench->env, model, TRUE);
  if (terrain)
    g_setenv ("LATENT_LV2_DEFAULT_TERRAIN", terrain, TRUE);
  probe = latent_model_open (model, 1, &error);
  if (!probe) {
    printf ("%s: %s\n", bench->name, error->message);
    goto out;
  }
  Signal s = { .rate = latent_model_get_sample_rate (probe) };
  latent_model_free (probe);
  if (s.rate <= 0)
    s.rate = 44100;
  /* About 6 s, whole 4096-frame blocks (every plugin's worker block divides 4096). */
  s.n = s.rate * 6 / 4096 * 4096;
  s.audio = make_clip (s.n, s.rate);

  /* The two CPUs are shared: one discarded warm-up pair (the process's first torch calls are
   * slow), then ROUNDS alternating pairs; the minimum of each is the figure compared. */
  double core = INFINITY, plugin = INFINITY, core_cpu = INFINITY, plugin_cpu = INFINITY;
  int latency = 0;
  double paired[ROUNDS]; /* plugin / core per round: both saw about the same load */
  GString *rounds = g_string_new (NULL);
  /* The plugin must run latency more frames (zeros) to put out the last input frame's output:
   * from round 1 on the core API runs the same frames, so both sides do the same work. */
  Signal padded = s;
  for (int round = 0; round <= ROUNDS && !error; round++) {
    if (round == 1) {
      padded.n = (s.n + latency + 4095) / 4096 * 4096;
      padded.audio = g_new0 (float, padded.n);
      memcpy (padded.audio, s.audio, sizeof (float) * s.n);
    }
    double c0 = process_cpu_s ();
    double a = core_on_thread (bench, &padded, &error);
    double c1 = process_cpu_s ();
    if (error)
      break;
    double b = plugin_seconds (bench, &s, &latency);
    double c2 = process_cpu_s ();
    if (round == 0)
      continue;
    g_string_append_printf (rounds, "%s%.3f/%.3f", round > 1 ? ", " : "", a, b);
    paired[round - 1] = b / a;
    core = MIN (core, a);
    plugin = MIN (plugin, b);
    core_cpu = MIN (core_cpu, c1 - c0);
    plugin_cpu = MIN (plugin_cpu, c2 - c1);
  }
  if (error) {
    printf ("%s: core API: %s\n", bench->name, error->message);
  } else {
    ratio = plugin / core;
    qsort (paired, ROUNDS, sizeof (double), compare_doubles);
    *median = paired[ROUNDS / 2];
    printf ("urn:latent:%s (%s%s%s, %d Hz, latency mode %s: %d frames = %.1f ms)\n",
        bench->name, model_override ? model_override : bench->model, terrain ? " + " : "",
        terrain ? bench->terrain : "", s.rate,
        throughput_mode == LATENT_RT_LATENCY_LOW ? "low" : "safe", latency,
        1e3 * latency / s.rate);
    printf ("  throughput, %.2f s in %d-frame run() calls, best of %d (core/plugin s: %s):\n"
        "    core API %.3f s, plugin %.3f s, ratio %.3f (target <= %.2f: %s); real-time factor "
        "core %.3f, plugin %.3f; process CPU core %.3f s, plugin %.3f s, ratio %.3f; median of "
        "the per-round ratios %.3f\n",
        (double) s.n / s.rate, BLOCK, ROUNDS, rounds->str, core, plugin, ratio, TARGET,
        ratio <= TARGET ? "met" : "MISSED", core * s.rate / s.n, plugin * s.rate / s.n,
        core_cpu, plugin_cpu, plugin_cpu / core_cpu, paired[ROUNDS / 2]);
    Signal paced = s;
    paced.n = MIN (s.n, s.rate * 4);
    plugin_real_time (bench, &paced);
  }
  g_string_free (rounds, TRUE);
  if (padded.audio != s.audio)
    g_free (padded.audio);
  g_free (s.audio);
out:
  g_clear_error (&error);
  g_free (model);
  g_free (terrain);
  return ratio;
}

/* With --model and no plugin named: the plugin that runs that kind of file. */
static const char *
plugin_for_model (const char *path)
{
  GError *error = NULL;
  LatentModel *model = latent_model_open (path, 1, &error);
  if (!model) {
    fprintf (stderr, "%s\n", error->message);
    g_error_free (error);
    return NULL;
  }
  const char *name = NULL;
  if (latent_model_has_method (model, "timbre"))
    name = latent_model_has_method (model, "structure") ? "after" : "after-midi";
  else if (latent_model_has_method (model, "encode") && latent_model_has_method (model, "decode"))
    name = "rave";
  latent_model_free (model);
  if (!name)
    fprintf (stderr, "%s: neither an autoencoder (encode/decode) nor an AFTER export\n", path);
  return name;
}

int
main (int argc, char **argv)
{
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);
  /* [--model PATH] [plugin ...] */
  GPtrArray *names = g_ptr_array_new ();
  g_ptr_array_add (names, argv[0]);
  double paced_seconds = 0;
  gboolean hog = FALSE;
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--paced") && i + 1 < argc)
      paced_seconds = g_ascii_strtod (argv[++i], NULL);
    else if (!strcmp (argv[i], "--hog"))
      hog = TRUE;
    else if (!strcmp (argv[i], "--low-only"))
      paced_modes = 1;
    else if (!strcmp (argv[i], "--model") && i + 1 < argc)
      model_override = argv[++i];
    else if (g_str_has_prefix (argv[i], "--model="))
      model_override = argv[i] + strlen ("--model=");
    else
      g_ptr_array_add (names, argv[i]);
  }
  if (model_override && names->len == 1) {
    const char *name = plugin_for_model (model_override);
    if (!name)
      return 1;
    g_ptr_array_add (names, (gpointer) name);
  }
  argc = (int) names->len;
  argv = (char **) names->pdata;
  if (paced_seconds > 0) {
    /* As a real host's audio thread (JACK's run at SCHED_FIFO 10 and more): above the
     * plugins' inference threads (the lowest SCHED_FIFO priority) and any hog. */
    struct sched_param sp = { .sched_priority = sched_get_priority_min (SCHED_FIFO) + 9 };
    gboolean fifo = pthread_setschedparam (pthread_self (), SCHED_FIFO, &sp) == 0;
    printf ("paced host thread: %s\n", fifo ? "SCHED_FIFO 10" : "not real-time (refused)");
    GThread *hog_thread = NULL;
    if (hog) {
      hog_running = 1;
      hog_thread = g_thread_new ("hog", hog_main, NULL);
    }
    const int blocks[] = { 64, 256 };
    for (gsize i = 0; i < G_N_ELEMENTS (benches); i++)
      for (gsize b = 0; b < G_N_ELEMENTS (blocks); b++)
        if (wanted (benches[i].name, argc, argv))
          paced_bench (&benches[i], paced_seconds, blocks[b]);
    if (hog_thread) {
      hog_running = 0;
      g_thread_join (hog_thread);
    }
    return 0;
  }
  /* Both latency modes: low (the default) runs one-frame blocks, safe >= 2048 samples. */
  const LatentRtLatency modes[] = { LATENT_RT_LATENCY_LOW, LATENT_RT_LATENCY_SAFE };
  double ratios[2][G_N_ELEMENTS (benches)], medians[2][G_N_ELEMENTS (benches)];
  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++) {
    throughput_mode = modes[m];
    for (gsize i = 0; i < G_N_ELEMENTS (benches); i++) {
      ratios[m][i] = medians[m][i] = NAN;
      if (wanted (benches[i].name, argc, argv))
        ratios[m][i] = run_bench (&benches[i], &medians[m][i]);
      fflush (stdout);
    }
  }
  printf ("summary, plugin / core API throughput at the same blocks, best times (median "
      "per-round ratio), target <= %.2f:", TARGET);
  for (gsize m = 0; m < G_N_ELEMENTS (modes); m++) {
    printf ("\n  %s:", modes[m] == LATENT_RT_LATENCY_LOW ? "low " : "safe");
    for (gsize i = 0; i < G_N_ELEMENTS (benches); i++)
      if (!isnan (ratios[m][i]))
        printf (" %s %.3f (%.3f)", benches[i].name, ratios[m][i], medians[m][i]);
  }
  printf ("\n");
  return 0;
}
