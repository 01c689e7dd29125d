/* latent: AFTER latent-diffusion timbre transfer (acids-ircam/AFTER exports, as nn~ sees them).
 *
 * An AFTER file holds one autoencoder and a diffusion model behind nn~ methods:
 *   audio models: structure (1 @1 -> zs @R), timbre (1 @1 -> zt @R), diffuse (zs + zt @R ->
 *                 latents @R), decode (latents @R -> 1 @1), generate, forward (2 @1 -> 1 @1);
 *   MIDI models:  timbre, diffuse / generate with 2 * n_poly + zt inputs ordered pitch0, vel0,
 *                 pitch1, vel1, ..., then the timbre channels (pitch = MIDI note 0..127,
 *                 velocity 0..127, 0 = silent voice), decode.
 * Channel counts come from the `_params` buffers. A model call covers one chunk of C latent
 * frames (C * R audio samples): AFTER's `timbre` always returns C frames, so the chunk is found
 * by probing `timbre` with growing blocks; released models have C = 4, R = 2048.
 *
 * LatentAfter drives those methods one chunk at a time, carrying the model's own streaming
 * state, and keeps the current timbre vector (from timbre audio, or set by hand). Not
 * thread-safe: one thread per LatentAfter (a worker, or a GStreamer streaming thread). */
#ifndef LATENT_AFTER_H
#define LATENT_AFTER_H

#include <glib.h>

#include "latent-terrain.h"
#include "latent-types.h"

G_BEGIN_DECLS

#define LATENT_AFTER_MAX_STEPS 16
#define LATENT_AFTER_MAX_POLY 16

typedef enum {
  LATENT_AFTER_AUDIO, /* structure from audio (`structure` method) */
  LATENT_AFTER_MIDI,  /* structure from notes (2 * n_poly note channels) */
} LatentAfterKind;

typedef struct {
  LatentAfterKind kind;
  int sample_rate;    /* the model's `sr`, 0 if it states none */
  int ratio;          /* R: audio samples per latent frame */
  int chunk;          /* C: latent frames per call */
  int structure_dims; /* zs (audio models; 0 for MIDI) */
  int timbre_dims;    /* zt */
  int latent_dims;    /* the autoencoder's latents (diffuse output) */
  int n_poly;         /* MIDI models: voices; 0 for audio */
} LatentAfterInfo;

typedef struct LatentAfter LatentAfter;

/* Opens and checks an AFTER export, finds its chunk, warms it up and resets it. Errors name
 * the file and what is missing (method, attribute) or does not fit (channels, chunk). */
LatentAfter *latent_after_open (const char *path, int threads, GError **error);
void latent_after_free (LatentAfter *after);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LatentAfter, latent_after_free)

const LatentAfterInfo *latent_after_get_info (const LatentAfter *after);
const char *latent_after_get_path (const LatentAfter *after);
/* Audio samples per call: chunk * ratio. */
int latent_after_get_block (const LatentAfter *after);
/* The model it runs (for latent_model_get_non_finite_count); owned by `after`. */
const LatentModel *latent_after_get_model (const LatentAfter *after);
void latent_after_set_threads (LatentAfter *after, int threads);

/* Attributes nb_steps (1..LATENT_AFTER_MAX_STEPS), guidance_structure, guidance_timbre. */
gboolean latent_after_set_steps (LatentAfter *after, int steps, GError **error);
gboolean latent_after_set_guidance (LatentAfter *after, double structure, double timbre,
    GError **error);
/* Both of the above, each only when its value differs from the one in effect (an attribute
 * set is a model call): for adapters that pass their controls before every chunk. */
gboolean latent_after_apply_settings (LatentAfter *after, int steps, double structure,
    double timbre, GError **error);

/* Runs `timbre` on one block of mono audio and keeps the result (the mean over the chunk) as
 * the current timbre vector. */
