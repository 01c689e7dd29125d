/* aftertransfer's streaming thread: whole chunks from the structure (or MIDI) stream, timbre
 * aligned by running time. Timing rules: gstaftertransfer.c's header comment. The fifos are
 * allocated at READY; per chunk only the output buffer and LibTorch's call allocate. */
#include "gstaftertransfer-private.h"
#include "latent-caps.h"

#include <string.h>

#define GST_CAT_DEFAULT after_transfer_debug

static GstAfterTransferPad *
gst_after_transfer_get_pad (GstAfterTransfer *self, PadRole role)
{
  return self->pads[role];
}

/* Before a pad's first (time) segment arrives, its times count as running times. */
static GstClockTime
gst_after_transfer_running_time (GstAggregatorPad *pad, GstClockTime pts)
{
  if (pad->segment.format != GST_FORMAT_TIME)
    return pts;
  return gst_segment_to_running_time (&pad->segment, GST_FORMAT_TIME, pts);
}

static GstClockTime
gst_after_transfer_output_time (GstAfterTransfer *self, guint64 samples)
{
  return self->base + latent_frames_to_time (samples, 1, self->out_rate);
}

/* A timbre point from a coordinate or latent stream or timbre-vector: the timbre vector
 * itself, or with timbre-map (x, y) on the model's 2-D map (map2latent). */
static gboolean
gst_after_transfer_set_timbre_point (GstAfterTransfer *self, const float *values, int n,
    GError **error)
{
  GST_OBJECT_LOCK (self);
  gboolean map = self->timbre_map;
  GST_OBJECT_UNLOCK (self);
  return latent_after_set_timbre_point (self->after, values, n, map, error);
}

