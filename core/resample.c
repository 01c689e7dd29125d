/* Fixed-ratio streaming sample-rate conversion over libsamplerate (latent-resample.h). Audio
 * channels: one sinc converter for all of them; hold channels: one zero-order-hold converter.
 * The two run ahead of each other by a few frames, so each fills its own queue and a frame
 * leaves when both have it. */
#include "latent.h"

#include <math.h>
#include <samplerate.h>
#include <string.h>

#define PROBE_FRAMES 8192

typedef struct {
  SRC_STATE *src;
  int channels;
  int *map;    /* channel i of this group is channel map[i] of the frame */
  float *in;   /* [max_in][channels] */
  float *q;    /* [cap][channels]: converted, not yet left */
  int fill;
  gboolean dummy; /* no channel of the frame: one silent channel, for the timing only */
} Group;

struct LatentResampler {
  int channels;
  double ratio;
  int max_in, max_out, cap, lag;
  Group group[2]; /* 0: sinc (audio), 1: zero-order hold; a group without channels is unused */
};

static const int kind[2] = { SRC_SINC_MEDIUM_QUALITY, SRC_ZERO_ORDER_HOLD };

static void
group_clear (Group *g)
{
  if (g->src)
    src_delete (g->src);
  g_free (g->map);
  g_free (g->in);
  g_free (g->q);
  memset (g, 0, sizeof *g);
}

/* Converts g->in's n frames into the queue's tail; returns frames added. */
static int
group_run (Group *g, double ratio, int n, int cap)
{
  int added = 0;
  long pos = 0;
  for (int guard = 0; guard < 64; guard++) {
    SRC_DATA d = { 0 };
    d.data_in = g->in + (size_t) pos * g->channels;
    d.input_frames = n - pos;
    d.data_out = g->q + (size_t) g->fill * g->channels;
    d.output_frames = cap - g->fill;
    d.src_ratio = ratio;
    if (src_process (g->src, &d) != 0)
      break;
    pos += d.input_frames_used;
    g->fill += (int) d.output_frames_gen;
    added += (int) d.output_frames_gen;
    if (pos >= n || (d.input_frames_used == 0 && d.output_frames_gen == 0))
      break;
  }
  return added;
}

/* Frames the converter of `type` trails ceil(N * ratio) at most, fed one frame at a time. */
static int
probe_lag (int type, double ratio)
{
  int err = 0;
  SRC_STATE *src = src_new (type, 1, &err);
  if (!src)
    return 0;
  float zero = 0.0f, out[1024];
  int64_t made = 0;
  int lag = 0;
  for (int n = 1; n <= PROBE_FRAMES; n++) {
    SRC_DATA d = { .data_in = &zero, .input_frames = 1, .data_out = out,
      .output_frames = G_N_ELEMENTS (out), .src_ratio = ratio };
    if (src_process (src, &d) != 0)
      break;
    made += d.output_frames_gen;
    lag = MAX (lag, (int) (ceil (n * ratio - 1e-9) - made));
  }
  src_delete (src);
  return lag;
}

LatentResampler *
latent_resampler_new (double rate_in, double rate_out, int channels, uint64_t hold_mask,
    int max_in, GError **error)
{
  double ratio = rate_out / rate_in;
  if (!(rate_in > 0 && rate_out > 0) || !src_is_valid_ratio (ratio) || channels < 1
      || channels > 64 || max_in < 1) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "cannot resample %d channel(s) from %.0f Hz to %.0f Hz (libsamplerate converts "
        "ratios from 1/256 to 256)", channels, rate_in, rate_out);
    return NULL;
  }
  LatentResampler *rs = g_new0 (LatentResampler, 1);
  rs->channels = channels;
  rs->ratio = ratio;
  rs->max_in = max_in;
  int counts[2] = { 0, 0 };
  for (int c = 0; c < channels; c++)
    counts[(hold_mask >> c) & 1]++;
  for (int k = 0; k < 2; k++) {
    if (counts[k] == 0 && k == 1)
      continue;
    rs->lag = MAX (rs->lag, probe_lag (kind[k], ratio) + 1);
  }
  /* Each queue may hold one call's output plus what it ran ahead of the other. */
  rs->cap = (int) ceil (max_in * ratio) + 2 * rs->lag + 64;
  rs->max_out = rs->cap;
  for (int k = 0; k < 2; k++) {
    Group *g = &rs->group[k];
    if (counts[k] == 0 && k == 1)
      continue;
    g->dummy = counts[k] == 0; /* sinc timing even with hold channels only */
    g->channels = g->dummy ? 1 : counts[k];
    g->map = g_new0 (int, g->channels);
    for (int c = 0, i = 0; c < channels && !g->dummy; c++)
      if ((int) ((hold_mask >> c) & 1) == k)
        g->map[i++] = c;
    int err = 0;
    g->src = src_new (kind[k], g->channels, &err);
    if (!g->src) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "libsamplerate: %s",
          src_strerror (err));
      latent_resampler_free (rs);
      return NULL;
    }
    g->in = g_new0 (float, (size_t) max_in * g->channels);
    g->q = g_new0 (float, (size_t) rs->cap * g->channels);
  }
  return rs;
}

void
latent_resampler_free (LatentResampler *rs)
{
  if (!rs)
    return;
  group_clear (&rs->group[0]);
  group_clear (&rs->group[1]);
  g_free (rs);
}

void
latent_resampler_reset (LatentResampler *rs)
{
  for (int k = 0; k < 2; k++)
    if (rs->group[k].src) {
      src_reset (rs->group[k].src);
      rs->group[k].fill = 0;
    }
}

int
latent_resampler_process (LatentResampler *rs, const float *in, int n_in, float *out)
{
  n_in = CLAMP (n_in, 0, rs->max_in);
  int ready = G_MAXINT;
  for (int k = 0; k < 2; k++) {
    Group *g = &rs->group[k];
    if (!g->src)
      continue;
    if (g->dummy)
      memset (g->in, 0, sizeof (float) * n_in);
    else
      for (int t = 0; t < n_in; t++)
        for (int i = 0; i < g->channels; i++) {
          float v = in[(size_t) t * rs->channels + g->map[i]];
          g->in[(size_t) t * g->channels + i] = isfinite (v) ? v : 0.0f;
        }
    group_run (g, rs->ratio, n_in, rs->cap);
    ready = MIN (ready, g->fill);
  }
  ready = MIN (ready, rs->max_out);
  for (int k = 0; k < 2; k++) {
    Group *g = &rs->group[k];
    if (!g->src)
      continue;
    if (!g->dummy)
      for (int t = 0; t < ready; t++)
        for (int i = 0; i < g->channels; i++)
          out[(size_t) t * rs->channels + g->map[i]] = g->q[(size_t) t * g->channels + i];
    g->fill -= ready;
    memmove (g->q, g->q + (size_t) ready * g->channels, sizeof (float) * g->fill * g->channels);
  }
  return ready;
}

int
latent_resampler_get_max_out (const LatentResampler *rs)
{
  return rs->max_out;
}

int
latent_resampler_get_lag (const LatentResampler *rs)
{
  return rs->lag;
}

double
latent_resampler_get_ratio (const LatentResampler *rs)
{
  return rs->ratio;
}
