/* Real-time streaming: lock-free rings between an audio thread and a worker thread that runs
 * a chain of LatentStreams on whole blocks (see latent-rt.h for the contract). */
#include "latent.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define PARAM_QUEUE 32
#define WAIT_LIMIT_US (2 * G_USEC_PER_SEC)

typedef struct {
  int64_t time; /* input frame from which the values apply */
  int n;
  float bias[LATENT_RT_MAX_AFFINE];
  float scale[LATENT_RT_MAX_AFFINE];
} AffineUpdate;

struct LatentRtStream {
  LatentModel *model;           /* method-chain streams */
  LatentRtProcessor processor;  /* custom streams (model == NULL) */
  LatentStream *stages[LATENT_RT_MAX_STAGES];
  int n_stages;
  int affine_stage;
  int affine_channels;
  int block;   /* B: input frames per step == output frames per step (host rate) */
  int chunk;   /* largest piece the audio thread handles at once (<= B) */
  int latency; /* L: ring latency; the reported one adds delay */
  int delay;   /* D: resampling delay (0 without) */
  int model_block; /* Bm: frames per model call (== B without resampling) */
  LatentRtLatency mode;
  int margin;      /* M (LOW): measured compute margin, host frames */
  double step_us;  /* LOW: slowest worker step measured at creation */
  int in_ch, out_ch;
  double rate;

  /* Input ring: frame t lives at t % in_size. Written by the audio thread only. */
  float *in_ring;
  int64_t in_size;
  _Atomic int64_t written; /* frames published to the worker */

  /* Output ring: n_slots blocks; slot k % n_slots holds block k once tag[slot] == k. */
  float *out_ring;
  int n_slots;
  _Atomic int64_t *tags;

  /* Worker scratch. */
  float *work_in, *work_mid[LATENT_RT_MAX_STAGES], *work_out;
  int64_t next_block;

  /* Resampling (worker only): host -> model converter, model frames waiting for a whole
   * block, model -> host converter, host frames waiting to leave (primed with D zeros). */
  LatentResampler *down, *up;
  float *model_in;
  int model_in_fill, model_in_cap;
  float *host_out;
  int host_out_fill, host_out_cap;
  _Atomic uint64_t shortfalls;

  /* Bias/scale queue, audio thread -> worker. */
  AffineUpdate queue[PARAM_QUEUE];
  _Atomic uint32_t queue_head; /* written by the audio thread */
  _Atomic uint32_t queue_tail; /* written by the worker */
  AffineUpdate wanted;         /* audio thread: last values asked for */
  AffineUpdate sent;           /* audio thread: last values queued */
  gboolean affine_pending;
  _Atomic int threads;
  int applied_threads; /* worker: last value given to processor.set_threads */

  /* Pacing (audio thread only) for LATENT_RT_WAIT_AUTO: two anchors (frames pushed, wall
   * time) at call starts; the host's speed is measured from the older one, so the span is
   * between one and two windows of audio (or everything since the first call). */
  int64_t anchor_frames[2];
  gint64 anchor_us[2];
  int64_t window;
  gboolean started;
  gboolean offline; /* the last verdict: offline needs 2x real time, back needs < 1.25x */

  sem_t work_sem, done_sem;
  sem_t started_sem; /* the worker has set its priority */
  GThread *thread;
  _Atomic int running;
  _Atomic int failed;
  char error[512];

  _Atomic uint64_t underruns, overruns, blocks;
  _Atomic int worker_fifo; /* the worker got SCHED_FIFO (latent-rt.h) */
};

static gpointer worker_main (gpointer data);
static gboolean setup_rings (LatentRtStream *rt, const LatentRtConfig *config,
    GError **error);
static gboolean setup_resampling (LatentRtStream *rt, const LatentRtConfig *config,
    GError **error);
static gboolean run_model (LatentRtStream *rt, const float *in, const float **out);
static gboolean run_resampled (LatentRtStream *rt, const float **out);

int
latent_rt_block_count (int samples_per_min_block, LatentRtLatency mode)
{
  int want = mode == LATENT_RT_LATENCY_LOW ? LATENT_RT_LOW_MIN_SAMPLES : 2048;
  samples_per_min_block = MAX (1, samples_per_min_block);
  return MAX (1, (want + samples_per_min_block - 1) / samples_per_min_block);
}

/* LATENT_RT_MARGIN_US: the margin's time, given instead of measured (reproducible latencies
 * for tests; a user who knows their machine). Read once: getenv is not safe against a setenv
 * on another thread, which test programs do. Negative when unset. */
static double
fixed_margin_us (void)
{
  static gsize once = 0;
  static double value = -1;
  if (g_once_init_enter (&once)) {
    const char *fixed = g_getenv ("LATENT_RT_MARGIN_US");
    if (fixed && *fixed)
      value = MAX (0, g_ascii_strtod (fixed, NULL));
    g_once_init_leave (&once, 1);
  }
  return value;
}

