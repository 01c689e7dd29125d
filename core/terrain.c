/* The terrain network: layout, initialisation, forward pass (one point and batches). */
#include "terrain-private.h"

#include <math.h>
#include <string.h>

/* Rows per chunk in batch inference: activations of a chunk stay in L2. */
#define BATCH_CHUNK 64

void
latent_terrain_config_init (LatentTerrainConfig *config)
{
  config->control_dims = 2;
  config->latent_dims = 8;
  config->channels = 128;
  config->features = 256;
  config->gauss_scale = 0.1f;
}

gboolean
latent_terrain_config_check (const LatentTerrainConfig *config, GError **error)
{
  const char *field = NULL;
  int value = 0, max = 0;
  if (config->control_dims < 1 || config->control_dims > LATENT_TERRAIN_MAX_CONTROL_DIMS)
    field = "control dims", value = config->control_dims, max = LATENT_TERRAIN_MAX_CONTROL_DIMS;
  else if (config->latent_dims < 1 || config->latent_dims > LATENT_TERRAIN_MAX_LATENT_DIMS)
    field = "latent dims", value = config->latent_dims, max = LATENT_TERRAIN_MAX_LATENT_DIMS;
  else if (config->channels < 1 || config->channels > LATENT_TERRAIN_MAX_CHANNELS)
    field = "channels", value = config->channels, max = LATENT_TERRAIN_MAX_CHANNELS;
  else if (config->features < 1 || config->features > LATENT_TERRAIN_MAX_FEATURES)
    field = "features", value = config->features, max = LATENT_TERRAIN_MAX_FEATURES;
  if (field) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "terrain %s is %d, must be between 1 and %d", field, value, max);
    return FALSE;
  }
  if (!isfinite (config->gauss_scale) || config->gauss_scale < 0.0f
      || config->gauss_scale > 10.0f) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "terrain gauss scale is %g, must be between 0 and 10", config->gauss_scale);
    return FALSE;
  }
  return TRUE;
}

gboolean
latent_terrain_config_equal (const LatentTerrainConfig *a, const LatentTerrainConfig *b)
{
  return a->control_dims == b->control_dims && a->latent_dims == b->latent_dims
      && a->channels == b->channels && a->features == b->features
      && a->gauss_scale == b->gauss_scale;
}

/* Hands out float offsets rounded up to 16 floats (64 bytes) so every array starts aligned. */
static gsize
take (gsize *cursor, gsize n)
{
  gsize at = *cursor;
  *cursor += (n + 15) & ~(gsize) 15;
  return at;
}

LatentTerrain *
latent_terrain_alloc (const LatentTerrainConfig *config)
{
  LatentTerrain *t = g_new0 (LatentTerrain, 1);
  t->config = *config;
  int c = config->channels;
  int ins[LATENT_TERRAIN_N_LAYERS] = { latent_terrain_input_width (config), c, c, c, c };
  int outs[LATENT_TERRAIN_N_LAYERS] = { c, c, c, c, config->latent_dims };
  gsize cursor = 0;
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    LatentTerrainLayer *layer = &t->layers[l];
    layer->in = ins[l];
    layer->out = outs[l];
    layer->weight_t = take (&cursor, (gsize) ins[l] * outs[l]);
    layer->bias = take (&cursor, outs[l]);
    t->n_params += (gsize) ins[l] * outs[l] + outs[l];
  }
  t->prelu = take (&cursor, LATENT_TERRAIN_N_PRELU);
  t->n_params += LATENT_TERRAIN_N_PRELU;
  t->n_trainable = cursor;
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++)
    t->layers[l].weight = take (&cursor, (gsize) ins[l] * outs[l]);
  t->fourier = take (&cursor,
      config->gauss_scale > 0.0f ? (gsize) config->control_dims * config->features : 0);
  t->n_floats = cursor;
  t->two_pi = (float) (2.0 * G_PI);
  t->data = g_aligned_alloc0 (t->n_floats, sizeof (float), 64);
  return t;
}

LatentTerrain *
latent_terrain_new (const LatentTerrainConfig *config, guint64 seed, GError **error)
{
  if (!latent_terrain_config_check (config, error))
    return NULL;
  LatentTerrain *t = latent_terrain_alloc (config);
  LatentRandom random;
  latent_random_init (&random, seed);
  if (config->gauss_scale > 0.0f) {
    float *b = t->data + t->fourier;
    for (gsize i = 0; i < (gsize) config->control_dims * config->features; i++)
      b[i] = (float) (latent_random_normal (&random) * config->gauss_scale);
  }
  /* torch.nn.Linear's default: kaiming_uniform(a=sqrt(5)) = U(+-1/sqrt(fan_in)), bias alike. */
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    LatentTerrainLayer *layer = &t->layers[l];
    double bound = 1.0 / sqrt ((double) layer->in);
    float *w = t->data + layer->weight;
    for (gsize i = 0; i < (gsize) layer->in * layer->out; i++)
      w[i] = (float) ((2.0 * latent_random_uniform (&random) - 1.0) * bound);
    float *bias = t->data + layer->bias;
    for (int i = 0; i < layer->out; i++)
      bias[i] = (float) ((2.0 * latent_random_uniform (&random) - 1.0) * bound);
  }
  for (int i = 0; i < LATENT_TERRAIN_N_PRELU; i++)
    t->data[t->prelu + i] = 0.25f; /* torch.nn.PReLU's default slope */
  latent_terrain_sync_transposed (t);
  return t;
}

LatentTerrain *
latent_terrain_copy (const LatentTerrain *terrain)
{
  LatentTerrain *copy = g_memdup2 (terrain, sizeof *terrain);
  copy->data = g_aligned_alloc (terrain->n_floats, sizeof (float), 64);
  memcpy (copy->data, terrain->data, terrain->n_floats * sizeof (float));
  return copy;
}

