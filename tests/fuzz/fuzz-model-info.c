/* Fuzzes core/'s reading of a model's description (core/model.c, core/after.c): the method
 * list, get_methods(), get_attributes(), every `M_params`, `sr` / `sampling_rate` /
 * get_sample_rate() and the attribute accessors answer from the fuzz input through the fuzz
 * backend (fuzz-backend.c), so any value a TorchScript file could hold reaches the checks.
 *
 * Input: one byte of harness choices (bit 0: open it as an AFTER export instead), then the
 * model's description and the answers of its calls (fuzz-backend.c; seeds: make_seeds.py).
 *
 * Besides crashes (a ratio of 2^32 truncated to 0 and divided by), leaks and undefined
 * behaviour (a sample rate of 2^31 converted to int) it checks what the model API promises:
 * a method it lists has positive channel counts and ratios, latent_model_run on a whole
 * block of it hands the backend buffers as long as the shapes say (the backend touches every
 * element, so ASan sees a short one), an unlisted method is refused, the sample rate is not
 * negative, and refusals name the file. */
#include "fuzz-backend.h"
#include "latent.h"

#include <stdio.h>
#include <stdlib.h>

static const char *model_path;

/* Keeps each run's buffers small: a method whose block would be larger is not run. */
#define MAX_RUN_FLOATS (1 << 16)

static void
fail (const char *what, const char *detail)
{
  fprintf (stderr, "fuzz-model-info: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort ();
}

static void
check_refusal (GError *error, const char *what)
{
  if (!error || !g_str_has_prefix (error->message, model_path))
    fail (what, error ? error->message : "no message");
  g_error_free (error);
}

static void
exercise_method (LatentModel *model, const char *method)
{
  LatentMethodInfo info;
  GError *error = NULL;
  if (!latent_model_get_method_info (model, method, &info, &error)) {
    check_refusal (error, "a listed method's info was refused without naming the file");
    return;
  }
  if (info.in_channels < 1 || info.in_ratio < 1 || info.out_channels < 1
      || info.out_ratio < 1)
    fail ("a listed method has a non-positive channel count or ratio", method);
  const gint64 block = latent_method_info_min_block (&info);
  if (block < 1)
    fail ("a method's minimum block is not positive", method);
  const gint64 out_frames = block * info.in_ratio / info.out_ratio;
  if (block * info.in_channels > MAX_RUN_FLOATS || out_frames * info.out_channels > MAX_RUN_FLOATS)
    return;
  float *in = g_new0 (float, block * info.in_channels);
  float *out = g_new0 (float, MAX (out_frames, 1) * info.out_channels);
  if (!latent_model_run (model, method, in, (int) block, out, &error))
    check_refusal (error, "a run failed without naming the file");
  g_free (in);
  g_free (out);
}

static void
exercise_model (LatentModel *model)
{
  const char *const *methods = latent_model_get_methods (model);
  if (!methods || !methods[0])
    fail ("opened a model without methods", NULL);
  for (const char *const *m = methods; *m; m++)
    exercise_method (model, *m);
  LatentMethodInfo info;
  GError *error = NULL;
  if (!latent_model_has_method (model, "no such method")
      && latent_model_get_method_info (model, "no such method", &info, &error))
    fail ("an unlisted method has info", NULL);
  g_clear_error (&error);
  const char *const *attributes = latent_model_get_attributes (model);
  for (const char *const *a = attributes; a && *a; a++) {
    double value = 0.0;
    if (!latent_model_get_attribute (model, *a, &value, &error))
      check_refusal (error, "a getter failed without naming the file");
    else if (!latent_model_set_attribute (model, *a, value, &error))
      check_refusal (error, "a setter failed without naming the file");
    error = NULL;
  }
  if (latent_model_get_sample_rate (model) < 0)
    fail ("a negative sample rate", NULL);
  if (!latent_model_reset (model, &error))
    check_refusal (error, "a reset failed without naming the file");
}

static void
exercise_after (void)
{
  GError *error = NULL;
  LatentAfter *after = latent_after_open (model_path, 1, &error);
  if (!after) {
    check_refusal (error, "an AFTER export was refused without naming the file");
    return;
  }
  const LatentAfterInfo *info = latent_after_get_info (after);
  if (info->chunk < 1 || info->ratio < 1 || info->timbre_dims < 1
      || (info->kind == LATENT_AFTER_MIDI
          && (info->n_poly < 1 || info->n_poly > LATENT_AFTER_MAX_POLY)))
    fail ("an AFTER export opened with an impossible shape", NULL);
  latent_after_free (after);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  model_path = latent_fuzz_backend_install ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const gboolean as_after = data[0] & 1;
  latent_fuzz_backend_feed (data + 1, size - 1);
  if (as_after) {
    exercise_after ();
    return 0;
  }
  GError *error = NULL;
  LatentModel *model = latent_model_open (model_path, 1, &error);
  if (!model) {
    check_refusal (error, "a model was refused without naming the file");
    return 0;
  }
  exercise_model (model);
  latent_model_free (model);
  return 0;
}