int
latent_rt_margin_frames (double worst_us, double rate)
{
  double fixed = fixed_margin_us ();
  if (fixed >= 0)
    return (int) ceil (rate * fixed / G_USEC_PER_SEC);
  int m = (int) ceil (rate * (LATENT_RT_MARGIN_FACTOR * MAX (0, worst_us)
      + LATENT_RT_MARGIN_FLOOR_US) / G_USEC_PER_SEC);
  return (m + LATENT_RT_MARGIN_STEP - 1) / LATENT_RT_MARGIN_STEP * LATENT_RT_MARGIN_STEP;
}

gboolean
latent_rt_margin_fixed (void)
{
  return fixed_margin_us () >= 0;
}

/* Block k is complete with the push holding its last frame, ceil((k + 1) block / burst)
 * pushes in; the pattern repeats every burst / gcd(block, burst) blocks. */
int
latent_rt_block_wait_frames (int block, int burst)
{
  if (burst <= 1)
    return block - 1;
  int a = block, b = burst;
  while (b) {
    int t = a % b;
    a = b;
    b = t;
  }
  int64_t worst = 0;
  for (int64_t k = 0; k < burst / a; k++) {
    int64_t complete = ((k + 1) * block + burst - 1) / burst * burst;
    worst = MAX (worst, complete - k * block - burst);
  }
  return (int) worst;
}

int64_t
latent_rt_chain_latency (const LatentRtChainStep *step, double rate, LatentRtChainTiming *chain)
{
  const int upstream_push = chain->push_samples;
  const int block_samples = step->block_frames * step->in_ratio;
  chain->push_samples = step->pushes_blocks ? block_samples : 0;
  if (step->mode == LATENT_RT_LATENCY_SAFE)
    return block_samples;
  /* Whole pushes only count between latent elements: audio elements in between may
   * re-buffer (audioconvert, audioresample). */
  const int burst = step->sink_is_latent && upstream_push % step->in_ratio == 0
      ? upstream_push / step->in_ratio : 1;
  const int chain_margin = latent_rt_margin_frames (chain->compute_us + step->step_us, rate);
  int added_margin = CLAMP (chain_margin - chain->margin, 0, block_samples);
  if (chain->compute_us <= 0 && chain->margin == 0)
    added_margin = step->load_margin; /* alone: the margin measured at load */
  chain->compute_us += step->step_us;
  chain->margin += added_margin;
  return (int64_t) latent_rt_block_wait_frames (step->block_frames, burst) * step->in_ratio
      + added_margin;
}

double
latent_rt_time_method (LatentModel *model, const char *method, int block, GError **error)
{
  LatentMethodInfo info;
  if (!latent_model_get_method_info (model, method, &info, error))
    return -1;
  int out_frames = (int) ((gint64) block * info.in_ratio / info.out_ratio);
  float *in = g_new0 (float, (gsize) block * info.in_channels);
  float *out = g_new0 (float, (gsize) out_frames * info.out_channels);
  double worst = 0;
  gboolean ok = TRUE;
  for (int i = 0; ok && i < LATENT_RT_MARGIN_RUNS; i++) {
    gint64 t0 = g_get_monotonic_time ();
    ok = latent_model_run (model, method, in, block, out, error);
    worst = MAX (worst, (double) (g_get_monotonic_time () - t0));
  }
  g_free (in);
  g_free (out);
  if (!ok || !latent_model_reset (model, error))
    return -1;
  return worst;
}

int
latent_rt_method_block (const LatentMethodInfo *info, LatentRtLatency mode)
{
  int min_block = latent_method_info_min_block (info);
  return min_block * latent_rt_block_count (min_block * info->in_ratio, mode);
}

static int64_t
round_up_pow2 (int64_t v)
{
  int64_t p = 1;
  while (p < v)
    p <<= 1;
  return p;
}

static void
start_worker (LatentRtStream *rt)
{
  atomic_store (&rt->running, 1);
  rt->thread = g_thread_new ("latent-rt", worker_main, rt);
  while (sem_wait (&rt->started_sem) != 0 && errno == EINTR)
    ;
}

static void
stop_worker (LatentRtStream *rt)
{
  if (!rt->thread)
    return;
  atomic_store (&rt->running, 0);
  sem_post (&rt->work_sem);
  g_thread_join (rt->thread);
  rt->thread = NULL;
}

static void
clear_state (LatentRtStream *rt)
{
  atomic_store (&rt->written, 0);
  for (int i = 0; i < rt->n_slots; i++)
    atomic_store (&rt->tags[i], -1);
  rt->next_block = 0;
  atomic_store (&rt->queue_head, 0);
  atomic_store (&rt->queue_tail, 0);
  rt->affine_pending = FALSE;
  rt->started = FALSE;
  rt->offline = FALSE;
  atomic_store (&rt->underruns, 0);
  atomic_store (&rt->overruns, 0);
  atomic_store (&rt->blocks, 0);
  atomic_store (&rt->failed, 0);
  atomic_store (&rt->shortfalls, 0);
  rt->error[0] = '\0';
  memset (rt->in_ring, 0, sizeof (float) * rt->in_size * rt->in_ch);
  if (rt->down) {
    latent_resampler_reset (rt->down);
    latent_resampler_reset (rt->up);
    rt->model_in_fill = 0;
    rt->host_out_fill = rt->delay;
    memset (rt->host_out, 0, sizeof (float) * rt->host_out_cap * rt->out_ch);
  }
  while (sem_trywait (&rt->work_sem) == 0)
    ;
  while (sem_trywait (&rt->done_sem) == 0)
    ;
}

