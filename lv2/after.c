/* urn:latent:after: AFTER timbre transfer as an audio effect. The main input is the
 * structure, the sidechain input (lv2:isSideChain) the timbre; controls steps, guidance
 * structure and guidance timbre. Also the engine shared with urn:latent:after-midi
 * (lv2/after-midi.c, lv2/after-plugin.h).
 *
 * The model (an AFTER export, core/latent-after.h) runs on a LatentRtStream's worker
 * thread, one chunk (chunk * ratio samples) at a time: update_timbre from the sidechain (or
 * set_timbre from the timbre controls), set_steps / set_guidance when the controls changed,
 * render. run() only copies samples through the stream's lock-free rings, so the plugin
 * reports the stream's latency (B + max(B, H)). Model file: the patch:writable parameter
 * urn:latent:after#model (after-midi: urn:latent:after-midi#model), loaded off the audio
 * thread (host worker, else the plugin's own thread), saved with state. Without a choice:
 * $LATENT_LV2_DEFAULT_AFTER (after-midi: $LATENT_LV2_DEFAULT_AFTER_MIDI), else
 * <bundle>/models/after-gm.ts (after-gm-midi.ts). A new model with the same latency takes
 * over without a gap (lv2/plugin-engines.h). A bad file or a model of the other kind leaves
 * the previous model running and is logged. A model at another rate than the host's is
 * resampled on the stream's worker (core/latent-rt.h; MIDI voice channels held, not
 * filtered), its delay included in the latency port.
 *
 * Timbre sources (control timbre_source): 0 the sidechain audio, 1 the timbre controls, 2 a
 * timbre terrain walked with x and y, 3 the model's own 2-D timbre map (map2latent) walked with
 * x and y. run() smooths x and y per sample (one pole, 10 ms, as urn:latent:terrain) and feeds
 * them through the stream beside the audio (held, not filtered, when resampled); the worker
 * takes their mean over each chunk. The terrain (an nn_terrain .pt over the model's timbre
 * space: latent dims = timbre dims) is the patch:writable parameter urn:latent:after#timbre_terrain
 * (after-midi: urn:latent:after-midi#timbre_terrain), loaded off the audio thread and saved with
 * state; without a choice <bundle>/models/timbre-gm.pt (after-midi: timbre-gm-midi.pt;
 * $LATENT_LV2_DEFAULT_TIMBRE_TERRAIN / $LATENT_LV2_DEFAULT_TIMBRE_TERRAIN_MIDI override). A bad
 * file or one whose dims are not the model's timbre dims keeps the previous terrain (logged);
 * with no usable terrain (or no map in the model) the timbre stays what it was. */
#include "after-plugin.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { JOB_LOAD = 1, JOB_LOAD_TERRAIN }; /* beside the takeover's jobs (plugin-engines.h) */
#define SMOOTH_SECONDS 0.01

/* ----------------------------------------------------- worker-side processor */

typedef struct {
  AfterPlugin *plugin; /* its atomics only: the settings */
  LatentAfter *after;
  LatentAfterKind kind;
  int block, chunk, ratio, n_poly, n_timbre, in_channels;
  float *structure, *timbre_audio, *planar;
  int xy_channel;                     /* x, then y: the last two input channels */
  bool has_map;                       /* the model has a usable map2latent */
  LatentTerrainWorkspace *workspace;  /* for the timbre terrain; worker only */
  const AfterTimbreTerrain *workspace_for;
} AfterWork;

static void
work_free (gpointer data)
{
  AfterWork *w = data;
  latent_after_free (w->after);
  g_free (w->structure);
  g_free (w->timbre_audio);
  g_free (w->planar);
  latent_terrain_workspace_free (w->workspace);
  g_free (w);
}

/* The timbre from x and y (their mean over the chunk): on the model's map, or through the
 * timbre terrain when one fits the model. */
