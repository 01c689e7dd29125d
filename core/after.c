/* AFTER exports driven one chunk at a time (latent-after.h). */
#include "latent.h"
#include "model-private.h"

#include <math.h>
#include <string.h>

struct LatentAfter {
  LatentModel *model;
  LatentAfterInfo info;
  int block;            /* chunk * ratio audio samples */
  gboolean use_generate; /* one `generate` call instead of diffuse + decode */
  float *timbre;        /* [timbre_dims] current timbre vector */
  float *timbre_frames; /* [timbre_dims][chunk] scratch for `timbre` output */
  float *structure;     /* [structure_dims][chunk] scratch for `structure` output */
  float *diffuse_in;    /* [structure + timbre channels][chunk] */
  float *latents;       /* [latent_dims][chunk] (diffuse + decode path) */
  int map_block;        /* frames per map2latent call; 0: the model has no 2-D map */
  float *map_in, *map_out; /* [2][map_block], [timbre_dims][map_block] */
  /* Attribute values set, re-applied after a reset that reloads the file. */
  int steps;
  double guidance_structure, guidance_timbre;
};

static const char *const required_attributes[] = {
  "nb_steps", "guidance_structure", "guidance_timbre",
};

static gboolean
fail (GError **error, LatentError code, const char *path, const char *format, ...)
    G_GNUC_PRINTF (4, 5);

static gboolean
fail (GError **error, LatentError code, const char *path, const char *format, ...)
{
  va_list args;
  va_start (args, format);
  char *what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, LATENT_ERROR, code, "%s: %s", path, what);
  g_free (what);
  return FALSE;
}

/* Every method and get_/set_ pair AFTER's interface needs, named in one message. */
static gboolean
check_interface (LatentAfter *after, GError **error)
{
  LatentModel *model = after->model;
  const char *path = latent_model_get_path (model);
  GString *missing = g_string_new (NULL);
  if (!latent_model_has_method (model, "timbre"))
    g_string_append (missing, "method timbre, ");
  if (!latent_model_has_method (model, "generate")
      && !(latent_model_has_method (model, "diffuse") && latent_model_has_method (model, "decode")))
    g_string_append (missing, "method generate (or diffuse + decode), ");
  gboolean methods_missing = missing->len > 0;
  const char *const *attributes = latent_model_get_attributes (model);
  for (gsize i = 0; i < G_N_ELEMENTS (required_attributes); i++) {
    double value;
    if (!g_strv_contains (attributes, required_attributes[i])
        || !latent_model_get_attribute (model, required_attributes[i], &value, NULL))
      g_string_append_printf (missing, "attribute %s (get_%s/set_%s), ", required_attributes[i],
          required_attributes[i], required_attributes[i]);
  }
  if (missing->len == 0) {
    g_string_free (missing, TRUE);
    return TRUE;
  }
  g_string_truncate (missing, missing->len - 2);
  char *methods = g_strjoinv (", ", (char **) latent_model_get_methods (model));
  char *attrs = g_strjoinv (", ", (char **) attributes);
  fail (error, methods_missing ? LATENT_ERROR_METHOD : LATENT_ERROR_ATTRIBUTE, path,
      "not an AFTER export: missing %s (methods: %s; attributes: %s)", missing->str, methods,
      *attrs ? attrs : "none");
  g_free (methods);
  g_free (attrs);
  g_string_free (missing, TRUE);
  return FALSE;
}