LatentRtStream *
latent_rt_stream_new (LatentModel *model, const char *const *methods, int n_methods,
    const LatentRtConfig *config, GError **error)
{
  g_return_val_if_fail (model && methods && config, NULL);
  if (n_methods < 1 || n_methods > LATENT_RT_MAX_STAGES) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "%s: %d methods in a chain (1 to %d)",
        latent_model_get_path (model), n_methods, LATENT_RT_MAX_STAGES);
    latent_model_free (model);
    return NULL;
  }
  LatentRtStream *rt = g_new0 (LatentRtStream, 1);
  rt->model = model;
  rt->n_stages = n_methods;
  rt->affine_stage = config->affine_stage;
  rt->rate = config->rate > 0 ? config->rate : 48000;
  atomic_store (&rt->threads, MAX (1, config->threads));
  latent_model_set_threads (model, MAX (1, config->threads));
  sem_init (&rt->work_sem, 0, 0);
  sem_init (&rt->done_sem, 0, 0);
  sem_init (&rt->started_sem, 0, 0);

  /* Chain: each stage's block is the previous stage's output per step. */
  int frames = config->block;
  if (frames == 0) {
    LatentMethodInfo first;
    if (!latent_model_get_method_info (model, methods[0], &first, error))
      goto fail;
    frames = latent_rt_method_block (&first, config->latency);
  }
  int mid_ch = 0;
  for (int i = 0; i < n_methods; i++) {
    rt->stages[i] = latent_stream_new (model, methods[i], frames, error);
    if (!rt->stages[i])
      goto fail;
    const LatentMethodInfo *info = latent_stream_get_info (rt->stages[i]);
    if (i == 0) {
      rt->block = latent_stream_get_block (rt->stages[0]);
      rt->in_ch = info->in_channels;
    } else if (info->in_channels != mid_ch) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
          "%s: %s takes %d channels but %s gives %d", latent_model_get_path (model),
          methods[i], info->in_channels, methods[i - 1], mid_ch);
      goto fail;
    }
    frames = (int) ((gint64) latent_stream_get_block (rt->stages[i]) * info->in_ratio
        / info->out_ratio);
    mid_ch = info->out_channels;
    rt->work_mid[i] = g_new0 (float, (gsize) frames * mid_ch);
  }
  rt->out_ch = mid_ch;
  if (frames != rt->block) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: the chain turns %d frames into %d; a real-time stream needs as many out as in",
        latent_model_get_path (model), rt->block, frames);
    goto fail;
  }
  if (rt->affine_stage >= n_methods)
    rt->affine_stage = -1;
  if (rt->affine_stage >= 0)
    rt->affine_channels = MIN (LATENT_RT_MAX_AFFINE,
        latent_stream_get_info (rt->stages[rt->affine_stage])->in_channels);

  if (!setup_resampling (rt, config, error) || !setup_rings (rt, config, error))
    goto fail;
  return rt;

fail:
  latent_rt_stream_free (rt);
  return NULL;
}

/* With config->model_rate set and different from the host rate: converters, queues, the
 * host-side step B and the delay D (latent-rt.h); rt->block is the model block on entry. */
static gboolean
setup_resampling (LatentRtStream *rt, const LatentRtConfig *config, GError **error)
{
  rt->model_block = rt->block;
  double host = rt->rate, model = config->model_rate;
  if (!latent_rt_rates_differ (model, host))
    return TRUE;
  const int Bm = rt->model_block;
  const int B = (int) ceil (Bm * host / model - 1e-9);
  rt->down = latent_resampler_new (host, model, rt->in_ch, config->hold_channels, B, error);
  if (!rt->down)
    return FALSE;
  rt->up = latent_resampler_new (model, host, rt->out_ch, 0, Bm, error);
  if (!rt->up)
    return FALSE;
  int d1 = latent_resampler_get_lag (rt->down), d2 = latent_resampler_get_lag (rt->up);
  rt->delay = (int) ceil ((d1 + Bm - 1) * host / model + d2 - 1e-9);
  rt->block = B;
  rt->model_in_cap = Bm + latent_resampler_get_max_out (rt->down);
  rt->model_in = g_new0 (float, (gsize) rt->model_in_cap * rt->in_ch);
  /* Waiting host frames: D before the first step; a step adds what its model blocks give
   * (at most two, each at most the converter's max_out) and takes B. Room for twice that. */
  rt->host_out_cap = rt->delay + 2 * B + 3 * latent_resampler_get_max_out (rt->up);
  rt->host_out = g_new0 (float, (gsize) rt->host_out_cap * rt->out_ch);
  return TRUE;
}

