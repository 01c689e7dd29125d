/* Latent Terrain: Fourier-feature CPPN mapping control coordinates to latents (DESIGN.md).
 *
 * The network is nn_terrain's:  h = (two_pi * x) @ B_T  (B_T [control_dims, features], fixed,
 * drawn N(0, gauss_scale)),  [sin h, cos h],  fc_in_gau Linear(2m -> c) + PReLU,
 * three x (Linear(c -> c) + PReLU),  fc_out Linear(c -> latent_dims).
 * With gauss_scale == 0 nn_terrain drops the Fourier mapping and uses fc_in_linear
 * Linear(control_dims -> c) on the raw coordinates; that variant is supported too.
 *
 * Threading: a LatentTerrain is plain data; reading it from several threads is safe, writing is
 * not. Playback that must keep running while a trainer updates the weights reads them through a
 * LatentTerrainPublisher (lock-free, never waits for the trainer). */
#ifndef LATENT_TERRAIN_H
#define LATENT_TERRAIN_H

#include <glib.h>
#include <gio/gio.h>

#include "latent-types.h"

G_BEGIN_DECLS

/* Limits that nn_terrain's nn.terrain~ enforces (control <= 6, latent <= 1024, features 16..2048,
 * channels <= 1024, gauss scale 0..10); files outside them are refused. */
#define LATENT_TERRAIN_MAX_CONTROL_DIMS 6
#define LATENT_TERRAIN_MAX_LATENT_DIMS 1024
#define LATENT_TERRAIN_MAX_CHANNELS 1024
#define LATENT_TERRAIN_MAX_FEATURES 2048

typedef struct {
  int control_dims;  /* 1..6, default 2 */
  int latent_dims;   /* 1..1024, default 8 */
  int channels;      /* c: width of the hidden layers, default 128 */
  int features;      /* m: Fourier features (B_T has m columns), default 256 */
  float gauss_scale; /* sigma of B_T, default 0.1; 0 = no Fourier mapping (fc_in_linear) */
} LatentTerrainConfig;

void latent_terrain_config_init (LatentTerrainConfig *config);
/* Fails with LATENT_ERROR_SHAPE saying which field is out of range. */
gboolean latent_terrain_config_check (const LatentTerrainConfig *config, GError **error);

/* ------------------------------------------------------------ network */

typedef struct LatentTerrain LatentTerrain;

/* A freshly initialised network, as torch initialises one (Linear: U(+-1/sqrt(fan_in)),
 * PReLU slope 0.25, B_T ~ N(0, gauss_scale)), deterministic for a given seed. */
LatentTerrain *latent_terrain_new (const LatentTerrainConfig *config, guint64 seed,
    GError **error);
LatentTerrain *latent_terrain_copy (const LatentTerrain *terrain);
void latent_terrain_free (LatentTerrain *terrain);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatentTerrain, latent_terrain_free)

const LatentTerrainConfig *latent_terrain_get_config (const LatentTerrain *terrain);
/* Trainable scalars (weights, biases, PReLU slopes), as torch's parameters() would count them. */
gsize latent_terrain_get_param_count (const LatentTerrain *terrain);

/* Scratch memory for latent_terrain_forward(): allocate off the real-time thread, once. */
typedef struct LatentTerrainWorkspace LatentTerrainWorkspace;
LatentTerrainWorkspace *latent_terrain_workspace_new (const LatentTerrainConfig *config);
void latent_terrain_workspace_free (LatentTerrainWorkspace *workspace);
/* TRUE if the workspace is big enough for networks of this configuration. */
gboolean latent_terrain_workspace_fits (const LatentTerrainWorkspace *workspace,
    const LatentTerrainConfig *config);

/* One point: x [control_dims] -> out [latent_dims], NaN/Inf outputs (far outside the trained
 * range) replaced by 0. Real-time safe: no allocation, no locks, no system calls. Returns
 * FALSE (and leaves `out` untouched) if the workspace does not fit. */
gboolean latent_terrain_forward (const LatentTerrain *terrain, const float *x, float *out,
    LatentTerrainWorkspace *workspace);
/* n points: x [n][control_dims] -> out [n][latent_dims], row-major, non-finite outputs as 0.
 * Allocates; not real-time. */
void latent_terrain_forward_batch (const LatentTerrain *terrain, const float *x, gsize n,
    float *out);

/* ----------------------------------------------------------- files */

