/* latent: real-time streaming for hosts whose audio thread must never run inference.
 *
 * A LatentRtStream owns a model and a chain of methods on it (e.g. "encode" then "decode"),
 * and a worker thread (GThread) that runs the chain on whole blocks of B frames. The audio
 * thread only copies frames in and out of lock-free single-producer/single-consumer rings:
 *
 *   audio thread                         worker thread
 *   latent_rt_stream_process():           waits on a semaphore; for each complete input block k:
 *     writes input at time t into ring  ->  copies it, applies queued bias/scale due by k*B,
 *     publishes t (atomic, release)         runs the chain (LatentStream per method),
 *     sem_post() when a block completes     writes block k's output into its slot, tags the slot
 *     reads output for time t - L        <- with k (atomic, release), sem_post(done)
 *
 * Latency (config->latency picks the mode; H = the largest host block announced at creation):
 *   LATENT_RT_LATENCY_SAFE: L = B + max(B, H) (0 or anything <= B gives L = 2 B), B >= 2048
 *     samples: the worker has about L - B - H frames of time, at least one block, to run a
 *     block. The behaviour before latency modes existed.
 *   LATENT_RT_LATENCY_LOW: B = the smallest valid block covering LATENT_RT_LOW_MIN_SAMPLES
 *     (latent_rt_block_count; one latent frame for real models), and
 *     L = B + H' + M, H' = H (B when the host announced none), and M the
 *     compute margin measured at creation: M = ceil(rate * (LATENT_RT_MARGIN_FACTOR * worst +
 *     LATENT_RT_MARGIN_FLOOR_US)) rounded up to LATENT_RT_MARGIN_STEP frames, worst = the
 *     slowest of LATENT_RT_MARGIN_RUNS worker steps run on zeros before the worker starts, on
 *     a thread scheduled as the worker (state reset afterwards; warm the model up first), and
 *     at most B (a step slower than a block cannot keep up whatever the latency, and a
 *     warm-up caught in a load spike must not make low worse than safe's headroom).
 *     The environment variable LATENT_RT_MARGIN_US, when set, gives M's time instead (M =
 *     ceil(rate * value / 1e6), no measurement): reproducible latencies for tests.
 *     Why B + H + M suffices: block k is complete once the host call holding input frame
 *     (k+1) B - 1 has run, at most H - 1 frames later; its first output frame k B is due in
 *     the call holding input frame k B + L, which a real-time host runs no earlier than
 *     L - B - H + 2 frames after that: at least M frames of wall time for the worker.
 * Output frame t is the chain's output for input frame t - L, whatever the host's block
 * pattern (1 frame, 64, 1000 or varying), so output is identical for identical input. The
 * chain must run faster than real time.
 *
 * If the block an output frame needs is not ready, the audio thread writes zeros for it and
 * counts an underrun; it never waits, takes no lock, allocates nothing and does no I/O
 * (sem_post is async-signal-safe and never blocks; clock_gettime for pacing is a vDSO call).
 * The one exception is hosts that run faster than real time (offline renders: lv2apply,
 * gst-launch from files, a DAW's freewheeling export): there waiting costs no deadline, and
 * the caller may ask the audio thread to wait for the worker (LATENT_RT_WAIT_ALWAYS), or let
 * the stream decide (LATENT_RT_WAIT_AUTO): it waits only when the host has delivered audio at
 * more than twice the speed of the wall clock over the recent past (one to two windows of 2 L
 * frames, at least one block B), which a real-time host cannot do; at the switch from real
 * time to offline, up to two windows may still underrun. Once offline, it stays so until the
 * host delivers at less than 1.25 times the clock's speed (a stall of an offline render's own
 * thread, common on a loaded machine, does not flip it back: with a low latency L the windows
 * are short). Waits are bounded (2 s per block).
 *
 * Latent bending: latent_rt_stream_set_affine() queues bias/scale (time-stamped with the input
 * frame count) on a lock-free queue; the worker applies an update from the first block that
 * starts at or after its time stamp, so a change lands on the same frame whatever the host
 * block pattern. The chain's input and output must have the same frame rate (ratios multiply
 * to 1, e.g. audio -> latent -> audio).
 *
 * Resampling: with config->model_rate set and different from config->rate, the rings and the
 * audio thread stay at the host rate and the worker converts (libsamplerate, allocated at
 * creation; the audio thread does nothing more). A step of B host frames gives about
 * B * model_rate / rate model frames; every complete model block Bm runs, and its output is
 * converted back. The host side is primed with D frames of silence, the least that keeps
 * every step's B output frames ready: D = ceil((d1 + Bm - 1) * rate / model_rate + d2), d1
 * and d2 the converters' lags (latent_resampler_get_lag). The converters are linear phase and
 * aligned, so the latency is exactly L + D: latent_rt_stream_get_latency() reports it, and
 * `dry` is delayed by it. */
