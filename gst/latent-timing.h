/* GstLatentTiming: the timing bookkeeping of an element that turns one timed input stream into
 * one output stream with a block-wise or frame-rate change in between (GstLatentFilter,
 * terrainplay). It owns:
 *   - the segment: output time equals input time, so a TIME segment passes through; a
 *     non-TIME one (appsrc in bytes) is replaced by a TIME segment from 0;
 *   - the first timestamp ts0 of a stream (the first buffer's pts after start, a flush, a new
 *     segment, new caps or a discontinuity; the segment start when that buffer has none), from
 *     which the element counts input and output frames;
 *   - output timestamps: ts0 plus the time of the frames before it, DISCONT on the first
 *     buffer of a stream;
 *   - draining: at EOS, new caps, a new segment or a discontinuity the element pushes what it
 *     still holds (its `drain`) before the event goes on, and the next buffer starts a new ts0;
 *   - discontinuities: a DISCONT flag after data, or a pts off by more than
 *     max(40 ms, half an input frame) from where the counted frames put it.
 * The element keeps its frame counters and says how to drain, discard and take caps. */
#ifndef GST_LATENT_TIMING_H
#define GST_LATENT_TIMING_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  /* Pushes the output still held for the stream's input (the last block zero-padded, trimmed
   * to the input's end) and forgets that input: the stream ends here. Called at EOS, and
   * while a stream is started before new caps, a new segment or after a discontinuity. */
  GstFlowReturn (*drain) (GstElement *element);
  /* Forgets the held input without pushing it (FLUSH_STOP); NULL when nothing is held. */
  void (*discard) (GstElement *element);
  /* Caps that differ from the sink pad's current ones; FALSE refuses them. */
  gboolean (*set_caps) (GstElement *element, GstCaps *caps);
} GstLatentTimingOps;

typedef struct {
  GstElement *element;
  GstPad *srcpad;
  const GstLatentTimingOps *ops;

  /* Streaming thread. */
  GstSegment segment;   /* always TIME */
  gboolean started;     /* ts0 is set: a stream is running */
  GstClockTime ts0;
  gboolean discont;     /* the next output buffer starts a stream */
} GstLatentTiming;

/* Instance init: `srcpad` is where segments and EOS go on. */
void gst_latent_timing_init (GstLatentTiming *timing, GstElement *element, GstPad *srcpad,
    const GstLatentTimingOps *ops);
/* READY <-> PAUSED: a fresh TIME segment, no stream. */
void gst_latent_timing_reset (GstLatentTiming *timing);

/* The sink pad's event function for CAPS, SEGMENT, EOS and FLUSH_STOP (draining first where
 * the stream ends); other events go the default way. */
gboolean gst_latent_timing_sink_event (GstLatentTiming *timing, GstPad *pad, GstEvent *event);

/* Starts a stream at `pts` (the segment start when invalid); its first output is DISCONT. */
void gst_latent_timing_start (GstLatentTiming *timing, GstClockTime pts);
/* Drains and ends the stream when `buf` does not continue the `counted` input frames of
 * `ratio` samples at `rate` Hz (see the header comment); GST_FLOW_OK when it continues. */
GstFlowReturn gst_latent_timing_check_discont (GstLatentTiming *timing, GstBuffer *buf,
    guint64 counted, int ratio, int rate);
/* Audio samples from ts0 to the end of `buf`, which follows `counted` frames and holds `n`:
 * its pts (else where the counted frames end) plus its duration (else its frames' time). */
guint64 gst_latent_timing_input_end (const GstLatentTiming *timing, GstBuffer *buf,
    guint64 counted, gsize n, int ratio, int rate);

/* Stream time of frame `frames` of `ratio` samples at `rate` Hz counted from ts0. */
GstClockTime gst_latent_timing_at (const GstLatentTiming *timing, guint64 frames, int ratio,
    int rate);
/* Stamps an output buffer [pts, end) holding frames [offset, offset_end). */
void gst_latent_timing_stamp (GstLatentTiming *timing, GstBuffer *buf, GstClockTime pts,
    GstClockTime end, guint64 offset, guint64 offset_end);

G_END_DECLS

#endif /* GST_LATENT_TIMING_H */
