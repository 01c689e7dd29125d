/* Model engines of the latent.lv2 plugins (see plugin-engines.h). */
#include "plugin-engines.h"

#include <string.h>

/* ------------------------------------------------------------------ paths */

void
latent_lv2_paths_init (LatentLv2Paths *paths)
{
  g_mutex_init (&paths->lock);
  paths->strings = g_ptr_array_new_with_free_func (g_free);
}

void
latent_lv2_paths_clear (LatentLv2Paths *paths)
{
  g_ptr_array_unref (paths->strings);
  g_mutex_clear (&paths->lock);
}

const char *
latent_lv2_paths_intern (LatentLv2Paths *paths, const char *path)
{
  g_mutex_lock (&paths->lock);
  const char *found = NULL;
  for (guint i = 0; i < paths->strings->len && !found; i++)
    if (!strcmp (paths->strings->pdata[i], path))
      found = paths->strings->pdata[i];
  if (!found) {
    found = g_strdup (path);
    g_ptr_array_add (paths->strings, (gpointer) found);
  }
  g_mutex_unlock (&paths->lock);
  return found;
}

/* ----------------------------------------------------------------- engine */

void
latent_lv2_engine_free (LatentLv2Engine *engine)
{
  if (!engine)
    return;
  if (engine->rt)
    latent_rt_stream_free (engine->rt);
  if (engine->voices)
    latent_voices_free (engine->voices);
  g_free (engine);
}

LV2_Worker_Status
latent_lv2_respond_engine (LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t kind, LatentLv2Engine *engine)
{
  if (!engine)
    return LV2_WORKER_SUCCESS;
  LatentLv2Reply reply = { kind, engine };
  if (respond (handle, sizeof reply, &reply) == LV2_WORKER_SUCCESS)
    return LV2_WORKER_SUCCESS;
  latent_lv2_engine_free (engine); /* not delivered: at shutdown, not the audio thread */
  return LV2_WORKER_ERR_NO_SPACE;
}

/* --------------------------------------------------------------- takeover */

void
latent_lv2_takeover_init (LatentLv2Takeover *takeover, LatentLv2Worker *worker,
    const char *name)
{
  memset (takeover, 0, sizeof *takeover);
  takeover->worker = worker;
  takeover->name = name;
}

LV2_Worker_Status
latent_lv2_takeover_work (LatentLv2Takeover *takeover, const LatentLv2Job *job)
{
  if (job->kind == LATENT_LV2_JOB_FREE_ENGINE) {
    latent_lv2_engine_free (job->ptr);
    return LV2_WORKER_SUCCESS;
  }
  if (job->kind == LATENT_LV2_JOB_LOG_ERROR) {
    lv2_log_error (&takeover->worker->host->logger, "latent %s: %s\n", takeover->name,
        job->text);
    return LV2_WORKER_SUCCESS;
  }
  return LV2_WORKER_ERR_UNKNOWN;
}

void
latent_lv2_takeover_hand_over (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  latent_lv2_engine_free (atomic_exchange (&takeover->handed, engine));
}

void
latent_lv2_takeover_clear (LatentLv2Takeover *takeover)
{
  latent_lv2_engine_free (atomic_exchange (&takeover->handed, NULL));
  latent_lv2_engine_free (takeover->current);
  latent_lv2_engine_free (takeover->incoming);
  for (int i = 0; i < LATENT_LV2_RETIRED_SLOTS; i++)
    latent_lv2_engine_free (takeover->retired[i]);
  takeover->current = takeover->incoming = NULL;
  memset (takeover->retired, 0, sizeof takeover->retired);
}

void
latent_lv2_takeover_replace (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  latent_lv2_engine_free (takeover->incoming);
  takeover->incoming = NULL;
  latent_lv2_engine_free (takeover->current);
  takeover->current = engine;
  takeover->error_logged = false;
}

bool
latent_lv2_takeover_restart (LatentLv2Takeover *takeover, GError **error)
{
  latent_lv2_engine_free (takeover->incoming);
  takeover->incoming = NULL;
  takeover->error_logged = false;
  return !takeover->current || latent_rt_stream_reset (takeover->current->rt, error);
}

