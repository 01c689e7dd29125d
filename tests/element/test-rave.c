/* Element tests of raveencode / ravedecode on the tiny deterministic fixture
 * tests/data/stateful-codec.ts (sr 8000; encode [1,1,2,4]: per 4 samples [mean, running sum of
 * means] with the running sum carried between calls; decode [2,4,1,1]: latent 0 repeated 4x).
 * Inputs are multiples of 1/8 so every mean is exact in float32 and outputs compare bitwise. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/app/gstappsrc.h>
#include <math.h>
#include <string.h>

#include "latent.h"
#include "latent-caps.h"
#include "pipeline-util.h"

#define DATA LATENT_TEST_DATA
#define HOSTILE LATENT_HOSTILE_MODELS
#define CODEC DATA "/stateful-codec.ts"
#define AUDIO_CAPS "audio/x-raw,format=F32LE,layout=interleaved,channels=1,rate=8000"
#define LATENT_CAPS_2 \
  "audio/x-latent,format=F32LE,layout=interleaved,channels=2,rate=8000,ratio=4"
#define ENC "raveencode model=" CODEC
#define DEC "ravedecode model=" CODEC
#define ROUNDTRIP ENC " ! " DEC
#define TIMEOUT_MS 120000

static float *
make_input (size_t n)
{
  float *x = g_new (float, MAX (n, 1));
  for (size_t i = 0; i < n; i++)
    x[i] = (float) ((int) ((i * 7 + i / 5) % 13) - 6) / 8.0f;
  return x;
}

/* decode(encode(x)) of the fixture: every group of 4 samples replaced by its mean, the last
 * group zero-padded; only the first n samples. */
static float *
expected_roundtrip (const float *x, size_t n, float scale, float bias)
{
  float *y = g_new0 (float, MAX (n, 1));
  for (size_t g = 0; g * 4 < n; g++) {
    float s = 0.0f;
    for (size_t k = 0; k < 4; k++)
      s += g * 4 + k < n ? x[g * 4 + k] : 0.0f;
    float v = (s / 4.0f) * scale + bias;
    for (size_t k = 0; k < 4 && g * 4 + k < n; k++)
      y[g * 4 + k] = v;
  }
  return y;
}

/* The model's own forward() on the whole (zero-padded) input, through the core. */
static float *
forward_via_core (const float *x, size_t n)
{
  GError *error = NULL;
  LatentModel *model = latent_model_open (CODEC, 1, &error);
  g_assert_no_error (error);
  size_t padded = (n + 3) / 4 * 4;
  float *in = g_new0 (float, padded), *out = g_new0 (float, padded);
  memcpy (in, x, n * sizeof (float));
  fail_unless (latent_model_run (model, "forward", in, (int) padded, out, &error));
  g_assert_no_error (error);
  latent_model_free (model);
  g_free (in);
  return out;
}

static void
assert_ok (PuPipeline *p)
{
  char *e = pu_error_text (p);
  fail_unless (p->error == NULL && !p->state_failed, "pipeline failed: %s", e);
  fail_unless (p->eos, "no EOS");
  g_free (e);
}

static void
assert_same (const float *a, const float *b, size_t n, const char *what)
{
  for (size_t i = 0; i < n; i++)
    fail_unless (a[i] == b[i], "%s: sample %" G_GSIZE_FORMAT " is %g, expected %g", what, i,
        a[i], b[i]);
}

/* ------------------------------------------------------------------------------- caps */

GST_START_TEST (test_caps_helpers)
{
  GstCaps *caps = latent_caps_new (8, 44100, 2048);
  LatentCapsInfo info;
  char *reason = NULL;
  fail_unless (latent_caps_is_latent (caps));
  fail_unless (latent_caps_parse (caps, &info, &reason));
  fail_unless_equals_int (info.channels, 8);
  fail_unless_equals_int (info.rate, 44100);
  fail_unless_equals_int (info.ratio, 2048);
  GstCaps *templ = gst_caps_from_string (LATENT_CAPS_TEMPLATE_STRING);
  fail_unless (gst_caps_is_subset (caps, templ));
  gst_caps_unref (caps);

  caps = gst_caps_from_string ("audio/x-latent,format=F32LE,channels=8,rate=44100");
  fail_if (latent_caps_parse (caps, &info, &reason));
  fail_unless (strstr (reason, "ratio") != NULL, "%s", reason);
  g_free (reason);
  gst_caps_unref (caps);

  caps = latent_caps_new_partial (8, 0, 0);
  fail_unless (gst_caps_is_subset (caps, templ));
  fail_if (gst_caps_is_fixed (caps));
  gst_caps_unref (caps);
  gst_caps_unref (templ);

  caps = latent_audio_caps_new_partial (1, 8000);
  fail_unless (latent_audio_caps_parse (caps, &info, NULL));
  fail_unless_equals_int (info.ratio, 1);
  gst_caps_unref (caps);
  fail_unless_equals_uint64 (latent_frames_to_time (3, 2048, 48000),
      gst_util_uint64_scale_int_round (3 * 2048, GST_SECOND, 48000));
}
GST_END_TEST;

