/* Fragments collected by terraintrain and how they become a training dataset.
 *
 * A fragment is what one pad received in one segment: frames of `channels` floats, each with the
 * stream time (seconds) at which it starts. Latent fragments are paired frame by frame with the
 * coordinate fragment of the same index (time-aligned, below) or laid out on the canvas by the
 * element itself (straight paths or a PCA projection). Plain C + GLib: no GStreamer here. */
#ifndef TERRAIN_FRAGMENTS_H
#define TERRAIN_FRAGMENTS_H

#include <glib.h>
#include "latent.h"

G_BEGIN_DECLS

typedef struct {
  int channels;
  double frame_duration; /* seconds one frame stands for (ratio/rate, or 1/rate for coords) */
  GArray *values;        /* float, frames * channels, interleaved */
  GArray *times;         /* double, stream time of each frame's start, seconds */
} TerrainFragment;

TerrainFragment *terrain_fragment_new (int channels, double frame_duration);
void terrain_fragment_free (TerrainFragment *fragment);
gsize terrain_fragment_n_frames (const TerrainFragment *fragment);
/* Appends n frames starting at `start` seconds, spaced frame_duration apart. */
void terrain_fragment_append (TerrainFragment *fragment, const float *frames, gsize n,
    double start);

/* Coordinates at the centre time of every latent frame, interpolated linearly between the two
 * coordinate samples around it (before the first sample: the first; after the last: the last).
 * Returns n_frames(latents) * coords->channels floats. */
float *terrain_fragment_pair_coordinates (const TerrainFragment *latents,
    const TerrainFragment *coords);

typedef enum {
  TERRAIN_LAYOUT_STRAIGHT, /* one straight path per fragment along x, fragments apart in y */
  TERRAIN_LAYOUT_PCA,      /* each frame at its latent's projection on the principal axes */
} TerrainLayout;

/* Canvas units per latent frame along a straight path, and between neighbouring paths. */
#define TERRAIN_LAYOUT_FRAME_SPACING 0.25f
#define TERRAIN_LAYOUT_PATH_SPACING 4.0f
/* PCA layout: one standard deviation along a principal axis spans this many canvas units. */
#define TERRAIN_LAYOUT_PCA_SCALE 4.0f

/* Coordinates for every frame of every latent fragment (n fragments), `control_dims` floats
 * per frame, one array per fragment (free with g_free). Straight paths are centred on x = 0,
 * path i at y = (i - (n-1)/2) * PATH_SPACING (with one control dim: end to end along x, one
 * PATH_SPACING apart). PCA uses the first min(control_dims, 2) principal axes of all frames;
 * other dims are 0. */
float **terrain_layout_coordinates (TerrainLayout layout, TerrainFragment *const *latents,
    guint n, int control_dims);

G_END_DECLS

#endif /* TERRAIN_FRAGMENTS_H */
