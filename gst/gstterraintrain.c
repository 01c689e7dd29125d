/**
 * SECTION:element-terraintrain
 * @title: terraintrain
 * @see_also: raveencode, terrainplay
 *
 * Latent streams (+ optional coordinates) -> a trained Latent Terrain (.pt).
 *
 * Pads (always):
 *   latent  audio/x-latent (e.g. from raveencode). Each segment is one fragment: a new SEGMENT
 *           event after data, or EOS, closes it.
 *   coords  audio/x-raw F32LE, channels = control-dims, any rate; optional. When linked, latent
 *           fragment i is paired with coords fragment i in stream time: every latent frame takes
 *           the coordinate at its centre time, interpolated linearly between the samples around
 *           it (held before the first and after the last). When not linked, `layout` places the
 *           fragments (core/latent-terrain.h: straight paths, or a PCA projection of the
 *           latents).
 *
 * Threads: the pads' streaming threads only copy frames into the open fragment and, when it
 * closes, hand it to the element's worker thread (a brief lock that the worker never holds
 * for long), so two upstreams never wait on each other or on training. The worker pairs the
 * fragments, builds the dataset and drives the core trainer (its own GLib thread). Live mode
 * trains from the first fragment on and restarts with the larger dataset whenever a fragment
 * arrives. At the end (EOS on `latent`, and on `coords` when linked) it trains `epochs` epochs
 * on all fragments, writes `location` (core: temporary file + rename) and then posts EOS, so
 * the pipeline ends when the file is there. Errors at the end (no data, the file cannot be
 * written) are posted and EOS still follows.
 *
 * Checkpoints: while it trains (live mode too), the training thread also writes `location`
 * with the current weights every `checkpoint-interval` seconds from the start of training
 * (default 1; 0: only at the end), through the same save (only a finite, loadable terrain
 * replaces the file). So a process that is killed mid-training
 * keeps what it learnt up to a second before: `gst-launch-1.0 -e` sends EOS on the first
 * Ctrl-C, which a trainer already at its end does not need, and GStreamer 1.22's gst-launch
 * dies on the second. Setting the pipeline to NULL instead stops training within a batch and
 * saves the exact weights ("latent-terrain-saved" with interrupted=TRUE).
 *
 * Bus messages (element messages, posted from the training/worker threads):
 *   "latent-terrain-fragment": index (uint, 0-based), frames (uint64), paired (boolean: TRUE
 *       with coordinates from the coords pad, FALSE laid out by `layout`)
 *   "latent-terrain-progress": epoch (uint64, epochs done in this run), epochs (int, epochs of
 *       this run), total-epochs (uint64, since the element started), loss (double, mean batch
 *       MSE of the epoch), pairs (uint64, training pairs). At most one per 50 ms, plus the
 *       first and the last epoch of every run.
 *   "latent-terrain-saved": location (string), epochs (uint64, total), loss (double),
 *       interrupted (boolean: TRUE when the pipeline stopped mid-training and what was learnt
 *       so far was saved)
 *   "latent-terrain-checkpoint": location (string), epochs (uint64, total epochs complete),
 *       steps (uint64, optimiser steps, into the next epoch too), loss (double, of the last
 *       complete epoch; NaN before one): `location` now holds these weights. A checkpoint
 *       that fails is one warning per run; the file is kept as it was.
 *   "latent-terrain-dataset-saved": location (string), when `dataset-location` is set.
 *
 * Properties: `location` is required; the file is written to a temporary name, then renamed.
 * `epochs` are trained at the end (and per run in live mode); `epochs`, `learning-rate`,
 * `batch-size` and `checkpoint-interval` change a training that runs. `channels`,
 * `features`, `gauss-scale` (0: no Fourier mapping), `control-dims`, `seed`, `layout` and
 * `location` are set in NULL or READY.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 concat name=c ! audioconvert ! audioresample ! \
 *     raveencode model=models/rave-gm.ts ! terraintrain location=two-clips.pt epochs=300 \
 *   filesrc location=models/clips/piano-phrase.wav ! wavparse ! c. \
 *   filesrc location=models/clips/flute-phrase.wav ! wavparse ! c.
 * ]| Trains a terrain with one straight path per clip (`layout=straight`).
 */
#include "gstterraintrain-private.h"
#include "latent-caps.h"

#include <unistd.h>

GST_DEBUG_CATEGORY (terrain_train_debug);
#define GST_CAT_DEFAULT terrain_train_debug