static gboolean
work_timbre_from_xy (AfterWork *w, const float *in, int block, int source, GError **error)
{
  LatentAfterMean mean = { 0 };
  float xy[2];
  latent_after_mean_add (&mean, in + w->xy_channel, block, w->in_channels, 2);
  latent_after_mean_take (&mean, xy);
  if (source == AFTER_SOURCE_MAP)
    return !w->has_map || latent_after_set_timbre_point (w->after, xy, 2, TRUE, error);
  const AfterTimbreTerrain *terrain = atomic_load (&w->plugin->timbre_terrain);
  if (!terrain || terrain->dims != w->n_timbre)
    return TRUE;
  if (w->workspace_for != terrain) { /* a new terrain: its own workspace (worker thread) */
    const LatentTerrainConfig *tc = latent_terrain_get_config (terrain->terrain);
    if (!w->workspace || !latent_terrain_workspace_fits (w->workspace, tc)) {
      latent_terrain_workspace_free (w->workspace);
      w->workspace = latent_terrain_workspace_new (tc);
    }
    w->workspace_for = terrain;
  }
  latent_after_set_timbre_from_terrain (w->after, terrain->terrain, w->workspace, xy, 2);
  return TRUE;
}

/* One block: in [block][in_channels] (audio: structure, timbre; MIDI: timbre, voices). */
static gboolean
work_process (gpointer data, const float *in, float *out, int block, GError **error)
{
  AfterWork *w = data;
  AfterPlugin *p = w->plugin;
  if (!latent_after_apply_settings (w->after, CLAMP (atomic_load (&p->set_steps), 1,
          LATENT_AFTER_MAX_STEPS), atomic_load (&p->set_structure),
          atomic_load (&p->set_timbre_guidance), error))
    return FALSE;
  const int c = w->in_channels;
  const int source = atomic_load (&p->set_source);
  if (source == AFTER_SOURCE_SIDECHAIN) {
    int fill = 0; /* a block is one chunk: each call completes one */
    if (!latent_after_feed_timbre_audio (w->after, w->timbre_audio, &fill,
            in + (w->kind == LATENT_AFTER_AUDIO ? 1 : 0), block, c, error))
      return FALSE;
  } else if (source == AFTER_SOURCE_CONTROLS) {
    float timbre[AFTER_TIMBRE_CONTROLS];
    for (int i = 0; i < AFTER_TIMBRE_CONTROLS; i++)
      timbre[i] = atomic_load (&p->set_timbre[i]);
    latent_after_set_timbre (w->after, timbre, MIN (w->n_timbre, AFTER_TIMBRE_CONTROLS));
  } else if (!work_timbre_from_xy (w, in, block, source, error)) {
    return FALSE;
  }
  if (w->kind == LATENT_AFTER_AUDIO) {
    int fill = 0;
    latent_after_gather (w->structure, &fill, block, in, block, c);
    return latent_after_render (w->after, w->structure, out, error);
  }
  /* MIDI rows: timbre audio, then pitch and velocity per voice (lv2/after-midi.c). */
  latent_voices_reduce_rows (w->n_poly, in, c, 1, w->ratio, w->chunk, w->planar);
  return latent_after_render (w->after, w->planar, out, error);
}

static gboolean
work_reset (gpointer data, GError **error)
{
  AfterWork *w = data;
  return latent_after_reset (w->after, error);
}

static void
work_set_threads (gpointer data, int threads)
{
  AfterWork *w = data;
  latent_after_set_threads (w->after, threads);
}

/* ------------------------------------------------------------------ engines */

