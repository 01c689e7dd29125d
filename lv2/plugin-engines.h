/* Model engines of the latent.lv2 plugins: file paths that live as long as the plugin, and
 * gap-free model changes (the takeover) on LatentRtStreams, with replaced engines freed by
 * the worker (plugin-common.h), never on the audio thread. */
#ifndef LATENT_LV2_ENGINES_H
#define LATENT_LV2_ENGINES_H

#include "plugin-common.h"
#include "latent.h"

/* ------------------------------------------------------------------ paths */

/* File paths interned for the plugin's lifetime: engines, the audio thread and save() keep
 * plain `const char *`s that stay valid however often the user switches files. */
typedef struct {
  GMutex lock; /* loaders and save(); never the audio thread */
  GPtrArray *strings;
} LatentLv2Paths;

void latent_lv2_paths_init (LatentLv2Paths *paths);
void latent_lv2_paths_clear (LatentLv2Paths *paths);
/* Not for the audio thread (locks, allocates). */
const char *latent_lv2_paths_intern (LatentLv2Paths *paths, const char *path);

/* ----------------------------------------------------------------- engine */

/* A loaded model (and terrain) with its stream, ready to run: every plugin's engine. Created
 * and freed off the audio thread. */
typedef struct {
  LatentRtStream *rt; /* owns the model and the worker's state */
  int latency;        /* reported on the latency port while it plays */
  const char *path;   /* interned: file parameter 0, the model (urn:latent:terrain: the decoder) */
  const char *terrain_path; /* interned: file parameter 1, urn:latent:terrain's terrain; else NULL */
  bool is_default;    /* loaded as the default, so not saved */
  /* AFTER plugins: the model's latent frame in audio samples, voices and inputs per sample,
   * and where latent frames end in host frames: frame floor(fed * frame_num / frame_den). */
  int ratio, n_poly, in_channels;
  LatentVoices *voices; /* MIDI: written by run(), per sample; else NULL */
  int64_t frame_num, frame_den;
  int64_t fed; /* frames fed to this engine (MIDI: latent frame boundaries) */
} LatentLv2Engine;

/* Off the audio thread (worker, restore, activate, cleanup). NULL is ignored. */
void latent_lv2_engine_free (LatentLv2Engine *engine);
/* Worker thread, in work(): hands `engine` (NULL: nothing) to work_response() through the
 * host's respond (or the stand-in's); frees it when that refuses. */
LV2_Worker_Status latent_lv2_respond_engine (LV2_Worker_Respond_Function respond,
    LV2_Worker_Respond_Handle handle, uint32_t kind, LatentLv2Engine *engine);

/* --------------------------------------------------------------- takeover */

/* Gap-free model changes. A newly loaded engine is fed the same input alongside the playing
 * one until its own latency has passed, then its output replaces the old one's at that frame
 * (no silent gap; with another latency the latency port changes at that frame, and the output
 * skips or repeats the difference); the first one plays at once. Replaced engines are freed by
 * the worker, never on the audio thread. */

#define LATENT_LV2_SCRATCH 512 /* frames per takeover chunk, at most */
#define LATENT_LV2_RETIRED_SLOTS 8
/* The takeover's own job kinds (latent_lv2_takeover_work); plugins number theirs from 1. */
#define LATENT_LV2_JOB_FREE_ENGINE 0x40000000u
#define LATENT_LV2_JOB_LOG_ERROR 0x40000001u

typedef struct {
  LatentLv2Worker *worker;
  const char *name; /* the plugin's, for log lines: "latent <name>: ..." */
  LatentLv2Engine *current;
  LatentLv2Engine *incoming; /* taking over: fed alongside current until its output starts */
  int64_t incoming_fed;      /* frames fed to incoming so far */
  LatentLv2Engine *retired[LATENT_LV2_RETIRED_SLOTS]; /* waiting for a free job slot */
  bool error_logged;         /* current's worker error was reported */
  bool non_finite_logged;    /* a non-finite output was reported (once per instance) */
  /* Send the current file(s) on the notify port: set on every change; plugins also set it
   * on patch:Get and clear it once sent. */
  bool announce;
  /* Loaded off the audio thread while run() may run, without a job (restore() when the
   * host's scheduler refused): offered by the next begin_run. */
  _Atomic (LatentLv2Engine *) handed;
  float incoming_out[LATENT_LV2_SCRATCH];
} LatentLv2Takeover;

void latent_lv2_takeover_init (LatentLv2Takeover *takeover, LatentLv2Worker *worker,
    const char *name);
/* Worker thread: the plugin's work() hands every job it does not know here: freeing an
 * engine, logging a worker error. */
LV2_Worker_Status latent_lv2_takeover_work (LatentLv2Takeover *takeover,
    const LatentLv2Job *job);
/* Off the audio thread, run() may be running: `engine` is offered by the next begin_run
 * (latent_lv2_takeover_offer), as if a load job had finished. One handed over before and not
 * yet taken is freed here. */
