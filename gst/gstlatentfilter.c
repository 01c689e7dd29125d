/* GstLatentFilter: shared machinery of raveencode / ravedecode (see gstlatentfilter.h).
 *
 * Why a GstElement with chain/event functions and not GstBaseTransform: the output size is not
 * a function of the input buffer (the core's block adapter emits nothing for most small input
 * buffers, then a whole model block), draining at EOS, discontinuities and segment changes
 * must push extra output before the event, and the latency/caps answers depend on the loaded
 * model. BaseTransform's one-in/one-out model would need submit_input_buffer/generate_output
 * plus event overrides for all of that; a plain element with two pads is shorter and clearer.
 *
 * Timing rule (both elements, any ratio; GstLatentTiming in latent-timing.c keeps ts0, the
 * segment, output stamps, draining and discontinuity detection, shared with terrainplay):
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
 *     Along a chain (raveencode ! ravedecode) the latent elements run one after the other for
 *     the same input, so the chain gets ONE margin, the rule applied to the sum of their
 *     slowest calls (one safety factor, one scheduling jitter), not one margin each: the
 *     latency query carries what the latent elements upstream on its path measured
 *     (LATENCY_FIELD_* below) and each low-latency element adds only what the chain's margin
 *     grows by. A latent input that arrives in whole pushes of the upstream latent element (U
 *     frames from the same ts0) makes a block wait for fewer than block - 1 further frames (a
 *     one-frame decoder behind an encoder, or equal blocks, wait for none).
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
#include "latent-timing.h"

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
  GstLatentTiming timing; /* segment, ts0, draining, discontinuities */
  guint64 in_frames;      /* input frames since ts0 */
  guint64 out_frames;     /* output frames the stream produced since ts0 (trimmed ones too) */
  guint64 in_end;         /* E: audio samples from ts0 to the end of the input seen */
  guint64 out_offset0;    /* offset of output frame 0 */
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
gst_latent_filter_element_name (gpointer self)
{
  GstElementFactory *f = gst_element_get_factory (GST_ELEMENT (self));
  return f ? GST_OBJECT_NAME (f) : GST_OBJECT_NAME (self);
}

static const char *
gst_latent_filter_model_path (GstLatentFilterPrivate *p)
{
  return p->model_path ? p->model_path : "(none)";
}

/* ------------------------------------------------------------ properties */

