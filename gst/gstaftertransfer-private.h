/* aftertransfer internals shared by gstaftertransfer.c (pads, caps, properties, lifecycle)
 * and after-aggregate.c (the streaming thread: timing, timbre, audio and MIDI chunks). */
#ifndef GST_AFTER_TRANSFER_PRIVATE_H
#define GST_AFTER_TRANSFER_PRIVATE_H

#include "gstaftertransfer.h"
#include "latent.h"

G_BEGIN_DECLS

GST_DEBUG_CATEGORY_EXTERN (after_transfer_debug);

#define MAX_TIMBRE_VECTOR LATENT_AFTER_MAX_TIMBRE

typedef enum { ROLE_STRUCTURE, ROLE_TIMBRE, ROLE_MIDI } PadRole;

#define GST_TYPE_AFTER_TRANSFER_PAD (gst_after_transfer_pad_get_type ())
G_DECLARE_FINAL_TYPE (GstAfterTransferPad, gst_after_transfer_pad, GST, AFTER_TRANSFER_PAD,
    GstAggregatorPad)

struct _GstAfterTransferPad {
  GstAggregatorPad parent;
  PadRole role;
  gsize offset;         /* frames of the peeked buffer already consumed */
  gboolean negotiated;
  gboolean coordinates; /* timbre pad carrying timbre vectors (or map points), not audio */
  gboolean latent;      /* ... as audio/x-latent (frames of `ratio` samples at `rate`) */
  int channels, rate, ratio;
};

struct _GstAfterTransfer {
  GstAggregator parent;

  /* Properties (object lock); *_dirty tell the streaming thread to apply them. */
  char *model_path;
  int steps, threads;
  double guidance_structure, guidance_timbre;
  double max_midi_gap; /* seconds between MIDI events beyond which the file is refused; 0: none */
  float timbre_vector[MAX_TIMBRE_VECTOR];
  LatentRtLatency latency_mode; /* low (default) or safe; set in NULL */
  int timbre_vector_n;
  gboolean timbre_map;  /* timbre coordinates are (x, y) points of the model's map2latent */
  gboolean params_dirty, timbre_vector_dirty;

  /* Pads by role (object lock), NULL when not requested. */
  GstAfterTransferPad *pads[3];

  /* READY and up. */
  LatentAfter *after;
  LatentAfterInfo info;
  int block;            /* chunk * ratio samples */
  int margin;           /* low latency: compute margin (samples) measured at load */
  float *structure_fifo, *timbre_fifo, *notes, *out_block;
  LatentVoices *voices; /* MIDI models */

  /* Streaming thread. */
  int structure_fill, timbre_fill, note_frame;
  gboolean started;
  GstClockTime base, last_event;
  GstClockTime last_message; /* PTS of the last MIDI channel message (note on/off...) */
  guint64 produced;
  int out_rate;
  gboolean midi_ended;
  LatentAfterMean timbre_mean; /* latent timbre frames of the chunk being gathered */
  gboolean timbre_seen; /* the timbre pad delivered data: timbre-vector no longer applies */
  gboolean non_finite_warned; /* told once that the model returned NaN/Inf */
  int upstream_live;    /* atomic: -1 not asked yet, else whether an upstream is live */
  gint caps_refused;    /* atomic: the negotiation error was posted (once per run) */
};

/* after-aggregate.c: the aggregate vfunc, on the src pad's streaming thread. */
GstFlowReturn gst_after_transfer_aggregate (GstAggregator *agg, gboolean timeout);

G_END_DECLS

#endif /* GST_AFTER_TRANSFER_PRIVATE_H */
