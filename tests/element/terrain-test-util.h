/* Helpers of test-terrain-elements.c (see terrain-test-util.c). */
#ifndef TERRAIN_TEST_UTIL_H
#define TERRAIN_TEST_UTIL_H

#include <gst/gst.h>
#include <stddef.h>

G_BEGIN_DECLS

#define MODEL LATENT_SOURCE_ROOT "/models/rave-gm.ts"
#define CLIPS LATENT_SOURCE_ROOT "/models/clips"
#define SR 44100
#define RATIO 1024
#define LATENTS 8
#define COORD_RATE 1000
/* terraintrain's straight layout (core/latent-terrain.h): canvas units per frame. */
#define FRAME_SPACING 0.25

typedef struct {
  GArray *losses;        /* double, from latent-terrain-progress */
  gboolean saved, eos, state_failed;
  char *error;
} TrainResult;

/* Coordinates for the coords pad: one fragment, COORD_RATE Hz. */
typedef struct {
  const float *values;
  size_t n;
  int channels;
} Coords;

/* The clip's latents through `raveencode` (n frames of LATENTS). */
float *encode_clip (const char *name, size_t *n);
/* Pushes one fragment as its own segment (appsrc sends a new SEGMENT for a changed one). */
void push_fragment (GstElement *appsrc, const float *latents, size_t n, guint index);
/* appsrc (latent fragments, one segment each) ! terraintrain PROPS, and with `coords` a
 * second appsrc into the coords pad; waits for EOS or error. `before_eos` (may be NULL) runs
 * after the data, before EOS is sent. */
TrainResult train_with (float **fragments, const size_t *frames, guint n, const Coords *coords,
    const char *props, void (*before_eos) (void));
TrainResult train (float **fragments, const size_t *frames, guint n, const char *props,
    void (*before_eos) (void));
void train_result_clear (TrainResult *r);
/* Coordinates (COORD_RATE Hz, 2 channels) whose value at the centre of latent frame j is the
 * straight layout's point j of an n-frame fragment at height y. */
float *straight_path (size_t n, double y, size_t *n_samples);
/* Pearson correlation of a[i*stride] and b[i*stride]. */
double correlation (const float *a, const float *b, size_t n, int stride);

G_END_DECLS

#endif /* TERRAIN_TEST_UTIL_H */
