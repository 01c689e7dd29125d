/* Real-time safety of urn:latent:rave's run(): this executable defines malloc, calloc,
 * realloc, free, posix_memalign, aligned_alloc and pthread_mutex_lock (exported with
 * -rdynamic, so the plugin and its libraries call these), forwards them to glibc, and counts
 * the calls made on a thread while its thread-local "inside run()" flag is set. After a
 * warm-up, thousands of run() calls, including a patch:Set model change (the host's worker
 * runs the load between cycles; work_response runs flagged, like run()), in 64-frame and
 * 1-frame blocks, must make none. GLib's g_mutex_lock is counted as a lock, and sem_wait /
 * sem_timedwait as waits: none while the host is paced in real time (waiting is allowed only
 * for hosts running faster than real time, see core/latent-rt.h). */
#include "host-util.h"

#include <dlfcn.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void *__libc_malloc (size_t);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
extern void __libc_free (void *);
extern void *__libc_memalign (size_t, size_t);

static __thread int inside_run;
static int counting;
static unsigned long calls_malloc, calls_free, calls_lock;

static void
note (unsigned long *counter)
{
  if (inside_run && counting)
    __atomic_add_fetch (counter, 1, __ATOMIC_RELAXED);
}

void *
malloc (size_t n)
{
  note (&calls_malloc);
  return __libc_malloc (n);
}

void *
calloc (size_t a, size_t b)
{
  note (&calls_malloc);
  return __libc_calloc (a, b);
}

void *
realloc (void *p, size_t n)
{
  note (&calls_malloc);
  return __libc_realloc (p, n);
}

void
free (void *p)
{
  if (p)
    note (&calls_free);
  __libc_free (p);
}

int
posix_memalign (void **out, size_t align, size_t n)
{
  note (&calls_malloc);
  void *p = __libc_memalign (align, n);
  if (!p)
    return 12;
  *out = p;
  return 0;
}

void *
aligned_alloc (size_t align, size_t n)
{
  note (&calls_malloc);
  return __libc_memalign (align, n);
}

void *
memalign (size_t align, size_t n)
{
  note (&calls_malloc);
  return __libc_memalign (align, n);
}

typedef int (*LockFunc) (pthread_mutex_t *);
static LockFunc real_lock;
typedef void (*GLockFunc) (GMutex *);
static GLockFunc real_g_lock;
typedef int (*SemWaitFunc) (sem_t *);
typedef int (*SemTimedWaitFunc) (sem_t *, const struct timespec *);
static SemWaitFunc real_sem_wait;
static SemTimedWaitFunc real_sem_timedwait;
static unsigned long calls_wait;

/* GLib's GMutex is futex-based on Linux, not pthread_mutex_lock: count it too. */
void
g_mutex_lock (GMutex *m)
{
  note (&calls_lock);
  if (!real_g_lock)
    real_g_lock = (GLockFunc) dlsym (RTLD_NEXT, "g_mutex_lock");
  real_g_lock (m);
}

/* Waits: allowed only when the host runs faster than real time (offline); counted apart. */
int
sem_wait (sem_t *s)
{
  note (&calls_wait);
  if (!real_sem_wait)
    real_sem_wait = (SemWaitFunc) dlsym (RTLD_NEXT, "sem_wait");
  return real_sem_wait (s);
}

int
sem_timedwait (sem_t *s, const struct timespec *ts)
{
  note (&calls_wait);
  if (!real_sem_timedwait)
    real_sem_timedwait = (SemTimedWaitFunc) dlsym (RTLD_NEXT, "sem_timedwait");
  return real_sem_timedwait (s, ts);
}

int
pthread_mutex_lock (pthread_mutex_t *m)
{
  note (&calls_lock);
  if (!real_lock)
    real_lock = (LockFunc) dlsym (RTLD_NEXT, "pthread_mutex_lock");
  return real_lock (m);
}

static void
enter (void)
{
  inside_run = 1;
}

static void
leave (void)
{
  inside_run = 0;
}