void latent_lv2_takeover_hand_over (LatentLv2Takeover *takeover, LatentLv2Engine *engine);
/* Off the audio thread, with run() not running: frees every engine. */
void latent_lv2_takeover_clear (LatentLv2Takeover *takeover);
/* Off the audio thread, with run() not running (activate, restore in the instantiation
 * class): `engine` plays from now on; the previous ones are freed here. Not announced (the
 * caller sets `announce` where wanted). */
void latent_lv2_takeover_replace (LatentLv2Takeover *takeover, LatentLv2Engine *engine);
/* activate() with an engine already playing: drops one still taking over and resets the
 * current one's stream (false with `error` when that fails). */
bool latent_lv2_takeover_restart (LatentLv2Takeover *takeover, GError **error);

/* Audio thread, first in run(): offers an engine handed over, hands retired engines to free
 * jobs as slots open, reports the current engine's worker error once (a log job). */
void latent_lv2_takeover_begin_run (LatentLv2Takeover *takeover);
/* Audio thread (work_response): a load finished; `engine` takes over as described above. An
 * engine still taking over is dropped for it. */
void latent_lv2_takeover_offer (LatentLv2Takeover *takeover, LatentLv2Engine *engine);
/* Audio thread, with a current engine, n <= LATENT_LV2_SCRATCH: runs the current engine's
 * stream on `in` into `out` (and `dry`, may be NULL), and the incoming one's, if any, on the
 * same input, then mixes (latent_lv2_takeover_mix). */
void latent_lv2_takeover_process (LatentLv2Takeover *takeover, const float *in, float *out,
    float *dry, uint32_t n, LatentRtWait wait);
/* Audio thread: `out` holds the current engine's n frames, incoming_out the incoming one's
 * (mono): from the frame the incoming latency has passed, out takes incoming's; once it has,
 * incoming becomes current and the old one is retired. For plugins feeding each engine its
 * own input. */
void latent_lv2_takeover_mix (LatentLv2Takeover *takeover, float *out, uint32_t n);
/* Audio thread: intra-op threads for the engines playing (from the threads port). */
void latent_lv2_takeover_set_threads (LatentLv2Takeover *takeover, int threads);
/* Audio thread, last in run(): nothing non-finite reaches the host. NaN/Inf output samples
 * (from the input, a control or the model) become 0; the first time, a log line says so. */
void latent_lv2_takeover_sanitize (LatentLv2Takeover *takeover, float *out, uint32_t n);
/* Audio thread, last in run(): the latency and underruns output ports (NULL: unconnected). */
void latent_lv2_takeover_report (const LatentLv2Takeover *takeover, float *latency,
    float *underruns);

/* ------------------------------------------------------------- model file */

/* The file parameters of a plugin, loaded together into one engine: urn:latent:rave's and the
 * AFTER plugins' model, urn:latent:terrain's decoder (parameter 0) and terrain (parameter 1).
 * patch:Set of a parameter loads, the user's choice is saved with state, the default (not
 * saved) otherwise. The plugin loads (its own engine_load, in work(), activate() or
 * restore()); this keeps what was chosen, which files to load together, the latency mode to
 * build in, and the load log lines. */

#define LATENT_LV2_MAX_FILES 2
/* A plugin with several file parameters: load the files playing again (latency mode change). */
#define LATENT_LV2_JOB_RELOAD 0x40000002u

typedef struct {
  LV2_URID key;                  /* the patch:writable parameter and state key */
  uint32_t job_load;             /* the plugin's job kind loading text as this file */
  char *default_path;
  _Atomic (const char *) chosen; /* the user's file (saved); NULL: the default */
  /* Loaders, under the model file's lock: the file asked for last (even if refused) and the
   * one in the engine loaded last; interned in the model file's names. */
  const char *wanted, *loaded;
} LatentLv2FileParam;

typedef struct {
  LatentLv2Takeover *engines;
  int n_files;
  LatentLv2FileParam files[LATENT_LV2_MAX_FILES];
  const char *default_path;      /* files[0]'s: what one-file plugins load at activate() */
  GMutex lock;                   /* loaders: wanted and loaded */
  LatentLv2Paths names;          /* wanted and loaded, interned */
  bool active;                   /* between activate() and deactivate(): run() may run */
  /* The `latency` control port (0 low, 1 safe; lv2:enumeration), connected by the plugin;
   * the mode engines are built in, and the one last asked for (audio thread). */
  const float *latency_port;
  _Atomic int latency_mode;
  int latency_asked;
  _Atomic int margin[2]; /* per LatentRtLatency mode: the margin the last load used */
} LatentLv2ModelFile;

/* Files to load together, one per parameter, in parameter order. */
typedef struct {
  const char *paths[LATENT_LV2_MAX_FILES];
  bool last_try; /* no other set is tried when this one fails (for the log line) */
} LatentLv2FileSet;

