/* aftertransfer: AFTER timbre transfer (core/latent-after.h) as a GstAggregator. Sink pads
 * `structure` (mono audio) or `midi` (audio/x-midi-event), and `timbre` (mono audio or a
 * timbre-coordinate stream); src: mono F32LE audio at the model's rate. */
#ifndef GST_AFTER_TRANSFER_H
#define GST_AFTER_TRANSFER_H

#include <gst/gst.h>
#include <gst/base/gstaggregator.h>

G_BEGIN_DECLS

#define GST_TYPE_AFTER_TRANSFER (gst_after_transfer_get_type ())
G_DECLARE_FINAL_TYPE (GstAfterTransfer, gst_after_transfer, GST, AFTER_TRANSFER, GstAggregator)

G_END_DECLS

#endif /* GST_AFTER_TRANSFER_H */
