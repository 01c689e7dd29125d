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

/* ---------------------------------------------------------- timed fragments */

LatentTerrainFragment *
latent_terrain_fragment_new (int channels, double frame_duration)
{
  LatentTerrainFragment *f = g_new0 (LatentTerrainFragment, 1);
  f->channels = channels;
  f->frame_duration = frame_duration;
  f->values = g_array_new (FALSE, FALSE, sizeof (float));
  f->times = g_array_new (FALSE, FALSE, sizeof (double));
  return f;
}

void
latent_terrain_fragment_free (LatentTerrainFragment *fragment)
{
  if (!fragment)
    return;
  g_array_unref (fragment->values);
  g_array_unref (fragment->times);
  g_free (fragment);
}

gsize
latent_terrain_fragment_n_frames (const LatentTerrainFragment *fragment)
{
  return fragment->times->len;
}

void
latent_terrain_fragment_append (LatentTerrainFragment *fragment, const float *frames, gsize n,
    double start)
{
  g_array_append_vals (fragment->values, frames, (guint) (n * fragment->channels));
  for (gsize i = 0; i < n; i++) {
    double t = start + (double) i * fragment->frame_duration;
    g_array_append_val (fragment->times, t);
  }
}

/* Coordinates for every latent frame: the coordinate signal at the frame's centre time. */
static float *
pair_coordinates (const LatentTerrainFragment *latents, const LatentTerrainFragment *coords)
{
  const gsize n = latent_terrain_fragment_n_frames (latents);
  const int dims = coords->channels;
  float *out = g_new0 (float, n * dims);
  const LatentControlSignal signal = {
    .values = (const float *) coords->values->data, .times = (const double *) coords->times->data,
    .n = latent_terrain_fragment_n_frames (coords), .dims = dims,
  };
  gsize cursor = 0;
  for (gsize j = 0; j < n; j++) {
    const double centre = g_array_index (latents->times, double, j) + latents->frame_duration / 2;
    latent_terrain_sample_control (&signal, centre, &cursor, out + j * dims);
  }
  return out;
}

static void
add_laid_out_fragments (LatentTerrainDataset *dataset, LatentTerrainLayout layout,
    LatentTerrainFragment *const *latents, guint n)
{
  const int control_dims = dataset->control_dims;
  float **coords = g_new0 (float *, n);
  const float **values = g_new (const float *, n);
  gsize *n_frames = g_new (gsize, n);
  for (guint f = 0; f < n; f++) {
    n_frames[f] = latent_terrain_fragment_n_frames (latents[f]);
    values[f] = (const float *) latents[f]->values->data;
    coords[f] = g_new0 (float, n_frames[f] * control_dims);
  }
  latent_terrain_layout (layout, values, n_frames, n, dataset->latent_dims, control_dims, coords);
  for (guint f = 0; f < n; f++) {
    latent_terrain_dataset_add_fragment (dataset, coords[f], values[f], n_frames[f]);
    g_free (coords[f]);
  }
  g_free (coords);
  g_free (values);
  g_free (n_frames);
}

LatentTerrainDataset *
latent_terrain_dataset_from_layout (LatentTerrainLayout layout,
    LatentTerrainFragment *const *latents, guint n, int control_dims)
{
  if (n == 0)
    return NULL;
  LatentTerrainDataset *dataset = latent_terrain_dataset_new (control_dims, latents[0]->channels);
  add_laid_out_fragments (dataset, layout, latents, n);
  return dataset;
}

LatentTerrainDataset *
latent_terrain_dataset_from_fragments (LatentTerrainFragment *const *latents, guint n,
    LatentTerrainFragment *const *coords, guint n_coords, int control_dims, guint *n_unpaired)
{
  *n_unpaired = 0;
  if (n == 0)
    return NULL;
  LatentTerrainDataset *dataset = latent_terrain_dataset_new (control_dims, latents[0]->channels);
  for (guint i = 0; i < n; i++) {
    if (i >= n_coords || latent_terrain_fragment_n_frames (coords[i]) == 0) {
      (*n_unpaired)++;
      continue;
    }
    float *paired = pair_coordinates (latents[i], coords[i]);
    latent_terrain_dataset_add_fragment (dataset, paired,
        (const float *) latents[i]->values->data, latent_terrain_fragment_n_frames (latents[i]));
    g_free (paired);
  }
  return dataset;
}
