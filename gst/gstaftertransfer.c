/**
 * SECTION:element-aftertransfer
 * @title: aftertransfer
 * @see_also: terrainplay, raveencode
 *
 * AFTER timbre transfer over whole model chunks (core/latent-after.h).
 *
 * Why GstAggregator: two or three timed streams meet (structure or MIDI notes, timbre) and
 * one of them may end early or never start. The element is forced live (force-live), so the
 * aggregator's latency timeout runs it on without a pad that has no data, live or not (with
 * non-live upstreams, such as files, the timeout waits NON_LIVE_GRACE longer: their data is
 * not paced by the clock). Latency (latency-mode): low (default) reports what the element
 * holds back, one chunk (chunk * ratio samples) less one sample for audio models (a sample
 * arrives whole, so a chunk's first sample waits for chunk - 1 more; MIDI events are instants,
 * so a MIDI chunk is whole only at its end: one full chunk), plus a compute margin M (the
 * model runs on the aggregator's thread; M is measured at load, as core/latent-rt.h's low
 * latency: the slowest of a few chunks rendered on silence, times 2, plus scheduling jitter,
 * with the model's steps at load time, at most one chunk; LATENT_RT_MARGIN_US fixes it).
 * safe reports two whole chunks, one to gather and one of compute headroom, unmeasured (the
 * LV2 after plugins' safe latency, B + max(B, H)), for a loaded machine.
 *
 * Timing: the output follows the structure stream (`midi` for MIDI models): output sample n
 * has pts base + n / rate, base = the first structure buffer's pts (its segment start when it
 * has none), and N structure samples give N output samples (the last chunk is zero-padded and
 * trimmed). A chunk [t0, t1) is rendered once the timbre stream has delivered everything that
 * starts before t1 (running times), or has ended (its last timbre is kept), or the timeout
 * fired. Timbre audio is consumed up to t1 exactly and updates the timbre vector each time it
 * fills a chunk (so with aligned streams chunk k's timbre comes from timbre chunk k, as in the
 * model's own forward()); a coordinate stream (audio/x-raw, timbre_dims channels) sets the
 * vector from its latest frame; a latent stream (audio/x-latent, timbre_dims channels: from
 * terrainplay over a timbre terrain, or raveencode method=timbre, recorded or live) is consumed
 * frame by frame up to t1 (a frame belongs to the chunk holding its start) and the chunk takes
 * the mean of its frames, as AFTER's own timbre does; when it ends its last timbre is held.
 * With timbre-map=true those streams (and timbre-vector) carry 2 values, (x, y) on the
 * model's own 2-D timbre map, turned into the timbre by its map2latent.
 * MIDI: each event lands on the latent frame that holds its pts; a note shorter than a frame
 * still shows in its frame (LatentVoices' latch); the output ends one chunk after the last
 * event. Properties steps / guidance-* / timbre-vector apply before the next chunk (steps is
 * the model attribute nb_steps).
 *
 * Properties: `model` (an AFTER export, audio or MIDI structure) is loaded on NULL->READY.
 * `timbre-vector` (timbre_dims floats, the rest 0) is the timbre while no timbre pad is linked.
 * `timbre-map=true` makes the timbre pad's coordinate or latent streams and `timbre-vector` two
 * values, x and y on the model's own 2-D timbre map (map2latent); models without map2latent
 * are refused; set in NULL. `max-midi-gap`: a MIDI stream that jumps further than this many
 * seconds after its last event is taken as damaged and ends with an error (a corrupt delta
 * time would otherwise render hours of silence); 0 = no limit.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 aftertransfer name=a model=models/after-gm.ts steps=4 ! audioconvert ! \
 *     wavenc ! filesink location=piano-as-flute.wav \
 *   filesrc location=models/clips/piano-phrase.wav ! wavparse ! audioconvert ! audioresample ! \
 *     a.structure \
 *   filesrc location=models/clips/flute-phrase.wav ! wavparse ! audioconvert ! audioresample ! \
 *     a.timbre
 * ]| Plays the piano phrase with the timbre of the flute clip.
 */
#include "gstaftertransfer-private.h"
#include "gstlatentfilter.h" /* the latency-mode enum, shared with raveencode/ravedecode */
#include "latent-caps.h"

#include <string.h>

GST_DEBUG_CATEGORY (after_transfer_debug);
#define GST_CAT_DEFAULT after_transfer_debug

#define MIDI_CAPS "audio/x-midi-event"
#define NON_LIVE_GRACE GST_SECOND
#define DEFAULT_MAX_MIDI_GAP 120.0