/* Audio thread: a job for the takeover's worker (false: the queue is full). */
static bool
schedule (LatentLv2Takeover *takeover, uint32_t kind, const char *text, void *ptr)
{
  return latent_lv2_worker_schedule (takeover->worker, NULL, kind, text, ptr);
}

/* Audio thread: frees `engine` through a job, or parks it until a job slot opens. */
static void
retire (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  if (!engine || schedule (takeover, LATENT_LV2_JOB_FREE_ENGINE, NULL, engine))
    return;
  for (int i = 0; i < LATENT_LV2_RETIRED_SLOTS; i++)
    if (!takeover->retired[i]) {
      takeover->retired[i] = engine;
      return;
    }
  /* Nowhere to put it: leak rather than free on the audio thread. */
}

static void
make_current (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  retire (takeover, takeover->current);
  takeover->current = engine;
  takeover->error_logged = false;
  takeover->announce = true;
}

void
latent_lv2_takeover_begin_run (LatentLv2Takeover *takeover)
{
  if (atomic_load_explicit (&takeover->handed, memory_order_relaxed)) {
    LatentLv2Engine *handed = atomic_exchange (&takeover->handed, NULL);
    if (handed)
      latent_lv2_takeover_offer (takeover, handed);
  }
  for (int i = 0; i < LATENT_LV2_RETIRED_SLOTS; i++)
    if (takeover->retired[i] && schedule (takeover, LATENT_LV2_JOB_FREE_ENGINE, NULL,
            takeover->retired[i]))
      takeover->retired[i] = NULL;
  LatentLv2Engine *cur = takeover->current;
  if (cur && !takeover->non_finite_logged && latent_rt_stream_get_non_finite (cur->rt)) {
    takeover->non_finite_logged = schedule (takeover, LATENT_LV2_JOB_LOG_ERROR, "the model returned NaN or Inf values: they were replaced "
        "by 0 and its state reset; further ones are replaced without another message", NULL);
  }
  if (cur && !takeover->error_logged) {
    const char *err = latent_rt_stream_get_error (cur->rt);
    if (err) {
      schedule (takeover, LATENT_LV2_JOB_LOG_ERROR, err, NULL);
      takeover->error_logged = true;
    }
  }
}

void
latent_lv2_takeover_offer (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  retire (takeover, takeover->incoming); /* a newer load replaces one still taking over */
  takeover->incoming = NULL;
  if (!takeover->current) {
    make_current (takeover, engine);
  } else {
    takeover->incoming = engine; /* announced when it takes over */
    takeover->incoming_fed = 0;
  }
}

void
latent_lv2_takeover_mix (LatentLv2Takeover *takeover, float *out, uint32_t n)
{
  LatentLv2Engine *next = takeover->incoming;
  if (!next)
    return;
  /* The new engine's output starts once its own latency has passed. */
  for (uint32_t i = 0; i < n; i++)
    if (takeover->incoming_fed + i >= next->latency)
      out[i] = takeover->incoming_out[i];
  takeover->incoming_fed += n;
  if (takeover->incoming_fed >= next->latency) {
    takeover->incoming = NULL;
    make_current (takeover, next);
  }
}

void
latent_lv2_takeover_process (LatentLv2Takeover *takeover, const float *in, float *out,
    float *dry, uint32_t n, LatentRtWait wait)
{
  latent_rt_stream_process (takeover->current->rt, in, out, dry, n, wait);
  if (takeover->incoming) {
    latent_rt_stream_process (takeover->incoming->rt, in, takeover->incoming_out, NULL, n,
        wait);
    latent_lv2_takeover_mix (takeover, out, n);
  }
}

void
latent_lv2_takeover_set_threads (LatentLv2Takeover *takeover, int threads)
{
  if (takeover->current)
    latent_rt_stream_set_threads (takeover->current->rt, threads);
  if (takeover->incoming)
    latent_rt_stream_set_threads (takeover->incoming->rt, threads);
}

void
latent_lv2_takeover_sanitize (LatentLv2Takeover *takeover, float *out, uint32_t n)
{
  const size_t replaced = latent_replace_non_finite (out, n);
  if (!replaced || takeover->non_finite_logged)
    return;
  char text[200];
  snprintf (text, sizeof text, "%zu non-finite output samples (NaN or Inf, from the input, a "
      "control or the model) were replaced by 0; further ones are replaced without another "
      "message", replaced);
  takeover->non_finite_logged = schedule (takeover, LATENT_LV2_JOB_LOG_ERROR, text, NULL);
}

