/**
 * SECTION:element-terrainplay
 * @title: terrainplay
 * @see_also: terraintrain, ravedecode, aftertransfer
 *
 * Coordinates -> latents through a Latent Terrain.
 *
 * Sink: audio/x-raw F32LE interleaved, channels = the terrain's control dims, any rate r.
 * Src:  audio/x-latent, channels = the terrain's latent dims, rate SR, ratio R (properties
 *       `rate`/`ratio`, or taken from `model`, an autoencoder: its sample rate and its encode
 *       method's ratio; its latent count must equal the terrain's).
 *
 * Timing: input samples are counted from ts0 (the first buffer's pts after a segment or flush;
 * the segment start when it has none); sample i stands at ts0 + i/r. Latent frame k covers
 * [ts0 + k*R/SR, ts0 + (k+1)*R/SR) and evaluates the terrain at the coordinate of its centre
 * time, interpolated linearly between the two samples around it (no sample-and-hold). A frame
 * goes out as soon as the sample after its centre has arrived, so the element adds R/(2*SR) +
 * 1/r of latency (reported in the latency query). N samples give exactly ceil(N*SR/(r*R))
 * frames (those starting before the input's end): at EOS, or before a new segment, the frames
 * whose centre lies beyond the last sample hold that sample, and the last buffer ends at
 * ts0 + N/r. Timestamp gaps inside a segment are not filled: samples are counted. Non-finite
 * coordinates are read as 0.
 *
 * `follow`: the name of a terraintrain in the same pipeline (looked up in NULL->READY). Its
 * weights are played as it publishes them (lock-free, core LatentTerrainPublisher); before it
 * has any, the `terrain` file's weights are played (or zeros without one). With `terrain` set,
 * the trainer's weights take over from their next publish on. The streaming thread never waits
 * for the trainer: it only try-locks to pick up the trainer's publisher once.
 *
 * Properties: `terrain`, `model`, `follow`, `rate` and `ratio` are set in the NULL state.
 * `model` is only read, never run: its sample rate and encode ratio give `rate` and `ratio`
 * (0 = the model's), and its latent count must equal the terrain's.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 audiointerleave name=xy ! audioamplify amplification=5 ! \
 *     terrainplay terrain=models/terrain-gm.pt model=models/rave-gm.ts ! \
 *     ravedecode model=models/rave-gm.ts ! audioconvert ! wavenc ! filesink location=circle.wav \
 *   audiotestsrc wave=sine freq=0.25 num-buffers=10 ! audio/x-raw,rate=1000,channels=1 ! xy. \
 *   audiotestsrc wave=sine freq=0.25 num-buffers=10 timestamp-offset=1000000000 ! \
 *     audio/x-raw,rate=1000,channels=1 ! xy.
 * ]| Walks a circle of radius 5 on the shipped terrain and decodes the latents it meets.
 */
#include "gstterrainplay.h"
#include "gstterraintrain.h"
#include "latent-caps.h"
#include "latent-timing.h"
#include "latent.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (terrain_play_debug);
#define GST_CAT_DEFAULT terrain_play_debug

struct _GstTerrainPlay {
  GstElement parent;
  GstPad *sinkpad, *srcpad;

  /* Properties (object lock); set in NULL. */
  char *terrain_path, *model_path, *follow;
  int rate, ratio;

  /* READY and up. */
  LatentTerrainPublisher *file;     /* the terrain file's weights, or NULL */
  GstTerrainTrain *train;           /* followed element (ref), or NULL */
  LatentTerrainWorkspace *workspace;
  int control_dims, latent_dims, out_rate, out_ratio;

  /* Streaming thread. */
  LatentTerrainPublisher *followed; /* the trainer's publisher once picked up */
  guint64 followed_generation;      /* generation when picked up (with a file: wait for more) */
  gboolean follow_mismatch;
  int in_rate;
  gint caps_refused; /* atomic: the negotiation error was posted (once per run) */
  GstLatentTiming timing;           /* segment, ts0, draining */
  guint64 n_in, k_next;             /* samples since ts0, next frame to produce */
  float *last, *x;                  /* sample n_in - 1; the interpolated coordinate */
};

G_DEFINE_TYPE (GstTerrainPlay, gst_terrain_play, GST_TYPE_ELEMENT)