void
gst_latent_filter_class_install_properties (GObjectClass *klass, const char *default_method)
{
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "TorchScript model file (nn~ convention, e.g. a RAVE export); required",
          NULL, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_METHOD,
      g_param_spec_string ("method", "Method", "Model method to run (one with METHOD_params)",
          default_method, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_THREADS,
      g_param_spec_int ("threads", "Threads", "LibTorch intra-op threads per model call",
          1, 256, 1,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_BLOCK,
      g_param_spec_int ("block", "Block",
          "Input frames per model call (0 = the default of latency-mode)", 0, G_MAXINT / 4096,
          0, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  g_object_class_install_property (klass, GST_LATENT_FILTER_PROP_LATENCY_MODE,
      g_param_spec_enum ("latency-mode", "Latency mode",
          "How blocks and the reported latency are chosen (low or safe)",
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
gst_latent_filter_current_rate (GstLatentFilterPrivate *p)
{
  return p->negotiated ? p->rate : p->model_rate;
}

/* The caps the model takes (sink) or makes (src) with the rate left open when unknown. */
static GstCaps *
gst_latent_filter_model_caps (GstLatentFilter *self, GstPadDirection dir, int rate)
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
gst_latent_filter_restrict_rate (GstCaps *ours, GstCaps *peer)
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
gst_latent_filter_refuse_caps (GstLatentFilter *self, const char *reason, const char *debug)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!g_atomic_int_compare_and_exchange (&p->caps_refused, 0, 1))
    return;
  if (reason)
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", reason), ("%s", debug));
  else
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("%s: %s",
        gst_latent_filter_element_name (self), debug));
}

/* Why nothing of `upstream` (caps upstream can send) fits the model's sink (a new string):
 * what the model takes, what upstream offers and, for audio, the converters to link. */
static char *
gst_latent_filter_upstream_reason (GstLatentFilter *self, GstCaps *upstream)
{
  GstLatentFilterPrivate *p = PRIV (self);
  const char *name = gst_latent_filter_element_name (self);
  char *got = gst_caps_to_string (upstream);
  char *rate = p->model_rate ? g_strdup_printf ("%d Hz", p->model_rate)
      : g_strdup ("any rate");
  char *reason;
  if (FCLASS (self)->sink_is_latent)
    reason = g_strdup_printf ("%s: model %s (method %s) takes %d latent channel(s) at %s, "
        "upstream offers %s", name, gst_latent_filter_model_path (p), p->method,
        p->info.in_channels, rate, got);
  else
    reason = g_strdup_printf ("%s: model %s (method %s) takes %d channel(s) at %s, "
        "upstream offers %s; put audioconvert ! audioresample before %s", name,
        gst_latent_filter_model_path (p), p->method, p->info.in_channels, rate, got, name);
  g_free (rate);
  g_free (got);
  return reason;
}

static GstCaps *
gst_latent_filter_query_caps (GstLatentFilter *self, GstPad *pad, GstCaps *filter)
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
    result = gst_latent_filter_model_caps (self, GST_PAD_DIRECTION (pad),
        gst_latent_filter_current_rate (p));
    if (gst_latent_filter_current_rate (p) == 0) {
      /* Model without a rate: any rate the other side allows. */
      GstPad *other = pad == p->sinkpad ? p->srcpad : p->sinkpad;
      GstCaps *other_caps = gst_latent_filter_model_caps (self, GST_PAD_DIRECTION (other), 0);
      GstCaps *peer = gst_pad_peer_query_caps (other, other_caps);
      gst_caps_unref (other_caps);
      result = gst_latent_filter_restrict_rate (result, peer);
      if (peer)
        gst_caps_unref (peer);
    }
    if (pad == p->sinkpad && filter && !p->negotiated) {
      GstCaps *common = gst_caps_intersect (result, filter);
      if (gst_caps_is_empty (common) && !klass->lenient_sink_caps
          && !g_atomic_int_get (&p->caps_refused)) {
        /* Upstream cannot send what the model takes: its own not-negotiated error will not
         * say why, so this is the error (posted first, from the thread that negotiates). */
        char *reason = gst_latent_filter_upstream_reason (self, filter);
        char *want = gst_caps_to_string (result);
        char *debug = g_strdup_printf ("model caps: %s", want);
        gst_latent_filter_refuse_caps (self, reason, debug);
        g_free (reason);
        g_free (debug);
        g_free (want);
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

/* Why the stream's caps `in` do not fit the model (a new string), or NULL when they do. */
static char *
gst_latent_filter_check_stream (GstLatentFilter *self, const LatentCapsInfo *in)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  const char *name = gst_latent_filter_element_name (self);
  if (in->channels != p->info.in_channels) {
    if (klass->sink_is_latent)
      return g_strdup_printf ("%s: the stream carries %d latents but model %s %ss %d",
          name, in->channels, gst_latent_filter_model_path (p), p->method,
          p->info.in_channels);
    return g_strdup_printf ("%s: the stream has %d channel(s) but model %s (method %s) "
        "takes %d; put audioconvert before %s", name, in->channels,
        gst_latent_filter_model_path (p), p->method, p->info.in_channels, name);
  }
  if (p->model_rate && in->rate != p->model_rate)
    return g_strdup_printf ("%s: the stream's rate is %d Hz but model %s runs at %d Hz%s",
        name, in->rate, gst_latent_filter_model_path (p), p->model_rate,
        klass->sink_is_latent ? "" : "; put audioresample before the element");
  if (klass->sink_is_latent && p->in_ratio && in->ratio != p->in_ratio)
    return g_strdup_printf ("%s: the stream's latent frames stand for %d audio samples "
        "(ratio) but model %s's %s takes frames of %d samples", name, in->ratio,
        gst_latent_filter_model_path (p), p->method, p->in_ratio);
  return NULL;
}

/* The output ratio for input frames of `in_ratio` samples: in_ratio * out_ratio_m / in_ratio_m
 * must be a whole number of samples (and 1 for audio output). NULL, or why not. */
static char *
gst_latent_filter_output_ratio (GstLatentFilter *self, int in_ratio, int *out_ratio)
{
  GstLatentFilterPrivate *p = PRIV (self);
  const char *name = gst_latent_filter_element_name (self);
  gint64 num = (gint64) in_ratio * p->info.out_ratio;
  if (num % p->info.in_ratio)
    return g_strdup_printf ("%s: method %s of %s turns %d input frames into %d, so "
        "frames of %d samples would give fractional output frames", name, p->method,
        gst_latent_filter_model_path (p), p->info.out_ratio, p->info.in_ratio, in_ratio);
  *out_ratio = (int) (num / p->info.in_ratio);
  if (!FCLASS (self)->src_is_latent && *out_ratio != 1)
    return g_strdup_printf ("%s: method %s of %s does not give audio-rate output "
        "(%d samples per output frame)", name, p->method, gst_latent_filter_model_path (p),
        *out_ratio);
  return NULL;
}

/* Downstream must take `src_caps`: else the error says what to link. */
static gboolean
gst_latent_filter_downstream_accepts (GstLatentFilter *self, GstCaps *src_caps)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!gst_pad_is_linked (p->srcpad) || gst_pad_peer_query_accept_caps (p->srcpad, src_caps))
    return TRUE;
  char *s = gst_caps_to_string (src_caps);
  GstPad *peer = gst_pad_get_peer (p->srcpad);
  GstObject *peer_el = peer ? gst_pad_get_parent (peer) : NULL;
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
      ("%s: downstream %s does not accept %s%s", gst_latent_filter_element_name (self),
       peer_el ? GST_OBJECT_NAME (peer_el) : "element", s,
       FCLASS (self)->src_is_latent ? " (link a latent consumer such as ravedecode)" : ""),
      (NULL));
  if (peer_el)
    gst_object_unref (peer_el);
  if (peer)
    gst_object_unref (peer);
  g_free (s);
  return FALSE;
}

/* Takes the stream's rate and ratios and sends the matching caps downstream. */
static gboolean
gst_latent_filter_set_src_caps (GstLatentFilter *self, int rate, int in_ratio, int out_ratio)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstCaps *src_caps = FCLASS (self)->src_is_latent
      ? latent_caps_new (p->info.out_channels, rate, out_ratio)
      : latent_audio_caps_new_partial (p->info.out_channels, rate);
  if (p->src_caps && gst_caps_is_equal (p->src_caps, src_caps) && p->rate == rate) {
    gst_caps_unref (src_caps);
    return TRUE;
  }
  if (!gst_latent_filter_downstream_accepts (self, src_caps)) {
    gst_caps_unref (src_caps);
    return FALSE;
  }
  p->rate = rate;
  p->in_ratio = in_ratio;
  p->out_ratio = out_ratio;
  p->negotiated = TRUE;
  gst_caps_replace (&p->src_caps, src_caps);
  gboolean pushed = gst_pad_push_event (p->srcpad, gst_event_new_caps (src_caps));
  gst_caps_unref (src_caps);
  GST_DEBUG_OBJECT (self, "rate %d, ratios %d -> %d, pushed caps: %d", rate, in_ratio,
      out_ratio, pushed);
  return TRUE;
}

