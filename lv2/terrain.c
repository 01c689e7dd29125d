/* urn:latent:terrain: an instrument. The `x` and `y` controls walk a Latent Terrain (an
 * nn_terrain .pt checkpoint), and a decoder model's `decode` turns the terrain's latents into
 * mono audio.
 *
 * run() only smooths x and y per sample (one pole, so a jump in a control is no click and the
 * result does not depend on the host's block pattern) and pushes them at audio rate into a
 * LatentRtStream (core/latent-rt.h). The stream's worker thread, owned by the plugin, runs one
 * block at a time (lv2/terrain-voice.c): per latent frame the terrain at the frame's mean
 * coordinate, then the decoder on those frames (the decoder interpolates between frames).
 *
 * Files: two patch:writable atom:Path parameters, urn:latent:terrain#terrain and
 * urn:latent:terrain#model, set by patch:Set on the control port, loaded as a pair off the audio
 * thread (host worker, else the plugin's own thread), saved with state. Without a choice:
 * <bundle>/models/terrain-gm.pt and <bundle>/models/rave-gm.ts ($LATENT_LV2_DEFAULT_TERRAIN and
 * $LATENT_LV2_DEFAULT_MODEL override them). A file that fails to load or a terrain whose latent
 * dims differ from the decoder's leaves the previous pair playing and is logged; a decoder at
 * another rate than the host's is resampled (terrain-voice.h). A new pair takes over as in rave.c: it is fed alongside
 * the old one until its own latency has passed, so the output has no gap. */
#include "plugin-engines.h"
#include "terrain-voice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TERRAIN_URI LATENT_LV2_URI "terrain"
#define TERRAIN_FILE_URI TERRAIN_URI "#terrain"
#define TERRAIN_MODEL_URI TERRAIN_URI "#model"
#define DEFAULT_TERRAIN_FILE "terrain-gm.pt"
#define DEFAULT_MODEL_FILE "rave-gm.ts"
#define DEFAULT_TERRAIN_ENV "LATENT_LV2_DEFAULT_TERRAIN"
#define SCRATCH LATENT_LV2_SCRATCH
#define SMOOTH_SECONDS 0.01

enum {
  PORT_OUT,
  PORT_CONTROL,
  PORT_NOTIFY,
  PORT_X,
  PORT_Y,
  PORT_THREADS,
  PORT_FREEWHEEL,
  PORT_LATENCY,
  PORT_UNDERRUNS,
  PORT_LATENCY_MODE, /* 0 low, 1 safe (core/latent-rt.h) */
  N_PORTS,
};

/* Beside the takeover's (plugin-engines.h); JOB_RELOAD: the active pair in a new latency mode. */
enum { JOB_LOAD_TERRAIN = 1, JOB_LOAD_MODEL, JOB_RELOAD };

/* A terrain and a decoder, ready to run (plugin-engines.h): terrain_path, and path the
 * decoder, both interned in Terrain.paths. */
typedef LatentLv2Engine Engine;

typedef struct {
  LatentLv2Host host;
  LatentLv2Worker worker;
  LV2_URID terrain_urid, model_urid;
  LV2_Atom_Forge forge;
  LV2_Atom_Forge_Frame notify_frame;
  double rate;

  float *out;
  const LV2_Atom_Sequence *control;
  LV2_Atom_Sequence *notify;
  const float *x, *y, *threads, *freewheel;
  float *latency, *underruns;
  const float *latency_mode;
  _Atomic int mode; /* the latency mode loads use */
  _Atomic int margin[2]; /* per mode: the margin the last load used (LatentRtConfig) */
  int mode_asked;   /* audio thread: the mode last asked for */

  LatentLv2Takeover engines; /* current, incoming, retired */

  float sx, sy, smooth; /* smoothed coordinates, one-pole coefficient */
  gboolean smooth_started;
  float coords[SCRATCH * 2];

  /* Loader side (job threads, restore, activate; never the audio thread). */
  LatentLv2Paths paths;
  GMutex load_lock; /* guards wanted_* and active_* */
  const char *wanted_terrain, *wanted_model; /* last requested, even if refused */
  const char *active_terrain, *active_model; /* the pair last loaded */
  const char *default_terrain, *default_model;
  /* Chosen by the user (saved); NULL: the default. Written by loaders, read by save(). */
  _Atomic (const char *) chosen_terrain, chosen_model;
} Terrain;

/* -------------------------------------------------------------- engine */