enum { PROP_0, PROP_TERRAIN, PROP_MODEL, PROP_RATE, PROP_RATIO, PROP_FOLLOW };

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_AUDIO_CAPS_TEMPLATE_STRING));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_CAPS_TEMPLATE_STRING));

/* ------------------------------------------------------------- frames */

/* Picks up the followed trainer's weights (once, without waiting) and says which to play. */
static LatentTerrainPublisher *
gst_terrain_play_current_publisher (GstTerrainPlay *self)
{
  if (self->train && !self->followed && !self->follow_mismatch) {
    self->followed = gst_terrain_train_try_ref_publisher (self->train);
    if (self->followed) {
      LatentTerrainConfig c;
      latent_terrain_publisher_get_config (self->followed, &c);
      self->followed_generation = latent_terrain_publisher_get_generation (self->followed);
      if (c.latent_dims != self->latent_dims || c.control_dims != self->control_dims) {
        self->follow_mismatch = TRUE;
        GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("terrainplay: followed %s trains %d -> %d "
                "dims but this element plays %d -> %d; playing without it", self->follow,
                c.control_dims, c.latent_dims, self->control_dims, self->latent_dims), (NULL));
        g_clear_pointer (&self->followed, latent_terrain_publisher_unref);
      }
    }
  }
  if (self->followed && (!self->file ||
          latent_terrain_publisher_get_generation (self->followed) != self->followed_generation))
    return self->followed;
  return self->file;
}

/* Writes frames [k_next, k_end) to out. `in` holds samples [n_in - n_buf, n_in); the sample
 * before them is kept in `last`. Coordinates: the core rule (latent_terrain_sample_control). */
static void
gst_terrain_play_render_frames (GstTerrainPlay *self, guint64 k_end, const float *in,
    guint64 n_buf, float *out)
{
  const int l = self->latent_dims;
  const guint64 first = self->n_in - n_buf;
  const LatentControlSignal signal = {
    .values = in, .n = n_buf, .dims = self->control_dims, .previous = self->last,
  };
  LatentTerrainPublisher *pub = gst_terrain_play_current_publisher (self);
  for (guint64 k = self->k_next; k < k_end; k++, out += l) {
    const double centre = latent_terrain_frame_centre (k, self->out_ratio, self->out_rate,
        self->in_rate);
    latent_terrain_sample_control (&signal, centre - (double) first, NULL, self->x);
    if (!pub || !latent_terrain_publisher_forward (pub, self->x, out, self->workspace))
      memset (out, 0, sizeof (float) * l);
  }
}

static GstFlowReturn
gst_terrain_play_push_frames (GstTerrainPlay *self, guint64 k_end, const float *in, guint64 n_buf,
    gboolean at_end)
{
  if (k_end <= self->k_next)
    return GST_FLOW_OK;
  guint64 n = k_end - self->k_next;
  GstBuffer *buf = gst_buffer_new_allocate (NULL, n * self->latent_dims * sizeof (float), NULL);
  GstMapInfo map;
  gst_buffer_map (buf, &map, GST_MAP_WRITE);
  gst_terrain_play_render_frames (self, k_end, in, n_buf, (float *) map.data);
  gst_buffer_unmap (buf, &map);
  GstLatentTiming *t = &self->timing;
  GstClockTime end = gst_latent_timing_at (t, k_end, self->out_ratio, self->out_rate);
  if (at_end)
    end = MIN (end, gst_latent_timing_at (t, self->n_in, 1, self->in_rate));
  gst_latent_timing_stamp (t, buf,
      gst_latent_timing_at (t, self->k_next, self->out_ratio, self->out_rate), end,
      self->k_next, k_end);
  self->k_next = k_end;
  return gst_pad_push (self->srcpad, buf);
}

/* Frames whose centre is at or before sample n - 1: (2k+1)*R*r <= 2*(n-1)*SR, so with
 * q = floor(2*(n-1)*SR / (R*r)) they are k = 0 .. (q-1)/2. */
static guint64
gst_terrain_play_frames_ready (GstTerrainPlay *self, guint64 n)
{
  if (n == 0)
    return 0;
  guint64 q = (n - 1) * 2 * (guint64) self->out_rate / ((guint64) self->out_ratio * self->in_rate);
  return (q + 1) / 2;
}

