/* Datasets as JSON in nn_terrain's dictionary layout.
 *
 * Checked against jasper-zheng/nn_terrain (nn.terrain~ create_dataloader, nn.terrain.gui
 * getcontent): the dictionary has "coordinates" and "latents"; each maps "1".."N" (fragment
 * i + 1) to a dictionary mapping "0".."D-1" to the values of that dimension over time. The GUI
 * adds "anchor_x"/"anchor_y" (the drawn polyline) next to "0"/"1"; nn.terrain~ reads only the
 * numbered keys, and so do we. Max writes a one-element list as a bare number, so a number
 * stands for an array of one. Like nn.terrain~, fragments present on one side only and frames
 * beyond the shorter of a fragment's coordinates and latents are left out (the GUI emits one
 * coordinate more than there are latent frames); everything else that does not fit is an error
 * naming the key and index. */
#include "terrain-private.h"
#include "safe-file.h"

#include <json-glib/json-glib.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static gboolean
fail (GError **error, const char *name, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, const char *name, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  char *message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATENT_ERROR, LATENT_ERROR_FORMAT, "%s: %s", name, message);
  g_free (message);
  return FALSE;
}

static gboolean
is_index_key (const char *key)
{
  if (!*key)
    return FALSE;
  for (const char *c = key; *c; c++)
    if (!g_ascii_isdigit (*c))
      return FALSE;
  return TRUE;
}

/* Number of numbered members ("0", "1", ...) of a fragment. */
static int
count_dims (JsonObject *fragment)
{
  int dims = 0;
  GList *members = json_object_get_members (fragment);
  for (GList *m = members; m; m = m->next)
    dims += is_index_key (m->data);
  g_list_free (members);
  return dims;
}

/* The values of one dimension: an array of numbers, or a bare number. */
static gboolean
read_values (JsonNode *node, const char *name, const char *where, GArray *values,
    GError **error)
{
  g_array_set_size (values, 0);
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);
    guint n = json_array_get_length (array);
    for (guint i = 0; i < n; i++) {
      JsonNode *element = json_array_get_element (array, i);
      GType type = JSON_NODE_HOLDS_VALUE (element) ? json_node_get_value_type (element) : 0;
      if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
        return fail (error, name, "%s[%u] is not a number", where, i);
      float v = (float) json_node_get_double (element);
      if (!isfinite (v))
        return fail (error, name, "%s[%u] is out of float range", where, i);
      g_array_append_val (values, v);
    }
    return TRUE;
  }
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : 0;
  if (type != G_TYPE_INT64 && type != G_TYPE_DOUBLE)
    return fail (error, name, "%s is neither an array nor a number", where);
  float v = (float) json_node_get_double (node);
  if (!isfinite (v))
    return fail (error, name, "%s is out of float range", where);
  g_array_append_val (values, v);
  return TRUE;
}

static JsonObject *
get_object (JsonObject *parent, const char *key, const char *name, const char *where,
    GError **error)
{
  JsonNode *node = json_object_get_member (parent, key);
  if (!node) {
    fail (error, name, "missing key \"%s\"%s%s", key, *where ? " in " : "", where);
    return NULL;
  }
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    fail (error, name, "%s%s%s is not an object", where, *where ? "/" : "", key);
    return NULL;
  }
  return json_node_get_object (node);
}

/* Reads fragment `key` of `side` ("coordinates" or "latents") into planar arrays
 * (one GArray per dim); checks that every dimension has the same length. */
static gboolean
read_fragment (JsonObject *side_object, const char *side, const char *key, int dims,
    const char *name, GArray **planes, gsize *n_frames, GError **error)
{
  char *where = g_strdup_printf ("%s", side);
  JsonObject *fragment = get_object (side_object, key, name, where, error);
  g_free (where);
  if (!fragment)
    return FALSE;
  int found = count_dims (fragment);
  if (found != dims)
    return fail (error, name, "%s/%s has %d dimensions, %s/1 has %d", side, key, found, side,
        dims);
  for (int d = 0; d < dims; d++) {
    char dim_key[16];
    g_snprintf (dim_key, sizeof dim_key, "%d", d);
    JsonNode *node = json_object_get_member (fragment, dim_key);
    if (!node)
      return fail (error, name, "missing key \"%s\" in %s/%s", dim_key, side, key);
    char *at = g_strdup_printf ("%s/%s/%s", side, key, dim_key);
    gboolean ok = read_values (node, name, at, planes[d], error);
    g_free (at);
    if (!ok)
      return FALSE;
    if (d > 0 && planes[d]->len != planes[0]->len)
      return fail (error, name, "%s/%s/%d has %u values, %s/%s/0 has %u", side, key, d,
          planes[d]->len, side, key, planes[0]->len);
  }
  *n_frames = planes[0]->len;
  return TRUE;
}

