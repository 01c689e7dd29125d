/* Module archives of named tensors (nn_terrain checkpoints), through the torch backend. */
#include "backend.h"
#include "safe-file.h"

#include <math.h>

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t
latent_named_tensor_numel (const LatentNamedTensor *t)
{
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++)
    n *= t->shape[i];
  return n;
}

void
latent_named_tensor_free (LatentNamedTensor *t)
{
  if (!t)
    return;
  g_free (t->name);
  g_free (t->data);
  g_free (t);
}

static int
copy_tensor (const LatentNamedTensor *t, void *user_data)
{
  LatentNamedTensor *copy = g_new0 (LatentNamedTensor, 1);
  *copy = *t;
  copy->name = g_strdup (t->name);
  gsize size = t->dtype == LATENT_DTYPE_INT64 ? sizeof (int64_t) : sizeof (float);
  copy->data = g_memdup2 (t->data, size * (gsize) latent_named_tensor_numel (t));
  g_ptr_array_add (user_data, copy);
  return 1;
}

GPtrArray *
latent_archive_read (const char *path, GError **error)
{
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_LOAD, "%s: no such file", path);
    return NULL;
  }
  const LatentTorchBackend *backend = latent_backend_get (error);
  if (!backend)
    return NULL;
  GPtrArray *tensors = g_ptr_array_new_with_free_func ((GDestroyNotify) latent_named_tensor_free);
  char *message = NULL;
  if (!backend->read_archive (path, copy_tensor, tensors, &message)) {
    latent_backend_take_error (error, LATENT_ERROR_LOAD, message, "%s", path);
    g_ptr_array_unref (tensors);
    return NULL;
  }
  return tensors;
}

/* The first non-finite value among float tensors, as "NAME[index]", or NULL. */
static char *
first_non_finite (LatentNamedTensor *const *tensors, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (tensors[i]->dtype != LATENT_DTYPE_FLOAT32)
      continue;
    const float *v = tensors[i]->data;
    for (int64_t j = 0; j < latent_named_tensor_numel (tensors[i]); j++)
      if (!isfinite (v[j]))
        return g_strdup_printf ("%s[%" G_GINT64_FORMAT "] = %g", tensors[i]->name, j, v[j]);
  }
  return NULL;
}

typedef struct {
  const LatentTorchBackend *backend;
  LatentNamedTensor *const *tensors;
  guint n;
  guint read_back;
} ArchiveSave;

static gboolean
write_archive (const char *temp_path, int fd, gpointer user_data, GError **error)
{
  ArchiveSave *save = user_data;
  close (fd); /* the backend writes by name */
  char *message = NULL;
  if (save->backend->write_archive (temp_path, save->tensors, save->n, &message))
    return TRUE;
  latent_backend_take_error (error, LATENT_ERROR_IO, message, "writing %s", temp_path);
  return FALSE;
}

static int
count_tensor (const LatentNamedTensor *t, void *user_data)
{
  ((ArchiveSave *) user_data)->read_back++;
  return 1;
}

/* What was written reads back, whole: never rename an unloadable file over a good one. */
static gboolean
check_archive (const char *temp_path, gpointer user_data, GError **error)
{
  ArchiveSave *save = user_data;
  char *message = NULL;
  save->read_back = 0;
  if (!save->backend->read_archive (temp_path, count_tensor, save, &message)) {
    latent_backend_take_error (error, LATENT_ERROR_IO, message, "reading back %s", temp_path);
    return FALSE;
  }
  if (save->read_back != save->n) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s read back %u tensors of %u written",
        temp_path, save->read_back, save->n);
    return FALSE;
  }
  return TRUE;
}

gboolean
latent_archive_write (const char *path, LatentNamedTensor *const *tensors, guint n,
    GError **error)
{
  char *bad = first_non_finite (tensors, n);
  if (bad) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT,
        "%s: not written, a value is not finite (%s): training diverged or its input was "
        "not finite; any existing file is kept", path, bad);
    g_free (bad);
    return FALSE;
  }
  ArchiveSave save = { .backend = latent_backend_get (error), .tensors = tensors, .n = n };
  return save.backend && latent_replace_file (path, write_archive, check_archive, &save, error);
}
