/* terraintrain: trains a Latent Terrain from latent streams (and optional coordinates) and
 * writes it as an nn_terrain .pt checkpoint. A sink: it posts EOS itself once the file is
 * written. See gstterraintrain.c for pads, properties and bus messages. */
#ifndef GST_TERRAIN_TRAIN_H
#define GST_TERRAIN_TRAIN_H

#include <gst/gst.h>
#include "latent.h"

G_BEGIN_DECLS

#define GST_TYPE_TERRAIN_TRAIN (gst_terrain_train_get_type ())
G_DECLARE_FINAL_TYPE (GstTerrainTrain, gst_terrain_train, GST, TERRAIN_TRAIN, GstElement)

/* The weights being trained, for terrainplay's `follow`: a new reference, or NULL while there
 * is none yet (the network is made when the first latent caps arrive) or while another thread
 * holds the short lock around the pointer. Never waits: callable from a streaming thread. */
LatentTerrainPublisher *gst_terrain_train_try_ref_publisher (GstTerrainTrain *self);

/* The network configuration the element will train (control dims, channels, features, gauss
 * scale; latent_dims 0 until the first latent caps). */
void gst_terrain_train_get_config (GstTerrainTrain *self, LatentTerrainConfig *config);

G_END_DECLS

#endif /* GST_TERRAIN_TRAIN_H */
