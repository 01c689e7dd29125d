/* Test helper (see pipeline-util.h). */
#include "pipeline-util.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <stdio.h>
#include <string.h>

static GstFlowReturn
on_sample (GstAppSink *sink, gpointer data)
{
  PuPipeline *p = data;
  GstSample *sample = gst_app_sink_pull_sample (sink);
  if (!sample)
    return GST_FLOW_EOS;
  GstBuffer *buf = gst_sample_get_buffer (sample);
  GstMapInfo map;
  g_mutex_lock (&p->lock);
  if (!p->out_caps && gst_sample_get_caps (sample))
    p->out_caps = gst_caps_ref (gst_sample_get_caps (sample));
  if (!p->have_segment && gst_sample_get_segment (sample)) {
    gst_segment_copy_into (gst_sample_get_segment (sample), &p->segment);
    p->have_segment = TRUE;
  }
  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    g_array_append_vals (p->out, map.data, map.size / sizeof (float));
    gst_buffer_unmap (buf, &map);
  }
  g_ptr_array_add (p->buffers, gst_buffer_ref (buf));
  g_cond_broadcast (&p->cond);
  g_mutex_unlock (&p->lock);
  gst_sample_unref (sample);
  return GST_FLOW_OK;
}

static void
handle_message (PuPipeline *p, GstMessage *msg)
{
  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_WARNING:
      g_ptr_array_add (p->warnings, gst_message_ref (msg));
      break;
    case GST_MESSAGE_ERROR:
      if (!p->error)
        p->error = gst_message_ref (msg);
      break;
    case GST_MESSAGE_EOS:
      p->eos = TRUE;
      break;
    default:
      break;
  }
}