/* All frames starting before the input's end: ceil(N*SR / (r*R)). */
static guint64
gst_terrain_play_frames_total (GstTerrainPlay *self, guint64 n)
{
  guint64 rr = (guint64) self->out_ratio * self->in_rate;
  return (n * self->out_rate + rr - 1) / rr;
}

/* GstLatentTimingOps.drain: the frames whose centre lies beyond the last sample hold it. */
static GstFlowReturn
gst_terrain_play_drain (GstElement *element)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (element);
  if (!self->timing.started || self->n_in == 0)
    return GST_FLOW_OK;
  return gst_terrain_play_push_frames (self, gst_terrain_play_frames_total (self, self->n_in),
      NULL, 0, TRUE);
}

static GstFlowReturn
gst_terrain_play_chain (GstPad *pad, GstObject *parent, GstBuffer *buf)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (parent);
  if (self->in_rate == 0) {
    gst_buffer_unref (buf);
    /* After a refusal (already posted) upstream may still push: no second error. */
    if (g_atomic_int_compare_and_exchange (&self->caps_refused, 0, 1))
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("terrainplay: buffer before caps"));
    return GST_FLOW_NOT_NEGOTIATED;
  }
  if (!self->timing.started) {
    gst_latent_timing_start (&self->timing, GST_BUFFER_PTS (buf));
    self->n_in = self->k_next = 0;
  }
  GstMapInfo map;
  if (!gst_buffer_map (buf, &map, GST_MAP_READ)) {
    gst_buffer_unref (buf);
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL), ("could not map a buffer"));
    return GST_FLOW_ERROR;
  }
  const int d = self->control_dims;
  guint64 n_buf = map.size / (sizeof (float) * d);
  GstFlowReturn ret = GST_FLOW_OK;
  if (n_buf > 0) {
    self->n_in += n_buf;
    const float *in = (const float *) map.data;
    ret = gst_terrain_play_push_frames (self, gst_terrain_play_frames_ready (self, self->n_in), in,
        n_buf, FALSE);
    memcpy (self->last, in + (n_buf - 1) * d, sizeof (float) * d);
  }
  gst_buffer_unmap (buf, &map);
  gst_buffer_unref (buf);
  return ret;
}

/* ------------------------------------------------------------- events */

/* GstLatentTimingOps.set_caps. */
static gboolean
gst_terrain_play_set_sink_caps (GstElement *element, GstCaps *caps)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (element);
  LatentCapsInfo info;
  char *reason = NULL;
  if (latent_audio_caps_parse (caps, &info, &reason) && info.channels != self->control_dims)
    reason = g_strdup_printf ("terrainplay: the coordinate stream has %d channel(s) but "
        "terrain %s takes %d control dims (one channel per dimension)", info.channels,
        self->terrain_path ? self->terrain_path : self->follow, self->control_dims);
  if (reason) {
    char *s = gst_caps_to_string (caps);
    if (g_atomic_int_compare_and_exchange (&self->caps_refused, 0, 1)) /* once per run */
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", reason), ("caps: %s", s));
    g_free (s);
    g_free (reason);
    return FALSE;
  }
  self->in_rate = info.rate;
  GstCaps *src = latent_caps_new (self->latent_dims, self->out_rate, self->out_ratio);
  gboolean ok = gst_pad_push_event (self->srcpad, gst_event_new_caps (src));
  gst_caps_unref (src);
  return ok || !gst_pad_is_linked (self->srcpad);
}

static const GstLatentTimingOps gst_terrain_play_timing_ops = {
  .drain = gst_terrain_play_drain,
  .set_caps = gst_terrain_play_set_sink_caps,
};

static gboolean
gst_terrain_play_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  return gst_latent_timing_sink_event (&GST_TERRAIN_PLAY (parent)->timing, pad, event);
}

/* Sink: the control-dims caps first, then the template, so that a wrong channel count gets
 * set_sink_caps' precise error (audioconvert must not remix coordinates silently). */
static gboolean
gst_terrain_play_sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (parent);
  if (GST_QUERY_TYPE (query) != GST_QUERY_CAPS)
    return gst_pad_query_default (pad, parent, query);
  GstCaps *caps = gst_pad_get_pad_template_caps (pad);
  if (self->control_dims > 0)
    caps = gst_caps_merge (latent_audio_caps_new_partial (self->control_dims, 0), caps);
  return latent_caps_answer_query (query, caps);
}

