/* A backend module (core/torch/torch_backend.h) whose models and archives are described by
 * the fuzzer's input, so that the harnesses exercise core/'s reading of `_params`,
 * get_methods, get_attributes, `sr`, attribute accessors and named-tensor lists, not
 * LibTorch's own parsers. What a file fixes (methods, lists, `_params`, `sr`) is read when
 * core/ loads the model (fuzz_load); what a call returns (run, getters, setters, reset) is
 * read lazily, one answer per call, in the order core/ calls; archives are read whole
 * (fuzz_read_archive). An exhausted input answers "success, nothing, zero" (fuzz-input.h).
 *
 * The answers keep the backend's side of the contract, as LibTorch's backend does: strings
 * are malloc'd and NUL-terminated, tensors have 0..8 dimensions, sizes >= 0, and numel
 * elements of data. Where core/ hands buffers in (run), every element of both is touched so
 * that AddressSanitizer reports a caller whose buffer is shorter than the shape it declared. */
#include "fuzz-backend.h"
#include "fuzz-input.h"
#include "torch_backend.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static FuzzInput input;

void
latent_fuzz_backend_feed (const uint8_t *data, size_t size)
{
  input = (FuzzInput) { data, size, 0 };
}

const char *
latent_fuzz_backend_install (void)
{
  static char model_path[4096];
  Dl_info self;
  if (!dladdr ((void *) latent_fuzz_backend_feed, &self) || !self.dli_fname) {
    fprintf (stderr, "fuzz-backend: cannot find my own path\n");
    abort ();
  }
  setenv ("LATENT_TORCH_BACKEND", self.dli_fname, 1);
  /* An empty file beside the module: the name only has to exist. */
  const char *slash = strrchr (self.dli_fname, '/');
  int dir_len = slash ? (int) (slash - self.dli_fname) : 1;
  snprintf (model_path, sizeof model_path, "%.*s/fuzz-model.ts", dir_len,
      slash ? self.dli_fname : ".");
  int fd = open (model_path, O_WRONLY | O_CREAT, 0644);
  if (fd < 0) {
    perror (model_path);
    abort ();
  }
  close (fd);
  return model_path;
}

/* Names core/ looks for, so that one input byte reaches each of them. */
static const char *const method_words[] = {
  "encode", "decode", "forward", "get_methods", "get_attributes", "get_sample_rate",
  "reset", "structure", "timbre", "diffuse", "generate", "get_nb_steps", "set_nb_steps",
  "get_guidance_structure", "set_guidance_structure", "get_guidance_timbre",
  "set_guidance_timbre", "get_gain", "set_gain", "get_", "set_", "nb_steps",
  "guidance_structure", "guidance_timbre", "gain", "none", "",
};
#define N_METHOD_WORDS (sizeof method_words / sizeof method_words[0])

static const char *const tensor_words[] = {
  "m_in_dim", "m_out_dim", "m_cmax", "m_mapping_size", "m_gauss_scale", "two_pi", "B_T",
  "fc_in_gau.weight", "fc_in_gau.bias", "fc_in_linear.weight", "fc_in_linear.bias",
  "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias", "fc4.weight", "fc4.bias",
  "fc_out.weight", "fc_out.bias", "prelu1.weight", "prelu2.weight", "prelu3.weight",
  "prelu4.weight",
};
#define N_TENSOR_WORDS (sizeof tensor_words / sizeof tensor_words[0])

/* What a TorchScript file fixes when it is loaded: read once from the input by load, so that
 * repeated questions get the same answer, as from a real file. */
#define MAX_PARAMS 8

typedef struct {
  char *method;   /* the list is "<method>_params" */
  int count;      /* values in the list; -1: not numeric, -2: floats that are not whole */
  int64_t values[8];
} ParamsList;

struct LatentTorchModule {
  char **methods;          /* every method, NULL-terminated */
  char **listed_methods;   /* get_methods() result; NULL: it raises */
  char **listed_attributes;
  ParamsList params[MAX_PARAMS];
  int n_params;
  int has_sr, has_sampling_rate;
  double sr, sampling_rate;
};

static void
set_error (char **error, const char *message)
{
  if (error)
    *error = strdup (message);
}

/* Up to 15 names, NULL-terminated, malloc'd. */
static char **
take_names (unsigned count)
{
  char **names = calloc (count + 1, sizeof (char *));
  for (unsigned i = 0; i < count; i++)
    names[i] = fuzz_take_string (&input, method_words, N_METHOD_WORDS);
  return names;
}

/* A name list a method returns (bit 0 of the first byte: it raises instead). */
static char **
take_name_list (void)
{
  const uint8_t answer = fuzz_take_u8 (&input);
  return answer & 1 ? NULL : take_names ((answer >> 1) % 16);
}

