/* urn:latent:terrain's inference: a LatentRtStream (core/latent-rt.h) whose worker turns
 * coordinates into audio. Input: 2 interleaved channels (x, y) at audio rate; per latent frame
 * the terrain runs at the coordinate of the frame's centre, interpolated linearly (the core
 * rule, latent_terrain_sample_control; 1-dim terrains use x only, dims past the
 * second get 0), then the decoder's `decode` turns the frames into audio (channels averaged to
 * mono). Output: 1 channel. */
#ifndef LATENT_LV2_TERRAIN_VOICE_H
#define LATENT_LV2_TERRAIN_VOICE_H

#include "latent.h"

/* Off the audio thread: loads both files, checks that they fit each other
 * (LATENT_ERROR_SHAPE naming the file and both numbers), warms the decoder up and starts the
 * worker. The block: one latent frame (LATENT_RT_LATENCY_LOW) or the smallest whole number of
 * latent frames covering 2048 samples (SAFE), at the decoder's rate (a decoder at another
 * rate than the host's is resampled on the worker, core/latent-rt.h, and the delay is part of
 * the stream's latency). margin_hint: LatentRtConfig.margin_hint. */
LatentRtStream *latent_lv2_terrain_stream_new (const char *terrain_path,
    const char *model_path, double rate, int max_host_block, int threads,
    LatentRtLatency latency, int margin_hint, GError **error);

#endif
