/* Module archives of named tensors (nn_terrain checkpoints), through the torch backend. */
#include "backend.h"

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

gboolean
latent_archive_write (const char *path, LatentNamedTensor *const *tensors, guint n,
    GError **error)
{
  const LatentTorchBackend *backend = latent_backend_get (error);
  if (!backend)
    return FALSE;
  /* A temporary name in the same folder, renamed over `path` only once complete. */
  char *dir = g_path_get_dirname (path);
  char *base = g_path_get_basename (path);
  char *tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  int fd = g_mkstemp (tmp);
  gboolean ok = fd >= 0;
  if (!ok)
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s: cannot create a file in %s: %s",
        path, dir, g_strerror (errno));
  else {
    /* mkstemp creates 0600; a saved terrain is a user's document like any other. */
    fchmod (fd, 0644);
    close (fd);
  }
  char *message = NULL;
  if (ok && !(ok = backend->write_archive (tmp, tensors, n, &message)))
    latent_backend_take_error (error, LATENT_ERROR_IO, message, "%s", path);
  if (ok && g_rename (tmp, path) != 0) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s: cannot rename %s into place: %s",
        path, tmp, g_strerror (errno));
    ok = FALSE;
  }
  if (!ok && fd >= 0)
    g_unlink (tmp);
  g_free (tmp);
  g_free (base);
  g_free (dir);
  return ok;
}