#ifndef LATENT_RT_H
#define LATENT_RT_H

#include <glib.h>
#include <stdint.h>

#include "latent-types.h"

G_BEGIN_DECLS

#define LATENT_RT_MAX_STAGES 4
#define LATENT_RT_MAX_AFFINE 128

typedef enum {
  LATENT_RT_WAIT_NEVER,  /* real-time host: missing output is silence (underrun) */
  LATENT_RT_WAIT_ALWAYS, /* offline or freewheeling host: wait for the worker */
  LATENT_RT_WAIT_AUTO,   /* wait only when the host demonstrably runs faster than real time */
} LatentRtWait;

typedef enum {
  LATENT_RT_LATENCY_SAFE = 0, /* L = B + max(B, H), B >= 2048 samples (see above) */
  LATENT_RT_LATENCY_LOW = 1,  /* L = B + H + M, B the smallest valid block, M measured */
} LatentRtLatency;

#define LATENT_RT_MARGIN_RUNS 8        /* worker steps timed at creation (LOW) */
#define LATENT_RT_MARGIN_FACTOR 2.0    /* safety factor on the slowest of them */
#define LATENT_RT_MARGIN_FLOOR_US 3000 /* scheduling jitter of a non-real-time worker */
#define LATENT_RT_MARGIN_STEP 64       /* M is rounded up to a multiple of this (frames), so
                                        * reloads of one model mostly report one latency */

#define LATENT_RT_LOW_MIN_SAMPLES 256 /* LOW: a step covers at least this many samples, so
                                        * toy models with ratio 4 do not pay a model call (and
                                        * a thread switch) every 4 samples */

/* Whole minimum blocks per worker step for a method whose minimum block covers
 * `samples_per_min_block` audio samples: the fewest covering >= 2048 samples (SAFE) or
 * LATENT_RT_LOW_MIN_SAMPLES (LOW: 1 for real models, whose ratio is 512 to 2048). */
int latent_rt_block_count (int samples_per_min_block, LatentRtLatency mode);
/* The worker block (input frames) `mode` picks for a method (min block * the count above). */
int latent_rt_method_block (const LatentMethodInfo *info, LatentRtLatency mode);
/* M in frames at `rate` for a slowest step of `worst_us` (the LOW formula below, rounded up to
 * LATENT_RT_MARGIN_STEP; LATENT_RT_MARGIN_US overrides it). */
int latent_rt_margin_frames (double worst_us, double rate);
/* Whether LATENT_RT_MARGIN_US fixes M (read once, at the first call of either function). */
gboolean latent_rt_margin_fixed (void);
/* A chain of elements that each run a model on their own streaming thread (GStreamer's
 * raveencode ! ravedecode): each adds to the path's latency the frames its block waits for
 * and only the part of the compute margin that the steps upstream did not already report.
 * The timing one element passes to the next: */
typedef struct {
  double compute_us; /* slowest timed calls of the low-latency elements upstream, summed */
  int margin;        /* the compute margin they reported, samples */
  int push_samples;  /* what the nearest latent element upstream pushes at once; 0: unknown */
} LatentRtChainTiming;
/* One element of such a chain. */
typedef struct {
  int block_frames;     /* input frames per model call */
  int in_ratio;         /* audio samples per input frame */
  gboolean pushes_blocks; /* it pushes one whole block of output at a time (latent output) */
  gboolean sink_is_latent; /* fed by a latent element: upstream's pushes arrive whole */
  LatentRtLatency mode;
  double step_us;       /* its slowest timed call */
  int load_margin;      /* the margin measured at load, used when it is alone in the chain */
} LatentRtChainStep;
/* Input frames a block of `block` frames waits for after its first one arrived, when upstream
 * delivers `burst` frames at once counted from the same origin (1: frame by frame), beyond
 * the wait upstream already reported for the first frame of its push (burst - 1). */
