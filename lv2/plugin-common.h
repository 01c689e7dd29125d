/* Shared LV2 glue for the latent.lv2 plugins: host features, URIDs, logging, patch:Set/Get
 * messages, state paths, and the worker (the host's where offered, else a stand-in thread).
 * Only urid:map is needed for messages and state; without it (lv2apply) the plugins still run
 * their default model. */
#ifndef LATENT_LV2_COMMON_H
#define LATENT_LV2_COMMON_H

#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/atom/util.h>
#include <lv2/buf-size/buf-size.h>
#include <lv2/core/lv2.h>
#include <lv2/log/log.h>
#include <lv2/log/logger.h>
#include <lv2/options/options.h>
#include <lv2/parameters/parameters.h>
#include <lv2/patch/patch.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>

#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <glib.h>

#define LATENT_LV2_URI "urn:latent:"
#define LATENT_LV2_PATH_MAX 4096
/* Environment variable naming the model a plugin uses when none is chosen (tests, demos);
 * unset: the model shipped inside the bundle. */
#define LATENT_LV2_DEFAULT_MODEL_ENV "LATENT_LV2_DEFAULT_MODEL"

typedef struct {
  LV2_URID atom_Path, atom_String, atom_URID, atom_Int, atom_Float, atom_Sequence,
      atom_eventTransfer;
  LV2_URID patch_Set, patch_Get, patch_property, patch_value, patch_subject;
  LV2_URID bufsz_maxBlockLength, bufsz_nominalBlockLength;
} LatentLv2Urids;

/* Host features the plugin found at instantiate. */
typedef struct {
  LV2_URID_Map *map;             /* NULL: no messages, no state */
  LV2_Worker_Schedule *schedule; /* NULL: jobs run on the plugin's own thread */
  LV2_Log_Logger logger;         /* prints to stderr when the host has no log */
  int max_block;                 /* bufsz:maxBlockLength (or nominal), 0 if not given */
  LatentLv2Urids uris;
  char *bundle_path;
} LatentLv2Host;

void latent_lv2_host_init (LatentLv2Host *host, const char *bundle_path,
    const LV2_Feature *const *features);
void latent_lv2_host_clear (LatentLv2Host *host);

/* A control port's value as an integer in lo..hi: `fallback` when the port is unconnected or
 * not finite (a host may send NaN or Inf; casting those to int is undefined). RT-safe. */
int latent_lv2_control_int (const float *port, int fallback, int lo, int hi);

/* The default model: $LATENT_LV2_DEFAULT_MODEL, else <bundle>/models/<file_name>. Newly
 * allocated. */
char *latent_lv2_default_model (const LatentLv2Host *host, const char *file_name);

/* If `obj` is a patch:Set of `property`, returns its value's string (atom:Path or
 * atom:String, NUL-terminated inside the atom) and length; else NULL. No allocation. */
const char *latent_lv2_patch_set_path (const LatentLv2Host *host, const LV2_Atom_Object *obj,
    LV2_URID property, uint32_t *len);
/* Whether `obj` is a patch:Get (of `property` or of everything). */
bool latent_lv2_is_patch_get (const LatentLv2Host *host, const LV2_Atom_Object *obj,
    LV2_URID property);
/* Appends a patch:Set { property: (atom:Path) path } event at frame 0. */
void latent_lv2_write_patch_set (const LatentLv2Host *host, LV2_Atom_Forge *forge,
    LV2_URID property, const char *path);

/* ------------------------------------------------------------------ state */

/* Stores `path` under `key` as an atom:Path, made abstract through state:mapPath when the host
 * offers it. A NULL path stores nothing (the default file needs no saving). */
LV2_State_Status latent_lv2_state_store_path (const LatentLv2Host *host,
    LV2_State_Store_Function store, LV2_State_Handle handle,
    const LV2_Feature *const *features, LV2_URID key, const char *path);
/* The path stored under `key` (atom:Path or atom:String), made absolute through state:mapPath
 * when offered; newly allocated (g_free), NULL when nothing usable was stored. */
char *latent_lv2_state_retrieve_path (const LatentLv2Host *host,
    LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    const LV2_Feature *const *features, LV2_URID key);

/* ----------------------------------------------------------------- worker */

