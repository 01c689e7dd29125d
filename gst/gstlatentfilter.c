/* GstLatentFilter: shared machinery of raveencode / ravedecode (see gstlatentfilter.h).
 *
 * Why a GstElement with chain/event functions and not GstBaseTransform: the output size is not
 * a function of the input buffer (the core's block adapter emits nothing for most small input
 * buffers, then a whole model block), draining at EOS, discontinuities and segment changes
 * must push extra output before the event, and the latency/caps answers depend on the loaded
 * model. BaseTransform's one-in/one-out model would need submit_input_buffer/generate_output
 * plus event overrides for all of that; a plain element with two pads is shorter and clearer.
 *
 * Timing rule (both elements, any ratio):
 *   - rate SR is the audio rate of the stream (both pads carry the same rate); a frame on a pad
 *     with ratio R stands for R audio samples; input ratio Ri, output ratio Ro.
 *   - ts0 is the timestamp of the first buffer after start, a flush or a discontinuity (the
 *     segment start when that buffer has none). Input and output frames are counted from ts0:
 *     output frame j gets pts ts0 + j*Ro/SR, so output stays aligned with the input it came
 *     from; the element reports its latency instead of shifting time. latency-mode=safe: the
 *     block (block*Ri/SR). latency-mode=low (default): the block 0 picks is one latent frame
 *     (core/latent-rt.h, latent_rt_method_block), and the latency is what the element really
 *     holds back: (block - 1) input frames (a frame arrives whole, so its first sample is not
 *     waiting for its last; for latent input one latent frame is the unit, and a decoder whose
 *     block is one frame adds no block at all), plus the compute margin M measured after
 *     warm-up (latent_rt_time_method, latent_rt_margin_frames): the model runs on the
 *     streaming thread, so its output leaves up to M after its last input arrived.
 *   - E, the input end, is the largest pts+duration seen since ts0, in audio samples from ts0
 *     (a buffer without duration lasts its frames*Ri samples). Output frame j is pushed only if
 *     it starts before E (j*Ro < E), and the buffer holding the last one ends at E.
 *   - At EOS (and before a discontinuity or a new segment) the stream is flushed: the pending
 *     input is zero-padded to a block, run, and the rule above keeps only the real frames.
 * So raveencode, fed N audio samples, pushes ceil(N/R) latent frames whose last buffer ends at
 * the time of sample N (its duration is the real remaining audio time, shorter than R/SR), and
 * ravedecode trims its output to that end: N samples in, exactly N samples out. */
#include "gstlatentfilter.h"
#include "latent-caps.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC (latent_filter_debug);
#define GST_CAT_DEFAULT latent_filter_debug

typedef struct {
  GstPad *sinkpad, *srcpad;

  /* Properties (object lock). Changeable in NULL only, except threads. */
  char *model_path;
  char *method;
  int threads;
  int block;
  LatentRtLatency latency_mode;

  /* READY and up: owned by the streaming thread once PAUSED. */
  LatentModel *model;
  LatentStream *stream;
  LatentMethodInfo info;
  int model_rate;      /* 0 when the model states none */
  int in_ratio;        /* audio samples per input frame; 0: taken from latent caps */
  int out_ratio;       /* audio samples per output frame; 0: not known yet */
  int block_frames;    /* input frames per model call */
  int margin;          /* low latency: compute margin, audio samples at the model's rate */
  double step_us;      /* low latency: the slowest timed call */
  float *flush_buf;    /* one block of output */
  gint caps_refused; /* atomic: the negotiation error was posted (once per stream) */

  /* Negotiated. */
  gboolean negotiated;
  int rate;
  GstCaps *src_caps;

  /* Streaming state (streaming thread). */
  GstSegment segment;
  gboolean have_ts0;
  GstClockTime ts0;
  guint64 in_frames;      /* input frames since ts0 */
  guint64 out_frames;     /* output frames the stream produced since ts0 (trimmed ones too) */
  guint64 in_end;         /* E: audio samples from ts0 to the end of the input seen */
  guint64 out_offset0;    /* offset of output frame 0 */
  gboolean discont;
  gboolean nonfinite_warned;
  gboolean model_nonfinite_warned; /* this stream's first NaN/Inf from the model was reported */
  guint64 nonfinite_total;
} GstLatentFilterPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (GstLatentFilter, gst_latent_filter, GST_TYPE_ELEMENT)

#define PRIV(self) ((GstLatentFilterPrivate *) gst_latent_filter_get_instance_private ( \
    GST_LATENT_FILTER (self)))
#define FCLASS(self) GST_LATENT_FILTER_GET_CLASS (self)

/* Factory name ("raveencode") for messages. */
static const char *
element_name (gpointer self)
{
  GstElementFactory *f = gst_element_get_factory (GST_ELEMENT (self));
  return f ? GST_OBJECT_NAME (f) : GST_OBJECT_NAME (self);
}

