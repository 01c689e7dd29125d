/* AFTER core (core/after.c) and MIDI voices (core/voices.c), on the fixtures written by
 * tests/data/make_after_fixtures.py: their output is a sine at a MIDI pitch whose amplitude
 * per latent frame is structure rms * timbre0 * guidance_structure * guidance_timbre * steps
 * (audio) or velocity / 127 * timbre0 * ... (MIDI), so every figure below is predicted. */
#include "latent.h"

#include <math.h>
#include <string.h>

#define SR 16000
#define RATIO 256
#define CHUNK 4
#define BLOCK (RATIO * CHUNK)

static LatentAfter *
open_fixture (const char *name, GError **error)
{
  char *path = g_build_filename (LATENT_TEST_DATA, name, NULL);
  LatentAfter *after = latent_after_open (path, 1, error);
  g_free (path);
  return after;
}

/* Amplitude of the component at hz: Goertzel over the Hann-windowed array. */
static double
tone_amplitude (const float *x, int n, double hz)
{
  double w = 2.0 * G_PI * hz / SR, s1 = 0.0, s2 = 0.0, window_sum = 0.0;
  for (int i = 0; i < n; i++) {
    double hann = 0.5 - 0.5 * cos (2.0 * G_PI * i / n);
    window_sum += hann;
    double s = hann * x[i] + 2.0 * cos (w) * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  double power = s1 * s1 + s2 * s2 - 2.0 * cos (w) * s1 * s2;
  return 2.0 * sqrt (MAX (power, 0.0)) / window_sum;
}

static void
test_voices (void)
{
  LatentVoices *voices = latent_voices_new (2);
  float v[4];
  g_assert_cmpint (latent_voices_get_n_poly (voices), ==, 2);
  latent_voices_note_on (voices, 60, 100);
  latent_voices_note_on (voices, 64, 90);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[0], ==, 60);
  g_assert_cmpfloat (v[1], ==, 100);
  g_assert_cmpfloat (v[2], ==, 64);
  g_assert_cmpfloat (v[3], ==, 90);
  latent_voices_next_frame (voices);

  /* A third note steals the oldest (60). */
  latent_voices_note_on (voices, 67, 80);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[0], ==, 67);
  g_assert_cmpfloat (v[1], ==, 80);
  g_assert_cmpfloat (v[2], ==, 64);
  latent_voices_next_frame (voices);

  /* Note-off frees the voice that plays the pitch; it keeps its pitch at velocity 0. */
  latent_voices_note_off (voices, 64);
  latent_voices_note_off (voices, 50); /* not playing: ignored */
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[2], ==, 64);
  g_assert_cmpfloat (v[3], ==, 0);
  g_assert_cmpfloat (v[1], ==, 80);
  latent_voices_next_frame (voices);

  /* The free voice is taken before stealing; velocity 0 is a note-off. */
  latent_voices_note_on (voices, 72, 70);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[2], ==, 72);
  g_assert_cmpfloat (v[0], ==, 67);
  latent_voices_note_on (voices, 67, 0);
  latent_voices_next_frame (voices);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[1], ==, 0);

  /* A note that starts and ends inside one frame still shows in that frame, not the next. */
  latent_voices_note_on (voices, 48, 110);
  latent_voices_note_off (voices, 48);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[0], ==, 48);
  g_assert_cmpfloat (v[1], ==, 110);
  latent_voices_next_frame (voices);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[1], ==, 0);

  /* Retriggering a sounding pitch reuses its voice; all_off silences everything. */
  latent_voices_note_on (voices, 72, 30);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[2], ==, 72);
  g_assert_cmpfloat (v[3], ==, 30);
  latent_voices_all_off (voices);
  latent_voices_next_frame (voices);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (v[1] + v[3], ==, 0);

  /* Out-of-range pitches are ignored, velocities clamp to 127. */
  latent_voices_note_on (voices, 128, 100);
  latent_voices_note_on (voices, -1, 100);
  latent_voices_note_on (voices, 40, 500);
  latent_voices_write (voices, v);
  g_assert_cmpfloat (MAX (v[1], v[3]), ==, 127);
  latent_voices_free (voices);
}