G_DEFINE_TYPE (GstTerrainTrain, gst_terrain_train, GST_TYPE_ELEMENT)

enum {
  PROP_0, PROP_LOCATION, PROP_DATASET_LOCATION, PROP_EPOCHS, PROP_LEARNING_RATE,
  PROP_BATCH_SIZE, PROP_CHANNELS, PROP_FEATURES, PROP_GAUSS_SCALE, PROP_CONTROL_DIMS,
  PROP_LIVE, PROP_SEED, PROP_LAYOUT, PROP_CHECKPOINT_INTERVAL,
};

#define DEFAULT_CHECKPOINT_INTERVAL 1.0

static GstStaticPadTemplate latent_template = GST_STATIC_PAD_TEMPLATE ("latent",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_CAPS_TEMPLATE_STRING));
static GstStaticPadTemplate coords_template = GST_STATIC_PAD_TEMPLATE ("coords",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_AUDIO_CAPS_TEMPLATE_STRING));

static GType
gst_terrain_train_layout_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { LATENT_TERRAIN_LAYOUT_STRAIGHT, "One straight path per fragment, paths apart", "straight" },
    { LATENT_TERRAIN_LAYOUT_PCA, "Each frame at its latent's projection on the two principal "
      "axes of all latents (similar sounds close)", "pca" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstTerrainTrainLayout", values));
  return type;
}

/* ------------------------------------------------------------ publisher */

LatentTerrainPublisher *
gst_terrain_train_try_ref_publisher (GstTerrainTrain *self)
{
  if (!g_mutex_trylock (&self->publisher_lock))
    return NULL;
  LatentTerrainPublisher *p = self->publisher ? latent_terrain_publisher_ref (self->publisher)
      : NULL;
  g_mutex_unlock (&self->publisher_lock);
  return p;
}

void
gst_terrain_train_get_config (GstTerrainTrain *self, LatentTerrainConfig *config)
{
  GST_OBJECT_LOCK (self);
  *config = self->config;
  GST_OBJECT_UNLOCK (self);
}

/* ------------------------------------------------------------ streaming */

static PadState *
gst_terrain_train_pad_state (GstTerrainTrain *self, GstPad *pad)
{
  return pad == self->latent_pad ? &self->latent : &self->coords;
}

/* Hands the open fragment (if it has frames) to the worker. */
static void
gst_terrain_train_close_fragment (GstTerrainTrain *self, GstPad *pad)
{
  PadState *s = gst_terrain_train_pad_state (self, pad);
  LatentTerrainFragment *f = s->open;
  s->open = NULL;
  if (!f || latent_terrain_fragment_n_frames (f) == 0) {
    latent_terrain_fragment_free (f);
    return;
  }
  g_mutex_lock (&self->lock);
  g_ptr_array_add (pad == self->latent_pad ? self->latent_closed : self->coords_closed, f);
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

static GstFlowReturn
gst_terrain_train_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (parent);
  PadState *s = gst_terrain_train_pad_state (self, pad);
  if (s->channels == 0) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("terraintrain: pad %s: buffer "
            "before caps", GST_PAD_NAME (pad)));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  GstClockTime pts = GST_BUFFER_PTS (buf);
  double start = s->next_time;
  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    guint64 stream_time;
    if (gst_segment_to_stream_time_full (&s->segment, GST_FORMAT_TIME, pts, &stream_time) > 0)
      start = (double) stream_time / GST_SECOND;
  }
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL), ("could not map a buffer"));
    return GST_FLOW_ERROR;
  }
  gsize n = map.size / (s->channels * sizeof (float));
  if (!s->open)
    s->open = latent_terrain_fragment_new (s->channels, s->frame_duration);
  latent_terrain_fragment_append (s->open, (const float *) map.data, n, start);
  s->next_time = start + n * s->frame_duration;
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return GST_FLOW_OK;
}