static const char *
model_path_of (GstLatentFilterPrivate *p)
{
  return p->model_path ? p->model_path : "(none)";
}

/* ------------------------------------------------------------ properties */

void
gst_latent_filter_class_install_properties (GObjectClass *klass, const char *default_method)
{
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the TorchScript model file (nn~ convention, e.g. a RAVE export). Required, "
          "no default; set in the NULL state. Loaded (each element its own copy) and warmed up "
          "when going from NULL to READY",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  char *blurb = g_strdup_printf ("Name of the model method to run (it must have a "
      "METHOD_params buffer); set in the NULL state. Default \"%s\"", default_method);
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_METHOD,
      g_param_spec_string ("method", "Method", g_intern_string (blurb), default_method,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_free (blurb);
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "LibTorch intra-op threads used by each model call (count). Default 1", 1, 256, 1,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_BLOCK,
      g_param_spec_int ("block", "Block",
          "Input frames per model call (audio samples for audio input, latent frames for "
          "latent input); must be a multiple of the method's minimum block. Adds block/rate "
          "seconds of latency. 0 (default) = the core's default, the smallest valid block of "
          "at least 2048 audio samples (latency-mode=safe) or one latent frame (low). Set in "
          "the NULL state", 0, G_MAXINT / 4096, 0,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_LATENCY_MODE,
      g_param_spec_enum ("latency-mode", "Latency mode",
          "low: block 0 means one latent frame, and the latency reported is the block less one "
          "input frame plus a compute margin measured at load; safe: block 0 means at least "
          "2048 samples and the latency is the whole block. Set in the NULL state",
          gst_latent_filter_latency_mode_get_type (), LATENT_RT_LATENCY_LOW,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
}

GType
gst_latent_filter_latency_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    { LATENT_RT_LATENCY_LOW, "One latent frame and a measured compute margin", "low" },
    { LATENT_RT_LATENCY_SAFE, "Blocks of at least 2048 samples, the whole block", "safe" },
    { 0, NULL, NULL },
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstLatentLatencyMode", values));
  return type;
}

void
gst_latent_filter_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstLatentFilter *self = GST_LATENT_FILTER (object);
  GstLatentFilterPrivate *p = PRIV (self);
  if (prop_id != GST_LATENT_FILTER_PROP_THREADS && GST_STATE (self) != GST_STATE_NULL) {
    GST_WARNING_OBJECT (self, "property '%s' can only be changed in the NULL state",
        pspec->name);
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case GST_LATENT_FILTER_PROP_MODEL:
      g_free (p->model_path);
      p->model_path = g_value_dup_string (value);
      break;
    case GST_LATENT_FILTER_PROP_METHOD:
      g_free (p->method);
      p->method = g_value_dup_string (value);
      break;
    case GST_LATENT_FILTER_PROP_THREADS:
      p->threads = g_value_get_int (value);
      /* Read by the model on each call; an int store is the whole handoff. */
      if (p->model)
        latent_model_set_threads (p->model, p->threads);
      break;
    case GST_LATENT_FILTER_PROP_BLOCK:
      p->block = g_value_get_int (value);
      break;
    case GST_LATENT_FILTER_PROP_LATENCY_MODE:
      p->latency_mode = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

void
gst_latent_filter_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec)
{
  GstLatentFilter *self = GST_LATENT_FILTER (object);
  GstLatentFilterPrivate *p = PRIV (self);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case GST_LATENT_FILTER_PROP_MODEL:
      g_value_set_string (value, p->model_path);
      break;
    case GST_LATENT_FILTER_PROP_METHOD:
      g_value_set_string (value, p->method);
      break;
    case GST_LATENT_FILTER_PROP_THREADS:
      g_value_set_int (value, p->threads);
      break;
    case GST_LATENT_FILTER_PROP_BLOCK:
      g_value_set_int (value, p->block);
      break;
    case GST_LATENT_FILTER_PROP_LATENCY_MODE:
      g_value_set_enum (value, p->latency_mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

int
gst_latent_filter_get_in_channels (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  return p->model ? p->info.in_channels : 0;
}

/* ------------------------------------------------------------------ caps */

static int
current_rate (GstLatentFilterPrivate *p)
{
  return p->negotiated ? p->rate : p->model_rate;
}

/* The caps the model takes (sink) or makes (src) with the rate left open when unknown. */
static GstCaps *
model_caps (GstLatentFilter *self, GstPadDirection dir, int rate)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  gboolean sink = dir == GST_PAD_SINK;
  int channels = sink ? p->info.in_channels : p->info.out_channels;
  int ratio = sink ? p->in_ratio : p->out_ratio;
  if (sink ? klass->sink_is_latent : klass->src_is_latent)
    return latent_caps_new_partial (channels, rate, ratio);
  return latent_audio_caps_new_partial (channels, rate);
}

/* Keeps only the rates `peer` allows (the rate passes through the element unchanged). */
static GstCaps *
restrict_rate (GstCaps *ours, GstCaps *peer)
{
  if (!peer || gst_caps_is_any (peer))
    return ours;
  GstCaps *rated = gst_caps_new_empty ();
  for (guint i = 0; i < gst_caps_get_size (peer); i++) {
    const GValue *rate = gst_structure_get_value (gst_caps_get_structure (peer, i), "rate");
    GstCaps *c = gst_caps_copy (ours);
    for (guint k = 0; rate && k < gst_caps_get_size (c); k++)
      gst_structure_set_value (gst_caps_get_structure (c, k), "rate", rate);
    rated = gst_caps_merge (rated, c);
  }
  GstCaps *result = gst_caps_intersect (ours, rated);
  gst_caps_unref (rated);
  gst_caps_unref (ours);
  return result;
}

/* The one negotiation error of a stream: caps queries and events can repeat (upstream
 * retries on every buffer) and come from several threads, so only the first refusal posts
 * (an ERROR, never a warning that gst-launch may not show); the rest return quietly, and the
 * pipeline stops on that one error. `reason` NULL: a generic message. */
static void
refuse_caps (GstLatentFilter *self, const char *reason, const char *debug)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!g_atomic_int_compare_and_exchange (&p->caps_refused, 0, 1))
    return;
  if (reason)
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", reason), ("%s", debug));
  else
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("%s: %s", element_name (self), debug));
}

