/* A small lilv host for the LV2 tests (see host-util.h). */
#include "host-util.h"

#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/midi/midi.h>
#include <lv2/patch/patch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_JOBS 64
#define JOB_BYTES 8192

typedef struct {
  uint32_t size;
  uint8_t data[JOB_BYTES];
} Job;

typedef enum { PORT_AUDIO_IN, PORT_AUDIO_OUT, PORT_CONTROL, PORT_ATOM_IN, PORT_ATOM_OUT,
  PORT_OTHER } PortKind;

struct Host {
  LilvWorld *world;
  const LilvPlugin *plugin;
  LilvInstance *instance;
  HostFeatures want;

  GPtrArray *uris; /* index + 1 = URID */
  LV2_URID_Map map;
  LV2_URID_Unmap unmap;
  LV2_Log_Log log;
  LV2_Worker_Schedule schedule;
  LV2_Options_Option options[3];
  int32_t max_block;
  LV2_Feature f_map, f_unmap, f_log, f_schedule, f_options;
  const LV2_Feature *features[8];
  GString *log_text;
  GMutex log_lock;

  uint32_t n_ports;
  PortKind kinds[HOST_MAX_PORTS];
  float values[HOST_MAX_PORTS];
  union {
    LV2_Atom_Sequence seq;
    uint8_t bytes[HOST_ATOM_CAPACITY];
  } atom_in, atom_out;
  float *audio_in, *audio_out;

  /* Messages for the next run, as a ready sequence. */
  uint8_t pending[HOST_ATOM_CAPACITY];
  LV2_Atom_Forge forge;
  LV2_Atom_Forge_Frame seq_frame; /* the pending sequence, open while messages are added */
  uint32_t pending_size;

  Job jobs[MAX_JOBS], responses[MAX_JOBS];
  int n_jobs, n_responses;
  const LV2_Worker_Interface *worker_iface;

  char *notified;
  GHashTable *notified_by_property; /* property URI -> last notified path */
  void (*enter) (void);
  void (*leave) (void);
};

static LV2_URID
map_uri (LV2_URID_Map_Handle handle, const char *uri)
{
  Host *host = handle;
  for (guint i = 0; i < host->uris->len; i++)
    if (!strcmp (host->uris->pdata[i], uri))
      return i + 1;
  g_ptr_array_add (host->uris, g_strdup (uri));
  return host->uris->len;
}

static const char *
unmap_uri (LV2_URID_Unmap_Handle handle, LV2_URID urid)
{
  Host *host = handle;
  return urid >= 1 && urid <= host->uris->len ? host->uris->pdata[urid - 1] : NULL;
}

static int
log_vprintf (LV2_Log_Handle handle, LV2_URID type, const char *fmt, va_list ap)
{
  Host *host = handle;
  g_mutex_lock (&host->log_lock);
  g_string_append_vprintf (host->log_text, fmt, ap);
  g_mutex_unlock (&host->log_lock);
  if (g_getenv ("LATENT_TEST_VERBOSE")) {
    va_list copy;
    va_copy (copy, ap);
    vfprintf (stderr, fmt, copy);
    va_end (copy);
  }
  return 0;
}

static int
log_printf (LV2_Log_Handle handle, LV2_URID type, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = log_vprintf (handle, type, fmt, ap);
  va_end (ap);
  return r;
}

/* Appends a copy of a message to `queue` (jobs or responses, delivered between run()s). */
static LV2_Worker_Status
queue_message (Job *queue, int *n, uint32_t size, const void *data)
{
  if (*n >= MAX_JOBS || size > JOB_BYTES)
    return LV2_WORKER_ERR_NO_SPACE;
  queue[*n].size = size;
  memcpy (queue[*n].data, data, size);
  (*n)++;
  return LV2_WORKER_SUCCESS;
}

static LV2_Worker_Status
schedule_work (LV2_Worker_Schedule_Handle handle, uint32_t size, const void *data)
{
  Host *host = handle;
  return queue_message (host->jobs, &host->n_jobs, size, data);
}

static LV2_Worker_Status
respond (LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  Host *host = handle;
  return queue_message (host->responses, &host->n_responses, size, data);
}