/* Channel counts from the _params buffers; kind from the presence of `structure`. */
static gboolean
read_shapes (LatentAfter *after, GError **error)
{
  LatentModel *model = after->model;
  const char *path = latent_model_get_path (model);
  LatentAfterInfo *info = &after->info;
  LatentMethodInfo timbre, core;
  const char *core_method = after->use_generate ? "generate" : "diffuse";
  if (!latent_model_get_method_info (model, "timbre", &timbre, error)
      || !latent_model_get_method_info (model, core_method, &core, error))
    return FALSE;
  if (timbre.in_channels != 1 || timbre.in_ratio != 1)
    return fail (error, LATENT_ERROR_SHAPE, path,
        "timbre_params takes %d channels at ratio %d, expected mono audio (1 channel, ratio 1)",
        timbre.in_channels, timbre.in_ratio);
  info->ratio = timbre.out_ratio;
  info->timbre_dims = timbre.out_channels;
  if (core.in_ratio != info->ratio)
    return fail (error, LATENT_ERROR_SHAPE, path,
        "%s_params has ratio %d, timbre_params %d: expected the same latent rate", core_method,
        core.in_ratio, info->ratio);
  int structure_channels = core.in_channels - info->timbre_dims;
  if (latent_model_has_method (model, "structure")) {
    LatentMethodInfo structure;
    if (!latent_model_get_method_info (model, "structure", &structure, error))
      return FALSE;
    info->kind = LATENT_AFTER_AUDIO;
    info->structure_dims = structure.out_channels;
    if (structure.in_channels != 1 || structure.in_ratio != 1 || structure.out_ratio != info->ratio)
      return fail (error, LATENT_ERROR_SHAPE, path,
          "structure_params is [%d, %d, %d, %d], expected [1, 1, zs, %d]", structure.in_channels,
          structure.in_ratio, structure.out_channels, structure.out_ratio, info->ratio);
    if (structure_channels != info->structure_dims)
      return fail (error, LATENT_ERROR_SHAPE, path,
          "%s takes %d channels, expected structure %d + timbre %d = %d", core_method,
          core.in_channels, info->structure_dims, info->timbre_dims,
          info->structure_dims + info->timbre_dims);
  } else {
    info->kind = LATENT_AFTER_MIDI;
    if (structure_channels < 2 || structure_channels % 2
        || structure_channels / 2 > LATENT_AFTER_MAX_POLY)
      return fail (error, LATENT_ERROR_SHAPE, path,
          "%s takes %d channels: a MIDI model needs 2 * n_poly (1..%d) note channels + %d timbre "
          "channels (and an audio model a `structure` method)", core_method, core.in_channels,
          LATENT_AFTER_MAX_POLY, info->timbre_dims);
    info->n_poly = structure_channels / 2;
  }
  if (after->use_generate) {
    if (core.out_channels != 1 || core.out_ratio != 1)
      return fail (error, LATENT_ERROR_SHAPE, path,
          "generate_params outputs %d channels at ratio %d, expected mono audio",
          core.out_channels, core.out_ratio);
    LatentMethodInfo diffuse;
    info->latent_dims = latent_model_has_method (model, "diffuse")
        && latent_model_get_method_info (model, "diffuse", &diffuse, NULL) ? diffuse.out_channels : 0;
  } else {
    LatentMethodInfo decode;
    if (!latent_model_get_method_info (model, "decode", &decode, error))
      return FALSE;
    info->latent_dims = core.out_channels;
    if (decode.in_channels != core.out_channels || decode.out_channels != 1)
      return fail (error, LATENT_ERROR_SHAPE, path,
          "decode takes %d channels and gives %d, expected diffuse's %d latents -> mono audio",
          decode.in_channels, decode.out_channels, core.out_channels);
    /* The buffers hold one chunk of latent frames and one block of audio: other ratios would
     * make diffuse or decode write past them. */
    if (core.out_ratio != info->ratio || decode.in_ratio != info->ratio || decode.out_ratio != 1)
      return fail (error, LATENT_ERROR_SHAPE, path,
          "diffuse_params outputs ratio %d and decode_params is [%d, %d, %d, %d], expected "
          "ratio %d latents -> audio at ratio 1 ([%d, %d, 1, 1])", core.out_ratio,
          decode.in_channels, decode.in_ratio, decode.out_channels, decode.out_ratio,
          info->ratio, core.out_channels, info->ratio);
  }
  return TRUE;
}

/* AFTER's timbre returns one chunk of frames whatever it is given: the first k whose call
 * succeeds with k frames out for k * R samples in is the chunk. Leaves the state reset. */
static int
probe_chunk (LatentModel *model, int ratio, int dims, GError **error)
{
  float *in = g_new0 (float, (gsize) 16 * ratio);
  float *out = g_new0 (float, (gsize) 16 * dims);
  GString *tried = g_string_new (NULL);
  int chunk = 0;
  for (int k = 1; k <= 16 && !chunk; k++) {
    GError *probe = NULL;
    if (latent_model_run (model, "timbre", in, k * ratio, out, &probe))
      chunk = k;
    else if (k == 1 || k == 16) {
      /* The core's message starts with the path and method: keep what the model did. */
      const char *what = g_strrstr (probe->message, "timbre: ");
      g_string_append_printf (tried, "; %d samples: %s", k * ratio,
          what ? what + strlen ("timbre: ") : probe->message);
    }
    g_clear_error (&probe);
  }
  g_free (in);
  g_free (out);
  gboolean ok = chunk > 0
      || fail (error, LATENT_ERROR_SHAPE, latent_model_get_path (model),
          "timbre returned no block of k latent frames for k * %d samples, k = 1..16, so the "
          "model's chunk is unknown%s", ratio, tried->str);
  g_string_free (tried, TRUE);
  return ok && latent_model_reset (model, error) ? chunk : 0;
}

