/* aftertransfer on the fixtures of tests/data/make_after_fixtures.py, whose output is
 * predictable: a 440 Hz sine whose amplitude per latent frame (256 samples at 16 kHz) is
 * structure rms * timbre0 * guidance_structure * guidance_timbre * steps (audio model), or
 * one sine per MIDI voice at its pitch with amplitude velocity / 127 * timbre0 * ... (MIDI
 * model, 2 voices). Checks: N in -> N out with the structure's timestamps, timbre from audio,
 * from a coordinate stream, from `timbre-vector`, held after the timbre stream ends, a timbre
 * pad that never gets data (no deadlock), live properties, MIDI onsets/pitches, and errors. */
#include <gst/gst.h>
#include <gst/app/gstappsrc.h>
#include <math.h>
#include <string.h>

#include "after-util.h"
#include "compile-check.h"
#include "pipeline-util.h"

#define AUDIO_MODEL LATENT_TEST_DATA "/after-audio.ts"
#define MIDI_MODEL LATENT_TEST_DATA "/after-midi.ts"
#define SR 16000
#define FRAME 256
#define BLOCK 1024
#define MONO "audio/x-raw,format=F32LE,layout=interleaved,channels=1,rate="
#define TIMEOUT_MS 30000

static const GstClockTime START = GST_SECOND; /* structure timestamps start here */

static float *
sine (size_t n, double hz, double amplitude)
{
  float *x = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    x[i] = (float) (amplitude * sin (2.0 * G_PI * hz * (double) i / SR));
  return x;
}

static float *
constant (size_t n, float value)
{
  float *x = g_new (float, n);
  for (size_t i = 0; i < n; i++)
    x[i] = value;
  return x;
}

/* Amplitude of the fixture's 440 Hz output over output samples [from, from + n). */
static double
amp_440 (AtRun *run, size_t from, size_t n)
{
  g_assert_cmpuint (from + n, <=, run->out->len);
  return at_tone ((const float *) run->out->data + from, n, SR, 440.0);
}

static char *
audio_pipeline (const char *props, gboolean with_timbre, int structure_rate)
{
  return g_strdup_printf ("aftertransfer name=a model=%s %s ! appsink name=sink sync=false "
      "appsrc name=s format=time caps=" MONO "%d ! a.structure %s", AUDIO_MODEL, props,
      structure_rate, with_timbre ? "appsrc name=t format=time caps=" MONO "16000 ! a.timbre"
      : "");
}

static void
test_n_in_n_out (void)
{
  const size_t n = 10000; /* not a multiple of the 1024-sample chunk */
  float *structure = sine (n, 1000.0, 0.4), *timbre = constant (16000, 0.5f);
  char *desc = audio_pipeline ("", TRUE, SR);
  AtRun *run = at_new (desc);
  at_push (run, "t", timbre, 16000, 1, SR, 1600, START);
  at_push (run, "s", structure, n, 1, SR, 700, START);
  at_end (run, "t");
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_true (run->eos);
  g_assert_cmpuint (run->out->len, ==, n);
  g_assert_cmpint (run->out_rate, ==, SR);
  /* Timestamps follow the structure stream, sample-exact. */
  for (guint i = 0; i < run->pts->len; i++) {
    GstClockTime pts = g_array_index (run->pts, GstClockTime, i);
    guint64 offset = g_array_index (run->offsets, guint64, i);
    g_assert_cmpuint (pts, ==, START + gst_util_uint64_scale_round (offset, GST_SECOND, SR));
  }
  /* Output level = structure rms (0.4 / sqrt 2) * timbre rms (0.5). */
  double expected = 0.4 / sqrt (2.0) * 0.5;
  double measured = amp_440 (run, 2048, 4096);
  g_test_message ("440 Hz amplitude %.4f, expected %.4f", measured, expected);
  g_assert_cmpfloat_with_epsilon (measured, expected, expected * 0.05);
  /* Latency (low, the default): one chunk, 1024 samples at 16 kHz, less the one sample that
   * arrives with the chunk's last, + the compute margin (fixed in main by LATENT_RT_MARGIN_US:
   * 8 ms, 128 samples). */
  GstElement *a = gst_bin_get_by_name (GST_BIN (run->pipeline), "a");
  GstPad *src = gst_element_get_static_pad (a, "src");
  GstQuery *query = gst_query_new_latency ();
  g_assert_true (gst_pad_query (src, query));
  GstClockTime min_latency;
  gst_query_parse_latency (query, NULL, &min_latency, NULL);
  g_assert_cmpuint (min_latency, ==, gst_util_uint64_scale_int (1023 + 128, GST_SECOND, 16000));
  gst_query_unref (query);
  gst_object_unref (src);
  gst_object_unref (a);
  at_free (run);
  g_free (desc);
  g_free (structure);
  g_free (timbre);
}