int latent_rt_block_wait_frames (int block, int burst);
/* The latency `step` adds to its path, in audio samples at `rate`; `chain` holds upstream's
 * timing on entry and the timing to pass downstream on return. */
int64_t latent_rt_chain_latency (const LatentRtChainStep *step, double rate,
    LatentRtChainTiming *chain);
/* Not real-time: the slowest of LATENT_RT_MARGIN_RUNS calls of `method` on `block` frames of
 * zeros (warm the model up first), in microseconds; the model's state is reset afterwards.
 * -1 with `error` when a call fails. For elements that run the model on their own streaming
 * thread (GStreamer), whose latency is their block plus this margin. */
double latent_rt_time_method (LatentModel *model, const char *method, int block,
    GError **error);

typedef struct {
  int block;          /* input frames per worker step; 0: latent_rt_method_block of the first
                       * method for config->latency */
  int max_host_block; /* largest host block expected (LV2 bufsz:maxBlockLength); 0: unknown */
  int affine_stage;   /* index of the method whose input gets bias/scale; -1: none */
  double rate;        /* host frame rate, for LATENT_RT_WAIT_AUTO's pacing check */
  int threads;        /* intra-op threads (>= 1) */
  /* The model's frame rate; 0 or equal to `rate`: none. When it differs, the worker
   * resamples (latent-resample.h): each step takes B = ceil(Bm * rate / model_rate) host
   * frames (Bm: the model block), converts them to the model rate, runs every model block
   * that is complete, and converts the output back; see "Resampling" above. */
  double model_rate;
  /* Input channels (bit i = channel i) resampled by holding values (controls, MIDI pitch
   * and velocity) instead of filtering them. */
  uint64_t hold_channels;
  LatentRtLatency latency; /* SAFE (0) or LOW: the latency formula above */
  /* LOW: the margin a previous stream of the same plugin instance used (frames; 0: none). It is
   * kept when the new measurement is at most twice it, so a reload of the same or a similar
   * model (a preset, a copy) reports the same latency and the host need not re-align. */
  int margin_hint;
} LatentRtConfig;

typedef struct LatentRtStream LatentRtStream;

/* Takes ownership of `model` (freed with the stream, also on failure). Starts the worker
 * thread. Not real-time safe. */
LatentRtStream *latent_rt_stream_new (LatentModel *model, const char *const *methods,
    int n_methods, const LatentRtConfig *config, GError **error);
/* A stream whose worker runs caller code instead of a method chain (several models, a
 * terrain, MIDI voices...). Every callback runs on the worker thread only, so user_data needs
 * no locking against the stream; values set from the audio thread reach it through atomics. */
typedef struct {
  int block;        /* B: frames per call, in and out */
  int in_channels;  /* interleaved input channels */
  int out_channels; /* interleaved output channels */
  /* Turns B input frames into B output frames. FALSE (with error) stops the stream. */
  gboolean (*process) (gpointer user_data, const float *in, float *out, int block,
      GError **error);
  gboolean (*reset) (gpointer user_data, GError **error); /* may be NULL */
  void (*set_threads) (gpointer user_data, int threads);  /* may be NULL */
  gpointer user_data;
  GDestroyNotify destroy; /* frees user_data with the stream (also on failure); may be NULL */
  const LatentModel *model; /* the model process runs, for its non-finite count; may be NULL */
} LatentRtProcessor;

/* Same rings, latency and waiting rules as latent_rt_stream_new; config->block and
 * affine_stage are ignored (processor->block is B; no bias/scale). get_model returns NULL. */
LatentRtStream *latent_rt_stream_new_custom (const LatentRtProcessor *processor,
    const LatentRtConfig *config, GError **error);
/* Stops and joins the worker, frees the model. Not real-time safe. */
void latent_rt_stream_free (LatentRtStream *rt);

