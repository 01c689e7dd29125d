/* Synthetic terrain data (synthetic-terrain.h). */
#include "synthetic-terrain.h"

#include <math.h>

void
synthetic_terrain_target (const float *xy, float *out)
{
  for (int k = 0; k < 8; k++)
    out[k] = sinf (0.15f * (k + 1) * xy[0] + 0.3f * xy[1])
        + 0.5f * cosf (0.4f * xy[1] - 0.05f * k * xy[0]);
}

LatentTerrainDataset *
synthetic_terrain_dataset (guint32 seed, int n)
{
  LatentTerrainDataset *ds = latent_terrain_dataset_new (2, 8);
  GRand *rand = g_rand_new_with_seed (seed);
  for (int i = 0; i < n; i++) {
    float xy[2] = { (float) g_rand_double_range (rand, -16, 16),
      (float) g_rand_double_range (rand, -4, 4) };
    float latent[8];
    synthetic_terrain_target (xy, latent);
    latent_terrain_dataset_add_point (ds, xy, latent);
  }
  g_rand_free (rand);
  return ds;
}