static const char *const role_names[] = { "structure", "timbre", "midi" };

G_DEFINE_TYPE (GstAfterTransferPad, gst_after_transfer_pad, GST_TYPE_AGGREGATOR_PAD)

static void
gst_after_transfer_pad_class_init (GstAfterTransferPadClass *klass)
{
}

static void
gst_after_transfer_pad_init (GstAfterTransferPad *pad)
{
}

enum {
  PROP_0,
  PROP_MODEL,
  PROP_STEPS,
  PROP_GUIDANCE_STRUCTURE,
  PROP_GUIDANCE_TIMBRE,
  PROP_THREADS,
  PROP_TIMBRE_VECTOR,
  PROP_MAX_MIDI_GAP,
  PROP_TIMBRE_MAP,
  PROP_LATENCY_MODE,
};

G_DEFINE_TYPE (GstAfterTransfer, gst_after_transfer, GST_TYPE_AGGREGATOR)

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("audio/x-raw, format=(string)F32LE, "
        "layout=(string)interleaved, channels=(int)1, rate=(int)[1, 2147483647]"));
static GstStaticPadTemplate structure_template = GST_STATIC_PAD_TEMPLATE ("structure",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS ("audio/x-raw, format=(string)F32LE, "
        "layout=(string)interleaved, channels=(int)1, rate=(int)[1, 2147483647]"));
static GstStaticPadTemplate timbre_template = GST_STATIC_PAD_TEMPLATE ("timbre",
    GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS (LATENT_AUDIO_CAPS_TEMPLATE_STRING "; " LATENT_CAPS_TEMPLATE_STRING));
static GstStaticPadTemplate midi_template = GST_STATIC_PAD_TEMPLATE ("midi",
    GST_PAD_SINK, GST_PAD_REQUEST, GST_STATIC_CAPS (MIDI_CAPS));

static const char *
gst_after_transfer_model_name (GstAfterTransfer *self)
{
  return self->after ? latent_after_get_path (self->after) : "(no model)";
}

/* ------------------------------------------------------------ pads, caps */

static GstAggregatorPad *
gst_after_transfer_create_new_pad (GstAggregator *agg, GstPadTemplate *templ, const gchar *req_name,
    const GstCaps *caps)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  const char *name = GST_PAD_TEMPLATE_NAME_TEMPLATE (templ);
  PadRole role = !strcmp (name, "structure") ? ROLE_STRUCTURE
      : !strcmp (name, "timbre") ? ROLE_TIMBRE : ROLE_MIDI;
  GST_OBJECT_LOCK (self);
  if (self->pads[role]) {
    GST_OBJECT_UNLOCK (self);
    GST_WARNING_OBJECT (self, "aftertransfer has one %s pad already", name);
    return NULL;
  }
  GstAfterTransferPad *pad = g_object_new (GST_TYPE_AFTER_TRANSFER_PAD, "name", name,
      "direction", GST_PAD_SINK, "template", templ, NULL);
  pad->role = role;
  self->pads[role] = pad;
  GST_OBJECT_UNLOCK (self);
  return GST_AGGREGATOR_PAD (pad);
}

static void
gst_after_transfer_release_pad (GstElement *element, GstPad *pad)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (element);
  GST_OBJECT_LOCK (self);
  for (int r = 0; r < 3; r++)
    if ((GstPad *) self->pads[r] == pad)
      self->pads[r] = NULL;
  GST_OBJECT_UNLOCK (self);
  GST_ELEMENT_CLASS (gst_after_transfer_parent_class)->release_pad (element, pad);
}

/* Values per frame of a timbre coordinate or latent stream: the timbre dims, or 2 (x, y)
 * with timbre-map. */
static int
gst_after_transfer_timbre_point_dims (GstAfterTransfer *self)
{
  GST_OBJECT_LOCK (self);
  gboolean map = self->timbre_map;
  GST_OBJECT_UNLOCK (self);
  return map ? 2 : self->info.timbre_dims;
}

/* What a pad takes once the model is known: mono audio at the model's rate (so an upstream
 * audioresample converts to it), or for timbre also a coordinate stream at any rate and a
 * latent stream of timbre vectors (or map points). */
static GstCaps *
gst_after_transfer_pad_caps (GstAfterTransfer *self, GstAfterTransferPad *pad)
{
  if (pad->role == ROLE_MIDI)
    return gst_caps_from_string (MIDI_CAPS);
  GstCaps *caps = latent_audio_caps_new_partial (1, self->info.sample_rate);
  int dims = gst_after_transfer_timbre_point_dims (self);
  if (pad->role == ROLE_TIMBRE && dims > 1)
    gst_caps_append (caps, latent_audio_caps_new_partial (dims, 0));
  if (pad->role == ROLE_TIMBRE)
    gst_caps_append (caps, latent_caps_new_partial (dims, 0, 0));
  return caps;
}