Host *
host_new (const char *plugin_uri, double rate, HostFeatures want)
{
  Host *host = g_new0 (Host, 1);
  host->want = want;
  host->world = lilv_world_new ();
  lilv_world_load_all (host->world);
  LilvNode *uri = lilv_new_uri (host->world, plugin_uri);
  host->plugin = lilv_plugins_get_by_uri (lilv_world_get_all_plugins (host->world), uri);
  lilv_node_free (uri);
  if (!host->plugin) {
    g_printerr ("plugin %s not found (LV2_PATH=%s)\n", plugin_uri, g_getenv ("LV2_PATH"));
    lilv_world_free (host->world);
    g_free (host);
    return NULL;
  }
  host->uris = g_ptr_array_new_with_free_func (g_free);
  host->notified_by_property = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  host->log_text = g_string_new (NULL);
  g_mutex_init (&host->log_lock);
  host->map = (LV2_URID_Map) { host, map_uri };
  host->unmap = (LV2_URID_Unmap) { host, unmap_uri };
  host->log = (LV2_Log_Log) { host, log_printf, log_vprintf };
  host->schedule = (LV2_Worker_Schedule) { host, schedule_work };
  host->f_map = (LV2_Feature) { LV2_URID__map, &host->map };
  host->f_unmap = (LV2_Feature) { LV2_URID__unmap, &host->unmap };
  host->f_log = (LV2_Feature) { LV2_LOG__log, &host->log };
  host->f_schedule = (LV2_Feature) { LV2_WORKER__schedule, &host->schedule };
  int nf = 0;
  if (want.map) {
    host->features[nf++] = &host->f_map;
    host->features[nf++] = &host->f_unmap;
  }
  if (want.log)
    host->features[nf++] = &host->f_log;
  if (want.worker)
    host->features[nf++] = &host->f_schedule;
  if (want.max_block > 0 && want.map) {
    host->max_block = want.max_block;
    host->options[0] = (LV2_Options_Option) { LV2_OPTIONS_INSTANCE, 0,
      map_uri (host, LV2_BUF_SIZE__maxBlockLength), sizeof (int32_t),
      map_uri (host, LV2_ATOM__Int), &host->max_block };
    host->options[1] = (LV2_Options_Option) { 0, 0, 0, 0, 0, NULL };
    host->f_options = (LV2_Feature) { LV2_OPTIONS__options, host->options };
    host->features[nf++] = &host->f_options;
  }
  host->features[nf] = NULL;
  lv2_atom_forge_init (&host->forge, &host->map);

  host->instance = lilv_plugin_instantiate (host->plugin, rate, host->features);
  g_assert (host->instance);
  host->worker_iface = lilv_instance_get_extension_data (host->instance,
      LV2_WORKER__interface);

  LilvNode *audio = lilv_new_uri (host->world, LV2_CORE__AudioPort);
  LilvNode *control = lilv_new_uri (host->world, LV2_CORE__ControlPort);
  LilvNode *atom = lilv_new_uri (host->world, LV2_ATOM__AtomPort);
  LilvNode *input = lilv_new_uri (host->world, LV2_CORE__InputPort);
  host->n_ports = lilv_plugin_get_num_ports (host->plugin);
  g_assert (host->n_ports <= HOST_MAX_PORTS);
  lilv_plugin_get_port_ranges_float (host->plugin, NULL, NULL, host->values);
  host->audio_in = g_new0 (float, 8192);
  host->audio_out = g_new0 (float, 8192);
  for (uint32_t i = 0; i < host->n_ports; i++) {
    const LilvPort *port = lilv_plugin_get_port_by_index (host->plugin, i);
    gboolean in = lilv_port_is_a (host->plugin, port, input);
    if (isnan (host->values[i]))
      host->values[i] = 0;
    if (lilv_port_is_a (host->plugin, port, audio)) {
      host->kinds[i] = in ? PORT_AUDIO_IN : PORT_AUDIO_OUT;
      lilv_instance_connect_port (host->instance, i, in ? host->audio_in : host->audio_out);
    } else if (lilv_port_is_a (host->plugin, port, control)) {
      host->kinds[i] = PORT_CONTROL;
      lilv_instance_connect_port (host->instance, i, &host->values[i]);
    } else if (lilv_port_is_a (host->plugin, port, atom)) {
      host->kinds[i] = in ? PORT_ATOM_IN : PORT_ATOM_OUT;
      lilv_instance_connect_port (host->instance, i, in ? (void *) &host->atom_in
          : (void *) &host->atom_out);
    } else {
      host->kinds[i] = PORT_OTHER;
      lilv_instance_connect_port (host->instance, i, NULL);
    }
  }
  lilv_node_free (audio);
  lilv_node_free (control);
  lilv_node_free (atom);
  lilv_node_free (input);
  return host;
}