static gboolean
gst_terrain_play_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (parent);
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS: {
      return latent_caps_answer_query (query, self->latent_dims > 0
              ? latent_caps_new (self->latent_dims, self->out_rate, self->out_ratio)
              : gst_pad_get_pad_template_caps (pad));
    }
    case GST_QUERY_LATENCY: {
      if (!gst_pad_peer_query (self->sinkpad, query))
        return FALSE;
      gboolean live;
      GstClockTime min, max;
      gst_query_parse_latency (query, &live, &min, &max);
      GstClockTime ours = self->out_rate > 0 ? gst_util_uint64_scale_int (GST_SECOND,
          self->out_ratio, 2 * self->out_rate) : 0;
      if (self->in_rate > 0)
        ours += gst_util_uint64_scale_int_ceil (GST_SECOND, 1, self->in_rate);
      gst_query_set_latency (query, live, min + ours,
          GST_CLOCK_TIME_IS_VALID (max) ? max + ours : max);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

/* ------------------------------------------------------------- states */

static GstTerrainTrain *
gst_terrain_play_find_train (GstTerrainPlay *self, const char *name)
{
  GstObject *top = gst_object_ref (GST_OBJECT (self)), *parent;
  while ((parent = gst_object_get_parent (top))) {
    gst_object_unref (top);
    top = parent;
  }
  GstElement *found = GST_IS_BIN (top) ? gst_bin_get_by_name (GST_BIN (top), name) : NULL;
  gst_object_unref (top);
  if (found && !GST_IS_TERRAIN_TRAIN (found)) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("terrainplay: property follow: element %s "
            "is a %s, not a terraintrain", name, G_OBJECT_TYPE_NAME (found)), (NULL));
    gst_object_unref (found);
    return NULL;
  }
  if (!found)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("terrainplay: property follow: no element "
            "named %s in the pipeline", name), (NULL));
  return found ? GST_TERRAIN_TRAIN (found) : NULL;
}

/* Latent rate, ratio and count from an autoencoder's encode method. */
static gboolean
gst_terrain_play_read_model (GstTerrainPlay *self, int *rate, int *ratio, int *latents)
{
  GError *error = NULL;
  LatentMethodInfo info;
  LatentModel *model = latent_model_open (self->model_path, 1, &error);
  gboolean ok = model && latent_model_get_method_info (model, "encode", &info, &error);
  if (ok && (info.out_ratio % info.in_ratio != 0 || latent_model_get_sample_rate (model) <= 0)) {
    g_set_error (&error, LATENT_ERROR, LATENT_ERROR_METHOD, "%s: encode_params [%d, %d, %d, "
        "%d] and sample rate %d give no latent rate and ratio; set rate and ratio instead",
        self->model_path, info.in_channels, info.in_ratio, info.out_channels, info.out_ratio,
        latent_model_get_sample_rate (model));
    ok = FALSE;
  }
  if (ok) {
    *rate = latent_model_get_sample_rate (model);
    *ratio = info.out_ratio / info.in_ratio;
    *latents = info.out_channels;
  } else {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("terrainplay: property model: %s",
            error->message), (NULL));
    g_error_free (error);
  }
  latent_model_free (model);
  return ok;
}

static gboolean
gst_terrain_play_check_dims (GstTerrainPlay *self, const char *what, int expected,
    const char *where, int found)
{
  if (expected == found)
    return TRUE;
  GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("terrainplay: terrain %s has %d %s but %s has %d",
          self->terrain_path, expected, what, where, found), (NULL));
  return FALSE;
}