/* -------------------------------------------------------------------------- round trip */

GST_START_TEST (test_roundtrip_n_in_n_out)
{
  /* Odd sizes around the block (2048 samples encoder, 512 latents decoder) and tiny ones. */
  static const size_t sizes[] = { 1, 3, 2047, 2049, 4097, 12345 };
  for (size_t s = 0; s < G_N_ELEMENTS (sizes); s++) {
    size_t n = sizes[s];
    float *x = make_input (n);
    PuPipeline *p = pu_run (ROUNDTRIP, AUDIO_CAPS, x, n, NULL, 0, 0);
    assert_ok (p);
    fail_unless_equals_uint64 (pu_out_frames (p), n);
    float *want = expected_roundtrip (x, n, 1.0f, 0.0f);
    assert_same (pu_out (p), want, n, "roundtrip");
    float *fwd = forward_via_core (x, n);
    assert_same (pu_out (p), fwd, n, "forward");
    g_free (fwd);
    g_free (want);
    g_free (x);
    pu_free (p);
  }
}
GST_END_TEST;

GST_START_TEST (test_buffer_size_invariance)
{
  const size_t n = 6001;
  float *x = make_input (n);
  static const size_t one[] = { 1 }, odd[] = { 7, 333, 1, 4096, 5 }, block[] = { 2048 },
      big[] = { 100000 };
  const size_t *patterns[] = { one, odd, block, big };
  const size_t lens[] = { 1, 5, 1, 1 };
  float *first = NULL;
  for (size_t k = 0; k < G_N_ELEMENTS (patterns); k++) {
    PuPipeline *p = pu_run (ROUNDTRIP, AUDIO_CAPS, x, n, patterns[k], lens[k], 0);
    assert_ok (p);
    fail_unless_equals_uint64 (pu_out_frames (p), n);
    if (!first)
      first = g_memdup2 (pu_out (p), n * sizeof (float));
    else
      assert_same (pu_out (p), first, n, "pattern");
    pu_free (p);
  }
  /* Also through the encoder alone: the latents (with the carried running sum) match. */
  PuPipeline *a = pu_run (ENC, AUDIO_CAPS, x, n, odd, 5, 0);
  PuPipeline *b = pu_run (ENC, AUDIO_CAPS, x, n, NULL, 0, 0);
  assert_ok (a);
  assert_ok (b);
  fail_unless_equals_int (a->out->len, b->out->len);
  fail_unless_equals_int (a->out->len, (int) ((n + 3) / 4 * 2));
  assert_same (pu_out (a), pu_out (b), a->out->len, "latents");
  pu_free (a);
  pu_free (b);
  g_free (first);
  g_free (x);
}
GST_END_TEST;

/* ---------------------------------------------------------------------------- timing */

static void
check_contiguous (PuPipeline *p, GstClockTime start, GstClockTime end, int ratio, int channels)
{
  GstClockTime t = start;
  guint64 frames = 0, offset = GST_BUFFER_OFFSET (p->buffers->pdata[0]);
  for (guint i = 0; i < p->buffers->len; i++) {
    GstBuffer *b = p->buffers->pdata[i];
    guint64 n = gst_buffer_get_size (b) / (sizeof (float) * channels);
    fail_unless_equals_uint64 (GST_BUFFER_PTS (b), t);
    fail_unless (GST_BUFFER_DURATION_IS_VALID (b));
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (b), offset + frames);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (b), offset + frames + n);
    fail_unless_equals_int (GST_BUFFER_IS_DISCONT (b), i == 0);
    frames += n;
    t = GST_BUFFER_PTS (b) + GST_BUFFER_DURATION (b);
    if (i + 1 < p->buffers->len) /* full frames until the last buffer */
      fail_unless_equals_uint64 (t, start + latent_frames_to_time (frames, ratio, 8000));
  }
  fail_unless_equals_uint64 (t, end);
}

GST_START_TEST (test_timestamps)
{
  const size_t n = 5003;
  const GstClockTime start = GST_SECOND;
  const GstClockTime end = start + gst_util_uint64_scale_int_round (n, GST_SECOND, 8000);
  float *x = make_input (n);
  static const size_t chunks[] = { 1000, 17 };

  /* Encoder: ceil(n/4) latent frames from `start`, the last buffer ends at the real end. */
  PuPipeline *e = pu_run (ENC, AUDIO_CAPS, x, n, chunks, 2, start);
  assert_ok (e);
  fail_unless_equals_uint64 (pu_out_frames (e), (n + 3) / 4);
  check_contiguous (e, start, end, 4, 2);
  GstBuffer *last = e->buffers->pdata[e->buffers->len - 1];
  fail_unless (GST_BUFFER_DURATION (last) <
      latent_frames_to_time (gst_buffer_get_size (last) / 8, 4, 8000));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (e->buffers->pdata[0]), 8000 / 4);
  fail_unless (e->have_segment && e->segment.format == GST_FORMAT_TIME);
  GstCaps *want = gst_caps_from_string (LATENT_CAPS_2);
  fail_unless (gst_caps_is_equal (e->out_caps, want));
  gst_caps_unref (want);

  /* Round trip: n samples from `start` to `end`, offsets in samples. */
  PuPipeline *r = pu_run (ROUNDTRIP, AUDIO_CAPS, x, n, chunks, 2, start);
  assert_ok (r);
  fail_unless_equals_uint64 (pu_out_frames (r), n);
  check_contiguous (r, start, end, 1, 1);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (r->buffers->pdata[0]), 8000);
  fail_unless (r->have_segment && r->segment.format == GST_FORMAT_TIME);

  /* Decoder fed the encoder's latents directly: same n samples (duration rule). */
  PuPipeline *d = pu_new (DEC, LATENT_CAPS_2, start);
  for (guint i = 0; i < e->buffers->len; i++)
    gst_app_src_push_buffer (GST_APP_SRC (d->src), gst_buffer_ref (e->buffers->pdata[i]));
  fail_unless (pu_finish (d, TIMEOUT_MS));
  fail_unless_equals_uint64 (pu_out_frames (d), n);
  assert_same (pu_out (d), pu_out (r), n, "decoder alone");
  pu_free (d);
  pu_free (e);
  pu_free (r);
  g_free (x);
}
GST_END_TEST;