/* Off the audio thread: the worker's state for a checked model (owns `after`). */
static AfterWork *
work_new (AfterPlugin *self, LatentAfter *after, const char *path)
{
  const LatentAfterInfo *info = latent_after_get_info (after);
  AfterWork *w = g_new0 (AfterWork, 1);
  w->plugin = self;
  w->after = after;
  w->kind = info->kind;
  w->block = latent_after_get_block (after);
  w->chunk = info->chunk;
  w->ratio = info->ratio;
  w->n_poly = info->n_poly;
  w->n_timbre = info->timbre_dims;
  w->in_channels = (info->kind == LATENT_AFTER_AUDIO ? 2 : 1 + 2 * info->n_poly) + 2;
  w->xy_channel = w->in_channels - 2;
  w->has_map = latent_after_has_map (after);
  atomic_store (&self->timbre_dims, info->timbre_dims);
  const AfterTimbreTerrain *terrain = atomic_load (&self->timbre_terrain);
  if (terrain && terrain->dims != info->timbre_dims)
    lv2_log_note (&self->host.logger, "latent %s: the timbre terrain %s gives %d dims, the "
        "model %s has %d timbre dims: the terrain timbre source holds the last timbre until "
        "a fitting terrain is set\n", self->name, terrain->path, terrain->dims, path,
        info->timbre_dims);
  w->structure = g_new0 (float, w->block);
  w->timbre_audio = g_new0 (float, w->block);
  w->planar = g_new0 (float, (gsize) w->chunk * 2 * MAX (1, w->n_poly));
  return w;
}

/* Off the audio thread: core's AFTER recipe (latent_after_open: open, check, chunk, warm up),
 * then the stream whose worker runs it (the host's rate checked against the model's, a
 * difference resampled). */
static AfterEngine *
engine_load (AfterPlugin *self, const char *path, bool is_default, GError **error)
{
  int threads = latent_lv2_control_int (self->threads, 1, 1, 64);
  LatentAfter *after = latent_after_open (path, threads, error);
  if (!after)
    return NULL;
  const LatentAfterInfo *info = latent_after_get_info (after);
  const char *kinds[] = { "audio", "MIDI" };
  if (info->kind != self->kind) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD, "%s: an AFTER model with %s "
        "structure; urn:latent:%s needs one with %s structure", path, kinds[info->kind],
        self->name, kinds[self->kind]);
    latent_after_free (after);
    return NULL;
  }
  AfterWork *w = work_new (self, after, path);
  AfterEngine *engine = g_new0 (AfterEngine, 1);
  engine->ratio = w->ratio;
  /* Latent frame boundaries in host frames: frame floor(fed * num / den). */
  engine->frame_num = latent_rt_rates_differ (info->sample_rate, self->rate)
      ? info->sample_rate : 1;
  engine->frame_den = engine->frame_num == 1 ? w->ratio
      : (int64_t) llround (self->rate) * w->ratio;
  engine->n_poly = w->n_poly;
  engine->in_channels = w->in_channels;
  if (info->kind == LATENT_AFTER_MIDI)
    engine->voices = latent_voices_new (info->n_poly);
  LatentRtProcessor processor = {
    .block = w->block,
    .in_channels = w->in_channels,
    .out_channels = 1,
    .process = work_process,
    .reset = work_reset,
    .set_threads = work_set_threads,
    .user_data = w,
    .destroy = work_free,
    .model = latent_after_get_model (w->after),
  };
  LatentRtConfig config = {
    .latency = latent_lv2_model_file_latency (&self->model),
    .margin_hint = latent_lv2_model_file_margin_hint (&self->model,
        latent_lv2_model_file_latency (&self->model)),
    .max_host_block = self->host.max_block,
    .rate = self->rate,
    .threads = threads,
    .model_rate = info->sample_rate, /* resampled on the worker when it differs */
    /* MIDI: the voices' pitch and velocity channels (all but the timbre audio) are held;
     * x and y too. */
    .hold_channels = (info->kind == LATENT_AFTER_MIDI
        ? (((uint64_t) 1 << w->in_channels) - 1) & ~(uint64_t) 1 : 0)
        | (uint64_t) 3 << w->xy_channel,
  };
  engine->rt = latent_rt_stream_new_custom (&processor, &config, error);
  if (!engine->rt) {
    latent_lv2_engine_free (engine);
    return NULL;
  }
  engine->latency = latent_rt_stream_get_latency (engine->rt);
  latent_lv2_model_file_margin_used (&self->model, engine->rt);
  engine->path = latent_lv2_paths_intern (&self->paths, path);
  engine->is_default = is_default;
  return engine;
}