void
latent_lv2_takeover_report (const LatentLv2Takeover *takeover, float *latency,
    float *underruns)
{
  const LatentLv2Engine *cur = takeover->current;
  if (latency)
    *latency = cur ? (float) cur->latency : 0.0f;
  if (underruns)
    *underruns = cur ? (float) latent_rt_stream_get_underruns (cur->rt) : 0.0f;
}

/* ------------------------------------------------------------- model file */

static void
param_init (LatentLv2ModelFile *file, LV2_URID key, uint32_t job_load, char *default_path)
{
  LatentLv2FileParam *param = &file->files[file->n_files++];
  param->key = key;
  param->job_load = job_load;
  param->default_path = default_path;
  param->wanted = latent_lv2_paths_intern (&file->names, default_path);
}

void
latent_lv2_model_file_init (LatentLv2ModelFile *file, LatentLv2Takeover *engines, LV2_URID key,
    uint32_t job_load, char *default_path)
{
  memset (file, 0, sizeof *file);
  file->engines = engines;
  g_mutex_init (&file->lock);
  latent_lv2_paths_init (&file->names);
  param_init (file, key, job_load, default_path);
  file->default_path = default_path;
  file->latency_asked = LATENT_RT_LATENCY_LOW;
  atomic_store (&file->latency_mode, LATENT_RT_LATENCY_LOW);
}

void
latent_lv2_model_file_add (LatentLv2ModelFile *file, LV2_URID key, uint32_t job_load,
    char *default_path)
{
  g_assert (file->n_files < LATENT_LV2_MAX_FILES);
  param_init (file, key, job_load, default_path);
}

void
latent_lv2_model_file_clear (LatentLv2ModelFile *file)
{
  for (int i = 0; i < file->n_files; i++)
    g_clear_pointer (&file->files[i].default_path, g_free);
  file->default_path = NULL;
  latent_lv2_paths_clear (&file->names);
  g_mutex_clear (&file->lock);
}

/* File parameter i's path in `engine`. */
static const char *
engine_file (const LatentLv2Engine *engine, int i)
{
  return i == 0 ? engine->path : engine->terrain_path;
}

/* What save() stores for parameter i when `path` plays: nothing for the default. */
static const char *
file_choice (const LatentLv2FileParam *param, const char *path)
{
  return path && strcmp (path, param->default_path) ? path : NULL;
}

static void
store_choices (LatentLv2ModelFile *file, const LatentLv2Engine *engine)
{
  for (int i = 0; i < file->n_files; i++)
    atomic_store (&file->files[i].chosen, file_choice (&file->files[i], engine_file (engine, i)));
}

int
latent_lv2_model_file_plan (LatentLv2ModelFile *file, uint32_t kind, const char *text,
    LatentLv2FileSet sets[2])
{
  int asked = -1;
  for (int i = 0; i < file->n_files; i++)
    if (kind == file->files[i].job_load)
      asked = i;
  if (asked < 0 && kind != LATENT_LV2_JOB_RELOAD)
    return 0;
  g_mutex_lock (&file->lock);
  if (asked >= 0)
    file->files[asked].wanted = latent_lv2_paths_intern (&file->names, text);
  bool fallback = false;
  for (int i = 0; i < file->n_files; i++) {
    const LatentLv2FileParam *param = &file->files[i];
    sets[0].paths[i] = asked < 0 ? param->loaded : param->wanted;
    sets[1].paths[i] = i == asked ? param->wanted : param->loaded;
    fallback |= i != asked && param->loaded && param->loaded != param->wanted;
  }
  g_mutex_unlock (&file->lock);
  fallback &= asked >= 0;
  sets[0].last_try = !fallback;
  sets[1].last_try = true;
  for (int i = 0; i < file->n_files; i++)
    if (!sets[0].paths[i]) /* a reload before anything loaded */
      return 0;
  return fallback ? 2 : 1;
}

void
latent_lv2_model_file_set_loaded (LatentLv2ModelFile *file, const LatentLv2FileSet *set)
{
  g_mutex_lock (&file->lock);
  for (int i = 0; i < file->n_files; i++) {
    const char *name = latent_lv2_paths_intern (&file->names, set->paths[i]);
    file->files[i].wanted = file->files[i].loaded = name;
  }
  g_mutex_unlock (&file->lock);
}