/* Off-audio-thread jobs, as the LV2 book's eg-sampler runs them: each plugin has its own
 * LV2_Worker_Interface (work() loads files and frees replaced engines on a worker thread;
 * work_response() lets a loaded engine take over on the audio thread). Hosts without the
 * worker feature (lv2apply, GStreamer's LV2 bridge) get a stand-in: a thread of the plugin
 * that calls the same work(), and run() delivers its replies to the same work_response(). */

#define LATENT_LV2_JOB_SLOTS 8
#define LATENT_LV2_REPLY_SLOTS 16

/* A job: what to do (the plugin's kind), a file path or a log line, an engine to free. */
typedef struct {
  uint32_t kind;
  void *ptr;
  char text[LATENT_LV2_PATH_MAX];
} LatentLv2Job;

/* A reply: a loaded engine (plugin-engines.h), for the job kind that loaded it. */
typedef struct {
  uint32_t kind;
  void *engine;
} LatentLv2Reply;

typedef struct {
  LatentLv2Host *host;
  LV2_Handle instance;
  const LV2_Worker_Interface *iface; /* the plugin's own work / work_response */
  /* Stand-in mode (no host worker): SPSC rings both ways. */
  GThread *thread;
  sem_t wake;
  _Atomic int quit;
  LatentLv2Job jobs[LATENT_LV2_JOB_SLOTS];
  _Atomic uint32_t job_head, job_tail;
  LatentLv2Reply replies[LATENT_LV2_REPLY_SLOTS];
  _Atomic uint32_t reply_head, reply_tail;
} LatentLv2Worker;

/* instantiate(): starts the stand-in thread when the host has no worker. */
void latent_lv2_worker_init (LatentLv2Worker *worker, LatentLv2Host *host, LV2_Handle instance,
    const LV2_Worker_Interface *iface);
/* cleanup(): joins the stand-in thread after it ran the jobs still queued (so engines to free
 * are not lost); replies never delivered are freed (latent_lv2_engine_free). */
void latent_lv2_worker_clear (LatentLv2Worker *worker);
/* Audio thread (or restore() with restore's own schedule, see latent_lv2_find_schedule):
 * queues a job through `schedule` (NULL: the host's worker, else the stand-in); false when
 * refused or full (try again later). */
bool latent_lv2_worker_schedule (LatentLv2Worker *worker, LV2_Worker_Schedule *schedule,
    uint32_t kind, const char *text, void *ptr);
/* The LV2_Worker_Schedule among `features` (restore()'s), or NULL. */
LV2_Worker_Schedule *latent_lv2_find_schedule (const LV2_Feature *const *features);
/* Audio thread, first in run(): delivers the stand-in's replies to the plugin's
 * work_response(). */
void latent_lv2_worker_deliver (LatentLv2Worker *worker);
/* Worker thread, in work(): the job in a host's message (false when malformed). */
bool latent_lv2_job_read (uint32_t size, const void *data, LatentLv2Job *job);
/* Audio thread, in work_response(): the reply in a message (false when malformed). */
bool latent_lv2_reply_read (uint32_t size, const void *body, LatentLv2Reply *reply);

/* Audio thread: each patch:Set of properties[i] on `control` (NULL: not connected) with a
 * usable path schedules job load_jobs[i] with it; a patch:Get of any of them (or of
 * everything) sets *announce. */
void latent_lv2_read_file_messages (const LatentLv2Host *host, LatentLv2Worker *worker,
    const LV2_Atom_Forge *forge, const LV2_Atom_Sequence *control, const LV2_URID *properties,
    const uint32_t *load_jobs, int n, bool *announce);
/* Audio thread, first in run(): makes `notify` (NULL: not connected) an empty sequence, which
 * hosts read even when nothing is sent, open in `frame` (pop it last in run()); false when
 * there is nothing to write into. */
bool latent_lv2_notify_begin (const LatentLv2Host *host, LV2_Atom_Forge *forge,
    LV2_Atom_Forge_Frame *frame, LV2_Atom_Sequence *notify);

/* A plugin's extension_data: its state and worker interfaces, else NULL. Any thread. */
const void *latent_lv2_extension_data (const char *uri, const LV2_State_Interface *state,
    const LV2_Worker_Interface *worker);

#endif /* LATENT_LV2_COMMON_H */
