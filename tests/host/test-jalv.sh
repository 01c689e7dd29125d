#!/bin/sh
# jalv (the console LV2 host) runs a latent plugin as a JACK client on a private dummy JACK
# server (real time, 44.1 kHz, 256-frame periods). Audio inputs get jack_metro's 440 Hz beeps
# (twice a second), MIDI inputs jack_midiseq's notes; jack_rec records the plugin's outputs
# beside the beeps. Checks: jalv loads the plugin with the bundle's default model, reports its
# latency on the latency port and to JACK (port latency ranges), and sound comes out: not
# silent, following the input's beeps delayed by the reported latency (audio effects) or the
# note pattern (MIDI instruments); underruns are printed. With LATENT_JALV_PRESET_MODEL, jalv
# then applies a preset choosing another model file while running (state:threadSafeRestore:
# restore() gets jalv's worker), which must load and keep the sound going.
# Usage: test-jalv.sh PLUGIN_URI   (LV2_PATH points at the build-tree bundle)
# Optional environment: LATENT_JACK_RATE (default 44100), LATENT_JALV_CONTROLS ("SYM=VAL ..."),
# LATENT_JALV_PRESET_MODEL (a model file), LATENT_JALV_CHECK=audible (skip the envelope
# checks), LATENT_KEEP_TMP (keep the logs and recordings).
# Skipped (77) when jalv, jackd or the JACK example clients are not installed.
set -eu
uri=$1
for tool in jalv jackd jack_metro jack_midiseq jack_rec jack_connect jack_lsp jack_wait sox; do
  # (The JACK example clients: in jackd2 on Debian 12, in jack-example-tools from 13 on.)
  command -v $tool >/dev/null || {
    echo "$tool not installed (jalv, jackd2, jackd2 / jack-example-tools)"; exit 77; }
done
# The plugin's own default model (shipped in the bundle), not the suite's RAVE fixture.
unset LATENT_LV2_DEFAULT_MODEL
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
export JACK_DEFAULT_SERVER="latent-test-$$"
export JACK_NO_AUDIO_RESERVATION=1
pids=""
jackd_pid=""
# Clients first, then the server, each waited for: a server that dies while clients still
# talk to it, or is killed hard, stays in JACK's shared registry (8 servers at most).
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  if [ -n "$jackd_pid" ]; then
    kill "$jackd_pid" 2>/dev/null || true
    wait "$jackd_pid" 2>/dev/null || true
  fi
  [ -n "${LATENT_KEEP_TMP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
start=$(date +%s)

# LATENT_JACK_RATE: another rate for models that run at it (e.g. the 16 kHz test fixtures).
jackd --no-realtime -d dummy -r "${LATENT_JACK_RATE:-44100}" -p 256 >"$tmp/jackd.log" 2>&1 &
jackd_pid=$!
jack_wait -w -t 10 >/dev/null 2>&1 || { cat "$tmp/jackd.log"; echo "jackd did not start"; exit 1; }

# LATENT_JALV_PRESET_MODEL=FILE: a preset bundle whose state chooses a copy of FILE as the
# plugin's model; jalv applies it while running (the plugin declares state:threadSafeRestore,
# so jalv restores without pausing and passes its worker to restore()).
preset_uri="urn:latent:test-preset"
if [ -n "${LATENT_JALV_PRESET_MODEL:-}" ]; then
  mkdir -p "$tmp/presets/latent-test.lv2"
  cp "$LATENT_JALV_PRESET_MODEL" "$tmp/presets/latent-test.lv2/chosen.ts"
  prefixes='@prefix lv2: <http://lv2plug.in/ns/lv2core#> .
@prefix pset: <http://lv2plug.in/ns/ext/presets#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix state: <http://lv2plug.in/ns/ext/state#> .
@prefix atom: <http://lv2plug.in/ns/ext/atom#> .'
  # The state in the manifest itself: jalv's console does not load a preset's rdfs:seeAlso.
  printf '%s\n<%s> a pset:Preset ; lv2:appliesTo <%s> ; rdfs:label "latent test" ;\n  state:state [ <%s#model> "%s"^^atom:Path ] .\n' \
    "$prefixes" "$preset_uri" "$uri" "$uri" "$tmp/presets/latent-test.lv2/chosen.ts" \
    >"$tmp/presets/latent-test.lv2/manifest.ttl"
  export LV2_PATH="$LV2_PATH:$tmp/presets"
fi

# jalv reads commands from a FIFO; the writer keeps it open until the end.
mkfifo "$tmp/commands"
client=latent-plugin
# LATENT_JALV_CONTROLS: initial control values, "SYMBOL=VALUE ..." (e.g. for test fixtures).
controls=""
for c in ${LATENT_JALV_CONTROLS:-}; do controls="$controls -c $c"; done
timeout 60 jalv -n "$client" -x $controls "$uri" <"$tmp/commands" >"$tmp/jalv.log" 2>&1 &
jalv_pid=$!
pids="$jalv_pid $pids"
exec 3>"$tmp/commands"
for i in $(seq 100); do
  jack_lsp "$client" 2>/dev/null | grep -q . && break
  sleep 0.2
done
jack_lsp -t -p "$client" >"$tmp/ports.txt" 2>&1 || true
# Port list "name|type|direction" for the plugin's client.
ports=$(awk -v c="$client:" '
  index($0, c) == 1 { name = $0; next }
  /properties:/ { dir = ($0 ~ /input/) ? "in" : "out"; next }
  /audio/ { type = "audio" } /midi/ { type = "midi" }
  name != "" && type != "" && dir != "" { print name "|" type "|" dir; name = ""; type = ""; dir = "" }
' "$tmp/ports.txt")
[ -n "$ports" ] || { cat "$tmp/jalv.log" "$tmp/ports.txt"; echo "jalv did not register ports for $uri"; exit 1; }

# (3>&-: only this script may hold the FIFO open, so jalv sees its end.)
jack_metro -n metro -b 120 -f 440 -A 0.5 -D 100 >/dev/null 2>&1 3>&- &
pids="$! $pids"
# A 44100-frame loop (one second at 44.1 kHz): C4, then E4 and G4 (start, note, length).
jack_midiseq midiseq 44100 0 60 11025 14700 64 8000 29400 67 11025 >/dev/null 2>&1 3>&- &
pids="$! $pids"
sleep 0.5
outputs=""
for spec in $ports; do
  name=${spec%%|*}; rest=${spec#*|}; type=${rest%%|*}; dir=${rest#*|}
  case "$type/$dir" in
    audio/in) jack_connect metro:120_bpm "$name" ;;
    midi/in) jack_connect midiseq:out "$name" ;;
    audio/out) outputs="$outputs $name" ;;
  esac
