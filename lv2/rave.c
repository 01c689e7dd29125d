/* urn:latent:rave: mono audio through a RAVE-style model, encode -> latent bias/scale ->
 * decode, on a LatentRtStream (core/latent-rt.h): the audio thread never runs inference.
 *
 * Model file: the patch:writable parameter urn:latent:rave#model (atom:Path), set by
 * patch:Set on the control port, loaded off the audio thread (host worker, else the plugin's
 * own thread), saved with state. Without a choice: $LATENT_LV2_DEFAULT_MODEL, else
 * <bundle>/models/rave-gm.ts. A new model takes over at a block boundary: while its first L
 * frames fill, the previous model keeps playing, so output is continuous (when both have the
 * same latency). A file that fails to load leaves the previous model running and is logged
 * (log:log where offered). With no usable model the output is silence (dry when bypassed).
 * A model at another rate than the host's is resampled on the stream's worker
 * (core/latent-rt.h), its delay included in the latency port. */
#include "plugin-engines.h"
#include "latent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define RAVE_URI LATENT_LV2_URI "rave"
#define RAVE_MODEL_URI RAVE_URI "#model"
#define RAVE_DEFAULT_FILE "rave-gm.ts"
#define N_LATENT_PORTS 16
#define SCRATCH LATENT_LV2_SCRATCH

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
  PORT_LATENCY_MODE = PORT_SCALE0 + N_LATENT_PORTS, /* 0 low, 1 safe (core/latent-rt.h) */
  N_PORTS,
};

enum { JOB_LOAD = 1 }; /* beside the takeover's jobs (plugin-engines.h) */

typedef struct {
  LatentLv2Host host;
  LatentLv2Worker worker;
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

  LatentLv2Takeover engines; /* current, incoming, retired */
  LatentLv2ModelFile model;

  float g_enabled, g_wet, smooth; /* smoothed gains, one-pole coefficient */
  float wet_buf[SCRATCH], dry_buf[SCRATCH];

  LatentLv2Paths paths;
} Rave;

/* Off the audio thread: core's recipe (latent-rt.h, "Opening a model for streaming") opens the
 * file, picks encode -> decode (else forward), checks it is mono, picks the block for the
 * latency mode, warms up and starts the worker, resampling when the model's rate is not the
 * host's. */
static LatentLv2Engine *
engine_load (Rave *self, const char *path, bool is_default, GError **error)
{
  static const char *const codec[] = { "encode", "decode", NULL };
  static const char *const forward[] = { "forward", NULL };
  LatentRtLatency mode = latent_lv2_model_file_latency (&self->model);
  LatentOpenRequest request = {
    .path = path, .methods = codec, .fallback = forward, .in_channels = 1,
    .threads = latent_lv2_control_int (self->threads, 1, 1, 64), .latency = mode,
  };
  LatentRtConfig host = {
    .max_host_block = self->host.max_block,
    .rate = self->rate,
    .margin_hint = latent_lv2_model_file_margin_hint (&self->model, mode),
  };
  LatentRtStream *rt = latent_rt_stream_open (&request, "decode", &host, error);
  if (!rt)
    return NULL;
  latent_lv2_model_file_margin_used (&self->model, rt);
  LatentLv2Engine *engine = g_new0 (LatentLv2Engine, 1);
  engine->rt = rt;
  engine->latency = latent_rt_stream_get_latency (rt);
  engine->path = latent_lv2_paths_intern (&self->paths, path);
  engine->is_default = is_default;
  return engine;
}

/* Worker thread, activate() or restore(): engine_load, logged. */
static LatentLv2Engine *
load_logged (Rave *self, const char *path, bool is_default)
{
  GError *error = NULL;
  LatentLv2Engine *engine = engine_load (self, path, is_default, &error);
  return latent_lv2_model_file_log_load (&self->model, path, engine, error);
}

/* ------------------------------------------------------------------ worker */

/* Worker thread (the host's, or the plugin's stand-in): loads a model, or does a takeover job
 * (frees a replaced engine, logs). */
static LV2_Worker_Status
work (LV2_Handle instance, LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t size, const void *data)
{
  Rave *self = instance;
  LatentLv2Job job;
  if (!latent_lv2_job_read (size, data, &job))
    return LV2_WORKER_ERR_UNKNOWN;
  if (job.kind != JOB_LOAD)
    return latent_lv2_takeover_work (&self->engines, &job);
  bool is_default = latent_lv2_model_file_is_default (&self->model, job.text);
  return latent_lv2_respond_engine (respond, handle, job.kind,
      load_logged (self, job.text, is_default));
}

/* Audio thread (inside run(), or the host's work_response): a load finished; the model takes
 * over without a gap. */
static LV2_Worker_Status
work_response (LV2_Handle instance, uint32_t size, const void *body)
{
  Rave *self = instance;
  LatentLv2Reply reply;
  if (!latent_lv2_reply_read (size, body, &reply))
    return LV2_WORKER_ERR_UNKNOWN;
  latent_lv2_model_file_loaded (&self->model, reply.engine);
  return LV2_WORKER_SUCCESS;
}

static const LV2_Worker_Interface worker_interface = { work, work_response, NULL };

/* ------------------------------------------------------------- lifecycle */

