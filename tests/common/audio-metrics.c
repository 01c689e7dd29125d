/* Small DSP for tests and benchmarks (see audio-metrics.h). */
#include "audio-metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static GQuark
am_error_quark (void)
{
  return g_quark_from_static_string ("am-error");
}

static guint32
rd_u32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint16
rd_u16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

gboolean
am_wav_read (const char *path, AmAudio *audio, GError **error)
{
  gchar *bytes = NULL;
  gsize len = 0;
  memset (audio, 0, sizeof *audio);
  if (!g_file_get_contents (path, &bytes, &len, error))
    return FALSE;
  const guint8 *d = (const guint8 *) bytes;
  gboolean ok = FALSE;
  if (len < 12 || memcmp (d, "RIFF", 4) || memcmp (d + 8, "WAVE", 4)) {
    g_set_error (error, am_error_quark (), 1, "%s: not a RIFF/WAVE file", path);
    goto out;
  }
  int format = 0, channels = 0, bits = 0;
  guint32 rate = 0;
  const guint8 *data = NULL;
  gsize data_len = 0;
  for (gsize pos = 12; pos + 8 <= len;) {
    guint32 size = rd_u32 (d + pos + 4);
    const guint8 *body = d + pos + 8;
    gsize avail = len - pos - 8;
    if (!memcmp (d + pos, "fmt ", 4) && size >= 16 && avail >= 16) {
      format = rd_u16 (body);
      channels = rd_u16 (body + 2);
      rate = rd_u32 (body + 4);
      bits = rd_u16 (body + 14);
      if (format == 0xFFFE && size >= 26 && avail >= 26)
        format = rd_u16 (body + 24); /* WAVE_FORMAT_EXTENSIBLE: sub-format GUID's first word */
    } else if (!memcmp (d + pos, "data", 4)) {
      data = body;
      data_len = MIN ((gsize) size, avail);
      break;
    }
    pos += 8 + (gsize) size + (size & 1);
  }
  if (!data || channels < 1 || rate < 1 || !((format == 1 && (bits == 8 || bits == 16 ||
              bits == 24 || bits == 32)) || (format == 3 && (bits == 32 || bits == 64)))) {
    g_set_error (error, am_error_quark (), 2,
        "%s: unsupported WAV (format %d, %d bits, %d channels) or no data chunk", path, format,
        bits, channels);
    goto out;
  }
  int bps = bits / 8;
  audio->channels = channels;
  audio->rate = (int) rate;
  audio->frames = data_len / ((gsize) bps * channels);
  size_t n = audio->frames * channels;
  audio->data = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++) {
    const guint8 *s = data + i * bps;
    float v;
    if (format == 3 && bits == 32) {
      guint32 u = rd_u32 (s);
      memcpy (&v, &u, 4);
    } else if (format == 3) {
      guint64 u = (guint64) rd_u32 (s) | ((guint64) rd_u32 (s + 4) << 32);
      double dv;
      memcpy (&dv, &u, 8);
      v = (float) dv;
    } else if (bits == 8) {
      v = ((int) s[0] - 128) / 128.0f;
    } else if (bits == 16) {
      v = (gint16) rd_u16 (s) / 32768.0f;
    } else if (bits == 24) {
      gint32 x = (gint32) ((guint32) s[0] << 8 | (guint32) s[1] << 16 | (guint32) s[2] << 24);
      v = (float) (x / 2147483648.0);
    } else {
      v = (float) ((gint32) rd_u32 (s) / 2147483648.0);
    }
    audio->data[i] = v;
  }
  ok = TRUE;
out:
  g_free (bytes);
  return ok;
}

gboolean
am_wav_write (const char *path, const AmAudio *audio, GError **error)
{
  gsize data_len = audio->frames * audio->channels * 4;
  gsize len = 44 + data_len;
  guint8 *b = g_malloc (len);
  guint32 byte_rate = (guint32) audio->rate * audio->channels * 4;
#define W32(p, v) do { guint32 _v = (v); (p)[0] = _v; (p)[1] = _v >> 8; (p)[2] = _v >> 16; \
    (p)[3] = _v >> 24; } while (0)
