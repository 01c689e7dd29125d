/* Terrain training: loss, held-out accuracy, determinism, live settings, cancellation and
 * lock-free publishing (core/terrain-train.c, core/terrain-publish.c). */
#include "latent.h"
#include "synthetic-terrain.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>

static LatentTerrain *
default_terrain (guint64 seed)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  return latent_terrain_new (&config, seed, NULL);
}

static void
record_loss (const LatentTerrainProgress *progress, gpointer data)
{
  g_array_append_val ((GArray *) data, progress->loss);
}

static void
test_train_synthetic (void)
{
  LatentTerrainDataset *train = synthetic_terrain_dataset (1, 512);
  LatentTerrainDataset *held_out = synthetic_terrain_dataset (2, 128);
  LatentTerrain *initial = default_terrain (11);
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, NULL, 5);
  GError *error = NULL;
  g_assert_true (latent_terrain_trainer_set_dataset (trainer, train, &error));
  g_assert_no_error (error);
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));
  latent_terrain_trainer_set_progress_func (trainer, record_loss, losses,
      (GDestroyNotify) g_array_unref);
  double before = latent_terrain_evaluate_mse (initial, train);
  latent_terrain_trainer_set_epochs (trainer, 60);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (latent_terrain_trainer_run (trainer, NULL, &error));
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  g_assert_no_error (error);
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (trainer, &progress);
  g_assert_cmpuint (progress.epoch, ==, 60);
  g_assert_cmpuint (progress.step, ==, 60 * 16);
  g_assert_cmpuint (losses->len, ==, 60);
  LatentTerrain *trained = latent_terrain_trainer_copy_terrain (trainer);
  double after = latent_terrain_evaluate_mse (trained, train);
  double held = latent_terrain_evaluate_mse (trained, held_out);
  double first = g_array_index (losses, double, 0), last = g_array_index (losses, double, 59);
  g_print ("# synthetic: mse %.4f -> %.5f (x%.0f), epoch loss %.4f -> %.5f, held-out mse "
      "%.5f, %.0f steps/s at batch 32\n", before, after, before / after, first, last, held,
      progress.step / seconds);
  g_assert_cmpfloat (before / after, >=, 10.0);
  g_assert_cmpfloat (held, <, 0.01);
  g_assert_cmpfloat (fabs (last - after), <, 0.05); /* reported loss is the real loss */
  latent_terrain_free (trained);
  latent_terrain_trainer_free (trainer);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (train);
  latent_terrain_dataset_free (held_out);
}

static LatentTerrain *
train_copy (guint64 seed, const LatentTerrain *initial, const LatentTerrainDataset *ds)
{
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, NULL, seed);
  g_assert_true (latent_terrain_trainer_set_dataset (trainer, ds, NULL));
  latent_terrain_trainer_set_epochs (trainer, 2);
  g_assert_true (latent_terrain_trainer_run (trainer, NULL, NULL));
  LatentTerrain *t = latent_terrain_trainer_copy_terrain (trainer);
  latent_terrain_trainer_free (trainer);
  return t;
}

static void
test_train_deterministic (void)
{
  LatentTerrainDataset *ds = synthetic_terrain_dataset (3, 200);
  LatentTerrain *initial = default_terrain (4);
  LatentTerrain *a = train_copy (9, initial, ds), *b = train_copy (9, initial, ds);
  LatentTerrain *c = train_copy (10, initial, ds);
  float x[2] = { 1.5f, -0.5f }, ya[8], yb[8], yc[8];
  latent_terrain_forward_batch (a, x, 1, ya);
  latent_terrain_forward_batch (b, x, 1, yb);
  latent_terrain_forward_batch (c, x, 1, yc);
  g_assert_cmpmem (ya, sizeof ya, yb, sizeof yb);
  g_assert_true (memcmp (ya, yc, sizeof ya) != 0); /* another seed shuffles differently */
  latent_terrain_free (a);
  latent_terrain_free (b);
  latent_terrain_free (c);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (ds);
}

typedef struct {
  LatentTerrainTrainer *trainer;
  guint64 steps_at_epoch[8];
  int epochs_seen;
} SettingsState;

/* Changes settings from inside the run: the next epoch must follow them. */
static void
change_settings (const LatentTerrainProgress *progress, gpointer data)
{
  SettingsState *s = data;
  s->steps_at_epoch[s->epochs_seen++] = progress->step;
  if (progress->epoch == 1)
    latent_terrain_trainer_set_batch_size (s->trainer, 64);
  if (progress->epoch == 2) {
    latent_terrain_trainer_set_epochs (s->trainer, 3);
    latent_terrain_trainer_set_learning_rate (s->trainer, 5e-4);
  }
}