/* Instantiation class: a non-real-time thread, no other call on this instance meanwhile. */
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
  latent_lv2_paths_init (&self->paths);
  self->smooth = (float) (1.0 - exp (-1.0 / (0.005 * rate)));
  latent_lv2_worker_init (&self->worker, &self->host, self, &worker_interface);
  latent_lv2_takeover_init (&self->engines, &self->worker, "rave");
  latent_lv2_model_file_init (&self->model, &self->engines, self->model_urid, JOB_LOAD,
      latent_lv2_default_model (&self->host, RAVE_DEFAULT_FILE));
  return self;
}

/* Audio class: the audio thread (or any thread before activate()); only stores the pointer. */
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
    case PORT_LATENCY_MODE: self->model.latency_port = data; break;
    default:
      if (port >= PORT_BIAS0 && port < PORT_BIAS0 + N_LATENT_PORTS)
        self->bias[port - PORT_BIAS0] = data;
      else if (port >= PORT_SCALE0 && port < PORT_SCALE0 + N_LATENT_PORTS)
        self->scale[port - PORT_SCALE0] = data;
  }
}

/* Instantiation class: a non-real-time thread, run() not running; may load (blocks). */
static void
activate (LV2_Handle instance)
{
  Rave *self = instance;
  if (latent_lv2_model_file_activate (&self->model))
    latent_lv2_model_file_activated (&self->model,
        load_logged (self, self->model.default_path, true));
  self->g_enabled = self->enabled ? (*self->enabled > 0.5f) : 1.0f;
  /* CLAMP keeps a NaN, which the smoothing would then carry for the whole session. */
  self->g_wet = self->wet && isfinite (*self->wet) ? CLAMP (*self->wet, 0.0f, 1.0f) : 1.0f;
}

/* Instantiation class: a non-real-time thread, run() not running. */
static void
deactivate (LV2_Handle instance)
{
  Rave *self = instance;
  self->model.active = false;
}

/* Instantiation class: a non-real-time thread, run() not running; joins and frees. */
static void
cleanup (LV2_Handle instance)
{
  Rave *self = instance;
  latent_lv2_worker_clear (&self->worker);
  latent_lv2_takeover_clear (&self->engines);
  latent_lv2_paths_clear (&self->paths);
  latent_lv2_model_file_clear (&self->model);
  latent_lv2_host_clear (&self->host);
  g_free (self);
}

/* ------------------------------------------------------------------ run() */

static void
set_controls (Rave *self, LatentLv2Engine *engine)
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
    latent_rt_stream_set_threads (engine->rt, latent_lv2_control_int (self->threads, 1, 1, 64));
}

/* Audio class: the host's real-time thread; never allocates, locks or waits. */
static void
run (LV2_Handle instance, uint32_t n_samples)
{
  Rave *self = instance;
  latent_lv2_worker_deliver (&self->worker);
  latent_lv2_takeover_begin_run (&self->engines);

  gboolean can_notify = latent_lv2_notify_begin (&self->host, &self->forge,
      &self->notify_frame, self->notify);
  latent_lv2_read_file_messages (&self->host, &self->worker, &self->forge, self->control,
      &self->model_urid, (const uint32_t[]) { JOB_LOAD }, 1, &self->engines.announce);
  latent_lv2_model_file_check_latency (&self->model);
  set_controls (self, self->engines.current);
  set_controls (self, self->engines.incoming);

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
    if (self->engines.current) {
      latent_lv2_takeover_process (&self->engines, in, self->wet_buf, self->dry_buf, n, wait);
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

  latent_lv2_takeover_sanitize (&self->engines, self->out, n_samples);
  latent_lv2_takeover_report (&self->engines, self->latency, self->underruns);
  const LatentLv2Engine *cur = self->engines.current;
  if (can_notify && self->engines.announce && cur) {
    latent_lv2_write_patch_set (&self->host, &self->forge, self->model_urid, cur->path);
    self->engines.announce = false;
  }
  if (can_notify)
    lv2_atom_forge_pop (&self->forge, &self->notify_frame);
}

/* ------------------------------------------------------------------ state */

/* A non-real-time thread, possibly while run() runs (LV2 state): reads atomics only. */
static LV2_State_Status
save (LV2_Handle instance, LV2_State_Store_Function store, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Rave *self = instance;
  return latent_lv2_model_file_save (&self->model, store, handle, features);
}

/* Instantiation class, or beside run() on a non-real-time thread (state:threadSafeRestore). */
static LV2_State_Status
restore (LV2_Handle instance, LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    uint32_t flags, const LV2_Feature *const *features)
{
  Rave *self = instance;
  LatentLv2Restore load = latent_lv2_model_file_restore (&self->model, retrieve, handle,
      features);
  if (!load.path)
    return load.status;
  return latent_lv2_model_file_restored (&self->model, &load,
      load_logged (self, load.path, load.is_default));
}

/* Discovery class: any thread, any time. */
static const void *
extension_data (const char *uri)
{
  static const LV2_State_Interface state = { save, restore };
  return latent_lv2_extension_data (uri, &state, &worker_interface);
}

const LV2_Descriptor latent_lv2_rave_descriptor = {
  RAVE_URI, instantiate, connect_port, activate, run, deactivate, cleanup, extension_data,
};
