/* urn:latent:rave: mono audio through a RAVE-style model, encode -> latent bias/scale ->
 * decode, on a LatentRtStream (core/latent-rt.h): the audio thread never runs inference.
 *
 * Model file: the patch:writable parameter urn:latent:rave#model (atom:Path), set by
 * patch:Set on the control port, loaded off the audio thread (host worker, else the plugin's
 * own thread), saved with state. Without a choice: $LATENT_LV2_DEFAULT_MODEL, else
 * <bundle>/models/rave-gm.ts. A new model takes over at a block boundary: while its first L
 * frames fill, the previous model keeps playing, so output is continuous (when both have the
 * same latency). A file that fails to load, or whose rate differs from the host's, leaves the
 * previous model running and is logged (log:log where offered). With no usable model the
 * output is silence (dry when bypassed): this plugin never resamples. */
#include "plugin-common.h"
#include "latent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RAVE_URI LATENT_LV2_URI "rave"
#define RAVE_MODEL_URI RAVE_URI "#model"
#define RAVE_DEFAULT_FILE "rave-gm.ts"
#define N_LATENT_PORTS 16
#define SCRATCH 512

enum {
  PORT_IN,
  PORT_OUT,
  PORT_CONTROL,
  PORT_NOTIFY,
  PORT_ENABLED,
  PORT_WET,
  PORT_THREADS,
  PORT_FREEWHEEL,
  PORT_LATENCY,
  PORT_UNDERRUNS,
  PORT_BIAS0,
  PORT_SCALE0 = PORT_BIAS0 + N_LATENT_PORTS,
  N_PORTS = PORT_SCALE0 + N_LATENT_PORTS,
};

enum { JOB_LOAD = 1, JOB_FREE, JOB_LOG };

/* A loaded model, ready to run. Created and freed off the audio thread. */
typedef struct {
  LatentRtStream *rt;
  const char *path; /* interned in Rave.paths: lives as long as the plugin */
  gboolean is_default;
  int latency;
} Engine;

typedef struct {
  LatentLv2Host host;
  LatentLv2Jobs jobs;
  LV2_URID model_urid;
  LV2_Atom_Forge forge;
  LV2_Atom_Forge_Frame notify_frame; /* the notify sequence, open during run() */
  double rate;

  const float *in;
  float *out;
  const LV2_Atom_Sequence *control;
  LV2_Atom_Sequence *notify;
  const float *enabled, *wet, *threads, *freewheel;
  float *latency, *underruns;
  const float *bias[N_LATENT_PORTS], *scale[N_LATENT_PORTS];

  Engine *current;
  Engine *incoming;      /* taking over: fed alongside current until its output starts */
  int64_t incoming_fed;  /* frames fed to incoming so far */
  Engine *retired[8];    /* waiting for a free job slot */
  gboolean notify_model; /* send patch:Set of the model on the next run */
  gboolean error_logged; /* the current engine's worker error was reported */

  float g_enabled, g_wet, smooth; /* smoothed gains, one-pole coefficient */
  float wet_buf[SCRATCH], next_buf[SCRATCH], dry_buf[SCRATCH];

  GMutex paths_lock; /* guards `paths` (load jobs, save; never the audio thread) */
  GPtrArray *paths;
  _Atomic (const char *) chosen; /* path chosen by the user (saved), NULL: the default */
  char *default_path;
} Rave;

static const char *
intern_path (Rave *self, const char *path)
{
  g_mutex_lock (&self->paths_lock);
  const char *found = NULL;
  for (guint i = 0; i < self->paths->len && !found; i++)
    if (!strcmp (self->paths->pdata[i], path))
      found = self->paths->pdata[i];
  if (!found) {
    found = g_strdup (path);
    g_ptr_array_add (self->paths, (gpointer) found);
  }
  g_mutex_unlock (&self->paths_lock);
  return found;
}

static void
engine_free (Engine *engine)
{
  if (!engine)
    return;
  latent_rt_stream_free (engine->rt);
  g_free (engine);
}

