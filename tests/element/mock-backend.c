/* A stand-in for core/torch's LibTorch backend, for memory checking only.
 *
 * LibTorch cannot run under valgrind on every machine (Debian's libtorch pulls in libhwy,
 * whose start-up executes RDTSCP; valgrind 3.19 raises SIGILL on it where the CPU does not
 * advertise the instruction, as on this project's VMs). The `valgrindmock` test setup
 * (tests/meson.build) points LATENT_TORCH_BACKEND at this module, so the elements, the core
 * and the tests are checked by valgrind with the model maths done here in plain C.
 *
 * It knows the fixtures of tests/data/make_fixtures.py by file name:
 *   stateful-codec.ts  sr 8000, encode [1,1,2,4] (mean of 4 samples, running sum of means
 *                      carried between calls), decode [2,4,1,1] (latent 0 repeated 4x),
 *                      forward = decode(encode), reset, get_methods, gain/steps attributes
 *   v1-style.ts        sampling_rate 16000, encode [1,1,3,4] ([f, -f, f/2]), decode [3,4,1,1]
 * Any other existing file is refused as "not a TorchScript archive (mock backend)". */
#include "torch_backend.h"

#include <stdlib.h>
#include <string.h>

struct LatentTorchModule {
  int v1;          /* v1-style fixture */
  float running;   /* stateful-codec's carried sum */
  double gain;
  double steps;
};

static char *
dup_c (const char *s)
{
  return s ? strdup (s) : NULL;
}

static void
set_error (char **error, const char *msg)
{
  if (error)
    *error = dup_c (msg);
}

static char **
strv_c (const char *const *items)
{
  int n = 0;
  while (items[n])
    n++;
  char **v = calloc ((size_t) n + 1, sizeof (char *));
  for (int i = 0; i < n; i++)
    v[i] = dup_c (items[i]);
  return v;
}

static LatentTorchModule *
mock_load (const char *path, char **error)
{
  const char *base = strrchr (path, '/');
  base = base ? base + 1 : path;
  LatentTorchModule *m = calloc (1, sizeof *m);
  m->gain = 1.0;
  m->steps = 4;
  if (!strcmp (base, "stateful-codec.ts"))
    return m;
  if (!strcmp (base, "v1-style.ts")) {
    m->v1 = 1;
    return m;
  }
  free (m);
  set_error (error, "not a TorchScript archive (mock backend: only the test fixtures load)");
  return NULL;
}

static void
mock_free (LatentTorchModule *m)
{
  free (m);
}

static char **
mock_list_methods (LatentTorchModule *m)
{
  static const char *codec[] = { "encode", "decode", "forward", "reset", "get_methods",
    "get_attributes", "get_gain", "set_gain", "get_steps", "set_steps", NULL };
  static const char *v1[] = { "encode", "decode", NULL };
  return strv_c (m->v1 ? v1 : codec);
}

static char **
mock_call_string_list (LatentTorchModule *m, const char *method, char **error)
{
  static const char *methods[] = { "encode", "decode", "forward", NULL };
  static const char *attrs[] = { "gain", "steps", NULL };
  if (!m->v1 && !strcmp (method, "get_methods"))
    return strv_c (methods);
  if (!m->v1 && !strcmp (method, "get_attributes"))
    return strv_c (attrs);
  set_error (error, "no such method");
  return NULL;
}

static int
mock_get_int_list (LatentTorchModule *m, const char *name, int64_t *values, int max)
{
  int64_t p[4];
  int lat = m->v1 ? 3 : 2;
  if (!strcmp (name, "encode_params"))
    memcpy (p, (int64_t[4]) { 1, 1, lat, 4 }, sizeof p);
  else if (!strcmp (name, "decode_params"))
    memcpy (p, (int64_t[4]) { lat, 4, 1, 1 }, sizeof p);
  else if (!m->v1 && !strcmp (name, "forward_params"))
    memcpy (p, (int64_t[4]) { 1, 1, 1, 1 }, sizeof p);
  else
    return -1;
  for (int i = 0; i < 4 && i < max; i++)
    values[i] = p[i];
  return 4;
}

static int
mock_get_number (LatentTorchModule *m, const char *name, double *value)
{
  if (!m->v1 && !strcmp (name, "sr")) {
    *value = 8000;
    return 1;
  }
  if (m->v1 && !strcmp (name, "sampling_rate")) {
    *value = 16000;
    return 1;
  }
  return 0;
}

