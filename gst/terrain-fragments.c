/* Fragments of terraintrain and their layouts (see terrain-fragments.h). */
#include "terrain-fragments.h"


TerrainFragment *
terrain_fragment_new (int channels, double frame_duration)
{
  TerrainFragment *f = g_new0 (TerrainFragment, 1);
  f->channels = channels;
  f->frame_duration = frame_duration;
  f->values = g_array_new (FALSE, FALSE, sizeof (float));
  f->times = g_array_new (FALSE, FALSE, sizeof (double));
  return f;
}

void
terrain_fragment_free (TerrainFragment *fragment)
{
  if (!fragment)
    return;
  g_array_unref (fragment->values);
  g_array_unref (fragment->times);
  g_free (fragment);
}

gsize
terrain_fragment_n_frames (const TerrainFragment *fragment)
{
  return fragment->times->len;
}

void
terrain_fragment_append (TerrainFragment *fragment, const float *frames, gsize n, double start)
{
  g_array_append_vals (fragment->values, frames, (guint) (n * fragment->channels));
  for (gsize i = 0; i < n; i++) {
    double t = start + (double) i * fragment->frame_duration;
    g_array_append_val (fragment->times, t);
  }
}

float *
terrain_fragment_pair_coordinates (const TerrainFragment *latents,
    const TerrainFragment *coords)
{
  const gsize n = terrain_fragment_n_frames (latents);
  const int dims = coords->channels;
  float *out = g_new0 (float, n * dims);
  const LatentControlSignal signal = {
    .values = (const float *) coords->values->data, .times = (const double *) coords->times->data,
    .n = terrain_fragment_n_frames (coords), .dims = dims,
  };
  gsize cursor = 0;
  for (gsize j = 0; j < n; j++) {
    const double centre = g_array_index (latents->times, double, j) + latents->frame_duration / 2;
    latent_terrain_sample_control (&signal, centre, &cursor, out + j * dims);
  }
  return out;
}

float **
terrain_layout_coordinates (LatentTerrainLayout layout, TerrainFragment *const *latents,
    guint n, int control_dims)
{
  float **out = g_new0 (float *, n);
  const float **values = g_new (const float *, MAX (n, 1));
  gsize *n_frames = g_new (gsize, MAX (n, 1));
  for (guint f = 0; f < n; f++) {
    n_frames[f] = terrain_fragment_n_frames (latents[f]);
    values[f] = (const float *) latents[f]->values->data;
    out[f] = g_new0 (float, n_frames[f] * control_dims);
  }
  latent_terrain_layout (layout, values, n_frames, n, n ? latents[0]->channels : 0,
      control_dims, out);
  g_free (values);
  g_free (n_frames);
  return out;
}