static char **
copy_names (char *const *names)
{
  if (!names)
    return NULL;
  unsigned n = 0;
  while (names[n])
    n++;
  char **copy = calloc (n + 1, sizeof (char *));
  for (unsigned i = 0; i < n; i++)
    copy[i] = strdup (names[i]);
  return copy;
}

static void
free_names (char **names)
{
  for (char **n = names; n && *n; n++)
    free (*n);
  free (names);
}

/* Model description: a load byte (3: the load fails), the methods, get_methods() and
 * get_attributes() results, up to 7 `_params` lists (method name, a count code, the values),
 * then `sr` and `sampling_rate` (a presence byte, then the value). */
static LatentTorchModule *
fuzz_load (const char *path, char **error)
{
  if ((fuzz_take_u8 (&input) & 3) == 3) {
    char *why = fuzz_take_string (&input, method_words, 0);
    set_error (error, why);
    free (why);
    return NULL;
  }
  LatentTorchModule *m = calloc (1, sizeof (LatentTorchModule));
  m->methods = take_names (fuzz_take_u8 (&input) % 16);
  m->listed_methods = take_name_list ();
  m->listed_attributes = take_name_list ();
  /* The counts a list can have: lengths around 4, not numeric, not whole, very long. */
  static const int counts[] = { 4, -1, -2, 0, 1, 3, 5, 4096 };
  m->n_params = fuzz_take_u8 (&input) % MAX_PARAMS;
  for (int i = 0; i < m->n_params; i++) {
    ParamsList *list = &m->params[i];
    list->method = fuzz_take_string (&input, method_words, N_METHOD_WORDS);
    list->count = counts[fuzz_take_u8 (&input) % 8];
    for (int v = 0; v < list->count && v < 8; v++)
      list->values[v] = fuzz_take_i64 (&input);
  }
  if ((m->has_sr = !(fuzz_take_u8 (&input) & 1)))
    m->sr = fuzz_take_double (&input);
  if ((m->has_sampling_rate = !(fuzz_take_u8 (&input) & 1)))
    m->sampling_rate = fuzz_take_double (&input);
  return m;
}

static void
fuzz_free (LatentTorchModule *m)
{
  free_names (m->methods);
  free_names (m->listed_methods);
  free_names (m->listed_attributes);
  for (int i = 0; i < m->n_params; i++)
    free (m->params[i].method);
  free (m);
}

static char **
fuzz_list_methods (LatentTorchModule *m)
{
  return copy_names (m->methods);
}

static char **
fuzz_call_string_list (LatentTorchModule *m, const char *method, char **error)
{
  char **listed = !strcmp (method, "get_methods") ? m->listed_methods
      : !strcmp (method, "get_attributes") ? m->listed_attributes : NULL;
  if (!listed)
    set_error (error, "fuzz: the method raised");
  return copy_names (listed);
}

/* As LibTorch's backend: the full count, at most `max` values written. */
static int
fuzz_get_int_list (LatentTorchModule *m, const char *name, int64_t *values, int max)
{
  const size_t suffix = strlen ("_params"), length = strlen (name);
  for (int i = 0; i < m->n_params; i++) {
    const ParamsList *list = &m->params[i];
    if (length == strlen (list->method) + suffix && !strncmp (name, list->method, length - suffix)
        && !strcmp (name + length - suffix, "_params")) {
      for (int v = 0; v < list->count && v < max; v++)
        values[v] = v < 8 ? list->values[v] : 0;
      return list->count;
    }
  }
  return -1;
}

static int
fuzz_get_number (LatentTorchModule *m, const char *name, double *value)
{
  if (!strcmp (name, "sr") && m->has_sr)
    *value = m->sr;
  else if (!strcmp (name, "sampling_rate") && m->has_sampling_rate)
    *value = m->sampling_rate;
  else
    return 0;
  return 1;
}

static int
fuzz_call_getter (LatentTorchModule *module, const char *method, double *value, char **error)
{
  if (fuzz_take_u8 (&input) & 1) {
    set_error (error, "fuzz: the getter raised");
    return 0;
  }
  *value = fuzz_take_double (&input);
  return 1;
}

static int
fuzz_call_setter (LatentTorchModule *module, const char *method, double value, double *result,
    char **error)
{
  const uint8_t answer = fuzz_take_u8 (&input);
  if (answer & 1) {
    set_error (error, "fuzz: the setter raised");
    return 0;
  }
  if (result)
    *result = answer & 2 ? fuzz_take_double (&input) : 0.0;
  return 1;
}

static int
fuzz_call_void (LatentTorchModule *module, const char *method, char **error)
{
  if (fuzz_take_u8 (&input) & 1) {
    set_error (error, "fuzz: the method raised");
    return 0;
  }
  return 1;
}

