/* Fuzzes the interpretation of nn_terrain checkpoints (core/terrain-file.c): the named
 * tensors an archive holds, as the LibTorch backend hands them over, come from the fuzz
 * input through the fuzz backend (fuzz-backend.c: names, dtypes, shapes and values, in any
 * order, missing or repeated). LibTorch's own zip and pickle readers are not fuzzed here.
 *
 * Besides crashes, leaks and undefined behaviour it checks what the loader promises: a
 * terrain it returns has a valid configuration and only finite numbers (weights, biases,
 * slopes, Fourier matrix and its 2*pi factor), as a terrain saved by this suite always has;
 * a refusal names the file. */
#include "fuzz-backend.h"
#include "terrain-private.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static const char *archive_path;

static void
fail (const char *what)
{
  fprintf (stderr, "fuzz-terrain-file: %s\n", what);
  abort ();
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  archive_path = latent_fuzz_backend_install ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  latent_fuzz_backend_feed (data, size);
  GError *error = NULL;
  LatentTerrain *terrain = latent_terrain_load (archive_path, &error);
  if (!terrain) {
    if (!error || !g_str_has_prefix (error->message, archive_path))
      fail ("refused without a message naming the file");
    g_error_free (error);
    return 0;
  }
  GError *config_error = NULL;
  if (!latent_terrain_config_check (latent_terrain_get_config (terrain), &config_error))
    fail (config_error->message);
  if (!isfinite (terrain->two_pi))
    fail ("loaded a non-finite two_pi");
  for (gsize i = 0; i < terrain->n_floats; i++)
    if (!isfinite (terrain->data[i]))
      fail ("loaded a non-finite parameter");
  /* Playback on the loaded network: any finite point must evaluate without error. */
  const LatentTerrainConfig *config = latent_terrain_get_config (terrain);
  float x[LATENT_TERRAIN_MAX_CONTROL_DIMS] = { 0.5f, -0.25f, 1.0f, 0.0f, 2.0f, -1.0f };
  float *out = g_new (float, config->latent_dims);
  latent_terrain_forward_batch (terrain, x, 1, out);
  g_free (out);
  latent_terrain_free (terrain);
  return 0;
}
