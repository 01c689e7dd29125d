/* Shared by the GStreamer benchmarks: run one pipeline description and time it. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <gst/gst.h>

/* Called at EOS, before the pipeline is torn down (e.g. to query its latency). */
typedef void (*BenchAtEos) (GstElement *pipeline, gpointer user_data);

/* Parses `description`, times NULL -> READY into *load_s (model loading and warm-up), then
 * returns the wall time of READY -> PLAYING -> EOS in seconds, or -1 after printing the
 * error. at_eos may be NULL. */
double bench_run_pipeline (const char *description, double *load_s, BenchAtEos at_eos,
    gpointer user_data);

#endif /* BENCH_UTIL_H */
