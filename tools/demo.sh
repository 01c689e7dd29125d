#!/usr/bin/env bash
# The main job: transforms a shipped clip (an instrument the model never heard) through the
# shipped RAVE-style model, then plays a piano phrase with a flute clip's timbre through the
# shipped AFTER-style model, with gst-launch, straight from the build tree.
set -euo pipefail
cd "$(dirname "$0")/.."
# (LATENT_BUILD_DIR: the build directory setup.sh used, default build.)
export GST_PLUGIN_PATH="$PWD/${LATENT_BUILD_DIR:-build}/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
mkdir -p out
model=models/rave-gm.ts
out="$PWD/out/demo-transformed.wav"
gst-launch-1.0 -q \
  filesrc location=models/clips/demo-input.wav ! wavparse ! audioconvert ! audioresample ! \
  raveencode model=$model ! ravedecode model=$model ! \
  audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$out"
echo "latent demo: models/clips/demo-input.wav -> $out"

after_out="$PWD/out/demo-piano-as-flute.wav"
gst-launch-1.0 -q aftertransfer name=after model=models/after-gm.ts steps=4 ! \
    audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$after_out" \
  filesrc location=models/clips/piano-phrase.wav ! wavparse ! audioconvert ! audioresample ! \
    after.structure \
  filesrc location=models/clips/flute-phrase.wav ! wavparse ! audioconvert ! audioresample ! \
    after.timbre
echo "latent demo: models/clips/piano-phrase.wav with the timbre of flute-phrase.wav -> $after_out"