static int
mock_call_getter (LatentTorchModule *m, const char *method, double *value, char **error)
{
  if (!m->v1 && !strcmp (method, "get_gain"))
    *value = m->gain;
  else if (!m->v1 && !strcmp (method, "get_steps"))
    *value = m->steps;
  else {
    set_error (error, "no such method");
    return 0;
  }
  return 1;
}

static int
mock_call_setter (LatentTorchModule *m, const char *method, double value, double *result,
    char **error)
{
  double status = 0;
  if (!m->v1 && !strcmp (method, "set_gain"))
    m->gain = value;
  else if (!m->v1 && !strcmp (method, "set_steps")) {
    if (value < 1 || value > 16)
      status = -1;
    else
      m->steps = (int) value;
  } else {
    set_error (error, "no such method");
    return 0;
  }
  if (result)
    *result = status;
  return 1;
}

static int
mock_call_void (LatentTorchModule *m, const char *method, char **error)
{
  if (!m->v1 && !strcmp (method, "reset")) {
    m->running = 0;
    return 1;
  }
  set_error (error, "no such method");
  return 0;
}

/* encode: T samples -> [lat][T/4] */
static void
encode (LatentTorchModule *m, const float *in, int t, float *out)
{
  int f = t / 4;
  for (int k = 0; k < f; k++) {
    float s = 0;
    for (int i = 0; i < 4; i++)
      s += in[k * 4 + i];
    float mean = s / 4.0f;
    if (m->v1) {
      out[k] = mean;
      out[f + k] = -mean;
      out[2 * f + k] = mean * 0.5f;
    } else {
      m->running += mean;
      out[k] = mean * (float) m->gain;
      out[f + k] = m->running * (float) m->gain;
    }
  }
}

static int
mock_run (LatentTorchModule *m, const char *method, const float *in, int in_channels,
    int in_frames, float *out, int out_channels, int out_frames, int threads, int streaming,
    char **error)
{
  if (!strcmp (method, "encode")) {
    if (in_frames % 4) {
      set_error (error, "shape '[1, 1, -1, 4]' is invalid (mock)");
      return 0;
    }
    encode (m, in, in_frames, out);
    return 1;
  }
  if (!strcmp (method, "decode")) {
    for (int k = 0; k < in_frames; k++)
      for (int i = 0; i < 4; i++)
        out[k * 4 + i] = in[k];
    return 1;
  }
  if (!m->v1 && !strcmp (method, "forward")) {
    if (in_frames % 4) {
      set_error (error, "shape '[1, 1, -1, 4]' is invalid (mock)");
      return 0;
    }
    float *z = malloc (sizeof (float) * (size_t) in_frames / 2);
    encode (m, in, in_frames, z);
    for (int k = 0; k < in_frames / 4; k++)
      for (int i = 0; i < 4; i++)
        out[k * 4 + i] = z[k];
    free (z);
    return 1;
  }
  set_error (error, "no such method");
  return 0;
}

static int
mock_read_archive (const char *path, LatentArchiveVisitor visit, void *user_data, char **error)
{
  set_error (error, "archives are not supported by the mock backend");
  return 0;
}

static int
mock_write_archive (const char *path, LatentNamedTensor *const *tensors, unsigned n,
    char **error)
{
  set_error (error, "archives are not supported by the mock backend");
  return 0;
}

/* The state as loaded: the carried sum starts at 0. */
static int
mock_restore_state (LatentTorchModule *m, char **error)
{
  m->running = 0;
  return 1;
}

/* The mock never optimises a graph. */
static uint64_t
mock_graph_compilations (uint64_t *streaming)
{
  if (streaming)
    *streaming = 0;
  return 0;
}

static const LatentTorchBackend mock_backend = {
  .abi = LATENT_BACKEND_ABI,
  .version = "mock (tests/element/mock-backend.c)",
  .load = mock_load,
  .free = mock_free,
  .list_methods = mock_list_methods,
  .call_string_list = mock_call_string_list,
  .get_int_list = mock_get_int_list,
  .get_number = mock_get_number,
  .call_getter = mock_call_getter,
  .call_setter = mock_call_setter,
  .call_void = mock_call_void,
  .run = mock_run,
  .restore_state = mock_restore_state,
  .graph_compilations = mock_graph_compilations,
  .read_archive = mock_read_archive,
  .write_archive = mock_write_archive,
};

__attribute__ ((visibility ("default"))) const LatentTorchBackend *
latent_torch_backend (int abi)
{
  return abi == LATENT_BACKEND_ABI ? &mock_backend : NULL;
}
