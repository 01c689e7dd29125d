/* GstLatentTiming: timing bookkeeping shared by GstLatentFilter and terrainplay (see
 * latent-timing.h). */
#include "latent-timing.h"
#include "latent-caps.h"

GST_DEBUG_CATEGORY_STATIC (latent_timing_debug);
#define GST_CAT_DEFAULT latent_timing_debug

void
gst_latent_timing_init (GstLatentTiming *timing, GstElement *element, GstPad *srcpad,
    const GstLatentTimingOps *ops)
{
  static gsize debug_ready = 0;
  if (g_once_init_enter (&debug_ready)) {
    GST_DEBUG_CATEGORY_INIT (latent_timing_debug, "latenttiming", 0,
        "timestamps, segments and draining of the latent elements");
    g_once_init_leave (&debug_ready, 1);
  }
  timing->element = element;
  timing->srcpad = srcpad;
  timing->ops = ops;
  gst_latent_timing_reset (timing);
}

void
gst_latent_timing_reset (GstLatentTiming *timing)
{
  gst_segment_init (&timing->segment, GST_FORMAT_TIME);
  timing->started = FALSE;
}

void
gst_latent_timing_start (GstLatentTiming *timing, GstClockTime pts)
{
  const GstSegment *segment = &timing->segment;
  if (!GST_CLOCK_TIME_IS_VALID (pts))
    pts = segment->format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID (segment->start)
        ? segment->start : 0;
  timing->started = TRUE;
  timing->ts0 = pts;
  timing->discont = TRUE;
}

/* The stream ends here: the element pushes what it holds, the next buffer starts a new ts0. */
static GstFlowReturn
gst_latent_timing_finish (GstLatentTiming *timing)
{
  GstFlowReturn ret = timing->ops->drain (timing->element);
  timing->started = FALSE;
  return ret;
}

GstFlowReturn
gst_latent_timing_check_discont (GstLatentTiming *timing, GstBuffer *buf, guint64 counted,
    int ratio, int rate)
{
  if (!timing->started)
    return GST_FLOW_OK;
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstClockTime expected = gst_latent_timing_at (timing, counted, ratio, rate);
  GstClockTime tolerance = MAX (40 * GST_MSECOND, latent_frames_to_time (1, ratio, rate) / 2);
  gboolean jump = GST_CLOCK_TIME_IS_VALID (pts) &&
      (pts > expected ? pts - expected : expected - pts) > tolerance;
  if (!jump && !(GST_BUFFER_IS_DISCONT (buf) && counted > 0))
    return GST_FLOW_OK;
  GST_DEBUG_OBJECT (timing->element, "discontinuity at %" GST_TIME_FORMAT " (expected %"
      GST_TIME_FORMAT "): draining and resetting", GST_TIME_ARGS (pts),
      GST_TIME_ARGS (expected));
  return gst_latent_timing_finish (timing);
}

guint64
gst_latent_timing_input_end (const GstLatentTiming *timing, GstBuffer *buf, guint64 counted,
    gsize n, int ratio, int rate)
{
  GstClockTime pts = GST_BUFFER_PTS (buf);
  GstClockTime start = GST_CLOCK_TIME_IS_VALID (pts) && pts >= timing->ts0 ? pts
      : gst_latent_timing_at (timing, counted, ratio, rate);
  GstClockTime duration = GST_BUFFER_DURATION_IS_VALID (buf) ? GST_BUFFER_DURATION (buf)
      : latent_frames_to_time (n, ratio, rate);
  return gst_util_uint64_scale_int_round (start + duration - timing->ts0, rate,
      (gint) GST_SECOND);
}

GstClockTime
gst_latent_timing_at (const GstLatentTiming *timing, guint64 frames, int ratio, int rate)
{
  return timing->ts0 + latent_frames_to_time (frames, ratio, rate);
}

void
gst_latent_timing_stamp (GstLatentTiming *timing, GstBuffer *buf, GstClockTime pts,
    GstClockTime end, guint64 offset, guint64 offset_end)
{
  GST_BUFFER_PTS (buf) = pts;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = end - pts;
  GST_BUFFER_OFFSET (buf) = offset;
  GST_BUFFER_OFFSET_END (buf) = offset_end;
  if (timing->discont) {
    GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
    timing->discont = FALSE;
  }
}

/* ---------------------------------------------------------------- events */

static gboolean
gst_latent_timing_caps_unchanged (GstPad *pad, GstCaps *caps)
{
  GstCaps *current = gst_pad_get_current_caps (pad);
  gboolean same = current && gst_caps_is_equal (current, caps);
  gst_clear_caps (&current);
  return same;
}

/* New caps: a new format mid-stream finishes the old stream first. Re-sent identical caps
 * change nothing: the stream goes on. */
static gboolean
gst_latent_timing_caps_event (GstLatentTiming *timing, GstPad *pad, GstEvent *event)
{
  GstCaps *caps;
  gst_event_parse_caps (event, &caps);
  gboolean ok = TRUE;
  if (!gst_latent_timing_caps_unchanged (pad, caps)) {
    if (timing->started)
      gst_latent_timing_finish (timing);
    ok = timing->ops->set_caps (timing->element, caps);
  }
  gst_event_unref (event);
  return ok;
}

/* Output time equals input time, so the segment passes through after the previous segment's
 * data is drained. A non-TIME segment (e.g. appsrc in bytes) is replaced by a TIME segment
 * from 0, since output timestamps are counted in time. */
static gboolean
gst_latent_timing_segment_event (GstLatentTiming *timing, GstEvent *event)
{
  if (timing->started)
    gst_latent_timing_finish (timing);
  const GstSegment *segment;
  gst_event_parse_segment (event, &segment);
  if (segment->format == GST_FORMAT_TIME) {
    gst_segment_copy_into (segment, &timing->segment);
  } else {
    gst_segment_init (&timing->segment, GST_FORMAT_TIME);
    guint32 seqnum = gst_event_get_seqnum (event);
    gst_event_unref (event);
    event = gst_event_new_segment (&timing->segment);
    gst_event_set_seqnum (event, seqnum);
  }
  return gst_pad_push_event (timing->srcpad, event);
}

gboolean
gst_latent_timing_sink_event (GstLatentTiming *timing, GstPad *pad, GstEvent *event)
{
  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:
      return gst_latent_timing_caps_event (timing, pad, event);
    case GST_EVENT_SEGMENT:
      return gst_latent_timing_segment_event (timing, event);
    case GST_EVENT_EOS:
      gst_latent_timing_finish (timing);
      return gst_pad_push_event (timing->srcpad, event);
    case GST_EVENT_FLUSH_STOP:
      if (timing->ops->discard)
        timing->ops->discard (timing->element);
      gst_latent_timing_reset (timing);
      return gst_pad_push_event (timing->srcpad, event);
    default:
      return gst_pad_event_default (pad, GST_OBJECT (timing->element), event);
  }
}