/* Steps, guidance, threads and the hand-set timbre, applied between chunks. */
static gboolean
gst_after_transfer_apply_properties (GstAfterTransfer *self)
{
  GST_OBJECT_LOCK (self);
  gboolean params = self->params_dirty, timbre = self->timbre_vector_dirty;
  int steps = self->steps, threads = self->threads, n = self->timbre_vector_n;
  double gs = self->guidance_structure, gt = self->guidance_timbre;
  float vector[MAX_TIMBRE_VECTOR];
  memcpy (vector, self->timbre_vector, sizeof vector);
  self->params_dirty = self->timbre_vector_dirty = FALSE;
  GST_OBJECT_UNLOCK (self);
  GError *error = NULL;
  if (params) {
    latent_after_set_threads (self->after, threads);
    if (!latent_after_apply_settings (self->after, steps, gs, gt, &error)) {
      GST_ELEMENT_ERROR (self, LIBRARY, SETTINGS, ("%s", error->message), (NULL));
      g_error_free (error);
      return FALSE;
    }
  }
  if (timbre && !self->timbre_seen && !gst_after_transfer_set_timbre_point (self, vector, n,
      &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    g_error_free (error);
    return FALSE;
  }
  return TRUE;
}

/* Consumes the timbre stream up to `end` (a running time): audio sample-exactly (a buffer
 * crossing `end` is consumed in part), coordinate buffers whole. TRUE when the chunk ending
 * there may be rendered: the timbre stream reached `end`, ended, is absent, or the
 * aggregator timed out waiting for it; FALSE with *error unset: wait for more timbre. */
static gboolean gst_after_transfer_consume_timbre_stream (GstAfterTransfer *self, GstClockTime end,
    gboolean timeout, GError **error);

/* consume_timbre_stream, then the mean of a latent stream's frames of this chunk (none: the
 * last timbre is held). */
static gboolean
gst_after_transfer_consume_timbre (GstAfterTransfer *self, GstClockTime end, gboolean timeout,
    GError **error)
{
  gboolean ready = gst_after_transfer_consume_timbre_stream (self, end, timeout, error);
  float mean[MAX_TIMBRE_VECTOR];
  const int n = ready ? latent_after_mean_take (&self->timbre_mean, mean) : 0;
  if (n > 0 && !gst_after_transfer_set_timbre_point (self, mean, n, error))
    return FALSE;
  return ready;
}

static gboolean
gst_after_transfer_consume_timbre_stream (GstAfterTransfer *self, GstClockTime end,
    gboolean timeout, GError **error)
{
  GstAfterTransferPad *tpad = gst_after_transfer_get_pad (self, ROLE_TIMBRE);
  if (!tpad || !gst_pad_is_linked (GST_PAD (tpad)))
    return TRUE;
  GstAggregatorPad *apad = GST_AGGREGATOR_PAD (tpad);
  GstBuffer *buf;
  while ((buf = gst_aggregator_pad_peek_buffer (apad))) {
    GstClockTime pts = GST_BUFFER_PTS (buf);
    gboolean timed = GST_CLOCK_TIME_IS_VALID (pts) && GST_CLOCK_TIME_IS_VALID (end);
    GstClockTime start = timed ? gst_after_transfer_running_time (apad, pts) : GST_CLOCK_TIME_NONE;
    if (timed && start >= end) {
      gst_buffer_unref (buf);
      return TRUE;
    }
    GstMapInfo map;
    gsize frames = 0;
    gboolean reached = FALSE, ok = TRUE;
    if (tpad->negotiated && gst_buffer_map (buf, &map, GST_MAP_READ)) {
      self->timbre_seen = TRUE;
      const float *data = (const float *) map.data;
      frames = map.size / sizeof (float) / tpad->channels;
      if (tpad->latent) {
        /* Frames that start before `end` belong to this chunk: their mean is its timbre. */
        gsize until = frames;
        if (timed)
          until = (gsize) MIN ((guint64) frames, gst_util_uint64_scale_ceil (end - start,
                  tpad->rate, (guint64) tpad->ratio * GST_SECOND));
        until = MAX (until, tpad->offset);
        latent_after_mean_add (&self->timbre_mean, data + tpad->offset * tpad->channels,
            until - tpad->offset, tpad->channels, tpad->channels);
        tpad->offset = until;
        reached = until < frames;
      } else if (tpad->coordinates && frames > 0) {
        ok = gst_after_transfer_set_timbre_point (self, data + (frames - 1) * tpad->channels,
            tpad->channels, error);
        tpad->offset = frames;
      } else if (!tpad->coordinates) {
        gsize until = frames;
        if (timed) {
          guint64 before = gst_util_uint64_scale_round (end - start, tpad->rate, GST_SECOND);
          until = (gsize) MIN ((guint64) frames, before);
        }
        until = MAX (until, tpad->offset);
        ok = latent_after_feed_timbre_audio (self->after, self->timbre_fifo, &self->timbre_fill,
            data + tpad->offset, until - tpad->offset, 1, error);
        tpad->offset = until;
        reached = until < frames;
      }
      gst_buffer_unmap (buf, &map);
    }
    gst_buffer_unref (buf);
    if (!ok)
      return FALSE;
    if (reached)
      return TRUE;
    tpad->offset = 0;
    gst_aggregator_pad_drop_buffer (apad);
  }
  return gst_aggregator_pad_is_eos (apad) || timeout;
}

/* Renders one chunk from the structure fifo (audio) or the note grid (MIDI) and pushes the
 * first `keep` samples. */
static GstFlowReturn
gst_after_transfer_render_and_push (GstAfterTransfer *self, gsize keep)
{
  GstAggregator *agg = GST_AGGREGATOR (self);
  GError *error = NULL;
  const float *structure = self->info.kind == LATENT_AFTER_AUDIO ? self->structure_fifo
      : self->notes;
  if (!latent_after_render (self->after, structure, self->out_block, &error)) {
    GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
    g_error_free (error);
    return GST_FLOW_ERROR;
  }
  const guint64 non_finite = latent_model_get_non_finite_count (latent_after_get_model (self->after));
  if (non_finite && !self->non_finite_warned) {
    self->non_finite_warned = TRUE;
    GST_ELEMENT_WARNING_WITH_DETAILS (self, STREAM, DECODE, ("aftertransfer: the model "
            "returned NaN or Inf values: they were replaced by zeros and the model's state "
            "reset; further ones are replaced without another warning"), (NULL),
        ("count", G_TYPE_UINT64, non_finite, NULL));
  }
  if (!gst_pad_has_current_caps (agg->srcpad) && !gst_aggregator_negotiate (agg))
    return GST_FLOW_NOT_NEGOTIATED;
  GstBuffer *out = gst_buffer_new_allocate (NULL, keep * sizeof (float), NULL);
  gst_buffer_fill (out, 0, self->out_block, keep * sizeof (float));
  GstClockTime pts = gst_after_transfer_output_time (self, self->produced);
  GST_BUFFER_PTS (out) = pts;
  GST_BUFFER_DURATION (out) = gst_after_transfer_output_time (self, self->produced + keep) - pts;
  GST_BUFFER_OFFSET (out) = self->produced;
  GST_BUFFER_OFFSET_END (out) = self->produced + keep;
  if (self->produced == 0)
    GST_BUFFER_FLAG_SET (out, GST_BUFFER_FLAG_DISCONT);
  self->produced += keep;
  /* The aggregator's timeout counts from the src segment's position. */
  GST_OBJECT_LOCK (self);
  GST_AGGREGATOR_PAD (agg->srcpad)->segment.position = pts + GST_BUFFER_DURATION (out);
  GST_OBJECT_UNLOCK (self);
  return gst_aggregator_finish_buffer (agg, out);
}

static void
gst_after_transfer_start_output (GstAfterTransfer *self, GstAggregatorPad *pad, GstClockTime pts)
{
  GstSegment segment;
  if (pad->segment.format == GST_FORMAT_TIME)
    gst_segment_copy_into (&pad->segment, &segment);
  else
    gst_segment_init (&segment, GST_FORMAT_TIME); /* data before any segment */
  self->started = TRUE;
  self->base = GST_CLOCK_TIME_IS_VALID (pts) ? pts : segment.start;
  if (self->out_rate <= 0)
    self->out_rate = self->info.sample_rate;
  gst_aggregator_update_segment (GST_AGGREGATOR (self), &segment);
}

/* Fills the structure fifo from the structure pad; TRUE when it holds a whole chunk. */
static gboolean
gst_after_transfer_fill_structure (GstAfterTransfer *self, GstAggregatorPad *spad)
{
  GstAfterTransferPad *pad = GST_AFTER_TRANSFER_PAD (spad);
  GstBuffer *buf;
  while (self->structure_fill < self->block && (buf = gst_aggregator_pad_peek_buffer (spad))) {
    if (!self->started)
      gst_after_transfer_start_output (self, spad, GST_BUFFER_PTS (buf));
    if (self->out_rate <= 0) { /* no caps and a model without `sr`: drop until caps come */
      gst_buffer_unref (buf);
      gst_aggregator_pad_drop_buffer (spad);
      self->started = FALSE;
      continue;
    }
    GstMapInfo map;
    gsize frames = 0;
    if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
      frames = map.size / sizeof (float);
      pad->offset += latent_after_gather (self->structure_fifo, &self->structure_fill,
          self->block, (const float *) map.data + pad->offset, frames - pad->offset, 1);
      gst_buffer_unmap (buf, &map);
    }
    if (pad->offset >= frames) {
      pad->offset = 0;
      gst_aggregator_pad_drop_buffer (spad);
    }
    gst_buffer_unref (buf);
  }
  return self->structure_fill == self->block;
}