/* Off the audio thread: load both files, check that they fit, warm up, start the worker. */
static Engine *
engine_load (Terrain *self, const char *terrain_path, const char *model_path, GError **error)
{
  int threads = latent_lv2_control_int (self->threads, 1, 1, 64);
  LatentRtLatency mode = (LatentRtLatency) atomic_load (&self->mode);
  LatentRtStream *rt = latent_lv2_terrain_stream_new (terrain_path, model_path, self->rate,
      self->host.max_block, threads, mode, atomic_load (&self->margin[mode ? 1 : 0]), error);
  if (!rt)
    return NULL;
  atomic_store (&self->margin[mode ? 1 : 0], latent_rt_stream_get_margin (rt));
  Engine *engine = g_new0 (Engine, 1);
  engine->rt = rt;
  engine->latency = latent_rt_stream_get_latency (rt);
  engine->terrain_path = latent_lv2_paths_intern (&self->paths, terrain_path);
  engine->path = latent_lv2_paths_intern (&self->paths, model_path);
  return engine;
}

/* Loader side: loads a pair and, on success, makes it the active one. `last_try`: no other
 * pair will be tried after a failure (says what the log line says). */
static Engine *
load_pair (Terrain *self, const char *terrain_path, const char *model_path, gboolean last_try)
{
  GError *error = NULL;
  Engine *engine = engine_load (self, terrain_path, model_path, &error);
  if (!engine) {
    lv2_log_error (&self->host.logger, "latent terrain: cannot use terrain %s with decoder "
        "%s: %s; %s\n", terrain_path, model_path, error ? error->message : "unknown error",
        last_try ? "keeping the previous pair" : "trying with the file playing now");
    g_clear_error (&error);
    return NULL;
  }
  LatentRtStream *rt = engine->rt;
  lv2_log_note (&self->host.logger, "latent terrain: terrain %s, decoder %s (latency %d "
      "frames) [%s: block %d, margin %d, resampling %d; slowest warm-up step %.0f us]\n",
      terrain_path, model_path, engine->latency,
      latent_rt_stream_get_latency_mode (rt) ? "low" : "safe", latent_rt_stream_get_block (rt),
      latent_rt_stream_get_margin (rt), latent_rt_stream_get_resample_delay (rt),
      latent_rt_stream_get_measured_step_us (rt));
  g_mutex_lock (&self->load_lock);
  self->active_terrain = self->wanted_terrain = engine->terrain_path;
  self->active_model = self->wanted_model = engine->path;
  g_mutex_unlock (&self->load_lock);
  atomic_store (&self->chosen_terrain,
      strcmp (engine->terrain_path, self->default_terrain) ? engine->terrain_path : NULL);
  atomic_store (&self->chosen_model,
      strcmp (engine->path, self->default_model) ? engine->path : NULL);
  return engine;
}

/* A new terrain (or decoder) was asked for: pair it with the decoder (terrain) asked for last,
 * and if that fails, with the one playing (the last request may have been refused). */
static Engine *
load_request (Terrain *self, gboolean is_terrain, const char *path)
{
  const char *interned = latent_lv2_paths_intern (&self->paths, path);
  g_mutex_lock (&self->load_lock);
  const char **wanted = is_terrain ? &self->wanted_terrain : &self->wanted_model;
  *wanted = interned;
  const char *other_wanted = is_terrain ? self->wanted_model : self->wanted_terrain;
  const char *other_active = is_terrain ? self->active_model : self->active_terrain;
  g_mutex_unlock (&self->load_lock);
  gboolean fallback = other_active && other_active != other_wanted;
  Engine *engine = is_terrain ? load_pair (self, interned, other_wanted, !fallback)
      : load_pair (self, other_wanted, interned, !fallback);
  if (!engine && fallback)
    engine = is_terrain ? load_pair (self, interned, other_active, TRUE)
        : load_pair (self, other_active, interned, TRUE);
  return engine;
}

/* --------------------------------------------------------------- worker */

/* Worker thread (the host's, or the plugin's stand-in): loads a terrain or decoder (paired
 * with the other file), the active pair again in a new latency mode, or does a takeover job
 * (frees a replaced engine, logs). */
static LV2_Worker_Status
work (LV2_Handle instance, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  Terrain *self = instance;
  LatentLv2Job job;
  if (!latent_lv2_job_read (size, data, &job))
    return LV2_WORKER_ERR_UNKNOWN;
  Engine *engine = NULL;
  if (job.kind == JOB_LOAD_TERRAIN || job.kind == JOB_LOAD_MODEL) {
    engine = load_request (self, job.kind == JOB_LOAD_TERRAIN, job.text);
  } else if (job.kind == JOB_RELOAD) {
    g_mutex_lock (&self->load_lock);
    const char *terrain = self->active_terrain, *model = self->active_model;
    g_mutex_unlock (&self->load_lock);
    engine = terrain && model ? load_pair (self, terrain, model, TRUE) : NULL;
  } else {
    return latent_lv2_takeover_work (&self->engines, &job);
  }
  return latent_lv2_respond_engine (respond, handle, job.kind, engine);
}

/* Audio thread (inside run(), or the host's work_response): a pair loaded; it takes over
 * without a gap. */
