/* Terrain datasets: path resampling, timed fragments and nn_terrain's dictionary layout as
 * JSON (core/terrain-dataset.c, core/terrain-json.c). */
#include "latent.h"

#include <math.h>
#include <glib/gstdio.h>
#include <string.h>

static void
test_resample_lengths (void)
{
  /* An L-shaped path, 3 + 4 long, with a repeated vertex. */
  const float path[] = { 0, 0, 3, 0, 3, 0, 3, 4 };
  for (gsize n = 1; n <= 50; n++) {
    float *out = g_new (float, n * 2);
    latent_terrain_resample_polyline (path, 4, 2, out, n);
    g_assert_cmpfloat (out[0], ==, 0.0f);
    g_assert_cmpfloat (out[1], ==, 0.0f);
    if (n > 1) {
      g_assert_cmpfloat (out[(n - 1) * 2], ==, 3.0f);
      g_assert_cmpfloat (out[(n - 1) * 2 + 1], ==, 4.0f);
      /* Constant spacing along the path: point k is 7k/(n-1) along it. */
      for (gsize k = 0; k < n; k++) {
        double along = 7.0 * k / (n - 1);
        double x = along <= 3 ? along : 3, y = along <= 3 ? 0 : along - 3;
        g_assert_cmpfloat_with_epsilon (out[k * 2], x, 1e-5);
        g_assert_cmpfloat_with_epsilon (out[k * 2 + 1], y, 1e-5);
      }
    }
    g_free (out);
  }
  /* A single vertex: every point sits on it. */
  const float dot[] = { 1.5f, -2.0f };
  float out[6];
  latent_terrain_resample_polyline (dot, 1, 2, out, 3);
  for (int k = 0; k < 3; k++)
    g_assert_true (out[2 * k] == 1.5f && out[2 * k + 1] == -2.0f);
}