void
host_free (Host *host)
{
  if (!host)
    return;
  lilv_instance_deactivate (host->instance);
  lilv_instance_free (host->instance);
  lilv_world_free (host->world);
  g_ptr_array_unref (host->uris);
  g_string_free (host->log_text, TRUE);
  g_mutex_clear (&host->log_lock);
  g_free (host->audio_in);
  g_free (host->audio_out);
  g_free (host->notified);
  g_hash_table_unref (host->notified_by_property);
  g_free (host);
}

LilvInstance *
host_instance (Host *host)
{
  return host->instance;
}

const LilvPlugin *
host_plugin (Host *host)
{
  return host->plugin;
}

LV2_URID
host_map (Host *host, const char *uri)
{
  return map_uri (host, uri);
}

float *
host_control (Host *host, const char *symbol)
{
  LilvNode *sym = lilv_new_string (host->world, symbol);
  const LilvPort *port = lilv_plugin_get_port_by_symbol (host->plugin, sym);
  lilv_node_free (sym);
  g_assert (port);
  return &host->values[lilv_port_get_index (host->plugin, port)];
}

void
host_set_control (Host *host, const char *symbol, float value)
{
  *host_control (host, symbol) = value;
}

float
host_get_control (Host *host, const char *symbol)
{
  return *host_control (host, symbol);
}

void
host_activate (Host *host)
{
  lilv_instance_activate (host->instance);
}

void
host_set_run_hooks (Host *host, void (*enter) (void), void (*leave) (void))
{
  host->enter = enter;
  host->leave = leave;
}

static void
begin_message (Host *host, LV2_Atom_Forge_Frame *frame)
{
  if (host->pending_size == 0) {
    lv2_atom_forge_set_buffer (&host->forge, host->pending, sizeof host->pending);
    lv2_atom_forge_sequence_head (&host->forge, &host->seq_frame, 0);
  }
  lv2_atom_forge_frame_time (&host->forge, 0);
  (void) frame;
}

void
host_patch_set_path (Host *host, const char *property, const char *path)
{
  LV2_Atom_Forge_Frame frame;
  begin_message (host, &frame);
  lv2_atom_forge_object (&host->forge, &frame, 0, map_uri (host, LV2_PATCH__Set));
  lv2_atom_forge_key (&host->forge, map_uri (host, LV2_PATCH__property));
  lv2_atom_forge_urid (&host->forge, map_uri (host, property));
  lv2_atom_forge_key (&host->forge, map_uri (host, LV2_PATCH__value));
  lv2_atom_forge_path (&host->forge, path, (uint32_t) strlen (path));
  lv2_atom_forge_pop (&host->forge, &frame);
  host->pending_size = lv2_atom_total_size ((LV2_Atom *) host->pending);
}

void
host_patch_get (Host *host, const char *property)
{
  LV2_Atom_Forge_Frame frame;
  begin_message (host, &frame);
  lv2_atom_forge_object (&host->forge, &frame, 0, map_uri (host, LV2_PATCH__Get));
  lv2_atom_forge_key (&host->forge, map_uri (host, LV2_PATCH__property));
  lv2_atom_forge_urid (&host->forge, map_uri (host, property));
  lv2_atom_forge_pop (&host->forge, &frame);
  host->pending_size = lv2_atom_total_size ((LV2_Atom *) host->pending);
}