/* The latency control's value as core's mode: >= 0.5 safe, else (NULL, NaN too) low. */
LatentRtLatency latent_lv2_latency_mode (const float *port);
/* Loaders (any thread): the mode to build the engine in. */
LatentRtLatency latent_lv2_model_file_latency (LatentLv2ModelFile *file);
/* Loaders: LatentRtConfig.margin_hint for `mode`, and the margin a new stream used. */
int latent_lv2_model_file_margin_hint (LatentLv2ModelFile *file, LatentRtLatency mode);
void latent_lv2_model_file_margin_used (LatentLv2ModelFile *file, const LatentRtStream *rt);
/* Audio thread, in run(): when the latency control differs from the mode last asked for,
 * schedules a reload of the playing model in the new mode (job_load); it takes over as a model
 * change does (without a gap), and the latency port follows. */
void latent_lv2_model_file_check_latency (LatentLv2ModelFile *file);

/* instantiate(): parameter 0. Takes `default_path` (g_free'd by clear). */
void latent_lv2_model_file_init (LatentLv2ModelFile *file, LatentLv2Takeover *engines,
    LV2_URID key, uint32_t job_load, char *default_path);
/* instantiate(): one more parameter, loaded together with the others (its path is the
 * engine's terrain_path); a latency mode change then reloads with LATENT_LV2_JOB_RELOAD.
 * Takes `default_path`. */
void latent_lv2_model_file_add (LatentLv2ModelFile *file, LV2_URID key, uint32_t job_load,
    char *default_path);
/* Worker thread, in work(): the sets to try for job `kind` with `text` (returns how many; 0:
 * not a load job of these files). job_load of parameter i: text beside the files asked for
 * last; when one of those is not the one playing (it may have been refused), then text beside
 * the files playing. LATENT_LV2_JOB_RELOAD: the files playing. */
int latent_lv2_model_file_plan (LatentLv2ModelFile *file, uint32_t kind, const char *text,
    LatentLv2FileSet sets[2]);
/* Loaders, after `set` loaded: it is what was asked for and what plays (fallback of later
 * requests). */
void latent_lv2_model_file_set_loaded (LatentLv2ModelFile *file, const LatentLv2FileSet *set);
void latent_lv2_model_file_clear (LatentLv2ModelFile *file);
/* Whether `path` is the default model (loaded as such: not saved). */
bool latent_lv2_model_file_is_default (const LatentLv2ModelFile *file, const char *path);
/* Loaders, after engine_load: logs how it went (and frees `error`); returns `engine`. */
LatentLv2Engine *latent_lv2_model_file_log_load (LatentLv2ModelFile *file, const char *path,
    LatentLv2Engine *engine, GError *error);
/* Audio thread (work_response): the loaded engine takes over; its files are the user's
 * choice from now on. */
void latent_lv2_model_file_loaded (LatentLv2ModelFile *file, LatentLv2Engine *engine);
/* activate(): true the first time (the caller loads the default and passes it to
 * latent_lv2_model_file_activated), else resets the playing engine (errors are logged). */
bool latent_lv2_model_file_activate (LatentLv2ModelFile *file);
void latent_lv2_model_file_activated (LatentLv2ModelFile *file, LatentLv2Engine *engine);
/* save(): every parameter's choice (the defaults are not stored). */
LV2_State_Status latent_lv2_model_file_save (LatentLv2ModelFile *file,
    LV2_State_Store_Function store, LV2_State_Handle handle,
    const LV2_Feature *const *features);

/* restore(): what the stored files (none: the defaults) ask of the plugin. With
 * state:threadSafeRestore while active (the host passes its worker; run() may run meanwhile)
 * the load is a job and the model takes over in work_response, as after a patch:Set; when
 * that worker refuses the job (jalv 1.6.8 creates it only after its first restore), the
 * plugin loads in restore() and run() lets it take over the same way
 * (latent_lv2_takeover_hand_over). Otherwise (run() is not running) the plugin loads and
 * swaps in restore(), as the LV2 book's eg-sampler does. */
typedef struct {
  char *paths[LATENT_LV2_MAX_FILES]; /* the files to load in restore(); NULL: nothing */
  char *path;      /* paths[0] */
  bool is_default; /* paths[0] is the default */
  bool hand_over;  /* run() may be running: hand the engine over instead of swapping */
  LV2_State_Status status; /* the result when there is nothing to load */
} LatentLv2Restore;

LatentLv2Restore latent_lv2_model_file_restore (LatentLv2ModelFile *file,
    LV2_State_Retrieve_Function retrieve, LV2_State_Handle handle,
    const LV2_Feature *const *features);
/* After the plugin loaded restore->paths (engine NULL: it failed): installs it; frees the
 * paths. */
LV2_State_Status latent_lv2_model_file_restored (LatentLv2ModelFile *file,
    LatentLv2Restore *restore, LatentLv2Engine *engine);

#endif /* LATENT_LV2_ENGINES_H */
