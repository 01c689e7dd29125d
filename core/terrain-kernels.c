/* Dense kernels of the terrain network: one register-blocked matrix product that serves the
 * forward pass, both backward products and single-point inference, plus a small PRNG. */
#include "terrain-private.h"

#include <math.h>
#include <string.h>
#ifdef __SSE__
#include <xmmintrin.h>
#endif

/* GCC/Clang vector extensions: 8 floats, lowered to whatever the target has (two SSE registers
 * on baseline x86-64, one AVX register in the AVX2 clone below). */
typedef float v8sf __attribute__ ((vector_size (32)));
/* The helpers below are always inlined, so no vector ever crosses a call: the ABI note GCC
 * gives for 32-byte vectors without AVX does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
/* -std=c11 turns off contraction; a * b + c as one fused multiply-add (where the target has
 * it) is both faster and more accurate. */
#pragma GCC optimize ("fp-contract=fast")
/* The element-wise loops below vectorise only with the full cost model (-O2 uses the
 * "very cheap" one). */
#pragma GCC optimize ("vect-cost-model=dynamic")

/* On x86-64 Linux build an AVX2 copy of the product too, picked at load time (ifunc). */
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define LATENT_KERNEL_CLONES __attribute__ ((target_clones ("arch=x86-64-v3", "default")))
#else
#define LATENT_KERNEL_CLONES
#endif

#define ALWAYS_INLINE static inline __attribute__ ((always_inline))

ALWAYS_INLINE v8sf
load8 (const float *p)
{
  v8sf v;
  memcpy (&v, p, sizeof v);
  return v;
}

ALWAYS_INLINE void
store8 (float *p, v8sf v)
{
  memcpy (p, &v, sizeof v);
}

/* A tile of `rows` (1..4) rows by 8 * `vecs` (1 or 2) columns, accumulated over the whole depth
 * in registers: B's row segment is loaded once per depth step and used for every row. */
ALWAYS_INLINE void
tile (const int rows, const int vecs, gsize depth,
    const float *a, gsize a_row, gsize a_depth, const float *b, gsize b_stride,
    float *c, gsize c_stride, const float *init, gboolean accumulate)
{
  /* The small loops must unroll completely so that acc lives in registers (-O2 alone keeps
   * it on the stack and the kernel runs at a third of the speed). */
  v8sf acc[4][2];
#pragma GCC unroll 4
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vecs; v++) {
      if (accumulate)
        acc[r][v] = load8 (c + r * c_stride + 8 * v);
      else if (init)
        acc[r][v] = load8 (init + 8 * v);
      else
        acc[r][v] = (v8sf) { 0 };
    }
  for (gsize p = 0; p < depth; p++) {
    const float *bp = b + p * b_stride;
    const float *ap = a + p * a_depth;
    v8sf bv[2];
#pragma GCC unroll 2
    for (int v = 0; v < vecs; v++)
      bv[v] = load8 (bp + 8 * v);
#pragma GCC unroll 4
    for (int r = 0; r < rows; r++) {
      float ar = ap[r * a_row];
#pragma GCC unroll 2
      for (int v = 0; v < vecs; v++)
        acc[r][v] += ar * bv[v];
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < rows; r++)
#pragma GCC unroll 2
    for (int v = 0; v < vecs; v++)
      store8 (c + r * c_stride + 8 * v, acc[r][v]);
}

ALWAYS_INLINE void
column_block (const int vecs, gsize rows, gsize depth,
    const float *a, gsize a_row, gsize a_depth, const float *b, gsize b_stride,
    float *c, gsize c_stride, const float *init, gboolean accumulate)
{
  gsize i = 0;
  for (; i + 4 <= rows; i += 4)
    tile (4, vecs, depth, a + i * a_row, a_row, a_depth, b, b_stride,
        c + i * c_stride, c_stride, init, accumulate);
  /* Leftover rows one at a time (single-point inference takes this path). */
  for (; i < rows; i++)
    tile (1, vecs, depth, a + i * a_row, a_row, a_depth, b, b_stride,
        c + i * c_stride, c_stride, init, accumulate);
}

LATENT_KERNEL_CLONES void
latent_gemm (gsize rows, gsize cols, gsize depth,
    const float *a, gsize a_row, gsize a_depth,
    const float *b, gsize b_stride,
    float *c, gsize c_stride, const float *init, gboolean accumulate)
{
  gsize j = 0;
  /* Column panels of 16: B's panel (depth x 16) stays in L1 while all rows pass over it. */
  for (; j + 16 <= cols; j += 16)
    column_block (2, rows, depth, a, a_row, a_depth, b + j, b_stride, c + j, c_stride,
        init ? init + j : NULL, accumulate);
  if (j + 8 <= cols) {
    column_block (1, rows, depth, a, a_row, a_depth, b + j, b_stride, c + j, c_stride,
        init ? init + j : NULL, accumulate);
    j += 8;
  }
  /* Fewer than 8 columns left (e.g. a 4-latent output layer): plain sums. */
  for (; j < cols; j++)
    for (gsize i = 0; i < rows; i++) {
      float sum = accumulate ? c[i * c_stride + j] : init ? init[j] : 0.0f;
      const float *ai = a + i * a_row;
      for (gsize p = 0; p < depth; p++)
        sum += ai[p * a_depth] * b[p * b_stride + j];
      c[i * c_stride + j] = sum;
    }
}

