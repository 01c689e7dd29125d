/**
 * SECTION:element-ravedecode
 * @title: ravedecode
 * @see_also: raveencode, terrainplay
 *
 * Runs a model's decode method on a latent stream (audio/x-latent, e.g. from raveencode or a
 * recorded or generated latent stream) and outputs F32LE audio. The stream's latent count,
 * ratio and rate must match the model's decode_params and sample rate; a mismatch is refused
 * with an error that says which. The output ends at the last latent buffer's pts + duration,
 * so raveencode ! ravedecode returns exactly the number of samples that went in. model,
 * method, threads, block and latency-mode work as in raveencode (GstLatentFilter).
 *
 * `bias` and `scale` bend the latents per dimension before decoding: z' = z * scale + bias
 * (scale applied first). Dimensions past the end of `bias` get 0, past the end of `scale` 1;
 * both default to empty (no change). They are changeable while playing and apply from the
 * next model call on, which includes latents already buffered for it. gst-launch syntax:
 * bias="<0.0, 1.5>" scale="<1.0, -1.0>".
 *
 * Handoff: the property setter builds the new array outside any lock, then swaps it in under
 * `affine_lock` and raises `affine_dirty`; the streaming thread, before each input buffer,
 * checks the flag atomically and only if raised copies the arrays under the same lock (a
 * memcpy) and hands them to the core (latent_stream_set_input_affine). The lock is never held
 * during inference.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=models/clips/demo-input.wav ! wavparse ! audioconvert ! \
 *   audioresample ! raveencode model=models/rave-gm.ts ! \
 *   ravedecode model=models/rave-gm.ts bias="<0.5, 0.0, 1.5>" scale="<1.0, 1.0, 2.0>" ! \
 *   audioconvert ! wavenc ! filesink location=bent.wav
 * ]| On the shipped model latent 0 is pitch in octaves: this plays the clip half an octave up.
 */
#include "gstravedecode.h"
#include "latent-caps.h"

#include <string.h>

enum {
  PROP_BIAS = GST_LATENT_FILTER_PROP_LAST,
  PROP_SCALE,
};

typedef struct {
  float *values;
  guint n;
} FloatArray;

struct _GstRaveDecode {
  GstLatentFilter parent;

  GMutex affine_lock;      /* guards bias, scale (the pending values) */
  FloatArray bias, scale;
  gint affine_dirty;       /* atomic: the streaming thread must pick up new values */

  /* Streaming thread copies, in_channels long (READY and up). */
  float *cur_bias, *cur_scale;
  int cur_n;
};

G_DEFINE_TYPE (GstRaveDecode, gst_rave_decode, GST_TYPE_LATENT_FILTER)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_CAPS_TEMPLATE_STRING));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS (LATENT_AUDIO_CAPS_TEMPLATE_STRING));

static float
gst_rave_decode_value_to_float (const GValue *v)
{
  if (G_VALUE_HOLDS_FLOAT (v))
    return g_value_get_float (v);
  if (G_VALUE_HOLDS_DOUBLE (v))
    return (float) g_value_get_double (v);
  if (G_VALUE_HOLDS_INT (v))
    return (float) g_value_get_int (v);
  GValue f = G_VALUE_INIT;
  g_value_init (&f, G_TYPE_FLOAT);
  float out = g_value_transform (v, &f) ? g_value_get_float (&f) : 0.0f;
  g_value_unset (&f);
  return out;
}

static void
gst_rave_decode_set_array (GstRaveDecode *self, FloatArray *dst, const GValue *value)
{
  guint n = gst_value_array_get_size (value);
  float *values = g_new0 (float, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    values[i] = gst_rave_decode_value_to_float (gst_value_array_get_value (value, i));
  g_mutex_lock (&self->affine_lock);
  float *old = dst->values;
  dst->values = values;
  dst->n = n;
  g_atomic_int_set (&self->affine_dirty, 1);
  g_mutex_unlock (&self->affine_lock);
  g_free (old);
}

static void
gst_rave_decode_get_array (GstRaveDecode *self, FloatArray *src, GValue *value)
{
  g_mutex_lock (&self->affine_lock);
  guint n = src->n;
  float *copy = g_memdup2 (src->values, sizeof (float) * MAX (n, 1));
  g_mutex_unlock (&self->affine_lock);
  for (guint i = 0; i < n; i++) {
    GValue v = G_VALUE_INIT;
    g_value_init (&v, G_TYPE_FLOAT);
    g_value_set_float (&v, copy[i]);
    gst_value_array_append_and_take_value (value, &v);
  }
  g_free (copy);
}

static void
gst_rave_decode_set_property (GObject *object, guint prop_id, const GValue *value,
    GParamSpec *pspec)
{
  GstRaveDecode *self = GST_RAVE_DECODE (object);
  switch (prop_id) {
    case PROP_BIAS:
      gst_rave_decode_set_array (self, &self->bias, value);
      break;
    case PROP_SCALE:
      gst_rave_decode_set_array (self, &self->scale, value);
      break;
    default:
      gst_latent_filter_set_property (object, prop_id, value, pspec);
      break;
  }
}

static void
gst_rave_decode_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GstRaveDecode *self = GST_RAVE_DECODE (object);
  switch (prop_id) {
    case PROP_BIAS:
      gst_rave_decode_get_array (self, &self->bias, value);
      break;
    case PROP_SCALE:
      gst_rave_decode_get_array (self, &self->scale, value);
      break;
    default:
      gst_latent_filter_get_property (object, prop_id, value, pspec);
      break;
  }
}

