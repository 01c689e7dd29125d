/* Training a terrain: MSE + Adam on a GLib thread, publishing weights as they improve and,
 * when asked, checkpointing them to a file so that a killed process leaves its training.
 *
 * The trainer owns a working copy of the network. Only the training thread touches it (and
 * the Adam state) while a run is going; other threads see weights through the publisher, and
 * settings and progress through `lock`, which the real-time side never takes. */
#include "terrain-private.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* Layer-0 inputs of the whole dataset are computed once per run when they fit in this much
 * memory (B_T never changes, so neither do they); larger datasets compute them per batch. */
#define FEATURE_CACHE_BYTES (256u << 20)
#define PUBLISH_INTERVAL_US (100 * 1000)

typedef struct {
  int rows; /* capacity */
  float *features, *targets, *output, *delta_out;
  float *pre[LATENT_TERRAIN_N_PRELU];  /* layer outputs before PReLU */
  float *post[LATENT_TERRAIN_N_PRELU]; /* and after */
  float *delta[2];
  float *block;
} Scratch;

struct LatentTerrainTrainer {
  /* Training thread's own while running. */
  LatentTerrain *model;
  float *grad, *adam_m, *adam_v;
  guint64 adam_steps;
  LatentRandom random;
  gsize n_pairs;
  float *coordinates, *targets; /* [n_pairs][dims], copied from the dataset */
  float *features;              /* cached layer-0 inputs, or NULL */
  guint32 *order;
  Scratch scratch;

  LatentTerrainPublisher *publisher;

  GMutex lock; /* guards the fields below */
  double lr;
  int batch_size;
  int epochs;
  LatentTerrainProgress progress;
  LatentTerrainProgressFunc progress_func;
  gpointer progress_data;
  GDestroyNotify progress_destroy;

  char *checkpoint_path; /* NULL: no checkpoints */
  double checkpoint_interval;
  LatentTerrainCheckpointFunc checkpoint_func;
  gpointer checkpoint_data;
  GDestroyNotify checkpoint_destroy;

  /* Training thread's own (kept across runs, so that a live restart every few hundred ms
   * does not postpone the next checkpoint forever). */
  gint64 first_run_start, last_checkpoint; /* monotonic us; 0: not yet */

  GThread *thread;
  atomic_bool cancel;
};

/* ------------------------------------------------------------ scratch */

static void
scratch_free (Scratch *s)
{
  g_aligned_free (s->block);
  memset (s, 0, sizeof *s);
}

static void
scratch_ensure (Scratch *s, const LatentTerrain *model, int rows)
{
  if (s->rows >= rows)
    return;
  scratch_free (s);
  gsize width = latent_terrain_input_width (&model->config);
  gsize c = model->config.channels, d = model->config.latent_dims;
  /* Every array rounded to 16 floats so each starts 64-byte aligned. */
#define ROUND(n) (((n) + 15) & ~(gsize) 15)
  gsize sizes[] = { ROUND (rows * width), ROUND (rows * d), ROUND (rows * d), ROUND (rows * d),
    ROUND (rows * c) };
  gsize total = sizes[0] + sizes[1] + sizes[2] + sizes[3]
      + (2 * LATENT_TERRAIN_N_PRELU + 2) * sizes[4];
  s->block = g_aligned_alloc0 (total, sizeof (float), 64);
  float *p = s->block;
  s->features = p, p += sizes[0];
  s->targets = p, p += sizes[1];
  s->output = p, p += sizes[2];
  s->delta_out = p, p += sizes[3];
  for (int l = 0; l < LATENT_TERRAIN_N_PRELU; l++) {
    s->pre[l] = p, p += sizes[4];
    s->post[l] = p, p += sizes[4];
  }
  s->delta[0] = p, p += sizes[4];
  s->delta[1] = p;
  s->rows = rows;
#undef ROUND
}

/* ------------------------------------------------------------- one step */

/* Forward and backward over `rows` examples (their indices in `batch`); fills trainer->grad
 * and returns the batch's mean squared error. */