/* The timbre stream stops after 0.5 s; its last timbre (level 0.5, after 0.1 before) holds
 * for the remaining 1.5 s of structure, and the element does not wait for it. */
static void
test_timbre_ends_early (void)
{
  const size_t n = 2 * SR, tn = SR / 2;
  float *structure = sine (n, 1000.0, 0.4), *timbre = constant (tn, 0.5f);
  for (size_t i = 0; i < 2 * BLOCK; i++)
    timbre[i] = 0.1f;
  char *desc = audio_pipeline ("", TRUE, SR);
  AtRun *run = at_new (desc);
  at_push (run, "t", timbre, tn, 1, SR, 512, START);
  at_end (run, "t");
  at_push (run, "s", structure, n, 1, SR, 1024, START);
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_cmpuint (run->out->len, ==, n);
  double rms_s = 0.4 / sqrt (2.0);
  double early = amp_440 (run, 1024, 1024), late = amp_440 (run, n - 8192, 8192);
  g_test_message ("early %.4f (timbre 0.1), late %.4f (held 0.5)", early, late);
  /* Chunk 1 (samples 1024..2047) used the timbre of timbre chunk 0 (0.1) or 1 (0.1). */
  g_assert_cmpfloat_with_epsilon (early, rms_s * 0.1, rms_s * 0.1 * 0.1);
  g_assert_cmpfloat_with_epsilon (late, rms_s * 0.5, rms_s * 0.5 * 0.05);
  at_free (run);
  g_free (desc);
  g_free (structure);
  g_free (timbre);
}

/* timbre-vector sets the timbre when no timbre pad is linked; steps and guidance scale the
 * fixture's output (2 * 1.5 * 1). */
static void
test_timbre_vector_and_properties (void)
{
  const size_t n = 8192;
  float *structure = sine (n, 1000.0, 0.4);
  char *desc = audio_pipeline ("timbre-vector=\"<0.25, 0.0>\" steps=2 guidance-structure=1.5",
      FALSE, SR);
  AtRun *run = at_new (desc);
  at_push (run, "s", structure, n, 1, SR, 1000, START);
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_cmpuint (run->out->len, ==, n);
  double expected = 0.4 / sqrt (2.0) * 0.25 * 2 * 1.5;
  g_assert_cmpfloat_with_epsilon (amp_440 (run, 1024, 4096), expected, expected * 0.05);
  at_free (run);
  g_free (desc);
  g_free (structure);
}

/* A linked timbre pad that never gets data: the aggregator's timeout runs the structure on
 * (with timbre-vector as the starting timbre) instead of waiting forever. */
static void
test_timbre_never_arrives (void)
{
  const size_t n = SR / 2;
  float *structure = sine (n, 1000.0, 0.4);
  char *desc = audio_pipeline ("timbre-vector=\"<0.5>\"", TRUE, SR);
  AtRun *run = at_new (desc);
  at_push (run, "s", structure, n, 1, SR, 1000, START);
  at_end (run, "s");
  gint64 t0 = g_get_monotonic_time ();
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_test_message ("finished in %.2f s", (g_get_monotonic_time () - t0) / 1e6);
  g_assert_null (run->error);
  g_assert_cmpuint (run->out->len, ==, n);
  double expected = 0.4 / sqrt (2.0) * 0.5;
  g_assert_cmpfloat_with_epsilon (amp_440 (run, 1024, 4096), expected, expected * 0.05);
  at_free (run);
  g_free (desc);
  g_free (structure);
}