/* Reads an nn_terrain checkpoint (.pt) through latent_archive_read(); checks every tensor's
 * dtype and shape against the stored hyperparameters (LATENT_ERROR_FORMAT naming the file and
 * the tensor, e.g. "x.pt: fc2.weight is [128,64], expected [128,128]"). */
LatentTerrain *latent_terrain_load (const char *path, GError **error);
/* Writes the same layout nn_terrain writes (names, parameter/buffer split, dtypes), so Max's
 * nn.terrain~ and torch.jit.load read it. No partial file on failure. */
gboolean latent_terrain_save (const LatentTerrain *terrain, const char *path, GError **error);

/* ------------------------------------------------------- publishing */

/* Weights shared between one writer (a trainer) and real-time readers. Two slots: the writer
 * fills the slot nobody reads, then swaps an atomic index. Readers never block and never see
 * a half-written network; the writer may wait (briefly) for readers still on the old slot. */
typedef struct LatentTerrainPublisher LatentTerrainPublisher;

LatentTerrainPublisher *latent_terrain_publisher_new (const LatentTerrain *initial);
LatentTerrainPublisher *latent_terrain_publisher_ref (LatentTerrainPublisher *publisher);
void latent_terrain_publisher_unref (LatentTerrainPublisher *publisher);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatentTerrainPublisher, latent_terrain_publisher_unref)

/* Reader side (real-time safe, lock-free): the network stays valid and unchanged until the
 * matching release. Hold it only for a short computation. */
const LatentTerrain *latent_terrain_publisher_acquire (LatentTerrainPublisher *publisher,
    guint *ticket);
void latent_terrain_publisher_release (LatentTerrainPublisher *publisher, guint ticket);
/* acquire + forward + release. FALSE if the workspace does not fit the published network. */
gboolean latent_terrain_publisher_forward (LatentTerrainPublisher *publisher, const float *x,
    float *out, LatentTerrainWorkspace *workspace);
/* Increases with every publish: readers can tell that new weights arrived. */
guint64 latent_terrain_publisher_get_generation (LatentTerrainPublisher *publisher);
/* Config of the currently published network (copied). */
void latent_terrain_publisher_get_config (LatentTerrainPublisher *publisher,
    LatentTerrainConfig *config);

/* Writer side: one writer at a time (not real-time: copies, may wait for readers). The
 * configuration may change (e.g. a new file loaded); readers then see the new shapes. */
void latent_terrain_publisher_publish (LatentTerrainPublisher *publisher,
    const LatentTerrain *terrain);
/* A copy of what is published now. */
LatentTerrain *latent_terrain_publisher_copy (LatentTerrainPublisher *publisher);

/* ---------------------------------------------------------- datasets */

/* Pairs of control coordinates and latents, grouped in fragments. Trajectory mode: fragment i
 * is one audio clip's latent trajectory (frame j) paired with path i (point j). Point mode:
 * fragments of one frame. Coordinates and latents are stored interleaved per frame. */
typedef struct LatentTerrainDataset LatentTerrainDataset;

LatentTerrainDataset *latent_terrain_dataset_new (int control_dims, int latent_dims);
void latent_terrain_dataset_free (LatentTerrainDataset *dataset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatentTerrainDataset, latent_terrain_dataset_free)

int latent_terrain_dataset_get_control_dims (const LatentTerrainDataset *dataset);
int latent_terrain_dataset_get_latent_dims (const LatentTerrainDataset *dataset);
guint latent_terrain_dataset_get_n_fragments (const LatentTerrainDataset *dataset);
/* Frames over all fragments: the number of training pairs. */
gsize latent_terrain_dataset_get_n_pairs (const LatentTerrainDataset *dataset);
/* Fragment i (0-based): n_frames, coordinates [n][control_dims], latents [n][latent_dims]. */
void latent_terrain_dataset_get_fragment (const LatentTerrainDataset *dataset, guint index,
    gsize *n_frames, const float **coordinates, const float **latents);

/* Point mode: one coordinate/latent pair (a fragment of one frame). */
void latent_terrain_dataset_add_point (LatentTerrainDataset *dataset, const float *coordinate,
    const float *latent);
/* A fragment with one coordinate per latent frame, both interleaved. */
void latent_terrain_dataset_add_fragment (LatentTerrainDataset *dataset,
    const float *coordinates, const float *latents, gsize n_frames);
/* Trajectory mode from a drawn path: the polyline (n_vertices points of control_dims) is
 * resampled at constant arc-length spacing to exactly n_frames points, first and last vertex
 * included, and paired frame by frame with `latents` [n_frames][latent_dims]. */
