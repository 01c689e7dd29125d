/* Replacing a user's file: only regular, writable files, written beside and renamed over. */
#include "safe-file.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a directory";
  if (S_ISCHR (mode) || S_ISBLK (mode))
    return "a device node";
  if (S_ISFIFO (mode))
    return "a FIFO";
  if (S_ISSOCK (mode))
    return "a socket";
  return "not a regular file";
}

/* The file a save to `path` replaces: `path` itself, or the regular file a link names. */
static char *
save_target (const char *path, GError **error)
{
  struct stat st;
  if (lstat (path, &st) != 0) {
    if (errno == ENOENT)
      return g_strdup (path);
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s: %s", path, g_strerror (errno));
    return NULL;
  }
  char *target = g_strdup (path);
  if (S_ISLNK (st.st_mode)) {
    char *resolved = realpath (path, NULL);
    if (!resolved || stat (resolved, &st) != 0) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO,
          "%s is a symbolic link to a missing file: not written", path);
      free (resolved);
      g_free (target);
      return NULL;
    }
    g_free (target);
    target = g_strdup (resolved);
    free (resolved);
  }
  if (!S_ISREG (st.st_mode)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO,
        "%s is %s, not a regular file: not replaced (choose a file path)", path,
        file_kind (st.st_mode));
  } else if ((st.st_mode & 0222) == 0) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO,
        "%s is read-only (mode %04o): not replaced (make it writable or choose another path)",
        path, (unsigned) (st.st_mode & 07777));
  } else {
    return target;
  }
  g_free (target);
  return NULL;
}

/* Temporaries are ".BASE.XXXXXX" (g_mkstemp's six characters): remove old ones. */
static void
remove_stale_temps (const char *dir, const char *base)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  char *prefix = g_strdup_printf (".%s.", base);
  const size_t prefix_len = strlen (prefix);
  const time_t now = time (NULL);
  for (const char *name; (name = g_dir_read_name (d));) {
    if (strncmp (name, prefix, prefix_len) != 0 || strlen (name) != prefix_len + 6)
      continue;
    char *full = g_build_filename (dir, name, NULL);
    struct stat st;
    if (lstat (full, &st) == 0 && S_ISREG (st.st_mode)
        && now - st.st_mtime > LATENT_STALE_TEMP_SECONDS)
      g_unlink (full);
    g_free (full);
  }
  g_free (prefix);
  g_dir_close (d);
}

gboolean
latent_check_save_path (const char *path, GError **error)
{
  char *target = save_target (path, error);
  if (!target)
    return FALSE;
  char *dir = g_path_get_dirname (target);
  gboolean ok = g_file_test (dir, G_FILE_TEST_IS_DIR) && access (dir, W_OK) == 0;
  if (!ok)
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "cannot write %s: %s is not a writable "
        "folder", path, dir);
  g_free (dir);
  g_free (target);
  return ok;
}

gboolean
latent_replace_file (const char *path, LatentFileWriter write, LatentFileCheck check,
    gpointer user_data, GError **error)
{
  char *target = save_target (path, error);
  if (!target)
    return FALSE;
  char *dir = g_path_get_dirname (target);
  char *base = g_path_get_basename (target);
  remove_stale_temps (dir, base);
  char *tmp = g_strdup_printf ("%s/.%s.XXXXXX", dir, base);
  int fd = g_mkstemp (tmp);
  gboolean ok = fd >= 0;
  if (!ok) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s: cannot create a file in %s: %s",
        path, dir, g_strerror (errno));
  } else {
    /* mkstemp creates 0600; a saved file is a user's document like any other. */
    fchmod (fd, 0644);
    ok = write (tmp, fd, user_data, error) && (!check || check (tmp, user_data, error));
    if (ok && g_rename (tmp, target) != 0) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s: cannot rename %s into place: %s",
          path, tmp, g_strerror (errno));
      ok = FALSE;
    }
    if (!ok)
      g_unlink (tmp);
  }
  g_free (tmp);
  g_free (base);
  g_free (dir);
  g_free (target);
  return ok;
}
