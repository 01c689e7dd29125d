/* nn_terrain checkpoints (.pt) in and out, through the module archive API of latent.h.
 *
 * Layout (checked against jasper-zheng/nn_terrain src/backend: FourierCPPN registers fc_in_gau,
 * buffers two_pi and B_T, prelu1..4, fc2..fc4, fc_out; FCPPN::save adds m_in_dim, m_out_dim,
 * m_cmax, m_gauss_scale, m_mapping_size with archive.write(), which makes them parameters, not
 * buffers; a gauss scale of 0 registers fc_in_linear and no Fourier buffers). The order below is
 * the order the real files store them in: module parameters, buffers, submodules, then the
 * hyperparameters. */
#include "terrain-private.h"

#include <math.h>
#include <string.h>

static const char *const prelu_names[LATENT_TERRAIN_N_PRELU] = {
  "prelu1.weight", "prelu2.weight", "prelu3.weight", "prelu4.weight",
};
static const char *const layer_names[LATENT_TERRAIN_N_LAYERS] = {
  "fc_in_gau", "fc2", "fc3", "fc4", "fc_out",
};

static const char *
layer_name (const LatentTerrainConfig *config, int layer)
{
  return layer == 0 && config->gauss_scale <= 0.0f ? "fc_in_linear" : layer_names[layer];
}

static const LatentNamedTensor *
find_tensor (GPtrArray *tensors, const char *name)
{
  for (guint i = 0; i < tensors->len; i++) {
    const LatentNamedTensor *t = g_ptr_array_index (tensors, i);
    if (strcmp (t->name, name) == 0)
      return t;
  }
  return NULL;
}

static char *
format_shape (int ndim, const int64_t *shape)
{
  GString *s = g_string_new ("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, i ? "," : "", shape[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static const char *
dtype_name (LatentDType dtype)
{
  return dtype == LATENT_DTYPE_INT64 ? "int64" : "float32";
}

static const LatentNamedTensor *
require_tensor (GPtrArray *tensors, const char *path, const char *name, GError **error)
{
  const LatentNamedTensor *t = find_tensor (tensors, name);
  if (!t)
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
        "%s: not an nn_terrain checkpoint: it has no tensor %s", path, name);
  return t;
}

/* A hyperparameter scalar, stored as int64 (or float32 for the gauss scale) by nn_terrain. */
static gboolean
read_scalar (GPtrArray *tensors, const char *path, const char *name, double *value,
    GError **error)
{
  const LatentNamedTensor *t = require_tensor (tensors, path, name, error);
  if (!t)
    return FALSE;
  if (latent_named_tensor_numel (t) != 1) {
    char *shape = format_shape (t->ndim, t->shape);
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
        "%s: %s is %s, expected a scalar", path, name, shape);
    g_free (shape);
    return FALSE;
  }
  *value = t->dtype == LATENT_DTYPE_INT64 ? (double) *(const int64_t *) t->data
                                          : (double) *(const float *) t->data;
  if (!isfinite (*value)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
        "%s: %s is %g, expected a finite number", path, name, *value);
    return FALSE;
  }
  return TRUE;
}

static gboolean
read_int (GPtrArray *tensors, const char *path, const char *name, int *value, GError **error)
{
  double v;
  if (!read_scalar (tensors, path, name, &v, error))
    return FALSE;
  if (!(v == floor (v) && fabs (v) < G_MAXINT)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
        "%s: %s is %g, expected an integer", path, name, v);
    return FALSE;
  }
  *value = (int) v;
  return TRUE;
}

/* Copies a float32 tensor of exactly the expected shape into dst. */
static gboolean
read_array (GPtrArray *tensors, const char *path, const char *name, int ndim,
    const int64_t *shape, float *dst, GError **error)
{
  const LatentNamedTensor *t = require_tensor (tensors, path, name, error);
  if (!t)
    return FALSE;
  if (t->dtype != LATENT_DTYPE_FLOAT32) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT, "%s: %s is %s, expected float32",
        path, name, dtype_name (t->dtype));
    return FALSE;
  }
  if (t->ndim != ndim || memcmp (t->shape, shape, ndim * sizeof (int64_t)) != 0) {
    char *got = format_shape (t->ndim, t->shape);
    char *want = format_shape (ndim, shape);
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT, "%s: %s is %s, expected %s",
        path, name, got, want);
    g_free (got);
    g_free (want);
    return FALSE;
  }
  gsize n = latent_named_tensor_numel (t);
  const float *src = t->data;
  for (gsize i = 0; i < n; i++)
    if (!isfinite (src[i])) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
          "%s: %s holds a non-finite value at flat index %" G_GSIZE_FORMAT, path, name, i);
      return FALSE;
    }
  memcpy (dst, src, n * sizeof (float));
  return TRUE;
}