gboolean latent_terrain_dataset_add_trajectory (LatentTerrainDataset *dataset,
    const float *polyline, gsize n_vertices, const float *latents, gsize n_frames,
    GError **error);

/* Resamples a polyline [n_vertices][dims] to `n_points` points equally spaced along its length
 * (first and last vertex kept; repeated vertices are harmless). out: [n_points][dims]. */
void latent_terrain_resample_polyline (const float *polyline, gsize n_vertices, int dims,
    float *out, gsize n_points);

/* nn_terrain's dictionary layout as JSON:
 * {"coordinates": {"1": {"0": [...], "1": [...]}, ...}, "latents": {"1": {"0": [...], ...}}}
 * Outer keys are 1-based fragment numbers, inner keys 0-based dimensions, arrays run over time.
 * Read as nn.terrain~ reads it: other keys (the GUI's "anchor_x"/"anchor_y") are ignored, a
 * bare number is an array of one, and a fragment keeps min(coordinate, latent) frames.
 * Errors (LATENT_ERROR_FORMAT) name the file and the offending key and index. */
LatentTerrainDataset *latent_terrain_dataset_load_json (const char *path, GError **error);
/* `name` is used in error messages in place of a file name. */
LatentTerrainDataset *latent_terrain_dataset_from_json (const char *json, gssize length,
    const char *name, GError **error);
gboolean latent_terrain_dataset_save_json (const LatentTerrainDataset *dataset,
    const char *path, GError **error);
char *latent_terrain_dataset_to_json (const LatentTerrainDataset *dataset);

/* ------------------------------------------- control coordinates for latent frames */

/* The one rule by which a latent frame gets its control coordinate, wherever coordinates come
 * from (terrainplay's coordinate stream, terraintrain's coords pad, the LV2 terrain plugin's x
 * and y inputs): the control signal at the frame's centre time, interpolated linearly between
 * the two samples around it (no sample-and-hold, no mean). Before the first sample it holds
 * the first, after the last the last; a non-finite value reads as 0.
 *
 * A control signal: n samples of dims floats (interleaved); sample i stands at times[i]
 * (ascending) or, with times NULL, at time i (a uniform stream, in samples). A uniform stream
 * cut into blocks may pass `previous`: the sample before values[0], at time -1. */
typedef struct {
  const float *values;
  const double *times;
  gsize n;
  int dims;
  const float *previous;
} LatentControlSignal;

/* Where the centre of latent frame `frame` lies in a uniform stream of `sample_rate` samples
 * per second, when a frame covers `ratio` samples at `frame_rate` (latent frame k covers
 * [k*R/SR, (k+1)*R/SR) s; sample i stands at i/r s): (2k+1)*R*r / (2*SR), in samples. */
double latent_terrain_frame_centre (guint64 frame, int ratio, int frame_rate, int sample_rate);
/* The signal's coordinate at `time` (see the rule above), written to out (dims floats).
 * cursor (may be NULL; start at 0) speeds up ascending times on a timed signal. Real-time
 * safe: reads the caller's buffers only. */
void latent_terrain_sample_control (const LatentControlSignal *signal, double time,
    gsize *cursor, float *out);

/* ---------------------------------------------------------- layouts */

/* Coordinates for latents that come without any (terraintrain without a coords pad, `latent
 * terrain train --layout`): where each latent frame goes on the control canvas. */
typedef enum {
  LATENT_TERRAIN_LAYOUT_STRAIGHT, /* one straight path per fragment along x, fragments apart in y */
  LATENT_TERRAIN_LAYOUT_PCA,      /* each frame at its latent's projection on the principal axes */
} LatentTerrainLayout;

/* Canvas units per latent frame along a straight path, and between neighbouring paths. */
#define LATENT_TERRAIN_LAYOUT_FRAME_SPACING 0.25f
#define LATENT_TERRAIN_LAYOUT_PATH_SPACING 4.0f
/* PCA layout: one standard deviation along a principal axis spans this many canvas units. */
#define LATENT_TERRAIN_LAYOUT_PCA_SCALE 4.0f

/* "straight", "pca": the names terraintrain's `layout` property and the CLI take. */
const char *latent_terrain_layout_name (LatentTerrainLayout layout);
gboolean latent_terrain_layout_from_name (const char *name, LatentTerrainLayout *layout);

/* Lays out n fragments: fragment f has n_frames[f] latent frames of latent_dims floats at
 * latents[f]; its coordinates, n_frames[f] * control_dims floats, go to out[f] (caller's
 * memory, overwritten). Straight paths are centred on x = 0, path i at
 * y = (i - (n-1)/2) * PATH_SPACING (with one control dim: end to end along x, one PATH_SPACING
 * apart). PCA uses the first min(control_dims, 2) principal axes of all frames; other dims
 * are 0. */
