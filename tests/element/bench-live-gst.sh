#!/bin/sh
# Live raveencode ! ravedecode (issue 14; printed figures, not a test): for each latency mode
# and source buffer size (the "host block": 64, 256 samples), a live audiotestsrc paced by the
# pipeline clock for SECONDS into a syncing fakesink that drops (and reports, QoS) every buffer
# later than its time + the configured latency (max-lateness=0). Prints the latency the
# pipeline configured, the elements' block and measured margin, and the late buffers with the
# worst lateness (the "underruns" of a live chain).
# Usage, from the source root: GST_PLUGIN_PATH=build/gst tests/element/bench-live-gst.sh
#   [SECONDS] [MODEL] [--hog]
secs=${1:-60}
model=${2:-models/rave-gm.ts}
hog=$3
rate=$(${LATENT:-build/core/cli/latent} model info "$model" 2>/dev/null | sed -n 's/^sample rate *\([0-9]*\).*/\1/p')
rate=${rate:-44100}
hog_pid=
if [ "$hog" = --hog ]; then
  sh -c 'while :; do :; done' &
  hog_pid=$!
fi
for mode in low safe; do
  for block in 64 256; do
    n=$((secs * rate / block))
    out=$(GST_DEBUG=bin:5,latent*:4 gst-launch-1.0 -m audiotestsrc is-live=true \
      samplesperbuffer=$block num-buffers=$n ! \
      "audio/x-raw,format=F32LE,rate=$rate,channels=1" ! \
      raveencode model="$model" latency-mode=$mode ! \
      ravedecode model="$model" latency-mode=$mode ! \
      fakesink sync=true qos=true max-lateness=0 2>&1)
    lat=$(printf '%s\n' "$out" | grep -o 'configured latency of [0-9:.]*' | tail -1 | awk '{print $4}')
    late=$(printf '%s\n' "$out" | grep -c 'GstMessageQOS')
    worst=$(printf '%s\n' "$out" | grep 'GstMessageQOS' | grep -o 'jitter=(gint64)[0-9-]*' | \
      cut -d')' -f2 | sort -n | tail -1)
    printf 'raveencode ! ravedecode %s, buffers of %d samples, %d Hz, %d s live%s: latency %s; late (dropped) buffers %d, worst lateness %s ns\n' \
      "$mode" "$block" "$rate" "$secs" "${hog_pid:+ + CPU hog}" "$lat" "$late" "${worst:-0}"
    printf '%s\n' "$out" | grep -o 'loaded [^,]*, [a-z]* .*' | sed 's/^/  /'
  done
done
[ -n "$hog_pid" ] && kill "$hog_pid"
exit 0
