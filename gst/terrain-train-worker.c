/* terraintrain's worker thread (see gstterraintrain.c for the element and its messages):
 * takes the fragments the pads closed, pairs them with coordinates or lays them out, builds
 * the dataset, (re)starts the core trainer (which checkpoints `location` as it trains), and at
 * the end writes the file and posts EOS.
 * It holds the element lock only to move fragments and flags, never while training. */
#include "gstterraintrain-private.h"

GST_DEBUG_CATEGORY_EXTERN (terrain_train_debug);
#define GST_CAT_DEFAULT terrain_train_debug

#define PROGRESS_INTERVAL_US (50 * 1000)

/* --------------------------------------------------------- bus messages */

static void
gst_terrain_train_post_structure (GstTerrainTrain *self, GstStructure *s)
{
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

static void
gst_terrain_train_post_eos (GstTerrainTrain *self)
{
  GST_OBJECT_LOCK (self);
  gboolean now = self->playing;
  self->eos_pending = !now;
  GST_OBJECT_UNLOCK (self);
  if (now) {
    GstMessage *m = gst_message_new_eos (GST_OBJECT (self));
    gst_message_set_seqnum (m, self->eos_seqnum);
    gst_element_post_message (GST_ELEMENT (self), m);
  }
}

/* Training thread, after every epoch. */
static void
gst_terrain_train_on_progress (const LatentTerrainProgress *progress, gpointer data)
{
  GstTerrainTrain *self = data;
  int epochs = latent_terrain_trainer_get_epochs (self->trainer);
  guint64 epoch = progress->epoch - self->run_start_epoch;
  gint64 now = g_get_monotonic_time ();
  if (epoch != 1 && epoch < (guint64) epochs &&
      now - self->last_progress_post < PROGRESS_INTERVAL_US)
    return;
  self->last_progress_post = now;
  gst_terrain_train_post_structure (self, gst_structure_new ("latent-terrain-progress",
          "epoch", G_TYPE_UINT64, epoch, "epochs", G_TYPE_INT, epochs,
          "total-epochs", G_TYPE_UINT64, progress->epoch, "loss", G_TYPE_DOUBLE, progress->loss,
          "pairs", G_TYPE_UINT64, self->n_pairs, NULL));
}

/* Training thread, after each checkpoint (core: latent_terrain_trainer_set_checkpoint). A
 * failed one keeps the previous file; it is a warning, not an error, because training goes
 * on and the save at the end reports for good. */
static void
gst_terrain_train_on_checkpoint (const LatentTerrainProgress *progress, const char *path,
    const GError *error, gpointer data)
{
  GstTerrainTrain *self = data;
  if (error) {
    if (!self->checkpoint_warned)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE, ("terraintrain: property location: "
              "checkpoint not written (the file is kept as it was): %s", error->message),
          (NULL));
    self->checkpoint_warned = TRUE;
    return;
  }
  gst_terrain_train_post_structure (self, gst_structure_new ("latent-terrain-checkpoint",
          "location", G_TYPE_STRING, path, "epochs", G_TYPE_UINT64, progress->epoch,
          "steps", G_TYPE_UINT64, progress->step, "loss", G_TYPE_DOUBLE, progress->loss,
          NULL));
}

/* Points the trainer's checkpoints at `location` every `checkpoint-interval` seconds (0:
 * none). Called with the element lock held (self->trainer is stable). */
void
gst_terrain_train_apply_checkpoint (GstTerrainTrain *self)
{
  GST_OBJECT_LOCK (self);
  char *location = g_strdup (self->location);
  double interval = self->checkpoint_interval;
  GST_OBJECT_UNLOCK (self);
  latent_terrain_trainer_set_checkpoint (self->trainer, location, interval,
      gst_terrain_train_on_checkpoint, self, NULL);
  g_free (location);
}

/* --------------------------------------------------------------- worker */

typedef struct {
  GPtrArray *latents, *coords; /* LatentTerrainFragment*, as received */
  guint n_used;                /* fragments in the live dataset */
  gboolean missing_warned;
} WorkerData;

/* Fragments that can be trained on now: latent fragment i needs coords fragment i when the
 * coords pad is linked, unless coords already ended (then it is left out, with a warning). */
static guint
gst_terrain_train_ready_fragments (const WorkerData *w, gboolean coords_used, gboolean coords_eos)
{
  if (!coords_used || coords_eos)
    return w->latents->len;
  return MIN (w->latents->len, w->coords->len);
}

/* Pairs each latent fragment with its coordinate fragment, or lays the fragments out when the
 * coords pad is not used (core: latent_terrain_dataset_from_fragments). */
