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

/* Runs a reference program (argv[0] = the python, argv[1] = its script, ...) and returns what
 * it printed on stdout (g_free it), or NULL after printing why it failed and its output. */
char *bench_run_reference (char *const *argv);
/* Reads the number after `"key": ` in a reference's JSON output; FALSE when absent. */
gboolean bench_json_number (const char *json, const char *key, double *value);

/* Runs run(args) on a thread of its own and returns its result. The core loops run there, as
 * the elements' streaming threads and the LV2 plugins' workers do (tests/host/bench-lv2.c
 * measured the same calls 2-4x slower on the process's main thread). */
typedef double (*BenchTimedRun) (gpointer args);
double bench_on_thread (BenchTimedRun run, gpointer args);

#endif /* BENCH_UTIL_H */
