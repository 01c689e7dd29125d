/* A synthetic terrain dataset shared by the terrain training test and benchmark, so both
 * measure the same problem. */
#ifndef SYNTHETIC_TERRAIN_H
#define SYNTHETIC_TERRAIN_H

#include "latent.h"

/* A smooth map from (x, y) on nn_terrain's canvas to 8 latents. */
void synthetic_terrain_target (const float *xy, float *out);
/* n pairs (2 -> 8) with x in [-16, 16], y in [-4, 4], drawn from `seed`. */
LatentTerrainDataset *synthetic_terrain_dataset (guint32 seed, int n);

#endif /* SYNTHETIC_TERRAIN_H */