/* Off the audio thread: open, check, warm up, start the worker. */
static Engine *
engine_load (Rave *self, const char *path, gboolean is_default, GError **error)
{
  int threads = self->threads ? (int) CLAMP (*self->threads, 1, 64) : 1;
  LatentModel *model = latent_model_open (path, threads, error);
  if (!model)
    return NULL;
  int sr = latent_model_get_sample_rate (model);
  if (sr > 0 && fabs (sr - self->rate) > 0.5) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: the model runs at %d Hz but the host at %.0f Hz; latent does not resample "
        "(run the host at %d Hz)", path, sr, self->rate, sr);
    latent_model_free (model);
    return NULL;
  }
  const char *codec[] = { "encode", "decode" };
  const char *forward[] = { "forward" };
  const char *const *methods;
  int n_methods, affine_stage;
  if (latent_model_has_method (model, "encode") && latent_model_has_method (model, "decode")) {
    methods = codec;
    n_methods = 2;
    affine_stage = 1;
  } else if (latent_model_has_method (model, "forward")) {
    methods = forward;
    n_methods = 1;
    affine_stage = -1;
  } else {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
        "%s: needs encode and decode (or forward); it has none of them", path);
    latent_model_free (model);
    return NULL;
  }
  LatentMethodInfo info;
  if (!latent_model_get_method_info (model, methods[0], &info, error)) {
    latent_model_free (model);
    return NULL;
  }
  if (info.in_channels != 1) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: %s takes %d channels; this plugin is mono", path, methods[0], info.in_channels);
    latent_model_free (model);
    return NULL;
  }
  /* Warm up at the block the stream will use (profiling executor off the audio path). */
  LatentStream *probe = latent_stream_new (model, methods[0], 0, error);
  if (!probe) {
    latent_model_free (model);
    return NULL;
  }
  int block = latent_stream_get_block (probe);
  latent_stream_free (probe);
  int frames = block;
  for (int i = 0; i < n_methods; i++) {
    LatentMethodInfo mi;
    if (!latent_model_get_method_info (model, methods[i], &mi, error)
        || !latent_model_warm_up (model, methods[i], frames, error)) {
      latent_model_free (model);
      return NULL;
    }
    frames = (int) ((gint64) frames * mi.in_ratio / mi.out_ratio);
  }
  LatentRtConfig config = {
    .block = block,
    .max_host_block = self->host.max_block,
    .affine_stage = affine_stage,
    .rate = self->rate,
    .threads = threads,
  };
  LatentRtStream *rt = latent_rt_stream_new (model, methods, n_methods, &config, error);
  if (!rt)
    return NULL;
  Engine *engine = g_new0 (Engine, 1);
  engine->rt = rt;
  engine->path = intern_path (self, path);
  engine->is_default = is_default;
  engine->latency = latent_rt_stream_get_latency (rt);
  return engine;
}

static Engine *
load_logged (Rave *self, const char *path, gboolean is_default)
{
  GError *error = NULL;
  Engine *engine = engine_load (self, path, is_default, &error);
  if (!engine) {
    lv2_log_error (&self->host.logger, "latent rave: cannot use model %s: %s\n", path,
        error ? error->message : "unknown error");
    g_clear_error (&error);
  } else {
    lv2_log_note (&self->host.logger, "latent rave: model %s (latency %d frames)\n", path,
        engine->latency);
  }
  return engine;
}

/* ------------------------------------------------------------------- jobs */

static void *
job_run (void *owner, uint32_t kind, const char *text, void *ptr)
{
  Rave *self = owner;
  switch (kind) {
    case JOB_LOAD: {
      gboolean is_default = !strcmp (text, self->default_path);
      return load_logged (self, text, is_default);
    }
    case JOB_FREE:
      engine_free (ptr);
      return NULL;
    case JOB_LOG:
      lv2_log_error (&self->host.logger, "latent rave: %s\n", text);
      return NULL;
  }
  return NULL;
}

static void
retire (Rave *self, Engine *engine)
{
  if (!engine)
    return;
  if (latent_lv2_jobs_schedule (&self->jobs, JOB_FREE, NULL, engine))
    return;
  for (int i = 0; i < (int) G_N_ELEMENTS (self->retired); i++)
    if (!self->retired[i]) {
      self->retired[i] = engine;
      return;
    }
  /* Nowhere to put it: leak rather than free on the audio thread. */
}