static gboolean
find_chunk (LatentAfter *after, GError **error)
{
  after->info.chunk = probe_chunk (after->model, after->info.ratio, after->info.timbre_dims,
      error);
  return after->info.chunk > 0;
}

int
latent_after_timbre_block (LatentModel *model, GError **error)
{
  LatentMethodInfo timbre;
  if (!latent_model_has_method (model, "timbre")
      || !(latent_model_has_method (model, "generate")
          || latent_model_has_method (model, "diffuse"))
      || !latent_model_get_method_info (model, "timbre", &timbre, NULL)
      || timbre.in_ratio != 1 || timbre.out_ratio < 1)
    return 0; /* not an AFTER export: its timbre follows its _params */
  int chunk = probe_chunk (model, timbre.out_ratio, timbre.out_channels, error);
  return chunk > 0 ? chunk * timbre.out_ratio : -1;
}

/* AFTER's optional 2-D timbre map: map2latent takes (x, y) and gives timbre_dims channels at
 * the same rate. A map2latent of another shape is ignored (the map is then absent). */
static void
find_map (LatentAfter *after)
{
  LatentMethodInfo map;
  if (!latent_model_has_method (after->model, "map2latent")
      || !latent_model_get_method_info (after->model, "map2latent", &map, NULL))
    return;
  if (map.in_channels != 2 || map.out_channels != after->info.timbre_dims
      || map.in_ratio != map.out_ratio) {
    g_message ("%s: map2latent_params [%d, %d, %d, %d] is not [2, r, timbre_dims %d, r]: "
        "the 2-D timbre map is not used", latent_model_get_path (after->model),
        map.in_channels, map.in_ratio, map.out_channels, map.out_ratio,
        after->info.timbre_dims);
    return;
  }
  after->map_block = latent_method_info_min_block (&map);
  after->map_in = g_new0 (float, (gsize) 2 * after->map_block);
  after->map_out = g_new0 (float, (gsize) after->info.timbre_dims * after->map_block);
}

static void
allocate_buffers (LatentAfter *after)
{
  const LatentAfterInfo *info = &after->info;
  int notes = info->kind == LATENT_AFTER_AUDIO ? info->structure_dims : 2 * info->n_poly;
  after->block = info->chunk * info->ratio;
  after->timbre = g_new0 (float, info->timbre_dims);
  after->timbre_frames = g_new0 (float, (gsize) info->timbre_dims * info->chunk);
  after->structure = g_new0 (float, (gsize) MAX (info->structure_dims, 1) * info->chunk);
  after->diffuse_in = g_new0 (float, (gsize) (notes + info->timbre_dims) * info->chunk);
  after->latents = g_new0 (float, (gsize) MAX (info->latent_dims, 1) * info->chunk);
}

static gboolean
warm_up (LatentAfter *after, GError **error)
{
  float *silence = g_new0 (float, after->block);
  float *out = g_new0 (float, after->block);
  float *notes = g_new0 (float, (gsize) 2 * LATENT_AFTER_MAX_POLY * after->info.chunk);
  const float *structure = after->info.kind == LATENT_AFTER_AUDIO ? silence : notes;
  gboolean ok = TRUE;
  /* The profiling executor optimises after a couple of calls per method. */
  for (int i = 0; ok && i < 3; i++)
    ok = latent_after_update_timbre (after, silence, error)
        && latent_after_render (after, structure, out, error)
        && (!after->map_block || latent_after_set_timbre_from_map (after, 0.0f, 0.0f, error));
  g_free (silence);
  g_free (out);
  g_free (notes);
  memset (after->timbre, 0, sizeof (float) * after->info.timbre_dims);
  if (!ok || !latent_after_reset (after, error))
    return FALSE;
  latent_model_set_warm (after->model, TRUE);
  return TRUE;
}

