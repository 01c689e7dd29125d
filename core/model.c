/* TorchScript models in the nn~ convention (DESIGN.md "Models"). */
#include "backend.h"
#include "model-private.h"

#include <math.h>
#include <stdatomic.h>
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
  GStrv refused;       /* "M (why)" for methods whose M_params is unusable */
  GHashTable *infos;   /* method -> LatentMethodInfo, read once at open */
  _Atomic guint64 non_finite; /* output values replaced by 0 (replace_non_finite) */
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

/* Why M_params cannot describe M, or NULL when it does (then *info is filled). A ratio of 2^32
 * once truncated to 0 and divided by zero; floats from nn~ 1.5.6 files must be whole. */
static char *
read_params (const LatentModel *model, const char *method, LatentMethodInfo *info)
{
  int64_t p[5] = { 0 };
  char *name = g_strconcat (method, "_params", NULL);
  const int n = model->backend->get_int_list (model->module, name, p, 5);
  char *why = NULL;
  if (n == -1)
    why = g_strdup_printf ("no numeric %s", name);
  else if (n == -2)
    why = g_strdup_printf ("%s holds values that are not whole numbers", name);
  else if (n != 4)
    why = g_strdup_printf ("%s has %d values, expected 4 [in_channels, in_ratio, "
        "out_channels, out_ratio]", name, n);
  else if (p[0] < 1 || p[0] > LATENT_MAX_CHANNELS || p[2] < 1 || p[2] > LATENT_MAX_CHANNELS)
    why = g_strdup_printf ("%s is [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]: channels must be 1..%d", name, p[0], p[1],
        p[2], p[3], LATENT_MAX_CHANNELS);
  else if (p[1] < 1 || p[1] > LATENT_MAX_RATIO || p[3] < 1 || p[3] > LATENT_MAX_RATIO)
    why = g_strdup_printf ("%s is [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %"
        G_GINT64_FORMAT ", %" G_GINT64_FORMAT "]: ratios must be 1..%d", name, p[0], p[1],
        p[2], p[3], LATENT_MAX_RATIO);
  else if (MAX (p[1], p[3]) % MIN (p[1], p[3]) != 0)
    why = g_strdup_printf ("%s has ratios %" G_GINT64_FORMAT " and %" G_GINT64_FORMAT
        ": one must be a multiple of the other", name, p[1], p[3]);
  else
    *info = (LatentMethodInfo) { (int) p[0], (int) p[1], (int) p[2], (int) p[3] };
  g_free (name);
  return why;
}

/* Methods from get_methods() where exported, else every method that has M_params (RAVE v1).
 * A method whose M_params exists but is unusable goes to model->refused with the reason. */
static GStrv
discover_methods (LatentModel *model)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  GStrvBuilder *refused = g_strv_builder_new ();
  char **listed = NULL;
  if (strv_has ((const char *const *) model->all_methods, "get_methods"))
    listed = model->backend->call_string_list (model->module, "get_methods", NULL);
  GStrv candidates = listed ? take_backend_strv (listed) : g_strdupv (model->all_methods);
  for (char **m = candidates; *m; m++) {
    LatentMethodInfo info;
    char *why = read_params (model, *m, &info);
    if (!why) {
      g_strv_builder_add (builder, *m);
      g_hash_table_insert (model->infos, g_strdup (*m), g_memdup2 (&info, sizeof info));
    } else if (!g_str_has_prefix (why, "no numeric")) {
      char *entry = g_strdup_printf ("%s (%s)", *m, why);
      g_strv_builder_add (refused, entry);
      g_free (entry);
    }
    g_free (why);
  }
  g_strfreev (candidates);
  model->refused = g_strv_builder_end (refused);
  g_strv_builder_unref (refused);
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
discover_sample_rate (LatentModel *model, const char **source, double *stated)
{
  double rate = 0.0;
  *source = NULL;
  if (model->backend->get_number (model->module, "sr", &rate) && rate != 0)
    *source = "sr";
  else if (model->backend->get_number (model->module, "sampling_rate", &rate) && rate != 0)
    *source = "sampling_rate";
  else if (strv_has ((const char *const *) model->all_methods, "get_sample_rate")
      && model->backend->call_getter (model->module, "get_sample_rate", &rate, NULL)
      && rate != 0)
    *source = "get_sample_rate()";
  *stated = rate;
  if (!*source)
    return 0; /* the model states none */
  /* (int) of 2^31 or of a NaN is undefined: only a real audio rate is one. */
  return rate >= 1 && rate <= LATENT_MAX_SAMPLE_RATE && rate == floor (rate) ? (int) rate : -1;
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
  model->infos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  model->methods = discover_methods (model);
  model->attributes = discover_attributes (model);
  const char *rate_source;
  double stated_rate;
  model->sample_rate = discover_sample_rate (model, &rate_source, &stated_rate);
  if (model->sample_rate < 0) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_ATTRIBUTE, "%s: %s is %g, not a sample rate "
        "(a whole number of Hz, 1..%d)", path, rate_source, stated_rate, LATENT_MAX_SAMPLE_RATE);
    latent_model_free (model);
    return NULL;
  }
  if (!model->methods[0]) {
    char *found = g_strjoinv (", ", model->all_methods);
    char *refused = g_strjoinv ("; ", model->refused);
    if (model->refused[0])
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
          "%s: no usable method: %s", path, refused);
    else
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
          "%s: no method has an M_params buffer (nn~ convention); methods found: %s", path,
          *found ? found : "none");
    g_free (refused);
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
  g_strfreev (model->refused);
  if (model->infos)
    g_hash_table_unref (model->infos);
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

const char *const *
latent_model_get_refused_methods (const LatentModel *model)
{
  return (const char *const *) model->refused;
}

gboolean
latent_model_get_method_info (const LatentModel *model, const char *method,
    LatentMethodInfo *info, GError **error)
{
  const LatentMethodInfo *found = g_hash_table_lookup (model->infos, method);
  if (found) {
    *info = *found;
    return TRUE;
  }
  const size_t len = strlen (method);
  for (char **r = model->refused; *r; r++)
    if (!strncmp (*r, method, len) && (*r)[len] == ' ') {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD, "%s: method %s is unusable: %s",
          model->path, method, *r + len + 1);
      return FALSE;
    }
  char *names = g_strjoinv (", ", model->methods);
  g_set_error (error, LATENT_ERROR, LATENT_ERROR_METHOD,
      "%s: the model has no method '%s' (methods: %s)", model->path, method, names);
  g_free (names);
  return FALSE;
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

/* The suite's non-finite policy at its source: what a model returns is finite. Non-finite
 * values become 0 and are counted; the model's state, which produced them and may stay
 * non-finite (a 1e30 latent in a recurrent cache), is put back as loaded so the next call
 * recovers by itself. */
static gboolean
replace_non_finite (LatentModel *model, float *out, size_t n, GError **error)
{
  const size_t bad = latent_replace_non_finite (out, n);
  if (!bad)
    return TRUE;
  atomic_fetch_add (&model->non_finite, bad);
  return latent_model_reset (model, error);
}

guint64
latent_model_get_non_finite_count (const LatentModel *model)
{
  return atomic_load (&model->non_finite);
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
  return replace_non_finite (model, out, (size_t) out_frames * info.out_channels, error);
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
