/* Terrain network, nn_terrain checkpoints and pictures (core/terrain*.c). */
#include "latent.h"

#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

static char *tmp_dir;

/* Path of a reference file, or NULL (and the test skipped) when the shared data is absent. */
static char *
shared_file (const char *name)
{
  char *path = g_build_filename (LATENT_SHARED_DATA, "nn_terrain", name, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    char *message = g_strdup_printf ("reference data missing: %s", path);
    g_test_skip (message);
    g_free (message);
    g_free (path);
    return NULL;
  }
  return path;
}

static LatentTerrain *
load_or_fail (const char *path)
{
  GError *error = NULL;
  LatentTerrain *t = latent_terrain_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (t);
  return t;
}

/* Decodes an 8-bit greyscale PNG (the reference renders) with libpng. */
static guint8 *
read_grey_png (const char *path, int *width, int *height)
{
  FILE *file = fopen (path, "rb");
  g_assert_nonnull (file);
  png_structp png = png_create_read_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct (png);
  if (setjmp (png_jmpbuf (png)))
    g_error ("libpng failed on %s", path);
  png_init_io (png, file);
  png_read_info (png, info);
  /* Whatever the file holds, get 8-bit grey without alpha. */
  png_set_strip_16 (png);
  png_set_strip_alpha (png);
  png_set_palette_to_rgb (png);
  png_set_expand_gray_1_2_4_to_8 (png);
  if (png_get_color_type (png, info) & PNG_COLOR_MASK_COLOR)
    png_set_rgb_to_gray_fixed (png, 1, -1, -1);
  png_read_update_info (png, info);
  *width = png_get_image_width (png, info);
  *height = png_get_image_height (png, info);
  g_assert_cmpint (png_get_rowbytes (png, info), ==, *width);
  guint8 *pixels = g_malloc ((gsize) *width * *height);
  for (int i = 0; i < *height; i++)
    png_read_row (png, pixels + (gsize) i * *width, NULL);
  png_destroy_read_struct (&png, &info, NULL);
  fclose (file);
  return pixels;
}

static double
correlation (const guint8 *a, const guint8 *b, gsize n)
{
  double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
  for (gsize i = 0; i < n; i++) {
    sa += a[i], sb += b[i];
    saa += (double) a[i] * a[i], sbb += (double) b[i] * b[i], sab += (double) a[i] * b[i];
  }
  double cov = sab - sa * sb / n, va = saa - sa * sa / n, vb = sbb - sb * sb / n;
  return cov / sqrt (va * vb);
}

static void
check_reference_render (const char *checkpoint, const char *picture)
{
  char *pt = shared_file (checkpoint), *png = pt ? shared_file (picture) : NULL;
  if (!png) {
    g_free (pt);
    return;
  }
  LatentTerrain *t = load_or_fail (pt);
  int width, height;
  guint8 *reference = read_grey_png (png, &width, &height);
  g_assert_cmpint (width, ==, 600);
  g_assert_cmpint (height, ==, 150);

  LatentTerrainRenderOptions options;
  latent_terrain_render_options_init (&options);
  guint8 *pixels = g_malloc (600 * 150);
  GError *error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_assert_true (latent_terrain_render (t, &options, pixels, &error));
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  double r = correlation (pixels, reference, 600 * 150);
  gsize differ = 0;
  for (gsize i = 0; i < 600 * 150; i++)
    differ += pixels[i] != reference[i];
  g_print ("# %s: pixel correlation with %s %.7f (%" G_GSIZE_FORMAT " of 90000 pixels "
      "differ), render %.3f s\n", checkpoint, picture, r, differ, seconds);
  g_assert_cmpfloat (r, >, 0.999);

  /* The PNG path writes the same pixels. */
  char *out = g_build_filename (tmp_dir, "render.png", NULL);
  g_assert_true (latent_terrain_render_png (t, &options, out, &error));
  g_assert_no_error (error);
  int w2, h2;
  guint8 *written = read_grey_png (out, &w2, &h2);
  g_assert_cmpmem (written, 600 * 150, pixels, 600 * 150);
  g_free (written);
  g_free (out);
  g_free (pixels);
  g_free (reference);
  latent_terrain_free (t);
  g_free (pt);
  g_free (png);
}

