/* Internal to core/: model functions the adapters never call. */
#ifndef LATENT_MODEL_PRIVATE_H
#define LATENT_MODEL_PRIVATE_H

#include "latent.h"

/* Warm-up code clears this while it runs a model's methods and sets it when done: graph
 * optimisations in runs of a warm model are counted as streaming compilations (a bug). */
void latent_model_set_warm (LatentModel *model, gboolean warm);

#endif
