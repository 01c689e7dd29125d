/* Shared LV2 glue (see plugin-common.h). */
#include "plugin-common.h"
#include "plugin-engines.h"

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
latent_lv2_read_file_messages (const LatentLv2Host *host, LatentLv2Worker *worker,
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
        latent_lv2_worker_schedule (worker, NULL, load_jobs[i], path, NULL);
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

/* ----------------------------------------------------------------- worker */

/* Stand-in worker thread: the plugin's work() answers through this instead of the host. Waits
 * for room in the reply ring (the audio thread is not running) unless quitting; false then,
 * and work() frees what it could not hand over. */
static LV2_Worker_Status
stand_in_respond (LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  LatentLv2Worker *worker = handle;
  if (size != sizeof (LatentLv2Reply))
    return LV2_WORKER_ERR_UNKNOWN;
  for (;;) {
    uint32_t head = atomic_load_explicit (&worker->reply_head, memory_order_relaxed);
    uint32_t tail = atomic_load_explicit (&worker->reply_tail, memory_order_acquire);
    if (head - tail < LATENT_LV2_REPLY_SLOTS) {
      memcpy (&worker->replies[head % LATENT_LV2_REPLY_SLOTS], data, size);
      atomic_store_explicit (&worker->reply_head, head + 1, memory_order_release);
      return LV2_WORKER_SUCCESS;
    }
    if (atomic_load (&worker->quit))
      return LV2_WORKER_ERR_NO_SPACE;
    g_usleep (1000);
  }
}

/* Stand-in worker thread: runs queued jobs through the plugin's work(). */
static gpointer
stand_in_thread (gpointer data)
{
  LatentLv2Worker *worker = data;
  for (;;) {
    uint32_t tail = atomic_load_explicit (&worker->job_tail, memory_order_relaxed);
    uint32_t head = atomic_load_explicit (&worker->job_head, memory_order_acquire);
    if (tail == head) {
      if (atomic_load (&worker->quit))
        break;
      sem_wait (&worker->wake);
      continue;
    }
    LatentLv2Job *job = &worker->jobs[tail % LATENT_LV2_JOB_SLOTS];
    worker->iface->work (worker->instance, stand_in_respond, worker, sizeof *job, job);
    atomic_store_explicit (&worker->job_tail, tail + 1, memory_order_release);
  }
  return NULL;
}

void
latent_lv2_worker_init (LatentLv2Worker *worker, LatentLv2Host *host, LV2_Handle instance,
    const LV2_Worker_Interface *iface)
{
  memset (worker, 0, sizeof *worker);
  worker->host = host;
  worker->instance = instance;
  worker->iface = iface;
  if (!host->schedule) {
    sem_init (&worker->wake, 0, 0);
    worker->thread = g_thread_new ("latent-lv2-worker", stand_in_thread, worker);
  }
}

void
latent_lv2_worker_clear (LatentLv2Worker *worker)
{
  if (!worker->thread)
    return;
  atomic_store (&worker->quit, 1);
  sem_post (&worker->wake);
  g_thread_join (worker->thread);
  worker->thread = NULL;
  sem_destroy (&worker->wake);
  /* Replies nobody will deliver. */
  uint32_t tail = atomic_load (&worker->reply_tail), head = atomic_load (&worker->reply_head);
  for (; tail != head; tail++)
    latent_lv2_engine_free (worker->replies[tail % LATENT_LV2_REPLY_SLOTS].engine);
  atomic_store (&worker->reply_tail, tail);
}

/* Only the used part of the text: hosts copy `size` bytes. */
static uint32_t
fill_job (LatentLv2Job *job, uint32_t kind, const char *text, void *ptr)
{
  size_t len = text ? strnlen (text, LATENT_LV2_PATH_MAX - 1) : 0;
  job->kind = kind;
  job->ptr = ptr;
  memcpy (job->text, text ? text : "", len);
  job->text[len] = '\0';
  return (uint32_t) (offsetof (LatentLv2Job, text) + len + 1);
}

bool
latent_lv2_worker_schedule (LatentLv2Worker *worker, LV2_Worker_Schedule *schedule,
    uint32_t kind, const char *text, void *ptr)
{
  if (!schedule)
    schedule = worker->host->schedule;
  if (schedule) {
    LatentLv2Job job;
    uint32_t size = fill_job (&job, kind, text, ptr);
    return schedule->schedule_work (schedule->handle, size, &job) == LV2_WORKER_SUCCESS;
  }
  uint32_t head = atomic_load_explicit (&worker->job_head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit (&worker->job_tail, memory_order_acquire);
  if (head - tail >= LATENT_LV2_JOB_SLOTS)
    return false;
  fill_job (&worker->jobs[head % LATENT_LV2_JOB_SLOTS], kind, text, ptr);
  atomic_store_explicit (&worker->job_head, head + 1, memory_order_release);
  sem_post (&worker->wake);
  return true;
}

LV2_Worker_Schedule *
latent_lv2_find_schedule (const LV2_Feature *const *features)
{
  return find_feature (features, LV2_WORKER__schedule);
}

void
latent_lv2_worker_deliver (LatentLv2Worker *worker)
{
  if (!worker->thread)
    return;
  uint32_t tail = atomic_load_explicit (&worker->reply_tail, memory_order_relaxed);
  uint32_t head = atomic_load_explicit (&worker->reply_head, memory_order_acquire);
  for (; tail != head; tail++) {
    LatentLv2Reply reply = worker->replies[tail % LATENT_LV2_REPLY_SLOTS];
    atomic_store_explicit (&worker->reply_tail, tail + 1, memory_order_release);
    worker->iface->work_response (worker->instance, sizeof reply, &reply);
  }
}

bool
latent_lv2_job_read (uint32_t size, const void *data, LatentLv2Job *job)
{
  if (size < offsetof (LatentLv2Job, text) + 1)
    return false;
  /* The text must be NUL-terminated within size. */
  size_t len = MIN (size - offsetof (LatentLv2Job, text), sizeof job->text - 1);
  memcpy (job, data, offsetof (LatentLv2Job, text) + len);
  job->text[len] = '\0';
  return true;
}

bool
latent_lv2_reply_read (uint32_t size, const void *body, LatentLv2Reply *reply)
{
  if (size != sizeof *reply)
    return false;
  memcpy (reply, body, sizeof *reply);
  return true;
}

const void *
latent_lv2_extension_data (const char *uri, const LV2_State_Interface *state,
    const LV2_Worker_Interface *worker)
{
  if (!strcmp (uri, LV2_STATE__interface))
    return state;
  if (!strcmp (uri, LV2_WORKER__interface))
    return worker;
  return NULL;
}