/* The one negotiation error of a run: caps queries and events repeat (upstream retries, one
 * per pad) and come from several streaming threads, so only the first refusal posts, as an
 * ERROR (a warning is not always shown by gst-launch, which stops at the source's bare
 * not-negotiated error); the pipeline stops on it. Takes `reason` (g_free). */
static void
gst_after_transfer_refuse_caps (GstAfterTransfer *self, char *reason, const char *debug)
{
  if (g_atomic_int_compare_and_exchange (&self->caps_refused, 0, 1))
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("%s", reason), ("%s", debug ? debug : ""));
  g_free (reason);
}

static gboolean
gst_after_transfer_sink_query (GstAggregator *agg, GstAggregatorPad *aggpad, GstQuery *query)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  if (GST_QUERY_TYPE (query) == GST_QUERY_CAPS && self->after) {
    GstCaps *filter = NULL;
    gst_query_parse_caps (query, &filter);
    GstCaps *caps = gst_after_transfer_pad_caps (self, GST_AFTER_TRANSFER_PAD (aggpad));
    GstAfterTransferPad *pad = GST_AFTER_TRANSFER_PAD (aggpad);
    if (filter) {
      GstCaps *both = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
      gst_caps_unref (caps);
      caps = both;
      /* F32LE audio that fits the template but not the model is a source at the wrong rate
       * or channel count: its not-negotiated error will not say why, so this is the error. */
      GstCaps *templ = gst_pad_get_pad_template_caps (GST_PAD (aggpad));
      gboolean raw_audio = gst_caps_can_intersect (filter, templ);
      gst_caps_unref (templ);
      if (gst_caps_is_empty (caps) && raw_audio && pad->role != ROLE_MIDI
          && !g_atomic_int_get (&self->caps_refused)) {
        char *offered = gst_caps_to_string (filter);
        int dims = gst_after_transfer_timbre_point_dims (self);
        char *timbre = pad->role != ROLE_TIMBRE ? g_strdup ("")
            : g_strdup_printf ("; or timbre as F32LE audio/x-raw or audio/x-latent with %d "
                "channels (%s) at any rate", dims, dims == self->info.timbre_dims
                && !self->timbre_map ? "the model's timbre dims" : "x, y on its timbre map");
        gst_after_transfer_refuse_caps (self,
            g_strdup_printf ("aftertransfer: %s pad was offered %s; the model "
                "%s takes mono F32LE audio at %d Hz: put audioconvert ! audioresample "
                "upstream%s", role_names[pad->role], offered, gst_after_transfer_model_name (self),
                self->info.sample_rate, timbre), NULL);
        g_free (timbre);
        g_free (offered);
      }
    }
    gst_query_set_caps_result (query, caps);
    gst_caps_unref (caps);
    return TRUE;
  }
  if (GST_QUERY_TYPE (query) == GST_QUERY_ACCEPT_CAPS) {
    /* Anything the template allows: a wrong rate or channel count then reaches the CAPS
     * event and gets an error that says what to put upstream, not a bare not-negotiated. */
    GstCaps *caps, *templ = gst_pad_get_pad_template_caps (GST_PAD (aggpad));
    gst_query_parse_accept_caps (query, &caps);
    gst_query_set_accept_caps_result (query, gst_caps_is_subset (caps, templ));
    gst_caps_unref (templ);
    return TRUE;
  }
  return GST_AGGREGATOR_CLASS (gst_after_transfer_parent_class)->sink_query (agg, aggpad, query);
}