static void
test_trajectory_mode (void)
{
  LatentTerrainDataset *ds = latent_terrain_dataset_new (2, 3);
  const float path[] = { -10, 0, 10, 0 };
  for (gsize frames = 1; frames <= 40; frames += 13) {
    float *latents = g_new0 (float, frames * 3);
    GError *error = NULL;
    g_assert_true (latent_terrain_dataset_add_trajectory (ds, path, 2, latents, frames,
        &error));
    g_assert_no_error (error);
    g_free (latents);
  }
  g_assert_cmpuint (latent_terrain_dataset_get_n_fragments (ds), ==, 4);
  g_assert_cmpuint (latent_terrain_dataset_get_n_pairs (ds), ==, 1 + 14 + 27 + 40);
  gsize n;
  const float *c;
  latent_terrain_dataset_get_fragment (ds, 3, &n, &c, NULL);
  g_assert_cmpuint (n, ==, 40); /* as many path points as latent frames */
  g_assert_cmpfloat (c[0], ==, -10.0f);
  g_assert_cmpfloat (c[39 * 2], ==, 10.0f);
  g_assert_cmpfloat_with_epsilon (c[2] - c[0], 20.0 / 39, 1e-5);
  GError *error = NULL;
  g_assert_false (latent_terrain_dataset_add_trajectory (ds, path, 0, NULL, 5, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_clear_error (&error);
  latent_terrain_dataset_free (ds);
}

static void
test_json_round_trip (void)
{
  LatentTerrainDataset *ds = latent_terrain_dataset_new (2, 4);
  float coords[5 * 2], latents[5 * 4];
  for (int i = 0; i < 10; i++)
    coords[i] = (float) sin (i) * 16.0f;
  for (int i = 0; i < 20; i++)
    latents[i] = (float) (cos (i * 0.3) * 1e-3 + (i == 7 ? 1e20 : 0) + 1.0 / 3.0);
  latent_terrain_dataset_add_fragment (ds, coords, latents, 5);
  latent_terrain_dataset_add_point (ds, coords + 2, latents + 4);
  char *dir = g_dir_make_tmp ("test-terrain-dataset-XXXXXX", NULL);
  char *path = g_build_filename (dir, "dataset.json", NULL);
  GError *error = NULL;
  g_assert_true (latent_terrain_dataset_save_json (ds, path, &error));
  g_assert_no_error (error);
  LatentTerrainDataset *back = latent_terrain_dataset_load_json (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent_terrain_dataset_get_control_dims (back), ==, 2);
  g_assert_cmpint (latent_terrain_dataset_get_latent_dims (back), ==, 4);
  g_assert_cmpuint (latent_terrain_dataset_get_n_fragments (back), ==, 2);
  for (guint f = 0; f < 2; f++) {
    gsize n1, n2;
    const float *c1, *c2, *l1, *l2;
    latent_terrain_dataset_get_fragment (ds, f, &n1, &c1, &l1);
    latent_terrain_dataset_get_fragment (back, f, &n2, &c2, &l2);
    g_assert_cmpuint (n1, ==, n2);
    g_assert_cmpmem (c1, n1 * 2 * sizeof (float), c2, n2 * 2 * sizeof (float)); /* bit-exact */
    g_assert_cmpmem (l1, n1 * 4 * sizeof (float), l2, n2 * 4 * sizeof (float));
  }
  /* The layout itself: 1-based fragments, 0-based dims, arrays over time. */
  char *json = latent_terrain_dataset_to_json (ds);
  g_assert_nonnull (strstr (json, "\"coordinates\": {\n    \"1\": {\n      \"0\": ["));
  g_assert_nonnull (strstr (json, "\"latents\": {"));
  g_assert_nonnull (strstr (json, "\"2\": {"));
  g_free (json);
  latent_terrain_dataset_free (back);
  g_remove (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  latent_terrain_dataset_free (ds);
}

/* What nn_terrain's Max objects produce: extra anchor keys, a bare number for a one-element
 * list, one more coordinate than latent frames, more fragments on one side. */
static void
test_json_nn_terrain_quirks (void)
{
  const char *json =
      "{\"coordinates\": {\"1\": {\"0\": [0, 1, 2, 3], \"1\": [0, 0, 0, 0],"
      "                          \"anchor_x\": [0, 3], \"anchor_y\": [0, 0]},"
      "                   \"2\": {\"0\": 5, \"1\": -1.5},"
      "                   \"3\": {\"0\": [1], \"1\": [1]}},"
      " \"latents\": {\"1\": {\"0\": [1, 2, 3], \"1\": [4, 5, 6]},"
      "               \"2\": {\"0\": [7], \"1\": [8]}}}";
  GError *error = NULL;
  LatentTerrainDataset *ds = latent_terrain_dataset_from_json (json, -1, "quirks", &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent_terrain_dataset_get_control_dims (ds), ==, 2);
  g_assert_cmpuint (latent_terrain_dataset_get_n_fragments (ds), ==, 2);
  g_assert_cmpuint (latent_terrain_dataset_get_n_pairs (ds), ==, 3 + 1);
  gsize n;
  const float *c, *l;
  latent_terrain_dataset_get_fragment (ds, 1, &n, &c, &l);
  g_assert_cmpuint (n, ==, 1);
  g_assert_true (c[0] == 5.0f && c[1] == -1.5f && l[0] == 7.0f && l[1] == 8.0f);
  latent_terrain_dataset_get_fragment (ds, 0, &n, &c, &l);
  g_assert_true (c[4] == 2.0f && l[5] == 6.0f); /* frame 2: interleaved per frame */
  latent_terrain_dataset_free (ds);
}

static void
expect_json_error (const char *json, const char *fragment)
{
  GError *error = NULL;
  LatentTerrainDataset *ds = latent_terrain_dataset_from_json (json, -1, "bad.json", &error);
  g_assert_null (ds);
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  if (!g_str_has_prefix (error->message, "bad.json: ") || !strstr (error->message, fragment))
    g_error ("\"%s\" does not name the file and say \"%s\"", error->message, fragment);
  g_error_free (error);
}

static void
test_json_errors (void)
{
  expect_json_error ("{\"coordinates\": {", "not valid JSON");
  expect_json_error ("[1, 2]", "top level is not an object");
  expect_json_error ("{\"latents\": {}}", "missing key \"coordinates\"");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1]}}}", "missing key \"latents\"");
  expect_json_error ("{\"coordinates\": {}, \"latents\": {}}", "no fragments");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1, 2], \"1\": [1]}},"
      " \"latents\": {\"1\": {\"0\": [1, 2]}}}", "coordinates/1/1 has 1 values");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1, \"x\"]}},"
      " \"latents\": {\"1\": {\"0\": [1, 2]}}}", "coordinates/1/0[1] is not a number");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1]}, \"2\": {\"0\": [2]}},"
      " \"latents\": {\"1\": {\"0\": [1]}, \"3\": {\"0\": [2]}}}",
      "missing key \"2\" in latents");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1]}, \"2\": {\"0\": [2], \"1\": [2]}},"
      " \"latents\": {\"1\": {\"0\": [1]}, \"2\": {\"0\": [2]}}}",
      "coordinates/2 has 2 dimensions");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1], \"2\": [1]}},"
      " \"latents\": {\"1\": {\"0\": [1]}}}", "missing key \"1\" in coordinates/1");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1]}},"
      " \"latents\": {\"1\": {\"0\": {\"a\": 1}}}}", "latents/1/0 is neither");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": []}},"
      " \"latents\": {\"1\": {\"0\": [1]}}}", "fragment 1 is empty");
  expect_json_error ("{\"coordinates\": {\"1\": {\"0\": [1e300]}},"
      " \"latents\": {\"1\": {\"0\": [1]}}}", "coordinates/1/0[0] is out of float range");
  /* 100000 levels crashed json-glib's recursive parser (stack exhaustion). */
  GString *deep = g_string_new ("{\"coordinates\": ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  expect_json_error (deep->str, "nested 100001 levels deep, at most 64");
  g_string_free (deep, TRUE);
  /* Brackets inside strings are text, not nesting. */
  expect_json_error ("{\"coordinates\": {\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\": 1}}",
      "missing key \"latents\"");
  GError *error = NULL;
  g_assert_null (latent_terrain_dataset_load_json ("/nonexistent/d.json", &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "/nonexistent/d.json"));
  g_clear_error (&error);
}