static void
read_notifications (Host *host)
{
  LV2_URID patch_Set = map_uri (host, LV2_PATCH__Set);
  LV2_URID patch_value = map_uri (host, LV2_PATCH__value);
  LV2_URID patch_property = map_uri (host, LV2_PATCH__property);
  LV2_URID atom_Path = map_uri (host, LV2_ATOM__Path);
  LV2_ATOM_SEQUENCE_FOREACH (&host->atom_out.seq, ev) {
    const LV2_Atom_Object *obj = (const LV2_Atom_Object *) &ev->body;
    if (!lv2_atom_forge_is_object_type (&host->forge, ev->body.type)
        || obj->body.otype != patch_Set)
      continue;
    const LV2_Atom *value = NULL;
    lv2_atom_object_get (obj, patch_value, &value, 0);
    if (value && value->type == atom_Path) {
      g_free (host->notified);
      host->notified = g_strndup (LV2_ATOM_BODY_CONST (value), value->size);
      const LV2_Atom *property = NULL;
      lv2_atom_object_get (obj, patch_property, &property, 0);
      const char *uri = property && property->type == map_uri (host, LV2_ATOM__URID)
          ? unmap_uri (host, ((const LV2_Atom_URID *) property)->body) : NULL;
      if (uri)
        g_hash_table_insert (host->notified_by_property, g_strdup (uri),
            g_strdup (host->notified));
    }
  }
}

void
host_run (Host *host, const float *in, float *out, uint32_t n)
{
  g_assert (n <= 8192);
  memcpy (host->audio_in, in, sizeof (float) * n);
  /* Atom input: the pending messages, or an empty sequence. */
  if (host->pending_size) {
    memcpy (host->atom_in.bytes, host->pending, host->pending_size);
    host->pending_size = 0;
  } else {
    host->atom_in.seq.atom.type = map_uri (host, LV2_ATOM__Sequence);
    host->atom_in.seq.atom.size = sizeof (LV2_Atom_Sequence_Body);
    host->atom_in.seq.body.unit = 0;
    host->atom_in.seq.body.pad = 0;
  }
  host->atom_out.seq.atom.type = map_uri (host, LV2_ATOM__Chunk);
  host->atom_out.seq.atom.size = HOST_ATOM_CAPACITY - sizeof (LV2_Atom);
  if (host->enter)
    host->enter ();
  lilv_instance_run (host->instance, n);
  if (host->leave)
    host->leave ();
  memcpy (out, host->audio_out, sizeof (float) * n);
  if (host->atom_out.seq.atom.type == map_uri (host, LV2_ATOM__Sequence))
    read_notifications (host);

  /* The worker, between cycles: jobs, then responses in the audio context. */
  if (host->worker_iface && host->n_jobs) {
    int n_jobs = host->n_jobs;
    host->n_jobs = 0;
    for (int i = 0; i < n_jobs; i++)
      host->worker_iface->work (lilv_instance_get_handle (host->instance), respond, host,
          host->jobs[i].size, host->jobs[i].data);
  }
  if (host->worker_iface && host->n_responses) {
    int n_resp = host->n_responses;
    host->n_responses = 0;
    if (host->enter)
      host->enter ();
    for (int i = 0; i < n_resp; i++)
      host->worker_iface->work_response (lilv_instance_get_handle (host->instance),
          host->responses[i].size, host->responses[i].data);
    if (host->leave)
      host->leave ();
  }
}

const char *
host_notified_path (Host *host)
{
  return host->notified;
}

const char *
host_log_text (Host *host)
{
  return host->log_text->str;
}

void
host_log_clear (Host *host)
{
  g_mutex_lock (&host->log_lock);
  g_string_truncate (host->log_text, 0);
  g_mutex_unlock (&host->log_lock);
}

/* ------------------------------------------------------------------ state */

typedef struct {
  Host *host;
  const char *base;
  LV2_URID key;
  char *value;
  const char *restore_value;
} StateCtx;

static char *
abstract_path (LV2_State_Map_Path_Handle handle, const char *absolute)
{
  StateCtx *ctx = handle;
  size_t n = strlen (ctx->base);
  if (!strncmp (absolute, ctx->base, n) && absolute[n] == '/')
    return strdup (absolute + n + 1);
  return strdup (absolute);
}

static char *
absolute_path (LV2_State_Map_Path_Handle handle, const char *abstract)
{
  StateCtx *ctx = handle;
  if (g_path_is_absolute (abstract))
    return strdup (abstract);
  char *p = g_build_filename (ctx->base, abstract, NULL);
  char *r = strdup (p);
  g_free (p);
  return r;
}