static gboolean
gst_after_transfer_check_caps (GstAfterTransfer *self, GstAfterTransferPad *pad, GstCaps *caps)
{
  if (pad->role == ROLE_MIDI) {
    pad->negotiated = TRUE;
    return TRUE;
  }
  LatentCapsInfo info;
  char *reason = NULL;
  const char *name = role_names[pad->role];
  if (pad->role == ROLE_TIMBRE && latent_caps_is_latent (caps)) {
    int dims = gst_after_transfer_timbre_point_dims (self);
    if (!latent_caps_parse (caps, &info, &reason)) {
      gst_after_transfer_refuse_caps (self, g_strdup_printf ("aftertransfer: timbre pad: %s",
          reason), NULL);
      g_free (reason);
      return FALSE;
    }
    if (info.channels != dims) {
      char *debug = g_strdup_printf ("model %s, timbre_dims %d",
          gst_after_transfer_model_name (self),
          self->info.timbre_dims);
      gst_after_transfer_refuse_caps (self,
          g_strdup_printf ("aftertransfer: timbre pad got a latent stream of %d "
              "channels, expected %d: %s", info.channels, dims, dims == 2 && self->timbre_map
              ? "x and y on the model's 2-D timbre map (timbre-map=true)"
              : "the model's timbre dims (a terrain over its timbre space, or raveencode "
              "method=timbre of the same model)"), debug);
      g_free (debug);
      return FALSE;
    }
    pad->coordinates = pad->latent = TRUE;
    pad->channels = info.channels;
    pad->rate = info.rate;
    pad->ratio = info.ratio;
    pad->negotiated = TRUE;
    return TRUE;
  }
  pad->latent = FALSE;
  if (!latent_audio_caps_parse (caps, &info, &reason)) {
    gst_after_transfer_refuse_caps (self, g_strdup_printf ("aftertransfer: %s pad: %s", name,
        reason), NULL);
    g_free (reason);
    return FALSE;
  }
  int rate = self->info.sample_rate;
  pad->coordinates = pad->role == ROLE_TIMBRE
      && info.channels == gst_after_transfer_timbre_point_dims (self)
      && info.channels > 1;
  if (!pad->coordinates && info.channels != 1) {
    char *debug = g_strdup_printf ("model %s, timbre_dims %d", gst_after_transfer_model_name (self),
        self->info.timbre_dims);
    gst_after_transfer_refuse_caps (self,
        g_strdup_printf ("aftertransfer: %s pad got %d channels, expected mono "
            "audio%s (put audioconvert upstream)", name, info.channels,
            pad->role == ROLE_TIMBRE
            ? " or a timbre-coordinate stream with the model's timbre_dims channels" : ""),
        debug);
    g_free (debug);
    return FALSE;
  }
  if (!pad->coordinates && rate > 0 && info.rate != rate) {
    gst_after_transfer_refuse_caps (self,
        g_strdup_printf ("aftertransfer: %s stream is at %d Hz, the model %s "
            "runs at %d Hz: put audioresample upstream", name, info.rate,
            gst_after_transfer_model_name (self),
            rate), NULL);
    return FALSE;
  }
  if (pad->role == ROLE_STRUCTURE)
    self->out_rate = info.rate;
  pad->channels = info.channels;
  pad->rate = info.rate;
  pad->negotiated = TRUE;
  return TRUE;
}

static gboolean
gst_after_transfer_sink_event (GstAggregator *agg, GstAggregatorPad *aggpad, GstEvent *event)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  if (GST_EVENT_TYPE (event) == GST_EVENT_CAPS) {
    GstCaps *caps;
    gst_event_parse_caps (event, &caps);
    if (!gst_after_transfer_check_caps (self, GST_AFTER_TRANSFER_PAD (aggpad), caps)) {
      gst_event_unref (event);
      return FALSE;
    }
  }
  return GST_AGGREGATOR_CLASS (gst_after_transfer_parent_class)->sink_event (agg, aggpad, event);
}

static GstFlowReturn
gst_after_transfer_update_src_caps (GstAggregator *agg, GstCaps *downstream, GstCaps **ret)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  if (self->out_rate <= 0)
    return GST_AGGREGATOR_FLOW_NEED_DATA;
  *ret = latent_audio_caps_new_partial (1, self->out_rate);
  return GST_FLOW_OK;
}

/* ------------------------------------------------------------ lifecycle */

static void
gst_after_transfer_reset_streaming (GstAfterTransfer *self)
{
  self->structure_fill = self->timbre_fill = self->note_frame = 0;
  self->started = self->midi_ended = self->timbre_seen = FALSE;
  memset (&self->timbre_mean, 0, sizeof self->timbre_mean);
  self->base = 0;
  self->last_event = GST_CLOCK_TIME_NONE;
  self->last_message = GST_CLOCK_TIME_NONE;
  self->produced = 0;
  for (int r = 0; r < 3; r++)
    if (self->pads[r])
      self->pads[r]->offset = 0;
  if (self->voices)
    latent_voices_all_off (self->voices);
}

static void
gst_after_transfer_free_model (GstAfterTransfer *self)
{
  g_clear_pointer (&self->after, latent_after_free);
  g_clear_pointer (&self->voices, latent_voices_free);
  g_clear_pointer (&self->structure_fifo, g_free);
  g_clear_pointer (&self->timbre_fifo, g_free);
  g_clear_pointer (&self->notes, g_free);
  g_clear_pointer (&self->out_block, g_free);
}

