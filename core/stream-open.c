/* Opening a model for streaming: the one recipe every adapter follows (see latent-rt.h,
 * "Opening a model for streaming"). AFTER exports have their own, latent_after_open, in the
 * same order. */
#include "latent.h"

#include <math.h>
#include <string.h>

gboolean
latent_rt_rates_differ (double model_rate, double host_rate)
{
  return model_rate > 0 && fabs (model_rate - host_rate) >= 0.5;
}

static int
chain_length (const char *const *methods)
{
  int n = 0;
  while (methods && methods[n])
    n++;
  return n;
}

static gboolean
has_chain (const LatentModel *model, const char *const *methods)
{
  for (int i = 0; methods[i]; i++)
    if (!latent_model_has_method (model, methods[i]))
      return FALSE;
  return TRUE;
}

/* The chain the file offers: request->methods, else request->fallback when the file lacks one
 * of them and has every fallback method; else the error says what was needed. */
static gboolean
choose_chain (const LatentOpenRequest *request, LatentOpenedModel *opened, GError **error)
{
  const char *const *chain = request->methods;
  if (request->fallback && !has_chain (opened->model, chain)
      && has_chain (opened->model, request->fallback))
    chain = request->fallback;
  else if (request->fallback && !has_chain (opened->model, chain)) {
    char *wanted = g_strjoinv (" and ", (char **) request->methods);
    char *other = g_strjoinv (" and ", (char **) request->fallback);
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD, "%s: needs %s (or %s); it has "
        "neither", request->path, wanted, other);
    g_free (wanted);
    g_free (other);
    return FALSE;
  }
  opened->methods = chain;
  opened->n_methods = chain_length (chain);
  if (opened->n_methods < 1 || opened->n_methods > LATENT_RT_MAX_STAGES) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "%s: %d methods in a chain (1 to %d)",
        request->path, opened->n_methods, LATENT_RT_MAX_STAGES);
    return FALSE;
  }
  return TRUE;
}

/* Every method exists with usable _params (the error lists what the file has), the first takes
 * request->in_channels (when set) and each next one what the previous gives. */
static gboolean
check_chain (const LatentOpenRequest *request, LatentOpenedModel *opened, GError **error)
{
  int channels = request->in_channels;
  for (int i = 0; i < opened->n_methods; i++) {
    LatentMethodInfo info;
    if (!latent_model_get_method_info (opened->model, opened->methods[i], &info, error))
      return FALSE;
    if (i == 0)
      opened->info = info;
    if (channels > 0 && info.in_channels != channels) {
      if (i == 0)
        g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "%s: %s takes %d channels, "
            "expected %d", request->path, opened->methods[0], info.in_channels, channels);
      else
        g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "%s: %s takes %d channels but "
            "%s gives %d", request->path, opened->methods[i], info.in_channels,
            opened->methods[i - 1], channels);
      return FALSE;
    }
    channels = info.out_channels;
  }
  return TRUE;
}

/* The first method's block when the caller sets none. A lone 1:1 method (forward) states no
 * granularity in its _params, and real ones need their model's ratio: it keeps the safe block
 * (the margin and the latency formula stay the mode's). An AFTER export's timbre answers one
 * whole chunk per call: 0 here, and latent_stream_new finds the chunk (probing the model, so
 * only once), or the safe default for another model's timbre. */
static int
pick_block (const LatentOpenRequest *request, const LatentOpenedModel *opened)
{
  if (request->block > 0)
    return request->block;
  if (!strcmp (opened->methods[0], "timbre"))
    return 0;
  gboolean lone_1to1 = opened->n_methods == 1 && opened->info.in_ratio == opened->info.out_ratio;
  return latent_rt_method_block (&opened->info, lone_1to1 ? LATENT_RT_LATENCY_SAFE
      : request->latency);
}

