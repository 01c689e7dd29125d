/* urn:latent:after-midi: AFTER timbre transfer as an instrument. MIDI notes (on the atom
 * control port, beside patch messages) are the structure; the timbre comes from the sidechain
 * audio input or from six timbre controls (manual exploration), as the "timbre source"
 * control picks, or from x and y on a timbre terrain or the model's 2-D timbre map. Engine,
 * model file, timbre terrain, state and latency: lv2/after.c.
 *
 * run() applies each MIDI event at its frame to the engine's LatentVoices (real-time safe)
 * and writes every voice's pitch and velocity for every sample into the stream's input ring,
 * beside the sidechain sample; at each latent frame boundary (every `ratio` samples at the
 * model's rate since the engine started, in host frames when the host runs at another rate)
 * it ends the voices' frame, so a note shorter than a frame still shows
 * in it. While a new model takes over, both engines get every event (the new one does not
 * know notes held before it started). The worker reduces the samples to latent frames
 * (latent_voices_reduce_rows: per voice the loudest velocity in the frame) and renders. */
#include "after-plugin.h"

enum {
  MIDI_PORT_CONTROL,
  MIDI_PORT_NOTIFY,
  MIDI_PORT_TIMBRE,
  MIDI_PORT_OUT,
  MIDI_PORT_TIMBRE_SOURCE,
  MIDI_PORT_TIMBRE0,
  MIDI_PORT_STEPS = MIDI_PORT_TIMBRE0 + AFTER_TIMBRE_CONTROLS,
  MIDI_PORT_GUIDANCE_STRUCTURE,
  MIDI_PORT_GUIDANCE_TIMBRE,
  MIDI_PORT_THREADS,
  MIDI_PORT_FREEWHEEL,
  MIDI_PORT_LATENCY,
  MIDI_PORT_UNDERRUNS,
  MIDI_PORT_X,
  MIDI_PORT_Y,
  MIDI_PORT_LATENCY_MODE, /* 0 low, 1 safe (core/latent-rt.h) */
};

/* Instantiation class: a non-real-time thread, no other call on this instance meanwhile. */
static LV2_Handle
midi_instantiate (const LV2_Descriptor *descriptor, double rate, const char *bundle_path,
    const LV2_Feature *const *features)
{
  return after_instantiate (LATENT_AFTER_MIDI, rate, bundle_path, features);
}

/* Audio class: the audio thread (or any thread before activate()); only stores the pointer. */
static void
midi_connect_port (LV2_Handle instance, uint32_t port, void *data)
{
  AfterPlugin *self = instance;
  switch (port) {
    case MIDI_PORT_CONTROL: self->control = data; break;
    case MIDI_PORT_NOTIFY: self->notify = data; break;
    case MIDI_PORT_TIMBRE: self->timbre_audio = data; break;
    case MIDI_PORT_OUT: self->out = data; break;
    case MIDI_PORT_TIMBRE_SOURCE: self->timbre_source = data; break;
    case MIDI_PORT_STEPS: self->steps = data; break;
    case MIDI_PORT_GUIDANCE_STRUCTURE: self->guidance_structure = data; break;
    case MIDI_PORT_GUIDANCE_TIMBRE: self->guidance_timbre = data; break;
    case MIDI_PORT_THREADS: self->threads = data; break;
    case MIDI_PORT_FREEWHEEL: self->freewheel = data; break;
    case MIDI_PORT_LATENCY: self->latency = data; break;
    case MIDI_PORT_UNDERRUNS: self->underruns = data; break;
    case MIDI_PORT_X: self->x = data; break;
    case MIDI_PORT_Y: self->y = data; break;
    case MIDI_PORT_LATENCY_MODE: self->model.latency_port = data; break;
    default:
      if (port >= MIDI_PORT_TIMBRE0 && port < MIDI_PORT_TIMBRE0 + AFTER_TIMBRE_CONTROLS)
        self->timbre[port - MIDI_PORT_TIMBRE0] = data;
  }
}

static void
apply_midi (AfterPlugin *self, LatentVoices *voices, const LV2_Atom_Event *ev)
{
  if (ev->body.type == self->midi_event)
    latent_voices_apply_midi (voices, (const uint8_t *) (ev + 1), ev->body.size);
}

/* Frames [done, done + n): events at their frame, then per sample the sidechain and every
 * voice's pitch and velocity. */
static void
midi_fill (AfterPlugin *self, AfterEngine *engine, uint32_t done, uint32_t n)
{
  const int c = engine->in_channels;
  const LV2_Atom_Event *ev = NULL;
  if (self->control && self->host.map) {
    ev = lv2_atom_sequence_begin (&self->control->body);
    while (!lv2_atom_sequence_is_end (&self->control->body, self->control->atom.size, ev)
        && ev->time.frames < (int64_t) done)
      ev = lv2_atom_sequence_next (ev);
  }
  for (uint32_t i = 0; i < n; i++) {
    while (ev && !lv2_atom_sequence_is_end (&self->control->body, self->control->atom.size, ev)
        && ev->time.frames <= (int64_t) (done + i)) {
      apply_midi (self, engine->voices, ev);
      ev = lv2_atom_sequence_next (ev);
    }
    float *row = self->in_buf + (gsize) i * c;
    row[0] = self->timbre_audio ? self->timbre_audio[done + i] : 0.0f;
    latent_voices_write (engine->voices, row + 1);
    row[c - 2] = self->xy_buf[2 * i]; /* x, y: the last two channels */
    row[c - 1] = self->xy_buf[2 * i + 1];
    int64_t before = engine->fed++;
    if (engine->fed * engine->frame_num / engine->frame_den
        != before * engine->frame_num / engine->frame_den)
      latent_voices_next_frame (engine->voices);
  }
}

/* Audio class: the host's real-time thread; never allocates, locks or waits. */
static void
midi_run (LV2_Handle instance, uint32_t n_samples)
{
  after_run (instance, n_samples, midi_fill);
}

const LV2_Descriptor latent_lv2_after_midi_descriptor = {
  LATENT_LV2_URI "after-midi", midi_instantiate, midi_connect_port, after_activate, midi_run,
  after_deactivate, after_cleanup, after_extension_data,
};
