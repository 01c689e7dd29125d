/* Allocation, lock and wait counters for real-time tests (see rt-interpose.h). */
#include "rt-interpose.h"

#include <dlfcn.h>
#include <glib.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>

extern void *__libc_malloc (size_t);
extern void *__libc_calloc (size_t, size_t);
extern void *__libc_realloc (void *, size_t);
extern void __libc_free (void *);
extern void *__libc_memalign (size_t, size_t);

static __thread int inside_run;
static int counting;
static RtCounts counts;

static void
note (unsigned long *counter)
{
  if (inside_run && counting)
    __atomic_add_fetch (counter, 1, __ATOMIC_RELAXED);
}

void *
malloc (size_t n)
{
  note (&counts.malloc);
  return __libc_malloc (n);
}

void *
calloc (size_t a, size_t b)
{
  note (&counts.malloc);
  return __libc_calloc (a, b);
}

void *
realloc (void *p, size_t n)
{
  note (&counts.malloc);
  return __libc_realloc (p, n);
}

void
free (void *p)
{
  if (p)
    note (&counts.free);
  __libc_free (p);
}

int
posix_memalign (void **out, size_t align, size_t n)
{
  note (&counts.malloc);
  void *p = __libc_memalign (align, n);
  if (!p)
    return 12;
  *out = p;
  return 0;
}

void *
aligned_alloc (size_t align, size_t n)
{
  note (&counts.malloc);
  return __libc_memalign (align, n);
}

void *
memalign (size_t align, size_t n)
{
  note (&counts.malloc);
  return __libc_memalign (align, n);
}

int
pthread_mutex_lock (pthread_mutex_t *m)
{
  static int (*real) (pthread_mutex_t *);
  note (&counts.lock);
  if (!real)
    real = (int (*) (pthread_mutex_t *)) dlsym (RTLD_NEXT, "pthread_mutex_lock");
  return real (m);
}

/* GLib's GMutex is futex-based on Linux, not pthread_mutex_lock: count it too. */
void
g_mutex_lock (GMutex *m)
{
  static void (*real) (GMutex *);
  note (&counts.lock);
  if (!real)
    real = (void (*) (GMutex *)) dlsym (RTLD_NEXT, "g_mutex_lock");
  real (m);
}

int
sem_wait (sem_t *s)
{
  static int (*real) (sem_t *);
  note (&counts.wait);
  if (!real)
    real = (int (*) (sem_t *)) dlsym (RTLD_NEXT, "sem_wait");
  return real (s);
}

int
sem_timedwait (sem_t *s, const struct timespec *ts)
{
  static int (*real) (sem_t *, const struct timespec *);
  note (&counts.wait);
  if (!real)
    real = (int (*) (sem_t *, const struct timespec *)) dlsym (RTLD_NEXT, "sem_timedwait");
  return real (s, ts);
}

void
rt_enter (void)
{
  inside_run = 1;
}

void
rt_leave (void)
{
  inside_run = 0;
}

void
rt_counting (int on)
{
  counting = on;
}

RtCounts
rt_counts (void)
{
  return counts;
}

int
rt_self_check (void)
{
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
  int ok = counts.malloc == 2 && counts.free == 2 && counts.lock == 1;
  counts = (RtCounts) { 0 };
  return ok ? 0 : 1;
}
