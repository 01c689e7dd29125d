/* TorchScript models in the nn~ convention (DESIGN.md "Models"). */
#include "backend.h"
#include "model-private.h"

#include <stdlib.h>
#include <string.h>

struct LatentModel {
  const LatentTorchBackend *backend;
  LatentTorchModule *module;
  char *path;
  int threads;
  int sample_rate;
  GStrv methods;    /* methods that have M_params, as the file lists them */
  GStrv attributes; /* from get_attributes() where present, else derived from get_/set_ pairs */
  GStrv all_methods;
  gboolean warm; /* warmed up: from now on a graph compilation in a run is a streaming one */
};

static GStrv
take_backend_strv (char **strv)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  for (char **s = strv; s && *s; s++) {
    g_strv_builder_add (builder, *s);
    free (*s);
  }
  free (strv);
  GStrv result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

static gboolean
strv_has (const char *const *strv, const char *name)
{
  return strv && g_strv_contains (strv, name);
}

static gboolean
has_params (const LatentModel *model, const char *method)
{
  int64_t params[4];
  char *name = g_strconcat (method, "_params", NULL);
  int n = model->backend->get_int_list (model->module, name, params, 4);
  g_free (name);
  return n == 4;
}

/* Methods from get_methods() where exported, else every method that has M_params (RAVE v1). */
static GStrv
discover_methods (LatentModel *model)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **listed = NULL;
  if (strv_has ((const char *const *) model->all_methods, "get_methods"))
    listed = model->backend->call_string_list (model->module, "get_methods", NULL);
  GStrv candidates = listed ? take_backend_strv (listed) : g_strdupv (model->all_methods);
  for (char **m = candidates; *m; m++)
    if (has_params (model, *m))
      g_strv_builder_add (builder, *m);
  g_strfreev (candidates);
  GStrv result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

static GStrv
discover_attributes (LatentModel *model)
{
  if (strv_has ((const char *const *) model->all_methods, "get_attributes")) {
    char **listed = model->backend->call_string_list (model->module, "get_attributes", NULL);
    if (listed)
      return take_backend_strv (listed);
  }
  GStrvBuilder *builder = g_strv_builder_new ();
  for (char **m = model->all_methods; *m; m++) {
    if (!g_str_has_prefix (*m, "get_") || !strcmp (*m, "get_methods")
        || !strcmp (*m, "get_attributes") || !strcmp (*m, "get_sample_rate"))
      continue;
    char *setter = g_strconcat ("set_", *m + 4, NULL);
    if (strv_has ((const char *const *) model->all_methods, setter))
      g_strv_builder_add (builder, *m + 4);
    g_free (setter);
  }
  GStrv result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

static int
discover_sample_rate (LatentModel *model)
{
  double rate = 0.0;
  if (model->backend->get_number (model->module, "sr", &rate) && rate > 0)
    return (int) rate;
  if (model->backend->get_number (model->module, "sampling_rate", &rate) && rate > 0)
    return (int) rate;
  if (strv_has ((const char *const *) model->all_methods, "get_sample_rate")
      && model->backend->call_getter (model->module, "get_sample_rate", &rate, NULL) && rate > 0)
    return (int) rate;
  return 0;
}

static gboolean
load_module (LatentModel *model, GError **error)
{
  char *message = NULL;
  model->module = model->backend->load (model->path, &message);
  if (!model->module) {
    latent_backend_take_error (error, LATENT_ERROR_LOAD, message, "%s", model->path);
    return FALSE;
  }
  return TRUE;
}

LatentModel *
latent_model_open (const char *path, int threads, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_LOAD, "%s: no such model file", path);
    return NULL;
  }
  const LatentTorchBackend *backend = latent_backend_get (error);
  if (!backend)
    return NULL;
  LatentModel *model = g_new0 (LatentModel, 1);
  model->backend = backend;
  model->path = g_strdup (path);
  model->threads = MAX (threads, 1);
  if (!load_module (model, error)) {
    latent_model_free (model);
    return NULL;
  }
  model->all_methods = take_backend_strv (backend->list_methods (model->module));
  model->methods = discover_methods (model);
  model->attributes = discover_attributes (model);
  model->sample_rate = discover_sample_rate (model);
  if (!model->methods[0]) {
    char *found = g_strjoinv (", ", model->all_methods);
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
        "%s: no method has an M_params buffer (nn~ convention); methods found: %s", path,
        *found ? found : "none");
    g_free (found);
    latent_model_free (model);
    return NULL;
  }
  return model;
}

void
latent_model_free (LatentModel *model)
{
  if (!model)
    return;
  if (model->module)
    model->backend->free (model->module);
  g_strfreev (model->methods);
  g_strfreev (model->attributes);
  g_strfreev (model->all_methods);
  g_free (model->path);
  g_free (model);
}

const char *
latent_model_get_path (const LatentModel *model)
{
  return model->path;
}

int
latent_model_get_sample_rate (const LatentModel *model)
{
  return model->sample_rate;
}

const char *const *
latent_model_get_methods (const LatentModel *model)
{
  return (const char *const *) model->methods;
}

const char *const *
latent_model_get_attributes (const LatentModel *model)
{
  return (const char *const *) model->attributes;
}

gboolean
latent_model_has_method (const LatentModel *model, const char *method)
{
  return strv_has ((const char *const *) model->methods, method);
}