/* LOW: times LATENT_RT_MARGIN_RUNS worker steps on zeros (before the worker starts, so on
 * the creating thread), then resets the model state. Returns the slowest step in us, or a
 * negative value when a step failed (the error is then the worker's, cleared by the caller). */
static double
measure_step (LatentRtStream *rt)
{
  double worst = 0;
  memset (rt->work_in, 0, sizeof (float) * rt->block * rt->in_ch);
  for (int i = 0; i < LATENT_RT_MARGIN_RUNS; i++) {
    const float *out;
    gint64 t0 = g_get_monotonic_time ();
    gboolean ok = rt->down ? run_resampled (rt, &out) : run_model (rt, rt->work_in, &out);
    gint64 t1 = g_get_monotonic_time ();
    if (!ok)
      return -1;
    if (rt->down) { /* as run_step does: the step's B frames leave */
      rt->host_out_fill -= rt->block;
      memmove (rt->host_out, rt->host_out + (size_t) rt->block * rt->out_ch,
          sizeof (float) * rt->host_out_fill * rt->out_ch);
    }
    worst = MAX (worst, (double) (t1 - t0));
  }
  GError *error = NULL;
  gboolean ok = TRUE;
  for (int i = 0; i < rt->n_stages && ok; i++)
    ok = latent_stream_reset (rt->stages[i], &error);
  if (ok && !rt->model && rt->processor.reset)
    ok = rt->processor.reset (rt->processor.user_data, &error);
  if (!ok) {
    g_strlcpy (rt->error, error ? error->message : "reset failed", sizeof rt->error);
    g_clear_error (&error);
    return -1;
  }
  return worst;
}

static gboolean try_fifo (void);

/* measure_step on a thread of its own with the worker's scheduling (SCHED_FIFO where granted),
 * so that the margin reflects what the worker will get, not the loading thread's contention. */
static gpointer
measure_main (gpointer data)
{
  LatentRtStream *rt = data;
  if (!g_getenv ("LATENT_RT_NO_FIFO"))
    try_fifo ();
  rt->step_us = measure_step (rt);
  return NULL;
}

/* Latency, rings and scratch for rt->block, rt->in_ch and rt->out_ch; starts the worker. */
static gboolean
setup_rings (LatentRtStream *rt, const LatentRtConfig *config, GError **error)
{
  int host = MAX (0, config->max_host_block);
  rt->latency = rt->block + MAX (rt->block, host);
  rt->mode = config->latency;
  rt->work_in = g_new0 (float, (gsize) rt->block * rt->in_ch);
  if (rt->mode == LATENT_RT_LATENCY_LOW) {
    if (rt->down) {
      /* measure_step runs whole resampling steps: start them as the worker would. */
      rt->host_out_fill = rt->delay;
    }
    double worst = 0; /* fixed: no timing */
    if (!latent_rt_margin_fixed ()) {
      g_thread_join (g_thread_new ("latent-rt-measure", measure_main, rt));
      worst = rt->step_us;
    }
    if (worst < 0) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_RUN, "timing the worker step: %s",
          rt->error[0] ? rt->error : "failed");
      return FALSE;
    }
    rt->step_us = worst;
    /* At most one block: a step slower than a block cannot keep up whatever the latency, and
     * a warm-up caught in a load spike must not make low slower than safe. */
    int m = latent_rt_margin_frames (worst, rt->rate);
    if (config->margin_hint > 0 && m <= 2 * config->margin_hint)
      m = config->margin_hint;
    rt->margin = MIN (m, rt->block);
    rt->latency = rt->block + (host > 0 ? host : rt->block) + rt->margin;
  }
  rt->chunk = rt->block;
  rt->window = 2 * (int64_t) rt->latency;
  rt->in_size = round_up_pow2 (2 * ((int64_t) rt->latency + rt->delay + rt->chunk
      + rt->block));
  rt->n_slots = (int) (rt->in_size / rt->block) + 2;
  rt->in_ring = g_new0 (float, (gsize) rt->in_size * rt->in_ch);
  rt->out_ring = g_new0 (float, (gsize) rt->n_slots * rt->block * rt->out_ch);
  rt->tags = g_new (_Atomic int64_t, rt->n_slots);
  for (int c = 0; c < LATENT_RT_MAX_AFFINE; c++) {
    rt->wanted.scale[c] = rt->sent.scale[c] = 1.0f;
  }
  rt->wanted.n = rt->sent.n = rt->affine_channels;
  clear_state (rt);
  start_worker (rt);
  return TRUE;
}

