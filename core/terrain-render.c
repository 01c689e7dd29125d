/* Pictures of a terrain: one latent channel in grey, or four in colour, as nn_terrain's GUI
 * draws them, written as PNG with libpng. */
#include "terrain-private.h"
#include "safe-file.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SIDE 16384

void
latent_terrain_render_options_init (LatentTerrainRenderOptions *options)
{
  /* nn.terrain.gui's canvas (600 x 150), values_boundary and terrain_clamp defaults. */
  *options = (LatentTerrainRenderOptions) {
    .width = 600, .height = 150,
    .left = -16.0f, .top = -4.0f, .right = 16.0f, .bottom = 4.0f,
    .channel = 0, .clamp_lo = -1.0f, .clamp_hi = 4.0f, .colour = FALSE,
  };
}

static gboolean
check_options (const LatentTerrain *terrain, const LatentTerrainRenderOptions *o,
    GError **error)
{
  int latent_dims = terrain->config.latent_dims;
  const char *problem = NULL;
  char *owned = NULL;
  if (o->width < 1 || o->height < 1 || o->width > MAX_SIDE || o->height > MAX_SIDE)
    problem = owned = g_strdup_printf ("picture size %dx%d is outside 1x1..%dx%d", o->width,
        o->height, MAX_SIDE, MAX_SIDE);
  else if (!isfinite (o->left) || !isfinite (o->right) || !isfinite (o->top)
      || !isfinite (o->bottom))
    problem = "bounds must be finite";
  else if (!(o->clamp_hi > o->clamp_lo))
    problem = owned = g_strdup_printf ("clamp range %g,%g is empty", o->clamp_lo, o->clamp_hi);
  else if (!o->colour && (o->channel < 0 || o->channel >= latent_dims))
    problem = owned = g_strdup_printf ("channel %d does not exist (the terrain has %d)",
        o->channel, latent_dims);
  /* Colour reads channels c..c+3. nn_terrain tests c + 4 < dims, which wrongly refuses
   * colour for a 4-dim terrain; the channels needed exist when c + 4 <= dims. */
  else if (o->colour && (o->channel < 0 || o->channel + 4 > latent_dims))
    problem = owned = g_strdup_printf ("colour needs channels %d..%d, the terrain has %d",
        o->channel, o->channel + 3, latent_dims);
  if (problem)
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_SHAPE, "%s", problem);
  g_free (owned);
  return problem == NULL;
}

/* clamp to [lo, hi], then map linearly onto [0, 1] */
static inline float
unit (float v, float lo, float hi)
{
  v = v < lo ? lo : v > hi ? hi : v;
  return (v - lo) / (hi - lo);
}

static inline guint8
to_byte (float v)
{
  return (guint8) lrintf (v * 255.0f);
}

gboolean
latent_terrain_render (const LatentTerrain *terrain, const LatentTerrainRenderOptions *o,
    guint8 *pixels, GError **error)
{
  if (!check_options (terrain, o, error))
    return FALSE;
  int dims = terrain->config.control_dims, latent_dims = terrain->config.latent_dims;
  float *x = g_new0 (float, (gsize) o->width * dims);
  float *out = g_new (float, (gsize) o->width * latent_dims);
  /* Sample positions as nn.terrain~ computes them: lo + index * ((hi - lo) / resolution). */
  float x_stride = (o->right - o->left) / o->width;
  float y_stride = (o->bottom - o->top) / o->height;
  float lo = o->clamp_lo, hi = o->clamp_hi;
  for (int i = 0; i < o->height; i++) {
    for (int j = 0; j < o->width; j++) {
      x[(gsize) j * dims] = o->left + j * x_stride;
      if (dims > 1)
        x[(gsize) j * dims + 1] = o->top + i * y_stride;
    }
    latent_terrain_forward_batch (terrain, x, o->width, out);
    if (!o->colour) {
      guint8 *row = pixels + (gsize) i * o->width;
      for (int j = 0; j < o->width; j++)
        row[j] = to_byte (unit (out[(gsize) j * latent_dims + o->channel], lo, hi));
      continue;
    }
    /* nn.terrain.gui: channel c is brightness (0..1), c+1..c+3 pick a colour between the
     * default low (0.9, 0.75, 0.6) and high (1, 1, 1) colours; the pixel is colour * brightness. */
    static const float low[3] = { 0.9f, 0.75f, 0.6f };
    guint8 *row = pixels + (gsize) i * o->width * 3;
    for (int j = 0; j < o->width; j++) {
      const float *v = out + (gsize) j * latent_dims + o->channel;
      float brightness = unit (v[0], lo, hi);
      for (int k = 0; k < 3; k++) {
        float colour = low[k] + (1.0f - low[k]) * unit (v[k + 1], lo, hi);
        row[j * 3 + k] = to_byte (colour * brightness);
      }
    }
  }
  g_free (x);
  g_free (out);
  return TRUE;
}

/* Writes rows to an open FILE; libpng reports errors by longjmp. */
static gboolean
write_png (FILE *file, const guint8 *pixels, int width, int height, gboolean colour,
    char **message)
{
  png_structp png = png_create_write_struct (PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct (png) : NULL;
  if (!info) {
    png_destroy_write_struct (&png, NULL);
    *message = g_strdup ("libpng could not start");
    return FALSE;
  }
  if (setjmp (png_jmpbuf (png))) {
    png_destroy_write_struct (&png, &info);
    *message = g_strdup ("libpng failed to write the picture");
    return FALSE;
  }
  png_init_io (png, file);
  png_set_IHDR (png, info, width, height, 8, colour ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
      PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info (png, info);
  gsize stride = (gsize) width * (colour ? 3 : 1);
  for (int i = 0; i < height; i++)
    png_write_row (png, pixels + i * stride);
  png_write_end (png, NULL);
  png_destroy_write_struct (&png, &info);
  return TRUE;
}

typedef struct {
  const guint8 *pixels;
  const LatentTerrainRenderOptions *options;
} PngSave;

static gboolean
write_png_file (const char *temp_path, int fd, gpointer user_data, GError **error)
{
  const PngSave *save = user_data;
  FILE *file = fdopen (fd, "wb");
  if (!file) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "writing %s: %s", temp_path,
        g_strerror (errno));
    close (fd);
    return FALSE;
  }
  char *message = NULL;
  gboolean ok = write_png (file, save->pixels, save->options->width, save->options->height,
      save->options->colour, &message);
  if (fclose (file) != 0 && ok) {
    message = g_strdup (g_strerror (errno));
    ok = FALSE;
  }
  if (!ok)
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "writing %s: %s", temp_path, message);
  g_free (message);
  return ok;
}

gboolean
latent_terrain_render_png (const LatentTerrain *terrain,
    const LatentTerrainRenderOptions *options, const char *path, GError **error)
{
  if (!check_options (terrain, options, error))
    return FALSE;
  gsize size = (gsize) options->width * options->height * (options->colour ? 3 : 1);
  guint8 *pixels = g_malloc (size);
  PngSave save = { pixels, options };
  gboolean ok = latent_terrain_render (terrain, options, pixels, error)
      && latent_replace_file (path, write_png_file, NULL, &save, error);
  g_free (pixels);
  return ok;
}
