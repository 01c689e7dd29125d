/* Block adapter: any input block pattern in, whole model blocks to the model, state carried. */
#include "latent.h"

#include <math.h>
#include <string.h>

struct LatentStream {
  LatentModel *model;
  char *method;
  LatentMethodInfo info;
  int block;       /* input frames per model call */
  int out_block;   /* output frames per model call */
  float *pending;  /* interleaved input waiting for a whole block */
  size_t n_pending;
  float *planar_in;
  float *planar_out;
  float *bias;     /* per input channel, applied before each call */
  float *scale;
};

static int
default_block (const LatentMethodInfo *info)
{
  /* Smallest whole number of model blocks covering >= 2048 audio samples of input. */
  int min_block = latent_method_info_min_block (info);
  int samples_per_block = min_block * info->in_ratio;
  int blocks = samples_per_block >= 2048 ? 1 : (2048 + samples_per_block - 1) / samples_per_block;
  return min_block * blocks;
}

LatentStream *
latent_stream_new (LatentModel *model, const char *method, int block, GError **error)
{
  LatentMethodInfo info;
  if (!latent_model_get_method_info (model, method, &info, error))
    return NULL;
  int min_block = latent_method_info_min_block (&info);
  if (!strcmp (method, "timbre")) {
    /* An AFTER export's timbre answers one chunk per call, whatever its _params say. */
    int chunk_block = latent_after_timbre_block (model, error);
    if (chunk_block < 0)
      return NULL;
    if (chunk_block > 0 && block == 0)
      block = chunk_block;
    else if (chunk_block > 0 && block != chunk_block) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
          "%s: timbre of this AFTER export answers one chunk (%d samples) per call: block must "
          "be %d (or 0, the default), got %d", latent_model_get_path (model), chunk_block,
          chunk_block, block);
      return NULL;
    }
  }
  if (block == 0)
    block = default_block (&info);
  if (block < 0 || block % min_block) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: block of %d frames for %s is not a multiple of %d (its _params ratio %d:%d)",
        latent_model_get_path (model), block, method, min_block, info.in_ratio, info.out_ratio);
    return NULL;
  }
  LatentStream *s = g_new0 (LatentStream, 1);
  s->model = model;
  s->method = g_strdup (method);
  s->info = info;
  s->block = block;
  s->out_block = (int) ((gint64) block * info.in_ratio / info.out_ratio);
  s->pending = g_new0 (float, (gsize) block * info.in_channels);
  s->planar_in = g_new0 (float, (gsize) block * info.in_channels);
  s->planar_out = g_new0 (float, (gsize) s->out_block * info.out_channels);
  s->bias = g_new0 (float, info.in_channels);
  s->scale = g_new (float, info.in_channels);
  for (int c = 0; c < info.in_channels; c++)
    s->scale[c] = 1.0f;
  return s;
}

void
latent_stream_free (LatentStream *s)
{
  if (!s)
    return;
  g_free (s->method);
  g_free (s->pending);
  g_free (s->planar_in);
  g_free (s->planar_out);
  g_free (s->bias);
  g_free (s->scale);
  g_free (s);
}

const LatentMethodInfo *
latent_stream_get_info (const LatentStream *s)
{
  return &s->info;
}

int
latent_stream_get_block (const LatentStream *s)
{
  return s->block;
}

size_t
latent_stream_get_pending (const LatentStream *s)
{
  return s->n_pending;
}

size_t
latent_stream_output_frames (const LatentStream *s, size_t n_in)
{
  return (s->n_pending + n_in) / (size_t) s->block * (size_t) s->out_block;
}

void
latent_stream_set_input_affine (LatentStream *s, const float *bias, const float *scale, int n)
{
  for (int c = 0; c < s->info.in_channels; c++) {
    s->bias[c] = bias && c < n ? bias[c] : 0.0f;
    s->scale[c] = scale && c < n ? scale[c] : 1.0f;
  }
}

/* Runs the model on the full pending block and appends its output, interleaved, to out. */
static gboolean
run_block (LatentStream *s, float *out, GError **error)
{
  const int in_ch = s->info.in_channels, out_ch = s->info.out_channels;
  for (int c = 0; c < in_ch; c++) {
    float *dst = s->planar_in + (size_t) c * s->block;
    const float scale = s->scale[c], bias = s->bias[c];
    for (int t = 0; t < s->block; t++)
      dst[t] = s->pending[(size_t) t * in_ch + c] * scale + bias;
  }
  if (!latent_model_run (s->model, s->method, s->planar_in, s->block, s->planar_out, error))
    return FALSE;
  for (int c = 0; c < out_ch; c++) {
    const float *src = s->planar_out + (size_t) c * s->out_block;
    for (int t = 0; t < s->out_block; t++)
      out[(size_t) t * out_ch + c] = src[t];
  }
  s->n_pending = 0;
  return TRUE;
}

size_t
latent_replace_non_finite (float *samples, size_t n)
{
  size_t replaced = 0;
  for (size_t i = 0; i < n; i++)
    if (!isfinite (samples[i])) {
      samples[i] = 0.0f;
      replaced++;
    }
  return replaced;
}

gboolean
latent_stream_process (LatentStream *s, const float *in, size_t n_in, float *out,
    size_t *n_nonfinite, GError **error)
{
  const int in_ch = s->info.in_channels;
  size_t nonfinite = 0;
  while (n_in > 0) {
    size_t take = MIN (n_in, (size_t) s->block - s->n_pending);
    float *dst = s->pending + s->n_pending * in_ch;
    memcpy (dst, in, sizeof (float) * take * in_ch);
    nonfinite += latent_replace_non_finite (dst, take * in_ch);
    s->n_pending += take;
    in += take * in_ch;
    n_in -= take;
    if (s->n_pending == (size_t) s->block) {
      if (!run_block (s, out, error))
        return FALSE;
      out += (size_t) s->out_block * s->info.out_channels;
    }
  }
  if (n_nonfinite)
    *n_nonfinite = nonfinite;
  return TRUE;
}

gssize
latent_stream_flush (LatentStream *s, float *out, GError **error)
{
  if (s->n_pending == 0)
    return 0;
  memset (s->pending + s->n_pending * s->info.in_channels, 0,
      sizeof (float) * (s->block - s->n_pending) * s->info.in_channels);
  s->n_pending = s->block;
  if (!run_block (s, out, error))
    return -1;
  return s->out_block;
}

gboolean
latent_stream_reset (LatentStream *s, GError **error)
{
  s->n_pending = 0;
  return latent_model_reset (s->model, error);
}