void
latent_terrain_free (LatentTerrain *terrain)
{
  if (!terrain)
    return;
  g_aligned_free (terrain->data);
  g_free (terrain);
}

const LatentTerrainConfig *
latent_terrain_get_config (const LatentTerrain *terrain)
{
  return &terrain->config;
}

gsize
latent_terrain_get_param_count (const LatentTerrain *terrain)
{
  return terrain->n_params;
}

void
latent_terrain_sync_layout (LatentTerrain *terrain, int first_layer)
{
  for (int l = first_layer; l < LATENT_TERRAIN_N_LAYERS; l++) {
    const LatentTerrainLayer *layer = &terrain->layers[l];
    latent_transpose (terrain->data + layer->weight_t, layer->in, layer->out,
        terrain->data + layer->weight);
  }
}

void
latent_terrain_sync_transposed (LatentTerrain *terrain)
{
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    const LatentTerrainLayer *layer = &terrain->layers[l];
    latent_transpose (terrain->data + layer->weight, layer->out, layer->in,
        terrain->data + layer->weight_t);
  }
}

/* ------------------------------------------------------------ forward */

void
latent_terrain_features (const LatentTerrain *terrain, const float *x, gsize n, float *out)
{
  const LatentTerrainConfig *config = &terrain->config;
  int dims = config->control_dims;
  if (config->gauss_scale <= 0.0f) {
    memcpy (out, x, n * dims * sizeof (float));
    return;
  }
  int m = config->features;
  const float *b = terrain->data + terrain->fourier;
  for (gsize i = 0; i < n; i++) {
    float *h = out + i * 2 * m;
    /* h = (two_pi * x) @ B_T, in float and in the order torch evaluates it. */
    for (int k = 0; k < m; k++)
      h[k] = 0.0f;
    for (int d = 0; d < dims; d++) {
      float s = terrain->two_pi * x[i * dims + d];
      const float *row = b + (gsize) d * m;
      for (int k = 0; k < m; k++)
        h[k] += s * row[k];
    }
    /* [sin h, cos h]: sin first (nn_terrain's torch::cat({x.sin(), x.cos()}, 1)). */
    for (int k = 0; k < m; k++) {
      float s, c;
      sincosf (h[k], &s, &c);
      h[k] = s;
      h[m + k] = c;
    }
  }
}

void
latent_terrain_forward_features (const LatentTerrain *terrain, const float *features,
    gsize n, float *hidden, float *out)
{
  const float *d = terrain->data;
  int c = terrain->config.channels;
  float *buffers[2] = { hidden, hidden + n * c };
  const float *input = features;
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    const LatentTerrainLayer *layer = &terrain->layers[l];
    gboolean last = l == LATENT_TERRAIN_N_LAYERS - 1;
    float *output = last ? out : buffers[l % 2];
    latent_gemm (n, layer->out, layer->in, input, layer->in, 1,
        d + layer->weight_t, layer->out, output, layer->out, d + layer->bias, FALSE);
    if (!last)
      latent_prelu (output, n * layer->out, d[terrain->prelu + l]);
    input = output;
  }
}

struct LatentTerrainWorkspace {
  int input_width; /* capacity of features */
  int channels;    /* capacity of each hidden buffer */
  float *features;
  float *hidden;
};

LatentTerrainWorkspace *
latent_terrain_workspace_new (const LatentTerrainConfig *config)
{
  LatentTerrainWorkspace *ws = g_new0 (LatentTerrainWorkspace, 1);
  ws->input_width = latent_terrain_input_width (config);
  ws->channels = config->channels;
  ws->features = g_aligned_alloc0 (ws->input_width, sizeof (float), 64);
  ws->hidden = g_aligned_alloc0 (2 * (gsize) ws->channels, sizeof (float), 64);
  return ws;
}

void
latent_terrain_workspace_free (LatentTerrainWorkspace *workspace)
{
  if (!workspace)
    return;
  g_aligned_free (workspace->features);
  g_aligned_free (workspace->hidden);
  g_free (workspace);
}

gboolean
latent_terrain_workspace_fits (const LatentTerrainWorkspace *workspace,
    const LatentTerrainConfig *config)
{
  return workspace->input_width >= latent_terrain_input_width (config)
      && workspace->channels >= config->channels;
}

gboolean
latent_terrain_forward (const LatentTerrain *terrain, const float *x, float *out,
    LatentTerrainWorkspace *workspace)
{
  if (!latent_terrain_workspace_fits (workspace, &terrain->config))
    return FALSE;
  latent_terrain_features (terrain, x, 1, workspace->features);
  latent_terrain_forward_features (terrain, workspace->features, 1, workspace->hidden, out);
  latent_replace_non_finite (out, terrain->config.latent_dims);
  return TRUE;
}

void
latent_terrain_forward_batch (const LatentTerrain *terrain, const float *x, gsize n,
    float *out)
{
  const LatentTerrainConfig *config = &terrain->config;
  gsize width = latent_terrain_input_width (config);
  float *features = g_aligned_alloc (BATCH_CHUNK * width, sizeof (float), 64);
  float *hidden = g_aligned_alloc (2 * BATCH_CHUNK * (gsize) config->channels, sizeof (float),
      64);
  for (gsize i = 0; i < n; i += BATCH_CHUNK) {
    gsize rows = MIN (BATCH_CHUNK, n - i);
    latent_terrain_features (terrain, x + i * config->control_dims, rows, features);
    latent_terrain_forward_features (terrain, features, rows, hidden,
        out + i * config->latent_dims);
  }
  latent_replace_non_finite (out, n * config->latent_dims);
  g_aligned_free (features);
  g_aligned_free (hidden);
}