void
pu_poll_bus (PuPipeline *p)
{
  GstBus *bus = gst_element_get_bus (p->pipeline);
  GstMessage *msg;
  while ((msg = gst_bus_pop (bus))) {
    handle_message (p, msg);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
}

PuPipeline *
pu_new (const char *middle, const char *in_caps, GstClockTime start)
{
  PuPipeline *p = g_new0 (PuPipeline, 1);
  g_mutex_init (&p->lock);
  g_cond_init (&p->cond);
  p->out = g_array_new (FALSE, FALSE, sizeof (float));
  p->buffers = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_buffer_unref);
  p->warnings = g_ptr_array_new_with_free_func ((GDestroyNotify) gst_message_unref);
  p->start = start;
  gst_segment_init (&p->segment, GST_FORMAT_UNDEFINED);
  char *desc = g_strdup_printf ("appsrc name=src format=%s ! %s ! appsink name=sink "
      "sync=false", GST_CLOCK_TIME_IS_VALID (start) ? "time" : "bytes", middle);
  GError *error = NULL;
  p->pipeline = gst_parse_launch (desc, &error);
  g_free (desc);
  g_assert_no_error (error);
  p->src = gst_bin_get_by_name (GST_BIN (p->pipeline), "src");
  p->sink = gst_bin_get_by_name (GST_BIN (p->pipeline), "sink");
  p->in_caps = gst_caps_from_string (in_caps);
  g_assert (p->in_caps);
  const GstStructure *s = gst_caps_get_structure (p->in_caps, 0);
  p->in_ratio = 1;
  g_assert (gst_structure_get_int (s, "channels", &p->in_channels));
  g_assert (gst_structure_get_int (s, "rate", &p->in_rate));
  gst_structure_get_int (s, "ratio", &p->in_ratio);
  g_object_set (p->src, "caps", p->in_caps, NULL);
  GstAppSinkCallbacks cb = { 0 };
  cb.new_sample = on_sample;
  gst_app_sink_set_callbacks (GST_APP_SINK (p->sink), &cb, p, NULL);
  if (gst_element_set_state (p->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    p->state_failed = TRUE;
  pu_poll_bus (p);
  return p;
}

static void
push_one (PuPipeline *p, const float *in, size_t frames)
{
  gsize bytes = frames * p->in_channels * sizeof (float);
  GstBuffer *buf = gst_buffer_new_memdup (in, bytes);
  if (GST_CLOCK_TIME_IS_VALID (p->start)) {
    GstClockTime t0 = p->start + gst_util_uint64_scale_int_round (p->pushed * p->in_ratio,
        GST_SECOND, p->in_rate);
    GstClockTime t1 = p->start + gst_util_uint64_scale_int_round ((p->pushed + frames) *
        p->in_ratio, GST_SECOND, p->in_rate);
    GST_BUFFER_PTS (buf) = t0;
    GST_BUFFER_DURATION (buf) = t1 - t0;
  }
  p->pushed += frames;
  gst_app_src_push_buffer (GST_APP_SRC (p->src), buf);
}

void
pu_push_pattern (PuPipeline *p, const float *in, size_t frames, const size_t *chunks,
    size_t n_chunks)
{
  size_t done = 0, k = 0;
  while (done < frames) {
    size_t c = chunks && n_chunks ? chunks[k++ % n_chunks] : frames;
    c = MIN (MAX (c, 1), frames - done);
    push_one (p, in + done * p->in_channels, c);
    done += c;
  }
}

void
pu_push (PuPipeline *p, const float *in, size_t frames, size_t chunk)
{
  pu_push_pattern (p, in, frames, chunk ? &chunk : NULL, chunk ? 1 : 0);
}

gboolean
pu_wait_output (PuPipeline *p, size_t floats, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  for (;;) {
    pu_poll_bus (p);
    if (p->error)
      return FALSE;
    g_mutex_lock (&p->lock);
    gboolean done = p->out->len >= floats;
    if (!done)
      g_cond_wait_until (&p->cond, &p->lock, MIN (deadline, g_get_monotonic_time () + 20000));
    done = p->out->len >= floats;
    g_mutex_unlock (&p->lock);
    if (done)
      return TRUE;
    if (g_get_monotonic_time () > deadline)
      return FALSE;
  }
}

gboolean
pu_finish (PuPipeline *p, guint timeout_ms)
{
  if (p->state_failed) {
    pu_poll_bus (p);
    return FALSE;
  }
  gst_app_src_end_of_stream (GST_APP_SRC (p->src));
  GstBus *bus = gst_element_get_bus (p->pipeline);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  while (!p->eos && !p->error) {
    gint64 left = deadline - g_get_monotonic_time ();
    if (left <= 0)
      break;
    GstMessage *msg = gst_bus_timed_pop (bus, (GstClockTime) left * 1000);
    if (msg) {
      handle_message (p, msg);
      gst_message_unref (msg);
    }
  }
  gst_object_unref (bus);
  pu_poll_bus (p);
  return p->eos && !p->error;
}

GstElement *
pu_get (PuPipeline *p, const char *name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (p->pipeline), name);
  if (e)
    gst_object_unref (e); /* the pipeline keeps it alive */
  return e;
}

size_t
pu_out_frames (PuPipeline *p)
{
  int channels = 1;
  if (p->out_caps)
    gst_structure_get_int (gst_caps_get_structure (p->out_caps, 0), "channels", &channels);
  return p->out->len / (size_t) channels;
}

const float *
pu_out (PuPipeline *p)
{
  return (const float *) p->out->data;
}

static char *
message_text (GstMessage *msg)
{
  GError *err = NULL;
  char *debug = NULL;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &err, &debug);
  else
    gst_message_parse_warning (msg, &err, &debug);
  char *text = g_strdup (err ? err->message : "");
  g_clear_error (&err);
  g_free (debug);
  return text;
}

char *
pu_error_text (PuPipeline *p)
{
  return p->error ? message_text (p->error) : g_strdup ("");
}