LatentAfter *
latent_after_open (const char *path, int threads, GError **error)
{
  LatentModel *model = latent_model_open (path, threads, error);
  if (!model)
    return NULL;
  LatentAfter *after = g_new0 (LatentAfter, 1);
  after->model = model;
  after->use_generate = latent_model_has_method (model, "generate");
  after->info.sample_rate = latent_model_get_sample_rate (model);
  if (!check_interface (after, error) || !read_shapes (after, error)
      || !find_chunk (after, error)) {
    latent_after_free (after);
    return NULL;
  }
  allocate_buffers (after);
  find_map (after);
  double steps = 1.0;
  if (!latent_model_get_attribute (model, "nb_steps", &steps, error)
      || !latent_model_get_attribute (model, "guidance_structure", &after->guidance_structure,
          error)
      || !latent_model_get_attribute (model, "guidance_timbre", &after->guidance_timbre, error)) {
    latent_after_free (after);
    return NULL;
  }
  /* Set again after every reset: it must fit an int (NaN or 1e10 would not convert). */
  if (!(steps >= 1.0 && steps <= G_MAXINT && steps == floor (steps))) {
    fail (error, LATENT_ERROR_ATTRIBUTE, path, "get_nb_steps() returned %g, expected a whole "
        "number of diffusion steps >= 1", steps);
    latent_after_free (after);
    return NULL;
  }
  after->steps = (int) steps;
  if (!warm_up (after, error)) {
    latent_after_free (after);
    return NULL;
  }
  return after;
}

const LatentModel *
latent_after_get_model (const LatentAfter *after)
{
  return after->model;
}

void
latent_after_free (LatentAfter *after)
{
  if (!after)
    return;
  latent_model_free (after->model);
  g_free (after->timbre);
  g_free (after->timbre_frames);
  g_free (after->structure);
  g_free (after->diffuse_in);
  g_free (after->latents);
  g_free (after->map_in);
  g_free (after->map_out);
  g_free (after);
}

const LatentAfterInfo *
latent_after_get_info (const LatentAfter *after)
{
  return &after->info;
}

const char *
latent_after_get_path (const LatentAfter *after)
{
  return latent_model_get_path (after->model);
}

int
latent_after_get_block (const LatentAfter *after)
{
  return after->block;
}

void
latent_after_set_threads (LatentAfter *after, int threads)
{
  latent_model_set_threads (after->model, threads);
}

gboolean
latent_after_set_steps (LatentAfter *after, int steps, GError **error)
{
  if (steps < 1 || steps > LATENT_AFTER_MAX_STEPS)
    return fail (error, LATENT_ERROR_ATTRIBUTE, latent_after_get_path (after),
        "nb_steps must be 1..%d, got %d", LATENT_AFTER_MAX_STEPS, steps);
  if (!latent_model_set_attribute (after->model, "nb_steps", steps, error))
    return FALSE;
  after->steps = steps;
  return TRUE;
}

gboolean
latent_after_set_guidance (LatentAfter *after, double structure, double timbre, GError **error)
{
  if (!latent_model_set_attribute (after->model, "guidance_structure", structure, error)
      || !latent_model_set_attribute (after->model, "guidance_timbre", timbre, error))
    return FALSE;
  after->guidance_structure = structure;
  after->guidance_timbre = timbre;
  return TRUE;
}

gboolean
latent_after_apply_settings (LatentAfter *after, int steps, double structure, double timbre,
    GError **error)
{
  /* Each attribute is a model call: only what changed since the last call. */
  if (steps != after->steps && !latent_after_set_steps (after, steps, error))
    return FALSE;
  if ((structure != after->guidance_structure || timbre != after->guidance_timbre)
      && !latent_after_set_guidance (after, structure, timbre, error))
    return FALSE;
  return TRUE;
}

/* The timbre vector: each timbre dim's mean over `frames` planar frames. */
static void
set_timbre_to_means (LatentAfter *after, const float *planar, int frames)
{
  for (int d = 0; d < after->info.timbre_dims; d++) {
    double sum = 0.0;
    for (int f = 0; f < frames; f++)
      sum += planar[d * frames + f];
    after->timbre[d] = (float) (sum / frames);
  }
}

gboolean
latent_after_update_timbre (LatentAfter *after, const float *audio, GError **error)
{
  const int chunk = after->info.chunk;
  if (!latent_model_run (after->model, "timbre", audio, after->block, after->timbre_frames, error))
    return FALSE;
  set_timbre_to_means (after, after->timbre_frames, chunk);
  return TRUE;
}

void
latent_after_set_timbre (LatentAfter *after, const float *timbre, int n)
{
  for (int d = 0; d < after->info.timbre_dims; d++)
    after->timbre[d] = d < n && isfinite (timbre[d]) ? timbre[d] : 0.0f;
}

gboolean
latent_after_has_map (const LatentAfter *after)
{
  return after->map_block > 0;
}

