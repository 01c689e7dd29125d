/* latent: the shared C core. Public API used by the GStreamer, LV2 and CLI adapters.
 * Plain C11 + GLib; never includes GStreamer or LV2 headers. This header brings the whole API:
 * models and streams (below), Latent Terrains (latent-terrain.h), AFTER timbre transfer
 * (latent-after.h), real-time streaming (latent-rt.h) and resampling (latent-resample.h);
 * each of those also compiles on its own.
 *
 * Usage: a whole program that plays one second of a sine through a RAVE model (audio to latents
 * to audio, fed in blocks of 512 frames as a host would) and reads the latent at one point of
 * a Latent Terrain. The test unit/example-usage builds this very text with -Werror and runs it
 * on models/rave-gm.ts and models/terrain-gm.pt.
 *
 *   #include "latent.h"
 *
 *   #include <math.h>
 *   #include <stdio.h>
 *
 *   static gboolean
 *   play_sine (LatentStream *encoder, LatentStream *decoder, int rate, GError **error)
 *   {
 *     enum { N = 44100, HOP = 512 };
 *     int dims = latent_stream_get_info (encoder)->out_channels; // the latent size
 *     // A stream tells how many frames a call will write: size the outputs with it.
 *     size_t n_latents = latent_stream_output_frames (encoder, N);
 *     float *audio = g_new (float, N), *latents = g_new (float, n_latents * dims);
 *     float *out = g_new (float, latent_stream_output_frames (decoder, n_latents));
 *     for (int t = 0; t < N; t++)
 *       audio[t] = 0.3f * sinf (2.0f * (float) G_PI * 220.0f * t / rate);
 *     gboolean ok = TRUE;
 *     size_t latents_done = 0, out_done = 0;
 *     for (int t = 0; ok && t < N; t += HOP) {
 *       int hop = MIN (HOP, N - t);
 *       size_t new_latents = latent_stream_output_frames (encoder, hop);
 *       size_t new_out = latent_stream_output_frames (decoder, new_latents);
 *       float *z = latents + latents_done * dims;
 *       ok = latent_stream_process (encoder, audio + t, hop, z, NULL, error)
 *           && latent_stream_process (decoder, z, new_latents, out + out_done, NULL, error);
 *       latents_done += new_latents;
 *       out_done += new_out;
 *     }
 *     if (ok) // the rest is buffered: latent_stream_flush() would pad and run it
 *       printf ("%d samples in, %zu out\n", N, out_done);
 *     g_free (out);
 *     g_free (latents);
 *     g_free (audio);
 *     return ok;
 *   }
 *
 *   int
 *   main (int argc, char **argv)
 *   {
 *     if (argc != 3) {
 *       g_printerr ("usage: %s MODEL.ts TERRAIN.pt\n", argv[0]);
 *       return 2;
 *     }
 *     GError *error = NULL;
 *     // A stream runs one method on whole model blocks and carries the model's state, so the
 *     // output does not depend on how the input is cut (block 0: the default size).
 *     LatentModel *model = latent_model_open (argv[1], 1, &error); // 1 intra-op thread
 *     LatentStream *encoder = model ? latent_stream_new (model, "encode", 0, &error) : NULL;
 *     LatentStream *decoder = encoder ? latent_stream_new (model, "decode", 0, &error) : NULL;
 *     int rate = model ? latent_model_get_sample_rate (model) : 0; // 0: the model states none
 *     gboolean ok = decoder && play_sine (encoder, decoder, rate ? rate : 44100, &error);
 *     // A terrain maps control coordinates (rave-gm's: x pitch, y loudness) to latents.
 *     LatentTerrain *terrain = ok ? latent_terrain_load (argv[2], &error) : NULL;
 *     ok = terrain != NULL;
 *     if (ok) {
 *       float point[LATENT_TERRAIN_MAX_CONTROL_DIMS] = { 0.0f, 1.0f }; // other dims 0
 *       float z[LATENT_TERRAIN_MAX_LATENT_DIMS];
 *       latent_terrain_forward_batch (terrain, point, 1, z);
 *       printf ("terrain at (0, 1): z[0] = %.3f\n", z[0]);
 *     } else {
 *       g_printerr ("%s\n", error->message); // names the file and what is wrong
 *       g_clear_error (&error);
 *     }
 *     latent_terrain_free (terrain);
 *     latent_stream_free (decoder);
 *     latent_stream_free (encoder);
 *     latent_model_free (model); // streams do not own their model: free it last
 *     return ok ? 0 : 1;
 *   }
 *
 * Real-time hosts: warm the model up first (latent_model_warm_up) and stream through a
 * LatentRtStream (latent-rt.h), whose audio side never runs the model. */