/* Latent caps fix the network's latent dims: the network and its publisher are made here. */
static gboolean
gst_terrain_train_set_latent_caps (GstTerrainTrain *self, GstCaps *caps)
{
  LatentCapsInfo info;
  char *reason = NULL;
  if (latent_caps_parse (caps, &info, &reason) && self->initial &&
      latent_terrain_get_config (self->initial)->latent_dims != info.channels) {
    reason = g_strdup_printf ("terraintrain: pad latent: the stream now carries %d latents, "
        "earlier fragments %d", info.channels,
        latent_terrain_get_config (self->initial)->latent_dims);
  }
  GError *error = NULL;
  if (!reason && !self->initial) {
    GST_OBJECT_LOCK (self);
    LatentTerrainConfig config = self->config;
    guint64 seed = self->seed;
    GST_OBJECT_UNLOCK (self);
    config.latent_dims = info.channels;
    LatentTerrain *initial = latent_terrain_new (&config, seed, &error);
    if (initial) {
      g_mutex_lock (&self->publisher_lock);
      self->initial = initial;
      self->publisher = latent_terrain_publisher_new (initial);
      g_mutex_unlock (&self->publisher_lock);
      GST_OBJECT_LOCK (self);
      self->config.latent_dims = info.channels;
      GST_OBJECT_UNLOCK (self);
    } else {
      reason = g_strdup_printf ("terraintrain: %s", error->message);
      g_error_free (error);
    }
  }
  if (reason) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", reason), (NULL));
    g_free (reason);
    return FALSE;
  }
  self->latent.channels = info.channels;
  self->latent.frame_duration = (double) info.ratio / info.rate;
  return TRUE;
}

static gboolean
gst_terrain_train_set_coords_caps (GstTerrainTrain *self, GstCaps *caps)
{
  LatentCapsInfo info;
  char *reason = NULL;
  GST_OBJECT_LOCK (self);
  int dims = self->config.control_dims;
  GST_OBJECT_UNLOCK (self);
  if (latent_audio_caps_parse (caps, &info, &reason) && info.channels != dims)
    reason = g_strdup_printf ("terraintrain: pad coords: the coordinate stream has %d "
        "channel(s) but control-dims is %d (one channel per control dimension)",
        info.channels, dims);
  if (reason) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", reason), (NULL));
    g_free (reason);
    return FALSE;
  }
  self->coords.channels = info.channels;
  self->coords.frame_duration = 1.0 / info.rate;
  return TRUE;
}

static gboolean
gst_terrain_train_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (parent);
  PadState *s = gst_terrain_train_pad_state (self, pad);
  gboolean ok = TRUE;
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      gst_terrain_train_close_fragment (self, pad); /* a new format starts a new fragment */
      ok = pad == self->latent_pad ? gst_terrain_train_set_latent_caps (self,
          caps) : gst_terrain_train_set_coords_caps (self, caps);
      break;
    }
    case GST_EVENT_SEGMENT: {
      gst_terrain_train_close_fragment (self, pad);
      const GstSegment *seg;
      gst_event_parse_segment (event, &seg);
      if (seg->format == GST_FORMAT_TIME)
        gst_segment_copy_into (seg, &s->segment);
      else
        gst_segment_init (&s->segment, GST_FORMAT_TIME);
      s->next_time = (double) s->segment.time / GST_SECOND;
      break;
    }
    case GST_EVENT_EOS:
      gst_terrain_train_close_fragment (self, pad);
      g_mutex_lock (&self->lock);
      if (pad == self->latent_pad) {
        self->latent_eos = TRUE;
        self->eos_seqnum = gst_event_get_seqnum (event);
      } else {
        self->coords_eos = TRUE;
      }
      g_cond_signal (&self->cond);
      g_mutex_unlock (&self->lock);
      break;
    case GST_EVENT_FLUSH_STOP:
      latent_terrain_fragment_free (s->open);
      s->open = NULL;
      break;
    default:
      break;
  }
  gst_event_unref (event);
  return ok;
}

/* coords: the control-dims caps first, then anything of the template, so that a wrong
 * channel count reaches set_coords_caps and its precise error instead of not-negotiated. */
static gboolean
gst_terrain_train_sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (parent);
  if (pad != self->coords_pad || GST_QUERY_TYPE (query) != GST_QUERY_CAPS)
    return gst_pad_query_default (pad, parent, query);
  GST_OBJECT_LOCK (self);
  GstCaps *caps = latent_audio_caps_new_partial (self->config.control_dims, 0);
  GST_OBJECT_UNLOCK (self);
  return latent_caps_answer_query (query, gst_caps_merge (caps,
          gst_pad_get_pad_template_caps (pad)));
}

/* --------------------------------------------------------------- states */

static gboolean
gst_terrain_train_check_location (GstTerrainTrain *self)
{
  GST_OBJECT_LOCK (self);
  char *location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);
  GError *error = NULL;
  gboolean ok = location && *location && latent_check_save_path (location, &error);
  if (!location || !*location)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("terraintrain: no output file set "
            "(property location)"), (NULL));
  else if (!ok)
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE, ("terraintrain: property location: %s",
            error->message), (NULL));
  g_clear_error (&error);
  g_free (location);
  return ok;
}

