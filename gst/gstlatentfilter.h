/* GstLatentFilter: abstract base of the elements that run one model method on a stream
 * (raveencode, ravedecode; later AFTER/terrain elements that map a stream through a method).
 *
 * It owns the model (loaded and warmed up in NULL->READY), the core LatentStream (block
 * adapter), caps negotiation between audio/x-raw and audio/x-latent, timestamps, offsets,
 * segments, latency, end-of-stream draining and trimming, discontinuity resets and the
 * non-finite input warning. Subclasses only say which side is latent and add properties. */
#ifndef GST_LATENT_FILTER_H
#define GST_LATENT_FILTER_H

#include <gst/gst.h>
#include "latent.h"

G_BEGIN_DECLS

#define GST_TYPE_LATENT_FILTER (gst_latent_filter_get_type ())
G_DECLARE_DERIVABLE_TYPE (GstLatentFilter, gst_latent_filter, GST, LATENT_FILTER, GstElement)

struct _GstLatentFilterClass {
  GstElementClass parent_class;

  /* Which pads carry audio/x-latent (else audio/x-raw F32LE). */
  gboolean sink_is_latent;
  gboolean src_is_latent;
  /* Lenient sink caps queries: answer the model's caps first, then anything of the template,
   * so upstream can always send its caps and set_caps refuses a mismatch with a precise
   * error instead of a bare not-negotiated. Right where nothing upstream can convert
   * (latent streams); wrong for raw audio, where audioconvert/audioresample must see the
   * exact caps the model takes. */
  gboolean lenient_sink_caps;

  /* Streaming thread, before each block of input is handed to the stream. */
  void (*before_process) (GstLatentFilter *self, LatentStream *stream);
  /* NULL->READY, after the stream exists (so per-stream settings can be applied). */
  void (*stream_created) (GstLatentFilter *self, LatentStream *stream);
};

/* Property ids used by the base; subclasses number theirs from GST_LATENT_FILTER_PROP_LAST. */
enum {
  GST_LATENT_FILTER_PROP_0,
  GST_LATENT_FILTER_PROP_MODEL,
  GST_LATENT_FILTER_PROP_METHOD,
  GST_LATENT_FILTER_PROP_THREADS,
  GST_LATENT_FILTER_PROP_BLOCK,
  GST_LATENT_FILTER_PROP_LATENCY_MODE,
  GST_LATENT_FILTER_PROP_LAST
};

/* Installs model, method, threads, block and latency-mode on `klass` (call from the subclass'
 * class_init; `default_method` is the method's default). Their details are documented in
 * the elements' doc blocks (gstraveencode.c). A subclass that overrides set/get_property chains to
 * gst_latent_filter_set_property / _get_property for these ids. */
void gst_latent_filter_class_install_properties (GObjectClass *klass, const char *default_method);
/* The latency-mode property's enum (LatentRtLatency values: low, safe). */
GType gst_latent_filter_latency_mode_get_type (void);
void gst_latent_filter_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec);
void gst_latent_filter_get_property (GObject *object, guint prop_id, GValue *value,
    GParamSpec *pspec);

/* Subclass instance init: creates the pads from the class' "sink"/"src" templates and sets
 * the default method. */
void gst_latent_filter_setup (GstLatentFilter *self, const char *default_method);

/* The model's in_channels of the method, valid in READY and up (0 before). */
int gst_latent_filter_get_in_channels (GstLatentFilter *self);

G_END_DECLS

#endif /* GST_LATENT_FILTER_H */
