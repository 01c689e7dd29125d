/* Fragments of terraintrain and their layouts (see terrain-fragments.h). */
#include "terrain-fragments.h"

#include <math.h>
#include <string.h>

TerrainFragment *
terrain_fragment_new (int channels, double frame_duration)
{
  TerrainFragment *f = g_new0 (TerrainFragment, 1);
  f->channels = channels;
  f->frame_duration = frame_duration;
  f->values = g_array_new (FALSE, FALSE, sizeof (float));
  f->times = g_array_new (FALSE, FALSE, sizeof (double));
  return f;
}

void
terrain_fragment_free (TerrainFragment *fragment)
{
  if (!fragment)
    return;
  g_array_unref (fragment->values);
  g_array_unref (fragment->times);
  g_free (fragment);
}

gsize
terrain_fragment_n_frames (const TerrainFragment *fragment)
{
  return fragment->times->len;
}

void
terrain_fragment_append (TerrainFragment *fragment, const float *frames, gsize n, double start)
{
  g_array_append_vals (fragment->values, frames, (guint) (n * fragment->channels));
  for (gsize i = 0; i < n; i++) {
    double t = start + (double) i * fragment->frame_duration;
    g_array_append_val (fragment->times, t);
  }
}

float *
terrain_fragment_pair_coordinates (const TerrainFragment *latents,
    const TerrainFragment *coords)
{
  gsize n = terrain_fragment_n_frames (latents), m = terrain_fragment_n_frames (coords);
  int dims = coords->channels;
  float *out = g_new0 (float, n * dims);
  const double *ct = (const double *) coords->times->data;
  const float *cv = (const float *) coords->values->data;
  gsize i = 0; /* last coordinate sample at or before the centre (centres only increase) */
  for (gsize j = 0; j < n && m > 0; j++) {
    double centre = g_array_index (latents->times, double, j) + latents->frame_duration / 2;
    while (i + 1 < m && ct[i + 1] <= centre)
      i++;
    float *dst = out + j * dims;
    if (centre <= ct[0] || i + 1 >= m) {
      memcpy (dst, cv + (centre <= ct[0] ? 0 : (m - 1)) * dims, dims * sizeof (float));
      continue;
    }
    double span = ct[i + 1] - ct[i];
    double w = span > 0 ? (centre - ct[i]) / span : 0.0;
    for (int d = 0; d < dims; d++)
      dst[d] = (float) ((1.0 - w) * cv[i * dims + d] + w * cv[(i + 1) * dims + d]);
  }
  return out;
}

/* --------------------------------------------------------------- layouts */

static void
terrain_layout_straight (TerrainFragment *const *latents, guint n, int dims, float **out)
{
  double x_offset = 0.0; /* one control dim: fragments follow each other along x */
  for (guint f = 0; f < n; f++) {
    gsize frames = terrain_fragment_n_frames (latents[f]);
    double y = ((double) f - (n - 1) / 2.0) * TERRAIN_LAYOUT_PATH_SPACING;
    for (gsize j = 0; j < frames; j++) {
      float *c = out[f] + j * dims;
      if (dims == 1) {
        c[0] = (float) (x_offset + j * TERRAIN_LAYOUT_FRAME_SPACING);
      } else {
        c[0] = (float) (((double) j - (frames - 1) / 2.0) * TERRAIN_LAYOUT_FRAME_SPACING);
        c[1] = (float) y;
      }
    }
    x_offset += frames * TERRAIN_LAYOUT_FRAME_SPACING + TERRAIN_LAYOUT_PATH_SPACING;
  }
  if (dims == 1) { /* centre the whole row on 0 */
    double shift = (x_offset - TERRAIN_LAYOUT_PATH_SPACING) / 2.0;
    for (guint f = 0; f < n; f++)
      for (gsize j = 0; j < terrain_fragment_n_frames (latents[f]); j++)
        out[f][j] -= (float) shift;
  }
}