/* NULL -> READY: open, check and warm up this element's own copy of the model. */
/* The latency the element reports (see the top of the file), in samples at the model rate. */
static int
gst_after_transfer_latency_samples (GstAfterTransfer *self)
{
  if (self->latency_mode == LATENT_RT_LATENCY_SAFE)
    return 2 * self->block;
  int gather = self->info.kind == LATENT_AFTER_MIDI ? self->block : self->block - 1;
  return gather + self->margin;
}

static gboolean
gst_after_transfer_load_model (GstAfterTransfer *self)
{
  GST_OBJECT_LOCK (self);
  char *path = g_strdup (self->model_path);
  int threads = self->threads;
  self->params_dirty = self->timbre_vector_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
  if (!path || !*path) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
        ("aftertransfer: no model file set (property 'model')"), (NULL));
    g_free (path);
    return FALSE;
  }
  GError *error = NULL;
  LatentAfter *after = latent_after_open (path, threads, &error);
  if (!after) {
    if (error->code == LATENT_ERROR_LOAD && !g_file_test (path, G_FILE_TEST_EXISTS))
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("%s", error->message), (NULL));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error->message), (NULL));
    g_error_free (error);
    g_free (path);
    return FALSE;
  }
  GST_OBJECT_LOCK (self);
  gboolean map = self->timbre_map;
  GST_OBJECT_UNLOCK (self);
  if (map && !latent_after_has_map (after)) {
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("aftertransfer: timbre-map=true but %s has no "
            "2-D timbre map (method map2latent with map2latent_params [2, r, %d, r]; `latent "
            "model info` lists its methods)", path, latent_after_get_info (after)->timbre_dims),
        (NULL));
    latent_after_free (after);
    g_free (path);
    return FALSE;
  }
  g_free (path);
  self->after = after;
  self->info = *latent_after_get_info (after);
  self->block = latent_after_get_block (after);
  self->structure_fifo = g_new0 (float, self->block);
  self->timbre_fifo = g_new0 (float, self->block);
  self->out_block = g_new0 (float, self->block);
  if (self->info.kind == LATENT_AFTER_MIDI) {
    self->voices = latent_voices_new (self->info.n_poly);
    self->notes = g_new0 (float, (gsize) 2 * self->info.n_poly * self->info.chunk);
  }
  /* Low latency's compute margin: time chunks on silence (then reset the state), unless
   * fixed by LATENT_RT_MARGIN_US. Safe reports a whole chunk of headroom instead. */
  GST_OBJECT_LOCK (self);
  LatentRtLatency mode = self->latency_mode;
  GST_OBJECT_UNLOCK (self);
  double worst = 0;
  if (mode == LATENT_RT_LATENCY_LOW && !latent_rt_margin_fixed ())
    worst = latent_after_time_render (after, &error);
  if (worst < 0) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("%s", error->message), (NULL));
    g_clear_error (&error);
    gst_after_transfer_free_model (self);
    return FALSE;
  }
  self->margin = mode == LATENT_RT_LATENCY_SAFE ? 0
      : MIN (latent_rt_margin_frames (worst, MAX (self->info.sample_rate, 1)),
          self->block); /* at most one chunk, as core/latent-rt.h */
  GST_INFO_OBJECT (self, "latency %s: %d samples (chunk %d, margin %d samples, slowest timed "
      "chunk %.0f us)", mode == LATENT_RT_LATENCY_LOW ? "low" : "safe",
      gst_after_transfer_latency_samples (self), self->block, self->margin, worst);
  GST_INFO_OBJECT (self, "loaded %s: %s, rate %d, ratio %d, chunk %d, zs %d, zt %d, n_poly %d",
      latent_after_get_path (after), self->info.kind == LATENT_AFTER_AUDIO ? "audio" : "MIDI",
      self->info.sample_rate, self->info.ratio, self->info.chunk, self->info.structure_dims,
      self->info.timbre_dims, self->info.n_poly);
  return TRUE;
}