/* Worker thread, activate() or restore(): engine_load, logged. */
static AfterEngine *
load_logged (AfterPlugin *self, const char *path, bool is_default)
{
  GError *error = NULL;
  AfterEngine *engine = engine_load (self, path, is_default, &error);
  return latent_lv2_model_file_log_load (&self->model, path, engine, error);
}

/* ------------------------------------------------------------ timbre terrain */

/* Off the audio thread: loads a timbre terrain; it replaces the previous one only when it loads
 * and fits the model's timbre dims (else logged, the previous one stays). */
static void
load_timbre_terrain (AfterPlugin *self, const char *path, bool chosen)
{
  GError *error = NULL;
  LatentTerrain *terrain = latent_terrain_load (path, &error);
  int dims = atomic_load (&self->timbre_dims);
  if (terrain && dims > 0 && latent_terrain_get_config (terrain)->latent_dims != dims) {
    g_set_error (&error, LATENT_ERROR, LATENT_ERROR_SHAPE, "%s: the terrain gives %d dims but "
        "the model's timbre has %d", path, latent_terrain_get_config (terrain)->latent_dims,
        dims);
    g_clear_pointer (&terrain, latent_terrain_free);
  }
  if (!terrain) {
    lv2_log_error (&self->host.logger, "latent %s: cannot use timbre terrain: %s (the previous "
        "timbre terrain stays)\n", self->name, error->message);
    g_error_free (error);
    return;
  }
  AfterTimbreTerrain *t = g_new0 (AfterTimbreTerrain, 1);
  t->terrain = terrain;
  t->path = latent_lv2_paths_intern (&self->paths, path);
  t->dims = latent_terrain_get_config (terrain)->latent_dims;
  g_mutex_lock (&self->terrain_lock);
  g_ptr_array_add (self->terrains, t);
  g_mutex_unlock (&self->terrain_lock);
  atomic_store (&self->timbre_terrain, t);
  if (chosen) {
    atomic_store (&self->terrain_chosen, t->path);
    atomic_store (&self->terrain_announce, true);
  }
  lv2_log_note (&self->host.logger, "latent %s: timbre terrain %s (%d dims)\n", self->name,
      path, t->dims);
}

static void
timbre_terrain_free (gpointer data)
{
  AfterTimbreTerrain *t = data;
  latent_terrain_free (t->terrain);
  g_free (t);
}

/* ------------------------------------------------------------------- worker */

/* Worker thread (the host's, or the plugin's stand-in): loads a model or a timbre terrain, or
 * does a takeover job (frees a replaced engine, logs). */
static LV2_Worker_Status
work (LV2_Handle instance, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  AfterPlugin *self = instance;
  LatentLv2Job job;
  if (!latent_lv2_job_read (size, data, &job))
    return LV2_WORKER_ERR_UNKNOWN;
  if (job.kind == JOB_LOAD_TERRAIN) {
    load_timbre_terrain (self, job.text, true); /* the workers see it at once: no reply */
    return LV2_WORKER_SUCCESS;
  }
  if (job.kind != JOB_LOAD)
    return latent_lv2_takeover_work (&self->engines, &job);
  bool is_default = latent_lv2_model_file_is_default (&self->model, job.text);
  return latent_lv2_respond_engine (respond, handle, job.kind,
      load_logged (self, job.text, is_default));
}

/* Audio thread (inside run(), or the host's work_response): a model load finished; the new
 * model takes over without a gap (plugin-engines.h). */
static LV2_Worker_Status
work_response (LV2_Handle instance, uint32_t size, const void *body)
{
  AfterPlugin *self = instance;
  LatentLv2Reply reply;
  if (!latent_lv2_reply_read (size, body, &reply))
    return LV2_WORKER_ERR_UNKNOWN;
  latent_lv2_model_file_loaded (&self->model, reply.engine);
  return LV2_WORKER_SUCCESS;
}