/* Checks the stream's caps against the model; on a mismatch posts an error with the reason
 * (gst_latent_filter_refuse_caps: once). GstLatentTimingOps.set_caps. */
static gboolean
gst_latent_filter_set_sink_caps (GstElement *element, GstCaps *caps)
{
  GstLatentFilter *self = GST_LATENT_FILTER (element);
  GstLatentFilterPrivate *p = PRIV (self);
  gboolean latent = FCLASS (self)->sink_is_latent;
  if (!p->model)
    return FALSE;
  LatentCapsInfo in;
  char *reason = NULL;
  int in_ratio = 1, out_ratio = 0;
  if (latent ? latent_caps_parse (caps, &in, &reason)
      : latent_audio_caps_parse (caps, &in, &reason)) {
    in_ratio = latent ? in.ratio : 1;
    reason = gst_latent_filter_check_stream (self, &in);
    if (!reason)
      reason = gst_latent_filter_output_ratio (self, in_ratio, &out_ratio);
  }
  if (reason) {
    char *s = gst_caps_to_string (caps);
    char *debug = g_strdup_printf ("stream caps: %s", s);
    gst_latent_filter_refuse_caps (self, reason, debug);
    g_free (debug);
    g_free (s);
    g_free (reason);
    return FALSE;
  }
  return gst_latent_filter_set_src_caps (self, in.rate, in_ratio, out_ratio);
}