/* steps changed while playing reaches the model before a later chunk. */
static void
test_live_steps (void)
{
  const size_t n = 16 * BLOCK;
  float *structure = sine (n, 1000.0, 0.4);
  char *desc = audio_pipeline ("timbre-vector=\"<0.5>\"", FALSE, SR);
  AtRun *run = at_new (desc);
  at_push (run, "s", structure, n / 2, 1, SR, BLOCK, START);
  /* Wait until the first half came out, then change steps and send the rest. */
  for (int i = 0; i < 1000; i++) {
    g_mutex_lock (&run->lock);
    gboolean half = run->out->len >= n / 2;
    g_mutex_unlock (&run->lock);
    if (half)
      break;
    g_usleep (10000);
  }
  GstElement *a = gst_bin_get_by_name (GST_BIN (run->pipeline), "a");
  g_object_set (a, "steps", 3, NULL);
  gst_object_unref (a);
  at_push (run, "s", structure + n / 2, n / 2, 1, SR, BLOCK,
      START + gst_util_uint64_scale (n / 2, GST_SECOND, SR));
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_cmpuint (run->out->len, ==, n);
  double expected = 0.4 / sqrt (2.0) * 0.5;
  double before = amp_440 (run, BLOCK, 4 * BLOCK), after = amp_440 (run, n - 4 * BLOCK, 4 * BLOCK);
  g_test_message ("steps 1: %.4f, after steps=3: %.4f", before, after);
  g_assert_cmpfloat_with_epsilon (before, expected, expected * 0.05);
  g_assert_cmpfloat_with_epsilon (after, 3 * expected, 3 * expected * 0.05);
  at_free (run);
  g_free (desc);
  g_free (structure);
}

/* A live structure source (is-live appsrc, real-time clock) with a linked timbre pad that
 * never gets data: output keeps coming (latency timeouts), N in -> N out. */
static void
test_live_source (void)
{
  const size_t n = SR / 2;
  float *structure = sine (n, 1000.0, 0.4);
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s timbre-vector=\"<0.5>\" ! "
      "appsink name=sink sync=true appsrc name=s is-live=true do-timestamp=false format=time "
      "caps=" MONO "16000 ! a.structure appsrc name=t is-live=true format=time caps=" MONO
      "16000 ! a.timbre", AUDIO_MODEL);
  AtRun *run = at_new (desc);
  at_push (run, "s", structure, n, 1, SR, 512, 0);
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_cmpuint (run->out->len, ==, n);
  double expected = 0.4 / sqrt (2.0) * 0.5;
  g_assert_cmpfloat_with_epsilon (amp_440 (run, 1024, 4096), expected, expected * 0.05);
  at_free (run);
  g_free (desc);
  g_free (structure);
}

/* A 2-channel coordinate stream (the fixture's timbre_dims) sets the timbre directly. */
static void
test_timbre_coordinates (void)
{
  const size_t n = 8192, cn = 100; /* coordinates at 100 Hz for 1 s */
  float *structure = sine (n, 1000.0, 0.4), *coords = g_new (float, 2 * cn);
  for (size_t i = 0; i < cn; i++) {
    coords[2 * i] = 0.3f;
    coords[2 * i + 1] = 0.0f;
  }
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s ! appsink name=sink sync=false "
      "appsrc name=s format=time caps=" MONO "16000 ! a.structure "
      "appsrc name=t format=time caps=audio/x-raw,format=F32LE,layout=interleaved,channels=2,"
      "rate=100 ! a.timbre", AUDIO_MODEL);
  AtRun *run = at_new (desc);
  at_push (run, "t", coords, cn, 2, 100, 10, START);
  at_end (run, "t");
  at_push (run, "s", structure, n, 1, SR, 1000, START);
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  double expected = 0.4 / sqrt (2.0) * 0.3;
  g_assert_cmpfloat_with_epsilon (amp_440 (run, 1024, 4096), expected, expected * 0.05);
  at_free (run);
  g_free (desc);
  g_free (structure);
  g_free (coords);
}

#define LATENT_TIMBRE "audio/x-latent,format=F32LE,layout=interleaved,channels=2,rate=16000," \
  "ratio=256"

/* An audio/x-latent timbre stream (e.g. terrainplay over a timbre terrain): each chunk takes
 * the mean of its 4 frames; after the stream ends the last chunk's timbre holds. */
