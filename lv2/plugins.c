/* The bundle's plugin list: one descriptor per plugin file (lv2/NAME.c). */
#include <lv2/core/lv2.h>

#include <stddef.h>

extern const LV2_Descriptor latent_lv2_rave_descriptor;
extern const LV2_Descriptor latent_lv2_terrain_descriptor;
extern const LV2_Descriptor latent_lv2_after_descriptor;
extern const LV2_Descriptor latent_lv2_after_midi_descriptor;

static const LV2_Descriptor *const descriptors[] = {
  &latent_lv2_rave_descriptor,
  &latent_lv2_terrain_descriptor,
  &latent_lv2_after_descriptor,
  &latent_lv2_after_midi_descriptor,
};

LV2_SYMBOL_EXPORT const LV2_Descriptor *
lv2_descriptor (uint32_t index)
{
  return index < sizeof descriptors / sizeof descriptors[0] ? descriptors[index] : NULL;
}