LatentModel *latent_rt_stream_get_model (LatentRtStream *rt);
int latent_rt_stream_get_latency (const LatentRtStream *rt); /* L (+ D when resampling) */
int latent_rt_stream_get_block (const LatentRtStream *rt);   /* B (host frames) */
/* The model's block Bm (B when not resampling), and D (0 when not resampling). */
int latent_rt_stream_get_model_block (const LatentRtStream *rt);
int latent_rt_stream_get_resample_delay (const LatentRtStream *rt);
/* The latency mode, the margin M (0 in SAFE) and the slowest step measured at creation
 * (microseconds; 0 in SAFE). */
LatentRtLatency latent_rt_stream_get_latency_mode (const LatentRtStream *rt);
int latent_rt_stream_get_margin (const LatentRtStream *rt);
double latent_rt_stream_get_measured_step_us (const LatentRtStream *rt);
int latent_rt_stream_get_in_channels (const LatentRtStream *rt);
int latent_rt_stream_get_out_channels (const LatentRtStream *rt);
/* Input channels of the affine stage (the latent size for encode -> decode), 0 if none. */
int latent_rt_stream_get_affine_channels (const LatentRtStream *rt);

/* Audio thread. `in` and `dry` (may be NULL) are interleaved [n][in_channels], `out`
 * [n][out_channels]; `dry` receives the input delayed by L, to mix with `out`. */
void latent_rt_stream_process (LatentRtStream *rt, const float *in, float *out, float *dry,
    uint32_t n, LatentRtWait wait);

/* Audio thread: bias/scale for the affine stage's input channels (n of them; the rest stay 0
 * and 1). Queued only when different from the last call; a full queue keeps the values for
 * the next call. */
void latent_rt_stream_set_affine (LatentRtStream *rt, const float *bias, const float *scale,
    int n);
/* Any thread: intra-op threads, applied by the worker before its next block. */
void latent_rt_stream_set_threads (LatentRtStream *rt, int threads);

/* Any thread: whether the worker runs SCHED_FIFO (it asks for the lowest real-time priority,
 * above ordinary threads such as a CPU hog and below any host audio thread; refused without
 * RLIMIT_RTPRIO, and never asked with LATENT_RT_NO_FIFO set). */
int latent_rt_stream_get_worker_fifo (const LatentRtStream *rt);
/* Any thread. Frames output as silence because their block was not ready. */
uint64_t latent_rt_stream_get_underruns (const LatentRtStream *rt);
/* Host frames the worker output as silence because the resampled model output fell short
 * (never, when D is right; tests check it). */
uint64_t latent_rt_stream_get_resample_shortfalls (const LatentRtStream *rt);
/* Input blocks the worker skipped because the audio thread had overwritten them. */
uint64_t latent_rt_stream_get_overruns (const LatentRtStream *rt);
/* Blocks the worker has run. */
uint64_t latent_rt_stream_get_blocks (const LatentRtStream *rt);
/* Any thread: output values the model returned as NaN/Inf (replaced by 0, state reset). */
uint64_t latent_rt_stream_get_non_finite (const LatentRtStream *rt);
/* The worker's error (the model raised); it then stops running blocks. NULL while none. */
const char *latent_rt_stream_get_error (const LatentRtStream *rt);

/* Not real-time safe: stops the worker, drops buffered audio, resets the model's state
 * (latent_stream_reset), clears counters and pacing, restarts the worker. */
gboolean latent_rt_stream_reset (LatentRtStream *rt, GError **error);

/* ------------------------------------------------- opening a model for streaming */

/* The one recipe every adapter (GStreamer element, LV2 plugin) follows to open a model for
 * streaming, off the real-time path (AFTER exports: latent_after_open, in the same order):
 *   1. open the file (latent_model_open with `threads` intra-op threads);
 *   2. choose the chain (`methods`, else `fallback` when the file lacks one of them) and check
 *      it: every method exists with usable _params, the first takes `in_channels` (when set),
 *      each next one what the previous gives;
 *   3. pick the block: `block` when set; else latent_rt_method_block of the first method for
 *      `latency` (a lone 1:1 method, forward, keeps the safe block: its _params state no
 *      granularity); an AFTER export's timbre: its chunk (latent_after_timbre_block);
 *   4. warm every method up at the block it will run (latent_model_warm_up);
 *   5. create the stream: latent_stream_open (a LatentStream run on the caller's thread: its
 *      negotiation refuses another rate than the model's), latent_rt_stream_open (a
 *      LatentRtStream: the host's rate is checked against the model's, and a difference is
 *      resampled on the worker), or latent_open_for_streaming then latent_rt_stream_new_custom
 *      (model_rate: LatentOpened.sample_rate) for a worker running caller code.
 * Errors name the file, the method, what was expected and what was found; on failure nothing
 * is left open. */