/* READY->PAUSED, on the thread that changes the state: when upstream's caps query already
 * answers nothing the model takes (a fixed wrong rate, channel count or ratio), the refusal
 * (the same one error) is posted here and the state change fails. Posted later, from the
 * streaming thread, it races the application: gst-launch-1.0 (1.22) quits its main loop from
 * its bus sync handler, on the posting thread, and a quit that comes before the main thread
 * has entered g_main_loop_run is lost; the bin has marked its PAUSED change failed on the
 * ERROR, so nothing else ends the loop and gst-launch waits forever (issue 12). A failed
 * set_state it sees at once. Upstream that cannot tell yet (no peer, ANY, or no caps before
 * it starts, e.g. a parser before its header) still meets the refusal from the caps query or
 * event when the stream starts. */
static gboolean
gst_latent_filter_check_upstream (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!p->model)
    return TRUE;
  GstCaps *upstream = gst_pad_peer_query_caps (p->sinkpad, NULL);
  if (!upstream)
    return TRUE;
  /* Empty: an element that cannot answer before it starts (not a refusal yet). */
  if (gst_caps_is_any (upstream) || gst_caps_is_empty (upstream)) {
    gst_caps_unref (upstream);
    return TRUE;
  }
  /* The model's exact caps, also for lenient_sink_caps (which only widens the answer to
   * upstream's queries so that set_caps can say why). */
  GstCaps *model = gst_latent_filter_model_caps (self, GST_PAD_SINK, p->model_rate);
  gboolean fits = gst_caps_can_intersect (model, upstream);
  if (!fits) {
    char *reason = NULL;
    LatentCapsInfo in;
    /* A latent stream of one shape: the words set_caps would use (rate, latents, ratio). */
    if (FCLASS (self)->sink_is_latent && latent_caps_parse (upstream, &in, NULL))
      reason = gst_latent_filter_check_stream (self, &in);
    if (!reason)
      reason = gst_latent_filter_upstream_reason (self, upstream);
    char *want = gst_caps_to_string (model), *got = gst_caps_to_string (upstream);
    char *debug = g_strdup_printf ("refused before streaming: upstream can send %s; "
        "model caps: %s", got, want);
    gst_latent_filter_refuse_caps (self, reason, debug);
    g_free (debug);
    g_free (got);
    g_free (want);
    g_free (reason);
  }
  gst_caps_unref (model);
  gst_caps_unref (upstream);
  return fits;
}

/* ------------------------------------------------------------- streaming */

/* Fields a latent element adds to the latency query it answers, for the latent elements
 * downstream on the same path (an element that answers without forwarding drops them, and the
 * next one falls back to counting its own margin and block - 1 frames: never too little). */
#define LATENCY_FIELD_RATE "latent-rate"               /* int: the audio rate of the values */
#define LATENCY_FIELD_COMPUTE_US "latent-compute-us"   /* double: slowest calls, summed */
#define LATENCY_FIELD_MARGIN "latent-margin-samples"   /* int: margin reported so far */
#define LATENCY_FIELD_PUSH "latent-push-samples"       /* int: audio samples per output push */

static void
gst_latent_filter_read_chain_timing (GstQuery *query, int rate, LatentRtChainTiming *chain)
{
  *chain = (LatentRtChainTiming) { 0 };
  const GstStructure *s = gst_query_get_structure (query);
  int chain_rate = 0;
  if (!s || !gst_structure_get_int (s, LATENCY_FIELD_RATE, &chain_rate) || chain_rate != rate)
    return;
  gst_structure_get_double (s, LATENCY_FIELD_COMPUTE_US, &chain->compute_us);
  gst_structure_get_int (s, LATENCY_FIELD_MARGIN, &chain->margin);
  gst_structure_get_int (s, LATENCY_FIELD_PUSH, &chain->push_samples);
}