/* Audio thread: a load finished. */
static void
job_done (void *owner, uint32_t kind, void *result)
{
  Rave *self = owner;
  if (kind & 0x80000000u) { /* discarded at shutdown, not on the audio thread */
    engine_free (result);
    return;
  }
  Engine *engine = result;
  if (self->incoming) { /* a newer load replaces one still taking over */
    retire (self, self->incoming);
    self->incoming = NULL;
  }
  if (!self->current || self->current->latency != engine->latency) {
    retire (self, self->current);
    self->current = engine;
    self->error_logged = FALSE;
    self->notify_model = TRUE;
  } else {
    self->incoming = engine; /* notified when it takes over */
    self->incoming_fed = 0;
  }
  atomic_store (&self->chosen, engine->is_default ? NULL : engine->path);
}

/* ------------------------------------------------------------- lifecycle */

static LV2_Handle
instantiate (const LV2_Descriptor *descriptor, double rate, const char *bundle_path,
    const LV2_Feature *const *features)
{
  Rave *self = g_new0 (Rave, 1);
  latent_lv2_host_init (&self->host, bundle_path, features);
  self->rate = rate;
  if (self->host.map) {
    self->model_urid = self->host.map->map (self->host.map->handle, RAVE_MODEL_URI);
    lv2_atom_forge_init (&self->forge, self->host.map);
  }
  g_mutex_init (&self->paths_lock);
  self->paths = g_ptr_array_new_with_free_func (g_free);
  self->default_path = latent_lv2_default_model (&self->host, RAVE_DEFAULT_FILE);
  self->smooth = (float) (1.0 - exp (-1.0 / (0.005 * rate)));
  latent_lv2_jobs_init (&self->jobs, &self->host, self, job_run, job_done);
  return self;
}

static void
connect_port (LV2_Handle instance, uint32_t port, void *data)
{
  Rave *self = instance;
  switch (port) {
    case PORT_IN: self->in = data; break;
    case PORT_OUT: self->out = data; break;
    case PORT_CONTROL: self->control = data; break;
    case PORT_NOTIFY: self->notify = data; break;
    case PORT_ENABLED: self->enabled = data; break;
    case PORT_WET: self->wet = data; break;
    case PORT_THREADS: self->threads = data; break;
    case PORT_FREEWHEEL: self->freewheel = data; break;
    case PORT_LATENCY: self->latency = data; break;
    case PORT_UNDERRUNS: self->underruns = data; break;
    default:
      if (port >= PORT_BIAS0 && port < PORT_BIAS0 + N_LATENT_PORTS)
        self->bias[port - PORT_BIAS0] = data;
      else if (port >= PORT_SCALE0 && port < PORT_SCALE0 + N_LATENT_PORTS)
        self->scale[port - PORT_SCALE0] = data;
  }
}

static void
activate (LV2_Handle instance)
{
  Rave *self = instance;
  if (!self->current) {
    self->current = load_logged (self, self->default_path, TRUE);
  } else {
    GError *error = NULL;
    if (!latent_rt_stream_reset (self->current->rt, &error)) {
      lv2_log_error (&self->host.logger, "latent rave: reset: %s\n", error->message);
      g_clear_error (&error);
    }
  }
  if (self->incoming) {
    engine_free (self->incoming);
    self->incoming = NULL;
  }
  self->error_logged = FALSE;
  self->g_enabled = self->enabled ? (*self->enabled > 0.5f) : 1.0f;
  self->g_wet = self->wet ? CLAMP (*self->wet, 0.0f, 1.0f) : 1.0f;
}

static void
deactivate (LV2_Handle instance)
{
}

static void
cleanup (LV2_Handle instance)
{
  Rave *self = instance;
  latent_lv2_jobs_clear (&self->jobs);
  engine_free (self->current);
  engine_free (self->incoming);
  for (int i = 0; i < (int) G_N_ELEMENTS (self->retired); i++)
    engine_free (self->retired[i]);
  g_ptr_array_unref (self->paths);
  g_mutex_clear (&self->paths_lock);
  g_free (self->default_path);
  latent_lv2_host_clear (&self->host);
  g_free (self);
}

/* ------------------------------------------------------------------ run() */

static void
read_messages (Rave *self)
{
  if (!self->control || !self->host.map)
    return;
  LV2_ATOM_SEQUENCE_FOREACH (self->control, ev) {
    const LV2_Atom_Object *obj = (const LV2_Atom_Object *) &ev->body;
    if (!lv2_atom_forge_is_object_type (&self->forge, ev->body.type))
      continue;
    uint32_t len = 0;
    const char *path = latent_lv2_patch_set_path (&self->host, obj, self->model_urid, &len);
    if (path && len > 0 && len < LATENT_LV2_PATH_MAX)
      latent_lv2_jobs_schedule (&self->jobs, JOB_LOAD, path, NULL);
    else if (latent_lv2_is_patch_get (&self->host, obj, self->model_urid))
      self->notify_model = TRUE;
  }
}