/* Sounding velocity of the voice that shows `pitch`, or -1 if none shows it. */
static float
shown_velocity (LatentVoices *voices, int pitch)
{
  float v[2 * LATENT_AFTER_MAX_POLY];
  latent_voices_write (voices, v);
  for (int i = 0; i < latent_voices_get_n_poly (voices); i++)
    if (v[2 * i] == pitch && v[2 * i + 1] > 0)
      return v[2 * i + 1];
  return -1;
}

/* MIDI bytes as the specification reads them (the cases the old per-adapter parsers got
 * wrong are marked). */
static void
test_voices_midi (void)
{
  LatentVoices *voices = latent_voices_new (4);
#define APPLY(...) do { const guint8 bytes[] = { __VA_ARGS__ }; \
    latent_voices_apply_midi (voices, bytes, sizeof bytes); } while (0)
#define RESET() do { latent_voices_all_off (voices); latent_voices_next_frame (voices); } while (0)
  /* Running status, and a note-on of velocity 0 as note-off. */
  APPLY (0x90, 60, 100, 62, 90, 60, 0);
  g_assert_cmpfloat (shown_velocity (voices, 62), ==, 90);
  latent_voices_next_frame (voices);
  g_assert_cmpfloat (shown_velocity (voices, 60), ==, -1);
  RESET ();
  /* A status byte drops the unfinished message before it (was read as its velocity). */
  APPLY (0x90, 64, 0x80, 64, 0);
  g_assert_cmpfloat (shown_velocity (voices, 64), ==, -1);
  RESET ();
  /* A clock byte inside a message changes nothing (was read as a data byte). */
  APPLY (0x93, 65, 0xF8, 70);
  g_assert_cmpfloat (shown_velocity (voices, 65), ==, 70);
  RESET ();
  /* A SysEx without its end byte ends at the next status byte (swallowed the rest). */
  APPLY (0xF0, 0x7E, 0x01, 0x90, 67, 80);
  g_assert_cmpfloat (shown_velocity (voices, 67), ==, 80);
  RESET ();
  /* SysEx and system common messages cancel running status; stray data bytes are ignored. */
  APPLY (0x90, 69, 50, 0xF0, 0x01, 0xF7, 71, 60, 0xF3, 1, 72, 60);
  g_assert_cmpfloat (shown_velocity (voices, 69), ==, 50);
  g_assert_cmpfloat (shown_velocity (voices, 71), ==, -1);
  g_assert_cmpfloat (shown_velocity (voices, 72), ==, -1);
  RESET ();
  /* Truncated: nothing; a meta event (0xFF, from a MIDI file) ends the bytes. */
  APPLY (0x90, 74);
  APPLY (0xFF, 0x01, 0x03, 0x90, 75, 100);
  g_assert_cmpfloat (shown_velocity (voices, 74), ==, -1);
  g_assert_cmpfloat (shown_velocity (voices, 75), ==, -1);
  /* Whether the bytes held a channel message: midiparse's ticks (0xF9) hold none. */
  const guint8 tick[] = { 0xF9 }, program[] = { 0xC0, 5 };
  g_assert_false (latent_voices_apply_midi (voices, tick, sizeof tick));
  g_assert_true (latent_voices_apply_midi (voices, program, sizeof program));
  /* All sound off on any channel. */
  APPLY (0x95, 76, 100, 0xBF, 120, 0);
  latent_voices_next_frame (voices);
  g_assert_cmpfloat (shown_velocity (voices, 76), ==, -1);
#undef APPLY
#undef RESET
  latent_voices_free (voices);
}

/* How one buffer of several messages reads (aftertransfer gets whole GStreamer buffers, the
 * LV2 plugin one event each): running status across a SysEx in the middle, velocity 0 after
 * running status, and a message cut off at the end of a buffer, which the next buffer does
 * not complete (running status lasts within one call only). */