static const LV2_Worker_Interface worker_interface = { work, work_response, NULL };

/* ---------------------------------------------------------------- lifecycle */

/* Instantiation class: a non-real-time thread, no other call on this instance meanwhile. */
LV2_Handle
after_instantiate (LatentAfterKind kind, double rate, const char *bundle_path,
    const LV2_Feature *const *features)
{
  AfterPlugin *self = g_new0 (AfterPlugin, 1);
  self->kind = kind;
  self->name = kind == LATENT_AFTER_AUDIO ? "after" : "after-midi";
  latent_lv2_host_init (&self->host, bundle_path, features);
  self->rate = rate;
  if (self->host.map) {
    char *uri = g_strdup_printf (LATENT_LV2_URI "%s#model", self->name);
    self->model_urid = self->host.map->map (self->host.map->handle, uri);
    g_free (uri);
    uri = g_strdup_printf (LATENT_LV2_URI "%s#timbre_terrain", self->name);
    self->terrain_urid = self->host.map->map (self->host.map->handle, uri);
    g_free (uri);
    self->midi_event = self->host.map->map (self->host.map->handle,
        "http://lv2plug.in/ns/ext/midi#MidiEvent");
    lv2_atom_forge_init (&self->forge, self->host.map);
  }
  latent_lv2_paths_init (&self->paths);
  const char *env = g_getenv (kind == LATENT_AFTER_AUDIO ? "LATENT_LV2_DEFAULT_AFTER"
      : "LATENT_LV2_DEFAULT_AFTER_MIDI");
  char *default_path = env && *env ? g_strdup (env) : g_build_filename (bundle_path
      ? bundle_path : ".", "models", kind == LATENT_AFTER_AUDIO ? "after-gm.ts"
      : "after-gm-midi.ts", NULL);
  g_mutex_init (&self->terrain_lock);
  self->terrains = g_ptr_array_new_with_free_func (timbre_terrain_free);
  self->smooth = (float) (1.0 - exp (-1.0 / (SMOOTH_SECONDS * rate)));
  const char *terrain_env = g_getenv (kind == LATENT_AFTER_AUDIO
      ? "LATENT_LV2_DEFAULT_TIMBRE_TERRAIN" : "LATENT_LV2_DEFAULT_TIMBRE_TERRAIN_MIDI");
  self->default_terrain = terrain_env && *terrain_env ? g_strdup (terrain_env)
      : g_build_filename (bundle_path ? bundle_path : ".", "models", kind == LATENT_AFTER_AUDIO
          ? "timbre-gm.pt" : "timbre-gm-midi.pt", NULL);
  if (g_file_test (self->default_terrain, G_FILE_TEST_EXISTS))
    load_timbre_terrain (self, self->default_terrain, false); /* small: loads in milliseconds */
  atomic_store (&self->set_steps, 4);
  atomic_store (&self->set_structure, 1.0f);
  atomic_store (&self->set_timbre_guidance, 1.0f);
  atomic_store (&self->set_source, kind == LATENT_AFTER_AUDIO ? 0 : 1);
  latent_lv2_worker_init (&self->worker, &self->host, self, &worker_interface);
  latent_lv2_takeover_init (&self->engines, &self->worker, self->name);
  latent_lv2_model_file_init (&self->model, &self->engines, self->model_urid, JOB_LOAD,
      default_path);
  return self;
}