static GArray **
planes_new (int dims)
{
  GArray **planes = g_new (GArray *, dims);
  for (int d = 0; d < dims; d++)
    planes[d] = g_array_new (FALSE, FALSE, sizeof (float));
  return planes;
}

static void
planes_free (GArray **planes, int dims)
{
  for (int d = 0; d < dims; d++)
    g_array_unref (planes[d]);
  g_free (planes);
}

/* Planar [dim][frame] -> interleaved [frame][dim], first n frames. */
static float *
interleave (GArray **planes, int dims, gsize n)
{
  float *out = g_new (float, n * dims);
  for (gsize j = 0; j < n; j++)
    for (int d = 0; d < dims; d++)
      out[j * dims + d] = g_array_index (planes[d], float, j);
  return out;
}

static LatentTerrainDataset *
dataset_from_root (JsonNode *root, const char *name, GError **error)
{
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    fail (error, name, "the top level is not an object");
    return NULL;
  }
  JsonObject *top = json_node_get_object (root);
  JsonObject *coordinates = get_object (top, "coordinates", name, "", error);
  JsonObject *latents = coordinates ? get_object (top, "latents", name, "", error) : NULL;
  if (!latents)
    return NULL;
  guint n = MIN (json_object_get_size (coordinates), json_object_get_size (latents));
  if (n == 0) {
    fail (error, name, "no fragments (\"coordinates\" has %u, \"latents\" has %u)",
        json_object_get_size (coordinates), json_object_get_size (latents));
    return NULL;
  }
  /* Dimensions come from fragment "1"; every other fragment must agree. */
  JsonObject *first_c = get_object (coordinates, "1", name, "coordinates", error);
  JsonObject *first_l = first_c ? get_object (latents, "1", name, "latents", error) : NULL;
  if (!first_l)
    return NULL;
  int control_dims = count_dims (first_c), latent_dims = count_dims (first_l);
  if (control_dims < 1 || control_dims > LATENT_TERRAIN_MAX_CONTROL_DIMS
      || latent_dims < 1 || latent_dims > LATENT_TERRAIN_MAX_LATENT_DIMS) {
    fail (error, name, "coordinates/1 has %d dimensions and latents/1 %d: need 1..%d and 1..%d",
        control_dims, latent_dims, LATENT_TERRAIN_MAX_CONTROL_DIMS,
        LATENT_TERRAIN_MAX_LATENT_DIMS);
    return NULL;
  }
  LatentTerrainDataset *ds = latent_terrain_dataset_new (control_dims, latent_dims);
  GArray **c_planes = planes_new (control_dims), **l_planes = planes_new (latent_dims);
  gboolean ok = TRUE;
  for (guint i = 1; ok && i <= n; i++) {
    char key[16];
    g_snprintf (key, sizeof key, "%u", i);
    gsize c_frames = 0, l_frames = 0;
    ok = read_fragment (coordinates, "coordinates", key, control_dims, name, c_planes,
             &c_frames, error)
        && read_fragment (latents, "latents", key, latent_dims, name, l_planes, &l_frames,
            error);
    if (ok && MIN (c_frames, l_frames) == 0)
      ok = fail (error, name, "fragment %s is empty (%" G_GSIZE_FORMAT " coordinates, %"
          G_GSIZE_FORMAT " latent frames)", key, c_frames, l_frames);
    if (ok) {
      gsize frames = MIN (c_frames, l_frames);
      float *c = interleave (c_planes, control_dims, frames);
      float *l = interleave (l_planes, latent_dims, frames);
      latent_terrain_dataset_add_fragment (ds, c, l, frames);
      g_free (c);
      g_free (l);
    }
  }
  planes_free (c_planes, control_dims);
  planes_free (l_planes, latent_dims);
  if (!ok) {
    latent_terrain_dataset_free (ds);
    return NULL;
  }
  return ds;
}

/* nn_terrain datasets nest 4 levels; json-glib's parser recurses once per level, so a file
 * nested 100000 deep would exhaust the stack: measure before parsing. */
#define MAX_JSON_DEPTH 64

