/* Small DSP for tests and benchmarks (element, LV2, terrain, AFTER tests share it): a WAV
 * reader/writer, a radix-2 FFT, STFT magnitudes, a mel filterbank, log-mel correlation, a
 * multi-resolution STFT distance and a low-pass baseline. Plain C11 + GLib, no GStreamer. */
#ifndef LATENT_AUDIO_METRICS_H
#define LATENT_AUDIO_METRICS_H

#include <glib.h>
#include <stddef.h>

G_BEGIN_DECLS

typedef struct {
  float *data;      /* interleaved, frames * channels */
  size_t frames;
  int channels;
  int rate;
} AmAudio;

/* Reads a RIFF/WAVE file: PCM 8/16/24/32-bit or IEEE float 32/64, any channels
 * (WAVE_FORMAT_EXTENSIBLE too). Samples become floats in [-1, 1). */
gboolean am_wav_read (const char *path, AmAudio *audio, GError **error);
/* Writes 32-bit float WAV. */
gboolean am_wav_write (const char *path, const AmAudio *audio, GError **error);
void am_audio_clear (AmAudio *audio);
/* Mono mix (mean of channels); a new array of audio->frames floats. */
float *am_audio_mono (const AmAudio *audio);
/* Linear-interpolation resampler, good enough for test signals; returns *n_out floats. */
float *am_resample_linear (const float *x, size_t n, int rate_in, int rate_out, size_t *n_out);

/* In-place complex FFT (computed in double), n a power of two. */
void am_fft (float *re, float *im, size_t n);

/* Metrics are defined as models/evaluate.py defines them (so the figures of models/README.md
 * are recomputed exactly here):
 * Magnitude STFT with a periodic Hann window, hop `hop`, only frames fully inside the signal,
 * scaled by 2/fft_size (a full-scale sine peaks near 1). Returns n_frames * (fft_size/2+1)
 * floats, frame-major (n_frames 0 when n < fft_size). */
float *am_stft_magnitude (const float *x, size_t n, int fft_size, int hop, size_t *n_frames);

/* Triangular HTK-mel filterbank, peak 1 (no area normalisation), band edges evenly spaced in
 * mel from fmin to fmax; n_mels * (fft_size/2+1) weights, band-major. */
float *am_mel_filterbank (int n_mels, int fft_size, int rate, double fmin, double fmax);

/* log10(mel power + 1e-10) of x (power = squared scaled magnitude), n_frames * n_mels. */
float *am_log_mel (const float *x, size_t n, int rate, int fft_size, int hop, int n_mels,
    size_t *n_frames);

/* Log-mel spectral correlation: Pearson correlation over every (frame, band) value of the
 * log-mel spectrograms of a and b (2048-point FFT, hop 512, 64 bands from 0 Hz to rate/2).
 * 1 = same spectral shape; NaN when one of them is constant (e.g. silence). */
double am_log_mel_correlation (const float *a, const float *b, size_t n, int rate);

/* Multi-resolution STFT distance: mean over FFT sizes 2048, 1024, 512, 256 (hop size/4) of
 * spectral convergence ||A - B||_F / ||A||_F plus mean |log(A + 1e-4) - log(B + 1e-4)|,
 * A, B scaled magnitudes. a is the reference. 0 = identical. */
double am_mrstft_distance (const float *a, const float *b, size_t n);

/* Brick-wall low-pass over the whole signal: DFT of length n, bins above cutoff_hz zeroed,
 * inverse DFT (any n, Bluestein). The project's low-pass baseline uses 1000 Hz. */
void am_lowpass (const float *in, float *out, size_t n, int rate, double cutoff_hz);

double am_rms (const float *x, size_t n);
/* Largest |a[i] - b[i]|. */
double am_max_abs_diff (const float *a, const float *b, size_t n);

/* Timbre and pitch features (AFTER tests). Frames quieter than 40 dB below the loudest frame
 * are left out of both, so pauses do not dominate.
 * MFCC means: log-mel (2048-point FFT, hop 512, 40 bands, 0 Hz to rate/2, natural log of
 * power + 1e-10), orthonormal DCT-II, mean over frames of coefficients 0..n_mfcc-1. */
void am_mfcc_mean (const float *x, size_t n, int rate, int n_mfcc, double *mean);
/* Euclidean distance between the MFCC means of a and b over coefficients 1..12 (c0, the
 * overall level, is left out): a timbre distance that ignores loudness. */
double am_mfcc_distance (const float *a, size_t na, const float *b, size_t nb, int rate);
/* Chromagram: power of STFT bins (4096-point FFT, hop 1024) from 55 Hz to 2 kHz folded onto
 * the 12 pitch classes (0 = C), each frame normalised to sum 1 (silent frames stay all 0).
 * Returns n_frames * 12 floats. */
float *am_chroma (const float *x, size_t n, int rate, size_t *n_frames);
/* Pearson correlation over (frame, class) values of the chromagrams of a and b, on frames
 * where both are above the loudness gate; NaN when fewer than 4 such frames. */
double am_chroma_correlation (const float *a, const float *b, size_t n, int rate);

G_END_DECLS

#endif /* LATENT_AUDIO_METRICS_H */
