#!/bin/sh
# lilv's lv2apply (no host features, run() one frame at a time) renders a WAV through
# urn:latent:rave with the fixture as the bundle's default model: same length, the latency's
# worth of silence, then the model's output (means of 4 samples) exactly.
# Usage: test-lv2apply.sh FIXTURE.ts   (LV2_PATH points at the build-tree bundle)
set -eu
command -v lv2apply >/dev/null || { echo "lv2apply not installed (lilv-utils)"; exit 77; }
command -v sox >/dev/null || { echo "sox not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sox -n -r 8000 -c 1 -b 32 -e floating-point "$tmp/in.wav" synth 3 sine 110-1760 vol 0.5
LATENT_LV2_DEFAULT_MODEL=$1 lv2apply -i "$tmp/in.wav" -o "$tmp/out.wav" urn:latent:rave
sox "$tmp/in.wav" -t f32 "$tmp/in.f32"
sox "$tmp/out.wav" -t f32 "$tmp/out.f32"
exec /usr/bin/python3 "$(dirname "$0")/check-fixture-render.py" "lv2apply" "$tmp/in.f32" "$tmp/out.f32"