static void
gst_terrain_train_start_worker (GstTerrainTrain *self)
{
  gst_segment_init (&self->latent.segment, GST_FORMAT_TIME);
  gst_segment_init (&self->coords.segment, GST_FORMAT_TIME);
  self->latent_eos = self->coords_eos = self->quit = FALSE;
  self->eos_pending = FALSE;
  self->checkpoint_warned = FALSE;
  self->worker = g_thread_new ("terraintrain", gst_terrain_train_worker_main, self);
}

static void
gst_terrain_train_stop_worker (GstTerrainTrain *self)
{
  g_mutex_lock (&self->lock);
  self->quit = TRUE;
  if (self->trainer)
    latent_terrain_trainer_cancel (self->trainer);
  g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
  if (self->worker)
    g_thread_join (self->worker);
  self->worker = NULL;
  /* The training thread's progress callback reads self->trainer: stop the thread before the
   * pointer goes (g_clear_pointer would clear it first, then wait in the free). */
  g_mutex_lock (&self->lock);
  LatentTerrainTrainer *trainer = self->trainer;
  g_mutex_unlock (&self->lock);
  if (trainer) {
    latent_terrain_trainer_cancel (trainer);
    latent_terrain_trainer_wait (trainer, NULL);
  }
  g_mutex_lock (&self->lock);
  self->trainer = NULL;
  g_mutex_unlock (&self->lock);
  latent_terrain_trainer_free (trainer);
  g_ptr_array_set_size (self->latent_closed, 0);
  g_ptr_array_set_size (self->coords_closed, 0);
  for (int i = 0; i < 2; i++) {
    PadState *s = i ? &self->coords : &self->latent;
    g_clear_pointer (&s->open, latent_terrain_fragment_free);
    s->channels = 0;
  }
  g_mutex_lock (&self->publisher_lock);
  g_clear_pointer (&self->publisher, latent_terrain_publisher_unref);
  g_clear_pointer (&self->initial, latent_terrain_free);
  g_mutex_unlock (&self->publisher_lock);
  GST_OBJECT_LOCK (self);
  self->config.latent_dims = 0;
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_terrain_train_change_state (GstElement *element, GstStateChange transition)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (element);
  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!gst_terrain_train_check_location (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      gst_terrain_train_start_worker (self);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING: {
      GST_OBJECT_LOCK (self);
      self->playing = TRUE;
      gboolean pending = self->eos_pending;
      self->eos_pending = FALSE;
      GST_OBJECT_UNLOCK (self);
      if (pending) {
        GstMessage *m = gst_message_new_eos (GST_OBJECT (self));
        gst_message_set_seqnum (m, self->eos_seqnum);
        gst_element_post_message (element, m);
      }
      break;
    }
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      GST_OBJECT_LOCK (self);
      self->playing = FALSE;
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      break;
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_terrain_train_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY ||
      (ret == GST_STATE_CHANGE_FAILURE && transition == GST_STATE_CHANGE_READY_TO_PAUSED))
    gst_terrain_train_stop_worker (self);
  return ret;
}

/* ----------------------------------------------------------- properties */

static void
gst_terrain_train_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (object);
  gboolean network = id == PROP_CHANNELS || id == PROP_FEATURES || id == PROP_GAUSS_SCALE ||
      id == PROP_CONTROL_DIMS || id == PROP_SEED || id == PROP_LOCATION || id == PROP_LAYOUT;
  if (network && GST_STATE (self) > GST_STATE_READY) {
    GST_WARNING_OBJECT (self, "property '%s' can only be changed in NULL or READY", pspec->name);
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (id) {
    case PROP_LOCATION: g_free (self->location); self->location = g_value_dup_string (value);
      break;
    case PROP_DATASET_LOCATION: g_free (self->dataset_location);
      self->dataset_location = g_value_dup_string (value); break;
    case PROP_EPOCHS: self->epochs = g_value_get_int (value); break;
    case PROP_LEARNING_RATE: self->learning_rate = g_value_get_double (value); break;
    case PROP_BATCH_SIZE: self->batch_size = g_value_get_int (value); break;
    case PROP_CHANNELS: self->config.channels = g_value_get_int (value); break;
    case PROP_FEATURES: self->config.features = g_value_get_int (value); break;
    case PROP_GAUSS_SCALE: self->config.gauss_scale = (float) g_value_get_double (value); break;
    case PROP_CONTROL_DIMS: self->config.control_dims = g_value_get_int (value); break;
    case PROP_LIVE: self->live = g_value_get_boolean (value); break;
    case PROP_SEED: self->seed = g_value_get_uint64 (value); break;
    case PROP_LAYOUT: self->layout = g_value_get_enum (value); break;
    case PROP_CHECKPOINT_INTERVAL: self->checkpoint_interval = g_value_get_double (value);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec); break;
  }
  int epochs = self->epochs, batch = self->batch_size;
  double lr = self->learning_rate;
  GST_OBJECT_UNLOCK (self);
  /* Training settings take effect while training runs. */
  g_mutex_lock (&self->lock);
  if (self->trainer && id == PROP_EPOCHS)
    latent_terrain_trainer_set_epochs (self->trainer, epochs);
  if (self->trainer && id == PROP_BATCH_SIZE)
    latent_terrain_trainer_set_batch_size (self->trainer, batch);
  if (self->trainer && id == PROP_LEARNING_RATE)
    latent_terrain_trainer_set_learning_rate (self->trainer, lr);
  if (self->trainer && id == PROP_CHECKPOINT_INTERVAL)
    gst_terrain_train_apply_checkpoint (self);
  g_mutex_unlock (&self->lock);
}