#define W16(p, v) do { guint16 _v = (v); (p)[0] = _v; (p)[1] = _v >> 8; } while (0)
  memcpy (b, "RIFF", 4);
  W32 (b + 4, (guint32) (len - 8));
  memcpy (b + 8, "WAVEfmt ", 8);
  W32 (b + 16, 16);
  W16 (b + 20, 3);
  W16 (b + 22, audio->channels);
  W32 (b + 24, audio->rate);
  W32 (b + 28, byte_rate);
  W16 (b + 32, audio->channels * 4);
  W16 (b + 34, 32);
  memcpy (b + 36, "data", 4);
  W32 (b + 40, (guint32) data_len);
  for (size_t i = 0; i < audio->frames * audio->channels; i++) {
    guint32 u;
    memcpy (&u, &audio->data[i], 4);
    W32 (b + 44 + 4 * i, u);
  }
#undef W32
#undef W16
  gboolean ok = g_file_set_contents (path, (const gchar *) b, (gssize) len, error);
  g_free (b);
  return ok;
}

void
am_audio_clear (AmAudio *audio)
{
  g_clear_pointer (&audio->data, g_free);
  audio->frames = 0;
}

float *
am_audio_mono (const AmAudio *audio)
{
  float *m = g_new0 (float, MAX (audio->frames, 1));
  for (size_t t = 0; t < audio->frames; t++) {
    double s = 0;
    for (int c = 0; c < audio->channels; c++)
      s += audio->data[t * audio->channels + c];
    m[t] = (float) (s / audio->channels);
  }
  return m;
}

float *
am_resample_linear (const float *x, size_t n, int rate_in, int rate_out, size_t *n_out)
{
  size_t m = (size_t) ((double) n * rate_out / rate_in);
  float *y = g_new0 (float, MAX (m, 1));
  for (size_t i = 0; i < m; i++) {
    double pos = (double) i * rate_in / rate_out;
    size_t k = (size_t) pos;
    double f = pos - k;
    float a = k < n ? x[k] : 0.0f, b = k + 1 < n ? x[k + 1] : 0.0f;
    y[i] = (float) (a + (b - a) * f);
  }
  *n_out = m;
  return y;
}

/* In-place complex FFT in double precision, n a power of two. */
static void
fft_d (double *re, double *im, size_t n, int inverse)
{
  for (size_t i = 1, j = 0; i < n; i++) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1)
      j ^= bit;
    j ^= bit;
    if (i < j) {
      double t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    double ang = (inverse ? 2 : -2) * M_PI / (double) len;
    for (size_t k = 0; k < len / 2; k++) {
      double wr = cos (ang * k), wi = sin (ang * k);
      for (size_t i = 0; i < n; i += len) {
        size_t a = i + k, b = i + k + len / 2;
        double xr = re[b] * wr - im[b] * wi, xi = re[b] * wi + im[b] * wr;
        re[b] = re[a] - xr;
        im[b] = im[a] - xi;
        re[a] += xr;
        im[a] += xi;
      }
    }
  }
}

void
am_fft (float *re, float *im, size_t n)
{
  double *r = g_new (double, n), *i = g_new (double, n);
  for (size_t k = 0; k < n; k++) {
    r[k] = re[k];
    i[k] = im[k];
  }
  fft_d (r, i, n, 0);
  for (size_t k = 0; k < n; k++) {
    re[k] = (float) r[k];
    im[k] = (float) i[k];
  }
  g_free (r);
  g_free (i);
}