static void
set_controls (Rave *self, Engine *engine)
{
  if (!engine)
    return;
  float bias[N_LATENT_PORTS], scale[N_LATENT_PORTS];
  for (int i = 0; i < N_LATENT_PORTS; i++) {
    bias[i] = self->bias[i] && isfinite (*self->bias[i]) ? *self->bias[i] : 0.0f;
    scale[i] = self->scale[i] && isfinite (*self->scale[i]) ? *self->scale[i] : 1.0f;
  }
  latent_rt_stream_set_affine (engine->rt, bias, scale, N_LATENT_PORTS);
  if (self->threads)
    latent_rt_stream_set_threads (engine->rt, (int) CLAMP (*self->threads, 1, 64));
}

static void
run (LV2_Handle instance, uint32_t n_samples)
{
  Rave *self = instance;
  latent_lv2_jobs_deliver (&self->jobs);
  for (int i = 0; i < (int) G_N_ELEMENTS (self->retired); i++)
    if (self->retired[i] && latent_lv2_jobs_schedule (&self->jobs, JOB_FREE, NULL,
            self->retired[i]))
      self->retired[i] = NULL;

  /* Notify port: prepare an empty sequence (hosts read it even when nothing is sent). */
  gboolean can_notify = FALSE;
  if (self->notify && self->host.map) {
    uint32_t capacity = self->notify->atom.size;
    lv2_atom_forge_set_buffer (&self->forge, (uint8_t *) self->notify, capacity);
    can_notify = lv2_atom_forge_sequence_head (&self->forge, &self->notify_frame, 0) != 0;
  }
  read_messages (self);

  Engine *cur = self->current;
  if (cur && !self->error_logged) {
    const char *err = latent_rt_stream_get_error (cur->rt);
    if (err) {
      latent_lv2_jobs_schedule (&self->jobs, JOB_LOG, err, NULL);
      self->error_logged = TRUE;
    }
  }
  set_controls (self, cur);
  set_controls (self, self->incoming);

  LatentRtWait wait = self->freewheel && *self->freewheel > 0.5f ? LATENT_RT_WAIT_ALWAYS
      : LATENT_RT_WAIT_AUTO;
  const float target_enabled = self->enabled ? (*self->enabled > 0.5f ? 1.0f : 0.0f) : 1.0f;
  const float target_wet = self->wet && isfinite (*self->wet)
      ? CLAMP (*self->wet, 0.0f, 1.0f) : 1.0f;

  uint32_t done = 0;
  while (done < n_samples) {
    uint32_t n = MIN (n_samples - done, SCRATCH);
    const float *in = self->in + done;
    float *out = self->out + done;
    if (cur) {
      latent_rt_stream_process (cur->rt, in, self->wet_buf, self->dry_buf, n, wait);
      if (self->incoming) {
        Engine *next = self->incoming;
        latent_rt_stream_process (next->rt, in, self->next_buf, NULL, n, wait);
        /* The new model's output starts once its own latency has passed. */
        for (uint32_t i = 0; i < n; i++)
          if (self->incoming_fed + i >= next->latency)
            self->wet_buf[i] = self->next_buf[i];
        self->incoming_fed += n;
        if (self->incoming_fed >= next->latency) {
          retire (self, cur);
          self->current = cur = next;
          self->incoming = NULL;
          self->error_logged = FALSE;
          self->notify_model = TRUE;
        }
      }
    } else {
      memset (self->wet_buf, 0, sizeof (float) * n);
      memcpy (self->dry_buf, in, sizeof (float) * n);
    }
    float ge = self->g_enabled, gw = self->g_wet;
    const float a = self->smooth;
    for (uint32_t i = 0; i < n; i++) {
      ge += a * (target_enabled - ge);
      gw += a * (target_wet - gw);
      float dry = self->dry_buf[i];
      float processed = gw * self->wet_buf[i] + (1.0f - gw) * dry;
      out[i] = ge * processed + (1.0f - ge) * dry;
    }
    self->g_enabled = ge;
    self->g_wet = gw;
    done += n;
  }

  if (self->latency)
    *self->latency = cur ? (float) cur->latency : 0.0f;
  if (self->underruns)
    *self->underruns = cur ? (float) latent_rt_stream_get_underruns (cur->rt) : 0.0f;
  if (can_notify && self->notify_model) {
    const char *path = cur ? cur->path : NULL;
    if (path) {
      latent_lv2_write_patch_set (&self->host, &self->forge, self->model_urid, path);
      self->notify_model = FALSE;
    }
  }
  if (can_notify)
    lv2_atom_forge_pop (&self->forge, &self->notify_frame);
}