static GstCaps *
query_caps (GstLatentFilter *self, GstPad *pad, GstCaps *filter)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  GstCaps *templ = gst_pad_get_pad_template_caps (pad);
  GstCaps *result;

  GST_OBJECT_LOCK (self);
  gboolean loaded = p->model != NULL;
  GST_OBJECT_UNLOCK (self);
  if (!loaded) {
    result = templ;
    templ = NULL;
  } else {
    result = model_caps (self, GST_PAD_DIRECTION (pad), current_rate (p));
    if (current_rate (p) == 0) {
      /* Model without a rate: any rate the other side allows. */
      GstPad *other = pad == p->sinkpad ? p->srcpad : p->sinkpad;
      GstCaps *other_caps = model_caps (self, GST_PAD_DIRECTION (other), 0);
      GstCaps *peer = gst_pad_peer_query_caps (other, other_caps);
      gst_caps_unref (other_caps);
      result = restrict_rate (result, peer);
      if (peer)
        gst_caps_unref (peer);
    }
    if (pad == p->sinkpad && filter && !p->negotiated) {
      GstCaps *common = gst_caps_intersect (result, filter);
      if (gst_caps_is_empty (common) && !klass->lenient_sink_caps
          && !g_atomic_int_get (&p->caps_refused)) {
        /* Upstream cannot send what the model takes: its own not-negotiated error will not
         * say why, so this is the error (posted first, from the thread that negotiates). */
        char *want = gst_caps_to_string (result), *got = gst_caps_to_string (filter);
        char *rate = p->model_rate ? g_strdup_printf ("%d Hz", p->model_rate)
            : g_strdup ("any rate");
        char *reason = g_strdup_printf ("%s: model %s (method %s) takes %d channel(s) at %s, "
            "upstream offers %s; put audioconvert ! audioresample before %s",
            element_name (self), model_path_of (p), p->method, p->info.in_channels, rate, got,
            element_name (self));
        char *debug = g_strdup_printf ("model caps: %s", want);
        refuse_caps (self, reason, debug);
        g_free (reason);
        g_free (debug);
        g_free (rate);
        g_free (want);
        g_free (got);
      }
      gst_caps_unref (common);
    }
    if (pad == p->sinkpad && klass->lenient_sink_caps)
      result = gst_caps_merge (result, gst_caps_ref (templ));
  }
  if (templ)
    gst_caps_unref (templ);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, result, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (result);
    result = tmp;
  }
  return result;
}

/* Checks the stream's caps against the model; on a mismatch posts an error with the reason
 * (refuse_caps: once). */