/* The linked pads must fit the model: structure for audio models, midi for MIDI models. */
static gboolean
gst_after_transfer_check_pads (GstAfterTransfer *self)
{
  gboolean midi_model = self->info.kind == LATENT_AFTER_MIDI;
  GST_OBJECT_LOCK (self);
  gboolean has_structure = self->pads[ROLE_STRUCTURE] != NULL;
  gboolean has_midi = self->pads[ROLE_MIDI] != NULL;
  GST_OBJECT_UNLOCK (self);
  const char *problem = NULL;
  if (midi_model && has_structure)
    problem = "is a MIDI model: link its structure through the `midi` pad (audio/x-midi-event, "
        "e.g. filesrc ! midiparse), not `structure`";
  else if (!midi_model && has_midi)
    problem = "is an audio-structure model (it has a `structure` method): link audio to the "
        "`structure` pad, not `midi`";
  else if (midi_model && !has_midi)
    problem = "is a MIDI model: aftertransfer needs its `midi` pad linked";
  else if (!midi_model && !has_structure)
    problem = "is an audio-structure model: aftertransfer needs its `structure` pad linked";
  if (problem)
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, ("aftertransfer: model %s %s",
            gst_after_transfer_model_name (self), problem), (NULL));
  return problem == NULL;
}

static gboolean
gst_after_transfer_start (GstAggregator *agg)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  if (!self->after || !gst_after_transfer_check_pads (self))
    return FALSE;
  if (self->info.kind == LATENT_AFTER_MIDI && self->info.sample_rate <= 0) {
    /* Notes carry no rate: the output rate can only come from the model. */
    GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("aftertransfer: the MIDI model %s states no "
            "sample rate (attribute sr), so the output rate is unknown",
            gst_after_transfer_model_name (self)),
        (NULL));
    return FALSE;
  }
  gst_after_transfer_reset_streaming (self);
  g_atomic_int_set (&self->upstream_live, -1);
  g_atomic_int_set (&self->caps_refused, 0);
  GST_OBJECT_LOCK (self);
  self->timbre_vector_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
  self->out_rate = self->info.sample_rate;
  GstClockTime latency = latent_frames_to_time (gst_after_transfer_latency_samples (self), 1,
      MAX (self->info.sample_rate, 1));
  gst_aggregator_set_latency (agg, latency, latency);
  return TRUE;
}

static gboolean
gst_after_transfer_stop (GstAggregator *agg)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  GError *error = NULL;
  if (self->after && self->started && !latent_after_reset (self->after, &error)) {
    GST_WARNING_OBJECT (self, "reset failed: %s", error->message);
    g_error_free (error);
  }
  gst_after_transfer_reset_streaming (self);
  return TRUE;
}

static GstFlowReturn
gst_after_transfer_flush (GstAggregator *agg)
{
  gst_after_transfer_stop (agg);
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  self->out_rate = self->info.sample_rate;
  return GST_FLOW_OK;
}

/* TRUE when an upstream of a sink pad is live (asked once per run, then cached). */
static gboolean
gst_after_transfer_upstream_is_live (GstAfterTransfer *self)
{
  int known = g_atomic_int_get (&self->upstream_live);
  if (known >= 0)
    return known;
  GstPad *pads[3] = { NULL };
  GST_OBJECT_LOCK (self);
  for (int r = 0; r < 3; r++)
    if (self->pads[r])
      pads[r] = gst_object_ref (GST_PAD (self->pads[r]));
  GST_OBJECT_UNLOCK (self);
  gboolean live = FALSE, answered = FALSE;
  for (int r = 0; r < 3; r++) {
    if (!pads[r])
      continue;
    GstQuery *query = gst_query_new_latency ();
    if (gst_pad_peer_query (pads[r], query)) {
      gboolean pad_live = FALSE;
      gst_query_parse_latency (query, &pad_live, NULL, NULL);
      live |= pad_live;
      answered = TRUE;
    }
    gst_query_unref (query);
    gst_object_unref (pads[r]);
  }
  if (answered)
    g_atomic_int_set (&self->upstream_live, live);
  return live;
}

/* The aggregator's deadline for a chunk. With live upstreams it is the chunk's time plus the
 * latency; with non-live ones (files) data is not tied to the clock, so a pad is only taken
 * for dead after NON_LIVE_GRACE more: a slow start under load must not render chunks with a
 * timbre that was about to arrive. */
static GstClockTime
gst_after_transfer_get_next_time (GstAggregator *agg)
{
  GstClockTime next = gst_aggregator_simple_get_next_time (agg);
  if (GST_CLOCK_TIME_IS_VALID (next)
      && !gst_after_transfer_upstream_is_live (GST_AFTER_TRANSFER (agg)))
    next += NON_LIVE_GRACE;
  return next;
}

static GstStateChangeReturn
gst_after_transfer_change_state (GstElement *element, GstStateChange transition)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && !gst_after_transfer_load_model (self))
    return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS (gst_after_transfer_parent_class)->change_state (element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL)
    gst_after_transfer_free_model (self);
  return ret;
}

