/* Shared helpers of the LV2 host tests (see host-checks.h). */
#include "host-checks.h"

#include <math.h>

void
host_pace (gint64 start, int64_t frames, double rate)
{
  gint64 due = start + (gint64) ((double) frames * G_USEC_PER_SEC / rate);
  gint64 now = g_get_monotonic_time ();
  if (due > now)
    g_usleep (due - now);
}

void
host_assert_same (const float *a, const float *b, int n, float tolerance, const char *what)
{
  for (int t = 0; t < n; t++)
    if (!(fabsf (a[t] - b[t]) <= tolerance))
      g_error ("%s: frame %d: %.9g != %.9g", what, t, a[t], b[t]);
}

char *
host_copy_file (const char *src, const char *dir, const char *name)
{
  char *copy = g_build_filename (dir, name, NULL);
  gchar *bytes;
  gsize len;
  GError *error = NULL;
  if (!g_file_get_contents (src, &bytes, &len, &error)
      || !g_file_set_contents (copy, bytes, (gssize) len, &error))
    g_error ("copying %s to %s: %s", src, copy, error->message);
  g_free (bytes);
  return copy;
}

double
host_rms (const float *x, int n)
{
  double s = 0;
  for (int t = 0; t < n; t++)
    s += (double) x[t] * x[t];
  return n > 0 ? sqrt (s / n) : 0.0;
}

int
host_run_offline_noise (Host *host, GRand *rand)
{
  enum { BLOCK = 64 };
  float in[BLOCK], out[BLOCK];
  int total = 0;
  for (int i = 0; i < 2000; i++) {
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    host_run (host, in, out, BLOCK);
    total += BLOCK;
  }
  for (int i = 0; i < 5000; i++) {
    in[0] = (float) g_rand_double_range (rand, -0.5, 0.5);
    host_run (host, in, out, 1);
    total += 1;
  }
  return total;
}

int
host_peak_index (const float *x, int from, int to)
{
  int best = from;
  for (int t = from; t < to; t++)
    if (fabsf (x[t]) > fabsf (x[best]))
      best = t;
  return best;
}

double
host_dominant_hz (const float *x, int n, double rate, double lo, double hi, double step)
{
  double best_hz = lo, best = -1;
  for (double hz = lo; hz <= hi + 1e-9; hz += step) {
    double re = 0, im = 0, w = 2 * G_PI * hz / rate;
    for (int t = 0; t < n; t++) {
      re += x[t] * cos (w * t);
      im += x[t] * sin (w * t);
    }
    if (re * re + im * im > best) {
      best = re * re + im * im;
      best_hz = hz;
    }
  }
  return best_hz;
}

gboolean
host_all_finite (const float *x, int n)
{
  for (int t = 0; t < n; t++)
    if (!isfinite (x[t]))
      return FALSE;
  return TRUE;
}
