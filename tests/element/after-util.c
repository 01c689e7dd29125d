/* Multi-appsrc pipelines for the aftertransfer tests (after-util.h). */
#include "after-util.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <math.h>
#include <string.h>

static GstFlowReturn
on_sample (GstAppSink *sink, gpointer user_data)
{
  AtRun *run = user_data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_ERROR;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstStructure *s = gst_caps_get_structure (gst_sample_get_caps (sample), 0);
  GstMapInfo map;
  g_mutex_lock (&run->lock);
  gst_structure_get_int (s, "rate", &run->out_rate);
  GstClockTime pts = GST_BUFFER_PTS (buf);
  guint64 offset = run->out->len;
  g_array_append_val (run->pts, pts);
  g_array_append_val (run->offsets, offset);
  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    g_array_append_vals (run->out, map.data, map.size / sizeof (float));
    gst_buffer_unmap (buf, &map);
  }
  g_mutex_unlock (&run->lock);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

AtRun *
at_new (const char *description)
{
  AtRun *run = g_new0 (AtRun, 1);
  g_mutex_init (&run->lock);
  run->out = g_array_new (FALSE, FALSE, sizeof (float));
  run->pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  run->offsets = g_array_new (FALSE, FALSE, sizeof (guint64));
  run->warnings = g_string_new (NULL);
  GError *error = NULL;
  run->pipeline = gst_parse_launch (description, &error);
  if (!run->pipeline)
    g_error ("%s: %s", description, error->message);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (run->pipeline), "sink");
  GstAppSinkCallbacks callbacks = { .new_sample = on_sample };
  gst_app_sink_set_callbacks (GST_APP_SINK (sink), &callbacks, run, NULL);
  gst_object_unref (sink);
  if (gst_element_set_state (run->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    run->state_failed = TRUE;
    at_wait (run, 100);
  }
  return run;
}

static GstElement *
get_src (AtRun *run, const char *name)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (run->pipeline), name);
  if (!src)
    g_error ("no element %s", name);
  return src;
}

void
at_push (AtRun *run, const char *name, const float *data, size_t frames, int channels,
    int rate, size_t chunk, GstClockTime start)
{
  GstElement *src = get_src (run, name);
  for (size_t i = 0; i < frames; i += chunk) {
    size_t n = MIN (chunk, frames - i);
    GstBuffer *buf = gst_buffer_new_memdup (data + i * channels, n * channels * sizeof (float));
    GST_BUFFER_PTS (buf) = start + gst_util_uint64_scale_round (i, GST_SECOND, rate);
    GST_BUFFER_DURATION (buf) = start + gst_util_uint64_scale_round (i + n, GST_SECOND, rate)
        - GST_BUFFER_PTS (buf);
    gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  }
  gst_object_unref (src);
}

void
at_push_bytes (AtRun *run, const char *name, const guint8 *bytes, size_t size, GstClockTime pts)
{
  GstElement *src = get_src (run, name);
  GstBuffer *buf = gst_buffer_new_memdup (bytes, size);
  GST_BUFFER_PTS (buf) = pts;
  gst_app_src_push_buffer (GST_APP_SRC (src), buf);
  gst_object_unref (src);
}

void
at_end (AtRun *run, const char *name)
{
  GstElement *src = get_src (run, name);
  gst_app_src_end_of_stream (GST_APP_SRC (src));
  gst_object_unref (src);
}

gboolean
at_wait (AtRun *run, guint timeout_ms)
{
  GstBus *bus = gst_element_get_bus (run->pipeline);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean done = FALSE;
  while (!done) {
    gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0)
      break;
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, (GstClockTime) left * 1000,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    if (!msg)
      break;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
      GError *warning = NULL;
      gst_message_parse_warning (msg, &warning, NULL);
      g_string_append_printf (run->warnings, "%s\n", warning->message);
      g_error_free (warning);
      gst_message_unref (msg);
      continue;
    }
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && !run->error) {
      GError *error = NULL;
      char *debug = NULL;
      gst_message_parse_error (msg, &error, &debug);
      run->error = g_strdup_printf ("%s (%s)", error->message, debug ? debug : "");
      g_error_free (error);
      g_free (debug);
    } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS) {
      run->eos = TRUE;
    }
    done = TRUE;
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  return done;
}

void
at_free (AtRun *run)
{
  gst_element_set_state (run->pipeline, GST_STATE_NULL);
  gst_object_unref (run->pipeline);
  g_array_free (run->out, TRUE);
  g_array_free (run->pts, TRUE);
  g_array_free (run->offsets, TRUE);
  g_free (run->error);
  g_string_free (run->warnings, TRUE);
  g_mutex_clear (&run->lock);
  g_free (run);
}

double
at_tone (const float *x, size_t n, int rate, double hz)
{
  double w = 2.0 * G_PI * hz / rate, s1 = 0.0, s2 = 0.0, window_sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double hann = 0.5 - 0.5 * cos (2.0 * G_PI * (double) i / (double) n);
    window_sum += hann;
    double s = hann * x[i] + 2.0 * cos (w) * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  double power = s1 * s1 + s2 * s2 - 2.0 * cos (w) * s1 * s2;
  return window_sum > 0 ? 2.0 * sqrt (MAX (power, 0.0)) / window_sum : 0.0;
}