static void
test_voices_midi_buffers (void)
{
  LatentVoices *voices = latent_voices_new (4);
  /* Note 60 on, a SysEx, then 62 with its own status and 64 by running status. */
  const guint8 sysex_inside[] = { 0x91, 60, 100, 0xF0, 0x43, 0x12, 0x00, 0xF7, 0x91, 62, 90,
    64, 80 };
  g_assert_true (latent_voices_apply_midi (voices, sysex_inside, sizeof sysex_inside));
  g_assert_cmpfloat (shown_velocity (voices, 60), ==, 100);
  g_assert_cmpfloat (shown_velocity (voices, 62), ==, 90);
  g_assert_cmpfloat (shown_velocity (voices, 64), ==, 80);
  /* Running status note-on with velocity 0 ends 62 and 64 but not 60. */
  const guint8 offs[] = { 0x91, 62, 0, 64, 0 };
  latent_voices_apply_midi (voices, offs, sizeof offs);
  latent_voices_next_frame (voices);
  g_assert_cmpfloat (shown_velocity (voices, 62), ==, -1);
  g_assert_cmpfloat (shown_velocity (voices, 64), ==, -1);
  g_assert_cmpfloat (shown_velocity (voices, 60), ==, 100);
  /* A buffer that ends inside a note-on: the whole message before it counts, the cut one
   * does not, and the next buffer's lone data byte does not finish it. */
  const guint8 cut[] = { 0x92, 65, 70, 0x92, 67 }, rest[] = { 50 };
  latent_voices_apply_midi (voices, cut, sizeof cut);
  latent_voices_apply_midi (voices, rest, sizeof rest);
  g_assert_cmpfloat (shown_velocity (voices, 65), ==, 70);
  g_assert_cmpfloat (shown_velocity (voices, 67), ==, -1);
  /* A SysEx cut at the end of a buffer swallows nothing of the next one. */
  const guint8 open_sysex[] = { 0xF0, 0x7D, 0x01 }, note[] = { 0x90, 69, 40 };
  g_assert_false (latent_voices_apply_midi (voices, open_sysex, sizeof open_sysex));
  g_assert_true (latent_voices_apply_midi (voices, note, sizeof note));
  g_assert_cmpfloat (shown_velocity (voices, 69), ==, 40);
  latent_voices_free (voices);
}

/* Per-sample voice states reduce to frames keeping short notes: voice 0 plays 60 for 3
 * samples in frame 0 only; voice 1 holds 64 from frame 1 on. */
static void
test_voices_reduce (void)
{
  enum { RATIO_S = 8, FRAMES = 2 };
  float samples[FRAMES * RATIO_S * 4] = { 0 }, planar[4 * FRAMES];
  for (int i = 2; i < 5; i++) {
    samples[i * 4 + 0] = 60;
    samples[i * 4 + 1] = 90;
  }
  for (int i = RATIO_S; i < FRAMES * RATIO_S; i++) {
    samples[i * 4 + 2] = 64;
    samples[i * 4 + 3] = 50;
  }
  latent_voices_reduce (2, samples, RATIO_S, FRAMES, planar);
  g_assert_cmpfloat (planar[0 * FRAMES + 0], ==, 60);
  g_assert_cmpfloat (planar[1 * FRAMES + 0], ==, 90);
  g_assert_cmpfloat (planar[1 * FRAMES + 1], ==, 0);
  g_assert_cmpfloat (planar[3 * FRAMES + 0], ==, 0);
  g_assert_cmpfloat (planar[2 * FRAMES + 1], ==, 64);
  g_assert_cmpfloat (planar[3 * FRAMES + 1], ==, 50);
}

/* The LV2 plugin's rows carry the timbre sample before the voices and x, y after them:
 * reduce_rows reads the voices in place, as reduce does on bare voice rows. */
static void
test_voices_reduce_rows (void)
{
  enum { RATIO_S = 4, FRAMES = 2, POLY = 2, ROW = 1 + 2 * POLY + 2 };
  float rows[FRAMES * RATIO_S * ROW], bare[FRAMES * RATIO_S * 2 * POLY];
  for (int i = 0; i < FRAMES * RATIO_S; i++)
    for (int c = 0; c < ROW; c++) {
      /* timbre and x, y loud (999) so reading the wrong channels shows */
      const gboolean voice = c >= 1 && c <= 2 * POLY;
      const float value = voice ? (float) ((i * 7 + c * 3) % 11) * ((c - 1) % 2 ? 10 : 1) : 999;
      rows[i * ROW + c] = value;
      if (voice)
        bare[i * 2 * POLY + c - 1] = value;
    }
  float from_rows[2 * POLY * FRAMES], from_bare[2 * POLY * FRAMES];
  latent_voices_reduce_rows (POLY, rows, ROW, 1, RATIO_S, FRAMES, from_rows);
  latent_voices_reduce (POLY, bare, RATIO_S, FRAMES, from_bare);
  for (int i = 0; i < 2 * POLY * FRAMES; i++) {
    g_assert_cmpfloat (from_rows[i], ==, from_bare[i]);
    g_assert_cmpfloat (from_rows[i], <, 999);
  }
}