static void
test_timbre_latent (void)
{
  const size_t n = 8 * BLOCK, frames = 16; /* the latent stream covers the first 4 chunks */
  float *structure = sine (n, 1000.0, 0.4), *z = g_new0 (float, 2 * frames);
  const float t0[16] = { 0.1f, 0.3f, 0.1f, 0.3f, 0.1f, 0.3f, 0.1f, 0.3f,
    0.5f, 0.3f, 0.4f, 0.4f, 0.5f, 0.3f, 0.4f, 0.4f };
  for (size_t f = 0; f < frames; f++)
    z[2 * f] = t0[f];
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s ! appsink name=sink sync=false "
      "appsrc name=s format=time caps=" MONO "16000 ! a.structure "
      "appsrc name=t format=time caps=" LATENT_TIMBRE " ! a.timbre", AUDIO_MODEL);
  AtRun *run = at_new (desc);
  /* Latent frames last 256 / 16000 s: push them as 16 kHz "samples" of 1/256 the spacing. */
  for (size_t f = 0; f < frames; f += 3) {
    size_t m = MIN (3, frames - f);
    GstBuffer *buf = gst_buffer_new_memdup (z + 2 * f, m * 2 * sizeof (float));
    GST_BUFFER_PTS (buf) = START + gst_util_uint64_scale_round (f * FRAME, GST_SECOND, SR);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_round (m * FRAME, GST_SECOND, SR);
    GstElement *src = gst_bin_get_by_name (GST_BIN (run->pipeline), "t");
    g_assert_cmpint (gst_app_src_push_buffer (GST_APP_SRC (src), buf), ==, GST_FLOW_OK);
    gst_object_unref (src);
  }
  at_end (run, "t");
  at_push (run, "s", structure, n, 1, SR, 700, START);
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  const double level = 0.4 / sqrt (2.0);
  const double expect[8] = { 0.2, 0.2, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4 };
  for (int k = 0; k < 8; k++) {
    double measured = amp_440 (run, (size_t) k * BLOCK, BLOCK);
    g_test_message ("chunk %d: 440 Hz amplitude %.4f, expected %.4f", k, measured,
        level * expect[k]);
    g_assert_cmpfloat_with_epsilon (measured, level * expect[k], level * expect[k] * 0.05);
  }
  at_free (run);
  g_free (desc);
  g_free (structure);
  g_free (z);
}

/* timbre-map=true: the timbre pad's 2 values and timbre-vector are (x, y) on the model's
 * map2latent (after-audio-map.ts: timbre = (x / 2, y / 4)); a model without one is refused. */
static void
test_timbre_map (void)
{
  const size_t n = 4 * BLOCK;
  float *structure = sine (n, 1000.0, 0.4);
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s timbre-map=true "
      "timbre-vector=\"<0.6, 0.0>\" ! appsink name=sink sync=false appsrc name=s format=time "
      "caps=" MONO "16000 ! a.structure", LATENT_TEST_DATA "/after-audio-map.ts");
  AtRun *run = at_new (desc);
  at_push (run, "s", structure, n, 1, SR, 700, START);
  at_end (run, "s");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  double expected = 0.4 / sqrt (2.0) * 0.3;
  g_assert_cmpfloat_with_epsilon (amp_440 (run, BLOCK, 2 * BLOCK), expected, expected * 0.05);
  at_free (run);
  g_free (desc);
  desc = g_strdup_printf ("aftertransfer name=a model=%s timbre-map=true ! appsink name=sink "
      "sync=false appsrc name=s format=time caps=" MONO "16000 ! a.structure", AUDIO_MODEL);
  run = at_new (desc);
  if (!run->error) {
    at_push (run, "s", structure, n, 1, SR, 700, START);
    at_end (run, "s");
    at_wait (run, TIMEOUT_MS);
  }
  g_assert_nonnull (run->error);
  g_assert_nonnull (strstr (run->error, "map2latent"));
  at_free (run);
  g_free (desc);
  g_free (structure);
}

static void
push_note (AtRun *run, guint8 status, guint8 pitch, guint8 velocity, double seconds)
{
  const guint8 event[3] = { status, pitch, velocity };
  at_push_bytes (run, "m", event, 3, (GstClockTime) (seconds * GST_SECOND));
}

/* A corrupt delta time (a note 77 hours after the first, midiparse ticking every 10 ms in
 * between) rendered hours of silence: the stream ends with an error naming max-midi-gap once
 * the gap passes it, after about that much output; ticks alone do not count as events. */