static gboolean
set_sink_caps (GstLatentFilter *self, GstCaps *caps)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  LatentCapsInfo in;
  char *reason = NULL;
  const char *name = element_name (self);
  gboolean ok = klass->sink_is_latent ? latent_caps_parse (caps, &in, &reason)
      : latent_audio_caps_parse (caps, &in, &reason);
  if (ok && in.channels != p->info.in_channels) {
    if (klass->sink_is_latent)
      reason = g_strdup_printf ("%s: the stream carries %d latents but model %s %ss %d",
          name, in.channels, model_path_of (p), p->method, p->info.in_channels);
    else
      reason = g_strdup_printf ("%s: the stream has %d channel(s) but model %s (method %s) "
          "takes %d; put audioconvert before %s", name, in.channels, model_path_of (p),
          p->method, p->info.in_channels, name);
    ok = FALSE;
  }
  if (ok && p->model_rate && in.rate != p->model_rate) {
    reason = g_strdup_printf ("%s: the stream's rate is %d Hz but model %s runs at %d Hz%s",
        name, in.rate, model_path_of (p), p->model_rate,
        klass->sink_is_latent ? "" : "; put audioresample before the element");
    ok = FALSE;
  }
  if (ok && klass->sink_is_latent && p->in_ratio && in.ratio != p->in_ratio) {
    reason = g_strdup_printf ("%s: the stream's latent frames stand for %d audio samples "
        "(ratio) but model %s's %s takes frames of %d samples", name, in.ratio,
        model_path_of (p), p->method, p->in_ratio);
    ok = FALSE;
  }
  int in_ratio = klass->sink_is_latent ? in.ratio : 1;
  int out_ratio = 0;
  if (ok) {
    /* Output ratio: in_ratio * out_ratio_m / in_ratio_m must be a whole number of samples. */
    gint64 num = (gint64) in_ratio * p->info.out_ratio;
    if (num % p->info.in_ratio) {
      reason = g_strdup_printf ("%s: method %s of %s turns %d input frames into %d, so "
          "frames of %d samples would give fractional output frames", name, p->method,
          model_path_of (p), p->info.out_ratio, p->info.in_ratio, in_ratio);
      ok = FALSE;
    } else {
      out_ratio = (int) (num / p->info.in_ratio);
      if (!klass->src_is_latent && out_ratio != 1) {
        reason = g_strdup_printf ("%s: method %s of %s does not give audio-rate output "
            "(%d samples per output frame)", name, p->method, model_path_of (p), out_ratio);
        ok = FALSE;
      }
    }
  }
  if (!ok) {
    char *s = gst_caps_to_string (caps);
    char *debug = g_strdup_printf ("stream caps: %s", s);
    refuse_caps (self, reason, debug);
    g_free (debug);
    g_free (s);
    g_free (reason);
    return FALSE;
  }

  GstCaps *src_caps = klass->src_is_latent
      ? latent_caps_new (p->info.out_channels, in.rate, out_ratio)
      : latent_audio_caps_new_partial (p->info.out_channels, in.rate);
  if (p->src_caps && gst_caps_is_equal (p->src_caps, src_caps) && p->rate == in.rate) {
    gst_caps_unref (src_caps);
    return TRUE;
  }
  if (gst_pad_is_linked (p->srcpad) && !gst_pad_peer_query_accept_caps (p->srcpad, src_caps)) {
    char *s = gst_caps_to_string (src_caps);
    GstPad *peer = gst_pad_get_peer (p->srcpad);
    GstObject *peer_el = peer ? gst_pad_get_parent (peer) : NULL;
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        ("%s: downstream %s does not accept %s%s", name,
         peer_el ? GST_OBJECT_NAME (peer_el) : "element", s,
         klass->src_is_latent ? " (link a latent consumer such as ravedecode)" : ""), (NULL));
    if (peer_el)
      gst_object_unref (peer_el);
    if (peer)
      gst_object_unref (peer);
    g_free (s);
    gst_caps_unref (src_caps);
    return FALSE;
  }
  p->rate = in.rate;
  p->in_ratio = in_ratio;
  p->out_ratio = out_ratio;
  p->negotiated = TRUE;
  gst_caps_replace (&p->src_caps, src_caps);
  gboolean pushed = gst_pad_push_event (p->srcpad, gst_event_new_caps (src_caps));
  gst_caps_unref (src_caps);
  GST_DEBUG_OBJECT (self, "rate %d, ratios %d -> %d, pushed caps: %d", in.rate, in_ratio,
      out_ratio, pushed);
  return TRUE;
}

/* ------------------------------------------------------------- streaming */

static GstClockTime
latency_time (GstLatentFilterPrivate *p)
{
  int rate = current_rate (p);
  if (!p->stream || rate <= 0 || p->in_ratio <= 0)
    return 0;
  if (p->latency_mode == LATENT_RT_LATENCY_SAFE)
    return latent_frames_to_time (p->block_frames, p->in_ratio, rate);
  return latent_frames_to_time (p->block_frames - 1, p->in_ratio, rate)
      + latent_frames_to_time (p->margin, 1, rate);
}

static void
start_at (GstLatentFilter *self, GstClockTime pts)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    pts = p->segment.format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID (p->segment.start)
        ? p->segment.start : 0;
  p->have_ts0 = TRUE;
  p->ts0 = pts;
  p->in_frames = 0;
  p->out_frames = 0;
  p->in_end = 0;
  p->out_offset0 = gst_util_uint64_scale_int_round (pts, p->rate,
      (gint) GST_SECOND) / (guint64) p->out_ratio;
  p->discont = TRUE;
}