/* ------------------------------------------------------------------ state */

static LV2_State_Status
save (LV2_Handle instance, LV2_State_Store_Function store, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Rave *self = instance;
  if (!self->host.map)
    return LV2_STATE_ERR_NO_FEATURE;
  const char *path = atomic_load (&self->chosen);
  if (!path)
    return LV2_STATE_SUCCESS; /* the default model: nothing to save */
  LV2_State_Map_Path *map_path = NULL;
  for (int i = 0; features && features[i]; i++)
    if (!strcmp (features[i]->URI, LV2_STATE__mapPath))
      map_path = features[i]->data;
  char *abstract = map_path ? map_path->abstract_path (map_path->handle, path)
      : g_strdup (path);
  LV2_State_Status status = store (handle, self->model_urid, abstract, strlen (abstract) + 1,
      self->host.uris.atom_Path, LV2_STATE_IS_POD | LV2_STATE_IS_PORTABLE);
  free (abstract); /* allocated by the host with malloc (state:freePath where offered) */
  return status;
}

static LV2_State_Status
restore (LV2_Handle instance, LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Rave *self = instance;
  if (!self->host.map)
    return LV2_STATE_ERR_NO_FEATURE;
  size_t size = 0;
  uint32_t type = 0, vflags = 0;
  const char *value = retrieve (handle, self->model_urid, &size, &type, &vflags);
  char *path = NULL;
  if (value && size > 0 && (type == self->host.uris.atom_Path
          || type == self->host.uris.atom_String)) {
    LV2_State_Map_Path *map_path = NULL;
    for (int i = 0; features && features[i]; i++)
      if (!strcmp (features[i]->URI, LV2_STATE__mapPath))
        map_path = features[i]->data;
    char *tmp = g_strndup (value, size);
    if (map_path) {
      char *abs = map_path->absolute_path (map_path->handle, tmp);
      path = g_strdup (abs);
      free (abs);
    } else {
      path = g_strdup (tmp);
    }
    g_free (tmp);
  }
  gboolean is_default = !path;
  if (!path)
    path = g_strdup (self->default_path);
  /* restore() is in the instantiation class (no threadSafeRestore): run() is not running,
   * so load synchronously and swap directly, as the LV2 book's eg-sampler does. */
  if (self->current && self->current->path && !strcmp (self->current->path, path)
      && self->current->is_default == is_default) {
    g_free (path);
    return LV2_STATE_SUCCESS;
  }
  Engine *engine = load_logged (self, path, is_default);
  g_free (path);
  if (!engine)
    return LV2_STATE_ERR_UNKNOWN;
  engine_free (self->incoming);
  self->incoming = NULL;
  engine_free (self->current);
  self->current = engine;
  self->error_logged = FALSE;
  atomic_store (&self->chosen, is_default ? NULL : engine->path);
  self->notify_model = TRUE;
  return LV2_STATE_SUCCESS;
}

/* ---------------------------------------------------------------- worker */

static LV2_Worker_Status
work (LV2_Handle instance, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  Rave *self = instance;
  return latent_lv2_jobs_work (&self->jobs, respond, handle, size, data);
}

static LV2_Worker_Status
work_response (LV2_Handle instance, uint32_t size, const void *body)
{
  Rave *self = instance;
  return latent_lv2_jobs_work_response (&self->jobs, size, body);
}

static const void *
extension_data (const char *uri)
{
  static const LV2_State_Interface state = { save, restore };
  static const LV2_Worker_Interface worker = { work, work_response, NULL };
  if (!strcmp (uri, LV2_STATE__interface))
    return &state;
  if (!strcmp (uri, LV2_WORKER__interface))
    return &worker;
  return NULL;
}

const LV2_Descriptor latent_lv2_rave_descriptor = {
  RAVE_URI, instantiate, connect_port, activate, run, deactivate, cleanup, extension_data,
};
