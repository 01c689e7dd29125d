/* raveencode: audio/x-raw F32LE -> audio/x-latent through a model's encode method. */
#ifndef GST_RAVE_ENCODE_H
#define GST_RAVE_ENCODE_H

#include "gstlatentfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_RAVE_ENCODE (gst_rave_encode_get_type ())
G_DECLARE_FINAL_TYPE (GstRaveEncode, gst_rave_encode, GST, RAVE_ENCODE, GstLatentFilter)

G_END_DECLS

#endif /* GST_RAVE_ENCODE_H */
