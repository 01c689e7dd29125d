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

/* --------------------------------------------------------------- takeover */

void
latent_lv2_takeover_init (LatentLv2Takeover *takeover, LatentLv2Jobs *jobs, const char *name,
    LatentLv2EngineFree engine_free)
{
  memset (takeover, 0, sizeof *takeover);
  takeover->jobs = jobs;
  takeover->name = name;
  takeover->engine_free = engine_free;
}

bool
latent_lv2_takeover_run_job (LatentLv2Takeover *takeover, uint32_t kind, const char *text,
    void *ptr)
{
  if (kind == LATENT_LV2_JOB_FREE_ENGINE) {
    takeover->engine_free (ptr);
    return true;
  }
  if (kind == LATENT_LV2_JOB_LOG_ERROR) {
    lv2_log_error (&takeover->jobs->host->logger, "latent %s: %s\n", takeover->name, text);
    return true;
  }
  return false;
}

bool
latent_lv2_takeover_receive (LatentLv2Takeover *takeover, uint32_t kind,
    LatentLv2Engine *engine)
{
  if (kind & LATENT_LV2_JOB_DISCARDED) { /* at shutdown, not on the audio thread */
    takeover->engine_free (engine);
    return false;
  }
  latent_lv2_takeover_offer (takeover, engine);
  return true;
}

static void
free_engine (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  if (engine)
    takeover->engine_free (engine);
}

void
latent_lv2_takeover_hand_over (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  free_engine (takeover, atomic_exchange (&takeover->handed, engine));
}

void
latent_lv2_takeover_clear (LatentLv2Takeover *takeover)
{
  free_engine (takeover, atomic_exchange (&takeover->handed, NULL));
  free_engine (takeover, takeover->current);
  free_engine (takeover, takeover->incoming);
  for (int i = 0; i < LATENT_LV2_RETIRED_SLOTS; i++)
    free_engine (takeover, takeover->retired[i]);
  takeover->current = takeover->incoming = NULL;
  memset (takeover->retired, 0, sizeof takeover->retired);
}

void
latent_lv2_takeover_replace (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  free_engine (takeover, takeover->incoming);
  takeover->incoming = NULL;
  free_engine (takeover, takeover->current);
  takeover->current = engine;
  takeover->error_logged = false;
}

bool
latent_lv2_takeover_restart (LatentLv2Takeover *takeover, GError **error)
{
  free_engine (takeover, takeover->incoming);
  takeover->incoming = NULL;
  takeover->error_logged = false;
  return !takeover->current || latent_rt_stream_reset (takeover->current->rt, error);
}