static void
test_audio_info (void)
{
  GError *error = NULL;
  LatentAfter *after = open_fixture ("after-audio.ts", &error);
  g_assert_no_error (error);
  const LatentAfterInfo *info = latent_after_get_info (after);
  g_assert_cmpint (info->kind, ==, LATENT_AFTER_AUDIO);
  g_assert_cmpint (info->sample_rate, ==, SR);
  g_assert_cmpint (info->ratio, ==, RATIO);
  g_assert_cmpint (info->chunk, ==, CHUNK);
  g_assert_cmpint (info->structure_dims, ==, 3);
  g_assert_cmpint (info->timbre_dims, ==, 2);
  g_assert_cmpint (info->latent_dims, ==, 4);
  g_assert_cmpint (info->n_poly, ==, 0);
  g_assert_cmpint (latent_after_get_block (after), ==, BLOCK);
  latent_after_free (after);
}

static void
test_audio_render (void)
{
  LatentAfter *after = open_fixture ("after-audio.ts", NULL);
  g_assert_nonnull (after);
  float structure[BLOCK], timbre_audio[BLOCK], out[BLOCK], timbre[2];
  for (int i = 0; i < BLOCK; i++) {
    structure[i] = 0.6f * sinf (2.0f * (float) G_PI * 1000.0f * i / SR); /* rms 0.6/sqrt2 */
    timbre_audio[i] = 0.25f;
  }
  /* The timbre vector is the chunk mean of `timbre`: rms and mean of a constant = 0.25. */
  g_assert_true (latent_after_update_timbre (after, timbre_audio, NULL));
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat_with_epsilon (timbre[0], 0.25, 1e-5);
  g_assert_cmpfloat_with_epsilon (timbre[1], 0.25, 1e-5);

  GError *error = NULL;
  g_assert_true (latent_after_render (after, structure, out, &error));
  g_assert_no_error (error);
  double expected = 0.6 / sqrt (2.0) * 0.25; /* amplitude of the 440 Hz output */
  g_assert_cmpfloat_with_epsilon (tone_amplitude (out, BLOCK, 440.0), expected, expected * 0.05);
  g_assert_cmpfloat (tone_amplitude (out, BLOCK, 1000.0), <, expected * 0.05);

  /* Steps and guidance reach the model before the next chunk. */
  g_assert_true (latent_after_set_steps (after, 3, NULL));
  g_assert_true (latent_after_set_guidance (after, 2.0, 0.5, NULL));
  g_assert_true (latent_after_render (after, structure, out, NULL));
  g_assert_cmpfloat_with_epsilon (tone_amplitude (out, BLOCK, 440.0), 3 * expected,
      expected * 0.15);
  g_assert_false (latent_after_set_steps (after, LATENT_AFTER_MAX_STEPS + 1, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE);
  g_clear_error (&error);

  /* A hand-set timbre replaces the measured one; missing values are 0. */
  const float manual[1] = { 1.0f };
  latent_after_set_timbre (after, manual, 1);
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat (timbre[0], ==, 1.0f);
  g_assert_cmpfloat (timbre[1], ==, 0.0f);

  /* Reset clears the model's phase (same output as a fresh start) and keeps attributes and
   * timbre. */
  float first[BLOCK];
  g_assert_true (latent_after_reset (after, NULL));
  g_assert_true (latent_after_render (after, structure, first, NULL));
  g_assert_true (latent_after_render (after, structure, out, NULL));
  g_assert_cmpfloat (fabs (out[10] - first[10]), >, 1e-4); /* phase moved on */
  g_assert_true (latent_after_reset (after, NULL));
  g_assert_true (latent_after_render (after, structure, out, NULL));
  for (int i = 0; i < BLOCK; i++)
    g_assert_cmpfloat_with_epsilon (out[i], first[i], 1e-5);
  g_assert_cmpfloat_with_epsilon (tone_amplitude (out, BLOCK, 440.0), 3 * 0.6 / sqrt (2.0),
      0.15);
  latent_after_free (after);
}

static void
test_midi_render (void)
{
  GError *error = NULL;
  LatentAfter *after = open_fixture ("after-midi.ts", &error);
  g_assert_no_error (error);
  const LatentAfterInfo *info = latent_after_get_info (after);
  g_assert_cmpint (info->kind, ==, LATENT_AFTER_MIDI);
  g_assert_cmpint (info->n_poly, ==, 2);
  g_assert_cmpint (info->structure_dims, ==, 0);
  g_assert_cmpint (info->chunk, ==, CHUNK);

  /* Voice 0 plays A4 (69) at velocity 127 for the whole chunk; voice 1 plays C5 (72) at
   * velocity 64 in frames 2 and 3 only. */
  LatentVoices *voices = latent_voices_new (info->n_poly);
  float notes[4 * CHUNK], frame[4], out[BLOCK];
  latent_voices_note_on (voices, 69, 127);
  for (int f = 0; f < CHUNK; f++) {
    if (f == 2)
      latent_voices_note_on (voices, 72, 64);
    latent_voices_write (voices, frame);
    latent_voices_next_frame (voices);
    for (int c = 0; c < 4; c++)
      notes[c * CHUNK + f] = frame[c];
  }
  const float timbre[2] = { 0.5f, 0.0f };
  latent_after_set_timbre (after, timbre, 2);
  g_assert_true (latent_after_render (after, notes, out, &error));
  g_assert_no_error (error);
  double a4_first = tone_amplitude (out, 2 * RATIO, 440.0);
  double c5_first = tone_amplitude (out, 2 * RATIO, 523.25);
  double c5_last = tone_amplitude (out + 2 * RATIO, 2 * RATIO, 523.25);
  g_assert_cmpfloat_with_epsilon (a4_first, 0.5, 0.05);
  g_assert_cmpfloat (c5_first, <, 0.05);
  g_assert_cmpfloat_with_epsilon (c5_last, 0.5 * 64 / 127.0, 0.05);
  latent_voices_free (voices);
  latent_after_free (after);
}

static void
expect_open_error (const char *name, LatentError code, const char *const *fragments)
{
  GError *error = NULL;
  LatentAfter *after = open_fixture (name, &error);
  g_assert_null (after);
  g_assert_error (error, LATENT_ERROR, (int) code);
  g_test_message ("%s: %s", name, error->message);
  g_assert_nonnull (strstr (error->message, name));
  for (const char *const *f = fragments; *f; f++)
    if (!strstr (error->message, *f))
      g_error ("error for %s lacks '%s': %s", name, *f, error->message);
  g_error_free (error);
}

static void
test_bad_models (void)
{
  expect_open_error ("after-missing-attr.ts", LATENT_ERROR_ATTRIBUTE,
      (const char *[]) { "guidance_timbre", "not an AFTER export", NULL });
  expect_open_error ("after-wrong-channels.ts", LATENT_ERROR_SHAPE,
      (const char *[]) { "takes 6 channels", "structure 3 + timbre 2 = 5", NULL });
  expect_open_error ("after-no-chunk.ts", LATENT_ERROR_SHAPE,
      (const char *[]) { "chunk", "1..16", NULL });
  /* A RAVE-style codec is no AFTER model: the message names what is missing. */
  expect_open_error ("stateful-codec.ts", LATENT_ERROR_METHOD,
      (const char *[]) { "method timbre", "generate", "nb_steps", NULL });
  expect_open_error ("not-there.ts", LATENT_ERROR_LOAD, (const char *[]) { "no such", NULL });
}

/* AFTER's 2-D timbre map: the fixture's map2latent is (x, y) -> (0.5 x, 0.25 y). */
static void
test_timbre_map (void)
{
  GError *error = NULL;
  LatentAfter *after = open_fixture ("after-audio-map.ts", &error);
  g_assert_no_error (error);
  g_assert_true (latent_after_has_map (after));
  g_assert_true (latent_after_set_timbre_from_map (after, 2.0f, -4.0f, &error));
  g_assert_no_error (error);
  float timbre[2];
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat_with_epsilon (timbre[0], 1.0f, 1e-6);
  g_assert_cmpfloat_with_epsilon (timbre[1], -1.0f, 1e-6);
  /* Non-finite coordinates reach the map as 0. */
  g_assert_true (latent_after_set_timbre_from_map (after, NAN, INFINITY, &error));
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat (timbre[0], ==, 0.0f);
  g_assert_cmpfloat (timbre[1], ==, 0.0f);
  latent_after_free (after);
  after = open_fixture ("after-midi-map.ts", &error);
  g_assert_no_error (error);
  g_assert_true (latent_after_has_map (after));
  latent_after_free (after);
  /* Without map2latent: has_map is FALSE and the call says what is missing. */
  after = open_fixture ("after-audio.ts", &error);
  g_assert_no_error (error);
  g_assert_false (latent_after_has_map (after));
  g_assert_false (latent_after_set_timbre_from_map (after, 0.0f, 0.0f, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_METHOD);
  g_assert_nonnull (strstr (error->message, "map2latent"));
  g_clear_error (&error);
  latent_after_free (after);
}

/* Timbre from a terrain: dims must be the timbre dims; the terrain's output becomes the
 * timbre vector. */
static void
test_timbre_terrain (void)
{
  GError *error = NULL;
  LatentAfter *after = open_fixture ("after-audio.ts", &error);
  g_assert_no_error (error);
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.latent_dims = 2;
  LatentTerrain *terrain = latent_terrain_new (&config, 1, &error);
  g_assert_no_error (error);
  LatentTerrainWorkspace *ws = latent_terrain_workspace_new (&config);
  g_assert_true (latent_after_check_terrain (after, terrain, "t.pt", &error));
  float xy[2] = { 1.5f, -2.0f }, expect[2], timbre[2];
  g_assert_true (latent_terrain_forward (terrain, xy, expect, ws));
  g_assert_true (latent_after_set_timbre_from_terrain (after, terrain, ws, xy, 2));
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat (timbre[0], ==, expect[0]);
  g_assert_cmpfloat (timbre[1], ==, expect[1]);
  latent_terrain_workspace_free (ws);
  latent_terrain_free (terrain);
  config.latent_dims = 8;
  terrain = latent_terrain_new (&config, 1, &error);
  ws = latent_terrain_workspace_new (&config);
  g_assert_false (latent_after_check_terrain (after, terrain, "t.pt", &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "8 dims"));
  g_assert_nonnull (strstr (error->message, "2 timbre dims"));
  g_clear_error (&error);
  g_assert_false (latent_after_set_timbre_from_terrain (after, terrain, ws, xy, 2));
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat (timbre[0], ==, expect[0]); /* unchanged */
  latent_terrain_workspace_free (ws);
  latent_terrain_free (terrain);
  latent_after_free (after);
}

/* Streaming `timbre` alone (raveencode method=timbre): the block is one chunk. */
static void
test_timbre_stream (void)
{
  GError *error = NULL;
  char *path = g_build_filename (LATENT_TEST_DATA, "after-audio.ts", NULL);
  LatentModel *model = latent_model_open (path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent_after_timbre_block (model, &error), ==, BLOCK);
  LatentStream *stream = latent_stream_new (model, "timbre", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent_stream_get_block (stream), ==, BLOCK);
  float in[BLOCK * 2], out[CHUNK * 2 * 2];
  for (int i = 0; i < BLOCK * 2; i++)
    in[i] = 0.5f;
  g_assert_true (latent_stream_process (stream, in, BLOCK * 2, out, NULL, &error));
  g_assert_cmpfloat_with_epsilon (out[0], 0.5f, 1e-6); /* rms of a constant 0.5 */
  latent_stream_free (stream);
  stream = latent_stream_new (model, "timbre", 2 * BLOCK, &error);
  g_assert_null (stream);
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_assert_nonnull (strstr (error->message, "one chunk"));
  g_clear_error (&error);
  latent_model_free (model);
  /* Not an AFTER export: 0, its timbre (if any) follows its _params. */
  path = (g_free (path), g_build_filename (LATENT_TEST_DATA, "stateful-codec.ts", NULL));
  model = latent_model_open (path, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (latent_after_timbre_block (model, &error), ==, 0);
  latent_model_free (model);
  g_free (path);
}

/* Feeding chunks (core/after-feed.c): gathering one channel of interleaved rows, timbre
 * audio updating the timbre once per whole chunk, chunk means, settings applied once. */
static void
test_feed (void)
{
  LatentAfter *after = open_fixture ("after-audio.ts", NULL);
  g_assert_nonnull (after);
  float chunk[BLOCK], timbre[2];
  int fill = 0;
  const float rows[] = { 1, 9, NAN, 9, 3, 9 };
  g_assert_cmpuint (latent_after_gather (chunk, &fill, BLOCK, rows, 3, 2), ==, 3);
  g_assert_cmpint (fill, ==, 3);
  g_assert_true (chunk[0] == 1.0f && chunk[1] == 0.0f && chunk[2] == 3.0f);
  fill = BLOCK - 1;
  g_assert_cmpuint (latent_after_gather (chunk, &fill, BLOCK, rows, 3, 2), ==, 1);

  /* Timbre audio in uneven pieces: the timbre changes only when a chunk is complete. */
  float audio[BLOCK + 100];
  for (int i = 0; i < BLOCK + 100; i++)
    audio[i] = 0.25f;
  const float manual[2] = { 1.0f, 1.0f };
  g_assert_true (latent_after_set_timbre_point (after, manual, 2, FALSE, NULL));
  fill = 0;
  g_assert_true (latent_after_feed_timbre_audio (after, chunk, &fill, audio, BLOCK / 2, 1, NULL));
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat (timbre[0], ==, 1.0f);
  g_assert_true (latent_after_feed_timbre_audio (after, chunk, &fill, audio, BLOCK / 2 + 100, 1,
      NULL));
  g_assert_cmpint (fill, ==, 100);
  latent_after_get_timbre (after, timbre);
  g_assert_cmpfloat_with_epsilon (timbre[0], 0.25, 1e-5);

  /* Means over a chunk: two channels of three-float rows, non-finite as 0. */
  LatentAfterMean mean = { 0 };
  const float frames[] = { 1, 2, 7, 3, INFINITY, 7 };
  float values[2] = { -1, -1 };
  latent_after_mean_add (&mean, frames, 2, 3, 2);
  g_assert_cmpint (latent_after_mean_take (&mean, values), ==, 2);
  g_assert_true (values[0] == 2.0f && values[1] == 1.0f);
  g_assert_cmpint (latent_after_mean_take (&mean, values), ==, 0);

  /* Settings: applied when they differ, refused out of range. */
  GError *error = NULL;
  g_assert_true (latent_after_apply_settings (after, 3, 2.0, 0.5, &error));
  g_assert_true (latent_after_apply_settings (after, 3, 2.0, 0.5, &error));
  g_assert_no_error (error);
  g_assert_false (latent_after_apply_settings (after, LATENT_AFTER_MAX_STEPS + 1, 2.0, 0.5,
      &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE);
  g_clear_error (&error);
  latent_after_free (after);

  /* Note frames: the voices' state per latent frame, written up to a frame index. */
  LatentVoices *voices = latent_voices_new (2);
  float planar[4 * CHUNK];
  int frame = 0;
  latent_voices_note_on (voices, 60, 100);
  latent_voices_write_frames (voices, planar, CHUNK, &frame, 2);
  g_assert_cmpint (frame, ==, 2);
  latent_voices_note_off (voices, 60);
  latent_voices_write_frames (voices, planar, CHUNK, &frame, CHUNK + 5);
  g_assert_cmpint (frame, ==, CHUNK);
  const float velocity[CHUNK] = { 100, 100, 0, 0 }; /* pitch0 row, then vel0 row */
  for (int f = 0; f < CHUNK; f++) {
    g_assert_cmpfloat (planar[f], ==, 60.0f);
    g_assert_cmpfloat (planar[CHUNK + f], ==, velocity[f]);
  }
  latent_voices_free (voices);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/after/voices", test_voices);
  g_test_add_func ("/after/voices-midi", test_voices_midi);
  g_test_add_func ("/after/voices-midi-buffers", test_voices_midi_buffers);
  g_test_add_func ("/after/voices-reduce", test_voices_reduce);
  g_test_add_func ("/after/voices-reduce-rows", test_voices_reduce_rows);
  g_test_add_func ("/after/audio-info", test_audio_info);
  g_test_add_func ("/after/audio-render", test_audio_render);
  g_test_add_func ("/after/midi-render", test_midi_render);
  g_test_add_func ("/after/bad-models", test_bad_models);
  g_test_add_func ("/after/timbre-map", test_timbre_map);
  g_test_add_func ("/after/timbre-terrain", test_timbre_terrain);
  g_test_add_func ("/after/timbre-stream", test_timbre_stream);
  g_test_add_func ("/after/feed", test_feed);
  return g_test_run ();
}