static void
test_render_percussion (void)
{
  check_reference_render ("percussion-terrain-demo.pt", "percussion-terrain-demo.png");
}

static void
test_render_m2l (void)
{
  check_reference_render ("m2l-demo.pt", "m2l-demo.png");
}

static void
test_render_colour (void)
{
  char *pt = shared_file ("percussion-terrain-demo.pt");
  if (!pt)
    return;
  LatentTerrain *t = load_or_fail (pt);
  LatentTerrainRenderOptions options;
  latent_terrain_render_options_init (&options);
  options.colour = TRUE;
  options.width = 64;
  options.height = 16;
  GError *error = NULL;
  /* Four latent dims are enough for colour (nn_terrain's off-by-one refuses them). */
  char *out = g_build_filename (tmp_dir, "colour.png", NULL);
  g_assert_true (latent_terrain_render_png (t, &options, out, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  /* Channel 1 would need latent 4, which does not exist: an error, and no file. */
  options.channel = 1;
  char *bad = g_build_filename (tmp_dir, "colour-bad.png", NULL);
  g_assert_false (latent_terrain_render_png (t, &options, bad, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
  /* Unwritable place: an error, nothing left behind. */
  options.channel = 0;
  g_assert_false (latent_terrain_render_png (t, &options, "/nonexistent-dir/x.png", &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_IO);
  g_clear_error (&error);
  g_free (bad);
  g_free (out);
  latent_terrain_free (t);
  g_free (pt);
}

/* Every tensor of two archives: same names, kinds, shapes and bytes. */
static void
assert_archives_equal (const char *a_path, const char *b_path)
{
  GError *error = NULL;
  GPtrArray *a = latent_archive_read (a_path, &error);
  g_assert_no_error (error);
  GPtrArray *b = latent_archive_read (b_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++) {
    const LatentNamedTensor *ta = g_ptr_array_index (a, i);
    const LatentNamedTensor *tb = NULL;
    for (guint j = 0; j < b->len && !tb; j++)
      if (strcmp (((LatentNamedTensor *) g_ptr_array_index (b, j))->name, ta->name) == 0)
        tb = g_ptr_array_index (b, j);
    if (!tb)
      g_error ("%s lacks %s", b_path, ta->name);
    g_assert_cmpint (ta->dtype, ==, tb->dtype);
    g_assert_cmpint (ta->is_buffer, ==, tb->is_buffer);
    g_assert_cmpint (ta->ndim, ==, tb->ndim);
    g_assert_cmpmem (ta->shape, ta->ndim * sizeof (int64_t), tb->shape,
        tb->ndim * sizeof (int64_t));
    gsize bytes = latent_named_tensor_numel (ta) * (ta->dtype == LATENT_DTYPE_INT64 ? 8 : 4);
    g_assert_cmpmem (ta->data, bytes, tb->data, bytes);
  }
  g_ptr_array_unref (a);
  g_ptr_array_unref (b);
}

static void
test_file_round_trip (void)
{
  const char *names[] = { "percussion-terrain-demo.pt", "m2l-demo.pt",
    "stable-audio-terrain-demo.pt" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    char *pt = shared_file (names[i]);
    if (!pt)
      return;
    LatentTerrain *t = load_or_fail (pt);
    char *out = g_build_filename (tmp_dir, "round-trip.pt", NULL);
    GError *error = NULL;
    g_assert_true (latent_terrain_save (t, out, &error));
    g_assert_no_error (error);
    assert_archives_equal (pt, out);
    LatentTerrain *again = load_or_fail (out);
    /* Same network, same outputs. */
    const LatentTerrainConfig *config = latent_terrain_get_config (t);
    float x[4] = { 3.5f, -1.25f }, y1[64], y2[64];
    LatentTerrainWorkspace *ws = latent_terrain_workspace_new (config);
    g_assert_true (latent_terrain_forward (t, x, y1, ws));
    g_assert_true (latent_terrain_forward (again, x, y2, ws));
    g_assert_cmpmem (y1, config->latent_dims * sizeof (float), y2,
        config->latent_dims * sizeof (float));
    g_test_message ("%s: %d -> %d, c %d, m %d, gauss %g, %" G_GSIZE_FORMAT " params",
        names[i], config->control_dims, config->latent_dims, config->channels,
        config->features, config->gauss_scale, latent_terrain_get_param_count (t));
    latent_terrain_workspace_free (ws);
    latent_terrain_free (again);
    latent_terrain_free (t);
    g_free (out);
    g_free (pt);
  }
}

/* torch.jit.load reads a saved terrain with the parameters and buffers of the original. */
static void
test_file_torch_reads (void)
{
  char *pt = shared_file ("percussion-terrain-demo.pt");
  if (!pt)
    return;
  if (!g_file_test ("/usr/bin/python3", G_FILE_TEST_IS_EXECUTABLE)) {
    g_test_skip ("/usr/bin/python3 missing");
    g_free (pt);
    return;
  }
  LatentTerrain *t = load_or_fail (pt);
  char *out = g_build_filename (tmp_dir, "for-torch.pt", NULL);
  GError *error = NULL;
  g_assert_true (latent_terrain_save (t, out, &error));
  g_assert_no_error (error);
  const char *script =
      "import sys, torch\n"
      "def describe(path):\n"
      "    m = torch.jit.load(path)\n"
      "    p = [(n, str(v.dtype), tuple(v.shape), v.flatten().tolist()) for n, v in m.named_parameters()]\n"
      "    b = [(n, str(v.dtype), tuple(v.shape), v.flatten().tolist()) for n, v in m.named_buffers()]\n"
      "    return sorted(p), sorted(b)\n"
      "a, b = describe(sys.argv[1]), describe(sys.argv[2])\n"
      "print(len(a[0]), 'parameters', len(a[1]), 'buffers')\n"
      "sys.exit(0 if a == b else 1)\n";
  const char *argv[] = { "/usr/bin/python3", "-c", script, pt, out, NULL };
  int status = 0;
  char *output = NULL, *errors = NULL;
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
      &output, &errors, &status, &error));
  g_assert_no_error (error);
  if (strstr (errors, "No module named 'torch'")) {
    g_test_skip ("python3-torch missing");
  } else {
    g_test_message ("torch: %s%s", output, errors);
    g_assert_true (g_spawn_check_wait_status (status, &error));
    g_assert_no_error (error);
  }
  g_free (output);
  g_free (errors);
  g_free (out);
  latent_terrain_free (t);
  g_free (pt);
}

static void
expect_load_error (const char *path, const char *fragment)
{
  GError *error = NULL;
  LatentTerrain *t = latent_terrain_load (path, &error);
  g_assert_null (t);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (fragment && !strstr (error->message, fragment))
    g_error ("\"%s\" does not say \"%s\"", error->message, fragment);
  g_assert_nonnull (strstr (error->message, path));
  g_error_free (error);
}

static void
test_file_corrupt (void)
{
  char *pt = shared_file ("percussion-terrain-demo.pt");
  if (!pt)
    return;
  char *contents;
  gsize length;
  g_assert_true (g_file_get_contents (pt, &contents, &length, NULL));
  char *truncated = g_build_filename (tmp_dir, "truncated.pt", NULL);
  g_assert_true (g_file_set_contents (truncated, contents, length / 2, NULL));
  expect_load_error (truncated, NULL);
  char *garbage = g_build_filename (tmp_dir, "garbage.pt", NULL);
  g_assert_true (g_file_set_contents (garbage, "this is not a zip archive", -1, NULL));
  expect_load_error (garbage, NULL);
  char *empty = g_build_filename (tmp_dir, "empty.pt", NULL);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  expect_load_error (empty, NULL);
  char *missing = g_build_filename (tmp_dir, "missing.pt", NULL);
  expect_load_error (missing, NULL);

  /* A well-formed archive whose fc2.weight has the wrong shape. */
  GError *error = NULL;
  GPtrArray *tensors = latent_archive_read (pt, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < tensors->len; i++) {
    LatentNamedTensor *t = g_ptr_array_index (tensors, i);
    if (strcmp (t->name, "fc2.weight") == 0)
      t->shape[1] = 64; /* fewer elements than the data holds: still a valid tensor */
  }
  char *shaped = g_build_filename (tmp_dir, "percussion.pt", NULL);
  g_assert_true (latent_archive_write (shaped, (LatentNamedTensor *const *) tensors->pdata,
      tensors->len, &error));
  g_assert_no_error (error);
  expect_load_error (shaped, "fc2.weight is [128,64], expected [128,128]");
  /* And one without the hyperparameters: not an nn_terrain checkpoint. */
  for (guint i = 0; i < tensors->len; i++)
    if (strcmp (((LatentNamedTensor *) g_ptr_array_index (tensors, i))->name, "m_cmax") == 0) {
      g_ptr_array_remove_index (tensors, i);
      break;
    }
  g_assert_true (latent_archive_write (shaped, (LatentNamedTensor *const *) tensors->pdata,
      tensors->len, &error));
  g_assert_no_error (error);
  expect_load_error (shaped, "no tensor m_cmax");
  g_ptr_array_unref (tensors);
  g_free (shaped);
  g_free (missing);
  g_free (empty);
  g_free (garbage);
  g_free (truncated);
  g_free (contents);
  g_free (pt);
}

static void
test_forward_consistency (void)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = 13; /* odd width: exercises the kernel's column tails */
  config.control_dims = 3;
  GError *error = NULL;
  LatentTerrain *a = latent_terrain_new (&config, 7, &error);
  g_assert_no_error (error);
  LatentTerrain *b = latent_terrain_new (&config, 7, &error);
  LatentTerrain *other = latent_terrain_new (&config, 8, &error);
  enum { N = 37 };
  float x[N * 3], batch[N * 13], single[13], again[N * 13];
  for (int i = 0; i < N * 3; i++)
    x[i] = (float) sin (i * 1.7) * 10.0f;
  latent_terrain_forward_batch (a, x, N, batch);
  latent_terrain_forward_batch (b, x, N, again);
  g_assert_cmpmem (batch, sizeof batch, again, sizeof again); /* same seed, same network */
  latent_terrain_forward_batch (other, x, N, again);
  g_assert_true (memcmp (batch, again, sizeof batch) != 0);
  LatentTerrainWorkspace *ws = latent_terrain_workspace_new (&config);
  for (int i = 0; i < N; i++) {
    g_assert_true (latent_terrain_forward (a, x + i * 3, single, ws));
    for (int j = 0; j < 13; j++)
      g_assert_cmpfloat_with_epsilon (single[j], batch[i * 13 + j], 1e-5);
  }
  /* A workspace for a smaller network does not fit. */
  LatentTerrainConfig small = config;
  small.channels = 16;
  LatentTerrainWorkspace *small_ws = latent_terrain_workspace_new (&small);
  single[0] = 42.0f;
  g_assert_false (latent_terrain_forward (a, x, single, small_ws));
  g_assert_cmpfloat (single[0], ==, 42.0f);
  /* Parameter count as torch counts it. */
  gsize c = 128, m = 256;
  g_assert_cmpuint (latent_terrain_get_param_count (a), ==,
      (2 * m * c + c) + 3 * (c * c + c) + (c * 13 + 13) + 4);
  /* Out-of-range configurations are refused with the field named. */
  LatentTerrainConfig bad = config;
  bad.control_dims = 7;
  g_assert_null (latent_terrain_new (&bad, 1, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "control dims"));
  g_clear_error (&error);
  latent_terrain_workspace_free (small_ws);
  latent_terrain_workspace_free (ws);
  latent_terrain_free (a);
  latent_terrain_free (b);
  latent_terrain_free (other);
}

/* For the benchmark comparison with PyTorch: the default network, 600 x 150. */
static void
test_render_default_speed (void)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  LatentTerrain *t = latent_terrain_new (&config, 1, NULL);
  LatentTerrainRenderOptions options;
  latent_terrain_render_options_init (&options);
  guint8 *pixels = g_malloc (600 * 150);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (latent_terrain_render (t, &options, pixels, NULL));
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_print ("# render 600x150, default network (2->8, c 128, m 256): %.3f s\n", seconds);
  /* A single point (the real-time path), for the record. */
  LatentTerrainWorkspace *ws = latent_terrain_workspace_new (&config);
  float x[2] = { 1, 2 }, y[8];
  start = g_get_monotonic_time ();
  for (int i = 0; i < 1000; i++)
    latent_terrain_forward (t, x, y, ws);
  g_print ("# single-point forward: %.1f us\n", (g_get_monotonic_time () - start) / 1000.0);
  latent_terrain_workspace_free (ws);
  g_free (pixels);
  latent_terrain_free (t);
}

/* gauss scale 0: nn_terrain's fc_in_linear variant, saved and loaded. */
static void
test_file_linear_variant (void)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.gauss_scale = 0.0f;
  config.channels = 32;
  GError *error = NULL;
  LatentTerrain *t = latent_terrain_new (&config, 3, &error);
  g_assert_no_error (error);
  char *out = g_build_filename (tmp_dir, "linear.pt", NULL);
  if (!latent_terrain_save (t, out, &error)) {
    g_test_skip (error->message); /* no torch backend here */
    g_clear_error (&error);
  } else {
    LatentTerrain *again = load_or_fail (out);
    float x[2] = { 1, 2 }, y1[8], y2[8];
    latent_terrain_forward_batch (t, x, 1, y1);
    latent_terrain_forward_batch (again, x, 1, y2);
    g_assert_cmpmem (y1, sizeof y1, y2, sizeof y2);
    latent_terrain_free (again);
  }
  g_free (out);
  latent_terrain_free (t);
}

