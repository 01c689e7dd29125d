/* ravedecode: audio/x-latent -> audio/x-raw F32LE through a model's decode method, with
 * per-dimension latent bias/scale changeable while playing. */
#ifndef GST_RAVE_DECODE_H
#define GST_RAVE_DECODE_H

#include "gstlatentfilter.h"

G_BEGIN_DECLS

#define GST_TYPE_RAVE_DECODE (gst_rave_decode_get_type ())
G_DECLARE_FINAL_TYPE (GstRaveDecode, gst_rave_decode, GST, RAVE_DECODE, GstLatentFilter)

G_END_DECLS

#endif /* GST_RAVE_DECODE_H */