static double
compute_gradients (LatentTerrainTrainer *t, const guint32 *batch, gsize rows)
{
  LatentTerrain *m = t->model;
  Scratch *s = &t->scratch;
  const float *w = m->data;
  float *g = t->grad;
  gsize width = latent_terrain_input_width (&m->config);
  gsize c = m->config.channels, d = m->config.latent_dims, dims = m->config.control_dims;

  for (gsize r = 0; r < rows; r++) {
    gsize k = batch[r];
    if (t->features)
      memcpy (s->features + r * width, t->features + k * width, width * sizeof (float));
    else
      latent_terrain_features (m, t->coordinates + k * dims, 1, s->features + r * width);
    memcpy (s->targets + r * d, t->targets + k * d, d * sizeof (float));
  }

  /* Forward, keeping each hidden layer before and after its PReLU. */
  const float *input = s->features;
  for (int l = 0; l < LATENT_TERRAIN_N_LAYERS; l++) {
    const LatentTerrainLayer *layer = &m->layers[l];
    float *out = l < LATENT_TERRAIN_N_PRELU ? s->pre[l] : s->output;
    latent_gemm (rows, layer->out, layer->in, input, layer->in, 1, w + layer->weight_t,
        layer->out, out, layer->out, w + layer->bias, FALSE);
    if (l < LATENT_TERRAIN_N_PRELU) {
      float slope = w[m->prelu + l];
      for (gsize i = 0; i < rows * c; i++)
        s->post[l][i] = out[i] > 0.0f ? out[i] : slope * out[i];
      input = s->post[l];
    }
  }

  /* MSE over all rows * d values, as torch::mse_loss with mean reduction. */
  double loss = 0.0;
  float scale = 2.0f / (float) (rows * d);
  for (gsize i = 0; i < rows * d; i++) {
    float diff = s->output[i] - s->targets[i];
    loss += (double) diff * diff;
    s->delta_out[i] = scale * diff;
  }
  loss /= (double) (rows * d);

  /* Backward. Weight gradients go straight into the [in][out] layout Adam updates:
   * dW_t[i][j] = sum_r input[r][i] * delta[r][j]. */
  const float *delta = s->delta_out;
  for (int l = LATENT_TERRAIN_N_LAYERS - 1; l >= 0; l--) {
    const LatentTerrainLayer *layer = &m->layers[l];
    const float *layer_input = l > 0 ? s->post[l - 1] : s->features;
    latent_gemm (layer->in, layer->out, rows, layer_input, 1, layer->in, delta, layer->out,
        g + layer->weight_t, layer->out, NULL, FALSE);
    latent_column_sums (delta, rows, layer->out, g + layer->bias);
    if (l == 0)
      break; /* the Fourier features are fixed: no gradient below layer 0 */
    /* d input = delta @ W (torch layout [out][in]), then back through the PReLU. */
    float *d_input = s->delta[l % 2];
    latent_gemm (rows, layer->in, layer->out, delta, layer->out, 1, w + layer->weight,
        layer->in, d_input, layer->in, NULL, FALSE);
    int p = l - 1;
    float slope = w[m->prelu + p];
    const float *pre = s->pre[p];
    float d_slope = 0.0f;
    for (gsize i = 0; i < rows * c; i++) {
      if (pre[i] <= 0.0f) {
        d_slope += pre[i] * d_input[i];
        d_input[i] *= slope;
      }
    }
    g[m->prelu + p] = d_slope;
    delta = d_input;
  }
  return loss;
}

/* torch.optim.Adam (no weight decay, no amsgrad), in float like torch's CPU kernel. */
static void
adam_step (LatentTerrainTrainer *t, double lr)
{
  const double beta1 = 0.9, beta2 = 0.999;
  t->adam_steps++;
  double correction1 = 1.0 - pow (beta1, (double) t->adam_steps);
  double correction2 = 1.0 - pow (beta2, (double) t->adam_steps);
  LatentAdamStep step = {
    .beta1 = (float) beta1, .beta2 = (float) beta2, .eps = 1e-8f,
    .step_size = (float) (lr / correction1),
    .inv_sqrt_correction2 = (float) (1.0 / sqrt (correction2)),
  };
  latent_adam_update (t->model->data, t->grad, t->adam_m, t->adam_v, t->model->n_trainable,
      &step);
}

static double
train_step (LatentTerrainTrainer *t, const guint32 *batch, gsize rows, double lr)
{
  double loss = compute_gradients (t, batch, rows);
  adam_step (t, lr);
  /* The backward pass of layers 1..4 reads the [out][in] copies: refresh them. */
  latent_terrain_sync_layout (t->model, 1);
  return loss;
}

/* ------------------------------------------------------------- thread */

