/* Shared LV2 glue (see plugin-common.h). */
#include "plugin-common.h"

#include <math.h>

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void
latent_lv2_host_init (LatentLv2Host *host, const char *bundle_path,
    const LV2_Feature *const *features)
{
  memset (host, 0, sizeof *host);
  LV2_Log_Log *log = NULL;
  const LV2_Options_Option *options = NULL;
  for (int i = 0; features && features[i]; i++) {
    const char *uri = features[i]->URI;
    if (!strcmp (uri, LV2_URID__map))
      host->map = features[i]->data;
    else if (!strcmp (uri, LV2_WORKER__schedule))
      host->schedule = features[i]->data;
    else if (!strcmp (uri, LV2_LOG__log))
      log = features[i]->data;
    else if (!strcmp (uri, LV2_OPTIONS__options))
      options = features[i]->data;
  }
  lv2_log_logger_init (&host->logger, host->map, host->map ? log : NULL);
  host->bundle_path = g_strdup (bundle_path ? bundle_path : ".");

  LV2_URID_Map *map = host->map;
  if (!map)
    return;
  LatentLv2Urids *u = &host->uris;
  u->atom_Path = map->map (map->handle, LV2_ATOM__Path);
  u->atom_String = map->map (map->handle, LV2_ATOM__String);
  u->atom_URID = map->map (map->handle, LV2_ATOM__URID);
  u->atom_Int = map->map (map->handle, LV2_ATOM__Int);
  u->atom_Float = map->map (map->handle, LV2_ATOM__Float);
  u->atom_Sequence = map->map (map->handle, LV2_ATOM__Sequence);
  u->atom_eventTransfer = map->map (map->handle, LV2_ATOM__eventTransfer);
  u->patch_Set = map->map (map->handle, LV2_PATCH__Set);
  u->patch_Get = map->map (map->handle, LV2_PATCH__Get);
  u->patch_property = map->map (map->handle, LV2_PATCH__property);
  u->patch_value = map->map (map->handle, LV2_PATCH__value);
  u->patch_subject = map->map (map->handle, LV2_PATCH__subject);
  u->bufsz_maxBlockLength = map->map (map->handle, LV2_BUF_SIZE__maxBlockLength);
  u->bufsz_nominalBlockLength = map->map (map->handle, LV2_BUF_SIZE__nominalBlockLength);

  int nominal = 0;
  for (const LV2_Options_Option *o = options; o && o->key; o++) {
    if (o->type != u->atom_Int || !o->value)
      continue;
    if (o->key == u->bufsz_maxBlockLength)
      host->max_block = *(const int32_t *) o->value;
    else if (o->key == u->bufsz_nominalBlockLength)
      nominal = *(const int32_t *) o->value;
  }
  if (host->max_block <= 0)
    host->max_block = MAX (0, nominal);
}

void
latent_lv2_host_clear (LatentLv2Host *host)
{
  g_free (host->bundle_path);
  host->bundle_path = NULL;
}

int
latent_lv2_control_int (const float *port, int fallback, int lo, int hi)
{
  if (!port || !isfinite (*port))
    return fallback;
  return (int) lrintf (CLAMP (*port, (float) lo, (float) hi));
}

char *
latent_lv2_default_model (const LatentLv2Host *host, const char *file_name)
{
  const char *env = g_getenv (LATENT_LV2_DEFAULT_MODEL_ENV);
  if (env && *env)
    return g_strdup (env);
  return g_build_filename (host->bundle_path, "models", file_name, NULL);
}

const char *
latent_lv2_patch_set_path (const LatentLv2Host *host, const LV2_Atom_Object *obj,
    LV2_URID property, uint32_t *len)
{
  const LatentLv2Urids *u = &host->uris;
  if (!host->map || obj->body.otype != u->patch_Set)
    return NULL;
  const LV2_Atom *prop = NULL, *value = NULL;
  lv2_atom_object_get (obj, u->patch_property, &prop, u->patch_value, &value, 0);
  if (!prop || prop->type != u->atom_URID || ((const LV2_Atom_URID *) prop)->body != property)
    return NULL;
  if (!value || (value->type != u->atom_Path && value->type != u->atom_String)
      || value->size == 0)
    return NULL;
  const char *s = LV2_ATOM_BODY_CONST (value);
  if (s[value->size - 1] != '\0')
    return NULL;
  *len = (uint32_t) strlen (s);
  return s;
}

