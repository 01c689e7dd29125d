/* aftertransfer on the shipped AFTER models, real signals (models/clips):
 *   - transfer: structure piano, timbre flute. The output's MFCC means (timbre) must be
 *     closer to the flute than to the piano, and its chroma must correlate with the structure
 *     source above CHROMA_MIN and more than with the timbre source. Two pairs: the README demo
 *     (piano-phrase + flute-phrase, the same notes) and heldout-piano + flute-phrase
 *     (different notes, so chroma tells structure from timbre); with a trumpet timbre
 *     instead, the output must be further from the flute (the timbre follows its input);
 *   - N structure samples in -> N out, and the output equals the model's own forward()
 *     (structure and timbre audio in one call) run through the core on the same chunks,
 *     apart from the last, partial chunk (the element keeps the last whole timbre chunk);
 *   - `steps` 1 vs 4 and guidance-timbre 1 vs 3 change the output far more than a rerun does;
 *   - MIDI model: models/clips/after-phrase.mid (the notes of piano-phrase.wav, clips.json)
 *     through midiparse: silence before the first note, sound after it, and the pitch class of
 *     each note of 0.25 s or more dominates the output's chroma over the note's span.
 * Exits 77 (skipped) while the shipped models are absent. Prints the measured figures. */
#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "after-util.h"
#include "audio-metrics.h"
#include "compile-check.h"
#include "latent.h"

/* AFTER_GM_DIR overrides the models' folder (e.g. to try a new export before shipping it). */
static char *AUDIO_MODEL, *MIDI_MODEL;
#define CLIPS LATENT_SOURCE_ROOT "/models/clips"
#define TIMEOUT_MS 300000
/* Thresholds below the figures measured on the shipped models (exports of 13:09 and 13:21):
 * chroma correlation with the structure 0.925 (piano-phrase), 0.875-0.889 (heldout-piano);
 * MIDI pitch classes right on 5 of 5 notes, first onset (0.25 s) detected at 0.232 s (the
 * start of its latent frame); margins leave room for retraining noise. */
#define CHROMA_MIN 0.75
#define MIDI_PITCH_MIN 0.80
#define ONSET_TOLERANCE_S 0.05

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { failures++; printf ("FAIL: " __VA_ARGS__); \
      printf ("\n"); } else { printf ("ok: " __VA_ARGS__); printf ("\n"); } } while (0)

typedef struct {
  float *x;
  size_t n;
  int rate;
} Signal;

static Signal
read_clip (const char *name)
{
  char *path = g_build_filename (CLIPS, name, NULL);
  AmAudio audio;
  GError *error = NULL;
  if (!am_wav_read (path, &audio, &error))
    g_error ("%s", error->message);
  g_free (path);
  Signal s = { am_audio_mono (&audio), audio.frames, audio.rate };
  am_audio_clear (&audio);
  return s;
}

static Signal
run_pipeline (const char *description)
{
  AtRun *run = at_new (description);
  gint64 t0 = g_get_monotonic_time ();
  if (!run->error && !at_wait (run, TIMEOUT_MS))
    g_error ("timeout: %s", description);
  if (run->error)
    g_error ("%s: %s", description, run->error);
  Signal s = { g_memdup2 (run->out->data, run->out->len * sizeof (float)), run->out->len,
    run->out_rate };
  printf ("  %.1f s of audio in %.2f s\n", (double) s.n / MAX (s.rate, 1),
      (g_get_monotonic_time () - t0) / 1e6);
  at_free (run);
  return s;
}

static Signal
transfer (const char *structure, const char *timbre, const char *props)
{
  char *d = g_strdup_printf ("filesrc location=%s/%s ! wavparse ! audioconvert ! audioresample "
      "! a.structure filesrc location=%s/%s ! wavparse ! audioconvert ! audioresample ! "
      "a.timbre aftertransfer name=a model=%s %s ! appsink name=sink sync=false", CLIPS,
      structure, CLIPS, timbre, AUDIO_MODEL, props);
  printf ("%s + %s (%s)\n", structure, timbre, props);
  Signal s = run_pipeline (d);
  g_free (d);
  return s;
}

