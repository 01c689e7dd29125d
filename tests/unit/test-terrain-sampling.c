/* Control coordinates for latent frames (core/terrain-sampling.c) and layouts
 * (core/terrain-layout.c): the rules terrainplay, terraintrain, the LV2 terrain plugin and the
 * CLI share. */
#include "latent.h"

#include <math.h>

/* Frame k of R samples at SR, in a stream at r: centre (2k+1)*R*r/(2*SR) samples. */
static void
test_frame_centre (void)
{
  g_assert_cmpfloat (latent_terrain_frame_centre (0, 4, 1, 1), ==, 2.0);
  g_assert_cmpfloat (latent_terrain_frame_centre (3, 4, 1, 1), ==, 14.0);
  /* Latents at 44100 Hz, ratio 2048; coordinates at 1000 Hz: frame 1 centred at 3072/44.1. */
  g_assert_cmpfloat_with_epsilon (latent_terrain_frame_centre (1, 2048, 44100, 1000),
      3072.0 / 44.1, 1e-9);
}

/* Uniform stream: linear between the two samples around the centre (not their mean, not
 * sample-and-hold), held at both ends; NaN reads as 0. */
static void
test_uniform (void)
{
  const float values[] = { 0, 10, 4, 20, 8, 40, NAN, 0 }; /* 4 samples of 2 dims */
  const LatentControlSignal signal = { .values = values, .n = 4, .dims = 2 };
  float out[2];
  latent_terrain_sample_control (&signal, 0.25, NULL, out);
  g_assert_cmpfloat_with_epsilon (out[0], 1.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[1], 12.5f, 1e-6);
  latent_terrain_sample_control (&signal, 1.5, NULL, out);
  g_assert_cmpfloat_with_epsilon (out[0], 6.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (out[1], 30.0f, 1e-6);
  latent_terrain_sample_control (&signal, -3.0, NULL, out);
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat (out[1], ==, 10.0f);
  latent_terrain_sample_control (&signal, 2.5, NULL, out); /* towards the NaN sample */
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat_with_epsilon (out[1], 20.0f, 1e-6);
  latent_terrain_sample_control (&signal, 9.0, NULL, out); /* after the end: the last */
  g_assert_cmpfloat (out[0], ==, 0.0f);
  g_assert_cmpfloat (out[1], ==, 0.0f);
}

/* A stream cut into blocks: the sample before the block stands at -1; no samples at all hold
 * it. */
static void
test_previous (void)
{
  const float previous[] = { 2 }, values[] = { 6, 8 };
  LatentControlSignal signal = { .values = values, .n = 2, .dims = 1, .previous = previous };
  float out;
  latent_terrain_sample_control (&signal, -0.75, NULL, &out);
  g_assert_cmpfloat_with_epsilon (out, 3.0f, 1e-6);
  latent_terrain_sample_control (&signal, 0.5, NULL, &out);
  g_assert_cmpfloat_with_epsilon (out, 7.0f, 1e-6);
  signal.n = 0;
  latent_terrain_sample_control (&signal, 5.0, NULL, &out);
  g_assert_cmpfloat (out, ==, 2.0f);
  signal.previous = NULL;
  out = 1.0f;
  latent_terrain_sample_control (&signal, 5.0, NULL, &out);
  g_assert_cmpfloat (out, ==, 0.0f);
}

/* Timed samples with a gap: interpolated in time, the cursor follows ascending times and a
 * time before the cursor is still right. */
static void
test_timed (void)
{
  const float values[] = { 0, 1, 11 };
  const double times[] = { 0.0, 1.0, 11.0 };
  const LatentControlSignal signal = { .values = values, .times = times, .n = 3, .dims = 1 };
  gsize cursor = 0;
  float out;
  latent_terrain_sample_control (&signal, 0.5, &cursor, &out);
  g_assert_cmpfloat_with_epsilon (out, 0.5f, 1e-6);
  latent_terrain_sample_control (&signal, 6.0, &cursor, &out);
  g_assert_cmpfloat_with_epsilon (out, 6.0f, 1e-6);
  g_assert_cmpuint (cursor, ==, 1);
  latent_terrain_sample_control (&signal, 0.25, &cursor, &out);
  g_assert_cmpfloat_with_epsilon (out, 0.25f, 1e-6);
  latent_terrain_sample_control (&signal, 20.0, &cursor, &out);
  g_assert_cmpfloat (out, ==, 11.0f);
}

static void
test_layout_names (void)
{
  LatentTerrainLayout layout = LATENT_TERRAIN_LAYOUT_STRAIGHT;
  g_assert_true (latent_terrain_layout_from_name ("pca", &layout));
  g_assert_cmpint (layout, ==, LATENT_TERRAIN_LAYOUT_PCA);
  g_assert_true (latent_terrain_layout_from_name ("straight", &layout));
  g_assert_cmpint (layout, ==, LATENT_TERRAIN_LAYOUT_STRAIGHT);
  g_assert_false (latent_terrain_layout_from_name ("circle", &layout));
  g_assert_false (latent_terrain_layout_from_name (NULL, &layout));
  g_assert_cmpstr (latent_terrain_layout_name (LATENT_TERRAIN_LAYOUT_PCA), ==, "pca");
}

/* Straight: two fragments of 3 frames, paths centred on x = 0, PATH_SPACING apart in y. */
static void
test_layout_straight (void)
{
  const float a[3] = { 0 }, b[3] = { 0 };
  const float *latents[] = { a, b };
  const gsize frames[] = { 3, 3 };
  float ca[6], cb[6];
  float *out[] = { ca, cb };
  latent_terrain_layout (LATENT_TERRAIN_LAYOUT_STRAIGHT, latents, frames, 2, 1, 2, out);
  const float step = LATENT_TERRAIN_LAYOUT_FRAME_SPACING;
  const float half = LATENT_TERRAIN_LAYOUT_PATH_SPACING / 2;
  const float expect_a[] = { -step, -half, 0, -half, step, -half };
  for (int i = 0; i < 6; i++) {
    g_assert_cmpfloat_with_epsilon (ca[i], expect_a[i], 1e-6);
    g_assert_cmpfloat_with_epsilon (cb[i], i % 2 ? half : expect_a[i], 1e-6);
  }
}

/* PCA: latents on a line along (1, 1) project onto x in order, y 0 (no second direction),
 * one standard deviation = PCA_SCALE units; a third control dim stays 0. */
static void
test_layout_pca (void)
{
  const float line[] = { -1, -1, 0, 0, 1, 1 };
  const float *latents[] = { line };
  const gsize frames[] = { 3 };
  float coords[9];
  float *out[] = { coords };
  latent_terrain_layout (LATENT_TERRAIN_LAYOUT_PCA, latents, frames, 1, 2, 3, out);
  const float sd_units = LATENT_TERRAIN_LAYOUT_PCA_SCALE * sqrtf (1.5f); /* |(1,1)| / sd */
  g_assert_cmpfloat_with_epsilon (fabsf (coords[0]), sd_units, 1e-4);
  g_assert_cmpfloat (coords[0] * coords[6], <, 0.0f);
  g_assert_cmpfloat_with_epsilon (coords[3], 0.0f, 1e-6);
  for (int j = 0; j < 3; j++) {
    g_assert_cmpfloat_with_epsilon (coords[3 * j + 1], 0.0f, 1e-3);
    g_assert_cmpfloat (coords[3 * j + 2], ==, 0.0f);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/terrain-sampling/frame-centre", test_frame_centre);
  g_test_add_func ("/terrain-sampling/uniform", test_uniform);
  g_test_add_func ("/terrain-sampling/previous", test_previous);
  g_test_add_func ("/terrain-sampling/timed", test_timed);
  g_test_add_func ("/terrain-layout/names", test_layout_names);
  g_test_add_func ("/terrain-layout/straight", test_layout_straight);
  g_test_add_func ("/terrain-layout/pca", test_layout_pca);
  return g_test_run ();
}