gboolean
latent_model_get_method_info (const LatentModel *model, const char *method,
    LatentMethodInfo *info, GError **error)
{
  if (!latent_model_has_method (model, method)) {
    char *found = g_strjoinv (", ", model->methods);
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
        "%s: the model has no method '%s' (methods: %s)", model->path, method, found);
    g_free (found);
    return FALSE;
  }
  int64_t p[4] = { 0 };
  char *name = g_strconcat (method, "_params", NULL);
  model->backend->get_int_list (model->module, name, p, 4);
  if (p[0] < 1 || p[1] < 1 || p[2] < 1 || p[3] < 1 || p[0] > 4096 || p[2] > 4096) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
        "%s: %s is [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT "], expected positive [in_channels, in_ratio, out_channels, out_ratio]",
        model->path, name, p[0], p[1], p[2], p[3]);
    g_free (name);
    return FALSE;
  }
  g_free (name);
  *info = (LatentMethodInfo) { (int) p[0], (int) p[1], (int) p[2], (int) p[3] };
  return TRUE;
}

int
latent_method_info_min_block (const LatentMethodInfo *info)
{
  return info->out_ratio > info->in_ratio ? info->out_ratio / info->in_ratio : 1;
}

void
latent_model_set_threads (LatentModel *model, int threads)
{
  model->threads = MAX (threads, 1);
}

int
latent_model_get_threads (const LatentModel *model)
{
  return model->threads;
}

static gboolean
require_accessor (LatentModel *model, const char *accessor, const char *name, GError **error)
{
  if (strv_has ((const char *const *) model->all_methods, accessor))
    return TRUE;
  char *known = g_strjoinv (", ", model->attributes);
  g_set_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE,
      "%s: the model has no method %s for attribute '%s' (attributes: %s)", model->path,
      accessor, name, *known ? known : "none");
  g_free (known);
  return FALSE;
}

gboolean
latent_model_get_attribute (LatentModel *model, const char *name, double *value,
    GError **error)
{
  char *getter = g_strconcat ("get_", name, NULL);
  gboolean ok = require_accessor (model, getter, name, error);
  char *message = NULL;
  if (ok && !(ok = model->backend->call_getter (model->module, getter, value, &message)))
    latent_backend_take_error (error, LATENT_ERROR_ATTRIBUTE, message, "%s: %s()",
        model->path, getter);
  g_free (getter);
  return ok;
}

gboolean
latent_model_set_attribute (LatentModel *model, const char *name, double value,
    GError **error)
{
  char *setter = g_strconcat ("set_", name, NULL);
  gboolean ok = require_accessor (model, setter, name, error);
  char *message = NULL;
  double status = 0.0;
  if (ok && !(ok = model->backend->call_setter (model->module, setter, value, &status, &message)))
    latent_backend_take_error (error, LATENT_ERROR_ATTRIBUTE, message, "%s: %s(%g)",
        model->path, setter, value);
  else if (ok && status != 0.0) {
    /* nn~ setters return 0 on success. */
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE,
        "%s: %s(%g) refused the value (returned %g)", model->path, setter, value, status);
    ok = FALSE;
  }
  g_free (setter);
  return ok;
}

gboolean
latent_model_run (LatentModel *model, const char *method, const float *in, int in_frames,
    float *out, GError **error)
{
  LatentMethodInfo info;
  if (!latent_model_get_method_info (model, method, &info, error))
    return FALSE;
  if (in_frames <= 0 || in_frames % latent_method_info_min_block (&info)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE,
        "%s: %s needs a multiple of %d frames, got %d", model->path, method,
        latent_method_info_min_block (&info), in_frames);
    return FALSE;
  }
  int out_frames = (int) ((gint64) in_frames * info.in_ratio / info.out_ratio);
  char *message = NULL;
  if (!model->backend->run (model->module, method, in, info.in_channels, in_frames, out,
          info.out_channels, out_frames, model->threads, model->warm, &message)) {
    latent_backend_take_error (error, LATENT_ERROR_RUN, message, "%s: %s", model->path, method);
    return FALSE;
  }
  return TRUE;
}

gboolean
latent_model_reset (LatentModel *model, GError **error)
{
  char *message = NULL;
  if (strv_has ((const char *const *) model->all_methods, "reset")) {
    if (model->backend->call_void (model->module, "reset", &message))
      return TRUE;
    latent_backend_take_error (error, LATENT_ERROR_RUN, message, "%s: reset()", model->path);
    return FALSE;
  }
  /* No reset() (RAVE and AFTER exports): put the state tensors back as loaded. Never reload:
   * that throws away the graphs optimised in warm-up, and the next call optimises again. */
  if (model->backend->restore_state (model->module, &message))
    return TRUE;
  latent_backend_take_error (error, LATENT_ERROR_RUN, message, "%s: restoring the state "
      "tensors after load", model->path);
  return FALSE;
}

void
latent_model_set_warm (LatentModel *model, gboolean warm)
{
  model->warm = warm;
}

gboolean
latent_model_warm_up (LatentModel *model, const char *method, int block, GError **error)
{
  LatentMethodInfo info;
  if (!latent_model_get_method_info (model, method, &info, error))
    return FALSE;
  int out_frames = (int) ((gint64) block * info.in_ratio / info.out_ratio);
  latent_model_set_warm (model, FALSE);
  float *in = g_new0 (float, (gsize) block * info.in_channels);
  float *out = g_new0 (float, (gsize) out_frames * info.out_channels);
  gboolean ok = TRUE;
  for (int i = 0; ok && i < 3; i++)
    ok = latent_model_run (model, method, in, block, out, error);
  g_free (in);
  g_free (out);
  if (!ok || !latent_model_reset (model, error))
    return FALSE;
  latent_model_set_warm (model, TRUE);
  return TRUE;
}
