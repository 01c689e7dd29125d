/* Feeding an AFTER model chunk by chunk (see "Feeding chunks" in latent-after.h): the steps
 * both adapters (gst/after-aggregate.c, lv2/after.c) take between their streams and
 * latent_after_render. Caller-provided buffers only: nothing here allocates. */
#include "latent.h"

#include <math.h>
#include <string.h>

gsize
latent_after_gather (float *chunk, int *fill, int block, const float *samples, gsize n,
    int stride)
{
  const gsize take = MIN (n, (gsize) (block - *fill));
  float *dst = chunk + *fill;
  for (gsize i = 0; i < take; i++) {
    const float v = samples[i * stride];
    dst[i] = isfinite (v) ? v : 0.0f; /* a broken upstream must not poison the model state */
  }
  *fill += (int) take;
  return take;
}

gboolean
latent_after_feed_timbre_audio (LatentAfter *after, float *chunk, int *fill,
    const float *samples, gsize n, int stride, GError **error)
{
  const int block = latent_after_get_block (after);
  for (gsize i = 0; i < n;) {
    i += latent_after_gather (chunk, fill, block, samples + i * stride, n - i, stride);
    if (*fill == block) {
      *fill = 0;
      if (!latent_after_update_timbre (after, chunk, error))
        return FALSE;
    }
  }
  return TRUE;
}

gboolean
latent_after_set_timbre_point (LatentAfter *after, const float *values, int n,
    gboolean on_map, GError **error)
{
  if (on_map)
    return latent_after_set_timbre_from_map (after, n > 0 ? values[0] : 0.0f,
        n > 1 ? values[1] : 0.0f, error);
  latent_after_set_timbre (after, values, n);
  return TRUE;
}

void
latent_after_mean_add (LatentAfterMean *mean, const float *frames, gsize n, int stride,
    int channels)
{
  mean->channels = MIN (channels, LATENT_AFTER_MAX_TIMBRE);
  for (gsize f = 0; f < n; f++) {
    for (int c = 0; c < mean->channels; c++) {
      const float v = frames[f * stride + c];
      mean->sum[c] += isfinite (v) ? v : 0.0f;
    }
  }
  mean->frames += n;
}

int
latent_after_mean_take (LatentAfterMean *mean, float *values)
{
  if (mean->frames == 0)
    return 0;
  const int channels = mean->channels;
  for (int c = 0; c < channels; c++)
    values[c] = (float) (mean->sum[c] / mean->frames);
  memset (mean, 0, sizeof *mean);
  return channels;
}

void
latent_voices_write_frames (LatentVoices *voices, float *planar, int chunk, int *frame,
    int until)
{
  const int values = 2 * latent_voices_get_n_poly (voices);
  float state[2 * LATENT_AFTER_MAX_POLY];
  for (; *frame < MIN (until, chunk); (*frame)++) {
    latent_voices_write (voices, state);
    latent_voices_next_frame (voices);
    for (int c = 0; c < values; c++)
      planar[c * chunk + *frame] = state[c];
  }
}