done
[ -n "$outputs" ] || { echo "no audio output port"; exit 1; }
# Warm-up (first inference blocks), then 6 s of beeps and the plugin's outputs.
sleep 2
jack_lsp -l "$client" >"$tmp/latency.txt" 2>&1 3>&-
jack_rec -f "$tmp/rec.wav" -d 6 metro:120_bpm $outputs >"$tmp/rec.log" 2>&1 3>&-
if [ -n "${LATENT_JALV_PRESET_MODEL:-}" ]; then
  # Apply the preset while running, give the worker time to load, record again.
  echo "preset $preset_uri" >&3
  sleep 3
  jack_rec -f "$tmp/rec2.wav" -d 5 metro:120_bpm $outputs >"$tmp/rec2.log" 2>&1 3>&-
fi
echo monitors >&3
sleep 0.5
exec 3>&-
wait "$jalv_pid" 2>/dev/null || true

cat "$tmp/jalv.log"
latency=$(sed -n 's/^.*latency = \([0-9.]*\).*$/\1/p' "$tmp/jalv.log" | tail -1)
underruns=$(sed -n 's/^.*underruns = \([0-9.]*\).*$/\1/p' "$tmp/jalv.log" | tail -1)
echo "jalv: latency port ${latency:-?} frames, underruns ${underruns:-?}"
grep -A1 "$client:" "$tmp/latency.txt" | sed 's/^/  /'
[ -n "$latency" ] || { echo "jalv printed no latency value"; exit 1; }
# JACK carries the plugin's latency: the output's playback latency range includes it.
lat_int=${latency%.*}
grep -q "latency = \[ $lat_int $lat_int \]" "$tmp/latency.txt" || {
  echo "JACK port latency does not show the plugin's $lat_int frames"; exit 1; }
# MIDI input: an instrument, checked against the note loop; else audio input: an effect,
# checked against the beeps; else a generator (e.g. terrain), checked for sound only.
kind=generator
echo "$ports" | grep -q '|audio|in' && kind=effect
echo "$ports" | grep -q '|midi|in' && kind=instrument
# LATENT_JALV_CHECK=audible: only audible (a model whose output does not track its input
# closely enough for the envelope checks).
[ "${LATENT_JALV_CHECK:-}" = audible ] && kind=generator
# The model's worker block, from the plugin's log line ("[low: block 4096, ..."): a wrong
# latency is off by whole blocks.
block=$(sed -n 's/^.*\[[a-z]*: block \([0-9]*\),.*$/\1/p' "$tmp/jalv.log" | tail -1)
sox "$tmp/rec.wav" -t f32 "$tmp/rec.f32"
/usr/bin/python3 "$here/check-host-render.py" jack "$tmp/rec.f32" "$(soxi -c "$tmp/rec.wav")" \
  "$lat_int" "$kind" "${underruns:-0}" "${LATENT_JACK_RATE:-44100}" "${block:-2048}"
if [ -n "${LATENT_JALV_PRESET_MODEL:-}" ]; then
  # jalv's output is block-buffered: read after it exited.
  grep -q "chosen.ts (latency" "$tmp/jalv.log" || {
    echo "the preset's model (chosen.ts) was not loaded while running"; exit 1; }
  echo "jalv: preset applied while running; the plugin loaded chosen.ts"
  sox "$tmp/rec2.wav" -t f32 "$tmp/rec2.f32"
  /usr/bin/python3 "$here/check-host-render.py" jack "$tmp/rec2.f32" \
    "$(soxi -c "$tmp/rec2.wav")" "$lat_int" "$kind" 0 "${LATENT_JACK_RATE:-44100}" \
    "${block:-2048}"
fi
echo "jalv test took $(( $(date +%s) - start )) s"