static LatentTerrainDataset *
gst_terrain_train_build_dataset (GstTerrainTrain *self, WorkerData *w, guint n,
    gboolean coords_used, int control_dims)
{
  GST_OBJECT_LOCK (self);
  LatentTerrainLayout layout = self->layout;
  GST_OBJECT_UNLOCK (self);
  LatentTerrainFragment **latents = (LatentTerrainFragment **) w->latents->pdata;
  if (!coords_used)
    return latent_terrain_dataset_from_layout (layout, latents, n, control_dims);
  guint unpaired = 0;
  LatentTerrainDataset *dataset = latent_terrain_dataset_from_fragments (latents, n,
      (LatentTerrainFragment **) w->coords->pdata, w->coords->len,
      control_dims, &unpaired);
  if (unpaired && !w->missing_warned)
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("terraintrain: pad coords ended after %u "
            "fragment(s) but pad latent sent %u; latent fragments without coordinates "
            "are left out", w->coords->len, w->latents->len), (NULL));
  w->missing_warned = w->missing_warned || unpaired > 0;
  return dataset;
}

/* Stops a running training, gives the trainer `dataset`, starts `epochs` epochs. Under the
 * element lock so that a state change's cancel cannot slip in between. FALSE when quitting. */
static gboolean
gst_terrain_train_restart_training (GstTerrainTrain *self, LatentTerrainDataset *dataset)
{
  GError *error = NULL;
  latent_terrain_trainer_cancel (self->trainer);
  latent_terrain_trainer_wait (self->trainer, NULL);
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (self->trainer, &progress);
  self->run_start_epoch = progress.epoch;
  self->n_pairs = latent_terrain_dataset_get_n_pairs (dataset);
  gboolean ok = latent_terrain_trainer_set_dataset (self->trainer, dataset, &error);
  g_mutex_lock (&self->lock);
  ok = ok && !self->quit && latent_terrain_trainer_start (self->trainer, &error);
  g_mutex_unlock (&self->lock);
  if (error) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("terraintrain: %s", error->message), (NULL));
    g_error_free (error);
  }
  return ok;
}

static void
gst_terrain_train_make_trainer (GstTerrainTrain *self)
{
  g_mutex_lock (&self->publisher_lock);
  LatentTerrainTrainer *t = latent_terrain_trainer_new (self->initial, self->publisher,
      self->seed);
  g_mutex_unlock (&self->publisher_lock);
  GST_OBJECT_LOCK (self);
  latent_terrain_trainer_set_epochs (t, self->epochs);
  latent_terrain_trainer_set_batch_size (t, self->batch_size);
  latent_terrain_trainer_set_learning_rate (t, self->learning_rate);
  GST_OBJECT_UNLOCK (self);
  latent_terrain_trainer_set_progress_func (t, gst_terrain_train_on_progress, self, NULL);
  g_mutex_lock (&self->lock);
  self->trainer = t;
  gst_terrain_train_apply_checkpoint (self);
  g_mutex_unlock (&self->lock);
}

/* The end: train on everything, write the file(s), post EOS. */
static void
gst_terrain_train_finish (GstTerrainTrain *self, WorkerData *w, gboolean coords_used)
{
  GError *error = NULL;
  GST_OBJECT_LOCK (self);
  char *location = g_strdup (self->location);
  char *dataset_location = g_strdup (self->dataset_location);
  int control_dims = self->config.control_dims;
  GST_OBJECT_UNLOCK (self);
  LatentTerrainDataset *dataset = gst_terrain_train_build_dataset (self, w, w->latents->len,
      coords_used, control_dims);
  if (!dataset || latent_terrain_dataset_get_n_pairs (dataset) == 0) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("terraintrain: no training data: pad latent "
            "received %u fragment(s)%s, %s not written", w->latents->len,
            coords_used ? " and pad coords none to pair them with" : "", location), (NULL));
    goto out;
  }
  if (dataset_location) {
    if (latent_terrain_dataset_save_json (dataset, dataset_location, &error))
      gst_terrain_train_post_structure (self, gst_structure_new ("latent-terrain-dataset-saved",
          "location",
              G_TYPE_STRING, dataset_location, NULL));
    else {
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("terraintrain: property dataset-location: "
              "%s", error->message), (NULL));
      g_clear_error (&error);
    }
  }
  if (!self->trainer)
    gst_terrain_train_make_trainer (self);
  if (!gst_terrain_train_restart_training (self, dataset))
    goto out;
  /* Cancelled by a state change (the pipeline set to NULL mid-training): the cancel takes one
   * batch, and what was learnt is saved all the same, then no EOS. A process killed instead
   * (gst-launch -e's second Ctrl-C) leaves the last checkpoint. */
  const gboolean complete = latent_terrain_trainer_wait (self->trainer, &error);
  g_clear_error (&error);
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (self->trainer, &progress);
  if (!complete && progress.epoch == 0)
    goto quit; /* nothing learnt yet: keep any existing file */
  LatentTerrain *trained = latent_terrain_trainer_copy_terrain (self->trainer);
  if (latent_terrain_save (trained, location, &error)) {
    gst_terrain_train_post_structure (self, gst_structure_new ("latent-terrain-saved", "location",
        G_TYPE_STRING,
            location, "epochs", G_TYPE_UINT64, progress.epoch, "loss", G_TYPE_DOUBLE,
            progress.loss, "interrupted", G_TYPE_BOOLEAN, !complete, NULL));
  } else {
    GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("terraintrain: property location: could not "
            "write the terrain: %s", error->message), (NULL));
    g_clear_error (&error);
  }
  latent_terrain_free (trained);
  if (!complete)
    goto quit;