static void
gst_latent_filter_write_chain_timing (GstQuery *query, int rate, const LatentRtChainTiming *chain)
{
  if (!gst_query_is_writable (query))
    return; /* downstream latent elements count conservatively then */
  gst_structure_set (gst_query_writable_structure (query), LATENCY_FIELD_RATE, G_TYPE_INT, rate,
      LATENCY_FIELD_COMPUTE_US, G_TYPE_DOUBLE, chain->compute_us, LATENCY_FIELD_MARGIN,
      G_TYPE_INT, chain->margin, LATENCY_FIELD_PUSH, G_TYPE_INT, chain->push_samples, NULL);
}

/* What this element adds to the latency of its path, in audio samples, and the chain timing
 * it passes downstream (`chain` holds upstream's on entry): core's chain rule. */
static gint64
gst_latent_filter_latency_samples (GstLatentFilter *self, int rate, LatentRtChainTiming *chain)
{
  GstLatentFilterPrivate *p = PRIV (self);
  const LatentRtChainStep step = {
    .block_frames = p->block_frames, .in_ratio = p->in_ratio, .pushes_blocks = p->out_ratio > 0,
    .sink_is_latent = FCLASS (self)->sink_is_latent, .mode = p->latency_mode,
    .step_us = p->step_us, .load_margin = p->margin,
  };
  return latent_rt_chain_latency (&step, rate, chain);
}

/* A new ts0 (GstLatentTiming): input and output frames are counted from here. */
static void
gst_latent_filter_start_at (GstLatentFilter *self, GstClockTime pts)
{
  GstLatentFilterPrivate *p = PRIV (self);
  gst_latent_timing_start (&p->timing, pts);
  p->in_frames = 0;
  p->out_frames = 0;
  p->in_end = 0;
  p->out_offset0 = gst_util_uint64_scale_int_round (p->timing.ts0, p->rate,
      (gint) GST_SECOND) / (guint64) p->out_ratio;
}

/* Pushes `n` output frames that the stream produced (at out_frames), keeping only those that
 * start before the input end E (the trimming rule at the top of this file). Takes `buf`. */
static GstFlowReturn
gst_latent_filter_push_output (GstLatentFilter *self, GstBuffer *buf, size_t n)
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
  guint64 end_samples = MIN ((j0 + keep) * p->out_ratio, p->in_end);
  gst_latent_timing_stamp (&p->timing, buf,
      gst_latent_timing_at (&p->timing, j0, p->out_ratio, p->rate),
      gst_latent_timing_at (&p->timing, end_samples, 1, p->rate),
      p->out_offset0 + j0, p->out_offset0 + j0 + keep);
  return gst_pad_push (p->srcpad, buf);
}

/* Runs what is buffered (zero-padded) and pushes the real part of its output. */
static GstFlowReturn
gst_latent_filter_flush_stream (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!p->stream || !p->timing.started || latent_stream_get_pending (p->stream) == 0)
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
  return gst_latent_filter_push_output (self, buf, (size_t) n);
}

/* Forgets buffered input and the model's state (GstLatentTiming ends the stream). */
static gboolean
gst_latent_filter_reset_model (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GError *error = NULL;
  if (p->stream && !latent_stream_reset (p->stream, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    g_error_free (error);
    return FALSE;
  }
  return TRUE;
}

/* GstLatentTimingOps.discard: a flush drops what is buffered. */
static void
gst_latent_filter_discard (GstElement *element)
{
  gst_latent_filter_reset_model (GST_LATENT_FILTER (element));
}

/* GstLatentTimingOps.drain: the stream's last block is pushed, then the model starts afresh. */
static GstFlowReturn
gst_latent_filter_drain (GstElement *element)
{
  GstLatentFilter *self = GST_LATENT_FILTER (element);
  GstFlowReturn ret = gst_latent_filter_flush_stream (self);
  gboolean reset = gst_latent_filter_reset_model (self);
  if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED)
    return ret;
  return reset ? ret : GST_FLOW_ERROR;
}

/* Discontinuity handling and input-end bookkeeping for `buf` (n input frames): a buffer that
 * does not continue the stream drains it and starts a new one; E grows to the buffer's end. */
static GstFlowReturn
gst_latent_filter_follow_input (GstLatentFilter *self, GstBuffer *buf, size_t n)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstFlowReturn ret = gst_latent_timing_check_discont (&p->timing, buf, p->in_frames,
      p->in_ratio, p->rate);
  if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED)
    return ret;
  if (!p->timing.started)
    gst_latent_filter_start_at (self, GST_BUFFER_PTS (buf));
  guint64 end = gst_latent_timing_input_end (&p->timing, buf, p->in_frames, n, p->in_ratio,
      p->rate);
  p->in_end = MAX (p->in_end, end);
  return GST_FLOW_OK;
}