static void
gst_terrain_train_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (object);
  GST_OBJECT_LOCK (self);
  switch (id) {
    case PROP_LOCATION: g_value_set_string (value, self->location); break;
    case PROP_DATASET_LOCATION: g_value_set_string (value, self->dataset_location); break;
    case PROP_EPOCHS: g_value_set_int (value, self->epochs); break;
    case PROP_LEARNING_RATE: g_value_set_double (value, self->learning_rate); break;
    case PROP_BATCH_SIZE: g_value_set_int (value, self->batch_size); break;
    case PROP_CHANNELS: g_value_set_int (value, self->config.channels); break;
    case PROP_FEATURES: g_value_set_int (value, self->config.features); break;
    case PROP_GAUSS_SCALE: g_value_set_double (value, self->config.gauss_scale); break;
    case PROP_CONTROL_DIMS: g_value_set_int (value, self->config.control_dims); break;
    case PROP_LIVE: g_value_set_boolean (value, self->live); break;
    case PROP_SEED: g_value_set_uint64 (value, self->seed); break;
    case PROP_LAYOUT: g_value_set_enum (value, self->layout); break;
    case PROP_CHECKPOINT_INTERVAL: g_value_set_double (value, self->checkpoint_interval); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_terrain_train_init (GstTerrainTrain *self)
{
  self->latent_pad = gst_pad_new_from_static_template (&latent_template, "latent");
  self->coords_pad = gst_pad_new_from_static_template (&coords_template, "coords");
  /* latent first: automatic linking ("! terraintrain") tries pads in the order they were
   * added, so an upstream whose caps are not known yet lands on `latent`. */
  for (int i = 0; i < 2; i++) {
    GstPad *pad = i ? self->coords_pad : self->latent_pad;
    gst_pad_set_chain_function (pad, GST_DEBUG_FUNCPTR (gst_terrain_train_chain));
    gst_pad_set_event_function (pad, GST_DEBUG_FUNCPTR (gst_terrain_train_sink_event));
    gst_pad_set_query_function (pad, GST_DEBUG_FUNCPTR (gst_terrain_train_sink_query));
    gst_element_add_pad (GST_ELEMENT (self), pad);
  }
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SINK);
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->publisher_lock);
  self->latent_closed = g_ptr_array_new_with_free_func ((GDestroyNotify) latent_terrain_fragment_free);
  self->coords_closed = g_ptr_array_new_with_free_func ((GDestroyNotify) latent_terrain_fragment_free);
  latent_terrain_config_init (&self->config);
  self->config.latent_dims = 0;
  self->epochs = LATENT_TERRAIN_DEFAULT_EPOCHS;
  self->batch_size = LATENT_TERRAIN_DEFAULT_BATCH;
  self->learning_rate = LATENT_TERRAIN_DEFAULT_LR;
  self->seed = 1;
  self->layout = LATENT_TERRAIN_LAYOUT_STRAIGHT;
  self->checkpoint_interval = DEFAULT_CHECKPOINT_INTERVAL;
}

static void
gst_terrain_train_finalize (GObject *object)
{
  GstTerrainTrain *self = GST_TERRAIN_TRAIN (object);
  gst_terrain_train_stop_worker (self);
  g_ptr_array_unref (self->latent_closed);
  g_ptr_array_unref (self->coords_closed);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->publisher_lock);
  g_free (self->location);
  g_free (self->dataset_location);
  G_OBJECT_CLASS (gst_terrain_train_parent_class)->finalize (object);
}