static void
publish (LatentTerrainTrainer *t)
{
  latent_terrain_sync_layout (t->model, 0);
  latent_terrain_publisher_publish (t->publisher, t->model);
}

/* Fills the feature cache in chunks, so that a cancel is honoured here too. FALSE if
 * cancelled (the cache is then left empty). */
static gboolean
prepare_features (LatentTerrainTrainer *t)
{
  gsize width = latent_terrain_input_width (&t->model->config);
  if (t->features || (double) t->n_pairs * width * sizeof (float) > FEATURE_CACHE_BYTES)
    return TRUE;
  float *features = g_aligned_alloc (t->n_pairs * width, sizeof (float), 64);
  int dims = t->model->config.control_dims;
  for (gsize i = 0; i < t->n_pairs; i += 256) {
    if (atomic_load (&t->cancel)) {
      g_aligned_free (features);
      return FALSE;
    }
    latent_terrain_features (t->model, t->coordinates + i * dims, MIN (256, t->n_pairs - i),
        features + i * width);
  }
  t->features = features;
  return TRUE;
}

static void
shuffle (LatentTerrainTrainer *t)
{
  for (gsize i = t->n_pairs; i > 1; i--) {
    gsize j = latent_random_below (&t->random, (guint32) i);
    guint32 tmp = t->order[i - 1];
    t->order[i - 1] = t->order[j];
    t->order[j] = tmp;
  }
}

/* Saves the working weights to the checkpoint path when one is due: an interval after the
 * first run started, then at most every interval (a run shorter than that never writes
 * before its owner's final save, so a doomed short run cannot replace a good file with an
 * early, finite checkpoint). Runs on the training thread, which owns the weights, so the file
 * is what was trained up to this step; latent_terrain_save validates it (finite, loadable)
 * and replaces the file only then, so a failed checkpoint keeps the previous one. A failure
 * also waits an interval (no retry at every step) and is reported to the checkpoint
 * function. */
static void
maybe_checkpoint (LatentTerrainTrainer *t)
{
  const gint64 now = g_get_monotonic_time ();
  const gint64 since = t->last_checkpoint ? t->last_checkpoint : t->first_run_start;
  g_mutex_lock (&t->lock);
  gint64 interval_us = t->checkpoint_path ? (gint64) (t->checkpoint_interval * 1e6) : 0;
  if (interval_us <= 0 || now - since < interval_us) {
    g_mutex_unlock (&t->lock);
    return;
  }
  char *path = g_strdup (t->checkpoint_path);
  LatentTerrainProgress snapshot = t->progress;
  LatentTerrainCheckpointFunc func = t->checkpoint_func;
  gpointer func_data = t->checkpoint_data;
  g_mutex_unlock (&t->lock);
  t->last_checkpoint = now;
  GError *error = NULL;
  latent_terrain_sync_layout (t->model, 0); /* the file takes the [out][in] copies */
  latent_terrain_save (t->model, path, &error);
  if (func)
    func (&snapshot, path, error, func_data);
  g_clear_error (&error);
  g_free (path);
}

/* One pass over the data in shuffled batches (drop_last false: the last may be short). FALSE
 * if cancelled; `loss` is the mean batch loss. */
static gboolean
train_epoch (LatentTerrainTrainer *t, int batch_size, gint64 *last_publish, double *loss)
{
  double loss_sum = 0.0;
  gsize batches = 0;
  for (gsize start = 0; start < t->n_pairs; start += batch_size) {
    if (atomic_load (&t->cancel))
      return FALSE;
    g_mutex_lock (&t->lock);
    double lr = t->lr;
    g_mutex_unlock (&t->lock);
    loss_sum += train_step (t, t->order + start, MIN ((gsize) batch_size, t->n_pairs - start),
        lr);
    batches++;
    g_mutex_lock (&t->lock);
    t->progress.step++;
    g_mutex_unlock (&t->lock);
    if (g_get_monotonic_time () - *last_publish > PUBLISH_INTERVAL_US) {
      publish (t);
      *last_publish = g_get_monotonic_time ();
    }
    maybe_checkpoint (t); /* after each step: a long epoch still checkpoints on time */
  }
  *loss = loss_sum / (double) batches;
  return TRUE;
}