out:
  gst_terrain_train_post_eos (self);
quit:
  if (dataset)
    latent_terrain_dataset_free (dataset);
  g_free (location);
  g_free (dataset_location);
}

static gboolean
gst_terrain_train_trainer_running (GstTerrainTrain *self)
{
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (self->trainer, &progress);
  return progress.running;
}

gpointer
gst_terrain_train_worker_main (gpointer data)
{
  GstTerrainTrain *self = data;
  WorkerData w = {
    .latents = g_ptr_array_new_with_free_func ((GDestroyNotify) latent_terrain_fragment_free),
    .coords = g_ptr_array_new_with_free_func ((GDestroyNotify) latent_terrain_fragment_free),
  };
  LatentTerrainDataset *live_dataset = NULL;
  guint announced = 0;
  g_mutex_lock (&self->lock);
  while (!self->quit) {
    while (self->latent_closed->len)
      g_ptr_array_add (w.latents, g_ptr_array_steal_index (self->latent_closed, 0));
    while (self->coords_closed->len)
      g_ptr_array_add (w.coords, g_ptr_array_steal_index (self->coords_closed, 0));
    gboolean coords_used = gst_pad_is_linked (self->coords_pad);
    gboolean coords_eos = self->coords_eos;
    gboolean done = self->latent_eos && (!coords_used || coords_eos);
    g_mutex_unlock (&self->lock);

    guint ready = gst_terrain_train_ready_fragments (&w, coords_used, coords_eos);
    for (; announced < ready; announced++)
      gst_terrain_train_post_structure (self, gst_structure_new ("latent-terrain-fragment",
          "index", G_TYPE_UINT,
              announced, "frames", G_TYPE_UINT64,
              (guint64) latent_terrain_fragment_n_frames (w.latents->pdata[announced]), "paired",
              G_TYPE_BOOLEAN, coords_used, NULL));
    if (done) {
      gst_terrain_train_finish (self, &w, coords_used);
      g_mutex_lock (&self->lock);
      break;
    }
    GST_OBJECT_LOCK (self);
    gboolean live = self->live;
    int control_dims = self->config.control_dims;
    GST_OBJECT_UNLOCK (self);
    if (live && ready > w.n_used) {
      /* Live: restart on everything received so far. */
      w.n_used = ready;
      g_clear_pointer (&live_dataset, latent_terrain_dataset_free);
      live_dataset = gst_terrain_train_build_dataset (self, &w, ready, coords_used, control_dims);
      if (!self->trainer)
        gst_terrain_train_make_trainer (self);
      if (latent_terrain_dataset_get_n_pairs (live_dataset) > 0)
        gst_terrain_train_restart_training (self, live_dataset);
    } else if (live && live_dataset && latent_terrain_dataset_get_n_pairs (live_dataset) > 0 &&
        !gst_terrain_train_trainer_running (self)) {
      gst_terrain_train_restart_training (self, live_dataset); /* keep training until the end */
    }
    g_mutex_lock (&self->lock);
    if (!self->latent_closed->len && !self->coords_closed->len && !self->quit &&
        !(self->latent_eos && (!coords_used || self->coords_eos)))
      g_cond_wait_until (&self->cond, &self->lock, g_get_monotonic_time () + 50 * 1000);
  }
  g_mutex_unlock (&self->lock);
  g_clear_pointer (&live_dataset, latent_terrain_dataset_free);
  g_ptr_array_unref (w.latents);
  g_ptr_array_unref (w.coords);
  return NULL;
}