void latent_terrain_layout (LatentTerrainLayout layout, const float *const *latents,
    const gsize *n_frames, guint n, int latent_dims, int control_dims, float *const *out);

/* ---------------------------------------------------------- timed fragments */

/* What one stream delivered in one stretch (terraintrain: one pad, one segment): frames of
 * `channels` floats, each with the stream time (seconds) at which it starts. Kept with their
 * times so that latent and coordinate streams at different rates pair by time, not by index. */
typedef struct {
  int channels;
  double frame_duration; /* seconds one frame stands for (ratio/rate, or 1/rate for coords) */
  GArray *values;        /* float, frames * channels, interleaved */
  GArray *times;         /* double, stream time of each frame's start, seconds */
} LatentTerrainFragment;

LatentTerrainFragment *latent_terrain_fragment_new (int channels, double frame_duration);
void latent_terrain_fragment_free (LatentTerrainFragment *fragment);
gsize latent_terrain_fragment_n_frames (const LatentTerrainFragment *fragment);
/* Appends n frames starting at `start` seconds, spaced frame_duration apart. */
void latent_terrain_fragment_append (LatentTerrainFragment *fragment, const float *frames,
    gsize n, double start);

/* The training dataset of n latent fragments (latent dims: latents[0]->channels; NULL when n
 * is 0). from_fragments pairs latent fragment i with coordinate fragment i by the core rule
 * (latent_terrain_sample_control at each latent frame's centre time); latent fragments
 * without a non-empty coordinate fragment (i >= n_coords) are left out and counted in
 * *n_unpaired. from_layout places every fragment by `layout` (no coordinate stream). */
LatentTerrainDataset *latent_terrain_dataset_from_fragments (
    LatentTerrainFragment *const *latents, guint n, LatentTerrainFragment *const *coords,
    guint n_coords, int control_dims, guint *n_unpaired);
LatentTerrainDataset *latent_terrain_dataset_from_layout (LatentTerrainLayout layout,
    LatentTerrainFragment *const *latents, guint n, int control_dims);

/* ---------------------------------------------------------- training */

/* Trains a copy of a network on a dataset in its own GThread: MSE loss, Adam as
 * torch.optim.Adam (betas 0.9/0.999, eps 1e-8), reshuffled every epoch by a seeded PRNG, so a
 * run is reproducible from its seed. Weights are published to a LatentTerrainPublisher after
 * every epoch (and at least every 100 ms within long epochs). */
typedef struct LatentTerrainTrainer LatentTerrainTrainer;

#define LATENT_TERRAIN_DEFAULT_LR 1e-3
#define LATENT_TERRAIN_DEFAULT_BATCH 32
#define LATENT_TERRAIN_MAX_BATCH 65536
#define LATENT_TERRAIN_DEFAULT_EPOCHS 10

typedef struct {
  gboolean running;
  guint64 epoch;      /* epochs completed since the trainer was made */
  guint64 step;       /* optimiser steps since the trainer was made */
  double loss;        /* mean batch loss of the last completed epoch (NAN before one) */
  gboolean cancelled; /* the last run was cancelled */
} LatentTerrainProgress;

/* Called from the training thread after every epoch: keep it short; do not call the trainer's
 * start/wait/free from it. */
typedef void (*LatentTerrainProgressFunc) (const LatentTerrainProgress *progress,
    gpointer user_data);

/* `initial` is copied. `publisher` (may be NULL: the trainer makes its own) receives the
 * initial weights at once, then the weights as they improve. */
LatentTerrainTrainer *latent_terrain_trainer_new (const LatentTerrain *initial,
    LatentTerrainPublisher *publisher, guint64 seed);
/* Cancels, waits for the thread, frees. */
void latent_terrain_trainer_free (LatentTerrainTrainer *trainer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatentTerrainTrainer, latent_terrain_trainer_free)

/* The dataset is copied; its dims must match the network's. Not while running. */
gboolean latent_terrain_trainer_set_dataset (LatentTerrainTrainer *trainer,
    const LatentTerrainDataset *dataset, GError **error);

/* Take effect while training runs: lr at the next step, batch size and epochs at the next
 * epoch (epochs = how many epochs one start() trains, nn_terrain's "training_epoch"). */