gboolean
latent_after_set_timbre_from_map (LatentAfter *after, float x, float y, GError **error)
{
  const int dims = after->info.timbre_dims, n = after->map_block;
  if (!n)
    return fail (error, LATENT_ERROR_METHOD, latent_after_get_path (after),
        "no 2-D timbre map (method map2latent with map2latent_params [2, r, %d, r])", dims);
  for (int t = 0; t < n; t++) {
    after->map_in[t] = isfinite (x) ? x : 0.0f;
    after->map_in[n + t] = isfinite (y) ? y : 0.0f;
  }
  if (!latent_model_run (after->model, "map2latent", after->map_in, n, after->map_out, error))
    return FALSE;
  set_timbre_to_means (after, after->map_out, n);
  return TRUE;
}

gboolean
latent_after_check_terrain (const LatentAfter *after, const LatentTerrain *terrain,
    const char *terrain_path, GError **error)
{
  const LatentTerrainConfig *tc = latent_terrain_get_config (terrain);
  if (tc->latent_dims != after->info.timbre_dims)
    return fail (error, LATENT_ERROR_SHAPE, terrain_path ? terrain_path : "(terrain)",
        "the terrain gives %d dims but the AFTER model %s has %d timbre dims", tc->latent_dims,
        latent_after_get_path (after), after->info.timbre_dims);
  return TRUE;
}

gboolean
latent_after_set_timbre_from_terrain (LatentAfter *after, const LatentTerrain *terrain,
    LatentTerrainWorkspace *workspace, const float *coords, int n)
{
  const LatentTerrainConfig *tc = latent_terrain_get_config (terrain);
  float x[LATENT_TERRAIN_MAX_CONTROL_DIMS] = { 0 };
  float z[LATENT_TERRAIN_MAX_LATENT_DIMS];
  if (tc->latent_dims != after->info.timbre_dims)
    return FALSE;
  for (int i = 0; i < MIN (n, tc->control_dims); i++)
    x[i] = isfinite (coords[i]) ? coords[i] : 0.0f;
  if (!latent_terrain_forward (terrain, x, z, workspace))
    return FALSE;
  latent_after_set_timbre (after, z, tc->latent_dims);
  return TRUE;
}

void
latent_after_get_timbre (const LatentAfter *after, float *timbre)
{
  memcpy (timbre, after->timbre, sizeof (float) * after->info.timbre_dims);
}

gboolean
latent_after_render (LatentAfter *after, const float *structure, float *out, GError **error)
{
  const LatentAfterInfo *info = &after->info;
  const int chunk = info->chunk;
  int notes;
  if (info->kind == LATENT_AFTER_AUDIO) {
    if (!latent_model_run (after->model, "structure", structure, after->block, after->structure,
            error))
      return FALSE;
    notes = info->structure_dims;
    memcpy (after->diffuse_in, after->structure, sizeof (float) * notes * chunk);
  } else {
    notes = 2 * info->n_poly;
    memcpy (after->diffuse_in, structure, sizeof (float) * notes * chunk);
  }
  /* The timbre vector held over the chunk, as AFTER's timbre method returns it. */
  for (int d = 0; d < info->timbre_dims; d++)
    for (int f = 0; f < chunk; f++)
      after->diffuse_in[(notes + d) * chunk + f] = after->timbre[d];
  if (after->use_generate)
    return latent_model_run (after->model, "generate", after->diffuse_in, chunk, out, error);
  return latent_model_run (after->model, "diffuse", after->diffuse_in, chunk, after->latents, error)
      && latent_model_run (after->model, "decode", after->latents, chunk, out, error);
}

gboolean
latent_after_reset (LatentAfter *after, GError **error)
{
  /* The model's own reset() may put its attributes back to their defaults: set them again. */
  return latent_model_reset (after->model, error)
      && latent_model_set_attribute (after->model, "nb_steps", after->steps, error)
      && latent_after_set_guidance (after, after->guidance_structure, after->guidance_timbre,
          error);
}

double
latent_after_time_render (LatentAfter *after, GError **error)
{
  const LatentAfterInfo *info = latent_after_get_info (after);
  const int block = latent_after_get_block (after);
  gsize in_n = info->kind == LATENT_AFTER_MIDI ? (gsize) 2 * info->n_poly * info->chunk
                                               : (gsize) block;
  float *in = g_new0 (float, in_n);
  float *out = g_new0 (float, block);
  double worst = 0;
  for (int i = 0; i < LATENT_RT_MARGIN_RUNS && worst >= 0; i++) {
    gint64 t0 = g_get_monotonic_time ();
    if (latent_after_render (after, in, out, error))
      worst = MAX (worst, (double) (g_get_monotonic_time () - t0));
    else
      worst = -1;
  }
  g_free (in);
  g_free (out);
  return worst >= 0 && latent_after_reset (after, error) ? worst : -1;
}
