/* urn:latent:terrain: an instrument. The `x` and `y` controls walk a Latent Terrain (an
 * nn_terrain .pt checkpoint), and a decoder model's `decode` turns the terrain's latents into
 * mono audio.
 *
 * run() only smooths x and y per sample (one pole, so a jump in a control is no click and the
 * result does not depend on the host's block pattern) and pushes them at audio rate into a
 * LatentRtStream (core/latent-rt.h). The stream's worker thread, owned by the plugin, runs one
 * block at a time (core's terrain stream, latent_rt_terrain_stream_open): per latent frame the
 * terrain at the coordinate of the frame's centre, then the decoder on those frames (the decoder
 * interpolates between frames).
 *
 * Files: two patch:writable atom:Path parameters, urn:latent:terrain#terrain and
 * urn:latent:terrain#model, set by patch:Set on the control port, loaded as a pair off the audio
 * thread (host worker, else the plugin's own thread), saved with state; the shared model-file
 * code (plugin-engines.h, LatentLv2ModelFile) keeps the choices, which pair to try (a new file
 * beside the other one asked for last, then beside the one playing), state and the latency
 * mode, as for the other plugins. Without a choice:
 * <bundle>/models/terrain-gm.pt and <bundle>/models/rave-gm.ts ($LATENT_LV2_DEFAULT_TERRAIN and
 * $LATENT_LV2_DEFAULT_MODEL override them). A file that fails to load or a terrain whose latent
 * dims differ from the decoder's leaves the previous pair playing and is logged; a decoder at
 * another rate than the host's is resampled (core/latent-rt.h). A new pair takes over as in
 * rave.c: it is fed alongside the old one until its own latency has passed, so the output has
 * no gap. */
#include "latent.h"
#include "plugin-engines.h"

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

/* Beside the takeover's and LATENT_LV2_JOB_RELOAD (plugin-engines.h). */
enum { JOB_LOAD_MODEL = 1, JOB_LOAD_TERRAIN };
/* The file parameters (LatentLv2ModelFile): the decoder is parameter 0 (the engine's path),
 * the terrain parameter 1 (its terrain_path). */
enum { FILE_MODEL, FILE_TERRAIN };

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

  LatentLv2Takeover engines; /* current, incoming, retired */
  LatentLv2ModelFile files;  /* the decoder and the terrain, loaded as a pair */

  float sx, sy, smooth; /* smoothed coordinates, one-pole coefficient */
  gboolean smooth_started;
  float coords[SCRATCH * 2];

  LatentLv2Paths paths; /* the engines' file paths */
} Terrain;

/* -------------------------------------------------------------- engine */

/* Off the audio thread: load both files, check that they fit, warm up, start the worker. */
static Engine *
engine_load (Terrain *self, const char *terrain_path, const char *model_path, GError **error)
{
  int threads = latent_lv2_control_int (self->threads, 1, 1, 64);
  LatentRtLatency mode = latent_lv2_model_file_latency (&self->files);
  LatentRtStream *rt = latent_rt_terrain_stream_open (terrain_path, model_path, self->rate,
      self->host.max_block, threads, mode,
      latent_lv2_model_file_margin_hint (&self->files, mode), error);
  if (!rt)
    return NULL;
  latent_lv2_model_file_margin_used (&self->files, rt);
  Engine *engine = g_new0 (Engine, 1);
  engine->rt = rt;
  engine->latency = latent_rt_stream_get_latency (rt);
  engine->terrain_path = latent_lv2_paths_intern (&self->paths, terrain_path);
  engine->path = latent_lv2_paths_intern (&self->paths, model_path);
  return engine;
}

/* Loader side (worker, activate, restore): loads a decoder and terrain pair; on success it
 * is the pair asked for and playing (latent_lv2_model_file_set_loaded). */