/* Settings from the control ports, for the worker (also before the first block). */
static void
publish_settings (AfterPlugin *self)
{
  if (self->steps && isfinite (*self->steps))
    atomic_store (&self->set_steps, latent_lv2_control_int (self->steps, 1, 1,
            LATENT_AFTER_MAX_STEPS));
  if (self->guidance_structure && isfinite (*self->guidance_structure))
    atomic_store (&self->set_structure, *self->guidance_structure);
  if (self->guidance_timbre && isfinite (*self->guidance_timbre))
    atomic_store (&self->set_timbre_guidance, *self->guidance_timbre);
  if (self->timbre_source && isfinite (*self->timbre_source))
    atomic_store (&self->set_source, latent_lv2_control_int (self->timbre_source,
            AFTER_SOURCE_SIDECHAIN, AFTER_SOURCE_SIDECHAIN, AFTER_SOURCE_MAP));
  for (int i = 0; i < AFTER_TIMBRE_CONTROLS; i++)
    if (self->timbre[i] && isfinite (*self->timbre[i]))
      atomic_store (&self->set_timbre[i], *self->timbre[i]);
}

/* Instantiation class: a non-real-time thread, run() not running; may load (blocks). */
void
after_activate (LV2_Handle instance)
{
  AfterPlugin *self = instance;
  publish_settings (self);
  if (latent_lv2_model_file_activate (&self->model))
    latent_lv2_model_file_activated (&self->model,
        load_logged (self, self->model.default_path, true));
  AfterEngine *cur = self->engines.current;
  if (cur) {
    cur->fed = 0;
    if (cur->voices)
      latent_voices_all_off (cur->voices);
  }
}

/* Instantiation class: a non-real-time thread, run() not running. */
void
after_deactivate (LV2_Handle instance)
{
  AfterPlugin *self = instance;
  self->model.active = false;
}

/* Instantiation class: a non-real-time thread, run() not running; joins and frees. */
void
after_cleanup (LV2_Handle instance)
{
  AfterPlugin *self = instance;
  latent_lv2_worker_clear (&self->worker);
  latent_lv2_takeover_clear (&self->engines);
  latent_lv2_paths_clear (&self->paths);
  latent_lv2_model_file_clear (&self->model);
  g_ptr_array_unref (self->terrains);
  g_mutex_clear (&self->terrain_lock);
  g_free (self->default_terrain);
  latent_lv2_host_clear (&self->host);
  g_free (self);
}

/* -------------------------------------------------------------------- run() */

/* Audio class: the host's real-time thread; never allocates, locks or waits. */
void
after_run (AfterPlugin *self, uint32_t n_samples,
    void (*fill) (AfterPlugin *self, AfterEngine *engine, uint32_t done, uint32_t n))
{
  latent_lv2_worker_deliver (&self->worker);
  latent_lv2_takeover_begin_run (&self->engines);
  gboolean can_notify = latent_lv2_notify_begin (&self->host, &self->forge,
      &self->notify_frame, self->notify);
  const LV2_URID files[] = { self->model_urid, self->terrain_urid };
  latent_lv2_read_file_messages (&self->host, &self->worker, &self->forge, self->control,
      files, (const uint32_t[]) { JOB_LOAD, JOB_LOAD_TERRAIN }, 2, &self->engines.announce);
  latent_lv2_model_file_check_latency (&self->model);
  publish_settings (self);

  LatentLv2Takeover *engines = &self->engines;
  if (self->threads)
    latent_lv2_takeover_set_threads (engines, latent_lv2_control_int (self->threads, 1, 1, 64));
  LatentRtWait wait = self->freewheel && *self->freewheel > 0.5f ? LATENT_RT_WAIT_ALWAYS
      : LATENT_RT_WAIT_AUTO;
  const float target_x = self->x && isfinite (*self->x) ? *self->x : 0.0f;
  const float target_y = self->y && isfinite (*self->y) ? *self->y : 0.0f;
  if (!self->smooth_started) { /* start where the controls are, not at a ramp from 0 */
    self->sx = target_x;
    self->sy = target_y;
    self->smooth_started = true;
  }
  for (uint32_t done = 0; done < n_samples;) {
    uint32_t n = MIN (n_samples - done, AFTER_SCRATCH);
    for (uint32_t i = 0; i < n; i++) {
      self->sx += self->smooth * (target_x - self->sx);
      self->sy += self->smooth * (target_y - self->sy);
      self->xy_buf[2 * i] = self->sx;
      self->xy_buf[2 * i + 1] = self->sy;
    }
    AfterEngine *cur = engines->current;
    AfterEngine *next = engines->incoming;
    if (cur) {
      /* Both engines read the inputs before out is written: hosts may run in place. */
      fill (self, cur, done, n);
      latent_rt_stream_process (cur->rt, self->in_buf, self->out_buf, NULL, n, wait);
      if (next) {
        fill (self, next, done, n);
        latent_rt_stream_process (next->rt, self->in_buf, engines->incoming_out, NULL, n, wait);
        latent_lv2_takeover_mix (engines, self->out_buf, n);
      }
      memcpy (self->out + done, self->out_buf, sizeof (float) * n);
    } else {
      memset (self->out + done, 0, sizeof (float) * n);
    }
    done += n;
  }

  latent_lv2_takeover_sanitize (engines, self->out, n_samples);
  latent_lv2_takeover_report (engines, self->latency, self->underruns);
  AfterEngine *cur = engines->current;
  /* The timbre terrain (before the model: hosts that keep one path keep the model's). */
  const AfterTimbreTerrain *terrain = atomic_load (&self->timbre_terrain);
  if (can_notify && terrain && (atomic_exchange (&self->terrain_announce, false)
          || (engines->announce && cur)))
    latent_lv2_write_patch_set (&self->host, &self->forge, self->terrain_urid, terrain->path);
  if (can_notify && engines->announce && cur) {
    latent_lv2_write_patch_set (&self->host, &self->forge, self->model_urid, cur->path);
    engines->announce = false;
  }
  if (can_notify)
    lv2_atom_forge_pop (&self->forge, &self->notify_frame);
}