static void
check_transfer (const char *structure_name, const char *timbre_name)
{
  Signal st = read_clip (structure_name), ti = read_clip (timbre_name);
  Signal out = transfer (structure_name, timbre_name, "steps=4");
  CHECK (out.n == st.n, "%s: %zu samples in, %zu out", structure_name, st.n, out.n);
  size_t n = MIN (out.n, st.n);
  double to_timbre = am_mfcc_distance (out.x, n, ti.x, ti.n, out.rate);
  double to_structure = am_mfcc_distance (out.x, n, st.x, st.n, out.rate);
  CHECK (to_timbre < to_structure, "MFCC-mean distance to the timbre source %.3f < to the "
      "structure source %.3f", to_timbre, to_structure);
  double chroma_s = am_chroma_correlation (out.x, st.x, n, out.rate);
  double chroma_t = am_chroma_correlation (out.x, ti.x, MIN (n, ti.n), out.rate);
  CHECK (chroma_s > CHROMA_MIN, "chroma correlation with the structure source %.3f > %.2f",
      chroma_s, CHROMA_MIN);
  if (strcmp (structure_name, "piano-phrase.wav") != 0) /* same notes in the demo pair */
    CHECK (chroma_s > chroma_t, "chroma correlation with the structure %.3f > with the timbre "
        "source %.3f", chroma_s, chroma_t);
  /* The timbre follows the timbre input: with another timbre source (trumpet) the output is
   * further from the flute than with the flute. */
  Signal other = transfer (structure_name, "heldout-trumpet.wav", "steps=4");
  double other_to_timbre = am_mfcc_distance (other.x, MIN (other.n, st.n), ti.x, ti.n, out.rate);
  CHECK (to_timbre < other_to_timbre, "MFCC-mean distance to the flute: flute timbre %.3f < "
      "trumpet timbre %.3f", to_timbre, other_to_timbre);
  g_free (other.x);
  g_free (st.x);
  g_free (ti.x);
  g_free (out.x);
}

/* forward() on [structure, timbre] chunks through the core, nb_steps = steps. */
static float *
forward_via_core (const Signal *st, const Signal *ti, int steps, int *block_out)
{
  GError *error = NULL;
  LatentModel *model = latent_model_open (AUDIO_MODEL, 1, &error);
  if (!model || !latent_model_set_attribute (model, "nb_steps", steps, &error)
      || !latent_model_reset (model, &error))
    g_error ("%s", error->message);
  LatentAfter *after = latent_after_open (AUDIO_MODEL, 1, &error);
  g_assert_no_error (error);
  int block = latent_after_get_block (after);
  latent_after_free (after);
  size_t blocks = st->n / block;
  float *in = g_new0 (float, 2 * (size_t) block), *y = g_new0 (float, blocks * block);
  for (size_t b = 0; b < blocks; b++) {
    memcpy (in, st->x + b * block, block * sizeof (float));
    memset (in + block, 0, block * sizeof (float));
    if ((b + 1) * block <= ti->n)
      memcpy (in + block, ti->x + b * block, block * sizeof (float));
    if (!latent_model_run (model, "forward", in, block, y + b * block, &error))
      g_error ("%s", error->message);
  }
  g_free (in);
  latent_model_free (model);
  *block_out = block;
  return y;
}

static double
mean_abs_diff (const Signal *a, const Signal *b)
{
  size_t n = MIN (a->n, b->n);
  double sum = 0.0;
  for (size_t i = 0; i < n; i++)
    sum += fabs (a->x[i] - b->x[i]);
  return n ? sum / n : 0.0;
}

static void
check_parameters (void)
{
  const char *s = "piano-phrase.wav", *t = "flute-phrase.wav";
  Signal four = transfer (s, t, "steps=4"), again = transfer (s, t, "steps=4");
  Signal one = transfer (s, t, "steps=1");
  Signal guided = transfer (s, t, "steps=4 guidance-timbre=3.0");
  /* The element equals the model's forward() on the same chunks. */
  Signal st = read_clip (s), ti = read_clip (t);
  int block = 0;
  float *reference = forward_via_core (&st, &ti, 4, &block);
  size_t whole = st.n / block * block;
  double forward_diff = am_max_abs_diff (four.x, reference, MIN (whole, four.n));
  CHECK (forward_diff < 1e-4, "element vs forward() through the core on %zu whole chunks: max "
      "|difference| %.2e", whole / block, forward_diff);
  g_free (reference);
  g_free (st.x);
  g_free (ti.x);
  double rerun = mean_abs_diff (&four, &again), steps = mean_abs_diff (&four, &one);
  double guidance = mean_abs_diff (&four, &guided);
  double rms = am_rms (four.x, four.n);
  printf ("mean |difference| (output rms %.4f): rerun %.2e, steps 1 vs 4 %.2e, guidance-timbre "
      "1 vs 3 %.2e\n", rms, rerun, steps, guidance);
  CHECK (steps > 10 * rerun + 0.01 * rms, "steps 1 vs 4 change the output");
  CHECK (guidance > 10 * rerun + 0.01 * rms, "guidance-timbre 1 vs 3 changes the output");
  g_free (four.x);
  g_free (again.x);
  g_free (one.x);
  g_free (guided.x);
}

