/**
 * SECTION:element-raveencode
 * @title: raveencode
 * @see_also: ravedecode, terraintrain
 *
 * Runs a model's encode method (nn~ convention: RAVE or any TorchScript module with
 * `encode_params`) on raw audio and outputs the latent stream. Input: F32LE interleaved audio
 * with the method's channel count at the model's sample rate (put audioconvert !
 * audioresample upstream; nothing is resampled inside). Output: audio/x-latent, channels =
 * latent dimensions, ratio = audio samples per latent frame; latent frame k stands for audio
 * samples [k*ratio, (k+1)*ratio). At end of stream the tail is encoded and the last latent
 * buffer's duration is the real remaining audio time, so ravedecode gives back exactly as many
 * samples. method=timbre on an AFTER export gives its timbre latents (one chunk per call,
 * found by probing), e.g. for terraintrain. The streaming machinery lives in GstLatentFilter
 * (gstlatentfilter.c documents the timing and end-of-stream trimming rule).
 *
 * Properties shared with ravedecode (GstLatentFilter):
 * - `model`: required, no default; set in the NULL state. Each element loads its own copy and
 *   warms it up when going from NULL to READY.
 * - `method`: the method must have a METHOD_params buffer; set in the NULL state.
 * - `threads`: LibTorch intra-op threads of each model call; changeable while playing.
 * - `block`: input frames per model call (audio samples for audio input, latent frames for
 *   latent input), a multiple of the method's minimum block; it adds block/rate seconds of
 *   latency. 0 (default): the smallest valid block of at least 2048 audio samples
 *   (latency-mode=safe) or one latent frame (low). Set in the NULL state.
 * - `latency-mode`: low (default): block 0 means one latent frame, and the latency reported is
 *   the block less one input frame plus a compute margin measured at load; safe: block 0 means
 *   at least 2048 samples and the latency is the whole block. Set in the NULL state.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=models/clips/demo-input.wav ! wavparse ! audioconvert ! \
 *   audioresample ! raveencode model=models/rave-gm.ts ! ravedecode model=models/rave-gm.ts ! \
 *   audioconvert ! wavenc ! filesink location=out.wav
 * ]| Encodes a clip with the shipped autoencoder and decodes it again (N samples in, N out).
 */
#include "gstraveencode.h"
#include "latent-caps.h"

struct _GstRaveEncode {
  GstLatentFilter parent;
};

G_DEFINE_TYPE (GstRaveEncode, gst_rave_encode, GST_TYPE_LATENT_FILTER)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_AUDIO_CAPS_TEMPLATE_STRING));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_CAPS_TEMPLATE_STRING));

static void
gst_rave_encode_init (GstRaveEncode *self)
{
  gst_latent_filter_setup (GST_LATENT_FILTER (self), "encode");
}

static void
gst_rave_encode_class_init (GstRaveEncodeClass *klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstLatentFilterClass *filter_class = GST_LATENT_FILTER_CLASS (klass);
  /* GObject does not inherit set/get_property: point at the base's handlers. */
  G_OBJECT_CLASS (klass)->set_property = GST_DEBUG_FUNCPTR (gst_latent_filter_set_property);
  G_OBJECT_CLASS (klass)->get_property = GST_DEBUG_FUNCPTR (gst_latent_filter_get_property);
  filter_class->sink_is_latent = FALSE;
  filter_class->src_is_latent = TRUE;
  filter_class->lenient_sink_caps = FALSE;
  gst_latent_filter_class_install_properties (G_OBJECT_CLASS (klass), "encode");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RAVE encoder",
      "Filter/Encoder/Audio",
      "Encodes raw audio into a latent stream with a neural audio model (RAVE or any "
      "TorchScript module in the nn~ convention)",
      "latent <https://example.invalid/latent>");
}
