/* Core model runtime and block adapter, on the tiny fixtures of tests/data (make_fixtures.py). */
#include "latent.h"

#include <float.h>
#include <math.h>
#include <string.h>

static char *
fixture (const char *name)
{
  return g_build_filename (LATENT_TEST_DATA, name, NULL);
}

static LatentModel *
open_fixture (const char *name)
{
  char *path = fixture (name);
  GError *error = NULL;
  LatentModel *model = latent_model_open (path, 1, &error);
  g_assert_no_error (error);
  g_free (path);
  return model;
}

static void
test_methods_and_params (void)
{
  LatentModel *model = open_fixture ("stateful-codec.ts");
  const char *const *methods = latent_model_get_methods (model);
  g_assert_cmpuint (g_strv_length ((char **) methods), ==, 3);
  g_assert_true (g_strv_contains (methods, "encode"));
  g_assert_true (g_strv_contains (methods, "forward"));
  g_assert_cmpint (latent_model_get_sample_rate (model), ==, 8000);

  LatentMethodInfo info;
  g_assert_true (latent_model_get_method_info (model, "encode", &info, NULL));
  g_assert_cmpint (info.in_channels, ==, 1);
  g_assert_cmpint (info.in_ratio, ==, 1);
  g_assert_cmpint (info.out_channels, ==, 2);
  g_assert_cmpint (info.out_ratio, ==, 4);
  g_assert_cmpint (latent_method_info_min_block (&info), ==, 4);
  g_assert_true (latent_model_get_method_info (model, "decode", &info, NULL));
  g_assert_cmpint (latent_method_info_min_block (&info), ==, 1);

  GError *error = NULL;
  g_assert_false (latent_model_get_method_info (model, "nope", &info, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_METHOD);
  /* The message names the file, the method asked for and what exists. */
  g_assert_nonnull (strstr (error->message, "stateful-codec.ts"));
  g_assert_nonnull (strstr (error->message, "'nope'"));
  g_assert_nonnull (strstr (error->message, "encode, decode, forward"));
  g_error_free (error);
  latent_model_free (model);
}

static void
test_v1_layout (void)
{
  /* No get_methods(): methods come from the M_params buffers; rate from `sampling_rate`. */
  LatentModel *model = open_fixture ("v1-style.ts");
  const char *const *methods = latent_model_get_methods (model);
  g_assert_true (g_strv_contains (methods, "encode"));
  g_assert_true (g_strv_contains (methods, "decode"));
  g_assert_false (g_strv_contains (methods, "forward"));
  g_assert_cmpint (latent_model_get_sample_rate (model), ==, 16000);
  latent_model_free (model);
}

static void
test_attributes (void)
{
  LatentModel *model = open_fixture ("stateful-codec.ts");
  const char *const *attrs = latent_model_get_attributes (model);
  g_assert_true (g_strv_contains (attrs, "gain"));
  g_assert_true (g_strv_contains (attrs, "steps"));

  double value = 0;
  GError *error = NULL;
  g_assert_true (latent_model_get_attribute (model, "steps", &value, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (value, ==, 4);
  g_assert_true (latent_model_set_attribute (model, "steps", 7, &error));
  g_assert_true (latent_model_get_attribute (model, "steps", &value, NULL));
  g_assert_cmpfloat (value, ==, 7);
  /* An int setter gets a rounded int, a float setter the float. */
  g_assert_true (latent_model_set_attribute (model, "gain", 0.25, NULL));
  g_assert_true (latent_model_get_attribute (model, "gain", &value, NULL));
  g_assert_cmpfloat (value, ==, 0.25);

  /* The model refuses 99 (returns -1): an error, and the old value stays. */
  g_assert_false (latent_model_set_attribute (model, "steps", 99, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE);
  g_clear_error (&error);
  g_assert_true (latent_model_get_attribute (model, "steps", &value, NULL));
  g_assert_cmpfloat (value, ==, 7);

  g_assert_false (latent_model_set_attribute (model, "guidance", 1, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE);
  g_assert_nonnull (strstr (error->message, "set_guidance"));
  g_assert_nonnull (strstr (error->message, "gain, steps"));
  g_error_free (error);
  latent_model_free (model);
}

static void
expect_open_error (const char *name, int code, const char *needle)
{
  char *path = fixture (name);
  GError *error = NULL;
  LatentModel *model = latent_model_open (path, 1, &error);
  g_assert_null (model);
  g_assert_error (error, LATENT_ERROR, code);
  g_test_message ("%s -> %s", name, error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, needle));
  g_error_free (error);
  g_free (path);
}

static void
test_open_errors (void)
{
  expect_open_error ("missing.ts", LATENT_ERROR_LOAD, "no such model file");
  expect_open_error ("not-torchscript.ts", LATENT_ERROR_LOAD, "not a TorchScript archive");
  expect_open_error ("no-params.ts", LATENT_ERROR_METHOD, "M_params");
  /* A torch-2 operator other than attention (which the backend supplies) in LibTorch 1.13:
   * say what to do. LibTorch 2.4 and later (Debian 13: 2.6) have rms_norm and run the file:
   * its forward (4 channels, ratio 1) is rms_norm over the last dimension, the 4 frames of
   * each channel, with torch's default eps for float (FLT_EPSILON). */
  g_assert_nonnull (latent_backend_version ()); /* no-params.ts loaded the backend */
  g_test_message ("backend: %s", latent_backend_version ());
  if (g_str_has_prefix (latent_backend_version (), "LibTorch 1.")) {
    expect_open_error ("torch2-rms-norm.ts", LATENT_ERROR_LOAD,
        "operator aten::rms_norm is not in LibTorch");
    expect_open_error ("torch2-rms-norm.ts", LATENT_ERROR_LOAD, "-Dlibtorch_dir=");
  } else {
    enum { C = 4, T = 4 };
    LatentModel *model = open_fixture ("torch2-rms-norm.ts");
    float x[C * T], y[C * T];
    for (int i = 0; i < C * T; i++)
      x[i] = (float) sin (0.9 * i + 0.3) * (1.0f + 0.5f * (i / T));
    GError *error = NULL;
    g_assert_true (latent_model_run (model, "forward", x, T, y, &error));
    g_assert_no_error (error);
    for (int c = 0; c < C; c++) {
      double mean_square = 0.0;
      for (int t = 0; t < T; t++)
        mean_square += (double) x[c * T + t] * x[c * T + t] / T;
      for (int t = 0; t < T; t++)
        g_assert_cmpfloat_with_epsilon (y[c * T + t],
            x[c * T + t] / sqrt (mean_square + FLT_EPSILON), 1e-5);
    }
    latent_model_free (model);
  }
}

/* softmax(q k^T * scale + mask) v for one head: q [T][E], k [T][E], v [T][E], out [T][E]. */
static void
attention_reference (int t_len, int e_len, const float *q, const float *k, const float *v,
    double scale, gboolean causal, gboolean ramp_mask, double *out)
{
  for (int i = 0; i < t_len; i++) {
    double w[16], top = -INFINITY, sum = 0.0;
    for (int j = 0; j < t_len; j++) {
      double dot = 0.0;
      for (int e = 0; e < e_len; e++)
        dot += (double) q[i * e_len + e] * k[j * e_len + e];
      w[j] = causal && j > i ? -INFINITY : dot * scale + (ramp_mask ? j - i : 0);
      top = MAX (top, w[j]);
    }
    for (int j = 0; j < t_len; j++)
      sum += (w[j] = exp (w[j] - top));
    for (int e = 0; e < e_len; e++) {
      out[i * e_len + e] = 0.0;
      for (int j = 0; j < t_len; j++)
        out[i * e_len + e] += w[j] / sum * v[j * e_len + e];
    }
  }
}

/* A torch 2.x file calling aten::scaled_dot_product_attention (causal with a scale, and with
 * a float mask) runs on every LibTorch: natively on 2.x, through the backend's own
 * registration on 1.13, and both equal the plain math. */
static void
test_torch2_attention (void)
{
  enum { T = 5, E = 4 };
  LatentModel *model = open_fixture ("torch2-attention.ts");
  float x[E * T], q[T * E], k[T * E], v[T * E], out[E * T];
  double expected[T * E];
  for (int e = 0; e < E; e++)
    for (int t = 0; t < T; t++)
      x[e * T + t] = (float) sin (1.3 * t + 0.7 * e) * (1.0f + 0.25f * e);
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) {
      q[t * E + e] = x[e * T + t];
      k[t * E + e] = 0.5f * x[e * T + t];
      v[t * E + e] = x[e * T + (T - 1 - t)];
    }
  GError *error = NULL;
  g_assert_true (latent_model_run (model, "forward", x, T, out, &error));
  g_assert_no_error (error);
  attention_reference (T, E, q, k, v, 0.3, TRUE, FALSE, expected);
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++)
      g_assert_cmpfloat_with_epsilon (out[e * T + t], expected[t * E + e], 1e-5);

  g_assert_true (latent_model_run (model, "masked", x, T, out, &error));
  g_assert_no_error (error);
  attention_reference (T, E, q, q, q, 1.0 / sqrt (E), FALSE, TRUE, expected);
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++)
      g_assert_cmpfloat_with_epsilon (out[e * T + t], expected[t * E + e], 1e-5);
  latent_model_free (model);
}

/* Runs `blocks` blocks of a fixed test signal through forward. */
static void
run_blocks (LatentModel *model, int block, int blocks, float *out)
{
  float in[64];
  g_assert_cmpint (block, <=, 64);
  for (int b = 0; b < blocks; b++) {
    for (int i = 0; i < block; i++)
      in[i] = (float) sin (0.37 * (b * block + i)) + 0.1f * b;
    GError *error = NULL;
    g_assert_true (latent_model_run (model, "forward", in, block, out + b * block, &error));
    g_assert_no_error (error);
  }
}

/* A model called again with the same shapes on the same thread takes no new tensor memory
 * from the system: the backend reuses what the thread freed (malloc per intermediate tensor
 * cost a RAVE decoder ~14% of its block, more on a fragmented worker arena). A new thread
 * starts with an empty cache: its first calls allocate, then none. */
typedef struct {
  LatentModel *model;
  guint64 first, rest;
} CacheRun;

static gpointer
run_on_new_thread (gpointer data)
{
  enum { BLOCK = 16 };
  CacheRun *run = data;
  float out[BLOCK * 8];
  guint64 before = latent_backend_tensor_allocations ();
  run_blocks (run->model, BLOCK, 1, out);
  guint64 after_first = latent_backend_tensor_allocations ();
  /* The model's state tensors came from the loading thread: its blocks go back to the system
   * as the calls here replace them, which takes a call or two. */
  run_blocks (run->model, BLOCK, 2, out);
  guint64 settled = latent_backend_tensor_allocations ();
  run_blocks (run->model, BLOCK, 8, out);
  run->first = after_first - before;
  run->rest = latent_backend_tensor_allocations () - settled;
  return NULL;
}

static void
test_tensor_memory_reused (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("the tensor cache is off under AddressSanitizer");
  return;
#endif
  const char *env = g_getenv ("LATENT_TENSOR_CACHE");
  if (env && !strcmp (env, "0")) {
    g_test_skip ("LATENT_TENSOR_CACHE=0");
    return;
  }
  enum { BLOCK = 16, BLOCKS = 12 };
  float out[BLOCK * BLOCKS];
  LatentModel *model = open_fixture ("stateful-no-reset.ts");
  GError *error = NULL;
  g_assert_true (latent_model_warm_up (model, "forward", BLOCK, &error));
  g_assert_no_error (error);
  guint64 before = latent_backend_tensor_allocations ();
  run_blocks (model, BLOCK, BLOCKS, out);
  guint64 same_thread = latent_backend_tensor_allocations () - before;

  CacheRun run = { model, 0, 0 };
  g_thread_join (g_thread_new ("cache-run", run_on_new_thread, &run));
  latent_model_free (model);
  g_test_message ("system allocations: %" G_GUINT64_FORMAT " in %d warm blocks; new thread: %"
      G_GUINT64_FORMAT " in its first block, %" G_GUINT64_FORMAT " in 8 blocks after 2 more",
      same_thread, BLOCKS, run.first, run.rest);
  g_assert_cmpuint (same_thread, ==, 0);
  g_assert_cmpuint (run.first, >, 0); /* the counter sees a cold thread's blocks */
  g_assert_cmpuint (run.rest, ==, 0);
}

/* A model without reset() (RAVE and AFTER exports): warm-up then reset gives output identical
 * to a fresh load, and, once warm, no call optimises a graph again (a reload did: it cost
 * the whole optimisation inside the stream). */
static void
test_reset_restores_state (void)
{
  enum { BLOCK = 16, BLOCKS = 12 };
  float fresh[BLOCK * BLOCKS], warmed[BLOCK * BLOCKS], again[BLOCK * BLOCKS];
  LatentModel *model = open_fixture ("stateful-no-reset.ts");
  run_blocks (model, BLOCK, BLOCKS, fresh);
  latent_model_free (model);

  model = open_fixture ("stateful-no-reset.ts");
  GError *error = NULL;
  g_assert_true (latent_model_warm_up (model, "forward", BLOCK, &error));
  g_assert_no_error (error);
  guint64 streaming_before = 0, total_before = latent_backend_graph_compilations (&streaming_before);
  g_assert_cmpuint (total_before, >, 0); /* the counter sees the warm-up's optimisations */
  run_blocks (model, BLOCK, BLOCKS, warmed);
  g_assert_true (latent_model_reset (model, &error));
  g_assert_no_error (error);
  run_blocks (model, BLOCK, BLOCKS, again);
  guint64 streaming_after = 0, total_after = latent_backend_graph_compilations (&streaming_after);
  latent_model_free (model);

  g_assert_cmpmem (warmed, sizeof warmed, fresh, sizeof fresh);
  g_assert_cmpmem (again, sizeof again, fresh, sizeof fresh);
  /* The state is real: the same signal a second time (no reset) gives other output. */
  g_assert_cmpfloat (fabsf (fresh[BLOCK * BLOCKS - 1] - fresh[BLOCK - 1]), >, 0.1);
  g_assert_cmpuint (total_after, ==, total_before);
  g_assert_cmpuint (streaming_after, ==, streaming_before);
}

static void
test_wrong_shape (void)
{
  LatentModel *model = open_fixture ("wrong-shape.ts");
  float in[8] = { 0 }, out[4];
  GError *error = NULL;
  g_assert_false (latent_model_run (model, "encode", in, 8, out, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_RUN);
  g_assert_nonnull (strstr (error->message, "expected [1,2,2]"));
  g_clear_error (&error);
  /* Not a multiple of the ratio. */
  g_assert_false (latent_model_run (model, "encode", in, 6, out, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_error_free (error);
  latent_model_free (model);
}

/* Encodes `n` samples pushed in chunks of the given sizes (cycled); returns the latents. */
static float *
encode_in_chunks (LatentModel *model, int block, const float *signal, size_t n,
    const size_t *chunks, size_t n_chunks, size_t *n_frames)
{
  GError *error = NULL;
  g_assert_true (latent_model_reset (model, &error));
  LatentStream *stream = latent_stream_new (model, "encode", block, &error);
  g_assert_no_error (error);
  float *out = g_new0 (float, n + block);
  size_t done = 0, produced = 0;
  for (size_t i = 0; done < n; i++) {
    size_t take = MIN (chunks[i % n_chunks], n - done);
    size_t expect = latent_stream_output_frames (stream, take);
    g_assert_true (latent_stream_process (stream, signal + done, take, out + produced * 2, NULL,
        &error));
    produced += expect;
    done += take;
  }
  gssize tail = latent_stream_flush (stream, out + produced * 2, &error);
  g_assert_cmpint (tail, >=, 0);
  produced += tail;
  latent_stream_free (stream);
  *n_frames = produced;
  return out;
}

static void
test_stream_block_invariance (void)
{
  LatentModel *model = open_fixture ("stateful-codec.ts");
  const size_t n = 1001;
  float *signal = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    signal[i] = (float) ((i * 7) % 13) - 6.0f;

  /* Reference: one model call on the whole (zero-padded) signal. */
  size_t padded = (n + 3) / 4 * 4;
  float *whole = g_new0 (float, padded);
  memcpy (whole, signal, n * sizeof (float));
  float *ref = g_new (float, padded / 4 * 2);
  g_assert_true (latent_model_reset (model, NULL));
  g_assert_true (latent_model_run (model, "encode", whole, (int) padded, ref, NULL));

  const size_t patterns[][3] = { { 1, 1, 1 }, { 3, 64, 1000 }, { 7, 5, 2 }, { 4096, 1, 1 } };
  const int blocks[] = { 4, 8, 64 };
  for (guint b = 0; b < G_N_ELEMENTS (blocks); b++) {
    for (guint p = 0; p < G_N_ELEMENTS (patterns); p++) {
      size_t frames = 0;
      float *got = encode_in_chunks (model, blocks[b], signal, n, patterns[p], 3, &frames);
      /* Padding to the block may add frames past the reference's end; compare the overlap. */
      g_assert_cmpuint (frames, >=, padded / 4);
      for (size_t f = 0; f < padded / 4; f++) {
        /* Planar reference vs interleaved stream output. */
        g_assert_cmpfloat_with_epsilon (got[f * 2], ref[f], 1e-5);
        g_assert_cmpfloat_with_epsilon (got[f * 2 + 1], ref[padded / 4 + f], 1e-3);
      }
      g_free (got);
    }
  }
  g_free (ref);
  g_free (whole);
  g_free (signal);
  latent_model_free (model);
}

static void
test_stream_affine_and_nonfinite (void)
{
  LatentModel *model = open_fixture ("stateful-codec.ts");
  GError *error = NULL;
  LatentStream *stream = latent_stream_new (model, "decode", 2, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (latent_stream_output_frames (stream, 1), ==, 0);
  g_assert_cmpuint (latent_stream_output_frames (stream, 2), ==, 8);
  const float bias[] = { 1.0f, 0.0f }, scale[] = { 2.0f, 1.0f };
  latent_stream_set_input_affine (stream, bias, scale, 2);
  /* Two latent frames, interleaved [z0 z1]; decode repeats z0 four times. */
  const float z[] = { 0.5f, 9.0f, NAN, 9.0f };
  float out[8];
  size_t nonfinite = 0;
  g_assert_true (latent_stream_process (stream, z, 2, out, &nonfinite, &error));
  g_assert_cmpuint (nonfinite, ==, 1);
  for (int i = 0; i < 4; i++) {
    g_assert_cmpfloat (out[i], ==, 0.5f * 2.0f + 1.0f);
    g_assert_cmpfloat (out[4 + i], ==, 0.0f * 2.0f + 1.0f);
  }
  latent_stream_free (stream);

  g_assert_null (latent_stream_new (model, "encode", 6, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_error_free (error);
  latent_model_free (model);
}

static void
test_default_block (void)
{
  LatentModel *model = open_fixture ("stateful-codec.ts");
  LatentStream *enc = latent_stream_new (model, "encode", 0, NULL);
  LatentStream *dec = latent_stream_new (model, "decode", 0, NULL);
  /* Both cover 2048 audio samples per call. */
  g_assert_cmpint (latent_stream_get_block (enc), ==, 2048);
  g_assert_cmpint (latent_stream_get_block (dec), ==, 512);
  latent_stream_free (enc);
  latent_stream_free (dec);
  latent_model_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/model/methods-and-params", test_methods_and_params);
  g_test_add_func ("/model/v1-layout", test_v1_layout);
  g_test_add_func ("/model/attributes", test_attributes);
  g_test_add_func ("/model/open-errors", test_open_errors);
  g_test_add_func ("/model/wrong-shape", test_wrong_shape);
  g_test_add_func ("/model/torch2-attention", test_torch2_attention);
  g_test_add_func ("/model/reset-restores-state", test_reset_restores_state);
  g_test_add_func ("/model/tensor-memory-reused", test_tensor_memory_reused);
  g_test_add_func ("/stream/block-invariance", test_stream_block_invariance);
  g_test_add_func ("/stream/affine-and-nonfinite", test_stream_affine_and_nonfinite);
  g_test_add_func ("/stream/default-block", test_default_block);
  return g_test_run ();
}
