#!/bin/sh
# GStreamer's LV2 bridge (gst-plugins-bad "lv2") runs urn:latent:rave as the element
# "urn-latent-rave" on a short clip: same length, latency's worth of silence, then the
# fixture's output exactly. Skipped (77) when the bridge is not installed.
# Usage: test-gst-lv2.sh FIXTURE.ts   (LV2_PATH points at the build-tree bundle)
set -eu
command -v gst-launch-1.0 >/dev/null || { echo "gst-launch-1.0 not installed"; exit 77; }
command -v sox >/dev/null || { echo "sox not installed"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A private registry, so the bridge scans this LV2_PATH.
export GST_REGISTRY="$tmp/registry.bin"
gst-inspect-1.0 lv2 >/dev/null 2>&1 || { echo "GStreamer LV2 bridge not installed"; exit 77; }
gst-inspect-1.0 urn-latent-rave >/dev/null 2>&1 || {
  echo "the LV2 bridge does not list urn-latent-rave (LV2_PATH=$LV2_PATH)"; exit 1; }
sox -n -r 8000 -c 1 -b 32 -e floating-point "$tmp/in.wav" synth 3 sine 110-1760 vol 0.5
LATENT_LV2_DEFAULT_MODEL=$1 gst-launch-1.0 -q filesrc location="$tmp/in.wav" ! wavparse ! \
  audioconvert ! audio/x-raw,format=F32LE,rate=8000,channels=1 ! urn-latent-rave ! \
  audioconvert ! audio/x-raw,format=F32LE ! wavenc ! filesink location="$tmp/out.wav"
sox "$tmp/in.wav" -t f32 "$tmp/in.f32"
sox "$tmp/out.wav" -t f32 "$tmp/out.f32"
exec /usr/bin/python3 "$(dirname "$0")/check-fixture-render.py" "gst lv2 bridge" "$tmp/in.f32" "$tmp/out.f32"