/* Leading eigenvectors of the covariance by power iteration with deflation. */
static void
terrain_layout_principal_axes (const double *cov, int d, int k, double *axes, double *variances)
{
  double *m = g_memdup2 (cov, sizeof (double) * d * d);
  double *v = g_new (double, d), *w = g_new (double, d);
  for (int a = 0; a < k; a++) {
    for (int i = 0; i < d; i++)
      v[i] = 1.0 + 0.01 * i * (a + 1); /* not orthogonal to any axis in practice */
    double lambda = 0.0;
    for (int it = 0; it < 500; it++) {
      double norm = 0.0;
      for (int i = 0; i < d; i++) {
        w[i] = 0.0;
        for (int j = 0; j < d; j++)
          w[i] += m[i * d + j] * v[j];
        norm += w[i] * w[i];
      }
      norm = sqrt (norm);
      if (norm < 1e-30)
        break;
      double change = 0.0;
      for (int i = 0; i < d; i++) {
        double next = w[i] / norm;
        change += fabs (next - v[i]);
        v[i] = next;
      }
      lambda = norm;
      if (change < 1e-12)
        break;
    }
    memcpy (axes + a * d, v, sizeof (double) * d);
    variances[a] = lambda;
    for (int i = 0; i < d; i++)
      for (int j = 0; j < d; j++)
        m[i * d + j] -= lambda * v[i] * v[j];
  }
  g_free (m);
  g_free (v);
  g_free (w);
}

static void
terrain_layout_pca (TerrainFragment *const *latents, guint n, int dims, float **out)
{
  int d = latents[0]->channels;
  double *mean = g_new0 (double, d), *cov = g_new0 (double, (gsize) d * d);
  gsize total = 0;
  for (guint f = 0; f < n; f++) {
    const float *x = (const float *) latents[f]->values->data;
    for (gsize j = 0; j < terrain_fragment_n_frames (latents[f]); j++, total++)
      for (int i = 0; i < d; i++)
        mean[i] += x[j * d + i];
  }
  for (int i = 0; i < d; i++)
    mean[i] /= MAX (total, 1);
  for (guint f = 0; f < n; f++) {
    const float *x = (const float *) latents[f]->values->data;
    for (gsize j = 0; j < terrain_fragment_n_frames (latents[f]); j++)
      for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
          cov[a * d + b] += (x[j * d + a] - mean[a]) * (x[j * d + b] - mean[b]);
  }
  for (gsize i = 0; i < (gsize) d * d; i++)
    cov[i] /= MAX (total, 1);
  int k = MIN (MIN (dims, 2), d);
  double *axes = g_new0 (double, (gsize) k * d), variances[2] = { 0 };
  terrain_layout_principal_axes (cov, d, k, axes, variances);
  for (guint f = 0; f < n; f++) {
    const float *x = (const float *) latents[f]->values->data;
    for (gsize j = 0; j < terrain_fragment_n_frames (latents[f]); j++)
      for (int a = 0; a < k; a++) {
        double p = 0.0;
        for (int i = 0; i < d; i++)
          p += (x[j * d + i] - mean[i]) * axes[a * d + i];
        double sd = sqrt (MAX (variances[a], 0.0));
        out[f][j * dims + a] = sd > 1e-12 ? (float) (p / sd * TERRAIN_LAYOUT_PCA_SCALE) : 0.0f;
      }
  }
  g_free (axes);
  g_free (mean);
  g_free (cov);
}

float **
terrain_layout_coordinates (TerrainLayout layout, TerrainFragment *const *latents, guint n,
    int control_dims)
{
  float **out = g_new0 (float *, n);
  for (guint f = 0; f < n; f++)
    out[f] = g_new0 (float, terrain_fragment_n_frames (latents[f]) * control_dims);
  if (n == 0)
    return out;
  if (layout == TERRAIN_LAYOUT_PCA)
    terrain_layout_pca (latents, n, control_dims, out);
  else
    terrain_layout_straight (latents, n, control_dims, out);
  return out;
}