GST_START_TEST (test_untimestamped_bytes_segment)
{
  /* appsrc in bytes without timestamps: output counted from 0 in a TIME segment. */
  const size_t n = 3001;
  float *x = make_input (n);
  PuPipeline *p = pu_run (ROUNDTRIP, AUDIO_CAPS, x, n, NULL, 0, GST_CLOCK_TIME_NONE);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  fail_unless (p->segment.format == GST_FORMAT_TIME);
  check_contiguous (p, 0, gst_util_uint64_scale_int_round (n, GST_SECOND, 8000), 1, 1);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* The latency query through a live raveencode ! ravedecode, in `mode` (NULL: the default). */
static GstClockTime
live_latency (const char *mode)
{
  GError *error = NULL;
  char *opt = mode ? g_strdup_printf (" latency-mode=%s", mode) : g_strdup ("");
  char *desc = g_strdup_printf ("audiotestsrc name=src is-live=true samplesperbuffer=400 ! "
      AUDIO_CAPS " ! " ENC "%s ! " DEC " name=dec%s ! fakesink", opt, opt);
  GstElement *pipe = gst_parse_launch (desc, &error);
  g_free (desc);
  g_free (opt);
  g_assert_no_error (error);
  fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless (gst_element_get_state (pipe, NULL, NULL, 60 * GST_SECOND) ==
      GST_STATE_CHANGE_SUCCESS);
  GstElement *src = gst_bin_get_by_name (GST_BIN (pipe), "src");
  GstElement *dec = gst_bin_get_by_name (GST_BIN (pipe), "dec");
  GstQuery *q = gst_query_new_latency ();
  fail_unless (gst_element_query (src, q));
  gboolean live;
  GstClockTime src_min, src_max, min, max;
  gst_query_parse_latency (q, &live, &src_min, &src_max);
  gst_query_unref (q);
  q = gst_query_new_latency ();
  fail_unless (gst_element_query (dec, q));
  gst_query_parse_latency (q, &live, &min, &max);
  gst_query_unref (q);
  fail_unless (live);
  if (GST_CLOCK_TIME_IS_VALID (src_max))
    fail_unless_equals_uint64 (max - src_max, min - src_min);
  gst_element_set_state (pipe, GST_STATE_NULL);
  gst_object_unref (src);
  gst_object_unref (dec);
  gst_object_unref (pipe);
  return min - src_min;
}

GST_START_TEST (test_latency_query)
{
  /* safe: encoder block 2048 samples + decoder block 512 latents * 4 = 2 * 0.256 s */
  fail_unless_equals_uint64 (live_latency ("safe"), 512 * GST_MSECOND);
  /* low (the default), margin M fixed to 8 ms (64 samples) in main: encoder block 256
   * samples, of which the last arrives 255 after the first; decoder block 64 latent frames,
   * which arrive together in the encoder's pushes of 64 frames, so it waits for none; one M
   * for the chain, which runs both models one after the other on one thread. */
  GstClockTime want = gst_util_uint64_scale_int (255 + 64, GST_SECOND, 8000);
  fail_unless_equals_uint64 (live_latency (NULL), want);
  fail_unless_equals_uint64 (live_latency ("low"), want);
}
GST_END_TEST;

/* Impulse through a LIVE raveencode ! ravedecode (audiotestsrc is-live, the pipeline clock,
 * a syncing sink). A probe on the source writes 1.0 at sample IMPULSE_AT (the first sample of
 * a block in both modes) and counts the samples it has let through; everything up to the sink
 * runs on the source's streaming thread, so when the impulse's response reaches the sink the
 * count says exactly how many input samples the chain held it back for (deterministic, load or
 * not). The measured delay, that hold-back plus the compute margin the chain budgets (fixed by
 * LATENT_RT_MARGIN_US), must equal the elements' latency answer; and the sink must render it at
 * its time + the pipeline's latency: it arrived before that (not late). */
#define IMPULSE_AT 4096

/* Runs the live impulse in `mode`; returns the elements' latency answer, in samples. */
static guint64
live_impulse (const char *mode, PuLiveImpulse *li)
{
  char *desc = g_strdup_printf ("audiotestsrc name=src is-live=true wave=silence "
      "samplesperbuffer=64 num-buffers=%d ! " AUDIO_CAPS " ! " ENC " latency-mode=%s ! " DEC
      " name=dec latency-mode=%s ! fakesink name=sink sync=true", (IMPULSE_AT + 8192) / 64,
      mode, mode);
  guint64 reported = pu_live_impulse (desc, "dec", IMPULSE_AT, 8000, li);
  g_free (desc);
  return reported;
}

GST_START_TEST (test_live_impulse_delay)
{
  PuLiveImpulse li;
  /* low: the encoder's 256-sample block holds the impulse for 255 more samples, the decoder
   * none (its 64-frame block arrives in one push); the margin M (8 ms, 64 samples) is one for
   * the chain. Measured hold-back + M == the latency answer. */
  guint64 reported = live_impulse ("low", &li);
  fail_unless_equals_int64 (li.response_at, IMPULSE_AT); /* the data is not shifted */
  fail_unless_equals_uint64 (li.hold_back, 255);
  fail_unless_equals_uint64 (li.hold_back + 64, reported);
  /* safe: 2048-sample blocks, held 2047 more samples; the answer is the whole block of each
   * element (today's rule): the hold-back plus 2049 samples of compute headroom. */
  reported = live_impulse ("safe", &li);
  fail_unless_equals_int64 (li.response_at, IMPULSE_AT);
  fail_unless_equals_uint64 (li.hold_back, 2047);
  fail_unless_equals_uint64 (reported, 2048 + 2048);
}
GST_END_TEST;

/* Block property changes the latency and still gives the same audio. */
GST_START_TEST (test_block_property)
{
  const size_t n = 3333;
  float *x = make_input (n);
  PuPipeline *p = pu_run (ENC " block=64 ! " DEC " block=4", AUDIO_CAPS, x, n, NULL, 0, 0);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  float *want = expected_roundtrip (x, n, 1.0f, 0.0f);
  assert_same (pu_out (p), want, n, "block 64/4");
  pu_free (p);
  /* Either latency mode: the same samples at the same times (no shift in the data). */
  p = pu_run (ENC " latency-mode=safe ! " DEC " latency-mode=safe", AUDIO_CAPS, x, n, NULL, 0,
      0);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  assert_same (pu_out (p), want, n, "latency-mode=safe");
  g_free (want);
  pu_free (p);
  /* A block that is not a multiple of the ratio is refused at load. */
  p = pu_run (ENC " block=6", AUDIO_CAPS, x, n, NULL, 0, 0);
  fail_unless (p->error != NULL);
  char *e = pu_error_text (p);
  fail_unless (strstr (e, "not a multiple of 4") != NULL, "%s", e);
  g_free (e);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* ----------------------------------------------------------------------- bias / scale */

GST_START_TEST (test_bias_scale)
{
  const size_t n = 4097;
  float *x = make_input (n);
  PuPipeline *p = pu_run (ENC " ! " DEC " name=dec scale=\"<2.0>\" bias=\"<0.5, 3.0>\"",
      AUDIO_CAPS, x, n, NULL, 0, 0);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  float *want = expected_roundtrip (x, n, 2.0f, 0.5f);
  assert_same (pu_out (p), want, n, "bias/scale");
  g_free (want);

  /* Property read-back. */
  GValue v = G_VALUE_INIT;
  g_value_init (&v, GST_TYPE_ARRAY);
  g_object_get_property (G_OBJECT (pu_get (p, "dec")), "bias", &v);
  fail_unless_equals_int (gst_value_array_get_size (&v), 2);
  fail_unless (g_value_get_float (gst_value_array_get_value (&v, 1)) == 3.0f);
  g_value_unset (&v);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

GST_START_TEST (test_bias_change_while_playing)
{
  const size_t n = 8192 + 101;
  float *x = make_input (n);
  PuPipeline *p = pu_new (ENC " ! " DEC " name=dec", AUDIO_CAPS, 0);
  fail_if (p->state_failed);
  /* Two whole blocks through both elements, then change bias, then the rest. */
  pu_push (p, x, 4096, 1024);
  fail_unless (pu_wait_output (p, 4096, TIMEOUT_MS));
  GstElement *dec = pu_get (p, "dec");
  GValue arr = G_VALUE_INIT, f = G_VALUE_INIT;
  g_value_init (&arr, GST_TYPE_ARRAY);
  g_value_init (&f, G_TYPE_FLOAT);
  g_value_set_float (&f, -0.25f);
  gst_value_array_append_value (&arr, &f);
  g_object_set_property (G_OBJECT (dec), "bias", &arr);
  g_value_unset (&arr);
  g_value_unset (&f);
  pu_push (p, x + 4096, n - 4096, 1000);
  fail_unless (pu_finish (p, TIMEOUT_MS));
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  float *before = expected_roundtrip (x, n, 1.0f, 0.0f);
  float *after = expected_roundtrip (x, n, 1.0f, -0.25f);
  assert_same (pu_out (p), before, 4096, "before the change");
  assert_same (pu_out (p) + 4096, after + 4096, n - 4096, "after the change");
  g_free (before);
  g_free (after);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* Setter hammering from another thread while streaming: no crash, values from the set. */
static gpointer
hammer (gpointer data)
{
  GstElement *dec = data;
  for (int i = 0; i < 2000; i++) {
    gst_util_set_object_arg (G_OBJECT (dec), "scale", (i & 1) ? "<1.0, 1.0>" : "<1.0>");
    gst_util_set_object_arg (G_OBJECT (dec), "bias", (i & 1) ? "<0.0>" : "<0.0, 0.0, 0.0>");
  }
  return NULL;
}

GST_START_TEST (test_bias_concurrent_setter)
{
  const size_t n = 40000;
  float *x = make_input (n);
  PuPipeline *p = pu_new (ENC " ! " DEC " name=dec block=4", AUDIO_CAPS, 0);
  GThread *t = g_thread_new ("hammer", hammer, pu_get (p, "dec"));
  pu_push (p, x, n, 16);
  fail_unless (pu_finish (p, TIMEOUT_MS));
  g_thread_join (t);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  float *want = expected_roundtrip (x, n, 1.0f, 0.0f);
  assert_same (pu_out (p), want, n, "identity affine under concurrent sets");
  g_free (want);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* ---------------------------------------------------------------------- non-finite */

GST_START_TEST (test_nonfinite_warning_once)
{
  const size_t n = 6000;
  float *x = make_input (n);
  x[10] = NAN;
  x[11] = INFINITY;
  x[12] = -INFINITY;
  x[3000] = NAN; /* a later buffer: no second warning */
  PuPipeline *p = pu_run (ROUNDTRIP, AUDIO_CAPS, x, n, (size_t[]) { 1000 }, 1, 0);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  fail_unless_equals_int (p->warnings->len, 1);
  char *w = pu_warning_text (p);
  fail_unless (strstr (w, "raveencode: 3 non-finite") != NULL, "%s", w);
  g_free (w);
  const GstStructure *details = NULL;
  gst_message_parse_warning_details (p->warnings->pdata[0], &details);
  guint64 count = 0;
  fail_unless (details && gst_structure_get_uint64 (details, "count", &count));
  fail_unless_equals_uint64 (count, 3);
  /* Output finite and equal to the zero-substituted input's round trip. */
  x[10] = x[11] = x[12] = x[3000] = 0.0f;
  float *want = expected_roundtrip (x, n, 1.0f, 0.0f);
  assert_same (pu_out (p), want, n, "zeros for non-finite");
  g_free (want);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* A model whose state a wild bias drives to NaN (as a 1e30 latent does to a real decoder's
 * caches): the output stays finite, one warning says so, and the model recovers by itself:
 * once the bias is back, the output is exactly the model's again. */
GST_START_TEST (test_model_non_finite_warning_once)
{
  const char *backend = g_getenv ("LATENT_TORCH_BACKEND");
  if (backend && strstr (backend, "mock"))
    return; /* the mock backend (valgrindmock setup) has no poisoned model */
  const size_t n = 8000;
  float *x = make_input (n);
  PuPipeline *p = pu_run ("raveencode model=" HOSTILE "/poisoned-nan.ts ! ravedecode name=dec "
      "model=" HOSTILE "/poisoned-nan.ts bias=\"<1000.0>\"", AUDIO_CAPS, x, n,
      (size_t[]) { 1000 }, 1, 0);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), n);
  for (size_t i = 0; i < n; i++)
    fail_unless (isfinite (pu_out (p)[i]) && pu_out (p)[i] == 0.0f, "frame %zu", i);
  fail_unless_equals_int (p->warnings->len, 1);
  char *w = pu_warning_text (p);
  fail_unless (strstr (w, "ravedecode: the model returned NaN or Inf values") != NULL, "%s", w);
  g_free (w);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* -------------------------------------------------------------------------- errors */

static PuPipeline *
run_expect_error (const char *middle, const char *caps, GQuark domain, int code,
    const char *needle)
{
  float *x = make_input (100 * 4); /* 100 frames of up to 4 channels */
  PuPipeline *p = pu_run (middle, caps, x, 100, NULL, 0, 0);
  g_free (x);
  fail_unless (p->error != NULL, "no error for %s", middle);
  GError *err = NULL;
  char *debug = NULL;
  gst_message_parse_error (p->error, &err, &debug);
  fail_unless (strstr (err->message, needle) != NULL, "'%s' not in '%s'", needle,
      err->message);
  if (domain)
    fail_unless (err->domain == domain && err->code == code, "error %s/%d: %s",
        g_quark_to_string (err->domain), err->code, err->message);
  g_error_free (err);
  g_free (debug);
  return p;
}

GST_START_TEST (test_error_missing_file)
{
  pu_free (run_expect_error ("raveencode model=/nonexistent/model.ts", AUDIO_CAPS,
          GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND,
          "/nonexistent/model.ts: no such model file"));
  pu_free (run_expect_error ("raveencode", AUDIO_CAPS, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_FOUND, "no model file set"));
}
GST_END_TEST;

GST_START_TEST (test_error_not_torchscript)
{
  pu_free (run_expect_error ("raveencode model=" DATA "/not-torchscript.ts", AUDIO_CAPS,
          GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT, "not-torchscript.ts"));
}
GST_END_TEST;

GST_START_TEST (test_error_method_nope)
{
  PuPipeline *p = run_expect_error (ENC " method=nope", AUDIO_CAPS, GST_LIBRARY_ERROR,
      GST_LIBRARY_ERROR_INIT, "no method 'nope'");
  char *e = pu_error_text (p);
  fail_unless (strstr (e, "encode") && strstr (e, "decode"), "methods not listed: %s", e);
  g_free (e);
  pu_free (p);
  /* A method the element cannot run (decode in an encoder). */
  pu_free (run_expect_error (ENC " method=decode", AUDIO_CAPS, GST_LIBRARY_ERROR,
          GST_LIBRARY_ERROR_INIT, "raveencode cannot run"));
}
GST_END_TEST;

GST_START_TEST (test_error_latent_count)
{
  pu_free (run_expect_error (ENC " ! ravedecode model=" DATA "/v1-style.ts", AUDIO_CAPS,
          GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
          "ravedecode: the stream carries 2 latents but model " DATA "/v1-style.ts decodes 3"));
}
GST_END_TEST;

GST_START_TEST (test_error_ratio_and_rate)
{
  pu_free (run_expect_error (DEC,
          "audio/x-latent,format=F32LE,layout=interleaved,channels=2,rate=8000,ratio=8",
          GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION, "stand for 8 audio samples (ratio)"));
  pu_free (run_expect_error (DEC,
          "audio/x-latent,format=F32LE,layout=interleaved,channels=2,rate=16000,ratio=4",
          GST_CORE_ERROR, GST_CORE_ERROR_NEGOTIATION,
          "rate is 16000 Hz but model " CODEC " runs at 8000 Hz"));
  /* Raw audio at the wrong rate straight into the encoder: the error says why (before the
   * source's bare not-negotiated). */
  PuPipeline *p = run_expect_error (ENC,
      "audio/x-raw,format=F32LE,layout=interleaved,channels=1,rate=16000", GST_CORE_ERROR,
      GST_CORE_ERROR_NEGOTIATION, "takes 1 channel(s) at 8000 Hz");
  char *e = pu_error_text (p);
  fail_unless (strstr (e, "audioresample") != NULL, "%s", e);
  g_free (e);
  pu_free (p);
  /* With audioconvert ! audioresample upstream it negotiates. */
  float *x = make_input (1600);
  p = pu_run ("audioconvert ! audioresample ! " ROUNDTRIP,
      "audio/x-raw,format=F32LE,layout=interleaved,channels=2,rate=16000", x, 800, NULL, 0, 0);
  assert_ok (p);
  fail_unless_equals_uint64 (pu_out_frames (p), 400);
  pu_free (p);
  g_free (x);
}
GST_END_TEST;

/* A source at another rate than the model's, as gst-launch runs it: the refusal naming
 * audioresample is an ERROR, the first one, posted exactly once, and the pipeline ends, in
 * every one of 20 runs (with and without audioconvert between, which retries negotiation on
 * every buffer). */
GST_START_TEST (test_rate_refused_once)
{
  const char *launches[] = {
    "audiotestsrc num-buffers=20 ! audio/x-raw,rate=16000,channels=1 ! raveencode model="
        CODEC " ! fakesink",
    "audiotestsrc num-buffers=20 ! audio/x-raw,rate=16000,channels=1 ! audioconvert ! "
        "raveencode model=" CODEC " ! fakesink",
  };
  for (guint l = 0; l < G_N_ELEMENTS (launches); l++)
    for (int run = 0; run < 20; run++) {
      char *first;
      int n = pu_count_errors (launches[l], "audioresample", 10000, &first);
      fail_unless (n == 1, "run %d of '%s': %d errors naming audioresample (first: %s)", run,
          launches[l], n, first);
      fail_unless (strstr (first, "audioresample") && strstr (first, "8000 Hz"),
          "run %d: the first error is '%s'", run, first);
      g_free (first);
    }
}
GST_END_TEST;

/* Upstream that can only send another rate: the refusal comes from set_state itself (it
 * fails, the one ERROR already on the bus), not later from the streaming thread, where it
 * raced gst-launch-1.0 into never exiting (issue 12; the real gst-launch runs are in
 * test-rate-refusal-launch.sh). A source that started would post its own not-negotiated. */
GST_START_TEST (test_rate_refused_in_state_change)
{
  const char *launches[] = {
    "audiotestsrc num-buffers=20 ! audio/x-raw,rate=16000,channels=1 ! audioconvert ! "
        "raveencode model=" CODEC " ! fakesink",
    /* Latents of a 48 kHz model into the 8 kHz one's decoder. */
    "audiotestsrc num-buffers=20 ! audio/x-raw,rate=48000,channels=1 ! raveencode model="
        DATA "/stateful-codec-48k.ts ! ravedecode model=" CODEC " ! fakesink",
  };
  const char *needles[] = { "audioresample", "rate is 48000 Hz but model " CODEC
      " runs at 8000 Hz" };
  for (guint l = 0; l < G_N_ELEMENTS (launches); l++) {
    GError *error = NULL;
    GstElement *pipe = gst_parse_launch (launches[l], &error);
    fail_unless (pipe && !error, "%s: %s", launches[l], error ? error->message : "");
    fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_PAUSED),
        GST_STATE_CHANGE_FAILURE);
    GstBus *bus = gst_element_get_bus (pipe);
    int errors = 0;
    GstMessage *msg;
    while ((msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR))) {
      GError *err = NULL;
      gst_message_parse_error (msg, &err, NULL);
      fail_unless (errors > 0 || strstr (err->message, needles[l]), "'%s' not in '%s'",
          needles[l], err->message);
      errors++;
      g_error_free (err);
      gst_message_unref (msg);
    }
    fail_unless_equals_int (errors, 1);
    fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
    gst_object_unref (bus);
    gst_object_unref (pipe);
  }
}
GST_END_TEST;

/* ------------------------------------------------------------ flush / discontinuity */

static GstBuffer *
const_buffer (size_t n, float v, GstClockTime pts)
{
  GstBuffer *b = gst_buffer_new_allocate (NULL, n * sizeof (float), NULL);
  GstMapInfo map;
  gst_buffer_map (b, &map, GST_MAP_WRITE);
  for (size_t i = 0; i < n; i++)
    ((float *) map.data)[i] = v;
  gst_buffer_unmap (b, &map);
  GST_BUFFER_PTS (b) = pts;
  GST_BUFFER_DURATION (b) = gst_util_uint64_scale_int (n, GST_SECOND, 8000);
  return b;
}

/* Latent dim 1 of frame k in an output buffer of the encoder. */
static float
running_sum (GstBuffer *b, size_t k)
{
  float v;
  gst_buffer_extract (b, (k * 2 + 1) * sizeof (float), &v, sizeof v);
  return v;
}

GST_START_TEST (test_flush_resets_state)
{
  GstHarness *h = gst_harness_new_parse (ENC " latency-mode=safe"); /* 2048-sample blocks */
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  fail_unless_equals_int (gst_harness_push (h, const_buffer (2048, 1.0f, 0)), GST_FLOW_OK);
  GstBuffer *out = gst_harness_pull (h);
  fail_unless_equals_int (gst_buffer_get_size (out), 512 * 2 * sizeof (float));
  fail_unless (running_sum (out, 0) == 1.0f && running_sum (out, 511) == 512.0f);
  gst_buffer_unref (out);
  /* Half a block pending, then a flush: the pending data is dropped and the state reset. */
  gst_harness_push (h, const_buffer (1000, 1.0f, 256 * GST_MSECOND));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  GstSegment seg;
  gst_segment_init (&seg, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
  gst_harness_push (h, const_buffer (2048, 1.0f, 0));
  out = gst_harness_pull (h);
  fail_unless_equals_int (gst_buffer_get_size (out), 512 * 2 * sizeof (float));
  fail_unless (running_sum (out, 0) == 1.0f, "state not reset: %g", running_sum (out, 0));
  fail_unless (GST_BUFFER_IS_DISCONT (out));
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 0);
  gst_buffer_unref (out);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_same_caps_keep_state)
{
  /* Identical caps sent again mid-stream change nothing: no drain, no reset. */
  GstHarness *h = gst_harness_new_parse (ENC " latency-mode=safe"); /* 2048-sample blocks */
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  gst_harness_push (h, const_buffer (1000, 1.0f, 0));
  GstCaps *caps = gst_caps_from_string (AUDIO_CAPS);
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
  gst_harness_push (h, const_buffer (1048, 1.0f, 125 * GST_MSECOND));
  GstBuffer *out = gst_harness_pull (h);
  fail_unless_equals_int (gst_buffer_get_size (out), 512 * 2 * sizeof (float));
  fail_unless (running_sum (out, 511) == 512.0f);
  gst_buffer_unref (out);
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  gst_harness_teardown (h);
}
GST_END_TEST;

GST_START_TEST (test_discont_drains_and_resets)
{
  GstHarness *h = gst_harness_new_parse (ENC " latency-mode=safe"); /* 2048-sample blocks */
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  gst_harness_push (h, const_buffer (1001, 1.0f, 0));
  fail_unless_equals_int (gst_harness_buffers_in_queue (h), 0);
  /* A buffer 10 s later: the first 1001 samples are drained (ceil(1001/4) = 251 frames,
   * ending at 1001/8000 s), the state is reset, timing restarts at 10 s. */
  GstBuffer *b = const_buffer (2048, 1.0f, 10 * GST_SECOND);
  GST_BUFFER_FLAG_SET (b, GST_BUFFER_FLAG_DISCONT);
  gst_harness_push (h, b);
  GstBuffer *tail = gst_harness_pull (h);
  fail_unless_equals_int (gst_buffer_get_size (tail), 251 * 2 * sizeof (float));
  fail_unless_equals_uint64 (GST_BUFFER_PTS (tail), 0);
  fail_unless_equals_uint64 (GST_BUFFER_DURATION (tail),
      gst_util_uint64_scale_int_round (1001, GST_SECOND, 8000));
  fail_unless (running_sum (tail, 249) == 250.0f);
  GstBuffer *out = gst_harness_pull (h);
  fail_unless_equals_uint64 (GST_BUFFER_PTS (out), 10 * GST_SECOND);
  fail_unless (GST_BUFFER_IS_DISCONT (out));
  fail_unless (running_sum (out, 0) == 1.0f, "state not reset: %g", running_sum (out, 0));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (out), 10 * 8000 / 4);
  gst_buffer_unref (tail);
  gst_buffer_unref (out);
  gst_harness_teardown (h);
}
GST_END_TEST;

/* ------------------------------------------------------------------ states / threads */

GST_START_TEST (test_state_cycles)
{
  GError *error = NULL;
  GstElement *pipe = gst_parse_launch ("audiotestsrc num-buffers=3 samplesperbuffer=1000 ! "
      AUDIO_CAPS " ! " ROUNDTRIP " ! fakesink sync=false", &error);
  g_assert_no_error (error);
  GstBus *bus = gst_element_get_bus (pipe);
  for (int i = 0; i < 50; i++) {
    fail_unless (gst_element_set_state (pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE,
        "cycle %d", i);
    GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);
    fail_unless (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS, "cycle %d: %s", i,
        msg ? GST_MESSAGE_TYPE_NAME (msg) : "timeout");
    gst_message_unref (msg);
    fail_unless_equals_int (gst_element_set_state (pipe, GST_STATE_NULL),
        GST_STATE_CHANGE_SUCCESS);
  }
  gst_object_unref (bus);
  gst_object_unref (pipe);
}
GST_END_TEST;

typedef struct {
  size_t n;
  float *x;
  gboolean ok;
} Job;

static gpointer
run_job (gpointer data)
{
  Job *job = data;
  PuPipeline *p = pu_run (ROUNDTRIP, AUDIO_CAPS, job->x, job->n, (size_t[]) { 333 }, 1, 0);
  float *want = expected_roundtrip (job->x, job->n, 1.0f, 0.0f);
  job->ok = p->eos && !p->error && pu_out_frames (p) == job->n &&
      memcmp (pu_out (p), want, job->n * sizeof (float)) == 0;
  g_free (want);
  pu_free (p);
  return NULL;
}

GST_START_TEST (test_two_pipelines_at_once)
{
  Job jobs[2] = { { 20001, NULL, FALSE }, { 30011, NULL, FALSE } };
  for (int i = 0; i < 2; i++) {
    jobs[i].x = make_input (jobs[i].n);
    for (size_t k = 0; k < jobs[i].n; k++)
      jobs[i].x[k] *= (i ? -1.0f : 1.0f);
  }
  GThread *t[2];
  for (int i = 0; i < 2; i++)
    t[i] = g_thread_new ("job", run_job, &jobs[i]);
  for (int i = 0; i < 2; i++) {
    g_thread_join (t[i]);
    fail_unless (jobs[i].ok, "pipeline %d", i);
    g_free (jobs[i].x);
  }
}
GST_END_TEST;

static Suite *
rave_suite (void)
{
  /* Low latency's compute margin fixed rather than measured: exact latency answers whatever
   * the machine's load (core/latent-rt.h). */
  g_setenv ("LATENT_RT_MARGIN_US", "8000", TRUE);
  Suite *s = suite_create ("rave");
  TCase *tc = tcase_create ("fixture");
  tcase_set_timeout (tc, 600);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_caps_helpers);
  tcase_add_test (tc, test_roundtrip_n_in_n_out);
  tcase_add_test (tc, test_buffer_size_invariance);
  tcase_add_test (tc, test_timestamps);
  tcase_add_test (tc, test_untimestamped_bytes_segment);
  tcase_add_test (tc, test_latency_query);
  tcase_add_test (tc, test_live_impulse_delay);
  tcase_add_test (tc, test_block_property);
  tcase_add_test (tc, test_bias_scale);
  tcase_add_test (tc, test_bias_change_while_playing);
  tcase_add_test (tc, test_bias_concurrent_setter);
  tcase_add_test (tc, test_nonfinite_warning_once);
  tcase_add_test (tc, test_model_non_finite_warning_once);
  tcase_add_test (tc, test_error_missing_file);
  tcase_add_test (tc, test_error_not_torchscript);
  tcase_add_test (tc, test_error_method_nope);
  tcase_add_test (tc, test_error_latent_count);
  tcase_add_test (tc, test_error_ratio_and_rate);
  tcase_add_test (tc, test_rate_refused_once);
  tcase_add_test (tc, test_rate_refused_in_state_change);
  tcase_add_test (tc, test_flush_resets_state);
  tcase_add_test (tc, test_same_caps_keep_state);
  tcase_add_test (tc, test_discont_drains_and_resets);
  tcase_add_test (tc, test_state_cycles);
  tcase_add_test (tc, test_two_pipelines_at_once);
  return s;
}

GST_CHECK_MAIN (rave);