static void
test_midi_gap_refused (void)
{
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s timbre-vector=\"<1.0>\" "
      "max-midi-gap=1.5 ! appsink name=sink sync=false appsrc name=m format=time "
      "caps=audio/x-midi-event ! a.midi", MIDI_MODEL);
  AtRun *run = at_new (desc);
  push_note (run, 0x90, 69, 127, 0.0);
  push_note (run, 0x80, 69, 0, 0.5);
  const guint8 tick = 0xF9;
  for (double t = 0.51; t < 4.0; t += 0.01)
    at_push_bytes (run, "m", &tick, 1, (GstClockTime) (t * GST_SECOND));
  push_note (run, 0x90, 72, 127, 277000.0);
  at_end (run, "m");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_nonnull (run->error);
  g_test_message ("%s", run->error);
  g_assert_nonnull (strstr (run->error, "jumps from 0:00:00.500000000"));
  g_assert_nonnull (strstr (run->error, "max-midi-gap (1.5 s)"));
  g_assert_cmpuint (run->out->len, <, (size_t) (2.5 * SR));
  at_free (run);
  g_free (desc);
}

/* MIDI model: notes at known times and pitches come out at those times and pitches; a note
 * shorter than a latent frame (16 ms) still sounds in its frame; a third note steals the
 * oldest of the 2 voices. */
static void
test_midi_notes (void)
{
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s timbre-vector=\"<1.0>\" ! "
      "appsink name=sink sync=false appsrc name=m format=time caps=audio/x-midi-event ! a.midi",
      MIDI_MODEL);
  AtRun *run = at_new (desc);
  push_note (run, 0x90, 69, 127, 0.200); /* A4 0.2 .. 0.6 s */
  push_note (run, 0x90, 72, 127, 0.300); /* C5 for 5 ms only */
  push_note (run, 0x80, 72, 0, 0.305);
  push_note (run, 0x80, 69, 0, 0.600);
  push_note (run, 0x90, 60, 127, 0.800); /* C4, E4, then G4 steals C4 at 1.0 s */
  push_note (run, 0x90, 64, 127, 0.800);
  push_note (run, 0x90, 67, 127, 1.000);
  push_note (run, 0xB0, 123, 0, 1.200);  /* all notes off */
  at_end (run, "m");
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_true (run->eos);
  const float *y = (const float *) run->out->data;
  size_t len = run->out->len;
  g_test_message ("MIDI output: %zu samples", len);
  g_assert_cmpuint (len, >=, (size_t) (1.2 * SR));
  /* Onset of A4: the first frame with energy is the one holding 0.2 s (frame 12). */
  size_t onset = 0;
  while (onset < len && fabsf (y[onset]) < 0.05f)
    onset++;
  g_test_message ("A4 onset at %.4f s", (double) onset / SR);
  g_assert_cmpuint (onset / FRAME, ==, (size_t) (0.2 * SR) / FRAME);
  g_assert_cmpfloat (at_tone (y, (size_t) (0.19 * SR), SR, 440.0), <, 0.01);
  g_assert_cmpfloat_with_epsilon (at_tone (y + (size_t) (0.35 * SR), 2048, SR, 440.0), 1.0, 0.1);
  /* The 5 ms C5 sounds in its frame: 0.3 s = sample 4800 = frame 18 (4608..4863). */
  double c5 = at_tone (y + 18 * FRAME, FRAME, SR, 523.25);
  double c5_after = at_tone (y + 20 * FRAME, 2 * FRAME, SR, 523.25);
  g_test_message ("short C5: %.3f in its frame, %.3f after", c5, c5_after);
  g_assert_cmpfloat (c5, >, 0.5);
  g_assert_cmpfloat (c5_after, <, 0.1);
  /* C4 + E4 at 0.85..0.95 s; after 1.0 s G4 has replaced C4. */
  const float *before = y + (size_t) (0.85 * SR), *after = y + (size_t) (1.05 * SR);
  g_assert_cmpfloat (at_tone (before, 1600, SR, 261.63), >, 0.8);
  g_assert_cmpfloat (at_tone (before, 1600, SR, 329.63), >, 0.8);
  g_assert_cmpfloat (at_tone (after, 1600, SR, 261.63), <, 0.1);
  g_assert_cmpfloat (at_tone (after, 1600, SR, 329.63), >, 0.8);
  g_assert_cmpfloat (at_tone (after, 1600, SR, 392.0), >, 0.8);
  /* All notes off at 1.2 s: silence from the next frame on. */
  size_t off = (size_t) (1.2 * SR) / FRAME * FRAME + FRAME;
  g_assert_cmpfloat (at_tone (y + off, MIN (len - off, 1024), SR, 392.0), <, 0.02);
  at_free (run);
  g_free (desc);
}