char *
pu_warning_text (PuPipeline *p)
{
  GString *s = g_string_new (NULL);
  for (guint i = 0; i < p->warnings->len; i++) {
    char *t = message_text (p->warnings->pdata[i]);
    g_string_append_printf (s, "%s%s", i ? "\n" : "", t);
    g_free (t);
  }
  return g_string_free (s, FALSE);
}

void
pu_free (PuPipeline *p)
{
  if (!p)
    return;
  gst_element_set_state (p->pipeline, GST_STATE_NULL);
  gst_object_unref (p->src);
  gst_object_unref (p->sink);
  gst_object_unref (p->pipeline);
  gst_caps_unref (p->in_caps);
  if (p->out_caps)
    gst_caps_unref (p->out_caps);
  if (p->error)
    gst_message_unref (p->error);
  g_ptr_array_unref (p->warnings);
  g_ptr_array_unref (p->buffers);
  g_array_unref (p->out);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->cond);
  g_free (p);
}

PuPipeline *
pu_run (const char *middle, const char *in_caps, const float *in, size_t frames,
    const size_t *chunks, size_t n_chunks, GstClockTime start)
{
  PuPipeline *p = pu_new (middle, in_caps, start);
  if (!p->state_failed) {
    pu_push_pattern (p, in, frames, chunks, n_chunks);
    pu_finish (p, 120000);
  }
  return p;
}

int
pu_skip_without_real_model (const char *model)
{
  if (!g_file_test (model, G_FILE_TEST_IS_REGULAR)) {
    printf ("SKIP: %s not found (the shipped models are built by the scripts in models/)\n",
        model);
    return 77;
  }
  const char *backend = g_getenv ("LATENT_TORCH_BACKEND");
  if (backend && strstr (backend, "mock-backend")) {
    printf ("SKIP: the mock backend (valgrindmock setup) only knows the fixtures\n");
    return 77;
  }
  return 0;
}

static int
count_error (GstMessage *msg, const char *needle, char **first)
{
  GError *err = NULL;
  char *debug = NULL;
  gst_message_parse_error (msg, &err, &debug);
  int hit = strstr (err->message, needle) != NULL;
  if (first && !*first)
    *first = g_strdup (err->message);
  g_error_free (err);
  g_free (debug);
  return hit;
}

int
pu_count_errors (const char *launch, const char *needle, guint timeout_ms, char **first_error)
{
  GError *error = NULL;
  GstElement *pipeline = gst_parse_launch (launch, &error);
  g_assert_no_error (error);
  GstBus *bus = gst_element_get_bus (pipeline);
  char *first = NULL;
  int hits = 0;
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  gboolean ended = FALSE;
  while (!ended && g_get_monotonic_time () < deadline) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_MSECOND,
        GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    if (!msg)
      continue;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      hits += count_error (msg, needle, &first);
    ended = TRUE;
    gst_message_unref (msg);
  }
  /* What else arrives while the pipeline winds down and stops. */
  gint64 drain_end = g_get_monotonic_time () + 300 * 1000;
  while (g_get_monotonic_time () < drain_end) {
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 20 * GST_MSECOND, GST_MESSAGE_ERROR);
    if (msg) {
      hits += count_error (msg, needle, &first);
      gst_message_unref (msg);
    }
  }
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  GstMessage *msg;
  while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
    hits += count_error (msg, needle, &first);
    gst_message_unref (msg);
  }
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  if (first_error)
    *first_error = first ? first : g_strdup ("");
  else
    g_free (first);
  return hits;
}

/* ------------------------------------------------------------ live impulse */

static GstPadProbeReturn
pu_write_impulse (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  PuLiveImpulse *li = data;
  GstBuffer *buf = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_DATA (info) = buf;
  gsize n = gst_buffer_get_size (buf) / sizeof (float);
  if (li->in_end == 0)
    li->first_pts = GST_BUFFER_PTS (buf);
  if (li->in_end <= li->impulse_at && li->impulse_at < li->in_end + n) {
    GstMapInfo map;
    gst_buffer_map (buf, &map, GST_MAP_WRITE);
    ((float *) map.data)[li->impulse_at - li->in_end] = 1.0f;
    gst_buffer_unmap (buf, &map);
  }
  g_atomic_pointer_set (&li->in_end, li->in_end + n);
  return GST_PAD_PROBE_OK;
}

