/* Test helper: runs `appsrc ! <elements> ! appsink` on float arrays and collects the output
 * buffers, caps, segment and bus messages. Shared by the element tests of every `latent`
 * element (rave, terrain, AFTER). */
#ifndef LATENT_PIPELINE_UTIL_H
#define LATENT_PIPELINE_UTIL_H

#include <gst/gst.h>

G_BEGIN_DECLS

typedef struct {
  GstElement *pipeline;
  GstElement *src;         /* appsrc "src" */
  GstElement *sink;        /* appsink "sink" */
  GstCaps *in_caps;
  int in_channels, in_rate, in_ratio;
  guint64 pushed;          /* input frames pushed */
  GstClockTime start;

  GMutex lock;
  GCond cond;
  GArray *out;             /* floats, interleaved */
  GPtrArray *buffers;      /* GstBuffer refs as received */
  GstCaps *out_caps;
  GstSegment segment;
  gboolean have_segment;

  GPtrArray *warnings;     /* GstMessage refs */
  GstMessage *error;       /* first error, if any */
  gboolean eos;
  gboolean state_failed;
} PuPipeline;

/* Builds "appsrc name=src format=time ! MIDDLE ! appsink name=sink sync=false" and sets it
 * PLAYING. in_caps: audio/x-raw or audio/x-latent with channels and rate (ratio for latents).
 * Buffers get pts start + frames*ratio/rate (start GST_CLOCK_TIME_NONE: no timestamps). Never
 * NULL; a failed state change is recorded (state_failed, error). */
PuPipeline *pu_new (const char *middle, const char *in_caps, GstClockTime start);
/* Pushes frames (interleaved) in buffers of `chunk` frames (0: one buffer). */
void pu_push (PuPipeline *p, const float *in, size_t frames, size_t chunk);
/* Pushes with a repeating pattern of chunk sizes. */
void pu_push_pattern (PuPipeline *p, const float *in, size_t frames, const size_t *chunks,
    size_t n_chunks);
/* Waits until at least `floats` output floats arrived (TRUE) or an error/timeout (FALSE). */
gboolean pu_wait_output (PuPipeline *p, size_t floats, guint timeout_ms);
/* Sends EOS and waits for it; TRUE on EOS, FALSE on error or timeout. */
gboolean pu_finish (PuPipeline *p, guint timeout_ms);
/* Drains the bus into warnings/error without waiting. */
void pu_poll_bus (PuPipeline *p);
GstElement *pu_get (PuPipeline *p, const char *name);
/* Number of output frames (floats / channels of the output caps). */
size_t pu_out_frames (PuPipeline *p);
const float *pu_out (PuPipeline *p);
/* Text of the first error ("" if none) and of every warning joined by '\n'. */
char *pu_error_text (PuPipeline *p);
char *pu_warning_text (PuPipeline *p);
void pu_free (PuPipeline *p);

/* For tests on a shipped model: prints why and returns 77 (meson's skip) when `model` is
 * absent or the mock backend (valgrindmock setup, fixtures only) is in use; else 0. */
int pu_skip_without_real_model (const char *model);

/* Runs gst_parse_launch(launch) to its end: PLAYING until the first ERROR or EOS (at most
 * timeout_ms), then a further 300 ms of bus messages, then NULL. Returns the number of ERROR
 * messages whose text contains `needle` (also those posted while stopping); *first_error (may
 * be NULL) gets the first ERROR's text, "" if none (g_free). Aborts the test if the pipeline
 * does not reach NULL. */
int pu_count_errors (const char *launch, const char *needle, guint timeout_ms,
    char **first_error);

/* One call: new, push with pattern, finish. */
PuPipeline *pu_run (const char *middle, const char *in_caps, const float *in, size_t frames,
    const size_t *chunks, size_t n_chunks, GstClockTime start);

/* Impulse through a LIVE pipeline (a live source on the pipeline clock, a syncing sink): a
 * probe on the source element "src" writes 1.0 at input sample impulse_at and counts the
 * samples it lets through; when the first non-zero output reaches the sink element "sink",
 * that count gives the samples the chain held the impulse back for (exact when everything up
 * to the sink runs on the source's streaming thread, or the source's buffers leave the
 * elements time to render). */
typedef struct {
  guint64 impulse_at;        /* input sample set to 1.0 */
  int rate;                  /* samples per second, input and output */
  guint64 in_end;            /* samples the source has pushed */
  guint64 hold_back;         /* in_end - (impulse_at + 1) when the response reached the sink */
  gint64 response_at;        /* the first non-zero output sample, counted like the input; -1 */
  GstClockTime pts;          /* its pts */
  GstClockTime arrival;      /* the running time at which it reached the sink */
  GstClockTime first_pts;    /* the source's first buffer's */
  GstClockTime configured;   /* the pipeline's configured latency */
  GstElement *pipe;
} PuLiveImpulse;

/* Runs `description` (elements "src", "sink" and `element`) to EOS with the impulse, fills
 * *li, asserts there was a response and the sink rendered it at its pts + the configured
 * latency (it did not arrive late), and returns `element`'s latency answer less the source's,
 * in samples. */
guint64 pu_live_impulse (const char *description, const char *element, guint64 impulse_at,
    int rate, PuLiveImpulse *li);

G_END_DECLS

#endif