int
main (int argc, char **argv)
{
  real_lock = (LockFunc) dlsym (RTLD_NEXT, "pthread_mutex_lock");
  const char *fixture = LATENT_TEST_DATA "/stateful-codec.ts";
  g_setenv ("LATENT_LV2_DEFAULT_MODEL", fixture, TRUE);
  if (!g_getenv ("LV2_PATH"))
    g_setenv ("LV2_PATH", LATENT_LV2_PATH, TRUE);

  /* Self-check: the interposition sees calls made from inside the flag. */
  inside_run = 1;
  counting = 1;
  void *volatile probe = malloc (16);
  free (probe);
  probe = g_malloc (16); /* from a shared library, like the plugin's calls */
  g_free (probe);
  GMutex mutex;
  g_mutex_init (&mutex);
  g_mutex_lock (&mutex);
  g_mutex_unlock (&mutex);
  g_mutex_clear (&mutex);
  counting = 0;
  inside_run = 0;
  if (calls_malloc != 2 || calls_free != 2 || calls_lock != 1) {
    printf ("interposition does not work (malloc %lu, free %lu, lock %lu)\n", calls_malloc,
        calls_free, calls_lock);
    return 1;
  }
  calls_malloc = calls_free = calls_lock = 0;

  char *dir = g_dir_make_tmp ("latent-rt-XXXXXX", NULL);
  char *copy = g_build_filename (dir, "copy.ts", NULL);
  gchar *bytes;
  gsize len;
  g_file_get_contents (fixture, &bytes, &len, NULL);
  g_file_set_contents (copy, bytes, len, NULL);
  g_free (bytes);

  HostFeatures features = { .worker = true, .log = true, .map = true };
  Host *host = host_new ("urn:latent:rave", 8000, features);
  host_activate (host);
  host_set_run_hooks (host, enter, leave);

  enum { BLOCK = 64 };
  float in[BLOCK], out[BLOCK];
  GRand *rand = g_rand_new_with_seed (3);
  int total = 0;
  /* Warm-up: first blocks, first output, first notification. */
  for (int i = 0; i < 200; i++) {
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    host_run (host, in, out, BLOCK);
  }
  /* Real time: 64-frame cycles paced by the clock, a model change in the middle. The audio
   * thread must not allocate, lock or wait. */
  counting = 1;
  gint64 start = g_get_monotonic_time ();
  for (int i = 0; i < 700; i++) {
    gint64 due = start + (gint64) i * BLOCK * G_USEC_PER_SEC / 8000;
    gint64 now = g_get_monotonic_time ();
    if (due > now)
      g_usleep (due - now);
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    if (i == 100)
      host_patch_set_path (host, "urn:latent:rave#model", copy);
    if (i % 7 == 0)
      host_set_control (host, "bias0", (float) (i % 5) * 0.1f);
    host_run (host, in, out, BLOCK);
    total += BLOCK;
  }
  unsigned long paced_waits = calls_wait;
  /* Offline (as fast as possible): run() may wait for the worker, but still never allocates
   * or locks. 64-frame and 1-frame blocks. */
  for (int i = 0; i < 2000; i++) {
    for (int t = 0; t < BLOCK; t++)
      in[t] = (float) g_rand_double_range (rand, -0.5, 0.5);
    host_run (host, in, out, BLOCK);
    total += BLOCK;
  }
  for (int i = 0; i < 5000; i++) {
    in[0] = (float) g_rand_double_range (rand, -0.5, 0.5);
    host_run (host, in, out, 1);
    total += 1;
  }
  counting = 0;
  const char *notified = host_notified_path (host);
  gboolean swapped = notified && !strcmp (notified, copy);
  float underruns = host_get_control (host, "underruns");
  printf ("run(): %d frames in 64- and 1-frame blocks, model change %s: malloc-family %lu, "
      "free %lu, mutex locks %lu; semaphore waits %lu while paced in real time, %lu offline "
      "(underrun frames %g)\n", total, swapped ? "done" : "NOT done", calls_malloc, calls_free,
      calls_lock, paced_waits, calls_wait - paced_waits, underruns);
  host_free (host);
  g_rand_free (rand);
  g_unlink (copy);
  g_rmdir (dir);
  g_free (copy);
  g_free (dir);
  return calls_malloc || calls_free || calls_lock || paced_waits || !swapped ? 1 : 0;
}