/* Pushes `n` output frames that the stream produced (at out_frames), keeping only those that
 * start before the input end E (the trimming rule at the top of this file). Takes `buf`. */
static GstFlowReturn
push_output (GstLatentFilter *self, GstBuffer *buf, size_t n)
{
  GstLatentFilterPrivate *p = PRIV (self);
  guint64 j0 = p->out_frames;
  guint64 limit = (p->in_end + p->out_ratio - 1) / p->out_ratio; /* frames starting before E */
  p->out_frames += n;
  guint64 keep = limit > j0 ? MIN ((guint64) n, limit - j0) : 0;
  if (keep == 0) {
    gst_buffer_unref (buf);
    return GST_FLOW_OK;
  }
  if (keep < n)
    gst_buffer_resize (buf, 0, (gssize) (keep * p->info.out_channels * sizeof (float)));
  GstClockTime start = p->ts0 + latent_frames_to_time (j0, p->out_ratio, p->rate);
  guint64 end_samples = MIN ((j0 + keep) * p->out_ratio, p->in_end);
  GstClockTime end = p->ts0 + latent_frames_to_time (end_samples, 1, p->rate);
  GST_BUFFER_PTS (buf) = start;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = end - start;
  GST_BUFFER_OFFSET (buf) = p->out_offset0 + j0;
  GST_BUFFER_OFFSET_END (buf) = p->out_offset0 + j0 + keep;
  if (p->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    p->discont = FALSE;
  }
  return gst_pad_push (p->srcpad, buf);
}

/* Runs what is buffered (zero-padded) and pushes the real part of its output. */
static GstFlowReturn
drain (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!p->stream || !p->have_ts0 || latent_stream_get_pending (p->stream) == 0)
    return GST_FLOW_OK;
  GError *error = NULL;
  gssize n = latent_stream_flush (p->stream, p->flush_buf, &error);
  if (n < 0) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    g_error_free (error);
    return GST_FLOW_ERROR;
  }
  gsize bytes = (gsize) n * p->info.out_channels * sizeof (float);
  GstBuffer *buf = gst_buffer_new_memdup (p->flush_buf, bytes);
  return push_output (self, buf, (size_t) n);
}

