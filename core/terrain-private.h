/* Terrain internals shared by core/terrain*.c. Not installed, not for adapters. */
#ifndef LATENT_TERRAIN_PRIVATE_H
#define LATENT_TERRAIN_PRIVATE_H

#include "latent.h"

G_BEGIN_DECLS

#define LATENT_TERRAIN_N_LAYERS 5 /* fc_in_gau (or fc_in_linear), fc2, fc3, fc4, fc_out */
#define LATENT_TERRAIN_N_PRELU 4

/* One Linear layer inside LatentTerrain.data; offsets count floats. The weight is kept twice:
 * transposed [in][out] for the forward pass and the weight gradient (inner loops then run
 * over `out`, contiguous), and in torch's [out][in] layout for the input gradient and files. */
typedef struct {
  int in, out;
  gsize weight_t; /* [in][out], trainable */
  gsize bias;     /* [out], trainable */
  gsize weight;   /* [out][in], derived from weight_t by latent_terrain_sync_layout() */
} LatentTerrainLayer;

/* Everything lives in one 64-byte aligned block so that copying or publishing a network is one
 * memcpy, and the trainable part [0, n_trainable) is one vector for Adam. */
struct LatentTerrain {
  LatentTerrainConfig config;
  LatentTerrainLayer layers[LATENT_TERRAIN_N_LAYERS];
  gsize prelu;       /* 4 slopes, trainable */
  gsize n_trainable; /* floats (with alignment padding) that Adam updates */
  gsize fourier;     /* B_T [control_dims][features]; unused when gauss_scale == 0 */
  gsize n_floats;
  gsize n_params;    /* real trainable scalars, padding excluded */
  float two_pi;
  float *data;
};

/* Width of layer 0's input: 2 * features, or control_dims without the Fourier mapping. */
static inline int
latent_terrain_input_width (const LatentTerrainConfig *config)
{
  return config->gauss_scale > 0.0f ? 2 * config->features : config->control_dims;
}

/* Allocates a zeroed network with the layout for `config` (unchecked). */
LatentTerrain *latent_terrain_alloc (const LatentTerrainConfig *config);
/* Rewrites the [out][in] copies of layers [first, 5) from the trainable [in][out] ones. */
void latent_terrain_sync_layout (LatentTerrain *terrain, int first_layer);
/* Fills the [in][out] copies from the [out][in] ones (after loading a file). */
void latent_terrain_sync_transposed (LatentTerrain *terrain);
gboolean latent_terrain_config_equal (const LatentTerrainConfig *a,
    const LatentTerrainConfig *b);

/* Layer-0 inputs of n points: [sin h, cos h] with h = (two_pi * x) @ B_T, or x itself.
 * x [n][control_dims] -> out [n][input_width]. */
void latent_terrain_features (const LatentTerrain *terrain, const float *x, gsize n,
    float *out);
/* Hidden layers and output from layer-0 inputs, for n rows. `hidden` holds 2 * n * channels
 * floats of scratch. */
void latent_terrain_forward_features (const LatentTerrain *terrain, const float *features,
    gsize n, float *hidden, float *out);

/* C[i][j] = init[j] (or 0 if init is NULL; or C[i][j] itself if accumulate) +
 *           sum_p A(i, p) * B[p][j],   A(i, p) = a[i * a_row + p * a_depth].
 * i < rows, j < cols, p < depth. B and C are row-major with strides b_stride, c_stride. */
void latent_gemm (gsize rows, gsize cols, gsize depth,
    const float *a, gsize a_row, gsize a_depth,
    const float *b, gsize b_stride,
    float *c, gsize c_stride, const float *init, gboolean accumulate);

/* In place PReLU: x = x > 0 ? x : slope * x. */
void latent_prelu (float *x, gsize n, float slope);
/* sums[j] = sum_i x[i][j] */
void latent_column_sums (const float *x, gsize rows, gsize cols, float *sums);
/* dst [cols][rows] = src [rows][cols] transposed */
void latent_transpose (const float *src, gsize rows, gsize cols, float *dst);

/* One torch.optim.Adam update (no weight decay) over n parameters:
 * m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= step_size * m / (sqrt(v)/sqrt(c2) + eps)
 * with step_size = lr / (1 - b1^t) and c2 = 1 - b2^t. */
typedef struct {
  float beta1, beta2, eps;
  float step_size;
  float inv_sqrt_correction2;
} LatentAdamStep;

void latent_adam_update (float *param, const float *grad, float *m, float *v, gsize n,
    const LatentAdamStep *step);

/* Small deterministic PRNG (splitmix64), the same stream on every platform. */
typedef struct {
  guint64 state;
} LatentRandom;

void latent_random_init (LatentRandom *random, guint64 seed);
guint64 latent_random_next (LatentRandom *random);
double latent_random_uniform (LatentRandom *random);   /* [0, 1) */
double latent_random_normal (LatentRandom *random);    /* N(0, 1) */
guint32 latent_random_below (LatentRandom *random, guint32 n); /* [0, n) */

G_END_DECLS

#endif /* LATENT_TERRAIN_PRIVATE_H */
