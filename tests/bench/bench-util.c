/* Timing one gst-launch style pipeline for the benchmarks (bench-util.h). */
#include "bench-util.h"

#include <stdio.h>
#include <string.h>

double
bench_run_pipeline (const char *description, double *load_s, BenchAtEos at_eos,
    gpointer user_data)
{
  GError *error = NULL;
  GstElement *pipe = gst_parse_launch (description, &error);
  if (!pipe) {
    fprintf (stderr, "%s\n", error->message);
    g_error_free (error);
    return -1;
  }
  gint64 t0 = g_get_monotonic_time ();
  if (gst_element_set_state (pipe, GST_STATE_READY) == GST_STATE_CHANGE_FAILURE) {
    fprintf (stderr, "pipeline refused READY: %s\n", description);
    gst_object_unref (pipe);
    return -1;
  }
  *load_s = (g_get_monotonic_time () - t0) / 1e6;
  GstBus *bus = gst_element_get_bus (pipe);
  t0 = g_get_monotonic_time ();
  gst_element_set_state (pipe, GST_STATE_PLAYING);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gst_message_parse_error (msg, &err, NULL);
    fprintf (stderr, "pipeline error: %s\n", err->message);
    g_error_free (err);
    secs = -1;
  } else if (at_eos) {
    at_eos (pipe, user_data);
  }
  gst_message_unref (msg);
  gst_object_unref (bus);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (pipe);
  return secs;
}

char *
bench_run_reference (char *const *argv)
{
  char *out = NULL, *err = NULL;
  int status = 0;
  GError *error = NULL;
  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err,
          &status, &error) && g_spawn_check_wait_status (status, &error)) {
    g_free (err);
    return out;
  }
  fprintf (stderr, "reference %s failed: %s\n%s\n%s\n", argv[1], error ? error->message : "",
      out ? out : "", err ? err : "");
  g_clear_error (&error);
  g_free (out);
  g_free (err);
  return NULL;
}

gboolean
bench_json_number (const char *json, const char *key, double *value)
{
  char *needle = g_strdup_printf ("\"%s\": ", key);
  const char *at = strstr (json, needle);
  if (at)
    *value = g_ascii_strtod (at + strlen (needle), NULL);
  g_free (needle);
  return at != NULL;
}

typedef struct {
  BenchTimedRun run;
  gpointer args;
  double result;
} BenchThreadCall;

static gpointer
bench_thread_main (gpointer data)
{
  BenchThreadCall *call = data;
  call->result = call->run (call->args);
  return NULL;
}

double
bench_on_thread (BenchTimedRun run, gpointer args)
{
  BenchThreadCall call = { run, args, -1 };
  g_thread_join (g_thread_new ("core", bench_thread_main, &call));
  return call.result;
}