/* NULL -> READY: load the terrain, read the model, find the followed trainer. */
static gboolean
gst_terrain_play_open_sources (GstTerrainPlay *self)
{
  GError *error = NULL;
  LatentTerrainConfig config = { 0 }, train_config = { 0 };
  int model_rate = 0, model_ratio = 0, model_latents = 0;
  if (!self->terrain_path && !self->follow) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("terrainplay: set property terrain (a .pt "
            "file) or follow (a terraintrain's name)"), (NULL));
    return FALSE;
  }
  if (self->terrain_path) {
    LatentTerrain *terrain = latent_terrain_load (self->terrain_path, &error);
    if (!terrain) {
      GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ, ("terrainplay: property terrain: %s",
              error->message), (NULL));
      g_error_free (error);
      return FALSE;
    }
    config = *latent_terrain_get_config (terrain);
    self->file = latent_terrain_publisher_new (terrain);
    latent_terrain_free (terrain);
  }
  if (self->model_path && !gst_terrain_play_read_model (self, &model_rate, &model_ratio,
      &model_latents))
    return FALSE;
  if (self->model_path && self->terrain_path) {
    char *where = g_strdup_printf ("model %s (encode's latents)", self->model_path);
    gboolean ok = gst_terrain_play_check_dims (self, "latent dims", config.latent_dims, where,
        model_latents);
    g_free (where);
    if (!ok)
      return FALSE;
  }
  if (self->follow) {
    if (!(self->train = gst_terrain_play_find_train (self, self->follow)))
      return FALSE;
    gst_terrain_train_get_config (self->train, &train_config);
    if (self->terrain_path) {
      char *where = g_strdup_printf ("followed %s (property control-dims)", self->follow);
      gboolean ok = gst_terrain_play_check_dims (self, "control dims", config.control_dims, where,
          train_config.control_dims);
      g_free (where);
      if (!ok)
        return FALSE;
    } else {
      config = train_config;
      config.latent_dims = model_latents;
      if (!self->model_path) {
        GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("terrainplay: with follow and no "
                "terrain file, set model so that the latent count is known"), (NULL));
        return FALSE;
      }
    }
  }
  self->out_rate = self->rate ? self->rate : model_rate;
  self->out_ratio = self->ratio ? self->ratio : model_ratio;
  if ((self->rate && model_rate && self->rate != model_rate) ||
      (self->ratio && model_ratio && self->ratio != model_ratio)) {
    GST_ELEMENT_ERROR (self, STREAM, FORMAT, ("terrainplay: properties rate %d / ratio %d "
            "contradict model %s (%d Hz, ratio %d)", self->rate, self->ratio, self->model_path,
            model_rate, model_ratio), (NULL));
    return FALSE;
  }
  if (self->out_rate <= 0 || self->out_ratio <= 0) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("terrainplay: the latent stream's rate and "
            "ratio are unknown: set properties rate and ratio, or model"), (NULL));
    return FALSE;
  }
  self->control_dims = config.control_dims;
  self->latent_dims = config.latent_dims;
  /* One workspace that fits both the file's network and the trainer's. */
  LatentTerrainConfig fits = config;
  fits.channels = MAX (config.channels, train_config.channels);
  fits.features = MAX (config.features, train_config.features);
  self->workspace = latent_terrain_workspace_new (&fits);
  self->last = g_new0 (float, config.control_dims);
  self->x = g_new0 (float, config.control_dims);
  return TRUE;
}

static void
gst_terrain_play_close_sources (GstTerrainPlay *self)
{
  g_clear_pointer (&self->file, latent_terrain_publisher_unref);
  g_clear_pointer (&self->followed, latent_terrain_publisher_unref);
  g_clear_pointer (&self->workspace, latent_terrain_workspace_free);
  gst_clear_object (&self->train);
  g_clear_pointer (&self->last, g_free);
  g_clear_pointer (&self->x, g_free);
  self->control_dims = self->latent_dims = 0;
}

static void
gst_terrain_play_reset_stream (GstTerrainPlay *self)
{
  gst_latent_timing_reset (&self->timing);
  self->in_rate = 0;
  g_atomic_int_set (&self->caps_refused, 0);
  self->follow_mismatch = FALSE;
  g_clear_pointer (&self->followed, latent_terrain_publisher_unref);
}

static GstStateChangeReturn
gst_terrain_play_change_state (GstElement *element, GstStateChange transition)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    if (!gst_terrain_play_open_sources (self)) {
      gst_terrain_play_close_sources (self);
      return GST_STATE_CHANGE_FAILURE;
    }
  }
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED)
    gst_terrain_play_reset_stream (self);
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_terrain_play_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_terrain_play_reset_stream (self);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    gst_terrain_play_close_sources (self);
  return ret;
}

/* --------------------------------------------------------- properties */