static LV2_State_Status
store (LV2_State_Handle handle, uint32_t key, const void *value, size_t size, uint32_t type,
    uint32_t flags)
{
  StateCtx *ctx = handle;
  if (key == ctx->key && type == map_uri (ctx->host, LV2_ATOM__Path))
    ctx->value = g_strndup (value, size);
  return LV2_STATE_SUCCESS;
}

static const void *
retrieve (LV2_State_Handle handle, uint32_t key, size_t *size, uint32_t *type,
    uint32_t *flags)
{
  StateCtx *ctx = handle;
  if (key != ctx->key || !ctx->restore_value)
    return NULL;
  *size = strlen (ctx->restore_value) + 1;
  *type = map_uri (ctx->host, LV2_ATOM__Path);
  *flags = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
  return ctx->restore_value;
}

char *
host_state_save (Host *host, const char *base_dir, const char *key_uri)
{
  const LV2_State_Interface *iface = lilv_instance_get_extension_data (host->instance,
      LV2_STATE__interface);
  g_assert (iface);
  StateCtx ctx = { host, base_dir, map_uri (host, key_uri), NULL, NULL };
  LV2_State_Map_Path map_path = { &ctx, abstract_path, absolute_path };
  LV2_Feature f = { LV2_STATE__mapPath, &map_path };
  const LV2_Feature *features[] = { &f, NULL };
  iface->save (lilv_instance_get_handle (host->instance), store, &ctx,
      LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, features);
  return ctx.value;
}

/* A worker that refuses every job, as jalv 1.6.8's is when a state is restored before its
 * worker exists (it creates that worker only once safe_restore is set, and sets it later). */
static LV2_Worker_Status
refuse_work (LV2_Worker_Schedule_Handle handle, uint32_t size, const void *data)
{
  (void) handle;
  (void) size;
  (void) data;
  return LV2_WORKER_ERR_UNKNOWN;
}

typedef enum { RESTORE_PLAIN, RESTORE_THREADSAFE, RESTORE_THREADSAFE_REFUSED } RestoreMode;

/* restore() with mapPath; RESTORE_THREADSAFE adds the host's worker schedule and
 * state:threadSafeRestore, as a host that restores while the plugin runs does;
 * RESTORE_THREADSAFE_REFUSED the same with a worker that refuses every job. */
static int
restore_one_key (Host *host, const char *base_dir, const char *key_uri, const char *abstract,
    RestoreMode mode)
{
  const LV2_State_Interface *iface = lilv_instance_get_extension_data (host->instance,
      LV2_STATE__interface);
  g_assert (iface);
  StateCtx ctx = { host, base_dir, map_uri (host, key_uri), NULL, abstract };
  LV2_State_Map_Path map_path = { &ctx, abstract_path, absolute_path };
  LV2_Feature f_map_path = { LV2_STATE__mapPath, &map_path };
  LV2_Feature f_safe = { LV2_STATE__threadSafeRestore, NULL };
  LV2_Worker_Schedule refusing = { host, refuse_work };
  LV2_Feature f_refusing = { LV2_WORKER__schedule, &refusing };
  const LV2_Feature *plain[] = { &f_map_path, NULL };
  const LV2_Feature *safe[] = { &f_map_path,
    mode == RESTORE_THREADSAFE_REFUSED ? &f_refusing : &host->f_schedule, &f_safe, NULL };
  return iface->restore (lilv_instance_get_handle (host->instance), retrieve, &ctx,
      LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE, mode == RESTORE_PLAIN ? plain : safe);
}

int
host_state_restore (Host *host, const char *base_dir, const char *key_uri,
    const char *abstract)
{
  return restore_one_key (host, base_dir, key_uri, abstract, RESTORE_PLAIN);
}

const char *
host_notified_path_for (Host *host, const char *property)
{
  return g_hash_table_lookup (host->notified_by_property, property);
}

/* State with several keys (plugins with several files). */
typedef struct {
  Host *host;
  const char *base;
  const LV2_URID *keys;
  const char *const *values;
  char **stored;
  int n;
} StateKeysCtx;

