/* Internal: the LibTorch backend module, opened on first use. */
#ifndef LATENT_BACKEND_H
#define LATENT_BACKEND_H

#include "torch/torch_backend.h"

/* The backend table, loading the module on the first call; NULL with an error if it fails. */
const LatentTorchBackend *latent_backend_get (GError **error);

/* Moves a backend error string (malloc'd) into a GError prefixed with `context`. */
void latent_backend_take_error (GError **error, LatentError code, char *message,
    const char *context_format, ...) G_GNUC_PRINTF (4, 5);

#endif