static void
gst_terrain_play_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (object);
  if (GST_STATE (self) != GST_STATE_NULL) {
    GST_WARNING_OBJECT (self, "property '%s' can only be changed in the NULL state",
        pspec->name);
    return;
  }
  switch (id) {
    case PROP_TERRAIN: g_free (self->terrain_path);
      self->terrain_path = g_value_dup_string (value); break;
    case PROP_MODEL: g_free (self->model_path); self->model_path = g_value_dup_string (value);
      break;
    case PROP_FOLLOW: g_free (self->follow); self->follow = g_value_dup_string (value); break;
    case PROP_RATE: self->rate = g_value_get_int (value); break;
    case PROP_RATIO: self->ratio = g_value_get_int (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec); break;
  }
}

static void
gst_terrain_play_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (object);
  switch (id) {
    case PROP_TERRAIN: g_value_set_string (value, self->terrain_path); break;
    case PROP_MODEL: g_value_set_string (value, self->model_path); break;
    case PROP_FOLLOW: g_value_set_string (value, self->follow); break;
    case PROP_RATE: g_value_set_int (value, self->rate); break;
    case PROP_RATIO: g_value_set_int (value, self->ratio); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec); break;
  }
}

static void
gst_terrain_play_init (GstTerrainPlay *self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  GstPad *sink = self->sinkpad;
  gst_pad_set_chain_function (sink, GST_DEBUG_FUNCPTR (gst_terrain_play_chain));
  gst_pad_set_event_function (sink, GST_DEBUG_FUNCPTR (gst_terrain_play_sink_event));
  gst_pad_set_query_function (sink, GST_DEBUG_FUNCPTR (gst_terrain_play_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, GST_DEBUG_FUNCPTR (gst_terrain_play_src_query));
  gst_pad_use_fixed_caps (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  gst_latent_timing_init (&self->timing, GST_ELEMENT (self), self->srcpad,
      &gst_terrain_play_timing_ops);
}

static void
gst_terrain_play_finalize (GObject *object)
{
  GstTerrainPlay *self = GST_TERRAIN_PLAY (object);
  gst_terrain_play_reset_stream (self);
  gst_terrain_play_close_sources (self);
  g_free (self->terrain_path);
  g_free (self->model_path);
  g_free (self->follow);
  G_OBJECT_CLASS (gst_terrain_play_parent_class)->finalize (object);
}

static void
gst_terrain_play_class_init (GstTerrainPlayClass *klass)
{
  GObjectClass *oc = G_OBJECT_CLASS (klass);
  GstElementClass *ec = GST_ELEMENT_CLASS (klass);
  oc->set_property = GST_DEBUG_FUNCPTR (gst_terrain_play_set_property);
  oc->get_property = GST_DEBUG_FUNCPTR (gst_terrain_play_get_property);
  oc->finalize = GST_DEBUG_FUNCPTR (gst_terrain_play_finalize);
  ec->change_state = GST_DEBUG_FUNCPTR (gst_terrain_play_change_state);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  g_object_class_install_property (oc, PROP_TERRAIN, g_param_spec_string ("terrain",
          "Terrain", "Terrain file (.pt, nn_terrain checkpoint) to play", NULL, rw));
  g_object_class_install_property (oc, PROP_MODEL, g_param_spec_string ("model", "Model",
          "Autoencoder (.ts) whose sample rate and encode ratio the latents take", NULL, rw));
  g_object_class_install_property (oc, PROP_RATE, g_param_spec_int ("rate", "Rate",
          "Audio sample rate the latent stream stands for (Hz); 0 = the model's", 0,
          LATENT_MAX_SAMPLE_RATE, 0, rw));
  g_object_class_install_property (oc, PROP_RATIO, g_param_spec_int ("ratio", "Ratio",
          "Audio samples per latent frame; 0 = the model's encode ratio", 0, LATENT_MAX_RATIO,
          0, rw));
  g_object_class_install_property (oc, PROP_FOLLOW, g_param_spec_string ("follow", "Follow",
          "Name of a terraintrain in the pipeline whose weights are played as it trains",
          NULL, rw));
  gst_element_class_add_static_pad_template (ec, &sink_template);
  gst_element_class_add_static_pad_template (ec, &src_template);
  gst_element_class_set_static_metadata (ec, "Latent Terrain player", "Filter/Audio",
      "Maps a coordinate stream to a latent stream through a Latent Terrain, interpolating "
      "between control samples", "latent");
  GST_DEBUG_CATEGORY_INIT (terrain_play_debug, "terrainplay", 0, "Latent Terrain player");
}
