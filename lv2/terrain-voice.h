/* urn:latent:terrain's inference is core's terrain stream (latent_rt_terrain_stream_open,
 * core/latent-rt.h); this name stays for lv2/terrain.c until its next edit. */
#ifndef LATENT_LV2_TERRAIN_VOICE_H
#define LATENT_LV2_TERRAIN_VOICE_H

#include "latent.h"

#define latent_lv2_terrain_stream_new latent_rt_terrain_stream_open

#endif
