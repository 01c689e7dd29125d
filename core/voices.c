/* Fixed-size MIDI voice allocation for AFTER's MIDI models (latent-after.h). Real-time safe:
 * no allocation after latent_voices_new, no locks. */
#include "latent.h"

typedef struct {
  int pitch;
  int velocity;        /* 0: free */
  guint64 started;     /* note-on order, for stealing the oldest */
  int latched_velocity; /* > 0: started since the last frame, shown even if already released */
} Voice;

struct LatentVoices {
  int n_poly;
  guint64 clock;
  Voice voice[LATENT_AFTER_MAX_POLY];
};

LatentVoices *
latent_voices_new (int n_poly)
{
  g_return_val_if_fail (n_poly >= 1 && n_poly <= LATENT_AFTER_MAX_POLY, NULL);
  LatentVoices *voices = g_new0 (LatentVoices, 1);
  voices->n_poly = n_poly;
  return voices;
}

void
latent_voices_free (LatentVoices *voices)
{
  g_free (voices);
}

int
latent_voices_get_n_poly (const LatentVoices *voices)
{
  return voices->n_poly;
}

static Voice *
find_sounding (LatentVoices *voices, int pitch)
{
  for (int i = 0; i < voices->n_poly; i++)
    if (voices->voice[i].velocity > 0 && voices->voice[i].pitch == pitch)
      return &voices->voice[i];
  return NULL;
}

void
latent_voices_note_on (LatentVoices *voices, int pitch, int velocity)
{
  if (pitch < 0 || pitch > 127)
    return;
  if (velocity <= 0) {
    latent_voices_note_off (voices, pitch);
    return;
  }
  velocity = MIN (velocity, 127);
  /* A repeated pitch retriggers its voice; else a free voice; else the oldest is stolen. */
  Voice *target = find_sounding (voices, pitch);
  for (int i = 0; !target && i < voices->n_poly; i++)
    if (voices->voice[i].velocity == 0)
      target = &voices->voice[i];
  if (!target) {
    target = &voices->voice[0];
    for (int i = 1; i < voices->n_poly; i++)
      if (voices->voice[i].started < target->started)
        target = &voices->voice[i];
  }
  target->pitch = pitch;
  target->velocity = velocity;
  target->latched_velocity = velocity;
  target->started = ++voices->clock;
}

void
latent_voices_note_off (LatentVoices *voices, int pitch)
{
  Voice *voice = find_sounding (voices, pitch);
  if (voice)
    voice->velocity = 0;
}

/* Data bytes that follow a channel message's status byte. */
static int
channel_message_length (guint8 status)
{
  const guint8 kind = status & 0xF0;
  return kind == 0xC0 || kind == 0xD0 ? 1 : 2;
}

gboolean
latent_voices_apply_midi (LatentVoices *voices, const guint8 *bytes, gsize size)
{
  guint8 status = 0; /* running status: the channel message being read; 0: none */
  guint8 data[2];
  int have = 0;
  gboolean channel_message = FALSE;
  for (gsize i = 0; i < size; i++) {
    const guint8 byte = bytes[i];
    if (byte == 0xFF)
      break;
    if (byte >= 0xF8)
      continue;
    if (byte >= 0xF0 || byte & 0x80) {
      status = byte >= 0xF0 ? 0 : byte;
      have = 0;
      continue;
    }
    if (!status)
      continue;
    data[have++] = byte;
    if (have < channel_message_length (status))
      continue;
    have = 0;
    channel_message = TRUE;
    const guint8 kind = status & 0xF0;
    if (kind == 0x90)
      latent_voices_note_on (voices, data[0], data[1]);
    else if (kind == 0x80)
      latent_voices_note_off (voices, data[0]);
    else if (kind == 0xB0 && (data[0] == 120 || data[0] == 123))
      latent_voices_all_off (voices);
  }
  return channel_message;
}

void
latent_voices_all_off (LatentVoices *voices)
{
  for (int i = 0; i < voices->n_poly; i++)
    voices->voice[i].velocity = 0;
}

void
latent_voices_write (const LatentVoices *voices, float *values)
{
  for (int i = 0; i < voices->n_poly; i++) {
    const Voice *v = &voices->voice[i];
    values[2 * i] = (float) v->pitch;
    values[2 * i + 1] = (float) MAX (v->velocity, v->latched_velocity);
  }
}

void
latent_voices_next_frame (LatentVoices *voices)
{
  for (int i = 0; i < voices->n_poly; i++)
    voices->voice[i].latched_velocity = 0;
}

void
latent_voices_reduce_rows (int n_poly, const float *rows, int row_channels, int first_channel,
    int ratio, int frames, float *planar)
{
  for (int f = 0; f < frames; f++) {
    const float *frame = rows + (gsize) f * ratio * row_channels + first_channel;
    for (int v = 0; v < n_poly; v++) {
      /* The first sample's pitch, unless a louder (or any sounding) sample comes later. */
      float pitch = frame[2 * v], velocity = frame[2 * v + 1];
      for (int i = 1; i < ratio; i++) {
        const float *s = frame + (gsize) i * row_channels;
        if (s[2 * v + 1] > velocity) {
          velocity = s[2 * v + 1];
          pitch = s[2 * v];
        }
      }
      planar[(2 * v) * frames + f] = pitch;
      planar[(2 * v + 1) * frames + f] = velocity;
    }
  }
}

void
latent_voices_reduce (int n_poly, const float *samples, int ratio, int frames, float *planar)
{
  latent_voices_reduce_rows (n_poly, samples, 2 * n_poly, 0, ratio, frames, planar);
}