/* Reports non-finite input (once per stream) and non-finite model output (once per stream). */
static void
gst_latent_filter_warn_non_finite (GstLatentFilter *self, size_t nonfinite, GstClockTime pts)
{
  GstLatentFilterPrivate *p = PRIV (self);
  const char *name = gst_latent_filter_element_name (self);
  if (nonfinite) {
    p->nonfinite_total += nonfinite;
    if (!p->nonfinite_warned) {
      p->nonfinite_warned = TRUE;
      GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, FORMAT,
          ("%s: %" G_GSIZE_FORMAT " non-finite input samples (NaN or Inf) in the buffer at %"
           GST_TIME_FORMAT " were replaced by zeros; further ones in this stream are replaced "
           "without another warning", name, nonfinite, GST_TIME_ARGS (pts)),
          (NULL), ("count", G_TYPE_UINT64, (guint64) nonfinite, NULL));
    }
  }
  if (!p->model_nonfinite_warned && latent_model_get_non_finite_count (p->model) > 0) {
    p->model_nonfinite_warned = TRUE;
    GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECODE,
        ("%s: the model returned NaN or Inf values (by the buffer at %" GST_TIME_FORMAT "): "
         "they were replaced by zeros and the model's state reset; further ones are replaced "
         "without another warning", name, GST_TIME_ARGS (pts)), (NULL),
        ("count", G_TYPE_UINT64, latent_model_get_non_finite_count (p->model), NULL));
  }
}

/* The core call: hands the `n_in` frames of `inbuf` (taken) to the stream and pushes the output
 * frames it completes. */
static GstFlowReturn
gst_latent_filter_process (GstLatentFilter *self, GstBuffer *inbuf, size_t n_in)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstClockTime pts = GST_BUFFER_PTS (inbuf);
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
  gst_latent_filter_warn_non_finite (self, nonfinite, pts);
  return outbuf ? gst_latent_filter_push_output (self, outbuf, n_out) : GST_FLOW_OK;
}

static GstFlowReturn
gst_latent_filter_chain (GstPad *pad, GstObject *parent, GstBuffer *inbuf)
{
  GstLatentFilter *self = GST_LATENT_FILTER (parent);
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  if (!p->negotiated || !p->stream) {
    /* After a refusal (already posted) upstream may still push: no second error. */
    if (!g_atomic_int_get (&p->caps_refused))
      gst_latent_filter_refuse_caps (self, NULL, "buffer before caps");
    gst_buffer_unref (inbuf);
    return GST_FLOW_NOT_NEGOTIATED;
  }
  const size_t frame_bytes = (size_t) p->info.in_channels * sizeof (float);
  const size_t n_in = gst_buffer_get_size (inbuf) / frame_bytes;
  GstFlowReturn ret = gst_latent_filter_follow_input (self, inbuf, n_in);
  if (ret != GST_FLOW_OK) {
    gst_buffer_unref (inbuf);
    return ret;
  }
  GstClockTime pts = GST_BUFFER_PTS (inbuf);
  if (GST_CLOCK_TIME_IS_VALID (pts))
    gst_object_sync_values (GST_OBJECT (self), pts);
  if (klass->before_process)
    klass->before_process (self, p->stream);
  return gst_latent_filter_process (self, inbuf, n_in);
}

static const GstLatentTimingOps gst_latent_filter_timing_ops = {
  .drain = gst_latent_filter_drain,
  .discard = gst_latent_filter_discard,
  .set_caps = gst_latent_filter_set_sink_caps,
};

static gboolean
gst_latent_filter_sink_event (GstPad *pad, GstObject *parent, GstEvent *event)
{
  GstLatentFilterPrivate *p = PRIV (parent);
  if (GST_EVENT_TYPE (event) == GST_EVENT_STREAM_START) {
    p->nonfinite_warned = FALSE;
    p->model_nonfinite_warned = FALSE;
    p->nonfinite_total = 0;
    return gst_pad_push_event (p->srcpad, event);
  }
  return gst_latent_timing_sink_event (&p->timing, pad, event);
}