#ifndef LATENT_H
#define LATENT_H

#include <glib.h>
#include <stdint.h>
#include <stddef.h>

#include "latent-types.h"
#include "latent-terrain.h"
#include "latent-after.h"
#include "latent-rt.h"
#include "latent-resample.h"

G_BEGIN_DECLS

/* ---------------------------------------------------------------- models */

/* Opens a TorchScript model. Loads the torch backend module on first use.
 * `threads` is the intra-op thread count used for every call (>= 1). */
LatentModel *latent_model_open (const char *path, int threads, GError **error);
void latent_model_free (LatentModel *model);

const char *latent_model_get_path (const LatentModel *model);
/* The rate the model states (`sr`, `sampling_rate`, or `get_sample_rate()`), 0 if none. */
int latent_model_get_sample_rate (const LatentModel *model);
/* NULL-terminated, owned by the model. */
const char *const *latent_model_get_methods (const LatentModel *model);
const char *const *latent_model_get_attributes (const LatentModel *model);
gboolean latent_model_has_method (const LatentModel *model, const char *method);
/* Methods whose M_params exists but cannot be used, as "NAME (why)" (wrong length, values
 * that are not whole numbers, channels outside 1..LATENT_MAX_CHANNELS, ratios outside
 * 1..LATENT_MAX_RATIO or neither a multiple of the other). NULL-terminated, owned. */
const char *const *latent_model_get_refused_methods (const LatentModel *model);
#define LATENT_MAX_CHANNELS 4096
#define LATENT_MAX_RATIO (1 << 20)
/* The highest audio rate any element or plugin takes (Hz). */
#define LATENT_MAX_SAMPLE_RATE 768000
/* Fails with LATENT_ERROR_METHOD naming the file, the method and the methods that exist (or
 * why an existing method is unusable). */
gboolean latent_model_get_method_info (const LatentModel *model, const char *method,
    LatentMethodInfo *info, GError **error);
/* Frames a call must be a multiple of: max(1, out_ratio / in_ratio). */
int latent_method_info_min_block (const LatentMethodInfo *info);

void latent_model_set_threads (LatentModel *model, int threads);
int latent_model_get_threads (const LatentModel *model);

/* Attributes through the model's get_NAME() / set_NAME(value) methods. */
gboolean latent_model_get_attribute (LatentModel *model, const char *name, double *value,
    GError **error);
gboolean latent_model_set_attribute (LatentModel *model, const char *name, double value,
    GError **error);

/* Runs `method` once on batch 1. `in` is planar [in_channels][in_frames], `out` planar
 * [out_channels][in_frames * in_ratio / out_ratio]; in_frames must be a multiple of the
 * method's min block. Non-finite input values reach the model as 0, and `out` is always
 * finite (see latent_model_get_non_finite_count). Not thread-safe per model: one stream
 * per model instance. */
gboolean latent_model_run (LatentModel *model, const char *method, const float *in,
    int in_frames, float *out, GError **error);

/* Output values a model returned as NaN or Inf: latent_model_run replaces them by 0, counts
 * them here and resets the model's state (it may have gone non-finite too). Any thread. */
guint64 latent_model_get_non_finite_count (const LatentModel *model);

/* Clears streaming state: calls the model's `reset()` where it has one, else puts every state
 * tensor (buffers such as convolution caches) back to its value at load, in place. */
gboolean latent_model_reset (LatentModel *model, GError **error);

/* Turns TorchScript's slow first calls (graph optimisation) into start-up cost: runs `method`
 * on zeros a few times at `block` frames, then resets state. Call off the real-time path.
 * Afterwards, a graph optimisation inside a run counts as a streaming compilation. */
gboolean latent_model_warm_up (LatentModel *model, const char *method, int block, GError **error);

/* Whether a save to `path` can happen (checked before long work such as training): the path
 * is absent or a writable regular file (or a link to one), in a writable folder. The error
 * names the path and why: a FIFO, device node or folder, read-only, no such folder. */
