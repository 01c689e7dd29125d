/* The C table the LibTorch backend module exports. Only core/ includes this.
 * Every string returned by the backend is malloc'd: free it with free().
 * On failure a function returns 0 / NULL and sets *error (when error is not NULL)
 * to a one-line message that does not repeat the file name. */
#ifndef LATENT_TORCH_BACKEND_H
#define LATENT_TORCH_BACKEND_H

#include "latent.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LATENT_BACKEND_ABI 3
#define LATENT_BACKEND_ENTRY "latent_torch_backend"

typedef struct LatentTorchModule LatentTorchModule;

/* Called once per tensor by read_archive; the tensor's memory is only valid during the call. */
typedef int (*LatentArchiveVisitor) (const LatentNamedTensor *tensor, void *user_data);

typedef struct {
  int abi;
  /* e.g. "LibTorch 1.13.1" */
  const char *version;

  LatentTorchModule *(*load) (const char *path, char **error);
  void (*free) (LatentTorchModule *module);

  /* Every method the module has, NULL-terminated (free each and the array with free()). */
  char **(*list_methods) (LatentTorchModule *module);
  /* Calls a no-argument method returning List[str] (get_methods, get_attributes). */
  char **(*call_string_list) (LatentTorchModule *module, const char *method, char **error);
  /* Reads an attribute (int list, int or float tensor) as integers; returns the count, -1 if
   * missing or not numeric, -2 if a float value is not a whole number. */
  int (*get_int_list) (LatentTorchModule *module, const char *name, int64_t *values, int max);
  /* Reads a numeric attribute (int, float, bool or one-element tensor); 0 if missing. */
  int (*get_number) (LatentTorchModule *module, const char *name, double *value);
  /* Calls a no-argument method returning a number (or a one-element tensor or list). */
  int (*call_getter) (LatentTorchModule *module, const char *method, double *value,
      char **error);
  /* Calls method(value), converting value to the type the method's schema declares;
   * an int result is returned in *result (where not NULL). */
  int (*call_setter) (LatentTorchModule *module, const char *method, double value,
      double *result, char **error);
  /* Calls a method with no argument whose result is ignored (reset). */
  int (*call_void) (LatentTorchModule *module, const char *method, char **error);
  /* Runs method on float32 [1, in_channels, in_frames]; the result must be
   * [1, out_channels, out_frames] and is copied planar into out. A graph compilation during
   * a call with `streaming` set is counted in graph_compilations' *streaming. */
  int (*run) (LatentTorchModule *module, const char *method, const float *in,
      int in_channels, int in_frames, float *out, int out_channels, int out_frames,
      int threads, int streaming, char **error);
  /* Puts every tensor attribute that is not a parameter (buffers: convolution caches, counters)
   * back to its value right after load, in place: the optimised graphs survive, unlike a
   * reload. */
  int (*restore_state) (LatentTorchModule *module, char **error);
  /* TorchScript graph optimisations (one per method and argument kind) run in this process;
   * *streaming (when not NULL) gets those that happened inside streaming runs. */
  uint64_t (*graph_compilations) (uint64_t *streaming);
  /* Tensor memory blocks taken from the system, not from the backend's per-thread cache of
   * freed blocks (0 while the cache is off: LATENT_TENSOR_CACHE=0 or AddressSanitizer). */
  uint64_t (*tensor_allocations) (void);

  int (*read_archive) (const char *path, LatentArchiveVisitor visit, void *user_data,
      char **error);
  int (*write_archive) (const char *path, LatentNamedTensor *const *tensors, unsigned n,
      char **error);
} LatentTorchBackend;

typedef const LatentTorchBackend *(*LatentTorchBackendEntry) (int abi);

#ifdef __cplusplus
}
#endif

#endif /* LATENT_TORCH_BACKEND_H */