static Engine *
load_set (Terrain *self, const LatentLv2FileSet *set)
{
  const char *model_path = set->paths[FILE_MODEL], *terrain_path = set->paths[FILE_TERRAIN];
  GError *error = NULL;
  Engine *engine = engine_load (self, terrain_path, model_path, &error);
  if (!engine) {
    lv2_log_error (&self->host.logger, "latent terrain: cannot use terrain %s with decoder "
        "%s: %s; %s\n", terrain_path, model_path, error ? error->message : "unknown error",
        set->last_try ? "keeping the previous pair" : "trying with the file playing now");
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
  latent_lv2_model_file_set_loaded (&self->files, set);
  return engine;
}

/* Worker thread: a load job's pairs (latent_lv2_model_file_plan), tried until one loads. */
static Engine *
load_job (Terrain *self, const LatentLv2Job *job)
{
  LatentLv2FileSet sets[2];
  int n = latent_lv2_model_file_plan (&self->files, job->kind, job->text, sets);
  Engine *engine = NULL;
  for (int i = 0; i < n && !engine; i++)
    engine = load_set (self, &sets[i]);
  return engine;
}

/* --------------------------------------------------------------- worker */

/* Worker thread (the host's, or the plugin's stand-in): loads a terrain or decoder (paired
 * with the other file), the playing pair again in a new latency mode, or does a takeover job
 * (frees a replaced engine, logs). */
static LV2_Worker_Status
work (LV2_Handle instance, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  Terrain *self = instance;
  LatentLv2Job job;
  if (!latent_lv2_job_read (size, data, &job))
    return LV2_WORKER_ERR_UNKNOWN;
  if (job.kind != JOB_LOAD_MODEL && job.kind != JOB_LOAD_TERRAIN
      && job.kind != LATENT_LV2_JOB_RELOAD)
    return latent_lv2_takeover_work (&self->engines, &job);
  return latent_lv2_respond_engine (respond, handle, job.kind, load_job (self, &job));
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
  latent_lv2_model_file_loaded (&self->files, reply.engine);
  return LV2_WORKER_SUCCESS;
}

static const LV2_Worker_Interface worker_interface = { work, work_response, NULL };

/* ------------------------------------------------------------ lifecycle */

/* Instantiation class: a non-real-time thread, no other call on this instance meanwhile. */
static LV2_Handle
instantiate (const LV2_Descriptor *descriptor, double rate, const char *bundle_path,
    const LV2_Feature *const *features)
{
  Terrain *self = g_new0 (Terrain, 1);
  latent_lv2_host_init (&self->host, bundle_path, features);
  self->rate = rate;
  if (self->host.map) {
    LV2_URID_Map *map = self->host.map;
    self->terrain_urid = map->map (map->handle, TERRAIN_FILE_URI);
    self->model_urid = map->map (map->handle, TERRAIN_MODEL_URI);
    lv2_atom_forge_init (&self->forge, map);
  }
  latent_lv2_paths_init (&self->paths);
  const char *env = g_getenv (DEFAULT_TERRAIN_ENV);
  char *terrain = env && *env ? g_strdup (env)
      : g_build_filename (self->host.bundle_path, "models", DEFAULT_TERRAIN_FILE, NULL);
  self->smooth = (float) (1.0 - exp (-1.0 / (SMOOTH_SECONDS * rate)));
  latent_lv2_worker_init (&self->worker, &self->host, self, &worker_interface);
  latent_lv2_takeover_init (&self->engines, &self->worker, "terrain");
  latent_lv2_model_file_init (&self->files, &self->engines, self->model_urid, JOB_LOAD_MODEL,
      latent_lv2_default_model (&self->host, DEFAULT_MODEL_FILE));
  latent_lv2_model_file_add (&self->files, self->terrain_urid, JOB_LOAD_TERRAIN, terrain);
  return self;
}

/* Audio class: the audio thread (or any thread before activate()); only stores the pointer. */
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
    case PORT_LATENCY_MODE: self->files.latency_port = data; break;
  }
}

/* Instantiation class: a non-real-time thread, run() not running; may load (blocks). */
static void
activate (LV2_Handle instance)
{
  Terrain *self = instance;
  if (latent_lv2_model_file_activate (&self->files)) {
    const LatentLv2FileSet defaults = { { self->files.files[FILE_MODEL].default_path,
        self->files.files[FILE_TERRAIN].default_path }, true };
    latent_lv2_model_file_activated (&self->files, load_set (self, &defaults));
  }
  self->smooth_started = FALSE;
}

/* Instantiation class: a non-real-time thread, run() not running. */
static void
deactivate (LV2_Handle instance)
{
  Terrain *self = instance;
  self->files.active = false;
}

/* Instantiation class: a non-real-time thread, run() not running; joins and frees. */
static void
cleanup (LV2_Handle instance)
{
  Terrain *self = instance;
  latent_lv2_worker_clear (&self->worker);
  latent_lv2_takeover_clear (&self->engines);
  latent_lv2_paths_clear (&self->paths);
  latent_lv2_model_file_clear (&self->files);
  latent_lv2_host_clear (&self->host);
  g_free (self);
}

/* ---------------------------------------------------------------- run() */

static inline float
control_value (const float *port, float fallback)
{
  return port && isfinite (*port) ? *port : fallback;
}

/* Audio class: the host's real-time thread; never allocates, locks or waits. */
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
  latent_lv2_model_file_check_latency (&self->files);

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

/* A non-real-time thread, possibly while run() runs (LV2 state): reads atomics only. */
static LV2_State_Status
save (LV2_Handle instance, LV2_State_Store_Function store, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Terrain *self = instance;
  return latent_lv2_model_file_save (&self->files, store, handle, features);
}

/* Instantiation class, or beside run() on a non-real-time thread (state:threadSafeRestore). */
static LV2_State_Status
restore (LV2_Handle instance, LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Terrain *self = instance;
  LatentLv2Restore load = latent_lv2_model_file_restore (&self->files, retrieve, handle,
      features);
  if (!load.path)
    return load.status;
  const LatentLv2FileSet set = { { load.paths[FILE_MODEL], load.paths[FILE_TERRAIN] }, true };
  return latent_lv2_model_file_restored (&self->files, &load, load_set (self, &set));
}

/* Discovery class: any thread, any time. */
static const void *
extension_data (const char *uri)
{
  static const LV2_State_Interface state = { save, restore };
  return latent_lv2_extension_data (uri, &state, &worker_interface);
}

const LV2_Descriptor latent_lv2_terrain_descriptor = {
  TERRAIN_URI, instantiate, connect_port, activate, run, deactivate, cleanup, extension_data,
};