/* Forgets buffered input and the model's state; the next buffer starts a new ts0. */
static gboolean
reset_stream (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  p->have_ts0 = FALSE;
  if (!p->stream)
    return TRUE;
  GError *error = NULL;
  if (!latent_stream_reset (p->stream, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    g_error_free (error);
    return FALSE;
  }
  return TRUE;
}

static GstFlowReturn
chain (GstPad *pad, GstObject *parent, GstBuffer *inbuf)
{
  GstLatentFilter *self = GST_LATENT_FILTER (parent);
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  GstFlowReturn ret = GST_FLOW_OK;

  if (!p->negotiated || !p->stream) {
    /* After a refusal (already posted) upstream may still push: no second error. */
    if (!g_atomic_int_get (&p->caps_refused))
      refuse_caps (self, NULL, "buffer before caps");
    gst_buffer_unref (inbuf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const size_t frame_bytes = (size_t) p->info.in_channels * sizeof (float);
  const size_t n_in = gst_buffer_get_size (inbuf) / frame_bytes;
  GstClockTime pts = GST_BUFFER_PTS (inbuf);

  /* Discontinuity: a DISCONT flag after data, or a timestamp off by more than
   * max(40 ms, half an input frame) from where the counted frames say it should be. */
  if (p->have_ts0) {
    GstClockTime expected = p->ts0 + latent_frames_to_time (p->in_frames, p->in_ratio, p->rate);
    GstClockTime tolerance = MAX (40 * GST_MSECOND,
        latent_frames_to_time (1, p->in_ratio, p->rate) / 2);
    gboolean jump = GST_CLOCK_TIME_IS_VALID (pts) &&
        (pts > expected ? pts - expected : expected - pts) > tolerance;
    if ((GST_BUFFER_IS_DISCONT (inbuf) && p->in_frames > 0) || jump) {
      GST_DEBUG_OBJECT (self, "discontinuity at %" GST_TIME_FORMAT " (expected %"
          GST_TIME_FORMAT "): draining and resetting", GST_TIME_ARGS (pts),
          GST_TIME_ARGS (expected));
      ret = drain (self);
      if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED) {
        gst_buffer_unref (inbuf);
        return ret;
      }
      if (!reset_stream (self)) {
        gst_buffer_unref (inbuf);
        return GST_FLOW_ERROR;
      }
    }
  }
  if (!p->have_ts0)
    start_at (self, pts);

  /* Input end E, in audio samples from ts0. */
  GstClockTime in_start = GST_CLOCK_TIME_IS_VALID (pts) && pts >= p->ts0 ? pts
      : p->ts0 + latent_frames_to_time (p->in_frames, p->in_ratio, p->rate);
  GstClockTime dur = GST_BUFFER_DURATION_IS_VALID (inbuf) ? GST_BUFFER_DURATION (inbuf)
      : latent_frames_to_time (n_in, p->in_ratio, p->rate);
  guint64 end = gst_util_uint64_scale_int_round (in_start + dur - p->ts0, p->rate,
      (gint) GST_SECOND);
  p->in_end = MAX (p->in_end, end);

  if (GST_CLOCK_TIME_IS_VALID (pts))
    gst_object_sync_values (GST_OBJECT (self), pts);
  if (klass->before_process)
    klass->before_process (self, p->stream);

  size_t n_out = latent_stream_output_frames (p->stream, n_in);
  GstBuffer *outbuf = NULL;
  GstMapInfo in_map, out_map = { 0 };
  float dummy[1];
  if (!gst_buffer_map (inbuf, &in_map, GST_MAP_READ)) {
    gst_buffer_unref (inbuf);
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL), ("could not map input buffer"));
    return GST_FLOW_ERROR;
  }
  if (n_out > 0) {
    outbuf = gst_buffer_new_allocate (NULL, n_out * p->info.out_channels * sizeof (float),
        NULL);
    gst_buffer_map (outbuf, &out_map, GST_MAP_WRITE);
  }
  size_t nonfinite = 0;
  GError *error = NULL;
  gboolean ok = latent_stream_process (p->stream, (const float *) in_map.data, n_in,
      outbuf ? (float *) out_map.data : dummy, &nonfinite, &error);
  gst_buffer_unmap (inbuf, &in_map);
  gst_buffer_unref (inbuf);
  if (outbuf)
    gst_buffer_unmap (outbuf, &out_map);
  if (!ok) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    g_error_free (error);
    if (outbuf)
      gst_buffer_unref (outbuf);
    return GST_FLOW_ERROR;
  }
  p->in_frames += n_in;
  if (nonfinite) {
    p->nonfinite_total += nonfinite;
    if (!p->nonfinite_warned) {
      p->nonfinite_warned = TRUE;
      GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, FORMAT,
          ("%s: %" G_GSIZE_FORMAT " non-finite input samples (NaN or Inf) in the buffer at %"
           GST_TIME_FORMAT " were replaced by zeros; further ones in this stream are replaced "
           "without another warning", element_name (self), nonfinite, GST_TIME_ARGS (pts)),
          (NULL), ("count", G_TYPE_UINT64, (guint64) nonfinite, NULL));
    }
  }
  if (!p->model_nonfinite_warned && latent_model_get_non_finite_count (p->model) > 0) {
    p->model_nonfinite_warned = TRUE;
    GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECODE,
        ("%s: the model returned NaN or Inf values (by the buffer at %" GST_TIME_FORMAT "): "
         "they were replaced by zeros and the model's state reset; further ones are replaced "
         "without another warning", element_name (self), GST_TIME_ARGS (pts)), (NULL),
        ("count", G_TYPE_UINT64, latent_model_get_non_finite_count (p->model), NULL));
  }
  if (outbuf)
    ret = push_output (self, outbuf, n_out);
  return ret;
}

static gboolean
sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstLatentFilter *self = GST_LATENT_FILTER (parent);
  GstLatentFilterPrivate *p = PRIV (self);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS: {
      GstCaps *caps;
      gst_event_parse_caps (event, &caps);
      GstCaps *current = gst_pad_get_current_caps (pad);
      gboolean same = p->negotiated && current && gst_caps_is_equal (current, caps);
      if (current)
        gst_caps_unref (current);
      if (same) {
        /* Re-sent identical caps: nothing changes, the stream goes on. */
        gst_event_unref (event);
        return TRUE;
      }
      if (p->negotiated && p->have_ts0) {
        /* New format mid-stream: finish the old one first. */
        drain (self);
        reset_stream (self);
      }
      gboolean ok = p->model && set_sink_caps (self, caps);
      gst_event_unref (event);
      return ok;
    }
    case GST_EVENT_SEGMENT: {
      /* Output time equals input time, so the segment passes through; data of the previous
       * segment is drained first. A non-TIME segment (e.g. appsrc in bytes) is replaced by a
       * TIME segment from 0, since output timestamps are counted in time. */
      if (p->have_ts0 && p->in_frames > 0) {
        drain (self);
        reset_stream (self);
      }
      const GstSegment *seg;
      gst_event_parse_segment (event, &seg);
      if (seg->format == GST_FORMAT_TIME) {
        gst_segment_copy_into (seg, &p->segment);
      } else {
        gst_segment_init (&p->segment, GST_FORMAT_TIME);
        guint32 seqnum = gst_event_get_seqnum (event);
        gst_event_unref (event);
        event = gst_event_new_segment (&p->segment);
        gst_event_set_seqnum (event, seqnum);
      }
      return gst_pad_push_event (p->srcpad, event);
    }
    case GST_EVENT_EOS:
      drain (self);
      reset_stream (self);
      return gst_pad_push_event (p->srcpad, event);
    case GST_EVENT_FLUSH_STOP:
      reset_stream (self);
      gst_segment_init (&p->segment, GST_FORMAT_TIME);
      return gst_pad_push_event (p->srcpad, event);
    case GST_EVENT_STREAM_START:
      p->nonfinite_warned = FALSE;
      p->model_nonfinite_warned = FALSE;
      p->nonfinite_total = 0;
      return gst_pad_push_event (p->srcpad, event);
    default:
      return gst_pad_event_default (pad, parent, event);
  }
}