static gpointer
train_thread (gpointer data)
{
  LatentTerrainTrainer *t = data;
  gint64 last_publish = g_get_monotonic_time ();
  if (!t->first_run_start)
    t->first_run_start = last_publish;
  gboolean cancelled = !prepare_features (t);
  for (int done = 0; !cancelled; done++) {
    g_mutex_lock (&t->lock);
    int epochs = t->epochs, batch_size = t->batch_size;
    g_mutex_unlock (&t->lock);
    if (done >= epochs)
      break;
    /* A batch larger than the data is the whole data: size the scratch by what is used
     * (--batch 10000000 asked for 72 GB). */
    batch_size = (int) MIN ((gsize) batch_size, MAX (t->n_pairs, 1));
    scratch_ensure (&t->scratch, t->model, batch_size);
    shuffle (t);
    double loss;
    cancelled = !train_epoch (t, batch_size, &last_publish, &loss);
    if (cancelled)
      break;
    publish (t);
    last_publish = g_get_monotonic_time ();
    g_mutex_lock (&t->lock);
    t->progress.epoch++;
    t->progress.loss = loss;
    LatentTerrainProgress snapshot = t->progress;
    LatentTerrainProgressFunc func = t->progress_func;
    gpointer func_data = t->progress_data;
    g_mutex_unlock (&t->lock);
    if (func)
      func (&snapshot, func_data);
  }
  if (cancelled)
    publish (t); /* what was learnt before the cancel is kept */
  g_mutex_lock (&t->lock);
  t->progress.running = FALSE;
  t->progress.cancelled = cancelled;
  g_mutex_unlock (&t->lock);
  return NULL;
}

/* ------------------------------------------------------------- public */

LatentTerrainTrainer *
latent_terrain_trainer_new (const LatentTerrain *initial, LatentTerrainPublisher *publisher,
    guint64 seed)
{
  LatentTerrainTrainer *t = g_new0 (LatentTerrainTrainer, 1);
  t->model = latent_terrain_copy (initial);
  gsize n = t->model->n_trainable;
  t->grad = g_aligned_alloc0 (n, sizeof (float), 64);
  t->adam_m = g_aligned_alloc0 (n, sizeof (float), 64);
  t->adam_v = g_aligned_alloc0 (n, sizeof (float), 64);
  latent_random_init (&t->random, seed);
  if (publisher) {
    t->publisher = latent_terrain_publisher_ref (publisher);
    latent_terrain_publisher_publish (publisher, t->model);
  } else {
    t->publisher = latent_terrain_publisher_new (t->model);
  }
  g_mutex_init (&t->lock);
  t->lr = LATENT_TERRAIN_DEFAULT_LR;
  t->batch_size = LATENT_TERRAIN_DEFAULT_BATCH;
  t->epochs = LATENT_TERRAIN_DEFAULT_EPOCHS;
  t->progress.loss = NAN;
  atomic_init (&t->cancel, FALSE);
  return t;
}

static void
drop_data (LatentTerrainTrainer *t)
{
  g_free (t->coordinates);
  g_free (t->targets);
  g_aligned_free (t->features);
  g_free (t->order);
  t->coordinates = t->targets = t->features = NULL;
  t->order = NULL;
  t->n_pairs = 0;
}

void
latent_terrain_trainer_free (LatentTerrainTrainer *trainer)
{
  if (!trainer)
    return;
  latent_terrain_trainer_cancel (trainer);
  latent_terrain_trainer_wait (trainer, NULL);
  if (trainer->progress_destroy)
    trainer->progress_destroy (trainer->progress_data);
  if (trainer->checkpoint_destroy)
    trainer->checkpoint_destroy (trainer->checkpoint_data);
  g_free (trainer->checkpoint_path);
  drop_data (trainer);
  scratch_free (&trainer->scratch);
  g_aligned_free (trainer->grad);
  g_aligned_free (trainer->adam_m);
  g_aligned_free (trainer->adam_v);
  latent_terrain_free (trainer->model);
  latent_terrain_publisher_unref (trainer->publisher);
  g_mutex_clear (&trainer->lock);
  g_free (trainer);
}

static gboolean
is_running (LatentTerrainTrainer *t)
{
  g_mutex_lock (&t->lock);
  gboolean running = t->progress.running;
  g_mutex_unlock (&t->lock);
  return running;
}