typedef struct {
  const char *path;
  const char *const *methods;  /* the chain, NULL-terminated: each takes the previous output */
  const char *const *fallback; /* NULL-terminated, or NULL: the chain when `methods` is not
                                * all there (RAVE: forward instead of encode, decode) */
  int in_channels;             /* channels the caller feeds the first method; 0: any */
  int threads;                 /* intra-op threads (>= 1) */
  LatentRtLatency latency;     /* picks the block; LatentStream: LOW also times the margin */
  int block;                   /* input frames per call of the first method; 0: picked */
} LatentOpenRequest;

typedef struct {
  LatentModel *model;         /* the caller's (a LatentRtStream takes it over) */
  const char *const *methods; /* the chain used: the request's methods or fallback */
  int n_methods;
  LatentMethodInfo info;      /* the first method's */
  int block;                  /* input frames per call of the first method */
  int sample_rate;            /* the model's own rate, 0 when it states none */
  /* latent_stream_open in LOW: the compute margin (audio samples at the model's rate, 44.1 kHz
   * when it states none; at most one block) and the slowest of the timed calls (us; 0 when
   * LATENT_RT_MARGIN_US fixes the margin). 0 otherwise. */
  int margin;
  double step_us;
} LatentOpenedModel;

/* Whether a stream at `host_rate` must resample a model stating `model_rate` (0: none): it
 * states one, half a Hertz or more away. */
gboolean latent_rt_rates_differ (double model_rate, double host_rate);
/* Steps 1 to 4; `opened` receives the model (free it, or hand it to a stream). */
gboolean latent_open_for_streaming (const LatentOpenRequest *request,
    LatentOpenedModel *opened, GError **error);
/* Steps 1 to 5 for the first method of the chain alone, in a LatentStream (which does not own
 * opened->model: free the model after the stream). */
LatentStream *latent_stream_open (const LatentOpenRequest *request, LatentOpenedModel *opened,
    GError **error);
/* Steps 1 to 5 in a LatentRtStream (owning the model). `host` gives the host side (rate,
 * max_host_block, hold_channels, margin_hint); its block, threads, latency, model_rate and
 * affine_stage come from the request and the model (affine_method: the method whose input gets
 * bias/scale when the chain has it; NULL: none). */
LatentRtStream *latent_rt_stream_open (const LatentOpenRequest *request,
    const char *affine_method, const LatentRtConfig *host, GError **error);

/* A terrain played through a decoder (urn:latent:terrain): a LatentRtStream whose worker turns
 * 2 interleaved channels (x, y) at audio rate into 1 channel of audio. Per latent frame the
 * terrain runs at the coordinate of the frame's centre, interpolated linearly (the core rule,
 * latent_terrain_sample_control; 1-dim terrains use x only, dims past the second get 0), then
 * the decoder's `decode` turns the frames into audio (channels averaged to mono). Not
 * real-time: loads both files, checks that they fit each other (LATENT_ERROR_SHAPE naming the
 * file and both numbers), opens the decoder by latent_open_for_streaming (the block: one
 * latent frame in LOW, the fewest covering 2048 samples in SAFE) and starts the worker. A
 * decoder at another rate than the host's is resampled on the worker (x and y held), the
 * delay part of the stream's latency. margin_hint: LatentRtConfig.margin_hint. */
LatentRtStream *latent_rt_terrain_stream_open (const char *terrain_path,
    const char *model_path, double rate, int max_host_block, int threads,
    LatentRtLatency latency, int margin_hint, GError **error);

G_END_DECLS

#endif /* LATENT_RT_H */