/* Steps 1 to 3: open, choose and check the chain, pick the block (0: the stream picks). */
static gboolean
open_checked (const LatentOpenRequest *request, LatentOpenedModel *opened, GError **error)
{
  memset (opened, 0, sizeof *opened);
  opened->model = latent_model_open (request->path, MAX (1, request->threads), error);
  if (!opened->model)
    return FALSE;
  opened->sample_rate = latent_model_get_sample_rate (opened->model);
  if (!choose_chain (request, opened, error) || !check_chain (request, opened, error)) {
    g_clear_pointer (&opened->model, latent_model_free);
    return FALSE;
  }
  opened->block = pick_block (request, opened);
  return TRUE;
}

/* Step 4: every method at the block it will run (profiling executor off the real-time path),
 * each method's block the previous one's output. */
static gboolean
warm_chain (LatentOpenedModel *opened, GError **error)
{
  int frames = opened->block;
  for (int i = 0; i < opened->n_methods; i++) {
    LatentMethodInfo info;
    if (!latent_model_get_method_info (opened->model, opened->methods[i], &info, error)
        || !latent_model_warm_up (opened->model, opened->methods[i], frames, error))
      return FALSE;
    frames = (int) ((gint64) frames * info.in_ratio / info.out_ratio);
  }
  return TRUE;
}

gboolean
latent_open_for_streaming (const LatentOpenRequest *request, LatentOpenedModel *opened,
    GError **error)
{
  if (!open_checked (request, opened, error))
    return FALSE;
  if (opened->block == 0) { /* timbre: an AFTER export's chunk, else the safe default */
    opened->block = latent_after_timbre_block (opened->model, error);
    if (opened->block == 0)
      opened->block = latent_rt_method_block (&opened->info, LATENT_RT_LATENCY_SAFE);
  }
  if (opened->block < 0 || !warm_chain (opened, error)) {
    g_clear_pointer (&opened->model, latent_model_free);
    return FALSE;
  }
  return TRUE;
}

/* LOW: the compute margin of a stream run on the caller's thread: the slowest timed call, in
 * audio samples at the model's rate (44.1 kHz when it states none), at most one block. */
static gboolean
time_margin (LatentOpenedModel *opened, GError **error)
{
  if (!latent_rt_margin_fixed ()) {
    opened->step_us = latent_rt_time_method (opened->model, opened->methods[0], opened->block,
        error);
    if (opened->step_us < 0)
      return FALSE;
  }
  const LatentMethodInfo *info = &opened->info;
  opened->margin = MIN (latent_rt_margin_frames (opened->step_us, opened->sample_rate > 0
          ? opened->sample_rate : 44100),
      opened->block * MAX (1, info->in_ratio / MAX (1, info->out_ratio)));
  return TRUE;
}

LatentStream *
latent_stream_open (const LatentOpenRequest *request, LatentOpenedModel *opened, GError **error)
{
  if (!open_checked (request, opened, error))
    return NULL;
  LatentStream *stream = latent_stream_new (opened->model, opened->methods[0], opened->block,
      error);
  if (stream) {
    opened->block = latent_stream_get_block (stream);
    opened->info = *latent_stream_get_info (stream);
  }
  if (!stream || !warm_chain (opened, error)
      || (request->latency == LATENT_RT_LATENCY_LOW && !time_margin (opened, error))) {
    latent_stream_free (stream);
    g_clear_pointer (&opened->model, latent_model_free);
    return NULL;
  }
  return stream;
}

LatentRtStream *
latent_rt_stream_open (const LatentOpenRequest *request, const char *affine_method,
    const LatentRtConfig *host, GError **error)
{
  LatentOpenedModel opened;
  if (!latent_open_for_streaming (request, &opened, error))
    return NULL;
  LatentRtConfig config = *host;
  config.block = opened.block;
  config.threads = MAX (1, request->threads);
  config.latency = request->latency;
  config.model_rate = opened.sample_rate; /* resampled on the worker when it differs */
  config.affine_stage = -1;
  for (int i = 0; affine_method && i < opened.n_methods; i++)
    if (!strcmp (opened.methods[i], affine_method))
      config.affine_stage = i;
  return latent_rt_stream_new (opened.model, opened.methods, opened.n_methods, &config, error);
}
