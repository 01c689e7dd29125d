/* Test helper for aftertransfer: a pipeline with several named appsrcs (structure, timbre,
 * midi) and one appsink "sink"; pushes timed buffers, collects output samples and pts. */
#ifndef LATENT_AFTER_UTIL_H
#define LATENT_AFTER_UTIL_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  GstElement *pipeline;
  GMutex lock;
  GArray *out;        /* floats */
  GArray *pts;        /* GstClockTime of each output buffer */
  GArray *offsets;    /* sample index of each output buffer's first sample */
  int out_rate;
  char *error;        /* first error message + debug, NULL if none */
  GString *warnings;  /* every warning message, one a line */
  gboolean eos;
  gboolean state_failed;
} AtRun;

/* Parses `description` (must contain `appsink name=sink`) and sets it PLAYING. */
AtRun *at_new (const char *description);
/* Pushes `frames` interleaved frames into appsrc `name` in buffers of `chunk` frames with
 * pts start + i / rate (caps are set on the appsrc in the description). */
void at_push (AtRun *run, const char *name, const float *data, size_t frames, int channels,
    int rate, size_t chunk, GstClockTime start);
/* Pushes one buffer of raw bytes at pts (MIDI events). */
void at_push_bytes (AtRun *run, const char *name, const guint8 *bytes, size_t size,
    GstClockTime pts);
void at_end (AtRun *run, const char *name);
/* Waits for EOS or an error; FALSE on timeout. */
gboolean at_wait (AtRun *run, guint timeout_ms);
void at_free (AtRun *run);

/* Amplitude of the component at hz in x[0..n): Goertzel over the Hann-windowed span. */
double at_tone (const float *x, size_t n, int rate, double hz);

G_END_DECLS

#endif