LatentRtStream *
latent_rt_stream_new_custom (const LatentRtProcessor *processor, const LatentRtConfig *config,
    GError **error)
{
  g_return_val_if_fail (processor && processor->process && config, NULL);
  if (processor->block < 1 || processor->in_channels < 1 || processor->out_channels < 1) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "real-time processor: block %d, %d in and %d out channels (each must be >= 1)",
        processor->block, processor->in_channels, processor->out_channels);
    if (processor->destroy)
      processor->destroy (processor->user_data);
    return NULL;
  }
  LatentRtStream *rt = g_new0 (LatentRtStream, 1);
  rt->processor = *processor;
  rt->affine_stage = -1;
  rt->rate = config->rate > 0 ? config->rate : 48000;
  rt->block = processor->block;
  rt->in_ch = processor->in_channels;
  rt->out_ch = processor->out_channels;
  rt->work_mid[0] = g_new0 (float, (gsize) rt->block * rt->out_ch);
  atomic_store (&rt->threads, MAX (1, config->threads));
  rt->applied_threads = MAX (1, config->threads);
  if (processor->set_threads)
    processor->set_threads (processor->user_data, MAX (1, config->threads));
  sem_init (&rt->work_sem, 0, 0);
  sem_init (&rt->done_sem, 0, 0);
  sem_init (&rt->started_sem, 0, 0);
  if (!setup_resampling (rt, config, error)) {
    latent_rt_stream_free (rt);
    return NULL;
  }
  if (!setup_rings (rt, config, error)) {
    latent_rt_stream_free (rt);
    return NULL;
  }
  return rt;
}

void
latent_rt_stream_free (LatentRtStream *rt)
{
  if (!rt)
    return;
  stop_worker (rt);
  for (int i = 0; i < LATENT_RT_MAX_STAGES; i++) {
    latent_stream_free (rt->stages[i]);
    g_free (rt->work_mid[i]);
  }
  latent_model_free (rt->model);
  if (rt->processor.destroy)
    rt->processor.destroy (rt->processor.user_data);
  g_free (rt->in_ring);
  g_free (rt->out_ring);
  g_free ((gpointer) rt->tags);
  g_free (rt->work_in);
  latent_resampler_free (rt->down);
  latent_resampler_free (rt->up);
  g_free (rt->model_in);
  g_free (rt->host_out);
  sem_destroy (&rt->work_sem);
  sem_destroy (&rt->done_sem);
  sem_destroy (&rt->started_sem);
  g_free (rt);
}

LatentModel *
latent_rt_stream_get_model (LatentRtStream *rt)
{
  return rt->model;
}

int
latent_rt_stream_get_latency (const LatentRtStream *rt)
{
  return rt->latency + rt->delay;
}

LatentRtLatency
latent_rt_stream_get_latency_mode (const LatentRtStream *rt)
{
  return rt->mode;
}

int
latent_rt_stream_get_margin (const LatentRtStream *rt)
{
  return rt->margin;
}

double
latent_rt_stream_get_measured_step_us (const LatentRtStream *rt)
{
  return rt->step_us;
}

int
latent_rt_stream_get_model_block (const LatentRtStream *rt)
{
  return rt->model_block;
}

int
latent_rt_stream_get_resample_delay (const LatentRtStream *rt)
{
  return rt->delay;
}

uint64_t
latent_rt_stream_get_resample_shortfalls (const LatentRtStream *rt)
{
  return atomic_load (&((LatentRtStream *) rt)->shortfalls);
}

int
latent_rt_stream_get_block (const LatentRtStream *rt)
{
  return rt->block;
}

int
latent_rt_stream_get_in_channels (const LatentRtStream *rt)
{
  return rt->in_ch;
}

int
latent_rt_stream_get_out_channels (const LatentRtStream *rt)
{
  return rt->out_ch;
}

int
latent_rt_stream_get_affine_channels (const LatentRtStream *rt)
{
  return rt->affine_channels;
}

uint64_t
latent_rt_stream_get_underruns (const LatentRtStream *rt)
{
  return atomic_load (&((LatentRtStream *) rt)->underruns);
}

uint64_t
latent_rt_stream_get_overruns (const LatentRtStream *rt)
{
  return atomic_load (&((LatentRtStream *) rt)->overruns);
}

uint64_t
latent_rt_stream_get_blocks (const LatentRtStream *rt)
{
  return atomic_load (&((LatentRtStream *) rt)->blocks);
}

uint64_t
latent_rt_stream_get_non_finite (const LatentRtStream *rt)
{
  const LatentModel *model = rt->model ? rt->model : rt->processor.model;
  return model ? latent_model_get_non_finite_count (model) : 0;
}

const char *
latent_rt_stream_get_error (const LatentRtStream *rt)
{
  return atomic_load_explicit (&((LatentRtStream *) rt)->failed, memory_order_acquire)
      ? rt->error : NULL;
}

void
latent_rt_stream_set_threads (LatentRtStream *rt, int threads)
{
  atomic_store_explicit (&rt->threads, MAX (1, threads), memory_order_relaxed);
}

/* ----------------------------------------------------------------- worker */

