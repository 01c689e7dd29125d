/* Internal to core/: replacing a user's file without ever losing it. */
#ifndef LATENT_SAFE_FILE_H
#define LATENT_SAFE_FILE_H

#include "latent.h"

/* Writes the new content into `fd` (a fresh file beside the target; the writer closes it)
 * or, when it must write by name, into `temp_path` after closing `fd`. */
typedef gboolean (*LatentFileWriter) (const char *temp_path, int fd, gpointer user_data,
    GError **error);
/* Checks the written temporary file before it replaces anything (NULL: no check). */
typedef gboolean (*LatentFileCheck) (const char *temp_path, gpointer user_data, GError **error);

/* Saves to `path`: refuses a path that is not a regular file (device node, FIFO, directory,
 * socket) or that is read-only, follows a symbolic link to the regular file it names, writes
 * a temporary file beside the target (removing temporaries of ours that a killed save left
 * there more than a minute ago), checks it, and renames it over the target only then. On any
 * failure the existing file is untouched and the error names `path` and the reason. */
gboolean latent_replace_file (const char *path, LatentFileWriter write, LatentFileCheck check,
    gpointer user_data, GError **error);

/* The stale-temporary age, in seconds: older ones are from saves that died. */
#define LATENT_STALE_TEMP_SECONDS 60

#endif