bool
latent_lv2_is_patch_get (const LatentLv2Host *host, const LV2_Atom_Object *obj,
    LV2_URID property)
{
  const LatentLv2Urids *u = &host->uris;
  if (!host->map || obj->body.otype != u->patch_Get)
    return false;
  const LV2_Atom *prop = NULL;
  lv2_atom_object_get (obj, u->patch_property, &prop, 0);
  return !prop || (prop->type == u->atom_URID
      && ((const LV2_Atom_URID *) prop)->body == property);
}

void
latent_lv2_write_patch_set (const LatentLv2Host *host, LV2_Atom_Forge *forge,
    LV2_URID property, const char *path)
{
  const LatentLv2Urids *u = &host->uris;
  LV2_Atom_Forge_Frame frame;
  if (!lv2_atom_forge_frame_time (forge, 0))
    return;
  if (!lv2_atom_forge_object (forge, &frame, 0, u->patch_Set))
    return;
  lv2_atom_forge_key (forge, u->patch_property);
  lv2_atom_forge_urid (forge, property);
  lv2_atom_forge_key (forge, u->patch_value);
  lv2_atom_forge_path (forge, path, (uint32_t) strlen (path));
  lv2_atom_forge_pop (forge, &frame);
}

void
latent_lv2_read_file_messages (const LatentLv2Host *host, LatentLv2Jobs *jobs,
    const LV2_Atom_Forge *forge, const LV2_Atom_Sequence *control, const LV2_URID *properties,
    const uint32_t *load_jobs, int n, bool *announce)
{
  if (!control || !host->map)
    return;
  LV2_ATOM_SEQUENCE_FOREACH (control, ev) {
    if (!lv2_atom_forge_is_object_type (forge, ev->body.type))
      continue;
    const LV2_Atom_Object *obj = (const LV2_Atom_Object *) &ev->body;
    bool handled = false;
    for (int i = 0; i < n && !handled; i++) {
      uint32_t len = 0;
      const char *path = latent_lv2_patch_set_path (host, obj, properties[i], &len);
      if (path && len > 0 && len < LATENT_LV2_PATH_MAX) {
        latent_lv2_jobs_schedule (jobs, load_jobs[i], path, NULL);
        handled = true;
      }
    }
    for (int i = 0; i < n && !handled; i++)
      if (latent_lv2_is_patch_get (host, obj, properties[i])) {
        *announce = true;
        handled = true;
      }
  }
}

bool
latent_lv2_notify_begin (const LatentLv2Host *host, LV2_Atom_Forge *forge,
    LV2_Atom_Forge_Frame *frame, LV2_Atom_Sequence *notify)
{
  if (!notify || !host->map)
    return false;
  lv2_atom_forge_set_buffer (forge, (uint8_t *) notify, notify->atom.size);
  return lv2_atom_forge_sequence_head (forge, frame, 0) != 0;
}

/* ------------------------------------------------------------------ state */

static void *
find_feature (const LV2_Feature *const *features, const char *uri)
{
  for (int i = 0; features && features[i]; i++)
    if (!strcmp (features[i]->URI, uri))
      return features[i]->data;
  return NULL;
}

/* Paths from mapPath belong to the host: state:freePath frees them where offered (hosts may
 * use another allocator), else free() as the LV2 state spec says. */
static void
free_host_path (const LV2_Feature *const *features, char *path)
{
  LV2_State_Free_Path *free_path = find_feature (features, LV2_STATE__freePath);
  if (free_path)
    free_path->free_path (free_path->handle, path);
  else
    free (path);
}

