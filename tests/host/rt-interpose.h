/* Counts allocations, mutex locks and semaphore waits made while the calling thread is
 * flagged as "inside run()" (rt-interpose.c defines malloc & co., pthread_mutex_lock,
 * g_mutex_lock, sem_wait and sem_timedwait; link the test with export_dynamic so the plugin
 * and its libraries call these). */
#ifndef LATENT_TEST_RT_INTERPOSE_H
#define LATENT_TEST_RT_INTERPOSE_H

typedef struct {
  unsigned long malloc, free, lock, wait;
} RtCounts;

void rt_enter (void); /* host_set_run_hooks (host, rt_enter, rt_leave) */
void rt_leave (void);
void rt_counting (int on);
RtCounts rt_counts (void);
/* Checks that calls from inside the flag are seen (also from shared libraries); resets the
 * counts. Returns 0 when interposition works. */
int rt_self_check (void);

#endif