/* Streaming thread: pick up new bias/scale if the setter published some. */
static void
gst_rave_decode_before_process (GstLatentFilter *filter, LatentStream *stream)
{
  GstRaveDecode *self = GST_RAVE_DECODE (filter);
  if (!g_atomic_int_get (&self->affine_dirty) || !self->cur_bias)
    return;
  int n = self->cur_n;
  for (int c = 0; c < n; c++) {
    self->cur_bias[c] = 0.0f;
    self->cur_scale[c] = 1.0f;
  }
  g_mutex_lock (&self->affine_lock);
  g_atomic_int_set (&self->affine_dirty, 0);
  memcpy (self->cur_bias, self->bias.values, sizeof (float) * MIN ((guint) n, self->bias.n));
  memcpy (self->cur_scale, self->scale.values, sizeof (float) * MIN ((guint) n, self->scale.n));
  g_mutex_unlock (&self->affine_lock);
  latent_stream_set_input_affine (stream, self->cur_bias, self->cur_scale, n);
}

static void
gst_rave_decode_stream_created (GstLatentFilter *filter, LatentStream *stream)
{
  GstRaveDecode *self = GST_RAVE_DECODE (filter);
  self->cur_n = latent_stream_get_info (stream)->in_channels;
  g_free (self->cur_bias);
  g_free (self->cur_scale);
  self->cur_bias = g_new0 (float, self->cur_n);
  self->cur_scale = g_new0 (float, self->cur_n);
  g_atomic_int_set (&self->affine_dirty, 1);
  gst_rave_decode_before_process (filter, stream);
}

static void
gst_rave_decode_init (GstRaveDecode *self)
{
  g_mutex_init (&self->affine_lock);
  gst_latent_filter_setup (GST_LATENT_FILTER (self), "decode");
}

static void
gst_rave_decode_finalize (GObject *object)
{
  GstRaveDecode *self = GST_RAVE_DECODE (object);
  g_free (self->bias.values);
  g_free (self->scale.values);
  g_free (self->cur_bias);
  g_free (self->cur_scale);
  g_mutex_clear (&self->affine_lock);
  G_OBJECT_CLASS (gst_rave_decode_parent_class)->finalize (object);
}

static void
gst_rave_decode_class_init (GstRaveDecodeClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstLatentFilterClass *filter_class = GST_LATENT_FILTER_CLASS (klass);
  gobject_class->set_property = GST_DEBUG_FUNCPTR (gst_rave_decode_set_property);
  gobject_class->get_property = GST_DEBUG_FUNCPTR (gst_rave_decode_get_property);
  gobject_class->finalize = GST_DEBUG_FUNCPTR (gst_rave_decode_finalize);
  filter_class->sink_is_latent = TRUE;
  filter_class->src_is_latent = FALSE;
  filter_class->lenient_sink_caps = TRUE;
  filter_class->before_process = GST_DEBUG_FUNCPTR (gst_rave_decode_before_process);
  filter_class->stream_created = GST_DEBUG_FUNCPTR (gst_rave_decode_stream_created);

  gst_latent_filter_class_install_properties (gobject_class, "decode");
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_CONTROLLABLE | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property (gobject_class, PROP_BIAS,
      gst_param_spec_array ("bias", "Bias",
          "Per-latent offsets added before decoding (z * scale + bias)",
          g_param_spec_float ("bias-value", "Bias value", "Offset of one latent dimension",
              -G_MAXFLOAT, G_MAXFLOAT, 0.0f, flags), flags));
  g_object_class_install_property (gobject_class, PROP_SCALE,
      gst_param_spec_array ("scale", "Scale",
          "Per-latent factors applied before decoding (z * scale + bias)",
          g_param_spec_float ("scale-value", "Scale value", "Factor of one latent dimension",
              -G_MAXFLOAT, G_MAXFLOAT, 1.0f, flags), flags));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RAVE decoder",
      "Filter/Decoder/Audio",
      "Decodes a latent stream into audio with a neural audio model (RAVE or any "
      "TorchScript module in the nn~ convention)",
      "latent <https://example.invalid/latent>");
}