/* Both pads answer a caps query from the model's formats (query_caps). */
static gboolean
answer_caps_query (GstLatentFilter *self, GstPad *pad, GstQuery *query)
{
  GstCaps *filter;
  gst_query_parse_caps (query, &filter);
  GstCaps *caps = query_caps (self, pad, filter);
  gst_query_set_caps_result (query, caps);
  gst_caps_unref (caps);
  return TRUE;
}

static gboolean
sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS)
    return answer_caps_query (GST_LATENT_FILTER (parent), pad, query);
  return gst_pad_query_default (pad, parent, query);
}

static gboolean
src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstLatentFilter *self = GST_LATENT_FILTER (parent);
  GstLatentFilterPrivate *p = PRIV (self);
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:
      return answer_caps_query (self, pad, query);
    case GST_QUERY_LATENCY: {
      if (!gst_pad_peer_query (p->sinkpad, query))
        return FALSE;
      gboolean live;
      GstClockTime min, max;
      gst_query_parse_latency (query, &live, &min, &max);
      GstClockTime ours = latency_time (p);
      GST_DEBUG_OBJECT (self, "upstream latency %" GST_TIME_FORMAT ", adding %"
          GST_TIME_FORMAT, GST_TIME_ARGS (min), GST_TIME_ARGS (ours));
      min += ours;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += ours;
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

/* ---------------------------------------------------------------- states */

static void
free_model (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GST_OBJECT_LOCK (self);
  LatentStream *stream = p->stream;
  LatentModel *model = p->model;
  p->stream = NULL;
  p->model = NULL;
  GST_OBJECT_UNLOCK (self);
  latent_stream_free (stream);
  latent_model_free (model);
  g_clear_pointer (&p->flush_buf, g_free);
}

/* NULL -> READY: load this element's own copy of the model, check the method, make the
 * stream and warm the method up, all on the thread that changes the state. */
static gboolean
load_model (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  const char *name = element_name (self);
  GST_OBJECT_LOCK (self);
  char *path = g_strdup (p->model_path);
  char *method = g_strdup (p->method);
  int threads = p->threads, block = p->block;
  LatentRtLatency mode = p->latency_mode;
  GST_OBJECT_UNLOCK (self);

  if (!path || !*path) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("%s: no model file set (property 'model')", name), (NULL));
    g_free (path);
    g_free (method);
    return FALSE;
  }
  /* Open, check, pick the block, warm up, make the stream, time the margin (LOW): core's one
   * recipe (latent-rt.h, "Opening a model for streaming"). */
  const char *chain[] = { method, NULL };
  LatentOpenRequest request = {
    .path = path, .methods = chain, .threads = threads, .latency = mode, .block = block,
  };
  LatentOpenedModel opened;
  GError *error = NULL;
  LatentStream *stream = latent_stream_open (&request, &opened, &error);
  LatentModel *model = opened.model;
  LatentMethodInfo info = opened.info;
  int in_ratio = 0, out_ratio = 0;
  if (stream) {
    /* Ratios of the pads: audio sides are 1; a latent side follows from the method. */
    if (!klass->sink_is_latent) {
      in_ratio = 1;
      if (info.out_ratio % info.in_ratio == 0)
        out_ratio = info.out_ratio / info.in_ratio;
    } else if (!klass->src_is_latent) {
      out_ratio = 1;
      if (info.in_ratio % info.out_ratio == 0)
        in_ratio = info.in_ratio / info.out_ratio;
    }
    if ((!klass->sink_is_latent && (out_ratio == 0 || (!klass->src_is_latent && out_ratio != 1)))
        || (klass->sink_is_latent && !klass->src_is_latent && in_ratio == 0)) {
      g_set_error (&error, LATENT_ERROR, LATENT_ERROR_METHOD,
          "%s: method '%s' has _params [%d, %d, %d, %d], which %s cannot run (it needs %s)",
          path, method, info.in_channels, info.in_ratio, info.out_channels, info.out_ratio,
          name, klass->sink_is_latent ? "latents in and audio out (in_ratio a multiple of "
          "out_ratio, out_ratio 1 per sample)" : "audio in and latents out (out_ratio a "
          "multiple of in_ratio)");
    }
  }
  double step_us = opened.step_us;
  int margin = opened.margin;
  if (error) {
    gboolean missing = error->domain == LATENT_ERROR && error->code == LATENT_ERROR_LOAD &&
        !g_file_test (path, G_FILE_TEST_EXISTS);
    if (missing)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", error->message), (NULL));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error->message), (NULL));
    g_error_free (error);
    latent_stream_free (stream);
    latent_model_free (model);
    g_free (path);
    g_free (method);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "loaded %s, %s [%d, %d, %d, %d], rate %d, block %d, latency %s "
      "(margin %d samples, slowest timed call %.0f us)", path, method,
      info.in_channels, info.in_ratio, info.out_channels, info.out_ratio,
      latent_model_get_sample_rate (model), latent_stream_get_block (stream),
      mode == LATENT_RT_LATENCY_LOW ? "low" : "safe", margin, step_us);
  GST_OBJECT_LOCK (self);
  p->model = model;
  p->stream = stream;
  p->info = info;
  p->model_rate = latent_model_get_sample_rate (model);
  p->in_ratio = in_ratio;
  p->out_ratio = out_ratio;
  p->block_frames = latent_stream_get_block (stream);
  p->margin = margin;
  p->step_us = step_us;
  g_atomic_int_set (&p->caps_refused, 0);
  GST_OBJECT_UNLOCK (self);
  gsize out_block = (gsize) p->block_frames * info.in_ratio / info.out_ratio;
  p->flush_buf = g_new0 (float, out_block * info.out_channels);
  if (klass->stream_created)
    klass->stream_created (self, stream);
  g_free (path);
  g_free (method);
  return TRUE;
}