static gboolean
read_layers (GPtrArray *tensors, const char *path, LatentTerrain *t, GError **error)
{
  const LatentTerrainConfig *config = &t->config;
  if (config->gauss_scale > 0.0f) {
    double two_pi;
    const int64_t fourier_shape[2] = { config->control_dims, config->features };
    if (!read_scalar (tensors, path, "two_pi", &two_pi, error)
        || !read_array (tensors, path, "B_T", 2, fourier_shape, t->data + t->fourier, error))
      return FALSE;
    t->two_pi = (float) two_pi;
  }
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    const LatentTerrainLayer *layer = &t->layers[l];
    const int64_t weight_shape[2] = { layer->out, layer->in };
    const int64_t bias_shape[1] = { layer->out };
    char *weight = g_strdup_printf ("%s.weight", layer_name (config, l));
    char *bias = g_strdup_printf ("%s.bias", layer_name (config, l));
    gboolean ok = read_array (tensors, path, weight, 2, weight_shape, t->data + layer->weight,
                      error)
        && read_array (tensors, path, bias, 1, bias_shape, t->data + layer->bias, error);
    g_free (weight);
    g_free (bias);
    if (!ok)
      return FALSE;
  }
  const int64_t slope_shape[1] = { 1 };
  for (int i = 0; i < LATENT_TERRAIN_N_PRELU; i++)
    if (!read_array (tensors, path, prelu_names[i], 1, slope_shape, t->data + t->prelu + i,
            error))
      return FALSE;
  return TRUE;
}

/* Finite weights can still overflow (1e30 in one layer): probe the network where it is
 * played, the default picture's box, and refuse a terrain whose outputs are not finite. */
static gboolean
check_outputs_finite (const LatentTerrain *t, const char *path, GError **error)
{
  const int dims = t->config.control_dims;
  float *features = g_new (float, latent_terrain_input_width (&t->config));
  float *hidden = g_new (float, 2 * (gsize) t->config.channels);
  float x[LATENT_TERRAIN_MAX_CONTROL_DIMS] = { 0 }, *y = g_new (float, t->config.latent_dims);
  gboolean ok = TRUE;
  for (int p = 0; ok && p < 9; p++) {
    for (int d = 0; d < dims; d++)
      x[d] = (float) (((p + d) % 3) - 1) * (d == 0 ? 16.0f : 4.0f);
    latent_terrain_features (t, x, 1, features);
    latent_terrain_forward_features (t, features, 1, hidden, y);
    for (int k = 0; ok && k < t->config.latent_dims; k++)
      if (!isfinite (y[k])) {
        g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
            "%s: the network's output %d at (%g, %g) is %g: its weights overflow", path, k,
            x[0], dims > 1 ? x[1] : 0.0, y[k]);
        ok = FALSE;
      }
  }
  g_free (y);
  g_free (hidden);
  g_free (features);
  return ok;
}

LatentTerrain *
latent_terrain_load (const char *path, GError **error)
{
  GPtrArray *tensors = latent_archive_read (path, error);
  if (!tensors)
    return NULL;
  LatentTerrainConfig config;
  double gauss = 0.0;
  LatentTerrain *t = NULL;
  GError *local = NULL;
  if (read_int (tensors, path, "m_in_dim", &config.control_dims, error)
      && read_int (tensors, path, "m_out_dim", &config.latent_dims, error)
      && read_int (tensors, path, "m_cmax", &config.channels, error)
      && read_int (tensors, path, "m_mapping_size", &config.features, error)
      && read_scalar (tensors, path, "m_gauss_scale", &gauss, error)) {
    config.gauss_scale = (float) gauss;
    if (!latent_terrain_config_check (&config, &local)) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT, "%s: %s", path, local->message);
      g_error_free (local);
    } else {
      t = latent_terrain_alloc (&config);
      if (read_layers (tensors, path, t, error)) {
        latent_terrain_sync_transposed (t);
        if (!check_outputs_finite (t, path, error)) {
          latent_terrain_free (t);
          t = NULL;
        }
      } else {
        latent_terrain_free (t);
        t = NULL;
      }
    }
  }
  g_ptr_array_unref (tensors);
  return t;
}