/* Both pads answer a caps query from the model's formats (gst_latent_filter_query_caps). */
static gboolean
gst_latent_filter_answer_caps_query (GstLatentFilter *self, GstPad *pad, GstQuery *query)
{
  GstCaps *filter;
  gst_query_parse_caps (query, &filter);
  GstCaps *caps = gst_latent_filter_query_caps (self, pad, filter);
  gst_query_set_caps_result (query, caps);
  gst_caps_unref (caps);
  return TRUE;
}

static gboolean
gst_latent_filter_sink_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS)
    return gst_latent_filter_answer_caps_query (GST_LATENT_FILTER (parent), pad, query);
  return gst_pad_query_default (pad, parent, query);
}

/* Upstream's latency plus this element's (the chain timing travels in the query). */
static gboolean
gst_latent_filter_answer_latency_query (GstLatentFilter *self, GstQuery *query)
{
  GstLatentFilterPrivate *p = PRIV (self);
  if (!gst_pad_peer_query (p->sinkpad, query))
    return FALSE;
  gboolean live;
  GstClockTime min, max;
  gst_query_parse_latency (query, &live, &min, &max);
  int rate = gst_latent_filter_current_rate (p);
  GstClockTime ours = 0;
  if (p->stream && rate > 0 && p->in_ratio > 0) {
    LatentRtChainTiming chain;
    gst_latent_filter_read_chain_timing (query, rate, &chain);
    gint64 samples = gst_latent_filter_latency_samples (self, rate, &chain);
    ours = latent_frames_to_time (samples, 1, rate);
    gst_latent_filter_write_chain_timing (query, rate, &chain);
    GST_DEBUG_OBJECT (self, "adding %" G_GINT64_FORMAT " samples; the chain's margin is "
        "now %d samples for %.0f us of slowest calls", samples, chain.margin,
        chain.compute_us);
  }
  GST_DEBUG_OBJECT (self, "upstream latency %" GST_TIME_FORMAT ", adding %"
      GST_TIME_FORMAT, GST_TIME_ARGS (min), GST_TIME_ARGS (ours));
  min += ours;
  if (GST_CLOCK_TIME_IS_VALID (max))
    max += ours;
  gst_query_set_latency (query, live, min, max);
  return TRUE;
}

static gboolean
gst_latent_filter_src_query (GstPad *pad, GstObject *parent, GstQuery *query)
{
  GstLatentFilter *self = GST_LATENT_FILTER (parent);
  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_CAPS:
      return gst_latent_filter_answer_caps_query (self, pad, query);
    case GST_QUERY_LATENCY:
      return gst_latent_filter_answer_latency_query (self, query);
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

/* ---------------------------------------------------------------- states */

static void
gst_latent_filter_free_model (GstLatentFilter *self)
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
/* The pads' ratios for `info` (audio sides are 1; a latent side follows from the method), or
 * an error naming what this element needs when the method cannot run here. */
static gboolean
gst_latent_filter_pad_ratios (GstLatentFilter *self, const char *path, const char *method,
    const LatentMethodInfo *info, int *in_ratio, int *out_ratio, GError **error)
{
  GstLatentFilterClass *klass = FCLASS (self);
  if (!klass->sink_is_latent) {
    *in_ratio = 1;
    if (info->out_ratio % info->in_ratio == 0)
      *out_ratio = info->out_ratio / info->in_ratio;
  } else if (!klass->src_is_latent) {
    *out_ratio = 1;
    if (info->in_ratio % info->out_ratio == 0)
      *in_ratio = info->in_ratio / info->out_ratio;
  }
  if ((!klass->sink_is_latent && (*out_ratio == 0 || (!klass->src_is_latent && *out_ratio != 1)))
      || (klass->sink_is_latent && !klass->src_is_latent && *in_ratio == 0)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
        "%s: method '%s' has _params [%d, %d, %d, %d], which %s cannot run (it needs %s)",
        path, method, info->in_channels, info->in_ratio, info->out_channels, info->out_ratio,
        gst_latent_filter_element_name (self), klass->sink_is_latent ? "latents in and audio "
        "out (in_ratio a multiple of out_ratio, out_ratio 1 per sample)" : "audio in and "
        "latents out (out_ratio a multiple of in_ratio)");
    return FALSE;
  }
  return TRUE;
}