/* A terrain played through a decoder (core/terrain-stream.c): the fixture decoder
 * (stateful-codec.ts, 8000 Hz, decode repeats latent 0 at ratio 4) outputs latent 0 of the
 * terrain at a held coordinate, `latency` samples late; a terrain of other latent dims than
 * the decoder takes is refused, naming both. */
static void
test_terrain_stream (void)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = 2;
  config.channels = 16;
  config.features = 16;
  LatentTerrain *t = latent_terrain_new (&config, 7, NULL);
  char *pt = g_build_filename (tmp_dir, "stream.pt", NULL);
  g_assert_true (latent_terrain_save (t, pt, NULL));
  const float xy[2] = { 0.3f, -0.2f };
  float z[2];
  latent_terrain_forward_batch (t, xy, 1, z);
  latent_terrain_free (t);
  GError *error = NULL;
  LatentRtStream *rt = latent_rt_terrain_stream_open (pt, LATENT_TEST_DATA "/stateful-codec.ts",
      8000, 0, 1, LATENT_RT_LATENCY_SAFE, 0, &error);
  g_assert_no_error (error);
  const int latency = latent_rt_stream_get_latency (rt), n = latency + 4096;
  float *in = g_new (float, 2 * n), *out = g_new0 (float, n);
  for (int i = 0; i < n; i++)
    memcpy (in + 2 * i, xy, sizeof xy);
  latent_rt_stream_process (rt, in, out, NULL, n, LATENT_RT_WAIT_ALWAYS);
  for (int i = latency; i < n; i++)
    g_assert_cmpfloat_with_epsilon (out[i], z[0], 1e-5);
  latent_rt_stream_free (rt);
  g_free (in);
  g_free (out);
  config.latent_dims = 3;
  t = latent_terrain_new (&config, 7, NULL);
  g_assert_true (latent_terrain_save (t, pt, NULL));
  latent_terrain_free (t);
  g_assert_null (latent_rt_terrain_stream_open (pt, LATENT_TEST_DATA "/stateful-codec.ts",
      8000, 0, 1, LATENT_RT_LATENCY_SAFE, 0, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "3 latent dims"));
  g_clear_error (&error);
  g_unlink (pt);
  g_free (pt);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("test-terrain-XXXXXX", NULL);
  g_test_add_func ("/terrain/forward/consistency", test_forward_consistency);
  g_test_add_func ("/terrain/render/percussion", test_render_percussion);
  g_test_add_func ("/terrain/render/m2l", test_render_m2l);
  g_test_add_func ("/terrain/render/colour", test_render_colour);
  g_test_add_func ("/terrain/render/default-speed", test_render_default_speed);
  g_test_add_func ("/terrain/file/round-trip", test_file_round_trip);
  g_test_add_func ("/terrain/file/torch-reads", test_file_torch_reads);
  g_test_add_func ("/terrain/file/corrupt", test_file_corrupt);
  g_test_add_func ("/terrain/file/linear-variant", test_file_linear_variant);
  g_test_add_func ("/terrain/stream", test_terrain_stream);
  int status = g_test_run ();
  char *rm[] = { "rm", "-rf", tmp_dir, NULL };
  g_spawn_sync (NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (tmp_dir);
  return status;
}
