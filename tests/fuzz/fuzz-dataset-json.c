/* Fuzzes latent_terrain_dataset_from_json (core/terrain-json.c), nn_terrain's dataset layout.
 *
 * Besides crashes, leaks and undefined behaviour it checks what the reader promises:
 * - a dataset it returns has dims within the terrain limits, at least one fragment, no empty
 *   fragment and only finite values, and it writes back (latent_terrain_dataset_to_json) to
 *   JSON that reads back to the same dataset, value for value;
 * - a refusal comes with a message that names the source;
 * - input nested more than 64 levels deep, as json-glib itself counts the levels, is refused
 *   before json-glib parses it (json-glib recurses once per level: 100000 levels exhaust the
 *   stack). The levels are counted here from json-glib's own parse of the input, so a depth
 *   check that lexes differently from json-glib (comments, single-quoted strings) is caught
 *   at the small sizes a fuzzer uses, long before the stack would overflow. */
#include "latent.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME "fuzz.json"
#define MAX_DEPTH 64

static void
fail (const char *what)
{
  fprintf (stderr, "fuzz-dataset-json: %s\n", what);
  abort ();
}

static int
node_depth (JsonNode *node)
{
  int deepest = 0;
  if (!node) /* an empty document */
    return 0;
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);
    for (guint i = 0; i < json_array_get_length (array); i++) {
      const int depth = node_depth (json_array_get_element (array, i));
      deepest = MAX (deepest, depth);
    }
    return deepest + 1;
  }
  if (JSON_NODE_HOLDS_OBJECT (node)) {
    JsonObject *object = json_node_get_object (node);
    GList *members = json_object_get_values (object);
    for (GList *m = members; m; m = m->next) {
      const int depth = node_depth (m->data);
      deepest = MAX (deepest, depth);
    }
    g_list_free (members);
    return deepest + 1;
  }
  return 0;
}

/* Levels of nesting json-glib sees in the input, or -1 if it does not parse. Safe here:
 * fuzz inputs are a few kB, far from the depth that exhausts the stack. */
static int
json_glib_depth (const char *json, gssize length)
{
  JsonParser *parser = json_parser_new ();
  int depth = json_parser_load_from_data (parser, json, length, NULL)
      ? node_depth (json_parser_get_root (parser)) : -1;
  g_object_unref (parser);
  return depth;
}

static void
check_dataset (const LatentTerrainDataset *ds)
{
  const int control_dims = latent_terrain_dataset_get_control_dims (ds);
  const int latent_dims = latent_terrain_dataset_get_latent_dims (ds);
  if (control_dims < 1 || control_dims > LATENT_TERRAIN_MAX_CONTROL_DIMS || latent_dims < 1
      || latent_dims > LATENT_TERRAIN_MAX_LATENT_DIMS)
    fail ("accepted a dataset whose dims are out of range");
  if (latent_terrain_dataset_get_n_fragments (ds) == 0)
    fail ("accepted a dataset without fragments");
  for (guint i = 0; i < latent_terrain_dataset_get_n_fragments (ds); i++) {
    gsize n;
    const float *c, *l;
    latent_terrain_dataset_get_fragment (ds, i, &n, &c, &l);
    if (n == 0)
      fail ("accepted an empty fragment");
    for (gsize j = 0; j < n * control_dims; j++)
      if (!isfinite (c[j]))
        fail ("accepted a non-finite coordinate");
    for (gsize j = 0; j < n * latent_dims; j++)
      if (!isfinite (l[j]))
        fail ("accepted a non-finite latent");
  }
}

static void
check_round_trip (const LatentTerrainDataset *ds)
{
  char *json = latent_terrain_dataset_to_json (ds);
  GError *error = NULL;
  LatentTerrainDataset *again = latent_terrain_dataset_from_json (json, -1, NAME, &error);
  if (!again) {
    fprintf (stderr, "fuzz-dataset-json: its own JSON does not read back: %s\n%s\n",
        error->message, json);
    abort ();
  }
  const int control_dims = latent_terrain_dataset_get_control_dims (ds);
  const int latent_dims = latent_terrain_dataset_get_latent_dims (ds);
  if (latent_terrain_dataset_get_control_dims (again) != control_dims
      || latent_terrain_dataset_get_latent_dims (again) != latent_dims
      || latent_terrain_dataset_get_n_fragments (again)
          != latent_terrain_dataset_get_n_fragments (ds))
    fail ("the written dataset reads back with other dims or fragment counts");
  for (guint i = 0; i < latent_terrain_dataset_get_n_fragments (ds); i++) {
    gsize n, m;
    const float *c, *l, *c2, *l2;
    latent_terrain_dataset_get_fragment (ds, i, &n, &c, &l);
    latent_terrain_dataset_get_fragment (again, i, &m, &c2, &l2);
    if (n != m)
      fail ("a written fragment reads back with another length");
    /* By value: -0 is written as "-0", which reads back as the integer 0. */
    for (gsize j = 0; j < n * control_dims; j++)
      if (c[j] != c2[j])
        fail ("a written coordinate reads back as another value");
    for (gsize j = 0; j < n * latent_dims; j++)
      if (l[j] != l2[j])
        fail ("a written latent reads back as another value");
  }
  latent_terrain_dataset_free (again);
  g_free (json);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *json = (const char *) data;
  GError *error = NULL;
  LatentTerrainDataset *ds = latent_terrain_dataset_from_json (json, (gssize) size, NAME,
      &error);
  /* json-glib's own view of the depth, where the reader let json-glib parse the input (so
   * parsing it again here is as safe as it was there). */
  const gboolean refused_for_depth = !ds && error && strstr (error->message, "levels deep");
  const int depth = refused_for_depth ? -1 : json_glib_depth (json, (gssize) size);
  if (ds) {
    if (depth > MAX_DEPTH)
      fail ("accepted input nested deeper than 64 levels");
    check_dataset (ds);
    check_round_trip (ds);
    latent_terrain_dataset_free (ds);
    return 0;
  }
  if (!error || !g_str_has_prefix (error->message, NAME ": "))
    fail ("refused without a message naming the source");
  if (depth > MAX_DEPTH) {
    fprintf (stderr, "fuzz-dataset-json: json-glib sees %d levels, and the reader let it "
        "parse them (refused later: %s)\n", depth, error->message);
    abort ();
  }
  g_error_free (error);
  return 0;
}
