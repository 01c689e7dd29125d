/* Layouts: coordinates for latent fragments that come without any (see latent-terrain.h).
 * Moved here from terraintrain so the CLI lays out datasets the same way. */
#include "latent.h"

#include <math.h>
#include <string.h>

static const char *const layout_names[] = {
  [LATENT_TERRAIN_LAYOUT_STRAIGHT] = "straight",
  [LATENT_TERRAIN_LAYOUT_PCA] = "pca",
};

const char *
latent_terrain_layout_name (LatentTerrainLayout layout)
{
  return (guint) layout < G_N_ELEMENTS (layout_names) ? layout_names[layout] : NULL;
}

gboolean
latent_terrain_layout_from_name (const char *name, LatentTerrainLayout *layout)
{
  for (guint i = 0; name && i < G_N_ELEMENTS (layout_names); i++)
    if (g_ascii_strcasecmp (name, layout_names[i]) == 0) {
      *layout = (LatentTerrainLayout) i;
      return TRUE;
    }
  return FALSE;
}

static void
straight (const gsize *n_frames, guint n, int dims, float *const *out)
{
  double x_offset = 0.0; /* one control dim: fragments follow each other along x */
  for (guint f = 0; f < n; f++) {
    const gsize frames = n_frames[f];
    const double y = ((double) f - (n - 1) / 2.0) * LATENT_TERRAIN_LAYOUT_PATH_SPACING;
    for (gsize j = 0; j < frames; j++) {
      float *c = out[f] + j * dims;
      if (dims == 1) {
        c[0] = (float) (x_offset + j * LATENT_TERRAIN_LAYOUT_FRAME_SPACING);
      } else {
        c[0] = (float) (((double) j - (frames - 1) / 2.0) * LATENT_TERRAIN_LAYOUT_FRAME_SPACING);
        c[1] = (float) y;
      }
    }
    x_offset += frames * LATENT_TERRAIN_LAYOUT_FRAME_SPACING + LATENT_TERRAIN_LAYOUT_PATH_SPACING;
  }
  if (dims == 1) { /* centre the whole row on 0 */
    const double shift = (x_offset - LATENT_TERRAIN_LAYOUT_PATH_SPACING) / 2.0;
    for (guint f = 0; f < n; f++)
      for (gsize j = 0; j < n_frames[f]; j++)
        out[f][j] -= (float) shift;
  }
}

/* Leading eigenvectors of the covariance by power iteration with deflation. */
static void
principal_axes (const double *cov, int d, int k, double *axes, double *variances)
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

/* Mean and covariance [d][d] of every frame of every fragment. */
static void
latent_moments (const float *const *latents, const gsize *n_frames, guint n, int d,
    double *mean, double *cov)
{
  gsize total = 0;
  for (guint f = 0; f < n; f++)
    for (gsize j = 0; j < n_frames[f]; j++, total++)
      for (int i = 0; i < d; i++)
        mean[i] += latents[f][j * d + i];
  for (int i = 0; i < d; i++)
    mean[i] /= MAX (total, 1);
  for (guint f = 0; f < n; f++) {
    const float *x = latents[f];
    for (gsize j = 0; j < n_frames[f]; j++)
      for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
          cov[a * d + b] += (x[j * d + a] - mean[a]) * (x[j * d + b] - mean[b]);
  }
  for (gsize i = 0; i < (gsize) d * d; i++)
    cov[i] /= MAX (total, 1);
}

static void
pca (const float *const *latents, const gsize *n_frames, guint n, int d, int dims,
    float *const *out)
{
  double *mean = g_new0 (double, d), *cov = g_new0 (double, (gsize) d * d);
  latent_moments (latents, n_frames, n, d, mean, cov);
  const int k = MIN (MIN (dims, 2), d);
  double *axes = g_new0 (double, (gsize) k * d), variances[2] = { 0 };
  principal_axes (cov, d, k, axes, variances);
  for (guint f = 0; f < n; f++) {
    const float *x = latents[f];
    for (gsize j = 0; j < n_frames[f]; j++)
      for (int a = 0; a < k; a++) {
        double p = 0.0;
        for (int i = 0; i < d; i++)
          p += (x[j * d + i] - mean[i]) * axes[a * d + i];
        /* An axis with no variance of its own (latents on a line: the second axis is what
         * rounding leaves after deflation) places every frame at 0, not at noise / noise. */
        const double sd = sqrt (MAX (variances[a], 0.0));
        const gboolean spread = sd > 1e-12 && variances[a] > 1e-9 * variances[0];
        out[f][j * dims + a] = spread ? (float) (p / sd * LATENT_TERRAIN_LAYOUT_PCA_SCALE)
            : 0.0f;
      }
  }
  g_free (axes);
  g_free (mean);
  g_free (cov);
}

void
latent_terrain_layout (LatentTerrainLayout layout, const float *const *latents,
    const gsize *n_frames, guint n, int latent_dims, int control_dims, float *const *out)
{
  for (guint f = 0; f < n; f++)
    memset (out[f], 0, sizeof (float) * n_frames[f] * control_dims);
  if (n == 0)
    return;
  if (layout == LATENT_TERRAIN_LAYOUT_PCA)
    pca (latents, n_frames, n, latent_dims, control_dims, out);
  else
    straight (n_frames, n, control_dims, out);
}
