/* Private to terraintrain: the element's instance struct, shared by gstterraintrain.c (pads,
 * states, properties) and terrain-train-worker.c (the worker thread that pairs fragments and
 * drives the core trainer). */
#ifndef GST_TERRAIN_TRAIN_PRIVATE_H
#define GST_TERRAIN_TRAIN_PRIVATE_H

#include "gstterraintrain.h"

G_BEGIN_DECLS

typedef struct {
  GstSegment segment;
  LatentTerrainFragment *open;  /* the fragment being received, NULL before data */
  int channels;
  double frame_duration;
  double next_time;       /* where the next buffer starts when it has no timestamp */
} PadState;

struct _GstTerrainTrain {
  GstElement parent;
  GstPad *latent_pad, *coords_pad;

  /* Properties (object lock). */
  char *location, *dataset_location;
  int epochs, batch_size;
  double learning_rate;
  double checkpoint_interval; /* seconds; 0: write `location` only at the end */
  LatentTerrainConfig config;
  gboolean live;
  guint64 seed;
  LatentTerrainLayout layout;

  /* Each owned by its pad's streaming thread. */
  PadState latent, coords;

  /* Handoff to the worker (lock, cond). */
  GMutex lock;
  GCond cond;
  GPtrArray *latent_closed, *coords_closed; /* LatentTerrainFragment*, oldest first */
  gboolean latent_eos, coords_eos, quit;
  guint32 eos_seqnum;
  LatentTerrainTrainer *trainer;            /* made by the worker, freed at PAUSED->READY */
  GThread *worker;

  /* Held only to read or swap the pointers. */
  GMutex publisher_lock;
  LatentTerrainPublisher *publisher;
  LatentTerrain *initial;

  /* Training thread: progress message state. */
  guint64 run_start_epoch;
  gint64 last_progress_post;
  guint64 n_pairs;
  gboolean checkpoint_warned; /* one warning per run of the element, not one per interval */

  /* Object lock: EOS waits for PLAYING (a bin counts a sink's EOS only then). */
  gboolean playing, eos_pending;
};

/* The worker thread (terrain-train-worker.c): runs until `quit`. */
gpointer gst_terrain_train_worker_main (gpointer element);
/* Hands `location` and `checkpoint-interval` to self->trainer; with self->lock held. */
void gst_terrain_train_apply_checkpoint (GstTerrainTrain *self);

G_END_DECLS

#endif /* GST_TERRAIN_TRAIN_PRIVATE_H */
