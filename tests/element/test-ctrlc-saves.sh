#!/usr/bin/env bash
# The user's case of issue 12, in a real process: `gst-launch-1.0 -e` trains a terrain for far
# more epochs than the test waits, gets one SIGINT once training is under way (the first
# Ctrl-C: EOS, which terraintrain already had) and SIGKILL 1.5 s later (what the second Ctrl-C
# amounts to: GStreamer 1.22's gst-launch drops its SIGINT handler after the first one, so the
# second kills it, exit 130). `location` must then have been written after the SIGINT (what
# was learnt is saved within about a second, not only what was there before), load (`latent
# terrain info` refuses a non-finite or unloadable file) and hold finite weights. Before
# checkpoints, terraintrain wrote only after the last epoch, so nothing was there.
#   test-ctrlc-saves.sh LATENT_CLI MODEL CLIP
# Exits 77 (skip) while the model is absent. GST_PLUGIN_PATH and GST_REGISTRY come from meson.
set -u
latent=$(realpath "$1")
model=$2
clip=$3
[ -f "$model" ] || { echo "SKIP: $model absent"; exit 77; }
work=$(mktemp -d)
pid=
cleanup () {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
out=$work/ctrlc.pt
log=$work/gst.log
# Milliseconds, in shell arithmetic (bc is not installed everywhere: Debian 13's lane lacks it).
now_ms () { date +%s%3N; }
mtime_ms () { local t; t=$(stat -c %.3Y "$1") && echo "${t/./}"; }

# Job control gives gst-launch its own process group, so the signals go to it alone, and keeps
# bash from starting it with SIGINT ignored (a non-interactive shell's background jobs).
set -m
gst-launch-1.0 -e -m filesrc location="$clip" ! wavparse ! audioconvert ! audioresample ! \
  raveencode model="$model" ! terraintrain location="$out" epochs=100000 >"$log" 2>&1 &
pid=$!
set +m

# Training is under way once the first progress message is on the bus.
deadline=$(( $(date +%s) + 180 ))
until grep -q "latent-terrain-progress" "$log"; do
  if ! kill -0 "$pid" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
    echo "FAIL: training never started:"; tail -20 "$log"; exit 1
  fi
  sleep 0.05
done
[ -e "$out" ] && echo "$(basename "$out") already there when SIGINT is sent (a checkpoint)"

t_int=$(now_ms)
kill -INT "$pid"
appeared=
while :; do
  elapsed=$(( $(now_ms) - t_int ))
  if [ -z "$appeared" ] && [ -e "$out" ] && [ "$(mtime_ms "$out")" -ge "$t_int" ]; then
    appeared=$elapsed
  fi
  [ "$elapsed" -ge 1500 ] && break
  sleep 0.02
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
status=$?
pid=
echo "gst-launch-1.0 exit status after SIGINT + SIGKILL: $status"

if [ -z "$appeared" ]; then
  echo "FAIL: $(basename "$out") not written in the 1.5 s after SIGINT (SIGKILL then lost" \
    "the training)"
  grep -E "latent-terrain-(saved|checkpoint)" "$log" | tail -3
  exit 1
fi
echo "$(basename "$out") written ${appeared} ms after SIGINT"
saved=$(grep -o "latent-terrain-checkpoint, [^;]*" "$log" | tail -1 | grep -o "epochs=(guint64)[0-9]*")
trained=$(grep -o "latent-terrain-progress, [^;]*" "$log" | tail -1 | grep -o "total-epochs=(guint64)[0-9]*")
echo "last checkpoint: ${saved#*)} epochs; last progress before SIGKILL: ${trained#*)} epochs"
if [ -z "$saved" ]; then
  echo "FAIL: no latent-terrain-checkpoint message on the bus"
  exit 1
fi
if ! "$latent" terrain info "$out"; then
  echo "FAIL: the saved terrain does not load (or holds non-finite weights)"
  exit 1
fi
echo "ok: the interrupted training left a loadable, finite terrain"