static LatentLv2Host *
file_host (LatentLv2ModelFile *file)
{
  return file->engines->worker->host;
}

bool
latent_lv2_model_file_is_default (const LatentLv2ModelFile *file, const char *path)
{
  return !strcmp (path, file->files[0].default_path);
}

LatentLv2Engine *
latent_lv2_model_file_log_load (LatentLv2ModelFile *file, const char *path,
    LatentLv2Engine *engine, GError *error)
{
  LV2_Log_Logger *logger = &file_host (file)->logger;
  if (!engine) {
    lv2_log_error (logger, "latent %s: cannot use model %s: %s\n", file->engines->name, path,
        error ? error->message : "unknown error");
    g_clear_error (&error);
    return NULL;
  }
  LatentRtStream *rt = engine->rt;
  lv2_log_note (logger, "latent %s: model %s (latency %d frames) [%s: block %d, margin %d, "
      "resampling %d; slowest warm-up step %.0f us; worker %s]\n", file->engines->name, path,
      engine->latency, latent_rt_stream_get_latency_mode (rt) ? "low" : "safe",
      latent_rt_stream_get_block (rt), latent_rt_stream_get_margin (rt),
      latent_rt_stream_get_resample_delay (rt), latent_rt_stream_get_measured_step_us (rt),
      latent_rt_stream_get_worker_fifo (rt) ? "SCHED_FIFO" : "not real-time");
  g_clear_error (&error);
  return engine;
}

void
latent_lv2_model_file_loaded (LatentLv2ModelFile *file, LatentLv2Engine *engine)
{
  latent_lv2_takeover_offer (file->engines, engine);
  store_choices (file, engine);
}

LatentRtLatency
latent_lv2_latency_mode (const float *port)
{
  return port && *port >= 0.5f ? LATENT_RT_LATENCY_SAFE : LATENT_RT_LATENCY_LOW;
}

LatentRtLatency
latent_lv2_model_file_latency (LatentLv2ModelFile *file)
{
  return (LatentRtLatency) atomic_load (&file->latency_mode);
}

int
latent_lv2_model_file_margin_hint (LatentLv2ModelFile *file, LatentRtLatency mode)
{
  return atomic_load (&file->margin[mode ? 1 : 0]);
}

void
latent_lv2_model_file_margin_used (LatentLv2ModelFile *file, const LatentRtStream *rt)
{
  atomic_store (&file->margin[latent_rt_stream_get_latency_mode (rt) ? 1 : 0],
      latent_rt_stream_get_margin (rt));
}

void
latent_lv2_model_file_check_latency (LatentLv2ModelFile *file)
{
  int want = latent_lv2_latency_mode (file->latency_port);
  if (want == file->latency_asked)
    return;
  atomic_store (&file->latency_mode, want);
  const LatentLv2Engine *cur = file->engines->current;
  if (!cur) {
    file->latency_asked = want; /* the next load uses it */
    return;
  }
  /* One file: load it again; several: the plugin loads the ones playing again. */
  uint32_t job = file->n_files > 1 ? LATENT_LV2_JOB_RELOAD : file->files[0].job_load;
  if (latent_lv2_worker_schedule (file->engines->worker, NULL, job, cur->path, NULL))
    file->latency_asked = want; /* else: tried again in the next run() */
}

bool
latent_lv2_model_file_activate (LatentLv2ModelFile *file)
{
  GError *error = NULL;
  file->active = true;
  if (!file->engines->current) {
    file->latency_asked = latent_lv2_latency_mode (file->latency_port);
    atomic_store (&file->latency_mode, file->latency_asked);
    return true;
  }
  if (!latent_lv2_takeover_restart (file->engines, &error)) {
    lv2_log_error (&file_host (file)->logger, "latent %s: reset: %s\n", file->engines->name,
        error->message);
    g_clear_error (&error);
  }
  return false;
}

void
latent_lv2_model_file_activated (LatentLv2ModelFile *file, LatentLv2Engine *engine)
{
  if (engine)
    latent_lv2_takeover_replace (file->engines, engine);
}