static void
apply_due_updates (LatentRtStream *rt, int64_t block_start)
{
  uint32_t tail = atomic_load_explicit (&rt->queue_tail, memory_order_relaxed);
  uint32_t head = atomic_load_explicit (&rt->queue_head, memory_order_acquire);
  const AffineUpdate *last = NULL;
  while (tail != head && rt->queue[tail % PARAM_QUEUE].time <= block_start) {
    last = &rt->queue[tail % PARAM_QUEUE];
    /* Apply before releasing the slot: the audio thread may reuse it right after. */
    latent_stream_set_input_affine (rt->stages[rt->affine_stage], last->bias, last->scale,
        last->n);
    tail++;
    atomic_store_explicit (&rt->queue_tail, tail, memory_order_release);
  }
}

static void
fail_worker (LatentRtStream *rt, GError *error)
{
  g_strlcpy (rt->error, error ? error->message : "failed", sizeof rt->error);
  g_clear_error (&error);
  atomic_store_explicit (&rt->failed, 1, memory_order_release);
  sem_post (&rt->done_sem);
}

/* One model block: Bm input frames -> Bm output frames (*out points into worker scratch). */
static gboolean
run_model (LatentRtStream *rt, const float *in, const float **out)
{
  GError *error = NULL;
  if (!rt->model) {
    if (!rt->processor.process (rt->processor.user_data, in, rt->work_mid[0], rt->model_block,
            &error)) {
      fail_worker (rt, error);
      return FALSE;
    }
    in = rt->work_mid[0];
  }
  for (int i = 0; i < rt->n_stages; i++) {
    int frames = latent_stream_get_block (rt->stages[i]);
    if (!latent_stream_process (rt->stages[i], in, (size_t) frames, rt->work_mid[i], NULL,
            &error)) {
      fail_worker (rt, error);
      return FALSE;
    }
    in = rt->work_mid[i];
  }
  *out = in;
  return TRUE;
}

/* Resampling step: B host frames in work_in -> B host frames in *out (host_out's head). */
static gboolean
run_resampled (LatentRtStream *rt, const float **out)
{
  const int in_ch = rt->in_ch, out_ch = rt->out_ch, Bm = rt->model_block, B = rt->block;
  rt->model_in_fill += latent_resampler_process (rt->down, rt->work_in, B,
      rt->model_in + (size_t) rt->model_in_fill * in_ch);
  int used = 0;
  while (rt->model_in_fill - used >= Bm) {
    const float *model_out;
    if (!run_model (rt, rt->model_in + (size_t) used * in_ch, &model_out))
      return FALSE;
    used += Bm;
    if (rt->host_out_fill + latent_resampler_get_max_out (rt->up) > rt->host_out_cap) {
      /* Cannot happen with the queue sized as above; never write past it. */
      fail_worker (rt, g_error_new (LATENT_ERROR, LATENT_ERROR_SHAPE,
          "resampling queue overflow (%d frames)", rt->host_out_fill));
      return FALSE;
    }
    rt->host_out_fill += latent_resampler_process (rt->up, model_out, Bm,
        rt->host_out + (size_t) rt->host_out_fill * out_ch);
  }
  rt->model_in_fill -= used;
  memmove (rt->model_in, rt->model_in + (size_t) used * in_ch,
      sizeof (float) * rt->model_in_fill * in_ch);
  if (rt->host_out_fill < B) {
    memset (rt->host_out + (size_t) rt->host_out_fill * out_ch, 0,
        sizeof (float) * (B - rt->host_out_fill) * out_ch);
    atomic_fetch_add (&rt->shortfalls, (uint64_t) (B - rt->host_out_fill));
    rt->host_out_fill = B;
  }
  *out = rt->host_out;
  return TRUE;
}

static gboolean
run_step (LatentRtStream *rt, int64_t k)
{
  if (rt->affine_stage >= 0)
    apply_due_updates (rt, k * rt->block);
  int threads = atomic_load_explicit (&rt->threads, memory_order_relaxed);
  if (!rt->model) {
    if (threads != rt->applied_threads && rt->processor.set_threads)
      rt->processor.set_threads (rt->processor.user_data, threads);
    rt->applied_threads = threads;
  } else if (threads != latent_model_get_threads (rt->model))
    latent_model_set_threads (rt->model, threads);
  const float *in;
  if (rt->down ? !run_resampled (rt, &in) : !run_model (rt, rt->work_in, &in))
    return FALSE;
  int slot = (int) (k % rt->n_slots);
  memcpy (rt->out_ring + (size_t) slot * rt->block * rt->out_ch, in,
      sizeof (float) * rt->block * rt->out_ch);
  if (rt->down) {
    rt->host_out_fill -= rt->block;
    memmove (rt->host_out, rt->host_out + (size_t) rt->block * rt->out_ch,
        sizeof (float) * rt->host_out_fill * rt->out_ch);
  }
  atomic_store_explicit (&rt->tags[slot], k, memory_order_release);
  atomic_fetch_add_explicit (&rt->blocks, 1, memory_order_relaxed);
  sem_post (&rt->done_sem);
  return TRUE;
}