static GstFlowReturn
gst_after_transfer_aggregate_audio (GstAfterTransfer *self, gboolean timeout)
{
  GstAggregatorPad *spad = GST_AGGREGATOR_PAD (gst_after_transfer_get_pad (self, ROLE_STRUCTURE));
  for (;;) {
    gboolean full = gst_after_transfer_fill_structure (self, spad);
    gboolean ended = !full && gst_aggregator_pad_is_eos (spad);
    if (!full && !ended) {
      if (timeout) {
        /* Nothing to render: move the timeout on by a chunk instead of spinning, and keep
         * the timbre pad drained. */
        GstAggregatorPad *src = GST_AGGREGATOR_PAD (GST_AGGREGATOR_SRC_PAD (self));
        GST_OBJECT_LOCK (self);
        GstClockTime position = GST_CLOCK_TIME_IS_VALID (src->segment.position)
            ? src->segment.position : src->segment.start;
        src->segment.position = position + latent_frames_to_time (self->block, 1,
            MAX (self->info.sample_rate, 1));
        position = src->segment.position;
        GST_OBJECT_UNLOCK (self);
        GError *error = NULL;
        if (!gst_after_transfer_consume_timbre (self, gst_after_transfer_running_time (src,
            position), TRUE, &error)) {
          GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
          g_error_free (error);
          return GST_FLOW_ERROR;
        }
      }
      return GST_FLOW_OK;
    }
    if (ended && self->structure_fill == 0)
      return GST_FLOW_EOS;
    gsize keep = self->structure_fill;
    memset (self->structure_fifo + keep, 0, (self->block - keep) * sizeof (float));
    GstClockTime end = gst_after_transfer_running_time (spad, gst_after_transfer_output_time (self,
        self->produced + self->block));
    GError *error = NULL;
    if (!gst_after_transfer_consume_timbre (self, end, timeout || ended, &error)) {
      if (!error)
        return GST_FLOW_OK; /* wait for timbre */
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
      g_error_free (error);
      return GST_FLOW_ERROR;
    }
    self->structure_fill = 0;
    GstFlowReturn ret = gst_after_transfer_render_and_push (self, keep);
    if (ret != GST_FLOW_OK)
      return ret;
    if (ended)
      return GST_FLOW_EOS;
  }
}