gboolean latent_after_update_timbre (LatentAfter *after, const float *audio, GError **error);
/* Sets the timbre vector by hand (manual exploration, a terrain); n values, the rest 0. */
void latent_after_set_timbre (LatentAfter *after, const float *timbre, int n);
/* AFTER's own 2-D timbre map: exports may carry map2latent ([2, r, timbre_dims, r]: a point
 * (x, y) of a learned 2-D map of the timbre space -> a timbre vector) and latent2map (the
 * inverse). has_map says whether this model has a usable map2latent; set_timbre_from_map
 * runs it on (x, y) (held over the method's smallest block, outputs averaged) and keeps the
 * result as the timbre vector. A model call: off the audio thread. */
gboolean latent_after_has_map (const LatentAfter *after);
gboolean latent_after_set_timbre_from_map (LatentAfter *after, float x, float y,
    GError **error);
/* A Latent Terrain over the timbre space (its latent dims = the model's timbre dims, e.g.
 * trained by terraintrain on `raveencode method=timbre` output): check_terrain refuses one of
 * other dims (LATENT_ERROR_SHAPE naming both); set_timbre_from_terrain evaluates it at coords
 * (n values, missing control dims 0, non-finite as 0) and keeps the result as the timbre
 * vector (FALSE, vector unchanged, when dims or workspace do not fit). Real-time safe. */
gboolean latent_after_check_terrain (const LatentAfter *after, const LatentTerrain *terrain,
    const char *terrain_path, GError **error);
gboolean latent_after_set_timbre_from_terrain (LatentAfter *after, const LatentTerrain *terrain,
    LatentTerrainWorkspace *workspace, const float *coords, int n);
/* Copies the current timbre vector (timbre_dims values) into timbre. */
void latent_after_get_timbre (const LatentAfter *after, float *timbre);

/* One block of output audio (get_block samples) from one block of structure:
 * audio models: `structure` mono audio, get_block samples;
 * MIDI models:  planar note channels [2 * n_poly][chunk] at latent rate (see LatentVoices).
 * Uses the current timbre vector. */
gboolean latent_after_render (LatentAfter *after, const float *structure, float *out,
    GError **error);

/* ------------------------------------------------------------ feeding chunks */

/* What the adapters do between their streams and latent_after_render, in one place. Buffers
 * are the caller's (allocated at load): nothing here allocates, all real-time safe except
 * where a model call is named. */

/* Gathers samples into a chunk of `block` floats whose first *fill are already there: takes
 * min(n, block - *fill) samples, every `stride`-th float of `samples` (one channel of
 * interleaved rows), non-finite ones as 0; advances *fill, returns the number taken. */
gsize latent_after_gather (float *chunk, int *fill, int block, const float *samples, gsize n,
    int stride);
/* Gathers timbre audio (as latent_after_gather, block = latent_after_get_block) and runs
 * latent_after_update_timbre (a model call) on each chunk it completes. */
gboolean latent_after_feed_timbre_audio (LatentAfter *after, float *chunk, int *fill,
    const float *samples, gsize n, int stride, GError **error);
/* A timbre point from a control or coordinate stream: with on_map, (values[0], values[1]) on
 * the model's 2-D map (latent_after_set_timbre_from_map, a model call; missing values 0),
 * else the timbre vector itself (latent_after_set_timbre). */
gboolean latent_after_set_timbre_point (LatentAfter *after, const float *values, int n,
    gboolean on_map, GError **error);

/* The mean of frames gathered over a chunk (a latent timbre stream's frames, x and y
 * controls): zero-initialise, add, take. Non-finite values count as 0. */
#define LATENT_AFTER_MAX_TIMBRE 64
typedef struct {
  double sum[LATENT_AFTER_MAX_TIMBRE];
  int channels;
  guint64 frames;
} LatentAfterMean;
/* Adds n frames of the first `channels` (at most LATENT_AFTER_MAX_TIMBRE) values of rows
 * `stride` floats apart. */
void latent_after_mean_add (LatentAfterMean *mean, const float *frames, gsize n, int stride,
    int channels);
/* Writes the means (channels values) and starts over; 0 (values untouched) when no frame was
 * added since the last take. */
int latent_after_mean_take (LatentAfterMean *mean, float *values);

/* Streaming an AFTER export's `timbre` on its own (raveencode method=timbre): AFTER's timbre
 * answers one chunk of frames whatever it is given, so its calls must be exactly one chunk.
 * For a model with AFTER's interface (methods timbre and generate or diffuse) returns that
 * block in audio samples (chunk * ratio), found by probing `timbre` (state reset after);
 * 0 for other models (their timbre follows its _params); -1 with `error` when no chunk fits. */
