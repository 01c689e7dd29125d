#!/usr/bin/env bash
# The main job: transforms a shipped clip (an instrument the model never heard) through the
# shipped RAVE-style model with gst-launch, straight from the build tree.
set -euo pipefail
cd "$(dirname "$0")/.."
export GST_PLUGIN_PATH="$PWD/build/gst${GST_PLUGIN_PATH:+:$GST_PLUGIN_PATH}"
mkdir -p out
model=models/rave-gm.ts
out="$PWD/out/demo-transformed.wav"
gst-launch-1.0 -q \
  filesrc location=models/clips/demo-input.wav ! wavparse ! audioconvert ! audioresample ! \
  raveencode model=$model ! ravedecode model=$model ! \
  audioconvert ! audio/x-raw,format=S16LE ! wavenc ! filesink location="$out"
echo "latent demo: models/clips/demo-input.wav -> $out"