/* ----------------------------------------------------------- properties */

static void
gst_after_transfer_set_timbre_vector (GstAfterTransfer *self, const GValue *array)
{
  float values[MAX_TIMBRE_VECTOR] = { 0 };
  guint n = MIN (gst_value_array_get_size (array), MAX_TIMBRE_VECTOR);
  for (guint i = 0; i < n; i++) {
    const GValue *v = gst_value_array_get_value (array, i);
    GValue f = G_VALUE_INIT;
    g_value_init (&f, G_TYPE_FLOAT);
    values[i] = g_value_transform (v, &f) ? g_value_get_float (&f) : 0.0f;
    g_value_unset (&f);
  }
  GST_OBJECT_LOCK (self);
  memcpy (self->timbre_vector, values, sizeof values);
  self->timbre_vector_n = (int) n;
  self->timbre_vector_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_after_transfer_set_property (GObject *object, guint id, const GValue *value, GParamSpec *pspec)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (object);
  if (id == PROP_TIMBRE_VECTOR) {
    gst_after_transfer_set_timbre_vector (self, value);
    return;
  }
  GST_OBJECT_LOCK (self);
  switch (id) {
    case PROP_MODEL:
      if (GST_STATE (self) != GST_STATE_NULL) {
        GST_OBJECT_UNLOCK (self);
        g_warning ("aftertransfer: 'model' can only change in the NULL state");
        return;
      }
      g_free (self->model_path);
      self->model_path = g_value_dup_string (value);
      break;
    case PROP_STEPS:
      self->steps = g_value_get_int (value);
      break;
    case PROP_GUIDANCE_STRUCTURE:
      self->guidance_structure = g_value_get_double (value);
      break;
    case PROP_GUIDANCE_TIMBRE:
      self->guidance_timbre = g_value_get_double (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_MAX_MIDI_GAP:
      self->max_midi_gap = g_value_get_double (value);
      break;
    case PROP_TIMBRE_MAP:
      self->timbre_map = g_value_get_boolean (value);
      self->timbre_vector_dirty = TRUE;
      break;
    case PROP_LATENCY_MODE:
      self->latency_mode = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
      break;
  }
  self->params_dirty = TRUE;
  GST_OBJECT_UNLOCK (self);
}

static void
gst_after_transfer_get_property (GObject *object, guint id, GValue *value, GParamSpec *pspec)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (object);
  GST_OBJECT_LOCK (self);
  switch (id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_STEPS:
      g_value_set_int (value, self->steps);
      break;
    case PROP_GUIDANCE_STRUCTURE:
      g_value_set_double (value, self->guidance_structure);
      break;
    case PROP_GUIDANCE_TIMBRE:
      g_value_set_double (value, self->guidance_timbre);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_MAX_MIDI_GAP:
      g_value_set_double (value, self->max_midi_gap);
      break;
    case PROP_TIMBRE_MAP:
      g_value_set_boolean (value, self->timbre_map);
      break;
    case PROP_LATENCY_MODE:
      g_value_set_enum (value, self->latency_mode);
      break;
    case PROP_TIMBRE_VECTOR:
      for (int i = 0; i < self->timbre_vector_n; i++) {
        GValue v = G_VALUE_INIT;
        g_value_init (&v, G_TYPE_FLOAT);
        g_value_set_float (&v, self->timbre_vector[i]);
        gst_value_array_append_and_take_value (value, &v);
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_after_transfer_init (GstAfterTransfer *self)
{
  self->steps = 1;
  self->upstream_live = -1;
  self->threads = 1;
  self->max_midi_gap = DEFAULT_MAX_MIDI_GAP;
  self->latency_mode = LATENT_RT_LATENCY_LOW;
  self->guidance_structure = self->guidance_timbre = 1.0;
  self->last_event = GST_CLOCK_TIME_NONE;
  self->last_message = GST_CLOCK_TIME_NONE;
  /* Timeouts from the aggregator's latency even when upstream is not live: a pad that never
   * gets data must not stall the structure stream. */
  gst_aggregator_set_force_live (GST_AGGREGATOR (self), TRUE);
}

static void
gst_after_transfer_finalize (GObject *object)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (object);
  gst_after_transfer_free_model (self);
  g_free (self->model_path);
  G_OBJECT_CLASS (gst_after_transfer_parent_class)->finalize (object);
}

static void
gst_after_transfer_class_init (GstAfterTransferClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstAggregatorClass *agg_class = GST_AGGREGATOR_CLASS (klass);
  GST_DEBUG_CATEGORY_INIT (after_transfer_debug, "aftertransfer", 0, "AFTER timbre transfer");

  gobject_class->set_property = GST_DEBUG_FUNCPTR (gst_after_transfer_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR (gst_after_transfer_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR (gst_after_transfer_finalize);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags live = rw | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model", "AFTER TorchScript export (.ts), audio or MIDI "
          "structure", NULL, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_STEPS,
      g_param_spec_int ("steps", "Steps", "Diffusion steps per chunk (model attribute "
          "nb_steps)", 1, LATENT_AFTER_MAX_STEPS, 1, live));
  g_object_class_install_property (gobject_class, PROP_GUIDANCE_STRUCTURE,
      g_param_spec_double ("guidance-structure", "Structure guidance", "Classifier-free "
          "guidance on the structure (guidance_structure)", 0.0, 100.0, 1.0, live));
  g_object_class_install_property (gobject_class, PROP_GUIDANCE_TIMBRE,
      g_param_spec_double ("guidance-timbre", "Timbre guidance", "Classifier-free guidance "
          "on the timbre (guidance_timbre)", 0.0, 100.0, 1.0, live));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads", "LibTorch intra-op threads", 1, 64, 1, live));
  g_object_class_install_property (gobject_class, PROP_MAX_MIDI_GAP,
      g_param_spec_double ("max-midi-gap", "Longest MIDI gap", "Longest gap between MIDI "
          "events (s) before the stream counts as damaged; 0 = no limit", 0.0,
          G_MAXDOUBLE, DEFAULT_MAX_MIDI_GAP, live));
  g_object_class_install_property (gobject_class, PROP_TIMBRE_MAP,
      g_param_spec_boolean ("timbre-map", "Timbre map", "Timbre coordinates are x, y on the "
          "model's 2-D timbre map (map2latent)", FALSE,
          rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_LATENCY_MODE,
      g_param_spec_enum ("latency-mode", "Latency mode", "low: one chunk (less one sample for "
          "audio models) plus a compute margin measured at load; safe: two chunks, one of "
          "them compute headroom. Set in NULL", gst_latent_filter_latency_mode_get_type (),
          LATENT_RT_LATENCY_LOW, rw | GST_PARAM_MUTABLE_READY));
  g_object_class_install_property (gobject_class, PROP_TIMBRE_VECTOR,
      gst_param_spec_array ("timbre-vector", "Timbre vector", "Timbre coordinates "
          "used when no timbre pad is linked",
          g_param_spec_float ("value", "Value", "One timbre coordinate", -G_MAXFLOAT,
              G_MAXFLOAT, 0.0f, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS), live));

  gst_element_class_add_static_pad_template_with_gtype (element_class, &src_template,
      GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &structure_template,
      GST_TYPE_AFTER_TRANSFER_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &timbre_template,
      GST_TYPE_AFTER_TRANSFER_PAD);
  gst_element_class_add_static_pad_template_with_gtype (element_class, &midi_template,
      GST_TYPE_AFTER_TRANSFER_PAD);
  gst_element_class_set_static_metadata (element_class, "AFTER timbre transfer",
      "Filter/Effect/Audio", "Takes structure from one stream (audio or MIDI notes) and timbre "
      "from another (audio or timbre coordinates) through an AFTER latent diffusion model",
      "latent");
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_after_transfer_change_state);
  element_class->release_pad = GST_DEBUG_FUNCPTR (gst_after_transfer_release_pad);
  agg_class->create_new_pad = GST_DEBUG_FUNCPTR (gst_after_transfer_create_new_pad);
  agg_class->sink_query = GST_DEBUG_FUNCPTR (gst_after_transfer_sink_query);
  agg_class->sink_event = GST_DEBUG_FUNCPTR (gst_after_transfer_sink_event);
  agg_class->update_src_caps = GST_DEBUG_FUNCPTR (gst_after_transfer_update_src_caps);
  agg_class->aggregate = GST_DEBUG_FUNCPTR (gst_after_transfer_aggregate);
  agg_class->start = GST_DEBUG_FUNCPTR (gst_after_transfer_start);
  agg_class->stop = GST_DEBUG_FUNCPTR (gst_after_transfer_stop);
  agg_class->flush = GST_DEBUG_FUNCPTR (gst_after_transfer_flush);
  agg_class->get_next_time = GST_DEBUG_FUNCPTR (gst_after_transfer_get_next_time);
  gst_type_mark_as_plugin_api (GST_TYPE_AFTER_TRANSFER_PAD, 0);
}