/* The caps query asks for the model's rate, so audioresample upstream converts to it. */
static void
test_resample_upstream (void)
{
  char *d = g_strdup_printf ("audiotestsrc num-buffers=10 samplesperbuffer=2205 ! "
      "audio/x-raw,rate=22050,channels=2 ! audioconvert ! audioresample ! a.structure "
      "aftertransfer name=a model=%s ! appsink name=sink sync=false", AUDIO_MODEL);
  AtRun *run = at_new (d);
  g_assert_true (at_wait (run, TIMEOUT_MS));
  g_assert_null (run->error);
  g_assert_cmpint (run->out_rate, ==, SR);
  g_assert_cmpuint (run->out->len, ==, SR); /* 1 s at 22050 Hz -> 1 s at 16 kHz */
  at_free (run);
  g_free (d);
}

/* A pipeline that must fail with an error naming what is wrong. */
static void
expect_error (const char *description, const char *const *fragments, const char *push_to,
    int rate)
{
  AtRun *run = at_new (description);
  if (push_to && !run->state_failed) {
    float *x = sine (4096, 1000.0, 0.3);
    at_push (run, push_to, x, 4096, 1, rate, 1024, 0);
    at_end (run, push_to);
    g_free (x);
  }
  if (!run->error)
    at_wait (run, TIMEOUT_MS);
  g_assert_nonnull (run->error);
  g_test_message ("%s", run->error);
  for (const char *const *f = fragments; *f; f++)
    if (!strstr (run->error, *f))
      g_error ("error lacks '%s': %s", *f, run->error);
  at_free (run);
}

