/* terrainplay: coordinates (audio/x-raw F32LE, one channel per control dim) -> audio/x-latent,
 * through a Latent Terrain file or the weights a terraintrain is training. See
 * gstterrainplay.c for timing and properties. */
#ifndef GST_TERRAIN_PLAY_H
#define GST_TERRAIN_PLAY_H

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_TERRAIN_PLAY (gst_terrain_play_get_type ())
G_DECLARE_FINAL_TYPE (GstTerrainPlay, gst_terrain_play, GST, TERRAIN_PLAY, GstElement)

G_END_DECLS

#endif /* GST_TERRAIN_PLAY_H */
