/* Fuzzes the audio/x-latent and raw-audio caps checks of the `latent` GStreamer plugin
 * (gst/latent-caps.c) with caps strings as gst_caps_from_string parses them (what
 * gst-launch lines and capsfilters hand to the elements): fields of any type, ranges, lists,
 * several structures, features, ANY/EMPTY.
 *
 * Besides crashes, leaks and undefined behaviour it checks what the parsers promise: accepted
 * caps have positive channels, rate and ratio (ratio 1 for raw audio); a refusal says why;
 * the fixed caps latent_caps_new builds from what was parsed parse back to the same values,
 * and frame times are monotonic in the frame count. */
#include "latent-caps.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void
fail (const char *what, const char *caps)
{
  fprintf (stderr, "fuzz-latent-caps: %s (caps: %s)\n", what, caps);
  abort ();
}

static void
check_parsed (gboolean latent, const GstCaps *caps, const char *text)
{
  LatentCapsInfo info = { 0 };
  char *reason = NULL;
  gboolean ok = latent ? latent_caps_parse (caps, &info, &reason)
                       : latent_audio_caps_parse (caps, &info, &reason);
  if (!ok) {
    if (!reason || !*reason)
      fail ("refused without a reason", text);
    g_free (reason);
    return;
  }
  if (reason)
    fail ("accepted, yet gave a reason", text);
  if (info.channels < 1 || info.rate < 1 || info.ratio < 1 || (!latent && info.ratio != 1))
    fail ("accepted a non-positive field", text);
  if (latent) {
    GstCaps *built = latent_caps_new (info.channels, info.rate, info.ratio);
    LatentCapsInfo again = { 0 };
    if (!latent_caps_parse (built, &again, NULL) || again.channels != info.channels
        || again.rate != info.rate || again.ratio != info.ratio)
      fail ("caps built from the parsed fields parse differently", text);
    gst_caps_unref (built);
    if (latent_frames_to_time (1, info.ratio, info.rate)
        > latent_frames_to_time (2, info.ratio, info.rate))
      fail ("frame times go backwards", text);
  } else {
    GstCaps *built = latent_audio_caps_new_partial (info.channels, info.rate);
    LatentCapsInfo again = { 0 };
    if (!latent_audio_caps_parse (built, &again, NULL) || again.channels != info.channels
        || again.rate != info.rate)
      fail ("raw caps built from the parsed fields parse differently", text);
    gst_caps_unref (built);
  }
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  gst_init (NULL, NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = g_strndup ((const char *) data, size);
  GstCaps *caps = gst_caps_from_string (text);
  if (caps) {
    check_parsed (TRUE, caps, text);
    check_parsed (FALSE, caps, text);
    (void) latent_caps_is_latent (caps);
    gst_caps_unref (caps);
  }
  g_free (text);
  return 0;
}