/* Audio thread: frees `engine` through a job, or parks it until a job slot opens. */
static void
retire (LatentLv2Takeover *takeover, LatentLv2Engine *engine)
{
  if (!engine || latent_lv2_jobs_schedule (takeover->jobs, LATENT_LV2_JOB_FREE_ENGINE, NULL,
          engine))
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
    if (takeover->retired[i] && latent_lv2_jobs_schedule (takeover->jobs,
            LATENT_LV2_JOB_FREE_ENGINE, NULL, takeover->retired[i]))
      takeover->retired[i] = NULL;
  LatentLv2Engine *cur = takeover->current;
  if (cur && !takeover->non_finite_logged && latent_rt_stream_get_non_finite (cur->rt)) {
    takeover->non_finite_logged = latent_lv2_jobs_schedule (takeover->jobs,
        LATENT_LV2_JOB_LOG_ERROR, "the model returned NaN or Inf values: they were replaced "
        "by 0 and its state reset; further ones are replaced without another message", NULL);
  }
  if (cur && !takeover->error_logged) {
    const char *err = latent_rt_stream_get_error (cur->rt);
    if (err) {
      latent_lv2_jobs_schedule (takeover->jobs, LATENT_LV2_JOB_LOG_ERROR, err, NULL);
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
latent_lv2_takeover_sanitize (LatentLv2Takeover *takeover, float *out, uint32_t n)
{
  const size_t replaced = latent_replace_non_finite (out, n);
  if (!replaced || takeover->non_finite_logged)
    return;
  char text[200];
  snprintf (text, sizeof text, "%zu non-finite output samples (NaN or Inf, from the input, a "
      "control or the model) were replaced by 0; further ones are replaced without another "
      "message", replaced);
  takeover->non_finite_logged = latent_lv2_jobs_schedule (takeover->jobs,
      LATENT_LV2_JOB_LOG_ERROR, text, NULL);
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

void
latent_lv2_model_file_init (LatentLv2ModelFile *file, LatentLv2Takeover *engines, LV2_URID key,
    uint32_t job_load, char *default_path, LatentLv2ModelLoad load, void *owner)
{
  memset (file, 0, sizeof *file);
  file->engines = engines;
  file->key = key;
  file->job_load = job_load;
  file->default_path = default_path;
  file->load = load;
  file->owner = owner;
  file->latency_asked = LATENT_RT_LATENCY_LOW;
  atomic_store (&file->latency_mode, LATENT_RT_LATENCY_LOW);
}

void
latent_lv2_model_file_clear (LatentLv2ModelFile *file)
{
  g_free (file->default_path);
  file->default_path = NULL;
}

static LatentLv2Host *
file_host (LatentLv2ModelFile *file)
{
  return file->engines->jobs->host;
}

static LatentLv2ModelEngine *
load_logged (LatentLv2ModelFile *file, const char *path, bool is_default)
{
  GError *error = NULL;
  LatentLv2ModelEngine *engine = file->load (file->owner, path, is_default, &error);
  LV2_Log_Logger *logger = &file_host (file)->logger;
  if (!engine) {
    lv2_log_error (logger, "latent %s: cannot use model %s: %s\n", file->engines->name, path,
        error ? error->message : "unknown error");
    g_clear_error (&error);
  } else {
    LatentRtStream *rt = engine->base.rt;
    lv2_log_note (logger, "latent %s: model %s (latency %d frames) [%s: block %d, margin %d, "
        "resampling %d; slowest warm-up step %.0f us; worker %s]\n", file->engines->name, path,
        engine->base.latency, latent_rt_stream_get_latency_mode (rt) ? "low" : "safe",
        latent_rt_stream_get_block (rt), latent_rt_stream_get_margin (rt),
        latent_rt_stream_get_resample_delay (rt), latent_rt_stream_get_measured_step_us (rt),
        latent_rt_stream_get_worker_fifo (rt) ? "SCHED_FIFO" : "not real-time");
  }
  return engine;
}

LatentLv2ModelEngine *
latent_lv2_model_file_load (LatentLv2ModelFile *file, const char *path)
{
  return load_logged (file, path, !strcmp (path, file->default_path));
}

void
latent_lv2_model_file_loaded (LatentLv2ModelFile *file, uint32_t kind,
    LatentLv2ModelEngine *engine)
{
  if (latent_lv2_takeover_receive (file->engines, kind, &engine->base))
    atomic_store (&file->chosen, engine->is_default ? NULL : engine->path);
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
  const LatentLv2ModelEngine *cur = (const LatentLv2ModelEngine *) file->engines->current;
  if (!cur) {
    file->latency_asked = want; /* the next load uses it */
    return;
  }
  const char *path = cur->is_default ? file->default_path : cur->path;
  if (latent_lv2_jobs_schedule (file->engines->jobs, file->job_load, path, NULL))
    file->latency_asked = want; /* else: tried again in the next run() */
}

void
latent_lv2_model_file_activate (LatentLv2ModelFile *file)
{
  GError *error = NULL;
  if (!file->engines->current) {
    file->latency_asked = latent_lv2_latency_mode (file->latency_port);
    atomic_store (&file->latency_mode, file->latency_asked);
    LatentLv2ModelEngine *engine = load_logged (file, file->default_path, true);
    if (engine)
      latent_lv2_takeover_replace (file->engines, &engine->base);
  } else if (!latent_lv2_takeover_restart (file->engines, &error)) {
    lv2_log_error (&file_host (file)->logger, "latent %s: reset: %s\n", file->engines->name,
        error->message);
    g_clear_error (&error);
  }
  file->active = true;
}

LV2_State_Status
latent_lv2_model_file_save (LatentLv2ModelFile *file, LV2_State_Store_Function store,
    LV2_State_Handle handle, const LV2_Feature *const *features)
{
  if (!file_host (file)->map)
    return LV2_STATE_ERR_NO_FEATURE;
  /* NULL (the default model): nothing to save. */
  return latent_lv2_state_store_path (file_host (file), store, handle, features, file->key,
      atomic_load (&file->chosen));
}

LV2_State_Status
latent_lv2_model_file_restore (LatentLv2ModelFile *file, LV2_State_Retrieve_Function retrieve,
    LV2_State_Handle handle, const LV2_Feature *const *features)
{
  LatentLv2Host *host = file_host (file);
  if (!host->map)
    return LV2_STATE_ERR_NO_FEATURE;
  char *path = latent_lv2_state_retrieve_path (host, retrieve, handle, features, file->key);
  bool is_default = !path;
  if (!path)
    path = g_strdup (file->default_path);
  LV2_Worker_Schedule *schedule = latent_lv2_find_schedule (features);
  if (schedule && file->active) {
    if (latent_lv2_jobs_schedule_via (file->engines->jobs, schedule, file->job_load, path,
            NULL)) {
      g_free (path);
      return LV2_STATE_SUCCESS;
    }
    /* run() may be running: load here, hand the engine to run(). */
    lv2_log_note (&host->logger, "latent %s: restore: the host's worker did not take the "
        "load of %s; loading it in restore()\n", file->engines->name, path);
    LatentLv2ModelEngine *engine = load_logged (file, path, is_default);
    g_free (path);
    if (!engine)
      return LV2_STATE_ERR_UNKNOWN;
    atomic_store (&file->chosen, is_default ? NULL : engine->path);
    latent_lv2_takeover_hand_over (file->engines, &engine->base);
    return LV2_STATE_SUCCESS;
  }
  const LatentLv2ModelEngine *cur = (const LatentLv2ModelEngine *) file->engines->current;
  if (cur && !strcmp (cur->path, path) && cur->is_default == is_default) {
    g_free (path);
    return LV2_STATE_SUCCESS;
  }
  LatentLv2ModelEngine *engine = load_logged (file, path, is_default);
  g_free (path);
  if (!engine)
    return LV2_STATE_ERR_UNKNOWN;
  latent_lv2_takeover_replace (file->engines, &engine->base);
  file->engines->announce = true;
  atomic_store (&file->chosen, is_default ? NULL : engine->path);
  return LV2_STATE_SUCCESS;
}