/* DFT of any length n (Bluestein's chirp-z through power-of-two FFTs). */
static void
dft_any (double *re, double *im, size_t n, int inverse)
{
  size_t m = 1;
  while (m < 2 * n - 1)
    m <<= 1;
  double *ar = g_new0 (double, m), *ai = g_new0 (double, m);
  double *br = g_new0 (double, m), *bi = g_new0 (double, m);
  double *cr = g_new (double, n), *ci = g_new (double, n);
  double sign = inverse ? 1.0 : -1.0;
  for (size_t k = 0; k < n; k++) {
    /* chirp w_k = exp(sign * i * pi * k^2 / n), k^2 mod 2n keeps the angle exact */
    double ang = sign * M_PI * (double) ((k * k) % (2 * n)) / (double) n;
    cr[k] = cos (ang);
    ci[k] = sin (ang);
    ar[k] = re[k] * cr[k] - im[k] * ci[k];
    ai[k] = re[k] * ci[k] + im[k] * cr[k];
  }
  br[0] = cr[0];
  bi[0] = -ci[0];
  for (size_t k = 1; k < n; k++) {
    br[k] = br[m - k] = cr[k];
    bi[k] = bi[m - k] = -ci[k];
  }
  fft_d (ar, ai, m, 0);
  fft_d (br, bi, m, 0);
  for (size_t k = 0; k < m; k++) {
    double r = ar[k] * br[k] - ai[k] * bi[k], i = ar[k] * bi[k] + ai[k] * br[k];
    ar[k] = r;
    ai[k] = i;
  }
  fft_d (ar, ai, m, 1);
  for (size_t k = 0; k < n; k++) {
    double r = ar[k] / m, i = ai[k] / m;
    re[k] = r * cr[k] - i * ci[k];
    im[k] = r * ci[k] + i * cr[k];
  }
  g_free (ar); g_free (ai); g_free (br); g_free (bi); g_free (cr); g_free (ci);
}

float *
am_stft_magnitude (const float *x, size_t n, int fft_size, int hop, size_t *n_frames)
{
  size_t frames = n < (size_t) fft_size ? 0 : 1 + (n - fft_size) / hop;
  int bins = fft_size / 2 + 1;
  float *mag = g_new0 (float, MAX (frames * bins, 1));
  double *win = g_new (double, fft_size), *re = g_new (double, fft_size),
      *im = g_new (double, fft_size);
  for (int i = 0; i < fft_size; i++)
    win[i] = 0.5 - 0.5 * cos (2 * M_PI * i / fft_size);
  for (size_t f = 0; f < frames; f++) {
    size_t start = f * (size_t) hop;
    for (int i = 0; i < fft_size; i++) {
      re[i] = x[start + i] * win[i];
      im[i] = 0.0;
    }
    fft_d (re, im, fft_size, 0);
    for (int k = 0; k < bins; k++)
      mag[f * bins + k] = (float) (sqrt (re[k] * re[k] + im[k] * im[k]) * 2.0 / fft_size);
  }
  g_free (win);
  g_free (re);
  g_free (im);
  *n_frames = frames;
  return mag;
}

static double
hz_to_mel (double f)
{
  return 2595.0 * log10 (1.0 + f / 700.0);
}

static double
mel_to_hz (double m)
{
  return 700.0 * (pow (10.0, m / 2595.0) - 1.0);
}

float *
am_mel_filterbank (int n_mels, int fft_size, int rate, double fmin, double fmax)
{
  int bins = fft_size / 2 + 1;
  float *fb = g_new0 (float, (size_t) n_mels * bins);
  double mlo = hz_to_mel (fmin), mhi = hz_to_mel (fmax);
  double *edges = g_new (double, n_mels + 2);
  for (int i = 0; i < n_mels + 2; i++)
    edges[i] = mel_to_hz (mlo + (mhi - mlo) * i / (n_mels + 1));
  for (int m = 0; m < n_mels; m++) {
    double lo = edges[m], mid = edges[m + 1], hi = edges[m + 2];
    for (int k = 0; k < bins; k++) {
      double f = (double) k * rate / fft_size;
      double w = MIN ((f - lo) / (mid - lo), (hi - f) / (hi - mid));
      fb[(size_t) m * bins + k] = (float) MAX (0.0, w);
    }
  }
  g_free (edges);
  return fb;
}

float *
am_log_mel (const float *x, size_t n, int rate, int fft_size, int hop, int n_mels,
    size_t *n_frames)
{
  size_t frames;
  float *mag = am_stft_magnitude (x, n, fft_size, hop, &frames);
  float *fb = am_mel_filterbank (n_mels, fft_size, rate, 0.0, rate / 2.0);
  int bins = fft_size / 2 + 1;
  float *out = g_new0 (float, MAX (frames * n_mels, 1));
  for (size_t f = 0; f < frames; f++)
    for (int m = 0; m < n_mels; m++) {
      double s = 0;
      for (int k = 0; k < bins; k++) {
        double p = mag[f * bins + k];
        s += fb[(size_t) m * bins + k] * p * p;
      }
      out[f * n_mels + m] = (float) log10 (s + 1e-10);
    }
  g_free (mag);
  g_free (fb);
  *n_frames = frames;
  return out;
}

