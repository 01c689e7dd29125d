/* Helpers of test-terrain-elements.c: latents of a shipped clip through raveencode, a
 * terraintrain pipeline fed from appsrc (one segment per fragment, optional coordinates) that
 * collects its bus messages, the straight layout's path as a coordinate stream. */
#include "terrain-test-util.h"

#include <gst/app/gstappsrc.h>
#include <math.h>

#include "audio-metrics.h"
#include "pipeline-util.h"

/* The clip's latents through `raveencode` (n frames of LATENTS). */
float *
encode_clip (const char *name, size_t *n)
{
  char *path = g_build_filename (CLIPS, name, NULL);
  AmAudio audio;
  GError *error = NULL;
  if (!am_wav_read (path, &audio, &error))
    g_error ("%s", error->message);
  float *mono = am_audio_mono (&audio);
  size_t frames = audio.frames;
  if (audio.rate != SR) {
    float *r = am_resample_linear (mono, frames, audio.rate, SR, &frames);
    g_free (mono);
    mono = r;
  }
  PuPipeline *p = pu_run ("raveencode model=" MODEL, "audio/x-raw, format=F32LE, "
      "layout=interleaved, channels=1, rate=44100", mono, frames, NULL, 0, 0);
  g_assert (p->eos);
  *n = pu_out_frames (p);
  float *latents = g_memdup2 (pu_out (p), *n * LATENTS * sizeof (float));
  pu_free (p);
  am_audio_clear (&audio);
  g_free (mono);
  g_free (path);
  return latents;
}

/* Pushes one fragment as its own segment (appsrc sends a new SEGMENT for a changed one). */
void
push_fragment (GstElement *appsrc, const float *latents, size_t n, guint index)
{
  GstSegment segment;
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.base = index * 1000 * GST_SECOND; /* distinct segments, running time increasing */
  GstCaps *caps = gst_caps_from_string ("audio/x-latent, format=F32LE, layout=interleaved, "
      "channels=8, rate=44100, ratio=1024");
  for (size_t done = 0; done < n;) {
    size_t c = MIN (16, n - done);
    GstBuffer *buf = gst_buffer_new_memdup (latents + done * LATENTS,
        c * LATENTS * sizeof (float));
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale (done * RATIO, GST_SECOND, SR);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale ((done + c) * RATIO, GST_SECOND, SR) -
        GST_BUFFER_PTS (buf);
    GstSample *sample = gst_sample_new (buf, caps, &segment, NULL);
    gst_app_src_push_sample (GST_APP_SRC (appsrc), sample);
    gst_sample_unref (sample);
    gst_buffer_unref (buf);
    done += c;
  }
  gst_caps_unref (caps);
}


void
train_result_clear (TrainResult *r)
{
  g_array_unref (r->losses);
  g_free (r->error);
}

static void
collect (TrainResult *r, GstMessage *msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS)
    r->eos = TRUE;
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR && !r->error) {
    GError *e = NULL;
    gst_message_parse_error (msg, &e, NULL);
    r->error = g_strdup (e->message);
    g_error_free (e);
  }
  if (GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ELEMENT || !s)
    return;
  if (gst_structure_has_name (s, "latent-terrain-progress")) {
    double loss;
    g_assert (gst_structure_get_double (s, "loss", &loss));
    g_array_append_val (r->losses, loss);
  }
  if (gst_structure_has_name (s, "latent-terrain-saved"))
    r->saved = TRUE;
}


/* appsrc (latent fragments, one segment each) ! terraintrain PROPS, and with `coords` a
 * second appsrc into the coords pad; waits for EOS or error. `before_eos` runs after the
 * data, before EOS is sent. */
TrainResult
train_with (float **fragments, const size_t *frames, guint n, const Coords *coords,
    const char *props, void (*before_eos) (void))
{
  TrainResult r = { .losses = g_array_new (FALSE, FALSE, sizeof (double)) };
  char *coords_branch = coords ? g_strdup_printf (" appsrc name=co format=time caps=\"audio/x-raw, "
      "format=F32LE, layout=interleaved, channels=%d, rate=%d\" ! train.coords",
      coords->channels, COORD_RATE) : g_strdup ("");
  char *desc = g_strdup_printf ("appsrc name=lat format=time handle-segment-change=true ! "
      "terraintrain name=train %s%s", props, coords_branch);
  g_free (coords_branch);
  GstElement *pipeline = gst_parse_launch (desc, NULL);
  g_assert (pipeline);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipeline), "lat");
  GstBus *bus = gst_element_get_bus (pipeline);
  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    r.state_failed = TRUE;
  } else {
    for (guint i = 0; i < n; i++)
      push_fragment (src, fragments[i], frames[i], i);
    if (coords) {
      GstElement *co = gst_bin_get_by_name (GST_BIN (pipeline), "co");
      if (coords->n > 0) {
        GstBuffer *buf = gst_buffer_new_memdup (coords->values,
            coords->n * coords->channels * sizeof (float));
        GST_BUFFER_PTS (buf) = 0;
        GST_BUFFER_DURATION (buf) = gst_util_uint64_scale (coords->n, GST_SECOND, COORD_RATE);
        gst_app_src_push_buffer (GST_APP_SRC (co), buf);
      }
      gst_app_src_end_of_stream (GST_APP_SRC (co));
      gst_object_unref (co);
    }
    if (before_eos) {
      g_usleep (300 * 1000); /* the data reached the element */
      before_eos ();
    }
    gst_app_src_end_of_stream (GST_APP_SRC (src));
  }
  gint64 deadline = g_get_monotonic_time () + 300 * G_USEC_PER_SEC;
  while (!r.eos && g_get_monotonic_time () < deadline) {
    GstMessage *msg = gst_bus_timed_pop (bus, 100 * GST_MSECOND);
    if (msg) {
      collect (&r, msg);
      gst_message_unref (msg);
    }
    if (r.state_failed && !msg)
      break;
  }
  GstMessage *msg;
  while ((msg = gst_bus_pop (bus))) {
    collect (&r, msg);
    gst_message_unref (msg);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_object_unref (pipeline);
  g_free (desc);
  return r;
}

TrainResult
train (float **fragments, const size_t *frames, guint n, const char *props,
    void (*before_eos) (void))
{
  return train_with (fragments, frames, n, NULL, props, before_eos);
}

/* Coordinates (COORD_RATE Hz, 2 channels) whose value at the centre of latent frame j is
 * the straight layout's point j of an n-frame fragment at height y. */
float *
straight_path (size_t n, double y, size_t *n_samples)
{
  *n_samples = (size_t) ceil ((double) n * RATIO / SR * COORD_RATE);
  float *c = g_new (float, *n_samples * 2);
  for (size_t i = 0; i < *n_samples; i++) {
    double frame = (double) i / COORD_RATE * SR / RATIO - 0.5; /* fractional frame index */
    c[2 * i] = (float) ((frame - (n - 1) / 2.0) * FRAME_SPACING);
    c[2 * i + 1] = (float) y;
  }
  return c;
}

double
correlation (const float *a, const float *b, size_t n, int stride)
{
  double ma = 0, mb = 0, sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; i++) {
    ma += a[i * stride];
    mb += b[i * stride];
  }
  ma /= n;
  mb /= n;
  for (size_t i = 0; i < n; i++) {
    double da = a[i * stride] - ma, db = b[i * stride] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return sab / sqrt (saa * sbb + 1e-30);
}