int latent_after_timbre_block (LatentModel *model, GError **error);

/* Clears streaming state (model reset() or reload); keeps attributes and timbre. */
gboolean latent_after_reset (LatentAfter *after, GError **error);

/* Not real-time: the slowest of LATENT_RT_MARGIN_RUNS renders of a silent chunk, in
 * microseconds (for latent_rt_margin_frames), with the state reset afterwards; -1 with
 * `error`. Uses the current timbre vector. */
double latent_after_time_render (LatentAfter *after, GError **error);

/* ------------------------------------------------------------ MIDI voices */

/* Fixed-size voice allocation for MIDI models: no allocation after new, real-time safe. A
 * note-on takes a free voice, else steals the oldest sounding one; a note-off (or note-on with
 * velocity 0) frees the voice playing that pitch. */
typedef struct LatentVoices LatentVoices;

LatentVoices *latent_voices_new (int n_poly);
void latent_voices_free (LatentVoices *voices);
void latent_voices_note_on (LatentVoices *voices, int pitch, int velocity);
void latent_voices_note_off (LatentVoices *voices, int pitch);
void latent_voices_all_off (LatentVoices *voices);
int latent_voices_get_n_poly (const LatentVoices *voices);
/* Applies the MIDI bytes of one event or buffer (one or more messages, running status
 * allowed within the call): note-on (velocity 0: note-off), note-off, all notes off and all
 * sound off (CC 123, 120), on any channel. As the MIDI specification says: a status byte
 * drops an unfinished message, real-time bytes (0xF8..0xFE) may appear anywhere and change
 * nothing, system common messages and SysEx cancel running status, and data bytes without a
 * status are ignored. 0xFF ends the call: from a Standard MIDI File (GStreamer's midiparse)
 * it starts a meta event, whose bytes are not messages. Real-time safe. TRUE when the bytes
 * held a whole channel message of any kind (midiparse also sends ticks, 0xF9, which are not). */
gboolean latent_voices_apply_midi (LatentVoices *voices, const guint8 *bytes, gsize size);
/* Writes the state of every voice as 2 * n_poly values: pitch0, vel0, pitch1, vel1, ...
 * (free voices: their last pitch and velocity 0). A note started since the last
 * latent_voices_next_frame() shows with its velocity even if already released, so a note
 * shorter than a latent frame still reaches the model. */
void latent_voices_write (const LatentVoices *voices, float *values);
/* Ends a latent frame: clears what write() kept of notes released within it. Per frame: apply
 * the frame's events, write(), next_frame(). */
void latent_voices_next_frame (LatentVoices *voices);
/* For hosts that record voices per audio sample (an LV2 run() writing latent_voices_write()
 * once per sample into a ring): reduces `frames` latent frames of `ratio` interleaved samples
 * [frames * ratio][2 * n_poly] to planar note channels [2 * n_poly][frames] for
 * latent_after_render: per voice, its loudest velocity within the frame and the pitch it had
 * then, so a note shorter than a frame still shows in its frame. Real-time safe. */
void latent_voices_reduce (int n_poly, const float *samples, int ratio, int frames,
    float *planar);
/* The same reduction on rows that carry other channels beside the voices (the LV2 plugin's
 * input rows: timbre audio, the voices, x, y): rows of `row_channels` floats whose voice
 * values start at channel `first_channel`. Reads in place (no scratch copy). */
void latent_voices_reduce_rows (int n_poly, const float *rows, int row_channels,
    int first_channel, int ratio, int frames, float *planar);
/* For hosts that apply events at latent-frame times (GStreamer): fills frames *frame ..
 * min(until, chunk) - 1 of planar note channels [2 * n_poly][chunk] with the voices' state
 * (write, then next_frame, per frame) and advances *frame. Real-time safe. */
void latent_voices_write_frames (LatentVoices *voices, float *planar, int chunk, int *frame,
    int until);

G_END_DECLS

#endif /* LATENT_AFTER_H */