gboolean latent_check_save_path (const char *path, GError **error);

/* Version of the LibTorch the backend was built with, or NULL before the first load. */
const char *latent_backend_version (void);

/* TorchScript graph optimisations run so far in this process (opens the backend module);
 * *streaming (when not NULL) gets those that ran inside calls of warmed-up models, which
 * should stay 0: each one stalls a stream for milliseconds to seconds. */
guint64 latent_backend_graph_compilations (guint64 *streaming);

/* Tensor memory blocks the backend took from the system allocator so far (opens the backend
 * module). Blocks a thread freed are kept per thread and reused, so a model called again with
 * the same shapes on the same thread takes none. */
guint64 latent_backend_tensor_allocations (void);

/* ------------------------------------------------------------- streaming */

/* The suite's one non-finite rule: NaN and Inf samples become 0. Returns how many were
 * replaced. Real-time safe. */
size_t latent_replace_non_finite (float *samples, size_t n);

/* LatentStream (latent-types.h) feeds a method with interleaved frames in blocks of any size
 * and calls the model on whole model blocks, carrying state, so the output is the same
 * whatever the input block pattern. Output lags input by `block` input frames (the latency). */

/* `block` = input frames per model call; 0 picks the smallest valid block >= 2048 audio
 * samples. Must be a multiple of the method's min block. The stream does not own `model`. */
LatentStream *latent_stream_new (LatentModel *model, const char *method, int block,
    GError **error);
void latent_stream_free (LatentStream *stream);

const LatentMethodInfo *latent_stream_get_info (const LatentStream *stream);
int latent_stream_get_block (const LatentStream *stream);
/* Input frames currently buffered, waiting for a whole block. */
size_t latent_stream_get_pending (const LatentStream *stream);
/* Output frames that the next latent_stream_process() of n_in input frames will produce. */
size_t latent_stream_output_frames (const LatentStream *stream, size_t n_in);

/* Optional affine map on input channels before each model call (latent bending):
 * x' = x * scale[c] + bias[c]. NULL arrays or n < channels leave the rest unchanged.
 * Safe to call between process calls from the same thread. */
void latent_stream_set_input_affine (LatentStream *stream, const float *bias,
    const float *scale, int n);

/* Consumes n_in interleaved frames, writes latent_stream_output_frames(n_in) interleaved
 * frames to out. Non-finite input samples are replaced by 0; *n_nonfinite (if given)
 * receives how many were. */
gboolean latent_stream_process (LatentStream *stream, const float *in, size_t n_in,
    float *out, size_t *n_nonfinite, GError **error);

/* Pads what is buffered with zeros to a whole block and runs it. Returns the output frames
 * written to out (capacity: one block's output), 0 if nothing was pending, -1 on error.
 * The caller trims the padding: only ceil(pending * in_ratio / out_ratio) frames are real. */
gssize latent_stream_flush (LatentStream *stream, float *out, GError **error);

/* Drops buffered input and resets the model's state. */
gboolean latent_stream_reset (LatentStream *stream, GError **error);

/* ---------------------------------------------------- tensor archives */

typedef enum {
  LATENT_DTYPE_FLOAT32,
  LATENT_DTYPE_INT64,
} LatentDType;

/* A named tensor of a TorchScript module archive. Names are dotted paths
 * ("fc2.weight"); a scalar has ndim 0. data holds numel elements of dtype. */
typedef struct {
  char *name;
  LatentDType dtype;
  int ndim;
  int64_t shape[8];
  void *data;
  gboolean is_buffer; /* buffer (not trained) rather than parameter */
} LatentNamedTensor;

int64_t latent_named_tensor_numel (const LatentNamedTensor *t);
void latent_named_tensor_free (LatentNamedTensor *t);

/* Reads every parameter and buffer of a module archive (e.g. an nn_terrain checkpoint).
 * Returns a GPtrArray of LatentNamedTensor* that frees its elements. */
GPtrArray *latent_archive_read (const char *path, GError **error);
/* Writes a module archive that torch.jit.load and LibTorch's InputArchive read; dotted names
 * become submodules. Writes to a temporary file and renames it, so a failure leaves no
 * partial file at `path`. */
gboolean latent_archive_write (const char *path, LatentNamedTensor *const *tensors, guint n,
    GError **error);

G_END_DECLS

#endif /* LATENT_H */
