/* Hostile models (issue 12): _params that once crashed or misled, models that return NaN/Inf
 * or poison their own state, a model that raises. The files are written at build time by
 * tests/data/make_hostile_models.py into LATENT_HOSTILE_MODELS. */
#include "latent.h"
#include "terrain-private.h"

#include <math.h>
#include <string.h>

static char *
hostile (const char *name)
{
  return g_build_filename (LATENT_HOSTILE_MODELS, name, NULL);
}

static LatentModel *
open_hostile (const char *name)
{
  char *path = hostile (name);
  GError *error = NULL;
  LatentModel *model = latent_model_open (path, 1, &error);
  g_assert_no_error (error);
  g_free (path);
  return model;
}

/* The model opens (decode is fine), encode is refused with `why`, and says so when asked. */
static void
expect_encode_refused (const char *name, const char *why)
{
  LatentModel *model = open_hostile (name);
  g_assert_false (latent_model_has_method (model, "encode"));
  g_assert_true (latent_model_has_method (model, "decode"));
  const char *const *refused = latent_model_get_refused_methods (model);
  g_assert_nonnull (refused[0]);
  g_assert_true (g_str_has_prefix (refused[0], "encode ("));
  g_assert_nonnull (strstr (refused[0], why));
  LatentMethodInfo info;
  GError *error = NULL;
  g_assert_false (latent_model_get_method_info (model, "encode", &info, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, name));
  g_assert_nonnull (strstr (error->message, "method encode is unusable"));
  g_assert_nonnull (strstr (error->message, why));
  g_error_free (error);
  latent_model_free (model);
}

