/* latent: the error domain and the model and stream types every public header of core/ shares.
 * latent.h includes it with the rest of the API; the part headers (latent-terrain.h,
 * latent-after.h, latent-rt.h, latent-resample.h) include it so each compiles on its own. */
#ifndef LATENT_TYPES_H
#define LATENT_TYPES_H

#include <glib.h>

G_BEGIN_DECLS

#define LATENT_ERROR (latent_error_quark ())
GQuark latent_error_quark (void);

typedef enum {
  LATENT_ERROR_BACKEND,   /* the LibTorch backend module could not be opened */
  LATENT_ERROR_LOAD,      /* the file is missing, unreadable or not TorchScript */
  LATENT_ERROR_METHOD,    /* the model lacks a method, or its _params are unusable */
  LATENT_ERROR_ATTRIBUTE, /* get_NAME / set_NAME missing or refused */
  LATENT_ERROR_SHAPE,     /* sizes or channel counts do not fit */
  LATENT_ERROR_RUN,       /* the model raised while running */
  LATENT_ERROR_FORMAT,    /* a data file (dataset, checkpoint) is malformed */
  LATENT_ERROR_IO,        /* writing or reading a file failed */
  LATENT_ERROR_CANCELLED,
} LatentError;

/* ---------------------------------------------------------------- models */

/* A method's shape contract, read from its `M_params` buffer (nn~ convention):
 * called with T input frames it returns T * in_ratio / out_ratio output frames.
 * A ratio is "audio samples per frame" on that side (1 = audio rate). */
typedef struct {
  int in_channels;
  int in_ratio;
  int out_channels;
  int out_ratio;
} LatentMethodInfo;

typedef struct LatentModel LatentModel;

/* A method run on whole model blocks of any input block pattern (latent.h, "streaming"). */
typedef struct LatentStream LatentStream;

G_END_DECLS

#endif /* LATENT_TYPES_H */