static void
gst_terrain_train_class_init (GstTerrainTrainClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  GstElementClass *ec = GST_ELEMENT_CLASS (klass);
  oc->set_property = GST_DEBUG_FUNCPTR (gst_terrain_train_set_property);
  oc->get_property = GST_DEBUG_FUNCPTR (gst_terrain_train_get_property);
  oc->finalize = GST_DEBUG_FUNCPTR (gst_terrain_train_finalize);
  ec->change_state = GST_DEBUG_FUNCPTR (gst_terrain_train_change_state);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags live = rw | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property (oc, PROP_LOCATION, g_param_spec_string ("location",
          "Location", "Terrain file (.pt, nn_terrain checkpoint) to write at the end", NULL,
          rw));
  g_object_class_install_property (oc, PROP_DATASET_LOCATION, g_param_spec_string (
          "dataset-location", "Dataset location", "Also write the training pairs as "
          "nn_terrain dataset JSON here (optional)", NULL, rw));
  g_object_class_install_property (oc, PROP_EPOCHS, g_param_spec_int ("epochs", "Epochs",
          "Epochs trained at the end (and per run in live mode)",
          1, 10000000, LATENT_TERRAIN_DEFAULT_EPOCHS, live));
  g_object_class_install_property (oc, PROP_LEARNING_RATE, g_param_spec_double (
          "learning-rate", "Learning rate", "Adam learning rate",
          1e-9, 10.0, LATENT_TERRAIN_DEFAULT_LR, live));
  g_object_class_install_property (oc, PROP_BATCH_SIZE, g_param_spec_int ("batch-size",
          "Batch size", "Training pairs per optimiser step",
          1, LATENT_TERRAIN_MAX_BATCH, LATENT_TERRAIN_DEFAULT_BATCH, live));
  g_object_class_install_property (oc, PROP_CHANNELS, g_param_spec_int ("channels",
          "Channels", "Width c of the hidden layers", 1, LATENT_TERRAIN_MAX_CHANNELS, 128, rw));
  g_object_class_install_property (oc, PROP_FEATURES, g_param_spec_int ("features",
          "Features", "Fourier features m", 16, LATENT_TERRAIN_MAX_FEATURES, 256, rw));
  g_object_class_install_property (oc, PROP_GAUSS_SCALE, g_param_spec_double ("gauss-scale",
          "Gauss scale", "Sigma of the Fourier matrix (higher: finer detail per canvas unit)",
          0.0, 10.0, 0.1, rw));
  g_object_class_install_property (oc, PROP_CONTROL_DIMS, g_param_spec_int ("control-dims",
          "Control dims", "Coordinates per point (channels of the coords pad)", 1,
          LATENT_TERRAIN_MAX_CONTROL_DIMS, 2, rw));
  g_object_class_install_property (oc, PROP_LIVE, g_param_spec_boolean ("live", "Live",
          "Train while data streams in, restarting with every new fragment", FALSE, live));
  g_object_class_install_property (oc, PROP_SEED, g_param_spec_uint64 ("seed", "Seed",
          "Seed of the initial weights and of the shuffling", 0, G_MAXUINT64, 1, rw));
  g_object_class_install_property (oc, PROP_LAYOUT, g_param_spec_enum ("layout", "Layout",
          "Where fragments go on the canvas when the coords pad is not linked",
          gst_terrain_train_layout_get_type (), LATENT_TERRAIN_LAYOUT_STRAIGHT, rw));
  g_object_class_install_property (oc, PROP_CHECKPOINT_INTERVAL, g_param_spec_double (
          "checkpoint-interval", "Checkpoint interval", "While training, also write "
          "location with the current weights every this many seconds, so a killed process "
          "leaves its training (0: only at the end)",
          0.0, 86400.0, DEFAULT_CHECKPOINT_INTERVAL, live));
  gst_element_class_add_static_pad_template (ec, &latent_template);
  gst_element_class_add_static_pad_template (ec, &coords_template);
  gst_element_class_set_static_metadata (ec, "Latent Terrain trainer", "Sink/Audio",
      "Trains a Latent Terrain (coordinates -> latents) from latent streams and writes it as "
      "an nn_terrain checkpoint", "latent");
  GST_DEBUG_CATEGORY_INIT (terrain_train_debug, "terraintrain", 0, "Latent Terrain trainer");
}
