#!/bin/sh
# GStreamer's LV2 bridge (gst-plugins-bad "lv2") runs the latent plugins as elements named after
# their URIs. The bridge (1.22) makes an element only of a plugin with one audio input and one
# audio output (a filter) or no input and one output (a source); it connects audio and control
# ports only, never atom ports. So:
#   test-gst-lv2.sh FIXTURE.ts     "urn-latent-rave" (filter) with FIXTURE as its model on a
#       short sweep: same length, latency's worth of silence, then the fixture's output exactly.
#   test-gst-lv2.sh terrain        "urn-latent-terrain" (source, x and y as properties) with
#       the shipped terrain and decoder, rendered at x = -4 and x = 4 (y = 2): audible, the
#       pitch follows the terrain (check-instrument-render.py terrain).
#   test-gst-lv2.sh after-midi CLIP.wav   "urn-latent-after-midi": a filter whose input is the
#       timbre (sidechain) port; its MIDI port is an atom port the bridge leaves unconnected, so
#       no note ever plays: it runs CLIP through without error, same length, and silent
#       (below -40 dBFS) whatever the timbre input. Also checks that the bridge does not list
#       urn:latent:after (two audio inputs, structure and timbre: no element).
# LV2_PATH points at the build-tree bundle. Skipped (77) when the bridge or sox is missing.
set -eu
command -v gst-launch-1.0 >/dev/null || { echo "gst-launch-1.0 not installed"; exit 77; }
command -v sox >/dev/null || { echo "sox not installed"; exit 77; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# A private registry, so the bridge scans this LV2_PATH.
export GST_REGISTRY="$tmp/registry.bin"
gst-inspect-1.0 lv2 >/dev/null 2>&1 || { echo "GStreamer LV2 bridge not installed"; exit 77; }
start=$(date +%s)

# element NAME: the bridge must list the element NAME.
element() {
  gst-inspect-1.0 "$1" >"$tmp/inspect.txt" 2>&1 || {
    echo "the LV2 bridge does not list $1 (LV2_PATH=$LV2_PATH)"; exit 1; }
}

case "$1" in
  terrain)
    # The shipped terrain and decoder (the bundle's defaults), not a fixture.
    unset LATENT_LV2_DEFAULT_MODEL LATENT_LV2_DEFAULT_TERRAIN
    element urn-latent-terrain
    for x in -4 4; do
      # 3 s at 44.1 kHz; freewheel: the plugin waits for inference instead of outputting
      # silence (the pipeline runs faster than real time).
      gst-launch-1.0 -q urn-latent-terrain x=$x y=2 freewheel=true samplesperbuffer=1024 \
        num-buffers=130 ! audio/x-raw,rate=44100 ! wavenc ! \
        filesink location="$tmp/terrain$x.wav"
      sox "$tmp/terrain$x.wav" -t f32 "$tmp/terrain$x.f32" 2>/dev/null
    done
    /usr/bin/python3 "$here/check-instrument-render.py" terrain 44100 1 \
      -4 "$tmp/terrain-4.f32" 4 "$tmp/terrain4.f32"
    ;;
  after-midi)
    clip=$2
    unset LATENT_LV2_DEFAULT_AFTER_MIDI
    element urn-latent-after-midi
    for property in timbre-source timbre0 timbre5 steps guidance-structure guidance-timbre; do
      grep -q "^  $property " "$tmp/inspect.txt" || {
        echo "urn-latent-after-midi has no property $property"; exit 1; }
    done
    if gst-inspect-1.0 urn-latent-after >/dev/null 2>&1; then
      echo "the bridge now lists urn-latent-after: test it here"; exit 1
    fi
    echo "gst lv2 bridge: urn-latent-after not listed (two audio inputs), as expected"
    # Timbre from the sidechain input (timbre-source 0): the clip reaches the plugin.
    gst-launch-1.0 -q filesrc location="$clip" ! wavparse ! audioconvert ! \
      audio/x-raw,format=F32LE,channels=1 ! urn-latent-after-midi timbre-source=0 \
      freewheel=true ! wavenc ! filesink location="$tmp/out.wav"
    in_frames=$(soxi -s "$clip")
    out_frames=$(soxi -s "$tmp/out.wav" 2>/dev/null)
    level=$(sox "$tmp/out.wav" -n stat 2>&1 | sed -n 's/^RMS *amplitude: *//p')
    echo "gst lv2 bridge: after-midi, no MIDI connected: $out_frames frames ($in_frames in)," \
      "rms $level"
    [ "$in_frames" = "$out_frames" ] || { echo "output length differs from the input's"; exit 1; }
    /usr/bin/python3 -c "import sys; sys.exit(0 if float('$level') < 0.01 else 1)" || {
      echo "sound without notes (rms $level, expected below -40 dBFS)"; exit 1; }
    ;;
  *)
    fixture=$1
    element urn-latent-rave
    sox -n -r 8000 -c 1 -b 32 -e floating-point "$tmp/in.wav" synth 3 sine 110-1760 vol 0.5
    LATENT_LV2_DEFAULT_MODEL=$fixture gst-launch-1.0 -q filesrc location="$tmp/in.wav" ! \
      wavparse ! audioconvert ! audio/x-raw,format=F32LE,rate=8000,channels=1 ! \
      urn-latent-rave ! audioconvert ! audio/x-raw,format=F32LE ! wavenc ! \
      filesink location="$tmp/out.wav"
    sox "$tmp/in.wav" -t f32 "$tmp/in.f32"
    sox "$tmp/out.wav" -t f32 "$tmp/out.f32"
    /usr/bin/python3 "$here/check-fixture-render.py" "gst lv2 bridge" "$tmp/in.f32" \
      "$tmp/out.f32"
    ;;
esac
echo "gst lv2 bridge test took $(( $(date +%s) - start )) s"