static void
test_train_live_settings (void)
{
  LatentTerrainDataset *ds = synthetic_terrain_dataset (5, 320);
  LatentTerrain *initial = default_terrain (6);
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, NULL, 1);
  g_assert_true (latent_terrain_trainer_set_dataset (trainer, ds, NULL));
  SettingsState state = { .trainer = trainer };
  latent_terrain_trainer_set_progress_func (trainer, change_settings, &state, NULL);
  latent_terrain_trainer_set_epochs (trainer, 100);
  g_assert_true (latent_terrain_trainer_run (trainer, NULL, NULL));
  g_assert_cmpint (state.epochs_seen, ==, 3);
  g_assert_cmpuint (state.steps_at_epoch[0], ==, 10);      /* 320 / 32 */
  g_assert_cmpuint (state.steps_at_epoch[1], ==, 10 + 5);  /* 320 / 64 */
  g_assert_cmpuint (state.steps_at_epoch[2], ==, 10 + 10);
  g_assert_cmpfloat (latent_terrain_trainer_get_learning_rate (trainer), ==, 5e-4);
  /* A second run trains `epochs` more, carrying the Adam state. */
  g_assert_true (latent_terrain_trainer_run (trainer, NULL, NULL));
  g_assert_cmpint (state.epochs_seen, ==, 6);
  /* Wrong dims are refused. */
  LatentTerrainDataset *wrong = latent_terrain_dataset_new (3, 8);
  GError *error = NULL;
  g_assert_false (latent_terrain_trainer_set_dataset (trainer, wrong, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE);
  g_clear_error (&error);
  latent_terrain_dataset_free (wrong);
  latent_terrain_trainer_free (trainer);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (ds);
}

static gboolean
cancel_later (gpointer cancellable)
{
  g_cancellable_cancel (cancellable);
  return G_SOURCE_REMOVE;
}

/* Runs a context until its one timeout has fired. */
static gpointer
tick (gpointer context)
{
  g_main_context_iteration (context, TRUE);
  return NULL;
}

static void
test_train_cancel (void)
{
  LatentTerrainDataset *ds = synthetic_terrain_dataset (7, 4096);
  LatentTerrain *initial = default_terrain (8);
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, NULL, 1);
  g_assert_true (latent_terrain_trainer_set_dataset (trainer, ds, NULL));
  latent_terrain_trainer_set_epochs (trainer, 100000);
  GError *error = NULL;
  g_assert_true (latent_terrain_trainer_start (trainer, &error));
  g_assert_false (latent_terrain_trainer_start (trainer, &error)); /* one run at a time */
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_RUN);
  g_clear_error (&error);
  LatentTerrainProgress progress;
  for (int i = 0; i < 10000; i++) { /* until it is in the middle of an epoch */
    latent_terrain_trainer_get_progress (trainer, &progress);
    if (progress.step > 3)
      break;
    g_usleep (1000);
  }
  gint64 start = g_get_monotonic_time ();
  latent_terrain_trainer_cancel (trainer);
  g_assert_false (latent_terrain_trainer_wait (trainer, &error));
  double ms = (g_get_monotonic_time () - start) / 1e3;
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_CANCELLED);
  g_clear_error (&error);
  latent_terrain_trainer_get_progress (trainer, &progress);
  g_print ("# cancel: stopped %.2f ms after the request, after %" G_GUINT64_FORMAT " steps\n",
      ms, progress.step);
  g_assert_true (progress.cancelled);
  g_assert_false (progress.running);
  g_assert_cmpuint (progress.step, >, 0);
  g_assert_cmpfloat (ms, <, 50.0);

  /* Through a GCancellable, from a main-loop timeout, with run(). */
  GCancellable *cancellable = g_cancellable_new ();
  GMainContext *context = g_main_context_new ();
  GSource *timeout = g_timeout_source_new (50);
  g_source_set_callback (timeout, cancel_later, cancellable, NULL);
  g_source_attach (timeout, context);
  GThread *ticker = g_thread_new ("ticker", tick, context);
  g_assert_false (latent_terrain_trainer_run (trainer, cancellable, &error));
  g_assert_error (error, LATENT_ERROR, LATENT_ERROR_CANCELLED);
  g_clear_error (&error);
  g_thread_join (ticker);
  g_source_unref (timeout);
  g_main_context_unref (context);
  g_object_unref (cancellable);

  /* Freeing a running trainer cancels it. */
  g_assert_true (latent_terrain_trainer_start (trainer, NULL));
  latent_terrain_trainer_free (trainer);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (ds);
}

typedef struct {
  GMutex lock;
  int written, failed;
  gint64 first_at;      /* monotonic us of the first checkpoint */
  char *last_content;   /* the file as the last good checkpoint left it */
  gsize last_length;
} CheckpointState;