LV2_State_Status
latent_lv2_model_file_save (LatentLv2ModelFile *file, LV2_State_Store_Function store,
    LV2_State_Handle handle, const LV2_Feature *const *features)
{
  if (!file_host (file)->map)
    return LV2_STATE_ERR_NO_FEATURE;
  LV2_State_Status status = LV2_STATE_SUCCESS;
  for (int i = 0; i < file->n_files && status == LV2_STATE_SUCCESS; i++)
    status = latent_lv2_state_store_path (file_host (file), store, handle, features,
        file->files[i].key, atomic_load (&file->files[i].chosen)); /* NULL: nothing */
  return status;
}

/* restore(): the stored files, the defaults where none is stored. */
static void
retrieve_files (LatentLv2ModelFile *file, LV2_State_Retrieve_Function retrieve,
    LV2_State_Handle handle, const LV2_Feature *const *features, LatentLv2Restore *restore)
{
  for (int i = 0; i < file->n_files; i++) {
    char *path = latent_lv2_state_retrieve_path (file_host (file), retrieve, handle, features,
        file->files[i].key);
    restore->paths[i] = path ? path : g_strdup (file->files[i].default_path);
  }
  restore->path = restore->paths[0];
  restore->is_default = latent_lv2_model_file_is_default (file, restore->path);
}

static void
free_restore_paths (LatentLv2Restore *restore)
{
  for (int i = 0; i < LATENT_LV2_MAX_FILES; i++)
    g_clear_pointer (&restore->paths[i], g_free);
  restore->path = NULL;
}

/* Whether `engine` (may be NULL) plays the files in `restore`. */
static bool
engine_plays (const LatentLv2ModelFile *file, const LatentLv2Engine *engine,
    const LatentLv2Restore *restore)
{
  for (int i = 0; engine && i < file->n_files; i++)
    if (strcmp (engine_file (engine, i), restore->paths[i]))
      return false;
  return engine != NULL;
}

/* restore() with the host's worker while run() may run: the files after parameter 0 become
 * the ones asked for, so the load job of parameter 0 loads them all. False when refused. */
static bool
schedule_restore (LatentLv2ModelFile *file, LV2_Worker_Schedule *schedule,
    const LatentLv2Restore *restore)
{
  g_mutex_lock (&file->lock);
  for (int i = 1; i < file->n_files; i++)
    file->files[i].wanted = latent_lv2_paths_intern (&file->names, restore->paths[i]);
  g_mutex_unlock (&file->lock);
  return latent_lv2_worker_schedule (file->engines->worker, schedule, file->files[0].job_load,
      restore->path, NULL);
}

LatentLv2Restore
latent_lv2_model_file_restore (LatentLv2ModelFile *file, LV2_State_Retrieve_Function retrieve,
    LV2_State_Handle handle, const LV2_Feature *const *features)
{
  LatentLv2Restore restore = { .status = LV2_STATE_SUCCESS };
  LatentLv2Host *host = file_host (file);
  if (!host->map) {
    restore.status = LV2_STATE_ERR_NO_FEATURE;
    return restore;
  }
  retrieve_files (file, retrieve, handle, features, &restore);
  LV2_Worker_Schedule *schedule = latent_lv2_find_schedule (features);
  if (schedule && file->active) {
    if (schedule_restore (file, schedule, &restore)) {
      free_restore_paths (&restore);
      return restore;
    }
    lv2_log_note (&host->logger, "latent %s: restore: the host's worker did not take the "
        "load of %s; loading it in restore()\n", file->engines->name, restore.path);
    restore.hand_over = true;
  } else if (engine_plays (file, file->engines->current, &restore)) {
    free_restore_paths (&restore);
  }
  return restore;
}

LV2_State_Status
latent_lv2_model_file_restored (LatentLv2ModelFile *file, LatentLv2Restore *restore,
    LatentLv2Engine *engine)
{
  free_restore_paths (restore);
  if (!engine)
    return LV2_STATE_ERR_UNKNOWN;
  store_choices (file, engine);
  if (restore->hand_over) { /* run() may be running: it lets the engine take over */
    latent_lv2_takeover_hand_over (file->engines, engine);
    return LV2_STATE_SUCCESS;
  }
  latent_lv2_takeover_replace (file->engines, engine);
  file->engines->announce = true;
  return LV2_STATE_SUCCESS;
}