/* A missing file is RESOURCE/NOT_FOUND; anything else the model did is LIBRARY/INIT. Frees
 * `error`. */
static void
gst_latent_filter_post_load_error (GstLatentFilter *self, GError *error, const char *path)
{
  gboolean missing = error->domain == LATENT_ERROR && error->code == LATENT_ERROR_LOAD &&
      !g_file_test (path, G_FILE_TEST_EXISTS);
  if (missing)
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", error->message), (NULL));
  else
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error->message), (NULL));
  g_error_free (error);
}

static gboolean
gst_latent_filter_load_model (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  GstLatentFilterClass *klass = FCLASS (self);
  const char *name = gst_latent_filter_element_name (self);
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
  if (stream)
    gst_latent_filter_pad_ratios (self, path, method, &info, &in_ratio, &out_ratio, &error);
  double step_us = opened.step_us;
  int margin = opened.margin;
  if (error) {
    gst_latent_filter_post_load_error (self, error, path);
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
gst_latent_filter_reset_streaming_state (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  gst_latent_timing_reset (&p->timing);
  p->negotiated = FALSE;
  p->rate = 0;
  gst_caps_replace (&p->src_caps, NULL);
  p->nonfinite_warned = FALSE;
  p->model_nonfinite_warned = FALSE;
  p->nonfinite_total = 0;
  g_atomic_int_set (&p->caps_refused, 0);
}

static GstStateChangeReturn
gst_latent_filter_change_state (GstElement *element, GstStateChange transition)
{
  GstLatentFilter *self = GST_LATENT_FILTER (element);
  GstLatentFilterPrivate *p = PRIV (self);
  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:
      if (!gst_latent_filter_load_model (self))
        return GST_STATE_CHANGE_FAILURE;
      break;
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      gst_latent_filter_reset_streaming_state (self);
      if (!gst_latent_filter_check_upstream (self))
        return GST_STATE_CHANGE_FAILURE;
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
      if (p->stream && (p->timing.started || latent_stream_get_pending (p->stream) > 0)) {
        GError *error = NULL;
        if (!latent_stream_reset (p->stream, &error)) {
          GST_WARNING_OBJECT (self, "reset failed: %s", error->message);
          g_error_free (error);
        }
      }
      gst_latent_filter_reset_streaming_state (self);
      break;
    case GST_STATE_CHANGE_READY_TO_NULL:
      gst_latent_filter_free_model (self);
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
  gst_pad_set_chain_function (p->sinkpad, GST_DEBUG_FUNCPTR (gst_latent_filter_chain));
  gst_pad_set_event_function (p->sinkpad, GST_DEBUG_FUNCPTR (gst_latent_filter_sink_event));
  gst_pad_set_query_function (p->sinkpad, GST_DEBUG_FUNCPTR (gst_latent_filter_sink_query));
  gst_element_add_pad (GST_ELEMENT (self), p->sinkpad);
  p->srcpad = gst_pad_new_from_template (
      gst_element_class_get_pad_template (eklass, "src"), "src");
  gst_pad_set_query_function (p->srcpad, GST_DEBUG_FUNCPTR (gst_latent_filter_src_query));
  gst_pad_use_fixed_caps (p->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), p->srcpad);
  gst_latent_timing_init (&p->timing, GST_ELEMENT (self), p->srcpad,
      &gst_latent_filter_timing_ops);
  p->method = g_strdup (default_method);
}

static void
gst_latent_filter_init (GstLatentFilter *self)
{
  GstLatentFilterPrivate *p = PRIV (self);
  p->threads = 1;
  p->latency_mode = LATENT_RT_LATENCY_LOW;
}

static void
gst_latent_filter_finalize (GObject *object)
{
  GstLatentFilter *self = GST_LATENT_FILTER (object);
  GstLatentFilterPrivate *p = PRIV (self);
  gst_latent_filter_free_model (self);
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
  gobject_class->set_property = GST_DEBUG_FUNCPTR (gst_latent_filter_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR (gst_latent_filter_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR (gst_latent_filter_finalize);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_latent_filter_change_state);
  GST_DEBUG_CATEGORY_INIT (latent_filter_debug, "latentfilter", 0,
      "latent model elements (raveencode, ravedecode)");
}
