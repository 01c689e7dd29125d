/* Control coordinates for latent frames: the one rule every terrain caller uses (see
 * latent-terrain.h). Real-time safe: no allocation, works on the caller's buffers. */
#include "latent.h"

#include <math.h>
#include <string.h>

double
latent_terrain_frame_centre (guint64 frame, int ratio, int frame_rate, int sample_rate)
{
  /* (2k+1) * R * r / (2 * SR) as whole samples plus a fraction: in integers the whole part
   * stays exact however long the stream (a double holds the product exactly only below 2^53:
   * about three weeks of RAVE frames, ratio 2048, driven by coordinates at 48 kHz), so a
   * centre on a sample reads that sample. */
  const guint64 numerator = (2 * frame + 1) * (guint64) ratio * (guint64) sample_rate;
  const guint64 denominator = 2 * (guint64) frame_rate;
  return (double) (numerator / denominator)
      + (double) (numerator % denominator) / (double) denominator;
}

static const float *
signal_row (const LatentControlSignal *signal, gssize index)
{
  return index < 0 ? signal->previous : signal->values + (gsize) index * signal->dims;
}

static double
signal_time (const LatentControlSignal *signal, gssize index)
{
  return signal->times ? signal->times[index] : (double) index;
}

/* Blends two samples; a non-finite coordinate plays the origin (nothing non-finite reaches a
 * terrain or a dataset). */
static void
blend (const float *a, const float *b, double weight, int dims, float *out)
{
  for (int d = 0; d < dims; d++) {
    const double value = a[d] + weight * ((double) b[d] - a[d]);
    out[d] = isfinite (value) ? (float) value : 0.0f;
  }
}

/* The sample at or before `time` among [low, high) (time lies inside their span). */
static gssize
sample_before (const LatentControlSignal *signal, double time, gssize low, gssize high,
    gsize *cursor)
{
  if (!signal->times)
    return MIN ((gssize) floor (time), high - 1);
  gssize i = cursor && (gssize) *cursor > low && (gssize) *cursor < high ? (gssize) *cursor : low;
  if (signal->times[i] > time)
    i = low; /* centres went back: search again from the start */
  while (i + 1 < high && signal->times[i + 1] <= time)
    i++;
  if (cursor)
    *cursor = (gsize) i;
  return i;
}

void
latent_terrain_sample_control (const LatentControlSignal *signal, double time, gsize *cursor,
    float *out)
{
  /* `previous` only means something on a uniform stream: it stands at time -1. */
  const gssize first = signal->previous && !signal->times ? -1 : 0;
  const gssize last = (gssize) signal->n - 1;
  if (last < first) {
    memset (out, 0, sizeof (float) * signal->dims);
    return;
  }
  if (last == first || !(time > signal_time (signal, first))) {
    blend (signal_row (signal, first), signal_row (signal, first), 0.0, signal->dims, out);
    return;
  }
  if (time >= signal_time (signal, last)) {
    blend (signal_row (signal, last), signal_row (signal, last), 0.0, signal->dims, out);
    return;
  }
  const gssize i = sample_before (signal, time, first, last, cursor);
  const double span = signal_time (signal, i + 1) - signal_time (signal, i);
  const double weight = span > 0.0 ? (time - signal_time (signal, i)) / span : 0.0;
  blend (signal_row (signal, i), signal_row (signal, i + 1), weight, signal->dims, out);
}
