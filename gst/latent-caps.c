/* audio/x-latent caps helpers (see latent-caps.h). */
#include "latent-caps.h"

static void
latent_caps_set_int_or_range (GstStructure *s, const char *field, int value, int max)
{
  if (value > 0)
    gst_structure_set (s, field, G_TYPE_INT, value, NULL);
  else
    gst_structure_set (s, field, GST_TYPE_INT_RANGE, 1, max, NULL);
}

GstCaps *
latent_caps_new (int channels, int rate, int ratio)
{
  g_return_val_if_fail (channels > 0 && rate > 0 && ratio > 0, NULL);
  return latent_caps_new_partial (channels, rate, ratio);
}

GstCaps *
latent_caps_new_partial (int channels, int rate, int ratio)
{
  GstStructure *s = gst_structure_new (LATENT_CAPS_MEDIA_TYPE,
      "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING, "interleaved", NULL);
  latent_caps_set_int_or_range (s, "channels", channels, 4096);
  latent_caps_set_int_or_range (s, "rate", rate, G_MAXINT);
  latent_caps_set_int_or_range (s, "ratio", ratio, G_MAXINT);
  return gst_caps_new_full (s, NULL);
}

GstCaps *
latent_audio_caps_new_partial (int channels, int rate)
{
  GstStructure *s = gst_structure_new ("audio/x-raw",
      "format", G_TYPE_STRING, "F32LE", "layout", G_TYPE_STRING, "interleaved", NULL);
  latent_caps_set_int_or_range (s, "channels", channels, 4096);
  latent_caps_set_int_or_range (s, "rate", rate, G_MAXINT);
  if (channels > 2)
    gst_structure_set (s, "channel-mask", GST_TYPE_BITMASK, (guint64) 0, NULL);
  return gst_caps_new_full (s, NULL);
}

gboolean
latent_caps_is_latent (const GstCaps *caps)
{
  return caps && gst_caps_get_size (caps) > 0 &&
      gst_structure_has_name (gst_caps_get_structure (caps, 0), LATENT_CAPS_MEDIA_TYPE);
}

static gboolean
latent_caps_fail (char **reason, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

static gboolean
latent_caps_fail (char **reason, const char *fmt, ...)
{
  if (reason) {
    va_list ap;
    va_start (ap, fmt);
    *reason = g_strdup_vprintf (fmt, ap);
    va_end (ap);
  }
  return FALSE;
}

static gboolean
latent_caps_parse_common (const GstCaps *caps, const char *media_type, LatentCapsInfo *info,
    gboolean want_ratio, char **reason)
{
  if (!caps || gst_caps_get_size (caps) != 1)
    return latent_caps_fail (reason, "expected one %s structure", media_type);
  const GstStructure *s = gst_caps_get_structure (caps, 0);
  if (!gst_structure_has_name (s, media_type))
    return latent_caps_fail (reason, "expected %s, got %s", media_type, gst_structure_get_name (s));
  const char *format = gst_structure_get_string (s, "format");
  if (g_strcmp0 (format, "F32LE") != 0)
    return latent_caps_fail (reason, "%s format is %s, only F32LE is handled", media_type,
        format ? format : "missing");
  const char *layout = gst_structure_get_string (s, "layout");
  if (layout && g_strcmp0 (layout, "interleaved") != 0)
    return latent_caps_fail (reason, "%s layout is %s, only interleaved is handled", media_type,
        layout);
  int channels = 0, rate = 0, ratio = 1;
  if (!gst_structure_get_int (s, "channels", &channels) || channels < 1)
    return latent_caps_fail (reason, "%s has no fixed positive channels field", media_type);
  if (!gst_structure_get_int (s, "rate", &rate) || rate < 1)
    return latent_caps_fail (reason, "%s has no fixed positive rate field", media_type);
  if (want_ratio && (!gst_structure_get_int (s, "ratio", &ratio) || ratio < 1))
    return latent_caps_fail (reason, "%s has no fixed positive ratio field", media_type);
  *info = (LatentCapsInfo) { channels, rate, ratio };
  return TRUE;
}

gboolean
latent_caps_parse (const GstCaps *caps, LatentCapsInfo *info, char **reason)
{
  return latent_caps_parse_common (caps, LATENT_CAPS_MEDIA_TYPE, info, TRUE, reason);
}

gboolean
latent_audio_caps_parse (const GstCaps *caps, LatentCapsInfo *info, char **reason)
{
  return latent_caps_parse_common (caps, "audio/x-raw", info, FALSE, reason);
}

GstClockTime
latent_frames_to_time (guint64 frames, int ratio, int rate)
{
  return gst_util_uint64_scale_int_round (frames * (guint64) ratio, GST_SECOND, rate);
}

gboolean
latent_caps_answer_query (GstQuery *query, GstCaps *caps)
{
  GstCaps *filter;
  gst_query_parse_caps (query, &filter);
  if (filter) {
    GstCaps *tmp = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);
    gst_caps_unref (caps);
    caps = tmp;
  }
  gst_query_set_caps_result (query, caps);
  gst_caps_unref (caps);
  return TRUE;
}