static void
test_errors (void)
{
  char *d;
  /* Wrong pad for the model, both ways. */
  d = g_strdup_printf ("aftertransfer name=a model=%s ! appsink name=sink appsrc name=m "
      "format=time caps=audio/x-midi-event ! a.midi", AUDIO_MODEL);
  expect_error (d, (const char *[]) { "after-audio.ts", "not `midi`", NULL }, NULL, 0);
  g_free (d);
  d = g_strdup_printf ("aftertransfer name=a model=%s ! appsink name=sink appsrc name=s "
      "format=time caps=" MONO "16000 ! a.structure", MIDI_MODEL);
  expect_error (d, (const char *[]) { "after-midi.ts", "MIDI model", "not `structure`", NULL },
      NULL, 0);
  g_free (d);
  /* Structure at another rate. */
  d = audio_pipeline ("", FALSE, 22050);
  expect_error (d, (const char *[]) { "22050 Hz", "16000 Hz", "audioresample", NULL }, "s",
      22050);
  g_free (d);
  /* A source that negotiates by itself at another rate: aftertransfer's error, which says
   * why, comes first (before the source's bare not-negotiated), once, and the pipeline ends,
   * in every one of 20 runs. */
  d = g_strdup_printf ("audiotestsrc num-buffers=4 ! audio/x-raw,format=F32LE,channels=1,"
      "rate=22050 ! a.structure aftertransfer name=a model=%s ! appsink name=sink", AUDIO_MODEL);
  for (int i = 0; i < 20; i++) {
    char *first;
    int n = pu_count_errors (d, "audioresample", TIMEOUT_MS, &first);
    if (n != 1 || !strstr (first, "rate=(int)22050")
        || !strstr (first, "16000 Hz: put audioconvert ! audioresample"))
      g_error ("run %d: %d errors naming audioresample; the first: %s", i, n, first);
    g_free (first);
  }
  g_free (d);
  /* Models that are not (complete) AFTER exports. */
  const struct { const char *file, *fragment; } bad[] = {
    { "after-missing-attr.ts", "guidance_timbre" },
    { "after-wrong-channels.ts", "takes 6 channels" },
    { "after-no-chunk.ts", "chunk is unknown" },
    { "stateful-codec.ts", "not an AFTER export" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    d = g_strdup_printf ("aftertransfer name=a model=%s/%s ! appsink name=sink appsrc name=s "
        "format=time caps=" MONO "16000 ! a.structure", LATENT_TEST_DATA, bad[i].file);
    expect_error (d, (const char *[]) { bad[i].file, bad[i].fragment, NULL }, NULL, 0);
    g_free (d);
  }
}

/* Impulse through a live aftertransfer (audiotestsrc is-live on the pipeline clock, a syncing
 * sink), low and safe: a probe writes 1.0 at the first sample of chunk 4 and counts what the
 * source pushed; when the response (the fixture's sine in the impulse's frame) reaches the
 * sink, that count gives the samples the element held it back for. Source buffers of 512
 * samples leave the aggregator's thread 32 ms to render before the next one, so the count is
 * exact. Measured delay (hold-back + the budgeted margin) == the latency answer, and the sink
 * renders it at its time + the configured latency (not late). */
#define AFTER_IMPULSE_AT (4 * BLOCK)

/* Returns aftertransfer's own latency answer in samples. */
static guint64
after_live_impulse (const char *mode, PuLiveImpulse *li)
{
  char *desc = g_strdup_printf ("aftertransfer name=a model=%s timbre-vector=\"<0.5>\" "
      "latency-mode=%s ! fakesink name=sink sync=true audiotestsrc name=src is-live=true "
      "wave=silence samplesperbuffer=512 num-buffers=%d ! " MONO "16000 ! a.structure",
      AUDIO_MODEL, mode, (AFTER_IMPULSE_AT + 4 * BLOCK) / 512);
  guint64 reported = pu_live_impulse (desc, "a", AFTER_IMPULSE_AT, SR, li);
  g_free (desc);
  return reported;
}

static void
test_live_impulse_delay (void)
{
  PuLiveImpulse ai;
  /* low: the chunk's first sample waits for 1023 more; + M (8 ms = 128 samples). */
  guint64 reported = after_live_impulse ("low", &ai);
  g_assert_cmpint (ai.response_at / FRAME, ==, AFTER_IMPULSE_AT / FRAME); /* not shifted */
  g_assert_cmpuint (ai.hold_back, ==, BLOCK - 1);
  g_assert_cmpuint (ai.hold_back + 128, ==, reported);
  /* safe: two whole chunks reported, one of them headroom; the response must arrive within
   * them (the rendering check above). Its hold-back is not pinned: with the longer latency
   * the aggregator has been seen to render one source buffer later (1535 samples here). */
  reported = after_live_impulse ("safe", &ai);
  g_assert_cmpint (ai.response_at / FRAME, ==, AFTER_IMPULSE_AT / FRAME);
  g_assert_cmpuint (ai.hold_back, <, reported);
  g_assert_cmpuint (reported, ==, 2 * BLOCK);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_test_init (&argc, &argv, NULL);
  g_setenv ("LATENT_RT_MARGIN_US", "8000", TRUE); /* exact latency answers (core/latent-rt.h) */
  g_test_add_func ("/aftertransfer/n-in-n-out", test_n_in_n_out);
  g_test_add_func ("/aftertransfer/timbre-ends-early", test_timbre_ends_early);
  g_test_add_func ("/aftertransfer/timbre-vector", test_timbre_vector_and_properties);
  g_test_add_func ("/aftertransfer/timbre-never-arrives", test_timbre_never_arrives);
  g_test_add_func ("/aftertransfer/timbre-coordinates", test_timbre_coordinates);
  g_test_add_func ("/aftertransfer/timbre-latent", test_timbre_latent);
  g_test_add_func ("/aftertransfer/timbre-map", test_timbre_map);
  g_test_add_func ("/aftertransfer/live-steps", test_live_steps);
  g_test_add_func ("/aftertransfer/live-source", test_live_source);
  g_test_add_func ("/aftertransfer/live-impulse-delay", test_live_impulse_delay);
  g_test_add_func ("/aftertransfer/midi-notes", test_midi_notes);
  g_test_add_func ("/aftertransfer/midi-gap-refused", test_midi_gap_refused);
  g_test_add_func ("/aftertransfer/resample-upstream", test_resample_upstream);
  g_test_add_func ("/aftertransfer/errors", test_errors);
  int status = g_test_run ();
  /* After every stream above: none optimised a graph after its warm-up. */
  if (!latent_test_no_streaming_compilations (argv[0]))
    status = 1;
  return status;
}