static void
reset_streaming_state (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  gst_segment_init (&p->segment, GST_FORMAT_TIME);
  p->have_ts0 = FALSE;
  p->negotiated = FALSE;
  p->rate = 0;
  gst_caps_replace (&p->src_caps, NULL);
  p->nonfinite_warned = FALSE;
  p->model_nonfinite_warned = FALSE;
  p->nonfinite_total = 0;
  g_atomic_int_set (&p->caps_refused, 0);
}

static GstStateChangeReturn
change_state (GstElement *element, GstStateChange transition)
{
  GstLatentFilter *self = GST_LATENT_FILTER (element);
  GstLatentFilterPrivate *p = PRIV (self);
  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!load_model (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      reset_streaming_state (self);
      break;
    default:
      break;
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_latent_filter_parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* Pads are deactivated: the streaming thread is gone. Leave a fresh model state. */
      if (p->stream && (p->have_ts0 || latent_stream_get_pending (p->stream) > 0)) {
        GError *error = NULL;
        if (!latent_stream_reset (p->stream, &error)) {
          GST_WARNING_OBJECT (self, "reset failed: %s", error->message);
          g_error_free (error);
        }
      }
      reset_streaming_state (self);
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      free_model (self);
      break;
    default:
      break;
  }
  return ret;
}

/* ------------------------------------------------------------- lifecycle */

void
gst_latent_filter_setup (GstLatentFilter *self, const char *default_method)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstElementClass *eklass = GST_ELEMENT_GET_CLASS (self);
  p->sinkpad = gst_pad_new_from_template (
      gst_element_class_get_pad_template (eklass, "sink"), "sink");
  gst_pad_set_chain_function (p->sinkpad, chain);
  gst_pad_set_event_function (p->sinkpad, sink_event);
  gst_pad_set_query_function (p->sinkpad, sink_query);
  gst_element_add_pad (GST_ELEMENT (self), p->sinkpad);
  p->srcpad = gst_pad_new_from_template (
      gst_element_class_get_pad_template (eklass, "src"), "src");
  gst_pad_set_query_function (p->srcpad, src_query);
  gst_pad_use_fixed_caps (p->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), p->srcpad);
  p->method = g_strdup (default_method);
}

static void
gst_latent_filter_init (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  p->threads = 1;
  p->latency_mode = LATENT_RT_LATENCY_LOW;
  gst_segment_init (&p->segment, GST_FORMAT_TIME);
}

static void
gst_latent_filter_finalize (GObject *object)
{
  GstLatentFilter *self = GST_LATENT_FILTER (object);
  GstLatentFilterPrivate *p = PRIV (self);
  free_model (self);
  gst_caps_replace (&p->src_caps, NULL);
  g_free (p->model_path);
  g_free (p->method);
  G_OBJECT_CLASS (gst_latent_filter_parent_class)->finalize (object);
}

static void
gst_latent_filter_class_init (GstLatentFilterClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gobject_class->set_property = gst_latent_filter_set_property;
  gobject_class->get_property = gst_latent_filter_get_property;
  gobject_class->finalize = gst_latent_filter_finalize;
  element_class->change_state = change_state;
  GST_DEBUG_CATEGORY_INIT (latent_filter_debug, "latentfilter", 0,
      "latent model elements (raveencode, ravedecode)");
}