/* The worker's deadline is audio's: ask for SCHED_FIFO at the lowest priority, above every
 * ordinary thread (a CPU hog, a build) and below any host audio thread. Refused (no
 * RLIMIT_RTPRIO, a container): it stays an ordinary thread. */
static gboolean
try_fifo (void)
{
  struct sched_param sp = { .sched_priority = sched_get_priority_min (SCHED_FIFO) };
  return pthread_setschedparam (pthread_self (), SCHED_FIFO, &sp) == 0;
}

static void
raise_worker_priority (LatentRtStream *rt)
{
  if (!g_getenv ("LATENT_RT_NO_FIFO"))
    atomic_store (&rt->worker_fifo, try_fifo ());
}

int
latent_rt_stream_get_worker_fifo (const LatentRtStream *rt)
{
  return atomic_load (&((LatentRtStream *) rt)->worker_fifo);
}

static gpointer
worker_main (gpointer data)
{
  LatentRtStream *rt = data;
  raise_worker_priority (rt);
  sem_post (&rt->started_sem);
  const int64_t B = rt->block;
  /* Frames the audio thread may be writing beyond what it has published. */
  const int64_t safe = rt->in_size - rt->chunk;
  while (atomic_load (&rt->running)) {
    int64_t w = atomic_load_explicit (&rt->written, memory_order_acquire);
    int64_t k = rt->next_block;
    if ((k + 1) * B > w) {
      sem_wait (&rt->work_sem);
      continue;
    }
    if (atomic_load_explicit (&rt->failed, memory_order_relaxed)) {
      rt->next_block = w / B; /* keep up, run nothing */
      continue;
    }
    if (w - k * B > safe) {
      int64_t skip_to = w / B - 1;
      atomic_fetch_add (&rt->overruns, (uint64_t) (skip_to - k));
      rt->next_block = skip_to;
      continue;
    }
    for (int64_t i = 0; i < B; i++) {
      const float *src = rt->in_ring + ((k * B + i) & (rt->in_size - 1)) * rt->in_ch;
      memcpy (rt->work_in + i * rt->in_ch, src, sizeof (float) * rt->in_ch);
    }
    /* Seqlock-style check: were those frames overwritten while copying? */
    w = atomic_load_explicit (&rt->written, memory_order_acquire);
    if (w - k * B > safe) {
      atomic_fetch_add (&rt->overruns, 1);
      rt->next_block = w / B - 1;
      continue;
    }
    if (run_step (rt, k))
      rt->next_block = k + 1;
  }
  return NULL;
}

/* ------------------------------------------------------------ audio thread */

void
latent_rt_stream_set_affine (LatentRtStream *rt, const float *bias, const float *scale, int n)
{
  if (rt->affine_stage < 0)
    return;
  n = MIN (n, rt->affine_channels);
  for (int c = 0; c < rt->affine_channels; c++) {
    float b = bias && c < n ? bias[c] : 0.0f;
    float s = scale && c < n ? scale[c] : 1.0f;
    if (b != rt->wanted.bias[c] || s != rt->wanted.scale[c]) {
      rt->wanted.bias[c] = b;
      rt->wanted.scale[c] = s;
      rt->affine_pending = TRUE;
    }
  }
}

static void
flush_affine (LatentRtStream *rt, int64_t now)
{
  if (!rt->affine_pending)
    return;
  uint32_t head = atomic_load_explicit (&rt->queue_head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit (&rt->queue_tail, memory_order_acquire);
  if (head - tail >= PARAM_QUEUE)
    return; /* full: keep the values, try on the next call */
  AffineUpdate *u = &rt->queue[head % PARAM_QUEUE];
  u->time = now;
  u->n = rt->affine_channels;
  memcpy (u->bias, rt->wanted.bias, sizeof (float) * rt->affine_channels);
  memcpy (u->scale, rt->wanted.scale, sizeof (float) * rt->affine_channels);
  atomic_store_explicit (&rt->queue_head, head + 1, memory_order_release);
  rt->affine_pending = FALSE;
}

static gboolean
host_is_offline (LatentRtStream *rt, int64_t t)
{
  /* Audio delivered (frames before this call) against wall time, from the older anchor. A
   * real-time host cannot deliver audio at twice the speed of the clock over a block or more;
   * an offline one does it a thousand times over. */
  gint64 now = g_get_monotonic_time ();
  if (t - rt->anchor_frames[1] >= rt->window) {
    rt->anchor_frames[0] = rt->anchor_frames[1];
    rt->anchor_us[0] = rt->anchor_us[1];
    rt->anchor_frames[1] = t;
    rt->anchor_us[1] = now;
  }
  int64_t frames = t - rt->anchor_frames[0];
  if (frames < rt->block)
    return FALSE;
  double wall = (now - rt->anchor_us[0]) / (double) G_USEC_PER_SEC;
  /* Hysteresis: once offline, a hiccup of the host's own thread (a loaded machine stalls an
   * offline render too) must not flip the verdict back; only pacing near real time does. */
  rt->offline = wall < (rt->offline ? 0.8 : 0.5) * (double) frames / rt->rate;
  return rt->offline;
}

/* Waits (offline only) until block k is ready, the worker failed, or the limit passed. */
static gboolean
wait_for_block (LatentRtStream *rt, int64_t k, int slot)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_US;
  while (atomic_load_explicit (&rt->tags[slot], memory_order_acquire) != k) {
    if (atomic_load_explicit (&rt->failed, memory_order_acquire))
      return FALSE;
    if (g_get_monotonic_time () > deadline)
      return FALSE;
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    ts.tv_nsec += 50 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000;
    }
    sem_timedwait (&rt->done_sem, &ts);
  }
  return TRUE;
}

