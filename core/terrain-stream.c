/* A terrain played through a decoder on a LatentRtStream's worker
 * (latent_rt_terrain_stream_open, latent-rt.h): urn:latent:terrain's inference.
 * terrain_decoder_process runs on the worker thread only, never on the audio thread. */
#include "latent.h"

#include <math.h>

/* The worker's state: the terrain, the decoder and their buffers (allocated at load). */
typedef struct {
  LatentTerrain *terrain;
  LatentTerrainWorkspace *workspace;
  LatentModel *model;
  int ratio, latent_dims, control_dims, out_channels;
  float *latents; /* planar [latent_dims][frames] */
  float *audio;   /* planar [out_channels][block] */
} TerrainDecoder;

static void
terrain_decoder_free (gpointer data)
{
  TerrainDecoder *v = data;
  latent_terrain_free (v->terrain);
  latent_terrain_workspace_free (v->workspace);
  if (v->model)
    latent_model_free (v->model);
  g_free (v->latents);
  g_free (v->audio);
  g_free (v);
}

/* Worker thread: coordinates [block][2] -> audio [block][1]. */
static gboolean
terrain_decoder_process (gpointer data, const float *in, float *out, int block, GError **error)
{
  TerrainDecoder *v = data;
  int frames = block / v->ratio;
  float x[LATENT_TERRAIN_MAX_CONTROL_DIMS] = { 0 };
  float z[LATENT_TERRAIN_MAX_LATENT_DIMS];
  /* x, y at each frame's centre (the core rule, as terrainplay); 1-dim terrains take x. */
  const LatentControlSignal xy = { .values = in, .n = (gsize) frames * v->ratio, .dims = 2 };
  for (int f = 0; f < frames; f++) {
    float at_centre[2];
    latent_terrain_sample_control (&xy, latent_terrain_frame_centre (f, v->ratio, 1, 1), NULL,
        at_centre);
    x[0] = at_centre[0];
    if (v->control_dims > 1)
      x[1] = at_centre[1];
    latent_terrain_forward (v->terrain, x, z, v->workspace);
    for (int d = 0; d < v->latent_dims; d++)
      v->latents[(gsize) d * frames + f] = z[d];
  }
  if (!latent_model_run (v->model, "decode", v->latents, frames, v->audio, error))
    return FALSE;
  for (int t = 0; t < block; t++) {
    float s = 0;
    for (int c = 0; c < v->out_channels; c++)
      s += v->audio[(gsize) c * block + t];
    out[t] = s / (float) v->out_channels;
  }
  return TRUE;
}

static gboolean
terrain_decoder_reset (gpointer data, GError **error)
{
  TerrainDecoder *v = data;
  return latent_model_reset (v->model, error);
}

static void
terrain_decoder_set_threads (gpointer data, int threads)
{
  latent_model_set_threads (((TerrainDecoder *) data)->model, threads);
}

LatentRtStream *
latent_rt_terrain_stream_open (const char *terrain_path, const char *model_path, double rate,
    int max_host_block, int threads, LatentRtLatency latency, int margin_hint, GError **error)
{
  LatentTerrain *terrain = latent_terrain_load (terrain_path, error);
  if (!terrain)
    return NULL;
  const LatentTerrainConfig *tc = latent_terrain_get_config (terrain);
  /* Core's recipe (latent-rt.h, "Opening a model for streaming"): open, check decode, pick
   * the block (one latent frame in low latency, the fewest covering 2048 samples in safe),
   * warm up. */
  static const char *const decode[] = { "decode", NULL };
  LatentOpenRequest request = {
    .path = model_path, .methods = decode, .threads = threads, .latency = latency,
  };
  LatentOpenedModel opened;
  if (!latent_open_for_streaming (&request, &opened, error)) {
    latent_terrain_free (terrain);
    return NULL;
  }
  TerrainDecoder *v = g_new0 (TerrainDecoder, 1);
  v->terrain = terrain;
  v->model = opened.model;
  const LatentMethodInfo info = opened.info;
  if (info.in_channels != tc->latent_dims) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: the terrain gives %d latent dims but the decoder %s takes %d in decode",
        terrain_path, tc->latent_dims, model_path, info.in_channels);
    goto fail;
  }
  if (info.out_ratio != 1 || info.in_ratio < 1 || info.out_channels < 1) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: decode_params [%d, %d, %d, %d] do not turn latents into audio", model_path,
        info.in_channels, info.in_ratio, info.out_channels, info.out_ratio);
    goto fail;
  }
  v->ratio = info.in_ratio;
  v->latent_dims = tc->latent_dims;
  v->control_dims = tc->control_dims;
  v->out_channels = info.out_channels;
  const int frames = opened.block, block = frames * v->ratio;
  v->workspace = latent_terrain_workspace_new (tc);
  v->latents = g_new0 (float, (gsize) v->latent_dims * frames);
  v->audio = g_new0 (float, (gsize) v->out_channels * block);

  LatentRtProcessor processor = {
    .block = block, .in_channels = 2, .out_channels = 1,
    .process = terrain_decoder_process, .reset = terrain_decoder_reset,
    .set_threads = terrain_decoder_set_threads, .user_data = v, .destroy = terrain_decoder_free, .model = v->model,
  };
  /* A decoder at another rate: the worker resamples, x and y held (no overshoot). */
  LatentRtConfig config = {
    .max_host_block = max_host_block, .rate = rate, .threads = threads,
    .model_rate = opened.sample_rate, .hold_channels = 0x3, .latency = latency,
    .margin_hint = margin_hint,
  };
  return latent_rt_stream_new_custom (&processor, &config, error); /* frees v on failure */

fail:
  terrain_decoder_free (v);
  return NULL;
}