/* Timed fragments (terraintrain's): latent frames take the coordinate at their centre time,
 * interpolated linearly; a latent fragment with no coordinate fragment is left out, counted. */
static void
test_from_fragments (void)
{
  LatentTerrainFragment *latents[2], *coords[1];
  for (int i = 0; i < 2; i++) {
    latents[i] = latent_terrain_fragment_new (1, 0.5);
    const float frames[] = { 10, 11, 12, 13 };
    latent_terrain_fragment_append (latents[i], frames, 4, 0.0);
  }
  coords[0] = latent_terrain_fragment_new (1, 0.1);
  for (int k = 0; k <= 20; k++) {
    const float value = (float) k / 10; /* the coordinate is its own time */
    latent_terrain_fragment_append (coords[0], &value, 1, k / 10.0);
  }
  g_assert_cmpuint (latent_terrain_fragment_n_frames (coords[0]), ==, 21);
  guint unpaired = 0;
  LatentTerrainDataset *ds = latent_terrain_dataset_from_fragments (latents, 2, coords, 1, 1,
      &unpaired);
  g_assert_cmpuint (unpaired, ==, 1);
  g_assert_cmpuint (latent_terrain_dataset_get_n_fragments (ds), ==, 1);
  gsize n;
  const float *c, *l;
  latent_terrain_dataset_get_fragment (ds, 0, &n, &c, &l);
  g_assert_cmpuint (n, ==, 4);
  for (gsize j = 0; j < n; j++) {
    g_assert_cmpfloat_with_epsilon (c[j], 0.25 + 0.5 * j, 1e-5);
    g_assert_cmpfloat (l[j], ==, 10.0f + j);
  }
  latent_terrain_dataset_free (ds);
  /* Laid out: every fragment, one straight path each, FRAME_SPACING apart along x. */
  ds = latent_terrain_dataset_from_layout (LATENT_TERRAIN_LAYOUT_STRAIGHT, latents, 2, 2);
  g_assert_cmpuint (latent_terrain_dataset_get_n_pairs (ds), ==, 8);
  latent_terrain_dataset_get_fragment (ds, 1, &n, &c, NULL);
  g_assert_cmpfloat_with_epsilon (c[2] - c[0], LATENT_TERRAIN_LAYOUT_FRAME_SPACING, 1e-6);
  latent_terrain_dataset_free (ds);
  g_assert_null (latent_terrain_dataset_from_layout (LATENT_TERRAIN_LAYOUT_PCA, latents, 0, 2));
  for (int i = 0; i < 2; i++)
    latent_terrain_fragment_free (latents[i]);
  latent_terrain_fragment_free (coords[0]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/terrain/dataset/resample-lengths", test_resample_lengths);
  g_test_add_func ("/terrain/dataset/trajectory-mode", test_trajectory_mode);
  g_test_add_func ("/terrain/dataset/json-round-trip", test_json_round_trip);
  g_test_add_func ("/terrain/dataset/json-nn-terrain-quirks", test_json_nn_terrain_quirks);
  g_test_add_func ("/terrain/dataset/json-errors", test_json_errors);
  g_test_add_func ("/terrain/dataset/from-fragments", test_from_fragments);
  return g_test_run ();
}