static void
process_chunk (LatentRtStream *rt, const float *in, float *out, float *dry, int64_t n,
    gboolean may_wait)
{
  const int64_t t = atomic_load_explicit (&rt->written, memory_order_relaxed);
  const int64_t mask = rt->in_size - 1;
  const int in_ch = rt->in_ch, out_ch = rt->out_ch;
  const int64_t B = rt->block, L = rt->latency;

  /* Input enters finite: the model and the dry path both read the ring (0 * Inf in a dry/wet
   * mix is NaN). */
  for (int64_t i = 0; i < n; i++) {
    float *frame = rt->in_ring + ((t + i) & mask) * in_ch;
    memcpy (frame, in + i * in_ch, sizeof (float) * in_ch);
    latent_replace_non_finite (frame, in_ch);
  }
  if (dry) {
    for (int64_t i = 0; i < n; i++) {
      int64_t src = t + i - L - rt->delay;
      if (src < 0)
        memset (dry + i * in_ch, 0, sizeof (float) * in_ch);
      else
        memcpy (dry + i * in_ch, rt->in_ring + (src & mask) * in_ch, sizeof (float) * in_ch);
    }
  }
  flush_affine (rt, t);
  atomic_store_explicit (&rt->written, t + n, memory_order_release);
  if ((t + n) / B != t / B)
    sem_post (&rt->work_sem);

  /* Output frames t - L .. t + n - 1 - L, block by block. */
  int64_t i = 0;
  while (i < n) {
    int64_t j = t + i - L;
    if (j < 0) {
      int64_t m = MIN (n - i, -j);
      memset (out + i * out_ch, 0, sizeof (float) * m * out_ch);
      i += m;
      continue;
    }
    int64_t k = j / B, off = j % B;
    int64_t m = MIN (n - i, B - off);
    int slot = (int) (k % rt->n_slots);
    gboolean ready = atomic_load_explicit (&rt->tags[slot], memory_order_acquire) == k;
    if (!ready && may_wait)
      ready = wait_for_block (rt, k, slot);
    if (ready)
      memcpy (out + i * out_ch, rt->out_ring + ((size_t) slot * B + off) * out_ch,
          sizeof (float) * m * out_ch);
    else {
      memset (out + i * out_ch, 0, sizeof (float) * m * out_ch);
      atomic_fetch_add_explicit (&rt->underruns, (uint64_t) m, memory_order_relaxed);
    }
    i += m;
  }
}

void
latent_rt_stream_process (LatentRtStream *rt, const float *in, float *out, float *dry,
    uint32_t n, LatentRtWait wait)
{
  if (!rt->started) {
    gint64 now = g_get_monotonic_time ();
    int64_t t0 = atomic_load_explicit (&rt->written, memory_order_relaxed);
    rt->anchor_frames[0] = rt->anchor_frames[1] = t0;
    rt->anchor_us[0] = rt->anchor_us[1] = now;
    rt->started = TRUE;
  }
  const int64_t t = atomic_load_explicit (&rt->written, memory_order_relaxed);
  gboolean may_wait = wait == LATENT_RT_WAIT_ALWAYS
      || (wait == LATENT_RT_WAIT_AUTO && host_is_offline (rt, t));
  uint32_t done = 0;
  while (done < n) {
    uint32_t m = MIN (n - done, (uint32_t) rt->chunk);
    process_chunk (rt, in + (size_t) done * rt->in_ch, out + (size_t) done * rt->out_ch,
        dry ? dry + (size_t) done * rt->in_ch : NULL, m, may_wait);
    done += m;
  }
}

gboolean
latent_rt_stream_reset (LatentRtStream *rt, GError **error)
{
  stop_worker (rt);
  gboolean ok = TRUE;
  for (int i = 0; i < rt->n_stages && ok; i++)
    ok = latent_stream_reset (rt->stages[i], error);
  if (!rt->model && rt->processor.reset)
    ok = rt->processor.reset (rt->processor.user_data, error);
  if (rt->affine_stage >= 0)
    latent_stream_set_input_affine (rt->stages[rt->affine_stage], rt->wanted.bias,
        rt->wanted.scale, rt->affine_channels);
  clear_state (rt);
  start_worker (rt);
  return ok;
}
