/* Saves never damage what is already there (issue 12): special files, links, read-only files,
 * non-finite terrains and stale temporaries, for every writer of core/ (terrain .pt, dataset
 * JSON, PNG picture). Each case builds its hostile target in a fresh folder. */
#include "latent.h"
#include "safe-file.h"
#include "terrain-private.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static char *tmp_dir;

static LatentTerrain *
small_terrain (void)
{
  LatentTerrainConfig config;
  latent_terrain_config_init (&config);
  config.channels = 8;
  config.features = 8;
  GError *error = NULL;
  LatentTerrain *t = latent_terrain_new (&config, 5, &error);
  g_assert_no_error (error);
  return t;
}

static char *
path_in_tmp (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

/* Every writer, on `path`; each must fail with an error naming `path` and `needle`. */
static void
expect_every_writer_refuses (const char *path, const char *needle)
{
  LatentTerrain *t = small_terrain ();
  LatentTerrainRenderOptions options;
  latent_terrain_render_options_init (&options);
  options.width = options.height = 8;
  LatentTerrainDataset *dataset = latent_terrain_dataset_new (2, 8);
  GError *error = NULL;
  g_assert_false (latent_terrain_save (t, path, &error));
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, needle));
  g_clear_error (&error);
  g_assert_false (latent_terrain_render_png (t, &options, path, &error));
  g_assert_nonnull (strstr (error->message, needle));
  g_clear_error (&error);
  g_assert_false (latent_terrain_dataset_save_json (dataset, path, &error));
  g_assert_nonnull (strstr (error->message, needle));
  g_clear_error (&error);
  latent_terrain_dataset_free (dataset);
  latent_terrain_free (t);
}

static void
test_special_files_refused (void)
{
  char *fifo = path_in_tmp ("a-fifo");
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  expect_every_writer_refuses (fifo, "a FIFO");
  struct stat st;
  g_assert_cmpint (lstat (fifo, &st), ==, 0);
  g_assert_true (S_ISFIFO (st.st_mode));

  char *dir = path_in_tmp ("a-dir");
  g_assert_cmpint (g_mkdir (dir, 0755), ==, 0);
  expect_every_writer_refuses (dir, "a directory");

  /* /dev/null itself: as root, a rename over it would replace the device for everyone. */
  expect_every_writer_refuses ("/dev/null", "a device node");
  g_assert_cmpint (lstat ("/dev/null", &st), ==, 0);
  g_assert_true (S_ISCHR (st.st_mode));

  char *dangling = path_in_tmp ("dangling.pt");
  g_assert_cmpint (symlink ("/nonexistent/terrain.pt", dangling), ==, 0);
  expect_every_writer_refuses (dangling, "symbolic link to a missing file");
  g_free (dangling);
  g_free (dir);
  g_free (fifo);
}

static void
test_read_only_kept (void)
{
  char *path = path_in_tmp ("read-only.pt");
  g_assert_true (g_file_set_contents (path, "precious", -1, NULL));
  g_assert_cmpint (g_chmod (path, 0444), ==, 0);
  expect_every_writer_refuses (path, "read-only (mode 0444)");
  char *text = NULL;
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  g_assert_cmpstr (text, ==, "precious");
  g_free (text);
  g_free (path);
}

/* A link to a regular file: the file it names gets the save, the link stays a link. */
static void
test_symlink_followed (void)
{
  char *real = path_in_tmp ("real.pt"), *link = path_in_tmp ("link.pt");
  g_assert_true (g_file_set_contents (real, "old", -1, NULL));
  g_assert_cmpint (symlink (real, link), ==, 0);
  LatentTerrain *t = small_terrain ();
  GError *error = NULL;
  g_assert_true (latent_terrain_save (t, link, &error));
  g_assert_no_error (error);
  struct stat st;
  g_assert_cmpint (lstat (link, &st), ==, 0);
  g_assert_true (S_ISLNK (st.st_mode));
  LatentTerrain *back = latent_terrain_load (real, &error);
  g_assert_no_error (error);
  latent_terrain_free (back);
  latent_terrain_free (t);
  g_free (real);
  g_free (link);
}

/* Diverged training: a NaN or Inf weight is never written over a good file. */
static void
test_non_finite_terrain_not_written (void)
{
  char *path = path_in_tmp ("good.pt");
  LatentTerrain *t = small_terrain ();
  GError *error = NULL;
  g_assert_true (latent_terrain_save (t, path, &error));
  char *before = NULL, *after = NULL;
  gsize before_len = 0, after_len = 0;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));
  const float bad[] = { NAN, INFINITY };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++) {
    float saved = t->data[t->layers[2].weight + 3];
    t->data[t->layers[2].weight + 3] = bad[i];
    g_assert_false (latent_terrain_save (t, path, &error));
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "not finite"));
    g_assert_nonnull (strstr (error->message, "fc3.weight"));
    g_clear_error (&error);
    t->data[t->layers[2].weight + 3] = saved;
  }
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (after, after_len, before, before_len);
  /* Nothing of ours was left beside it. */
  GDir *d = g_dir_open (tmp_dir, 0, NULL);
  for (const char *name; (name = g_dir_read_name (d));)
    g_assert_false (g_str_has_prefix (name, ".good.pt."));
  g_dir_close (d);
  g_free (before);
  g_free (after);
  latent_terrain_free (t);
  g_free (path);
}

/* A save killed mid-write leaves ".NAME.XXXXXX": the next save removes it once stale, and
 * leaves a fresh one (another save may be writing it) and other files alone. */
static void
test_stale_temporaries_removed (void)
{
  char *path = path_in_tmp ("kept.pt");
  char *stale = path_in_tmp (".kept.pt.AbC123"), *fresh = path_in_tmp (".kept.pt.XyZ789");
  char *other = path_in_tmp (".kept.pt.not-ours"), *old_other = path_in_tmp (".other.pt.AbC123");
  const char *all[] = { stale, fresh, other, old_other };
  const time_t long_ago = time (NULL) - 2 * LATENT_STALE_TEMP_SECONDS;
  for (guint i = 0; i < G_N_ELEMENTS (all); i++) {
    g_assert_true (g_file_set_contents (all[i], "partial", -1, NULL));
    if (all[i] != fresh) {
      struct utimbuf times = { long_ago, long_ago };
      g_assert_cmpint (utime (all[i], &times), ==, 0);
    }
  }
  LatentTerrain *t = small_terrain ();
  GError *error = NULL;
  g_assert_true (latent_terrain_save (t, path, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (fresh, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (old_other, G_FILE_TEST_EXISTS));
  latent_terrain_free (t);
  for (guint i = 0; i < G_N_ELEMENTS (all); i++)
    g_unlink (all[i]);
  g_free (stale);
  g_free (fresh);
  g_free (other);
  g_free (old_other);
  g_free (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("latent-saves-XXXXXX", NULL);
  g_test_add_func ("/saves/special-files-refused", test_special_files_refused);
  g_test_add_func ("/saves/read-only-kept", test_read_only_kept);
  g_test_add_func ("/saves/symlink-followed", test_symlink_followed);
  g_test_add_func ("/saves/non-finite-terrain-not-written", test_non_finite_terrain_not_written);
  g_test_add_func ("/saves/stale-temporaries-removed", test_stale_temporaries_removed);
  int status = g_test_run ();
  char *rm[] = { "rm", "-rf", tmp_dir, NULL };
  g_spawn_sync (NULL, rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  g_free (tmp_dir);
  return status;
}