static GstPadProbeReturn
pu_find_response (GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  PuLiveImpulse *li = data;
  if (li->response_at >= 0)
    return GST_PAD_PROBE_OK;
  GstMapInfo map;
  gst_buffer_map (GST_PAD_PROBE_INFO_BUFFER (info), &map, GST_MAP_READ);
  const float *y = (const float *) map.data;
  for (gsize i = 0; i < map.size / sizeof (float); i++) {
    if (y[i] != 0.0f) {
      li->hold_back = (guint64) g_atomic_pointer_get (&li->in_end) - (li->impulse_at + 1);
      li->pts = GST_BUFFER_PTS (GST_PAD_PROBE_INFO_BUFFER (info))
          + gst_util_uint64_scale_int (i, GST_SECOND, li->rate);
      li->response_at = (gint64) gst_util_uint64_scale_int_round (li->pts - li->first_pts,
          li->rate, GST_SECOND);
      GstClock *clock = gst_element_get_clock (li->pipe);
      li->arrival = gst_clock_get_time (clock) - gst_element_get_base_time (li->pipe);
      gst_object_unref (clock);
      break;
    }
  }
  gst_buffer_unmap (GST_PAD_PROBE_INFO_BUFFER (info), &map);
  return GST_PAD_PROBE_OK;
}

static GstClockTime
pu_min_latency (GstElement *element)
{
  GstQuery *q = gst_query_new_latency ();
  g_assert (gst_element_query (element, q));
  GstClockTime min;
  gst_query_parse_latency (q, NULL, &min, NULL);
  gst_query_unref (q);
  return min;
}

guint64
pu_live_impulse (const char *description, const char *element, guint64 impulse_at, int rate,
    PuLiveImpulse *li)
{
  GError *error = NULL;
  GstElement *pipe = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  *li = (PuLiveImpulse) { .impulse_at = impulse_at, .rate = rate, .response_at = -1,
    .pipe = pipe };
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstElement *measured = gst_bin_get_by_name (GST_BIN (pipe), element);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipe), "sink");
  g_assert (src && measured && sink);
  GstPad *src_pad = gst_element_get_static_pad (src, "src");
  GstPad *sink_pad = gst_element_get_static_pad (sink, "sink");
  gst_pad_add_probe (src_pad, GST_PAD_PROBE_TYPE_BUFFER, pu_write_impulse, li, NULL);
  gst_pad_add_probe (sink_pad, GST_PAD_PROBE_TYPE_BUFFER, pu_find_response, li, NULL);
  g_assert (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstBus *bus = gst_element_get_bus (pipe);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  g_assert (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS);
  gst_message_unref (msg);
  GstClockTime src_min = pu_min_latency (src), element_min = pu_min_latency (measured);
  li->configured = pu_min_latency (pipe); /* what the pipeline configured (live sinks' minimum) */
  g_assert (li->response_at >= 0); /* a response to the impulse reached the sink */
  g_test_message ("%s: configured latency %" GST_TIME_FORMAT ", the response reached the sink %"
      GST_TIME_FORMAT " after its time", element, GST_TIME_ARGS (li->configured),
      GST_TIME_ARGS (li->arrival - li->pts));
  /* The sink renders at pts + the configured latency; arriving later would delay it. */
  g_assert_cmpuint (MAX (li->arrival, li->pts + li->configured) - li->pts, ==, li->configured);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src_pad);
  gst_object_unref (sink_pad);
  gst_object_unref (src);
  gst_object_unref (measured);
  gst_object_unref (sink);
  gst_object_unref (pipe);
  li->pipe = NULL;
  return gst_util_uint64_scale_int_round (element_min - src_min, rate, GST_SECOND);
}
