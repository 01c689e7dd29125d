/* latent: fixed-ratio streaming sample-rate conversion (libsamplerate), for hosts whose rate
 * differs from a model's (the LV2 plugins; latent-rt.h does it on its worker thread).
 *
 * A LatentResampler converts interleaved frames of `channels` channels from rate_in to
 * rate_out. Audio channels go through libsamplerate's band-limited sinc converter
 * (SRC_SINC_MEDIUM_QUALITY: 97 dB SNR, 90% of the lower Nyquist passed, linear phase);
 * channels flagged in `hold_mask` (bit i = channel i: controls, MIDI pitch and velocity) go
 * through its zero-order hold, so steps stay steps and values never overshoot.
 *
 * Timing: output is aligned, not delayed: output frame j is the input at time
 * j * rate_in / rate_out (hold channels: the input frame at most 2 input frames earlier). A
 * frame leaves only once the filter has all the input it needs, so after N input frames in
 * total at least ceil(N * rate_out / rate_in) - lag output frames have left, whatever the
 * pieces N was fed in (latent_resampler_get_lag, measured at creation). Deterministic: the
 * same input gives the same output however it is cut.
 *
 * Everything is allocated by latent_resampler_new; process and reset allocate nothing. */
#ifndef LATENT_RESAMPLE_H
#define LATENT_RESAMPLE_H

#include <glib.h>
#include <stdint.h>

#include "latent-types.h"

G_BEGIN_DECLS

typedef struct LatentResampler LatentResampler;

/* max_in: the most input frames one latent_resampler_process call takes. Fails
 * (LATENT_ERROR_SHAPE) for rates libsamplerate cannot convert between (ratio over 256). */
LatentResampler *latent_resampler_new (double rate_in, double rate_out, int channels,
    uint64_t hold_mask, int max_in, GError **error);
void latent_resampler_free (LatentResampler *rs);

/* Feeds n_in (<= max_in) interleaved frames and writes the frames that became ready to `out`
 * (room for latent_resampler_get_max_out frames); returns how many. Non-finite input is
 * taken as 0. */
int latent_resampler_process (LatentResampler *rs, const float *in, int n_in, float *out);
/* Back to the state after creation (silence before the first frame). */
void latent_resampler_reset (LatentResampler *rs);

/* The most frames one process call can write. */
int latent_resampler_get_max_out (const LatentResampler *rs);
/* Output frames by which the resampler may trail the ideal count ceil(N * out / in). */
int latent_resampler_get_lag (const LatentResampler *rs);
double latent_resampler_get_ratio (const LatentResampler *rs); /* rate_out / rate_in */

G_END_DECLS

#endif /* LATENT_RESAMPLE_H */
