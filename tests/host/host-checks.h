/* Helpers the LV2 host tests share beyond the host itself (host-util.h): pacing a host in
 * real time, comparing outputs, an offline noise run. */
#ifndef LATENT_TEST_HOST_CHECKS_H
#define LATENT_TEST_HOST_CHECKS_H

#include "host-util.h"

/* Sleeps until `frames` frames at `rate` Hz after `start` (g_get_monotonic_time) are due, as a
 * real-time host's clock would. */
void host_pace (gint64 start, int64_t frames, double rate);
/* Aborts the test (g_error) at the first frame where a and b differ by more than tolerance,
 * naming `what`, the frame and both values. */
void host_assert_same (const float *a, const float *b, int n, float tolerance,
    const char *what);
/* Copies the file `src` to `dir`/`name` (aborting the test on failure); the copy's path,
 * newly allocated. */
char *host_copy_file (const char *src, const char *dir, const char *name);
/* Root mean square of x[0..n), 0 when n is 0. */
double host_rms (const float *x, int n);
/* Offline, as fast as possible: 2000 64-frame and 5000 1-frame cycles of noise from `rand`
 * on the host's audio input. Returns the frames run. */
int host_run_offline_noise (Host *host, GRand *rand);

/* For the resampling checks (a 48 kHz model at a 44.1 kHz host). Index of the largest |x[t]|
 * in [from, to); the frequency in [lo, hi] (step Hz apart) where x[0..n) at `rate` has the
 * most energy (a DFT scan); whether every sample is finite. */
int host_peak_index (const float *x, int from, int to);
double host_dominant_hz (const float *x, int n, double rate, double lo, double hi, double step);
gboolean host_all_finite (const float *x, int n);

#endif
