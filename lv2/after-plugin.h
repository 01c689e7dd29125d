/* Shared by urn:latent:after (lv2/after.c: audio structure + sidechain timbre) and
 * urn:latent:after-midi (lv2/after-midi.c: MIDI structure, timbre from a sidechain or from
 * controls): an AFTER model (core/latent-after.h) driven block by block on a LatentRtStream's
 * worker (latent_rt_stream_new_custom), model file through patch:Set and state, latency on a
 * reportsLatency port. */
#ifndef LATENT_LV2_AFTER_PLUGIN_H
#define LATENT_LV2_AFTER_PLUGIN_H

#include "plugin-engines.h"
#include "latent.h"

#define AFTER_TIMBRE_CONTROLS 6
#define AFTER_SCRATCH 256 /* <= LATENT_LV2_SCRATCH */
/* Interleaved input channels at most: timbre audio + 2 per voice + x, y. */
#define AFTER_MAX_IN (1 + 2 * LATENT_AFTER_MAX_POLY + 2)

/* Timbre sources (the timbre_source control). */
enum {
  AFTER_SOURCE_SIDECHAIN,
  AFTER_SOURCE_CONTROLS,
  AFTER_SOURCE_TERRAIN, /* x, y on the timbre terrain (urn:latent:after#timbre_terrain) */
  AFTER_SOURCE_MAP,     /* x, y on the model's own 2-D timbre map (map2latent) */
};

/* A timbre terrain loaded off the audio thread; kept until cleanup (the workers may hold it). */
typedef struct {
  LatentTerrain *terrain;
  const char *path; /* interned */
  int dims;         /* latent dims = the timbre dims it is for */
} AfterTimbreTerrain;

/* A loaded model and its stream (plugin-engines.h: the fields past `is_default` are the AFTER
 * plugins'). */
typedef LatentLv2Engine AfterEngine;

typedef struct {
  LatentLv2Worker worker;
  LatentAfterKind kind;
  const char *name; /* "after" or "after-midi", for messages */
  LatentLv2Host host;
  LV2_URID model_urid, terrain_urid;
  LV2_URID midi_event;
  LV2_Atom_Forge forge;
  LV2_Atom_Forge_Frame notify_frame;
  double rate;

  /* Ports (NULL when not connected or not part of this plugin). */
  const float *structure, *timbre_audio;
  float *out;
  const LV2_Atom_Sequence *control;
  LV2_Atom_Sequence *notify;
  const float *steps, *guidance_structure, *guidance_timbre, *threads, *freewheel;
  const float *timbre_source, *timbre[AFTER_TIMBRE_CONTROLS], *x, *y;
  float *latency, *underruns;

  LatentLv2Takeover engines; /* current, incoming, retired */
  LatentLv2ModelFile model;

  /* Settings from the control ports, read by the worker before each block. */
  _Atomic int set_steps, set_source;
  _Atomic float set_structure, set_timbre_guidance, set_timbre[AFTER_TIMBRE_CONTROLS];

  /* Timbre terrain: the one the workers use (NULL: none usable yet), every one loaded (freed
   * at cleanup; loaders only, under terrain_lock), the user's choice (saved; NULL: the
   * default), and the current model's timbre dims (0 before the first load). */
  _Atomic (AfterTimbreTerrain *) timbre_terrain;
  GPtrArray *terrains;
  GMutex terrain_lock;
  _Atomic (const char *) terrain_chosen;
  char *default_terrain;
  _Atomic int timbre_dims;
  _Atomic bool terrain_announce; /* a terrain was chosen: send its path on the notify port */
  /* x, y smoothed per sample (one pole) in run(), fed to the stream beside the audio. */
  float sx, sy, smooth;
  bool smooth_started;
  float xy_buf[AFTER_SCRATCH * 2];

  float in_buf[AFTER_SCRATCH * AFTER_MAX_IN], out_buf[AFTER_SCRATCH];

  LatentLv2Paths paths;
} AfterPlugin;

LV2_Handle after_instantiate (LatentAfterKind kind, double rate, const char *bundle_path,
    const LV2_Feature *const *features);
void after_activate (LV2_Handle instance);
void after_deactivate (LV2_Handle instance);
void after_cleanup (LV2_Handle instance);
const void *after_extension_data (const char *uri);
/* run(): messages, engine swaps, settings; then `fill` writes n interleaved input frames
 * (engine->in_channels each) for frames [done, done + n) into in_buf, once per engine
 * running (two while a new model takes over). */
void after_run (AfterPlugin *self, uint32_t n_samples,
    void (*fill) (AfterPlugin *self, AfterEngine *engine, uint32_t done, uint32_t n));

#endif
