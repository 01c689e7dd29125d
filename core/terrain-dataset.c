/* Training data of a terrain: fragments of coordinate/latent pairs, and path resampling. */
#include "terrain-private.h"

#include <math.h>
#include <string.h>

typedef struct {
  gsize n_frames;
  float *coordinates; /* [n_frames][control_dims] */
  float *latents;     /* [n_frames][latent_dims] */
} Fragment;

struct LatentTerrainDataset {
  int control_dims;
  int latent_dims;
  GArray *fragments; /* of Fragment */
  gsize n_pairs;
};

static void
fragment_clear (gpointer data)
{
  Fragment *f = data;
  g_free (f->coordinates);
  g_free (f->latents);
}

LatentTerrainDataset *
latent_terrain_dataset_new (int control_dims, int latent_dims)
{
  g_return_val_if_fail (control_dims >= 1 && latent_dims >= 1, NULL);
  LatentTerrainDataset *ds = g_new0 (LatentTerrainDataset, 1);
  ds->control_dims = control_dims;
  ds->latent_dims = latent_dims;
  ds->fragments = g_array_new (FALSE, TRUE, sizeof (Fragment));
  g_array_set_clear_func (ds->fragments, fragment_clear);
  return ds;
}

void
latent_terrain_dataset_free (LatentTerrainDataset *dataset)
{
  if (!dataset)
    return;
  g_array_unref (dataset->fragments);
  g_free (dataset);
}

int
latent_terrain_dataset_get_control_dims (const LatentTerrainDataset *dataset)
{
  return dataset->control_dims;
}

int
latent_terrain_dataset_get_latent_dims (const LatentTerrainDataset *dataset)
{
  return dataset->latent_dims;
}

guint
latent_terrain_dataset_get_n_fragments (const LatentTerrainDataset *dataset)
{
  return dataset->fragments->len;
}

gsize
latent_terrain_dataset_get_n_pairs (const LatentTerrainDataset *dataset)
{
  return dataset->n_pairs;
}

void
latent_terrain_dataset_get_fragment (const LatentTerrainDataset *dataset, guint index,
    gsize *n_frames, const float **coordinates, const float **latents)
{
  g_return_if_fail (index < dataset->fragments->len);
  const Fragment *f = &g_array_index (dataset->fragments, Fragment, index);
  if (n_frames)
    *n_frames = f->n_frames;
  if (coordinates)
    *coordinates = f->coordinates;
  if (latents)
    *latents = f->latents;
}

void
latent_terrain_dataset_add_fragment (LatentTerrainDataset *dataset, const float *coordinates,
    const float *latents, gsize n_frames)
{
  Fragment f = {
    .n_frames = n_frames,
    .coordinates = g_memdup2 (coordinates, n_frames * dataset->control_dims * sizeof (float)),
    .latents = g_memdup2 (latents, n_frames * dataset->latent_dims * sizeof (float)),
  };
  g_array_append_val (dataset->fragments, f);
  dataset->n_pairs += n_frames;
}

void
latent_terrain_dataset_add_point (LatentTerrainDataset *dataset, const float *coordinate,
    const float *latent)
{
  latent_terrain_dataset_add_fragment (dataset, coordinate, latent, 1);
}

void
latent_terrain_resample_polyline (const float *polyline, gsize n_vertices, int dims,
    float *out, gsize n_points)
{
  g_return_if_fail (n_vertices >= 1);
  /* Cumulative arc length at each vertex. */
  double *along = g_new (double, n_vertices);
  along[0] = 0.0;
  for (gsize v = 1; v < n_vertices; v++) {
    double sq = 0.0;
    for (int d = 0; d < dims; d++) {
      double delta = (double) polyline[v * dims + d] - polyline[(v - 1) * dims + d];
      sq += delta * delta;
    }
    along[v] = along[v - 1] + sqrt (sq);
  }
  double total = along[n_vertices - 1];
  gsize segment = 0;
  for (gsize k = 0; k < n_points; k++) {
    float *point = out + k * dims;
    if (k + 1 == n_points && n_points > 1) {
      memcpy (point, polyline + (n_vertices - 1) * dims, dims * sizeof (float));
      break;
    }
    double target = n_points > 1 ? total * (double) k / (double) (n_points - 1) : 0.0;
    while (segment + 2 < n_vertices && along[segment + 1] < target)
      segment++;
    if (n_vertices == 1) {
      memcpy (point, polyline, dims * sizeof (float));
      continue;
    }
    double length = along[segment + 1] - along[segment];
    double t = length > 0.0 ? (target - along[segment]) / length : 0.0;
    t = CLAMP (t, 0.0, 1.0);
    const float *a = polyline + segment * dims;
    const float *b = a + dims;
    for (int d = 0; d < dims; d++)
      point[d] = (float) (a[d] + t * ((double) b[d] - a[d]));
  }
  g_free (along);
}

gboolean
latent_terrain_dataset_add_trajectory (LatentTerrainDataset *dataset, const float *polyline,
    gsize n_vertices, const float *latents, gsize n_frames, GError **error)
{
  if (n_vertices == 0 || n_frames == 0) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "a trajectory needs at least one vertex and one latent frame (got %" G_GSIZE_FORMAT
        " vertices, %" G_GSIZE_FORMAT " frames)", n_vertices, n_frames);
    return FALSE;
  }
  for (gsize i = 0; i < n_vertices * dataset->control_dims; i++)
    if (!isfinite (polyline[i])) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
          "trajectory vertex %" G_GSIZE_FORMAT " is not finite", i / dataset->control_dims);
      return FALSE;
    }
  float *path = g_new (float, n_frames * dataset->control_dims);
  latent_terrain_resample_polyline (polyline, n_vertices, dataset->control_dims, path,
      n_frames);
  latent_terrain_dataset_add_fragment (dataset, path, latents, n_frames);
  g_free (path);
  return TRUE;
}