static void
record_checkpoint (const LatentTerrainProgress *progress, const char *path,
    const GError *error, gpointer data)
{
  CheckpointState *s = data;
  g_mutex_lock (&s->lock);
  if (error) {
    s->failed++;
  } else {
    if (s->written++ == 0)
      s->first_at = g_get_monotonic_time ();
    g_free (s->last_content);
    g_assert_true (g_file_get_contents (path, &s->last_content, &s->last_length, NULL));
  }
  g_mutex_unlock (&s->lock);
}

static int
checkpoint_count (CheckpointState *s, gboolean failures)
{
  g_mutex_lock (&s->lock);
  int n = failures ? s->failed : s->written;
  g_mutex_unlock (&s->lock);
  return n;
}

/* A process killed mid-training must leave its training (issue 12: gst-launch -e's second
 * Ctrl-C): checkpoints write the file while the run goes on, the first an interval into the
 * run, each a loadable terrain; once training diverges they are refused and the last good
 * file stays; a run shorter than the interval writes none. */
static void
test_train_checkpoint (void)
{
  LatentTerrainDataset *ds = synthetic_terrain_dataset (9, 512);
  LatentTerrain *initial = default_terrain (10);
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, NULL, 1);
  g_assert_true (latent_terrain_trainer_set_dataset (trainer, ds, NULL));
  char *dir = g_dir_make_tmp ("checkpoint-XXXXXX", NULL);
  char *path = g_build_filename (dir, "ckpt.pt", NULL);
  CheckpointState state = { 0 };
  g_mutex_init (&state.lock);
  latent_terrain_trainer_set_checkpoint (trainer, path, 0.05, record_checkpoint, &state, NULL);
  latent_terrain_trainer_set_epochs (trainer, 1000000);
  gint64 start = g_get_monotonic_time ();
  g_assert_true (latent_terrain_trainer_start (trainer, NULL));
  while (checkpoint_count (&state, FALSE) < 3 && g_get_monotonic_time () - start < 30000000)
    g_usleep (1000);
  g_assert_cmpint (checkpoint_count (&state, FALSE), >=, 3);
  g_assert_cmpint (state.first_at - start, >=, 50000);
  GError *error = NULL;
  LatentTerrain *saved = latent_terrain_load (path, &error);
  g_assert_no_error (error);
  latent_terrain_free (saved);

  /* Diverge: the NaN weights are never written over the last good checkpoint. */
  latent_terrain_trainer_set_learning_rate (trainer, 1e9);
  while (checkpoint_count (&state, TRUE) < 1 && g_get_monotonic_time () - start < 30000000)
    g_usleep (1000);
  latent_terrain_trainer_cancel (trainer);
  latent_terrain_trainer_wait (trainer, NULL);
  g_assert_cmpint (checkpoint_count (&state, TRUE), >=, 1);
  char *content;
  gsize length;
  g_assert_true (g_file_get_contents (path, &content, &length, NULL));
  g_assert_true (length == state.last_length && !memcmp (content, state.last_content, length));
  g_print ("# checkpoint: %d written every 50 ms (first %.1f ms into the run), %d refused\n",
      state.written, (state.first_at - start) / 1e3, state.failed);

  /* 0 s: no checkpoints, as before; nor in a run shorter than the interval. */
  g_unlink (path);
  LatentTerrainTrainer *fresh = latent_terrain_trainer_new (initial, NULL, 1);
  g_assert_true (latent_terrain_trainer_set_dataset (fresh, ds, NULL));
  latent_terrain_trainer_set_epochs (fresh, 3);
  latent_terrain_trainer_set_checkpoint (fresh, path, 60.0, NULL, NULL, NULL);
  g_assert_true (latent_terrain_trainer_run (fresh, NULL, NULL));
  latent_terrain_trainer_set_checkpoint (fresh, path, 0.0, NULL, NULL, NULL);
  g_assert_true (latent_terrain_trainer_run (fresh, NULL, NULL));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  latent_terrain_trainer_free (fresh);
  g_free (content);
  g_free (state.last_content);
  g_mutex_clear (&state.lock);
  latent_terrain_trainer_free (trainer);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (ds);
}

typedef struct {
  LatentTerrainPublisher *publisher;
  gint stop;
  gint64 max_read_us;       /* acquire + 2 forwards + release, reads the OS left alone */
  gint64 max_acquire_us;    /* acquire + release alone, same reads */
  gint64 max_preempted_us;  /* reads during which the scheduler switched the thread out */
  guint64 reads, preempted, blocked, generations_seen, inconsistent;
} ReaderState;

static void
context_switches (long *voluntary, long *involuntary)
{
  struct rusage usage;
  getrusage (RUSAGE_THREAD, &usage);
  *voluntary = usage.ru_nvcsw;
  *involuntary = usage.ru_nivcsw;
}

