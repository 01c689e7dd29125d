/* audio/x-latent caps helpers shared by every element of the `latent` plugin.
 *
 *   audio/x-latent, format=F32LE, layout=interleaved, channels=N, rate=SR, ratio=R
 *
 * One frame is N interleaved floats and stands for R audio samples at SR Hz, so latent frame k
 * of a stream covers audio samples [k*R, (k+1)*R) and lasts R/SR seconds (DESIGN.md, "Streams in
 * GStreamer"). */
#ifndef LATENT_CAPS_H
#define LATENT_CAPS_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define LATENT_CAPS_MEDIA_TYPE "audio/x-latent"

/* Template caps: any channels, rate and ratio. */
#define LATENT_CAPS_TEMPLATE_STRING \
  LATENT_CAPS_MEDIA_TYPE ", format=(string)F32LE, layout=(string)interleaved, " \
  "channels=(int)[1, 4096], rate=(int)[1, 2147483647], ratio=(int)[1, 2147483647]"

/* Raw audio counterpart used by the elements: 32-bit float, interleaved. */
#define LATENT_AUDIO_CAPS_TEMPLATE_STRING \
  "audio/x-raw, format=(string)F32LE, layout=(string)interleaved, " \
  "channels=(int)[1, 4096], rate=(int)[1, 2147483647]"

typedef struct {
  int channels; /* floats per frame */
  int rate;     /* audio sample rate the latents stand for, Hz */
  int ratio;    /* audio samples per latent frame */
} LatentCapsInfo;

/* Fixed caps for a latent stream. */
GstCaps *latent_caps_new (int channels, int rate, int ratio);

/* Latent caps with the given fields fixed; a field <= 0 is left as its full range
 * (e.g. rate 0 for a model that states no sample rate). */
GstCaps *latent_caps_new_partial (int channels, int rate, int ratio);

/* Raw F32LE interleaved audio caps; channels or rate <= 0 leave that field as a range.
 * Adds channel-mask=0 (unpositioned) for fixed channel counts above 2. */
GstCaps *latent_audio_caps_new_partial (int channels, int rate);

gboolean latent_caps_is_latent (const GstCaps *caps);

/* Parses fixed audio/x-latent caps. On failure returns FALSE and, if reason is given, sets it
 * to a newly allocated sentence saying what is wrong. */
gboolean latent_caps_parse (const GstCaps *caps, LatentCapsInfo *info, char **reason);

/* Parses fixed F32LE interleaved audio/x-raw caps (ratio is set to 1). */
gboolean latent_audio_caps_parse (const GstCaps *caps, LatentCapsInfo *info, char **reason);

/* Time of `frames` frames of ratio `ratio` at `rate` Hz, rounded to the nearest ns. */
GstClockTime latent_frames_to_time (guint64 frames, int ratio, int rate);

/* Answers a caps query with `caps` (taken) intersected with the query's filter. */
gboolean latent_caps_answer_query (GstQuery *query, GstCaps *caps);

G_END_DECLS

#endif /* LATENT_CAPS_H */