gboolean
latent_terrain_trainer_set_dataset (LatentTerrainTrainer *trainer,
    const LatentTerrainDataset *dataset, GError **error)
{
  const LatentTerrainConfig *config = &trainer->model->config;
  int dims = latent_terrain_dataset_get_control_dims (dataset);
  int latent_dims = latent_terrain_dataset_get_latent_dims (dataset);
  if (dims != config->control_dims || latent_dims != config->latent_dims) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "the dataset maps %d control dims to %d latents, the terrain %d to %d", dims,
        latent_dims, config->control_dims, config->latent_dims);
    return FALSE;
  }
  gsize n = latent_terrain_dataset_get_n_pairs (dataset);
  if (n > G_MAXUINT32) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "too many pairs (%" G_GSIZE_FORMAT
        ")", n);
    return FALSE;
  }
  if (is_running (trainer)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_RUN, "cannot change the dataset while "
        "training runs");
    return FALSE;
  }
  latent_terrain_trainer_wait (trainer, NULL);
  drop_data (trainer);
  trainer->n_pairs = n;
  trainer->coordinates = g_new (float, n * dims);
  trainer->targets = g_new (float, n * latent_dims);
  trainer->order = g_new (guint32, n);
  gsize at = 0;
  for (guint f = 0; f < latent_terrain_dataset_get_n_fragments (dataset); f++) {
    gsize frames;
    const float *c, *l;
    latent_terrain_dataset_get_fragment (dataset, f, &frames, &c, &l);
    memcpy (trainer->coordinates + at * dims, c, frames * dims * sizeof (float));
    memcpy (trainer->targets + at * latent_dims, l, frames * latent_dims * sizeof (float));
    at += frames;
  }
  for (gsize i = 0; i < n; i++)
    trainer->order[i] = (guint32) i;
  return TRUE;
}

void
latent_terrain_trainer_set_learning_rate (LatentTerrainTrainer *trainer, double lr)
{
  g_return_if_fail (lr > 0.0 && isfinite (lr));
  g_mutex_lock (&trainer->lock);
  trainer->lr = lr;
  g_mutex_unlock (&trainer->lock);
}

void
latent_terrain_trainer_set_batch_size (LatentTerrainTrainer *trainer, int batch_size)
{
  g_return_if_fail (batch_size >= 1);
  g_mutex_lock (&trainer->lock);
  trainer->batch_size = batch_size;
  g_mutex_unlock (&trainer->lock);
}

void
latent_terrain_trainer_set_epochs (LatentTerrainTrainer *trainer, int epochs)
{
  g_return_if_fail (epochs >= 0);
  g_mutex_lock (&trainer->lock);
  trainer->epochs = epochs;
  g_mutex_unlock (&trainer->lock);
}

double
latent_terrain_trainer_get_learning_rate (LatentTerrainTrainer *trainer)
{
  g_mutex_lock (&trainer->lock);
  double lr = trainer->lr;
  g_mutex_unlock (&trainer->lock);
  return lr;
}

int
latent_terrain_trainer_get_batch_size (LatentTerrainTrainer *trainer)
{
  g_mutex_lock (&trainer->lock);
  int batch_size = trainer->batch_size;
  g_mutex_unlock (&trainer->lock);
  return batch_size;
}

int
latent_terrain_trainer_get_epochs (LatentTerrainTrainer *trainer)
{
  g_mutex_lock (&trainer->lock);
  int epochs = trainer->epochs;
  g_mutex_unlock (&trainer->lock);
  return epochs;
}

void
latent_terrain_trainer_set_progress_func (LatentTerrainTrainer *trainer,
    LatentTerrainProgressFunc func, gpointer user_data, GDestroyNotify destroy)
{
  g_mutex_lock (&trainer->lock);
  GDestroyNotify old_destroy = trainer->progress_destroy;
  gpointer old_data = trainer->progress_data;
  trainer->progress_func = func;
  trainer->progress_data = user_data;
  trainer->progress_destroy = destroy;
  g_mutex_unlock (&trainer->lock);
  if (old_destroy)
    old_destroy (old_data);
}

void
latent_terrain_trainer_set_checkpoint (LatentTerrainTrainer *trainer, const char *path,
    double interval_s, LatentTerrainCheckpointFunc func, gpointer user_data,
    GDestroyNotify destroy)
{
  g_return_if_fail (interval_s >= 0.0 && isfinite (interval_s));
  g_mutex_lock (&trainer->lock);
  GDestroyNotify old_destroy = trainer->checkpoint_destroy;
  gpointer old_data = trainer->checkpoint_data;
  char *old_path = trainer->checkpoint_path;
  trainer->checkpoint_path = path && interval_s > 0.0 ? g_strdup (path) : NULL;
  trainer->checkpoint_interval = interval_s;
  trainer->checkpoint_func = func;
  trainer->checkpoint_data = user_data;
  trainer->checkpoint_destroy = destroy;
  g_mutex_unlock (&trainer->lock);
  g_free (old_path);
  if (old_destroy)
    old_destroy (old_data);
}

