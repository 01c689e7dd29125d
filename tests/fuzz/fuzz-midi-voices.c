/* Fuzzes MIDI bytes -> voices (core/voices.c): latent_voices_apply_midi, the one parser behind
 * aftertransfer's `midi` pad (a GStreamer buffer: one or more messages, running status) and
 * urn:latent:after-midi (an LV2 MIDI event), then the per-sample recording and the reduction
 * to latent frames that the LV2 plugin does (latent_voices_write / next_frame /
 * reduce_rows on its rows of timbre audio, voices, x and y).
 *
 * Input: n_poly (1 byte), ratio (1 byte), then events until the input ends: a length byte
 * (0..31), that many MIDI bytes (any: truncated messages, SysEx, running status, stray data)
 * and a gap byte (samples until the next event; 255 stands for a huge gap, as from a late
 * timestamp, of which only the recording limit is kept).
 *
 * Besides crashes and undefined behaviour it checks:
 * - every voice shows a pitch and a velocity in 0..127, every sample and every reduced frame;
 * - real-time bytes are transparent: the same bytes with a MIDI clock (0xF8) inserted at a
 *   fuzz-chosen place leave every voice as without it (the MIDI specification allows them
 *   between the bytes of any message);
 * - all notes off (CC 123) silences every voice by the next frame;
 * - reduce_rows on the plugin's rows (voices between other channels) gives what reduce gives
 *   on bare voice rows. */
#include "fuzz-input.h"
#include "latent.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_SAMPLES 1024
/* The LV2 plugin's input rows: timbre audio, 2 * n_poly voice values, x, y. */
#define ROW_EXTRA 3

static void
fail (const char *what)
{
  fprintf (stderr, "fuzz-midi-voices: %s\n", what);
  abort ();
}

static void
check_values (const float *values, int n_poly)
{
  for (int i = 0; i < 2 * n_poly; i++)
    if (!(values[i] >= 0.0f && values[i] <= 127.0f) || values[i] != (float) (int) values[i])
      fail (i % 2 ? "a velocity outside 0..127" : "a pitch outside 0..127");
}

/* The same samples inside the plugin's wider rows (other channels -1: never a velocity that
 * wins) reduce to the same frames. */
static void
check_reduce_rows (int n_poly, const float *samples, int ratio, int frames, const float *planar)
{
  const int values = 2 * n_poly, row = values + ROW_EXTRA;
  const gsize n = (gsize) frames * ratio;
  float *rows = g_new (float, MAX (n, 1) * row);
  float *from_rows = g_new (float, (gsize) MAX (frames, 1) * values);
  for (gsize i = 0; i < n; i++) {
    for (int c = 0; c < row; c++)
      rows[i * row + c] = -1.0f;
    memcpy (rows + i * row + 1, samples + i * values, sizeof (float) * values);
  }
  latent_voices_reduce_rows (n_poly, rows, row, 1, ratio, frames, from_rows);
  if (memcmp (from_rows, planar, sizeof (float) * values * frames) != 0)
    fail ("reduce_rows on the plugin's rows differs from reduce");
  g_free (rows);
  g_free (from_rows);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  FuzzInput in = { data, size, 0 };
  const int n_poly = 1 + fuzz_take_u8 (&in) % LATENT_AFTER_MAX_POLY;
  const int ratio = 1 + fuzz_take_u8 (&in) % 8;
  const int values = 2 * n_poly;
  LatentVoices *voices = latent_voices_new (n_poly);
  LatentVoices *with_clock = latent_voices_new (n_poly);
  float *samples = g_new0 (float, (gsize) MAX_SAMPLES * values);
  float clock_row[2 * LATENT_AFTER_MAX_POLY];
  int recorded = 0;
  while (fuzz_input_left (&in) > 0) {
    uint8_t event[32 + 1];
    const size_t length = fuzz_take_u8 (&in) % 32;
    fuzz_take_bytes (&in, event, length);
    latent_voices_apply_midi (voices, event, length);
    /* The same event with a clock byte inserted before byte `at`. */
    const size_t at = length ? event[0] % (length + 1) : 0;
    memmove (event + at + 1, event + at, length - at);
    event[at] = 0xF8;
    latent_voices_apply_midi (with_clock, event, length + 1);

    const uint8_t gap_byte = fuzz_take_u8 (&in);
    const int gap = gap_byte == 255 ? MAX_SAMPLES : gap_byte;
    for (int s = 0; s < gap && recorded < MAX_SAMPLES; s++, recorded++) {
      float *row = samples + (gsize) recorded * values;
      latent_voices_write (voices, row);
      latent_voices_write (with_clock, clock_row);
      check_values (row, n_poly);
      if (memcmp (row, clock_row, sizeof (float) * values) != 0)
        fail ("a MIDI clock byte inside the event changed the voices");
      if ((recorded + 1) % ratio == 0) {
        latent_voices_next_frame (voices);
        latent_voices_next_frame (with_clock);
      }
    }
  }
  const int frames = recorded / ratio;
  float *planar = g_new0 (float, (gsize) MAX (frames, 1) * values);
  latent_voices_reduce (n_poly, samples, ratio, frames, planar);
  check_reduce_rows (n_poly, samples, ratio, frames, planar);
  for (int f = 0; f < frames; f++) {
    float frame[2 * LATENT_AFTER_MAX_POLY];
    for (int c = 0; c < values; c++)
      frame[c] = planar[(gsize) c * frames + f];
    check_values (frame, n_poly);
  }
  static const uint8_t all_notes_off[] = { 0xB5, 123, 0 };
  latent_voices_apply_midi (voices, all_notes_off, sizeof all_notes_off);
  latent_voices_next_frame (voices);
  float row[2 * LATENT_AFTER_MAX_POLY];
  latent_voices_write (voices, row);
  for (int v = 0; v < n_poly; v++)
    if (row[2 * v + 1] != 0.0f)
      fail ("a voice still sounds after all notes off");
  g_free (planar);
  g_free (samples);
  latent_voices_free (voices);
  latent_voices_free (with_clock);
  return 0;
}
