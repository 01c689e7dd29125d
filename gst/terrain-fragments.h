/* Fragments collected by terraintrain and how they become a training dataset.
 *
 * A fragment is what one pad received in one segment: frames of `channels` floats, each with the
 * stream time (seconds) at which it starts. Latent fragments are paired frame by frame with the
 * coordinate fragment of the same index (time-aligned, below) or laid out on the canvas by the
 * element itself (a core layout: straight paths or a PCA projection). Plain C + GLib: no
 * GStreamer here. */
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

/* Coordinates for every latent frame by the core rule (latent_terrain_sample_control: the
 * coordinate at the frame's centre time, interpolated linearly). Returns
 * n_frames(latents) * coords->channels floats. */
float *terrain_fragment_pair_coordinates (const TerrainFragment *latents,
    const TerrainFragment *coords);

/* Coordinates for every frame of every latent fragment (n fragments) by a core layout
 * (latent_terrain_layout), `control_dims` floats per frame, one array per fragment (free with
 * g_free). */
float **terrain_layout_coordinates (LatentTerrainLayout layout,
    TerrainFragment *const *latents, guint n, int control_dims);

G_END_DECLS

#endif /* TERRAIN_FRAGMENTS_H */