void latent_terrain_trainer_set_learning_rate (LatentTerrainTrainer *trainer, double lr);
void latent_terrain_trainer_set_batch_size (LatentTerrainTrainer *trainer, int batch_size);
void latent_terrain_trainer_set_epochs (LatentTerrainTrainer *trainer, int epochs);
double latent_terrain_trainer_get_learning_rate (LatentTerrainTrainer *trainer);
int latent_terrain_trainer_get_batch_size (LatentTerrainTrainer *trainer);
int latent_terrain_trainer_get_epochs (LatentTerrainTrainer *trainer);

void latent_terrain_trainer_set_progress_func (LatentTerrainTrainer *trainer,
    LatentTerrainProgressFunc func, gpointer user_data, GDestroyNotify destroy);

/* Called from the training thread after each checkpoint: `error` is NULL when `path` now holds
 * the weights of `progress` (epochs done, and steps into the next), else why the file was
 * kept as it was. Keep it short, as the progress function. */
typedef void (*LatentTerrainCheckpointFunc) (const LatentTerrainProgress *progress,
    const char *path, const GError *error, gpointer user_data);

/* Checkpoints: while it trains, the training thread writes the current weights to `path`
 * with latent_terrain_save (temporary + rename, only a finite, loadable terrain, never over a
 * special file, the existing file kept on failure): `interval_s` seconds after the first run
 * started, then at most every `interval_s` seconds (checked after every optimiser step), so
 * a process killed mid-training leaves a terrain at most about that old. NULL `path` or 0 s: none
 * (the default). Also while running; `func` may be NULL. The owner still saves at the end:
 * the last checkpoint may be up to an interval older than the finished weights. */
void latent_terrain_trainer_set_checkpoint (LatentTerrainTrainer *trainer, const char *path,
    double interval_s, LatentTerrainCheckpointFunc func, gpointer user_data,
    GDestroyNotify destroy);

/* Starts training `epochs` epochs in a new thread (Adam state carries over between runs).
 * Fails if already running or if there is no data. */
gboolean latent_terrain_trainer_start (LatentTerrainTrainer *trainer, GError **error);
/* Asks the running thread to stop; it stops within one optimiser step. Any thread. */
void latent_terrain_trainer_cancel (LatentTerrainTrainer *trainer);
/* Waits for the thread. FALSE with LATENT_ERROR_CANCELLED if the run was cancelled. */
gboolean latent_terrain_trainer_wait (LatentTerrainTrainer *trainer, GError **error);
/* start + wait in one call, cancellable through `cancellable` too. */
gboolean latent_terrain_trainer_run (LatentTerrainTrainer *trainer, GCancellable *cancellable,
    GError **error);

void latent_terrain_trainer_get_progress (LatentTerrainTrainer *trainer,
    LatentTerrainProgress *progress);
LatentTerrainPublisher *latent_terrain_trainer_get_publisher (LatentTerrainTrainer *trainer);
/* A copy of the latest published weights (safe while running). */
LatentTerrain *latent_terrain_trainer_copy_terrain (LatentTerrainTrainer *trainer);
/* Mean squared error of `terrain` over a dataset (all pairs). */
double latent_terrain_evaluate_mse (const LatentTerrain *terrain,
    const LatentTerrainDataset *dataset);

/* ---------------------------------------------------------- pictures */

typedef struct {
  int width, height;            /* pixels, default 600 x 150 */
  float left, top, right, bottom; /* control values at the edges, default -16, -4, 16, 4 */
  int channel;                  /* latent channel (grey), or first of four (colour); default 0 */
  float clamp_lo, clamp_hi;     /* values mapped to [0, 1], default -1, 4 */
  gboolean colour;              /* four channels: brightness, R, G, B as nn.terrain.gui */
} LatentTerrainRenderOptions;

void latent_terrain_render_options_init (LatentTerrainRenderOptions *options);

/* Pixel (row i from the top, column j) samples x = left + (right-left)*j/width,
 * y = top + (bottom-top)*i/height (other control dims 0). Grey: one byte per pixel; colour:
 * three (RGB). `pixels` holds width*height*(colour ? 3 : 1) bytes. */
gboolean latent_terrain_render (const LatentTerrain *terrain,
    const LatentTerrainRenderOptions *options, guint8 *pixels, GError **error);
/* Renders and writes an 8-bit PNG (greyscale or RGB); no partial file on failure. */
gboolean latent_terrain_render_png (const LatentTerrain *terrain,
    const LatentTerrainRenderOptions *options, const char *path, GError **error);

G_END_DECLS

#endif /* LATENT_TERRAIN_H */