static int
json_depth (const char *json, gssize length)
{
  const size_t n = length < 0 ? strlen (json) : (size_t) length;
  int depth = 0, deepest = 0;
  gboolean in_string = FALSE;
  for (size_t i = 0; i < n; i++) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = FALSE;
    } else if (c == '"') {
      in_string = TRUE;
    } else if (c == '[' || c == '{') {
      depth++;
      deepest = MAX (deepest, depth);
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return deepest;
}

LatentTerrainDataset *
latent_terrain_dataset_from_json (const char *json, gssize length, const char *name,
    GError **error)
{
  const int depth = json_depth (json, length);
  if (depth > MAX_JSON_DEPTH) {
    fail (error, name, "nested %d levels deep, at most %d allowed (a dataset needs 4)", depth,
        MAX_JSON_DEPTH);
    return NULL;
  }
  JsonParser *parser = json_parser_new ();
  GError *local = NULL;
  LatentTerrainDataset *ds = NULL;
  if (!json_parser_load_from_data (parser, json, length, &local)) {
    fail (error, name, "not valid JSON: %s", local->message);
    g_error_free (local);
  } else {
    ds = dataset_from_root (json_parser_get_root (parser), name, error);
  }
  g_object_unref (parser);
  return ds;
}

LatentTerrainDataset *
latent_terrain_dataset_load_json (const char *path, GError **error)
{
  char *contents = NULL;
  gsize length = 0;
  GError *local = NULL;
  if (!g_file_get_contents (path, &contents, &length, &local)) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "%s", local->message);
    g_error_free (local);
    return NULL;
  }
  LatentTerrainDataset *ds = latent_terrain_dataset_from_json (contents, length, path, error);
  g_free (contents);
  return ds;
}

/* ---------------------------------------------------------------- export */

/* The shortest decimal that reads back as the same float. */
static void
append_float (GString *s, float v)
{
  if (!isfinite (v)) {
    g_string_append (s, "null"); /* JSON has no NaN; the loader will refuse it by name */
    return;
  }
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int digits = 6; digits <= 9; digits++) {
    char format[8];
    g_snprintf (format, sizeof format, "%%.%dg", digits);
    g_ascii_formatd (buf, sizeof buf, format, v);
    if ((float) g_ascii_strtod (buf, NULL) == v)
      break;
  }
  g_string_append (s, buf);
}

static void
append_side (GString *s, const LatentTerrainDataset *ds, gboolean latents)
{
  int dims = latents ? latent_terrain_dataset_get_latent_dims (ds)
                     : latent_terrain_dataset_get_control_dims (ds);
  g_string_append_printf (s, "  \"%s\": {", latents ? "latents" : "coordinates");
  for (guint i = 0; i < latent_terrain_dataset_get_n_fragments (ds); i++) {
    gsize n;
    const float *c, *l;
    latent_terrain_dataset_get_fragment (ds, i, &n, &c, &l);
    const float *values = latents ? l : c;
    g_string_append_printf (s, "%s\n    \"%u\": {", i ? "," : "", i + 1);
    for (int d = 0; d < dims; d++) {
      g_string_append_printf (s, "%s\n      \"%d\": [", d ? "," : "", d);
      for (gsize j = 0; j < n; j++) {
        if (j)
          g_string_append (s, ", ");
        append_float (s, values[j * dims + d]);
      }
      g_string_append_c (s, ']');
    }
    g_string_append (s, "\n    }");
  }
  g_string_append (s, "\n  }");
}

char *
latent_terrain_dataset_to_json (const LatentTerrainDataset *dataset)
{
  GString *s = g_string_new ("{\n");
  append_side (s, dataset, FALSE);
  g_string_append (s, ",\n");
  append_side (s, dataset, TRUE);
  g_string_append (s, "\n}\n");
  return g_string_free (s, FALSE);
}

static gboolean
write_text (const char *temp_path, int fd, gpointer user_data, GError **error)
{
  const char *text = user_data;
  size_t left = strlen (text);
  while (left > 0) {
    ssize_t n = write (fd, text, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "writing %s: %s", temp_path,
          g_strerror (errno));
      close (fd);
      return FALSE;
    }
    text += n;
    left -= (size_t) n;
  }
  if (close (fd) != 0) {
    g_set_error (error, LATENT_ERROR, LATENT_ERROR_IO, "writing %s: %s", temp_path,
        g_strerror (errno));
    return FALSE;
  }
  return TRUE;
}

gboolean
latent_terrain_dataset_save_json (const LatentTerrainDataset *dataset, const char *path,
    GError **error)
{
  char *json = latent_terrain_dataset_to_json (dataset);
  gboolean ok = latent_replace_file (path, write_text, NULL, json, error);
  g_free (json);
  return ok;
}