/* -------------------------------------------------------------------- state */

/* A non-real-time thread, possibly while run() runs (LV2 state): reads atomics only. */
static LV2_State_Status
save (LV2_Handle instance, LV2_State_Store_Function store, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  AfterPlugin *self = instance;
  LV2_State_Status status = latent_lv2_model_file_save (&self->model, store, handle, features);
  if (status != LV2_STATE_SUCCESS)
    return status;
  return latent_lv2_state_store_path (&self->host, store, handle, features, self->terrain_urid,
      atomic_load (&self->terrain_chosen));
}

/* Instantiation class, or beside run() on a non-real-time thread (state:threadSafeRestore). */
static LV2_State_Status
restore (LV2_Handle instance, LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  AfterPlugin *self = instance;
  /* The timbre terrain first (small, no model call: loaded here, in any thread, as the
   * workers only ever see a whole terrain); none stored: the default. */
  char *terrain = latent_lv2_state_retrieve_path (&self->host, retrieve, handle, features,
      self->terrain_urid);
  if (terrain)
    load_timbre_terrain (self, terrain, true);
  else if (atomic_load (&self->terrain_chosen)
      && g_file_test (self->default_terrain, G_FILE_TEST_EXISTS)) {
    load_timbre_terrain (self, self->default_terrain, false);
    atomic_store (&self->terrain_chosen, NULL);
  }
  g_free (terrain);
  LatentLv2Restore load = latent_lv2_model_file_restore (&self->model, retrieve, handle,
      features);
  if (!load.path)
    return load.status;
  return latent_lv2_model_file_restored (&self->model, &load,
      load_logged (self, load.path, load.is_default));
}

/* Discovery class: any thread, any time. */
const void *
after_extension_data (const char *uri)
{
  static const LV2_State_Interface state = { save, restore };
  return latent_lv2_extension_data (uri, &state, &worker_interface);
}

/* ------------------------------------------------------ urn:latent:after */