/* ----------------------------------------------------------------- MIDI */

/* A MIDI stream whose next buffer is further than max-midi-gap after its last channel message
 * (or the start) cannot advance in any useful time: a corrupt delta time made it hours of
 * silence rendered chunk by chunk, midiparse's ticks included. Posts the error and returns
 * TRUE then. */
static gboolean
gst_after_transfer_midi_gap_too_long (GstAfterTransfer *self, GstClockTime pts)
{
  GST_OBJECT_LOCK (self);
  const double limit = self->max_midi_gap;
  GST_OBJECT_UNLOCK (self);
  const GstClockTime from = GST_CLOCK_TIME_IS_VALID (self->last_message) ? self->last_message
      : self->base;
  if (limit <= 0.0 || !GST_CLOCK_TIME_IS_VALID (pts) || !GST_CLOCK_TIME_IS_VALID (from)
      || pts <= from || (double) (pts - from) / GST_SECOND <= limit)
    return FALSE;
  GST_ELEMENT_ERROR (self, STREAM, DECODE, ("aftertransfer: the MIDI stream jumps from %"
          GST_TIME_FORMAT " to %" GST_TIME_FORMAT ", a gap longer than max-midi-gap (%g s): "
          "the file is probably damaged (raise max-midi-gap, or 0 for no limit, if the gap is "
          "meant)", GST_TIME_ARGS (from), GST_TIME_ARGS (pts), limit), (NULL));
  return TRUE;
}