static int
fuzz_run (LatentTorchModule *module, const char *method, const float *in, int in_channels,
    int in_frames, float *out, int out_channels, int out_frames, int threads, int streaming,
    char **error)
{
  if (in_channels < 1 || in_frames < 1 || out_channels < 1 || out_frames < 0) {
    fprintf (stderr, "fuzz-backend: run(%s) called with in [%d, %d], out [%d, %d]\n", method,
        in_channels, in_frames, out_channels, out_frames);
    abort ();
  }
  volatile float sum = 0.0f;
  for (size_t i = 0; i < (size_t) in_channels * in_frames; i++)
    sum += in[i];
  (void) sum;
  const uint8_t answer = fuzz_take_u8 (&input);
  if (answer & 1) {
    set_error (error, "fuzz: the method raised");
    return 0;
  }
  /* Output values: one taken value everywhere (it may be NaN or inf: core must cope). */
  const float value = answer & 2 ? (float) fuzz_take_double (&input) : 0.0f;
  for (size_t i = 0; i < (size_t) out_channels * out_frames; i++)
    out[i] = value;
  return 1;
}

static int
fuzz_restore_state (LatentTorchModule *module, char **error)
{
  return fuzz_call_void (module, "restore_state", error);
}

static uint64_t
fuzz_graph_compilations (uint64_t *streaming)
{
  if (streaming)
    *streaming = 0;
  return 0;
}

/* Larger tensors are skipped: they would only slow the fuzzer down. */
#define MAX_TENSOR_ELEMENTS (1 << 16)

/* One archive: a header byte (bit 7: the archive cannot be read), then tensors until the
 * input ends, each: name (fuzz_take_string), flags (bit 0: int64, bit 1: buffer, bits 2..7:
 * ndim mod 9), one byte per dimension (255 stands for 2^20), then the elements' bytes. */
static int
fuzz_read_archive (const char *path, LatentArchiveVisitor visit, void *user_data,
    char **error)
{
  if (fuzz_take_u8 (&input) & 0x80) {
    set_error (error, "fuzz: not a TorchScript archive");
    return 0;
  }
  while (fuzz_input_left (&input) > 0) {
    LatentNamedTensor t = { 0 };
    t.name = fuzz_take_string (&input, tensor_words, N_TENSOR_WORDS);
    const uint8_t flags = fuzz_take_u8 (&input);
    t.dtype = flags & 1 ? LATENT_DTYPE_INT64 : LATENT_DTYPE_FLOAT32;
    t.is_buffer = (flags >> 1) & 1;
    t.ndim = (flags >> 2) % 9;
    int64_t numel = 1;
    for (int d = 0; d < t.ndim; d++) {
      const uint8_t size = fuzz_take_u8 (&input);
      t.shape[d] = size == 255 ? (int64_t) 1 << 20 : size;
      numel = numel * t.shape[d] > MAX_TENSOR_ELEMENTS ? MAX_TENSOR_ELEMENTS + 1
                                                       : numel * t.shape[d];
    }
    if (numel > MAX_TENSOR_ELEMENTS) {
      free (t.name);
      continue;
    }
    const size_t bytes = (size_t) numel * (t.dtype == LATENT_DTYPE_INT64 ? 8 : 4);
    /* Exactly numel elements, so ASan sees any read past them. */
    t.data = malloc (bytes ? bytes : 1);
    fuzz_take_bytes (&input, t.data, bytes);
    const int keep_going = visit (&t, user_data);
    free (t.data);
    free (t.name);
    if (!keep_going)
      return 0;
  }
  return 1;
}

static int
fuzz_write_archive (const char *path, LatentNamedTensor *const *tensors, unsigned n,
    char **error)
{
  set_error (error, "fuzz: the fuzz backend writes no archives");
  return 0;
}

static const LatentTorchBackend fuzz_backend = {
  .abi = LATENT_BACKEND_ABI,
  .version = "fuzz backend",
  .load = fuzz_load,
  .free = fuzz_free,
  .list_methods = fuzz_list_methods,
  .call_string_list = fuzz_call_string_list,
  .get_int_list = fuzz_get_int_list,
  .get_number = fuzz_get_number,
  .call_getter = fuzz_call_getter,
  .call_setter = fuzz_call_setter,
  .call_void = fuzz_call_void,
  .run = fuzz_run,
  .restore_state = fuzz_restore_state,
  .graph_compilations = fuzz_graph_compilations,
  .read_archive = fuzz_read_archive,
  .write_archive = fuzz_write_archive,
};

__attribute__ ((visibility ("default"))) const LatentTorchBackend *
latent_torch_backend (int abi)
{
  return abi == LATENT_BACKEND_ABI ? &fuzz_backend : NULL;
}