enum {
  AUDIO_PORT_STRUCTURE,
  AUDIO_PORT_TIMBRE,
  AUDIO_PORT_OUT,
  AUDIO_PORT_CONTROL,
  AUDIO_PORT_NOTIFY,
  AUDIO_PORT_STEPS,
  AUDIO_PORT_GUIDANCE_STRUCTURE,
  AUDIO_PORT_GUIDANCE_TIMBRE,
  AUDIO_PORT_THREADS,
  AUDIO_PORT_FREEWHEEL,
  AUDIO_PORT_LATENCY,
  AUDIO_PORT_UNDERRUNS,
  AUDIO_PORT_TIMBRE_SOURCE,
  AUDIO_PORT_TIMBRE0,
  AUDIO_PORT_X = AUDIO_PORT_TIMBRE0 + AFTER_TIMBRE_CONTROLS,
  AUDIO_PORT_Y,
  AUDIO_PORT_LATENCY_MODE, /* 0 low, 1 safe (core/latent-rt.h) */
};

/* Instantiation class: a non-real-time thread, no other call on this instance meanwhile. */
static LV2_Handle
audio_instantiate (const LV2_Descriptor *descriptor, double rate, const char *bundle_path,
    const LV2_Feature *const *features)
{
  return after_instantiate (LATENT_AFTER_AUDIO, rate, bundle_path, features);
}

/* Audio class: the audio thread (or any thread before activate()); only stores the pointer. */
static void
audio_connect_port (LV2_Handle instance, uint32_t port, void *data)
{
  AfterPlugin *self = instance;
  switch (port) {
    case AUDIO_PORT_STRUCTURE: self->structure = data; break;
    case AUDIO_PORT_TIMBRE: self->timbre_audio = data; break;
    case AUDIO_PORT_OUT: self->out = data; break;
    case AUDIO_PORT_CONTROL: self->control = data; break;
    case AUDIO_PORT_NOTIFY: self->notify = data; break;
    case AUDIO_PORT_STEPS: self->steps = data; break;
    case AUDIO_PORT_GUIDANCE_STRUCTURE: self->guidance_structure = data; break;
    case AUDIO_PORT_GUIDANCE_TIMBRE: self->guidance_timbre = data; break;
    case AUDIO_PORT_THREADS: self->threads = data; break;
    case AUDIO_PORT_FREEWHEEL: self->freewheel = data; break;
    case AUDIO_PORT_LATENCY: self->latency = data; break;
    case AUDIO_PORT_UNDERRUNS: self->underruns = data; break;
    case AUDIO_PORT_TIMBRE_SOURCE: self->timbre_source = data; break;
    case AUDIO_PORT_X: self->x = data; break;
    case AUDIO_PORT_Y: self->y = data; break;
    case AUDIO_PORT_LATENCY_MODE: self->model.latency_port = data; break;
    default:
      if (port >= AUDIO_PORT_TIMBRE0 && port < AUDIO_PORT_TIMBRE0 + AFTER_TIMBRE_CONTROLS)
        self->timbre[port - AUDIO_PORT_TIMBRE0] = data;
  }
}

/* Interleaves structure, timbre (a missing sidechain is silence), x and y. */
static void
audio_fill (AfterPlugin *self, AfterEngine *engine, uint32_t done, uint32_t n)
{
  for (uint32_t i = 0; i < n; i++) {
    float *row = self->in_buf + 4 * i;
    row[0] = self->structure ? self->structure[done + i] : 0.0f;
    row[1] = self->timbre_audio ? self->timbre_audio[done + i] : 0.0f;
    row[2] = self->xy_buf[2 * i];
    row[3] = self->xy_buf[2 * i + 1];
  }
}

/* Audio class: the host's real-time thread; never allocates, locks or waits. */
static void
audio_run (LV2_Handle instance, uint32_t n_samples)
{
  after_run (instance, n_samples, audio_fill);
}

const LV2_Descriptor latent_lv2_after_descriptor = {
  LATENT_LV2_URI "after", audio_instantiate, audio_connect_port, after_activate, audio_run,
  after_deactivate, after_cleanup, after_extension_data,
};