static GstFlowReturn
gst_after_transfer_aggregate_midi (GstAfterTransfer *self, gboolean timeout)
{
  GstAggregatorPad *mpad = GST_AGGREGATOR_PAD (gst_after_transfer_get_pad (self, ROLE_MIDI));
  const int ratio = self->info.ratio;
  if (!self->started) {
    /* The time base is the MIDI segment's start: wait for it (it comes before any data). */
    GstBuffer *first = gst_aggregator_pad_peek_buffer (mpad);
    if (!first && !gst_aggregator_pad_is_eos (mpad) && !timeout)
      return GST_FLOW_OK;
    gst_clear_buffer (&first);
    gst_after_transfer_start_output (self, mpad, GST_CLOCK_TIME_NONE);
  }
  for (;;) {
    GstClockTime block_end = gst_after_transfer_output_time (self, self->produced + self->block);
    gboolean reached = FALSE;
    GstBuffer *buf;
    while (!reached && (buf = gst_aggregator_pad_peek_buffer (mpad))) {
      GstClockTime pts = GST_BUFFER_PTS (buf);
      if (gst_after_transfer_midi_gap_too_long (self, pts)) {
        gst_buffer_unref (buf);
        return GST_FLOW_ERROR;
      }
      if (GST_CLOCK_TIME_IS_VALID (pts) && pts >= block_end) {
        reached = TRUE;
      } else {
        if (GST_CLOCK_TIME_IS_VALID (pts) && pts > self->base) {
          guint64 sample = gst_util_uint64_scale_round (pts - self->base, self->out_rate,
              GST_SECOND);
          latent_voices_write_frames (self->voices, self->notes, self->info.chunk,
              &self->note_frame, (int) ((sample - MIN (sample, self->produced)) / ratio));
        }
        GstMapInfo map;
        if (gst_buffer_get_size (buf) > 0 && gst_buffer_map (buf, &map, GST_MAP_READ)) {
          if (latent_voices_apply_midi (self->voices, map.data, map.size)
              && GST_CLOCK_TIME_IS_VALID (pts))
            self->last_message = pts;
          gst_buffer_unmap (buf, &map);
          if (GST_CLOCK_TIME_IS_VALID (pts))
            self->last_event = GST_CLOCK_TIME_IS_VALID (self->last_event)
                ? MAX (self->last_event, pts) : pts;
        }
        gst_aggregator_pad_drop_buffer (mpad);
      }
      gst_buffer_unref (buf);
    }
    gboolean eos = !reached && gst_aggregator_pad_is_eos (mpad);
    if (eos) {
      /* Render through the chunk holding the last event, then one chunk of release. */
      GstClockTime last = GST_CLOCK_TIME_IS_VALID (self->last_event) ? self->last_event : 0;
      GstClockTime block_start = gst_after_transfer_output_time (self, self->produced);
      if (self->midi_ended)
        return GST_FLOW_EOS;
      self->midi_ended = block_start > last;
    } else if (!reached && !timeout) {
      return GST_FLOW_OK;
    }
    GError *error = NULL;
    if (!gst_after_transfer_consume_timbre (self, gst_after_transfer_running_time (mpad,
        block_end), timeout || eos, &error)) {
      if (!error)
        return GST_FLOW_OK; /* wait for timbre */
      GST_ELEMENT_ERROR (self, LIBRARY, FAILED, ("%s", error->message), (NULL));
      g_error_free (error);
      return GST_FLOW_ERROR;
    }
    latent_voices_write_frames (self->voices, self->notes, self->info.chunk, &self->note_frame,
        self->info.chunk);
    self->note_frame = 0;
    GstFlowReturn ret = gst_after_transfer_render_and_push (self, self->block);
    if (ret != GST_FLOW_OK)
      return ret;
    if (timeout && !reached && !eos)
      return GST_FLOW_OK;
  }
}

GstFlowReturn
gst_after_transfer_aggregate (GstAggregator *agg, gboolean timeout)
{
  GstAfterTransfer *self = GST_AFTER_TRANSFER (agg);
  if (!gst_after_transfer_apply_properties (self))
    return GST_FLOW_ERROR;
  return self->info.kind == LATENT_AFTER_AUDIO ? gst_after_transfer_aggregate_audio (self, timeout)
      : gst_after_transfer_aggregate_midi (self, timeout);
}