static LV2_Worker_Status
work_response (LV2_Handle instance, uint32_t size, const void *body)
{
  Terrain *self = instance;
  LatentLv2Reply reply;
  if (!latent_lv2_reply_read (size, body, &reply))
    return LV2_WORKER_ERR_UNKNOWN;
  latent_lv2_takeover_offer (&self->engines, reply.engine);
  return LV2_WORKER_SUCCESS;
}

static const LV2_Worker_Interface worker_interface = { work, work_response, NULL };

/* ------------------------------------------------------------ lifecycle */

static LV2_Handle
instantiate (const LV2_Descriptor *descriptor, double rate, const char *bundle_path,
    const LV2_Feature *const *features)
{
  Terrain *self = g_new0 (Terrain, 1);
  latent_lv2_host_init (&self->host, bundle_path, features);
  self->rate = rate;
  self->mode_asked = LATENT_RT_LATENCY_LOW; /* as the port's default; restore may load first */
  atomic_store (&self->mode, LATENT_RT_LATENCY_LOW);
  if (self->host.map) {
    LV2_URID_Map *map = self->host.map;
    self->terrain_urid = map->map (map->handle, TERRAIN_FILE_URI);
    self->model_urid = map->map (map->handle, TERRAIN_MODEL_URI);
    lv2_atom_forge_init (&self->forge, map);
  }
  g_mutex_init (&self->load_lock);
  latent_lv2_paths_init (&self->paths);
  char *model = latent_lv2_default_model (&self->host, DEFAULT_MODEL_FILE);
  const char *env = g_getenv (DEFAULT_TERRAIN_ENV);
  char *terrain = env && *env ? g_strdup (env)
      : g_build_filename (self->host.bundle_path, "models", DEFAULT_TERRAIN_FILE, NULL);
  self->default_terrain = latent_lv2_paths_intern (&self->paths, terrain);
  self->default_model = latent_lv2_paths_intern (&self->paths, model);
  self->wanted_terrain = self->default_terrain;
  self->wanted_model = self->default_model;
  g_free (terrain);
  g_free (model);
  self->smooth = (float) (1.0 - exp (-1.0 / (SMOOTH_SECONDS * rate)));
  latent_lv2_worker_init (&self->worker, &self->host, self, &worker_interface);
  latent_lv2_takeover_init (&self->engines, &self->worker, "terrain");
  return self;
}

static void
connect_port (LV2_Handle instance, uint32_t port, void *data)
{
  Terrain *self = instance;
  switch (port) {
    case PORT_OUT: self->out = data; break;
    case PORT_CONTROL: self->control = data; break;
    case PORT_NOTIFY: self->notify = data; break;
    case PORT_X: self->x = data; break;
    case PORT_Y: self->y = data; break;
    case PORT_THREADS: self->threads = data; break;
    case PORT_FREEWHEEL: self->freewheel = data; break;
    case PORT_LATENCY: self->latency = data; break;
    case PORT_UNDERRUNS: self->underruns = data; break;
    case PORT_LATENCY_MODE: self->latency_mode = data; break;
  }
}

static void
activate (LV2_Handle instance)
{
  Terrain *self = instance;
  GError *error = NULL;
  if (!self->engines.current) {
    self->mode_asked = latent_lv2_latency_mode (self->latency_mode);
    atomic_store (&self->mode, self->mode_asked);
    Engine *engine = load_pair (self, self->default_terrain, self->default_model, TRUE);
    if (engine)
      latent_lv2_takeover_replace (&self->engines, engine);
  } else if (!latent_lv2_takeover_restart (&self->engines, &error)) {
    lv2_log_error (&self->host.logger, "latent terrain: reset: %s\n", error->message);
    g_clear_error (&error);
  }
  self->smooth_started = FALSE;
}

static void
deactivate (LV2_Handle instance)
{
}

static void
cleanup (LV2_Handle instance)
{
  Terrain *self = instance;
  latent_lv2_worker_clear (&self->worker);
  latent_lv2_takeover_clear (&self->engines);
  latent_lv2_paths_clear (&self->paths);
  g_mutex_clear (&self->load_lock);
  latent_lv2_host_clear (&self->host);
  g_free (self);
}

/* ---------------------------------------------------------------- run() */

static inline float
control_value (const float *port, float fallback)
{
  return port && isfinite (*port) ? *port : fallback;
}

