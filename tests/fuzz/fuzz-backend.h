/* The fuzz-controlled stand-in for the LibTorch backend (fuzz-backend.c): every answer core/
 * asks of a model or an archive comes from the fuzzer's input. */
#ifndef LATENT_FUZZ_BACKEND_H
#define LATENT_FUZZ_BACKEND_H

#include <stddef.h>
#include <stdint.h>

/* Points LATENT_TORCH_BACKEND at this module (the copy already loaded in this process, so
 * core's g_module_open finds it) and returns the path of an existing file for core to
 * "open": model and archive readers refuse paths that are not regular files. */
const char *latent_fuzz_backend_install (void);

/* The bytes the next answers are read from (kept, not copied: valid until the next call). */
void latent_fuzz_backend_feed (const uint8_t *data, size_t size);

#endif