gboolean
latent_terrain_trainer_start (LatentTerrainTrainer *trainer, GError **error)
{
  if (is_running (trainer)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_RUN, "the terrain is already training");
    return FALSE;
  }
  latent_terrain_trainer_wait (trainer, NULL); /* reap a finished run */
  if (trainer->n_pairs == 0) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_RUN, "no training data");
    return FALSE;
  }
  atomic_store (&trainer->cancel, FALSE);
  g_mutex_lock (&trainer->lock);
  trainer->progress.running = TRUE;
  trainer->progress.cancelled = FALSE;
  g_mutex_unlock (&trainer->lock);
  GError *local = NULL;
  trainer->thread = g_thread_try_new ("latent-terrain-train", train_thread, trainer, &local);
  if (!trainer->thread) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_RUN, "cannot start the training thread: %s",
        local->message);
    g_error_free (local);
    g_mutex_lock (&trainer->lock);
    trainer->progress.running = FALSE;
    g_mutex_unlock (&trainer->lock);
    return FALSE;
  }
  return TRUE;
}

void
latent_terrain_trainer_cancel (LatentTerrainTrainer *trainer)
{
  atomic_store (&trainer->cancel, TRUE);
}

gboolean
latent_terrain_trainer_wait (LatentTerrainTrainer *trainer, GError **error)
{
  if (trainer->thread) {
    g_thread_join (trainer->thread);
    trainer->thread = NULL;
  }
  g_mutex_lock (&trainer->lock);
  gboolean cancelled = trainer->progress.cancelled;
  g_mutex_unlock (&trainer->lock);
  if (cancelled) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_CANCELLED, "training was cancelled");
    return FALSE;
  }
  return TRUE;
}

static void
on_cancelled (GCancellable *cancellable, gpointer trainer)
{
  latent_terrain_trainer_cancel (trainer);
}

gboolean
latent_terrain_trainer_run (LatentTerrainTrainer *trainer, GCancellable *cancellable,
    GError **error)
{
  if (!latent_terrain_trainer_start (trainer, error))
    return FALSE;
  gulong handler = cancellable
      ? g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), trainer, NULL) : 0;
  gboolean ok = latent_terrain_trainer_wait (trainer, error);
  if (cancellable)
    g_cancellable_disconnect (cancellable, handler);
  return ok;
}

void
latent_terrain_trainer_get_progress (LatentTerrainTrainer *trainer,
    LatentTerrainProgress *progress)
{
  g_mutex_lock (&trainer->lock);
  *progress = trainer->progress;
  g_mutex_unlock (&trainer->lock);
}

LatentTerrainPublisher *
latent_terrain_trainer_get_publisher (LatentTerrainTrainer *trainer)
{
  return trainer->publisher;
}

LatentTerrain *
latent_terrain_trainer_copy_terrain (LatentTerrainTrainer *trainer)
{
  return latent_terrain_publisher_copy (trainer->publisher);
}

double
latent_terrain_evaluate_mse (const LatentTerrain *terrain, const LatentTerrainDataset *dataset)
{
  int dims = terrain->config.control_dims, latent_dims = terrain->config.latent_dims;
  g_return_val_if_fail (latent_terrain_dataset_get_control_dims (dataset) == dims
      && latent_terrain_dataset_get_latent_dims (dataset) == latent_dims, NAN);
  double sum = 0.0;
  gsize count = 0;
  for (guint f = 0; f < latent_terrain_dataset_get_n_fragments (dataset); f++) {
    gsize frames;
    const float *c, *l;
    latent_terrain_dataset_get_fragment (dataset, f, &frames, &c, &l);
    float *out = g_new (float, frames * latent_dims);
    latent_terrain_forward_batch (terrain, c, frames, out);
    for (gsize i = 0; i < frames * latent_dims; i++) {
      double diff = (double) out[i] - l[i];
      sum += diff * diff;
    }
    count += frames * latent_dims;
    g_free (out);
  }
  return count ? sum / (double) count : NAN;
}
