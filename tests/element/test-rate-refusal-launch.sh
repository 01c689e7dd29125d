#!/usr/bin/env bash
# A stream at another rate than the model's, through the real gst-launch-1.0 (issue 12: it
# sometimes never exited). Each case runs RUNS times under `timeout 10`; a run fails on a hang
# (exit 124), on exit 0, or unless the refusal naming the model's rate (and, for audio,
# audioresample) is in its stderr exactly once.
#
# Why it hung: gst-launch-1.0 (1.22) stops its main loop from its bus *sync* handler
# (g_main_loop_quit on the thread that posts the ERROR). An ERROR posted before the main
# thread has entered g_main_loop_run is lost (g_main_loop_run sets the loop running again),
# and the bin marks its PAUSED change failed on that ERROR, so nothing else ends the loop.
# A refusal from the streaming thread races the main thread into that window. Each run is
# pinned to one CPU, which makes the streaming thread run first inside the window (19 of 25
# runs hung that way before the fix; 1 in 25 without pinning on a loaded machine).
#
# Usage: test-rate-refusal-launch.sh MODEL   (env: RUNS, default 20; ALL=1 counts every run
# instead of stopping at the first failure)
set -u
model=$1
runs=${RUNS:-20}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pin=()
if command -v taskset >/dev/null; then
  cpu=$(taskset -pc $$ 2>/dev/null | sed 's/.*: *//; s/[-,].*//')
  [ -n "$cpu" ] && pin=(taskset -c "$cpu")
fi

# The model's own latent caps and rate, from a valid encode (which also makes the file).
gst-launch-1.0 -v audiotestsrc num-buffers=4 ! audio/x-raw,channels=1,format=F32LE ! \
  audioresample ! raveencode model="$model" ! filesink location="$tmp/latents.raw" \
  >"$tmp/encode.log" 2>&1 || { echo "FAIL: the valid encode failed"; cat "$tmp/encode.log"; exit 1; }
latent_caps=$(grep -o 'raveencode0.GstPad:src: caps = .*' "$tmp/encode.log" | head -1 |
  sed 's/.*caps = //; s/([a-z]*)//g; s/ //g')
rate=$(sed 's/.*rate=\([0-9]*\).*/\1/' <<<"$latent_caps")
[ -n "$latent_caps" ] && [ -n "$rate" ] || { echo "FAIL: no latent caps in"; cat "$tmp/encode.log"; exit 1; }
wrong=$((rate == 48000 ? 44100 : 48000))
wrong_latent_caps=$(sed "s/rate=$rate/rate=$wrong/" <<<"$latent_caps")
echo "model $model: $rate Hz, latents $latent_caps; feeding $wrong Hz"

failed=0
# run_case NAME NEEDLE... -- LAUNCH...
run_case() {
  local name=$1; shift
  local needles=()
  while [ "$1" != "--" ]; do needles+=("$1"); shift; done
  shift
  local hangs=0 ok=0 bad=0
  for i in $(seq "$runs"); do
    timeout 10 "${pin[@]}" gst-launch-1.0 "$@" >"$tmp/stdout" 2>"$tmp/out"
    local rc=$? why=""
    if [ $rc = 124 ]; then why="hung (killed after 10 s)"; hangs=$((hangs + 1))
    elif [ $rc = 0 ]; then why="exited 0"
    else
      local n
      n=$(grep -c "^ERROR: from element .*${needles[0]}" "$tmp/out")
      [ "$n" = 1 ] || why="$n ERROR lines naming '${needles[0]}'"
      for w in "${needles[@]}"; do
        grep "^ERROR: from element .*${needles[0]}" "$tmp/out" | grep -qF -- "$w" ||
          why="${why:+$why; }the refusal does not say '$w'"
      done
    fi
    if [ -n "$why" ]; then
      bad=$((bad + 1))
      echo "FAIL: $name run $i: $why; stdout, stderr:"; sed 's/^/  | /' "$tmp/stdout" "$tmp/out"
      [ "${ALL:-0}" = 1 ] || break
    else
      ok=$((ok + 1))
    fi
  done
  echo "$name: $ok of $runs runs ended with the refusal, $hangs hung, $bad failed"
  [ $bad = 0 ] || failed=1
}

run_case "raveencode from audiotestsrc at $wrong Hz" "at $rate Hz" "audioresample" -- \
  audiotestsrc num-buffers=50 ! "audio/x-raw,rate=$wrong,channels=1,format=F32LE" ! \
  raveencode model="$model" ! fakesink
run_case "ravedecode from filesrc at $wrong Hz" "at $rate Hz" -- \
  filesrc location="$tmp/latents.raw" ! "$wrong_latent_caps" ! \
  ravedecode model="$model" ! fakesink
exit $failed