LV2_State_Status
latent_lv2_state_store_path (const LatentLv2Host *host, LV2_State_Store_Function store,
    LV2_State_Handle handle, const LV2_Feature *const *features, LV2_URID key,
    const char *path)
{
  if (!path)
    return LV2_STATE_SUCCESS;
  LV2_State_Map_Path *map_path = find_feature (features, LV2_STATE__mapPath);
  if (!map_path)
    return store (handle, key, path, strlen (path) + 1, host->uris.atom_Path,
        LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
  char *abstract = map_path->abstract_path (map_path->handle, path);
  LV2_State_Status status = store (handle, key, abstract, strlen (abstract) + 1,
      host->uris.atom_Path, LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
  free_host_path (features, abstract);
  return status;
}

char *
latent_lv2_state_retrieve_path (const LatentLv2Host *host,
    LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    const LV2_Feature *const *features, LV2_URID key)
{
  size_t size = 0;
  uint32_t type = 0, flags = 0;
  const char *value = retrieve (handle, key, &size, &type, &flags);
  if (!value || size == 0 || (type != host->uris.atom_Path && type != host->uris.atom_String))
    return NULL;
  char *stored = g_strndup (value, size);
  LV2_State_Map_Path *map_path = find_feature (features, LV2_STATE__mapPath);
  if (!map_path)
    return stored;
  char *absolute = map_path->absolute_path (map_path->handle, stored);
  char *path = g_strdup (absolute);
  free_host_path (features, absolute);
  g_free (stored);
  return path;
}

/* ------------------------------------------------------------------- jobs */

static gpointer
jobs_thread (gpointer data)
{
  LatentLv2Jobs *jobs = data;
  for (;;) {
    uint32_t tail = atomic_load_explicit (&jobs->job_tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit (&jobs->job_head, memory_order_acquire);
    if (tail == head) {
      if (atomic_load (&jobs->quit))
        break;
      sem_wait (&jobs->wake);
      continue;
    }
    LatentLv2Job *job = &jobs->jobs[tail % LATENT_LV2_JOB_SLOTS];
    void *result = jobs->run (jobs->owner, job->kind, job->text, job->ptr);
    uint32_t kind = job->kind;
    atomic_store_explicit (&jobs->job_tail, tail + 1, memory_order_release);
    if (!result)
      continue;
    /* Reply ring full: the audio thread is not running; wait for room unless quitting. */
    for (;;) {
      uint32_t rh = atomic_load_explicit (&jobs->reply_head, memory_order_relaxed);
      uint32_t rt = atomic_load_explicit (&jobs->reply_tail, memory_order_acquire);
      if (rh - rt < LATENT_LV2_REPLY_SLOTS) {
        jobs->replies[rh % LATENT_LV2_REPLY_SLOTS] = (LatentLv2Reply) { kind, result };
        atomic_store_explicit (&jobs->reply_head, rh + 1, memory_order_release);
        break;
      }
      if (atomic_load (&jobs->quit)) {
        jobs->done (jobs->owner, kind | LATENT_LV2_JOB_DISCARDED, result);
        break;
      }
      g_usleep (1000);
    }
  }
  return NULL;
}

void
latent_lv2_jobs_init (LatentLv2Jobs *jobs, LatentLv2Host *host, void *owner,
    LatentLv2JobRun run, LatentLv2JobDone done)
{
  memset (jobs, 0, sizeof *jobs);
  jobs->host = host;
  jobs->owner = owner;
  jobs->run = run;
  jobs->done = done;
  if (!host->schedule) {
    sem_init (&jobs->wake, 0, 0);
    jobs->thread = g_thread_new ("latent-lv2-jobs", jobs_thread, jobs);
  }
}

void
latent_lv2_jobs_clear (LatentLv2Jobs *jobs)
{
  if (!jobs->thread)
    return;
  atomic_store (&jobs->quit, 1);
  sem_post (&jobs->wake);
  g_thread_join (jobs->thread);
  jobs->thread = NULL;
  sem_destroy (&jobs->wake);
  /* Replies nobody will deliver. */
  uint32_t rt = atomic_load (&jobs->reply_tail), rh = atomic_load (&jobs->reply_head);
  for (; rt != rh; rt++) {
    LatentLv2Reply *r = &jobs->replies[rt % LATENT_LV2_REPLY_SLOTS];
    jobs->done (jobs->owner, r->kind | LATENT_LV2_JOB_DISCARDED, r->result);
  }
  atomic_store (&jobs->reply_tail, rt);
}

/* Hands a job to a host worker, which copies the message: only the used part of text. */
static bool
schedule_on_host (LV2_Worker_Schedule *schedule, uint32_t kind, const char *text, void *ptr)
{
  size_t len = text ? strnlen (text, LATENT_LV2_PATH_MAX - 1) : 0;
  LatentLv2Job job;
  job.kind = kind;
  job.ptr = ptr;
  memcpy (job.text, text ? text : "", len);
  job.text[len] = '\0';
  uint32_t size = (uint32_t) (offsetof (LatentLv2Job, text) + len + 1);
  return schedule->schedule_work (schedule->handle, size, &job) == LV2_WORKER_SUCCESS;
}

bool
latent_lv2_jobs_schedule (LatentLv2Jobs *jobs, uint32_t kind, const char *text, void *ptr)
{
  if (jobs->host->schedule)
    return schedule_on_host (jobs->host->schedule, kind, text, ptr);
  uint32_t head = atomic_load_explicit (&jobs->job_head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit (&jobs->job_tail, memory_order_acquire);
  if (head - tail >= LATENT_LV2_JOB_SLOTS)
    return false;
  LatentLv2Job *job = &jobs->jobs[head % LATENT_LV2_JOB_SLOTS];
  size_t len = text ? strnlen (text, LATENT_LV2_PATH_MAX - 1) : 0;
  job->kind = kind;
  job->ptr = ptr;
  memcpy (job->text, text ? text : "", len);
  job->text[len] = '\0';
  atomic_store_explicit (&jobs->job_head, head + 1, memory_order_release);
  sem_post (&jobs->wake);
  return true;
}

bool
latent_lv2_jobs_schedule_via (LatentLv2Jobs *jobs, LV2_Worker_Schedule *schedule,
    uint32_t kind, const char *text, void *ptr)
{
  (void) jobs;
  return schedule_on_host (schedule, kind, text, ptr);
}

LV2_Worker_Schedule *
latent_lv2_find_schedule (const LV2_Feature *const *features)
{
  return find_feature (features, LV2_WORKER__schedule);
}

void
latent_lv2_jobs_deliver (LatentLv2Jobs *jobs)
{
  if (!jobs->thread)
    return;
  uint32_t tail = atomic_load_explicit (&jobs->reply_tail, memory_order_relaxed);
  uint32_t head = atomic_load_explicit (&jobs->reply_head, memory_order_acquire);
  for (; tail != head; tail++) {
    LatentLv2Reply r = jobs->replies[tail % LATENT_LV2_REPLY_SLOTS];
    atomic_store_explicit (&jobs->reply_tail, tail + 1, memory_order_release);
    jobs->done (jobs->owner, r.kind, r.result);
  }
}

LV2_Worker_Status
latent_lv2_jobs_work (LatentLv2Jobs *jobs, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  if (size < offsetof (LatentLv2Job, text) + 1)
    return LV2_WORKER_ERR_UNKNOWN;
  const LatentLv2Job *job = data;
  /* Copy: the text must be NUL-terminated within size. */
  char text[LATENT_LV2_PATH_MAX];
  size_t len = MIN (size - offsetof (LatentLv2Job, text), sizeof text - 1);
  memcpy (text, job->text, len);
  text[len] = '\0';
  void *result = jobs->run (jobs->owner, job->kind, text, job->ptr);
  if (!result)
    return LV2_WORKER_SUCCESS;
  LatentLv2Reply reply = { job->kind, result };
  if (respond (handle, sizeof reply, &reply) != LV2_WORKER_SUCCESS) {
    jobs->done (jobs->owner, job->kind | LATENT_LV2_JOB_DISCARDED, result);
    return LV2_WORKER_ERR_NO_SPACE;
  }
  return LV2_WORKER_SUCCESS;
}

LV2_Worker_Status
latent_lv2_jobs_work_response (LatentLv2Jobs *jobs, uint32_t size, const void *body)
{
  if (size != sizeof (LatentLv2Reply))
    return LV2_WORKER_ERR_UNKNOWN;
  LatentLv2Reply reply;
  memcpy (&reply, body, sizeof reply);
  jobs->done (jobs->owner, reply.kind, reply.result);
  return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status
work (LV2_Handle instance, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  return latent_lv2_jobs_work (instance, respond, handle, size, data);
}

static LV2_Worker_Status
work_response (LV2_Handle instance, uint32_t size, const void *body)
{
  return latent_lv2_jobs_work_response (instance, size, body);
}

const void *
latent_lv2_extension_data (const char *uri, const LV2_State_Interface *state)
{
  /* The instance is its LatentLv2Jobs (the struct's first member). */
  static const LV2_Worker_Interface worker = { work, work_response, NULL };
  if (!strcmp (uri, LV2_STATE__interface))
    return state;
  if (!strcmp (uri, LV2_WORKER__interface))
    return &worker;
  return NULL;
}