/* A playback thread: reads the published weights as fast as it can, timing every read and
 * checking that the network it holds does not change under it. A thread that waits (a lock,
 * a futex) gives up the CPU voluntarily; one the scheduler preempts (2 cores, a trainer and a
 * virtual machine) is switched involuntarily. The first must never happen; the second is not
 * ours to control, so those reads are reported apart. */
static gpointer
reader_thread (gpointer data)
{
  ReaderState *s = data;
  LatentTerrainConfig config;
  latent_terrain_publisher_get_config (s->publisher, &config);
  LatentTerrainWorkspace *ws = latent_terrain_workspace_new (&config);
  guint64 last_generation = latent_terrain_publisher_get_generation (s->publisher);
  float x[2] = { 0.0f, 0.0f }, a[8], b[8];
  while (!g_atomic_int_get (&s->stop)) {
    x[0] = (float) (s->reads % 64) * 0.5f - 16.0f;
    long vol0, invol0, vol1, invol1;
    context_switches (&vol0, &invol0);
    gint64 t0 = g_get_monotonic_time ();
    guint ticket;
    const LatentTerrain *t = latent_terrain_publisher_acquire (s->publisher, &ticket);
    gint64 t1 = g_get_monotonic_time ();
    latent_terrain_forward (t, x, a, ws);
    latent_terrain_forward (t, x, b, ws);
    gint64 t2 = g_get_monotonic_time ();
    latent_terrain_publisher_release (s->publisher, ticket);
    gint64 t3 = g_get_monotonic_time ();
    context_switches (&vol1, &invol1);
    s->inconsistent += memcmp (a, b, sizeof a) != 0;
    s->blocked += vol1 != vol0;
    if (invol1 != invol0) {
      s->preempted++;
      s->max_preempted_us = MAX (s->max_preempted_us, t3 - t0);
    } else {
      s->max_acquire_us = MAX (s->max_acquire_us, (t1 - t0) + (t3 - t2));
      s->max_read_us = MAX (s->max_read_us, t3 - t0);
    }
    s->reads++;
    guint64 generation = latent_terrain_publisher_get_generation (s->publisher);
    s->generations_seen += generation != last_generation;
    last_generation = generation;
  }
  latent_terrain_workspace_free (ws);
  return NULL;
}

static void
test_train_reader_latency (void)
{
  LatentTerrainDataset *ds = synthetic_terrain_dataset (9, 256); /* short epochs: many publishes */
  LatentTerrain *initial = default_terrain (10);
  LatentTerrainPublisher *publisher = latent_terrain_publisher_new (initial);
  LatentTerrainTrainer *trainer = latent_terrain_trainer_new (initial, publisher, 2);
  g_assert_true (latent_terrain_trainer_set_dataset (trainer, ds, NULL));
  latent_terrain_trainer_set_epochs (trainer, 100000);
  ReaderState state = { .publisher = publisher };
  GThread *reader = g_thread_new ("reader", reader_thread, &state);
  g_assert_true (latent_terrain_trainer_start (trainer, NULL));
  g_usleep (700 * 1000);
  latent_terrain_trainer_cancel (trainer);
  latent_terrain_trainer_wait (trainer, NULL);
  g_atomic_int_set (&state.stop, 1);
  g_thread_join (reader);
  LatentTerrainProgress progress;
  latent_terrain_trainer_get_progress (trainer, &progress);
  g_print ("# reader: %" G_GUINT64_FORMAT " reads during %" G_GUINT64_FORMAT " epochs, %"
      G_GUINT64_FORMAT " new weight sets seen; max acquire+release %" G_GINT64_FORMAT
      " us, max read (2 forwards) %" G_GINT64_FORMAT " us; %" G_GUINT64_FORMAT " reads "
      "preempted by the OS (max %" G_GINT64_FORMAT " us), %" G_GUINT64_FORMAT " blocked\n",
      state.reads, progress.epoch, state.generations_seen, state.max_acquire_us,
      state.max_read_us, state.preempted, state.max_preempted_us, state.blocked);
  g_assert_cmpuint (state.inconsistent, ==, 0);
  g_assert_cmpuint (state.blocked, ==, 0);
  g_assert_cmpuint (state.generations_seen, >, 2);
  g_assert_cmpint (state.max_acquire_us, <, 1000);
  latent_terrain_trainer_free (trainer);
  latent_terrain_publisher_unref (publisher);
  latent_terrain_free (initial);
  latent_terrain_dataset_free (ds);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/terrain/train/synthetic", test_train_synthetic);
  g_test_add_func ("/terrain/train/deterministic", test_train_deterministic);
  g_test_add_func ("/terrain/train/live-settings", test_train_live_settings);
  g_test_add_func ("/terrain/train/cancel", test_train_cancel);
  g_test_add_func ("/terrain/train/checkpoint", test_train_checkpoint);
  g_test_add_func ("/terrain/train/reader-latency", test_train_reader_latency);
  return g_test_run ();
}