static void
test_params_refused_with_reason (void)
{
  /* 2^32 truncated to 0 as an int, then divided by: SIGFPE in every element and plugin. */
  expect_encode_refused ("ratio-2-32.ts", "4294967296]: ratios must be 1..1048576");
  expect_encode_refused ("fractional-params.ts", "not whole numbers");
  expect_encode_refused ("short-params.ts", "has 3 values, expected 4");
  expect_encode_refused ("ratio-3-4.ts", "one must be a multiple of the other");

  char *path = hostile ("no-usable-method.ts");
  GError *error = NULL;
  g_assert_null (latent_model_open (path, 1, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_METHOD);
  g_assert_nonnull (strstr (error->message, "no usable method"));
  g_assert_nonnull (strstr (error->message, "ratios must be"));
  g_assert_nonnull (strstr (error->message, "channels must be 1..4096"));
  g_clear_error (&error);
  g_free (path);

  /* sr = 2^31 was cast to int (undefined): found by the model-info fuzzer. */
  path = hostile ("rate-2-31.ts");
  g_assert_null (latent_model_open (path, 1, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "sr is 2.14748e+09, not a sample rate"));
  g_error_free (error);
  g_free (path);
}

/* decode of one block of 4 latent frames whose first latent is `level`. */
static void
decode_block (LatentModel *model, float level, float out[16])
{
  float z[8];
  for (int f = 0; f < 4; f++) {
    z[f] = level + 0.125f * f;
    z[4 + f] = 0.0f;
  }
  GError *error = NULL;
  g_assert_true (latent_model_run (model, "decode", z, 4, out, &error));
  g_assert_no_error (error);
}

/* A loud latent poisons the model's state with NaN or Inf: the output that block is 0, not
 * NaN, it is counted, and the next normal block is exactly what a fresh model gives. */
static void
test_non_finite_outputs_replaced_and_state_recovers (void)
{
  const char *names[] = { "poisoned-nan.ts", "poisoned-inf.ts" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    LatentModel *model = open_hostile (names[i]);
    float clean[16], out[16];
    decode_block (model, 0.5f, clean);
    decode_block (model, 1000.0f, out);
    for (int k = 0; k < 16; k++)
      g_assert_cmpfloat (out[k], ==, 0.0f);
    g_assert_cmpuint (latent_model_get_non_finite_count (model), ==, 16);
    decode_block (model, 0.5f, out);
    g_assert_cmpmem (out, sizeof out, clean, sizeof clean);
    g_assert_cmpuint (latent_model_get_non_finite_count (model), ==, 16);
    latent_model_free (model);
  }
}

/* NaN and Inf input samples reach the model as 0: its caches stay finite. */
static void
test_non_finite_input (void)
{
  LatentModel *model = open_hostile ("poisoned-nan.ts");
  float in[8] = { NAN, 1.0f, INFINITY, 1.0f, 2.0f, 2.0f, -INFINITY, 2.0f }, z[4];
  GError *error = NULL;
  g_assert_true (latent_model_run (model, "encode", in, 8, z, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (z[0], 0.5f, 1e-6);
  g_assert_cmpfloat_with_epsilon (z[1], 1.5f, 1e-6);
  g_assert_cmpuint (latent_model_get_non_finite_count (model), ==, 0);
  latent_model_free (model);
}

/* The model's own exception text, not only "The following operation failed in the
 * TorchScript interpreter". */
/* Runs decode of a hostile model that must fail; returns its error, a run error naming the
 * file and the method. */
static GError *
decode_error (const char *name)
{
  LatentModel *model = open_hostile (name);
  float z[8] = { 0 }, out[4];
  GError *error = NULL;
  g_assert_false (latent_model_run (model, "decode", z, 4, out, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_RUN);
  char *where = g_strdup_printf ("%s: decode: ", name);
  g_assert_nonnull (strstr (error->message, where));
  g_free (where);
  latent_model_free (model);
  return error;
}

static void
test_raised_message_kept (void)
{
  GError *error = decode_error ("raises.ts");
  g_assert_nonnull (strstr (error->message,
          "ValueError: decode expects 3 latent channels, check the export config"));
  g_error_free (error);
}

/* A model asking for a tensor of 2^62 bytes gets an error naming it, not a crash: the
 * allocation fails inside the backend's tensor cache (core/torch), which must say so. */
static void
test_huge_tensor_refused (void)
{
  GError *error = decode_error ("huge-tensor.ts");
  g_assert_nonnull (strstr (error->message, "4611686018427387904 bytes"));
  g_error_free (error);
}

/* A terrain with a NaN two_pi, or finite weights whose outputs overflow, is refused at load
 * (so `terrain info`, terrainplay and the LV2 plugin never play it); a terrain that overflows
 * while played gives 0, not NaN. */
static void
test_bad_terrains_refused (void)
{
  const char *names[] = { "terrain-nan-two-pi.pt", "terrain-overflow.pt" };
  const char *why[] = { "two_pi is nan, expected a finite number", "its weights overflow" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++) {
    char *path = hostile (names[i]);
    GError *error = NULL;
    g_assert_null (latent_terrain_load (path, &error));
    g_test_message ("%s", error->message);
    g_assert_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, path));
    g_assert_nonnull (strstr (error->message, why[i]));
    g_error_free (error);
    g_free (path);
  }
  /* The same overflow in a terrain being played (training can get there): outputs are 0. */
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  LatentTerrain *t = latent_terrain_new (&config, 3, NULL);
  for (int l = 1; l < 4; l++) {
    float *w = t->data + t->layers[l].weight;
    for (int k = 0; k < t->layers[l].out * t->layers[l].in; k++)
      w[k] *= 1e30f;
  }
  latent_terrain_sync_transposed (t);
  LatentTerrainWorkspace *ws = latent_terrain_workspace_new (&config);
  float x[2] = { 0.5f, -0.25f }, out[8], batch[16];
  g_assert_true (latent_terrain_forward (t, x, out, ws));
  latent_terrain_forward_batch (t, (const float[]) { 0.5f, -0.25f, 1.0f, 2.0f }, 2, batch);
  for (int k = 0; k < config.latent_dims; k++) {
    g_assert_cmpfloat (out[k], ==, 0.0f);
    g_assert_cmpfloat (batch[k], ==, 0.0f);
  }
  latent_terrain_workspace_free (ws);
  latent_terrain_free (t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/hostile/params-refused-with-reason", test_params_refused_with_reason);
  g_test_add_func ("/hostile/non-finite-outputs", test_non_finite_outputs_replaced_and_state_recovers);
  g_test_add_func ("/hostile/non-finite-input", test_non_finite_input);
  g_test_add_func ("/hostile/raised-message-kept", test_raised_message_kept);
  g_test_add_func ("/hostile/huge-tensor-refused", test_huge_tensor_refused);
  g_test_add_func ("/hostile/bad-terrains-refused", test_bad_terrains_refused);
  return g_test_run ();
}