static void
run (LV2_Handle instance, uint32_t n_samples)
{
  Terrain *self = instance;
  latent_lv2_worker_deliver (&self->worker);
  latent_lv2_takeover_begin_run (&self->engines);

  gboolean can_notify = latent_lv2_notify_begin (&self->host, &self->forge,
      &self->notify_frame, self->notify);
  const LV2_URID files[] = { self->terrain_urid, self->model_urid };
  const uint32_t loads[] = { JOB_LOAD_TERRAIN, JOB_LOAD_MODEL };
  latent_lv2_read_file_messages (&self->host, &self->worker, &self->forge, self->control, files,
      loads, 2, &self->engines.announce);
  int mode = latent_lv2_latency_mode (self->latency_mode);
  if (mode != self->mode_asked) { /* reload the pair in the new mode; takes over gap-free */
    atomic_store (&self->mode, mode);
    if (!self->engines.current
        || latent_lv2_worker_schedule (&self->worker, NULL, JOB_RELOAD, NULL, NULL))
      self->mode_asked = mode;
  }

  if (self->threads)
    latent_lv2_takeover_set_threads (&self->engines,
        latent_lv2_control_int (self->threads, 1, 1, 64));

  LatentRtWait wait = self->freewheel && *self->freewheel > 0.5f ? LATENT_RT_WAIT_ALWAYS
      : LATENT_RT_WAIT_AUTO;
  const float target_x = control_value (self->x, 0), target_y = control_value (self->y, 0);
  if (!self->smooth_started) { /* start where the controls are, not at a ramp from 0 */
    self->sx = target_x;
    self->sy = target_y;
    self->smooth_started = TRUE;
  }

  uint32_t done = 0;
  while (done < n_samples) {
    uint32_t n = MIN (n_samples - done, SCRATCH);
    float *out = self->out + done;
    float sx = self->sx, sy = self->sy;
    const float a = self->smooth;
    for (uint32_t i = 0; i < n; i++) {
      sx += a * (target_x - sx);
      sy += a * (target_y - sy);
      self->coords[2 * i] = sx;
      self->coords[2 * i + 1] = sy;
    }
    self->sx = sx;
    self->sy = sy;
    if (self->engines.current)
      latent_lv2_takeover_process (&self->engines, self->coords, out, NULL, n, wait);
    else
      memset (out, 0, sizeof (float) * n);
    done += n;
  }

  latent_lv2_takeover_sanitize (&self->engines, self->out, n_samples);
  latent_lv2_takeover_report (&self->engines, self->latency, self->underruns);
  const Engine *cur = self->engines.current;
  if (can_notify && self->engines.announce && cur) {
    latent_lv2_write_patch_set (&self->host, &self->forge, self->terrain_urid,
        cur->terrain_path);
    latent_lv2_write_patch_set (&self->host, &self->forge, self->model_urid, cur->path);
    self->engines.announce = false;
  }
  if (can_notify)
    lv2_atom_forge_pop (&self->forge, &self->notify_frame);
}

/* ---------------------------------------------------------------- state */

static LV2_State_Status
save (LV2_Handle instance, LV2_State_Store_Function store, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Terrain *self = instance;
  if (!self->host.map)
    return LV2_STATE_ERR_NO_FEATURE;
  LV2_State_Status status = latent_lv2_state_store_path (&self->host, store, handle, features,
      self->terrain_urid, atomic_load (&self->chosen_terrain));
  if (status != LV2_STATE_SUCCESS)
    return status;
  return latent_lv2_state_store_path (&self->host, store, handle, features, self->model_urid,
      atomic_load (&self->chosen_model));
}

static LV2_State_Status
restore (LV2_Handle instance, LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Terrain *self = instance;
  if (!self->host.map)
    return LV2_STATE_ERR_NO_FEATURE;
  /* A key not saved: the default file. */
  char *terrain = latent_lv2_state_retrieve_path (&self->host, retrieve, handle, features,
      self->terrain_urid);
  char *model = latent_lv2_state_retrieve_path (&self->host, retrieve, handle, features,
      self->model_urid);
  if (!terrain)
    terrain = g_strdup (self->default_terrain);
  if (!model)
    model = g_strdup (self->default_model);
  /* restore() is in the instantiation class (no threadSafeRestore): run() is not running,
   * so load synchronously and swap directly, as the LV2 book's eg-sampler does. */
  const Engine *cur = self->engines.current;
  if (cur && !strcmp (cur->terrain_path, terrain) && !strcmp (cur->path, model)) {
    g_free (terrain);
    g_free (model);
    return LV2_STATE_SUCCESS;
  }
  Engine *engine = load_pair (self, terrain, model, TRUE);
  g_free (terrain);
  g_free (model);
  if (!engine)
    return LV2_STATE_ERR_UNKNOWN;
  latent_lv2_takeover_replace (&self->engines, engine);
  self->engines.announce = true;
  return LV2_STATE_SUCCESS;
}

static const void *
extension_data (const char *uri)
{
  static const LV2_State_Interface state = { save, restore };
  return latent_lv2_extension_data (uri, &state, &worker_interface);
}

const LV2_Descriptor latent_lv2_terrain_descriptor = {
  TERRAIN_URI, instantiate, connect_port, activate, run, deactivate, cleanup, extension_data,
};