LATENT_KERNEL_CLONES void
latent_prelu (float *x, gsize n, float slope)
{
  for (gsize i = 0; i < n; i++)
    x[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

LATENT_KERNEL_CLONES void
latent_column_sums (const float *x, gsize rows, gsize cols, float *sums)
{
  memset (sums, 0, cols * sizeof (float));
  for (gsize i = 0; i < rows; i++)
    for (gsize j = 0; j < cols; j++)
      sums[j] += x[i * cols + j];
}

void
latent_transpose (const float *src, gsize rows, gsize cols, float *dst)
{
  /* 16 x 16 tiles: both the reads and the strided writes stay within a few cache lines. */
  enum { TILE = 16 };
  for (gsize r0 = 0; r0 < rows; r0 += TILE)
    for (gsize c0 = 0; c0 < cols; c0 += TILE) {
      gsize r1 = MIN (r0 + TILE, rows), c1 = MIN (c0 + TILE, cols);
      for (gsize c = c0; c < c1; c++)
        for (gsize r = r0; r < r1; r++)
          dst[c * rows + r] = src[r * cols + c];
    }
}

/* GCC only drops errno handling for sqrtf on the command line (-fno-math-errno), which would
 * keep this loop scalar; on x86 the SSE square root (baseline on x86-64) does four at once. */
void
latent_adam_update (float *restrict param, const float *restrict grad, float *restrict m,
    float *restrict v, gsize n, const LatentAdamStep *step)
{
  float b1 = step->beta1, b2 = step->beta2, eps = step->eps;
  float step_size = step->step_size, inv_sqrt_c2 = step->inv_sqrt_correction2;
  gsize i = 0;
#ifdef __SSE__
  const __m128 vb1 = _mm_set1_ps (b1), vb1c = _mm_set1_ps (1.0f - b1);
  const __m128 vb2 = _mm_set1_ps (b2), vb2c = _mm_set1_ps (1.0f - b2);
  const __m128 vinv = _mm_set1_ps (inv_sqrt_c2), veps = _mm_set1_ps (eps);
  const __m128 vstep = _mm_set1_ps (step_size);
  for (; i + 4 <= n; i += 4) {
    __m128 g = _mm_loadu_ps (grad + i);
    __m128 mi = _mm_add_ps (_mm_mul_ps (_mm_loadu_ps (m + i), vb1), _mm_mul_ps (g, vb1c));
    __m128 vi = _mm_add_ps (_mm_mul_ps (_mm_loadu_ps (v + i), vb2),
        _mm_mul_ps (_mm_mul_ps (g, g), vb2c));
    __m128 denom = _mm_add_ps (_mm_mul_ps (_mm_sqrt_ps (vi), vinv), veps);
    __m128 p = _mm_sub_ps (_mm_loadu_ps (param + i), _mm_div_ps (_mm_mul_ps (vstep, mi), denom));
    _mm_storeu_ps (m + i, mi);
    _mm_storeu_ps (v + i, vi);
    _mm_storeu_ps (param + i, p);
  }
#endif
  for (; i < n; i++) {
    m[i] = m[i] * b1 + grad[i] * (1.0f - b1);
    v[i] = v[i] * b2 + grad[i] * grad[i] * (1.0f - b2);
    float denom = sqrtf (v[i]) * inv_sqrt_c2 + eps;
    param[i] -= step_size * m[i] / denom;
  }
}

/* ------------------------------------------------------------------ PRNG */

void
latent_random_init (LatentRandom *random, guint64 seed)
{
  random->state = seed;
}

guint64
latent_random_next (LatentRandom *random)
{
  /* splitmix64 (Steele, Lea, Flood 2014): tiny state, passes BigCrush, fully portable. */
  guint64 z = (random->state += G_GUINT64_CONSTANT (0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

double
latent_random_uniform (LatentRandom *random)
{
  return (double) (latent_random_next (random) >> 11) * (1.0 / 9007199254740992.0);
}

double
latent_random_normal (LatentRandom *random)
{
  /* Box-Muller; 1 - u keeps the logarithm finite. */
  double u = 1.0 - latent_random_uniform (random);
  double v = latent_random_uniform (random);
  return sqrt (-2.0 * log (u)) * cos (2.0 * G_PI * v);
}

guint32
latent_random_below (LatentRandom *random, guint32 n)
{
  /* Lemire's multiply-shift: no modulo bias worth speaking of for n < 2^32. */
  return (guint32) (((latent_random_next (random) >> 32) * (guint64) n) >> 32);
}
