/* A small lilv host for the LV2 tests and benchmark: URID map, a log that records messages,
 * a worker that runs jobs between run() calls (as a non-real-time host may), state:mapPath,
 * and ports connected to plain buffers. */
#ifndef LATENT_TEST_HOST_UTIL_H
#define LATENT_TEST_HOST_UTIL_H

#include <glib.h>
#include <lilv/lilv.h>
#include <lv2/atom/atom.h>
#include <lv2/atom/forge.h>
#include <lv2/log/log.h>
#include <lv2/options/options.h>
#include <lv2/state/state.h>
#include <lv2/urid/urid.h>
#include <lv2/worker/worker.h>
#include <stdbool.h>

#define HOST_ATOM_CAPACITY 8192
#define HOST_MAX_PORTS 64

typedef struct {
  bool worker;  /* offer worker:schedule */
  bool log;     /* offer log:log */
  bool map;     /* offer urid:map (and unmap) */
  int max_block; /* offer bufsz:maxBlockLength through options (0: no options) */
} HostFeatures;

typedef struct Host Host;

Host *host_new (const char *plugin_uri, double rate, HostFeatures features);
void host_free (Host *host);

LilvInstance *host_instance (Host *host);
const LilvPlugin *host_plugin (Host *host);
LV2_URID host_map (Host *host, const char *uri);
float *host_control (Host *host, const char *symbol); /* the value buffer of a control port */
void host_set_control (Host *host, const char *symbol, float value);
float host_get_control (Host *host, const char *symbol);

void host_activate (Host *host);
/* Runs n frames (n <= 8192 per call); in/out are the mono audio buffers. Delivers any queued
 * atom messages first, runs the worker's jobs and responses after (outside run()). */
void host_run (Host *host, const float *in, float *out, uint32_t n);
/* Hooks for the real-time test: called right around lilv_instance_run and work_response. */
void host_set_run_hooks (Host *host, void (*enter) (void), void (*leave) (void));

/* Queues a patch:Set of `property` to an atom:Path for the next run. */
void host_patch_set_path (Host *host, const char *property, const char *path);
void host_patch_get (Host *host, const char *property);
/* Queues a MIDI message at `frame` of the next run (call in frame order). */
void host_midi_event (Host *host, uint32_t frame, const uint8_t *msg, uint32_t size);
/* The last patch:Set path the plugin sent on its notify port for `property`, or NULL. */
const char *host_notified_path (Host *host);

/* The last patch:Set path the plugin sent for `property` (plugins with several files). */
const char *host_notified_path_for (Host *host, const char *property);

/* Everything the plugin logged, concatenated. */
const char *host_log_text (Host *host);
void host_log_clear (Host *host);

/* State through the plugin's state:interface, with a mapPath that maps files under
 * `base_dir` to paths relative to it. Returns the stored value (abstract path) of `key`. */
char *host_state_save (Host *host, const char *base_dir, const char *key_uri);
/* Restores a state holding just key_uri = (atom:Path) abstract_path. */
int host_state_restore (Host *host, const char *base_dir, const char *key_uri,
    const char *abstract_path);

/* As host_state_restore, as a host restoring while the plugin runs (state:threadSafeRestore):
 * restore() also gets the host's worker:schedule, whose jobs run after the next host_run(). */
int host_state_restore_threadsafe (Host *host, const char *base_dir, const char *key_uri,
    const char *abstract_path);
/* As host_state_restore_threadsafe with a worker that refuses every job (jalv 1.6.8 restoring
 * before its worker exists). */
int host_state_restore_refused (Host *host, const char *base_dir, const char *key_uri,
    const char *abstract_path);

/* Saves state; returns the stored abstract paths of keys[0..n-1] (NULL where not stored):
 * free each with g_free, then the array. */
char **host_state_save_keys (Host *host, const char *base_dir, const char *const *keys, int n);
/* Restores a state holding keys[i] = (atom:Path) values[i] for every non-NULL values[i]. */
int host_state_restore_keys (Host *host, const char *base_dir, const char *const *keys,
    const char *const *values, int n);

#endif