double
am_log_mel_correlation (const float *a, const float *b, size_t n, int rate)
{
  size_t fa, fb;
  float *la = am_log_mel (a, n, rate, 2048, 512, 64, &fa);
  float *lb = am_log_mel (b, n, rate, 2048, 512, 64, &fb);
  size_t m = MIN (fa, fb) * 64;
  double sa = 0, sb = 0;
  for (size_t i = 0; i < m; i++) {
    sa += la[i];
    sb += lb[i];
  }
  double ma = m ? sa / m : 0, mb = m ? sb / m : 0, cov = 0, va = 0, vb = 0;
  for (size_t i = 0; i < m; i++) {
    double da = la[i] - ma, db = lb[i] - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  g_free (la);
  g_free (lb);
  return va > 0 && vb > 0 ? cov / sqrt (va * vb) : NAN;
}

double
am_mrstft_distance (const float *a, const float *b, size_t n)
{
  static const int sizes[] = { 2048, 1024, 512, 256 };
  double total = 0;
  for (int s = 0; s < 4; s++) {
    size_t fa, fb;
    float *ma = am_stft_magnitude (a, n, sizes[s], sizes[s] / 4, &fa);
    float *mb = am_stft_magnitude (b, n, sizes[s], sizes[s] / 4, &fb);
    size_t m = MIN (fa, fb) * (sizes[s] / 2 + 1);
    double num = 0, den = 0, logdiff = 0;
    for (size_t i = 0; i < m; i++) {
      double d = (double) ma[i] - mb[i];
      num += d * d;
      den += (double) ma[i] * ma[i];
      logdiff += fabs (log (ma[i] + 1e-4) - log (mb[i] + 1e-4));
    }
    total += (den > 0 ? sqrt (num / den) : sqrt (num)) + (m ? logdiff / m : 0);
    g_free (ma);
    g_free (mb);
  }
  return total / 4;
}

void
am_lowpass (const float *in, float *out, size_t n, int rate, double cutoff_hz)
{
  if (n == 0)
    return;
  double *re = g_new (double, n), *im = g_new0 (double, n);
  for (size_t i = 0; i < n; i++)
    re[i] = in[i];
  dft_any (re, im, n, 0);
  /* Zero every bin above the cutoff, with its mirror image (real signal). */
  for (size_t k = 0; k < n; k++) {
    size_t kk = k <= n / 2 ? k : n - k;
    if ((double) kk * rate / n > cutoff_hz)
      re[k] = im[k] = 0.0;
  }
  dft_any (re, im, n, 1);
  for (size_t i = 0; i < n; i++)
    out[i] = (float) (re[i] / n);
  g_free (re);
  g_free (im);
}

double
am_rms (const float *x, size_t n)
{
  double s = 0;
  for (size_t i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return n ? sqrt (s / n) : 0.0;
}

double
am_max_abs_diff (const float *a, const float *b, size_t n)
{
  double m = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs ((double) a[i] - b[i]);
    if (d > m || isnan (d))
      m = isnan (d) ? INFINITY : d;
  }
  return m;
}

/* ------------------------------------------------ timbre and pitch features (AFTER) */

/* Frame energies of a magnitude STFT and the loudness gate: frames within 40 dB of the
 * loudest. Returns a newly allocated mask of n_frames booleans. */
static gboolean *
loud_frames (const float *mag, size_t n_frames, int bins)
{
  double *energy = g_new0 (double, MAX (n_frames, 1));
  double peak = 0.0;
  for (size_t f = 0; f < n_frames; f++) {
    for (int k = 0; k < bins; k++)
      energy[f] += (double) mag[f * bins + k] * mag[f * bins + k];
    peak = MAX (peak, energy[f]);
  }
  gboolean *loud = g_new0 (gboolean, MAX (n_frames, 1));
  for (size_t f = 0; f < n_frames; f++)
    loud[f] = peak > 0.0 && energy[f] >= peak * 1e-4;
  g_free (energy);
  return loud;
}

void
am_mfcc_mean (const float *x, size_t n, int rate, int n_mfcc, double *mean)
{
  const int fft = 2048, hop = 512, n_mels = 40, bins = fft / 2 + 1;
  size_t frames;
  float *mag = am_stft_magnitude (x, n, fft, hop, &frames);
  float *fb = am_mel_filterbank (n_mels, fft, rate, 0.0, rate / 2.0);
  gboolean *loud = loud_frames (mag, frames, bins);
  double logmel[64];
  size_t used = 0;
  for (int c = 0; c < n_mfcc; c++)
    mean[c] = 0.0;
  for (size_t f = 0; f < frames; f++) {
    if (!loud[f])
      continue;
    for (int m = 0; m < n_mels; m++) {
      double power = 0.0;
      for (int k = 0; k < bins; k++) {
        double a = mag[f * bins + k];
        power += fb[m * bins + k] * a * a;
      }
      logmel[m] = log (power + 1e-10);
    }
    for (int c = 0; c < n_mfcc; c++) {
      double sum = 0.0;
      for (int m = 0; m < n_mels; m++)
        sum += logmel[m] * cos (G_PI * c * (m + 0.5) / n_mels);
      mean[c] += sum * sqrt ((c == 0 ? 1.0 : 2.0) / n_mels);
    }
    used++;
  }
  for (int c = 0; c < n_mfcc; c++)
    mean[c] = used ? mean[c] / (double) used : NAN;
  g_free (mag);
  g_free (fb);
  g_free (loud);
}

double
am_mfcc_distance (const float *a, size_t na, const float *b, size_t nb, int rate)
{
  double ma[13], mb[13], sum = 0.0;
  am_mfcc_mean (a, na, rate, 13, ma);
  am_mfcc_mean (b, nb, rate, 13, mb);
  for (int c = 1; c < 13; c++)
    sum += (ma[c] - mb[c]) * (ma[c] - mb[c]);
  return sqrt (sum);
}

float *
am_chroma (const float *x, size_t n, int rate, size_t *n_frames)
{
  const int fft = 4096, hop = 1024, bins = fft / 2 + 1;
  size_t frames;
  float *mag = am_stft_magnitude (x, n, fft, hop, &frames);
  float *chroma = g_new0 (float, MAX (frames, 1) * 12);
  for (size_t f = 0; f < frames; f++) {
    double sum = 0.0;
    for (int k = 1; k < bins; k++) {
      double hz = (double) k * rate / fft;
      if (hz < 55.0 || hz > 2000.0)
        continue;
      int pitch = (int) lround (69.0 + 12.0 * log2 (hz / 440.0));
      double power = (double) mag[f * bins + k] * mag[f * bins + k];
      chroma[f * 12 + ((pitch % 12) + 12) % 12] += (float) power;
      sum += power;
    }
    for (int c = 0; sum > 0.0 && c < 12; c++)
      chroma[f * 12 + c] = (float) (chroma[f * 12 + c] / sum);
  }
  g_free (mag);
  *n_frames = frames;
  return chroma;
}

double
am_chroma_correlation (const float *a, const float *b, size_t n, int rate)
{
  const int fft = 4096, hop = 1024, bins = fft / 2 + 1;
  size_t fa, fb, sa, sb;
  float *ca = am_chroma (a, n, rate, &fa), *cb = am_chroma (b, n, rate, &fb);
  float *ma = am_stft_magnitude (a, n, fft, hop, &sa), *mb = am_stft_magnitude (b, n, fft, hop, &sb);
  gboolean *la = loud_frames (ma, sa, bins), *lb = loud_frames (mb, sb, bins);
  size_t frames = MIN (fa, fb), used = 0;
  double s1 = 0, s2 = 0, s11 = 0, s22 = 0, s12 = 0;
  for (size_t f = 0; f < frames; f++) {
    if (!la[f] || !lb[f])
      continue;
    used++;
    for (int c = 0; c < 12; c++) {
      double u = ca[f * 12 + c], v = cb[f * 12 + c];
      s1 += u;
      s2 += v;
      s11 += u * u;
      s22 += v * v;
      s12 += u * v;
    }
  }
  double m = (double) used * 12, r = NAN;
  if (used >= 4) {
    double cov = s12 - s1 * s2 / m, va = s11 - s1 * s1 / m, vb = s22 - s2 * s2 / m;
    r = va > 0 && vb > 0 ? cov / sqrt (va * vb) : NAN;
  }
  g_free (ca);
  g_free (cb);
  g_free (ma);
  g_free (mb);
  g_free (la);
  g_free (lb);
  return r;
}