/* ------------------------------------------------------------------ save */

typedef struct {
  LatentNamedTensor tensors[24];
  LatentNamedTensor *pointers[24];
  guint n;
  GPtrArray *names;
} SaveList;

static void
add_tensor (SaveList *list, char *name, LatentDType dtype, int ndim, const int64_t *shape,
    const void *data, gboolean is_buffer)
{
  g_assert (list->n < G_N_ELEMENTS (list->tensors));
  LatentNamedTensor *t = &list->tensors[list->n];
  g_ptr_array_add (list->names, name);
  t->name = name;
  t->dtype = dtype;
  t->ndim = ndim;
  memcpy (t->shape, shape, ndim * sizeof (int64_t));
  t->data = (void *) data; /* read only: the writer copies */
  t->is_buffer = is_buffer;
  list->pointers[list->n] = t;
  list->n++;
}

gboolean
latent_terrain_save (const LatentTerrain *terrain, const char *path, GError **error)
{
  const LatentTerrainConfig *config = &terrain->config;
  const float *d = terrain->data;
  SaveList list = { .n = 0, .names = g_ptr_array_new_with_free_func (g_free) };
  const int64_t scalar_shape[1] = { 0 };
  if (config->gauss_scale > 0.0f) {
    const int64_t fourier_shape[2] = { config->control_dims, config->features };
    add_tensor (&list, g_strdup ("two_pi"), LATENT_DTYPE_FLOAT32, 0, scalar_shape,
        &terrain->two_pi, TRUE);
    add_tensor (&list, g_strdup ("B_T"), LATENT_DTYPE_FLOAT32, 2, fourier_shape,
        d + terrain->fourier, TRUE);
  }
  const int64_t slope_shape[1] = { 1 };
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    const LatentTerrainLayer *layer = &terrain->layers[l];
    const int64_t weight_shape[2] = { layer->out, layer->in };
    const int64_t bias_shape[1] = { layer->out };
    add_tensor (&list, g_strdup_printf ("%s.weight", layer_name (config, l)),
        LATENT_DTYPE_FLOAT32, 2, weight_shape, d + layer->weight, FALSE);
    add_tensor (&list, g_strdup_printf ("%s.bias", layer_name (config, l)),
        LATENT_DTYPE_FLOAT32, 1, bias_shape, d + layer->bias, FALSE);
    if (l < LATENT_TERRAIN_N_PRELU)
      add_tensor (&list, g_strdup (prelu_names[l]), LATENT_DTYPE_FLOAT32, 1, slope_shape,
          d + terrain->prelu + l, FALSE);
  }
  const int64_t hyper[4] = { config->control_dims, config->latent_dims, config->channels,
    config->features };
  add_tensor (&list, g_strdup ("m_in_dim"), LATENT_DTYPE_INT64, 0, scalar_shape, &hyper[0],
      FALSE);
  add_tensor (&list, g_strdup ("m_out_dim"), LATENT_DTYPE_INT64, 0, scalar_shape, &hyper[1],
      FALSE);
  add_tensor (&list, g_strdup ("m_cmax"), LATENT_DTYPE_INT64, 0, scalar_shape, &hyper[2],
      FALSE);
  add_tensor (&list, g_strdup ("m_gauss_scale"), LATENT_DTYPE_FLOAT32, 0, scalar_shape,
      &config->gauss_scale, FALSE);
  add_tensor (&list, g_strdup ("m_mapping_size"), LATENT_DTYPE_INT64, 0, scalar_shape,
      &hyper[3], FALSE);
  gboolean ok = latent_archive_write (path, list.pointers, list.n, error);
  g_ptr_array_unref (list.names);
  return ok;
}