static char *
keys_abstract_path (LV2_State_Map_Path_Handle handle, const char *absolute)
{
  StateCtx ctx = { .base = ((StateKeysCtx *) handle)->base };
  return abstract_path (&ctx, absolute);
}

static char *
keys_absolute_path (LV2_State_Map_Path_Handle handle, const char *abstract)
{
  StateCtx ctx = { .base = ((StateKeysCtx *) handle)->base };
  return absolute_path (&ctx, abstract);
}

static LV2_State_Status
store_keys (LV2_State_Handle handle, uint32_t key, const void *value, size_t size,
    uint32_t type, uint32_t flags)
{
  StateKeysCtx *ctx = handle;
  for (int i = 0; i < ctx->n; i++)
    if (key == ctx->keys[i] && type == map_uri (ctx->host, LV2_ATOM__Path)) {
      g_free (ctx->stored[i]);
      ctx->stored[i] = g_strndup (value, size);
    }
  return LV2_STATE_SUCCESS;
}

static const void *
retrieve_keys (LV2_State_Handle handle, uint32_t key, size_t *size, uint32_t *type,
    uint32_t *flags)
{
  StateKeysCtx *ctx = handle;
  for (int i = 0; i < ctx->n; i++)
    if (key == ctx->keys[i] && ctx->values[i]) {
      *size = strlen (ctx->values[i]) + 1;
      *type = map_uri (ctx->host, LV2_ATOM__Path);
      *flags = LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE;
      return ctx->values[i];
    }
  return NULL;
}

static int
state_keys (Host *host, const char *base_dir, const char *const *keys,
    const char *const *values, char **stored, int n)
{
  const LV2_State_Interface *iface = lilv_instance_get_extension_data (host->instance,
      LV2_STATE__interface);
  g_assert (iface);
  LV2_URID *urids = g_new (LV2_URID, n);
  for (int i = 0; i < n; i++)
    urids[i] = map_uri (host, keys[i]);
  StateKeysCtx ctx = { host, base_dir, urids, values, stored, n };
  LV2_State_Map_Path map_path = { &ctx, keys_abstract_path, keys_absolute_path };
  LV2_Feature f = { LV2_STATE__mapPath, &map_path };
  const LV2_Feature *features[] = { &f, NULL };
  LV2_Handle instance = lilv_instance_get_handle (host->instance);
  int status = stored
      ? (int) iface->save (instance, store_keys, &ctx, LV2_STATE_IS_POD
          | LV2_STATE_IS_PORTABLE, features)
      : (int) iface->restore (instance, retrieve_keys, &ctx, LV2_STATE_IS_POD
          | LV2_STATE_IS_PORTABLE, features);
  g_free (urids);
  return status;
}

char **
host_state_save_keys (Host *host, const char *base_dir, const char *const *keys, int n)
{
  char **stored = g_new0 (char *, n + 1);
  state_keys (host, base_dir, keys, NULL, stored, n);
  return stored;
}

int
host_state_restore_keys (Host *host, const char *base_dir, const char *const *keys,
    const char *const *values, int n)
{
  return state_keys (host, base_dir, keys, values, NULL, n);
}

int
host_state_restore_threadsafe (Host *host, const char *base_dir, const char *key_uri,
    const char *abstract)
{
  return restore_one_key (host, base_dir, key_uri, abstract, RESTORE_THREADSAFE);
}

int
host_state_restore_refused (Host *host, const char *base_dir, const char *key_uri,
    const char *abstract)
{
  return restore_one_key (host, base_dir, key_uri, abstract, RESTORE_THREADSAFE_REFUSED);
}

void
host_midi_event (Host *host, uint32_t frame, const uint8_t *msg, uint32_t size)
{
  if (host->pending_size == 0) {
    lv2_atom_forge_set_buffer (&host->forge, host->pending, sizeof host->pending);
    lv2_atom_forge_sequence_head (&host->forge, &host->seq_frame, 0);
  }
  lv2_atom_forge_frame_time (&host->forge, frame);
  lv2_atom_forge_atom (&host->forge, size, map_uri (host, LV2_MIDI__MidiEvent));
  lv2_atom_forge_write (&host->forge, msg, size);
  host->pending_size = lv2_atom_total_size ((LV2_Atom *) host->pending);
}
