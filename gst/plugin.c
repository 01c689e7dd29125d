/* The GStreamer plugin "latent": registers every element. Adding an element = one line in
 * `elements` below plus its source file in gst/meson.build. */
#include <gst/gst.h>

#include "gstraveencode.h"
#include "gstravedecode.h"
#include "gstterraintrain.h"
#include "gstterrainplay.h"
#include "gstaftertransfer.h"

#ifndef PACKAGE
#define PACKAGE "latent"
#endif

static const struct {
  const char *name;
  GType (*get_type) (void);
} elements[] = {
  { "raveencode", gst_rave_encode_get_type },
  { "ravedecode", gst_rave_decode_get_type },
  { "terraintrain", gst_terrain_train_get_type },
  { "terrainplay", gst_terrain_play_get_type },
  { "aftertransfer", gst_after_transfer_get_type },
};

static gboolean
plugin_init (GstPlugin *plugin)
{
  for (gsize i = 0; i < G_N_ELEMENTS (elements); i++)
    if (!gst_element_register (plugin, elements[i].name, GST_RANK_NONE,
            elements[i].get_type ()))
      return FALSE;
  return TRUE;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, latent,
    "Neural audio models (RAVE, nn~ TorchScript) as GStreamer elements",
    plugin_init, LATENT_VERSION, "MIT", "latent", "https://example.invalid/latent")