/* Notes [start, end, pitch, velocity] of a clip, from models/clips/clips.json. */
static GArray *
read_notes (const char *clip)
{
  JsonParser *parser = json_parser_new ();
  GError *error = NULL;
  if (!json_parser_load_from_file (parser, CLIPS "/clips.json", &error))
    g_error ("%s", error->message);
  JsonObject *clips = json_object_get_object_member (
      json_node_get_object (json_parser_get_root (parser)), "clips");
  JsonArray *notes = json_object_get_array_member (
      json_object_get_object_member (clips, clip), "notes");
  GArray *out = g_array_new (FALSE, FALSE, sizeof (double) * 4);
  for (guint i = 0; i < json_array_get_length (notes); i++) {
    JsonArray *note = json_array_get_array_element (notes, i);
    double v[4];
    for (int k = 0; k < 4; k++)
      v[k] = json_array_get_double_element (note, k);
    g_array_append_vals (out, v, 1);
  }
  g_object_unref (parser);
  return out;
}

static void
check_midi (void)
{
  char *d = g_strdup_printf ("filesrc location=%s/after-phrase.mid ! midiparse ! a.midi "
      "filesrc location=%s/flute-phrase.wav ! wavparse ! audioconvert ! audioresample ! "
      "a.timbre aftertransfer name=a model=%s steps=4 ! appsink name=sink sync=false", CLIPS,
      CLIPS, MIDI_MODEL);
  printf ("after-phrase.mid + flute-phrase.wav (MIDI model)\n");
  Signal out = run_pipeline (d);
  g_free (d);
  GArray *notes = read_notes ("piano-phrase.wav");
  const double *first = (const double *) notes->data;
  int rate = out.rate;
  double before = am_rms (out.x, (size_t) (first[0] * rate * 0.8));
  size_t on = (size_t) (first[0] * rate) + rate / 20;
  double after = on + rate / 5 < out.n ? am_rms (out.x + on, rate / 5) : 0.0;
  CHECK (after > 3 * before, "first note at %.2f s: rms before %.4f, after %.4f",
      first[0], before, after);
  /* Onset: the first 256-sample hop whose rms reaches half the rms just after the note. */
  size_t hop = 256, onset = 0;
  while (onset + hop < out.n && am_rms (out.x + onset, hop) < 0.5 * after)
    onset += hop;
  double onset_s = (double) onset / rate;
  CHECK (fabs (onset_s - first[0]) < ONSET_TOLERANCE_S, "first onset detected at %.3f s, "
      "note at %.3f s (tolerance %.2f s)", onset_s, first[0], ONSET_TOLERANCE_S);

  size_t frames;
  float *chroma = am_chroma (out.x, out.n, rate, &frames);
  int checked = 0, right = 0;
  for (guint i = 0; i < notes->len; i++) {
    const double *note = (const double *) notes->data + 4 * i;
    if (note[1] - note[0] < 0.25)
      continue;
    size_t f0 = (size_t) ((note[0] + 0.1) * rate / 1024), f1 = (size_t) ((note[1] - 0.05) * rate / 1024);
    double sum[12] = { 0 };
    for (size_t f = f0; f < MIN (f1, frames); f++)
      for (int c = 0; c < 12; c++)
        sum[c] += chroma[f * 12 + c];
    int best = 0;
    for (int c = 1; c < 12; c++)
      if (sum[c] > sum[best])
        best = c;
    int want = (int) note[2] % 12;
    checked++;
    right += best == want;
    printf ("  note %d at %.2f-%.2f s: pitch class %d, output's strongest %d\n", (int) note[2],
        note[0], note[1], want, best);
  }
  double fraction = checked ? (double) right / checked : 0.0;
  CHECK (fraction >= MIDI_PITCH_MIN, "MIDI pitch classes right on %d of %d notes (%.2f >= %.2f)",
      right, checked, fraction, MIDI_PITCH_MIN);
  g_free (chroma);
  g_array_free (notes, TRUE);
  g_free (out.x);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  const char *dir = g_getenv ("AFTER_GM_DIR") ? g_getenv ("AFTER_GM_DIR")
      : LATENT_SOURCE_ROOT "/models";
  AUDIO_MODEL = g_build_filename (dir, "after-gm.ts", NULL);
  MIDI_MODEL = g_build_filename (dir, "after-gm-midi.ts", NULL);
  gboolean audio = g_file_test (AUDIO_MODEL, G_FILE_TEST_EXISTS);
  gboolean midi = g_file_test (MIDI_MODEL, G_FILE_TEST_EXISTS);
  if (!audio && !midi) {
    printf ("SKIP: %s and %s are absent\n", AUDIO_MODEL, MIDI_MODEL);
    return 77;
  }
  if (audio) {
    check_transfer ("piano-phrase.wav", "flute-phrase.wav");
    check_transfer ("heldout-piano.wav", "flute-phrase.wav");
    check_parameters ();
  }
  if (midi)
    check_midi ();
  CHECK (latent_test_no_streaming_compilations ("after-gm"),
      "a warmed-up model optimised a graph while streaming");
  printf ("%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
