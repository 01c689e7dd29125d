#!/usr/bin/env bash
# Inspecting the plugin (registry scan included) must not map LibTorch: the backend is a
# module opened on the first model load. Creating a pipeline that loads a model must map it,
# which shows the check below can fail.
set -u
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -f "$GST_REGISTRY"
LD_DEBUG=files gst-inspect-1.0 raveencode >/dev/null 2>"$log" || { cat "$log"; exit 1; }
grep -q "libgstlatent" "$log" || { echo "FAIL: the latent plugin was not loaded"; exit 1; }
if grep -q "libtorch" "$log"; then
  echo "FAIL: gst-inspect-1.0 mapped LibTorch:"; grep "libtorch" "$log" | head -3; exit 1
fi
echo "gst-inspect-1.0 raveencode: plugin loaded, LibTorch not mapped"
LD_DEBUG=files gst-launch-1.0 -q audiotestsrc num-buffers=1 ! \
  raveencode model="$1" ! fakesink >/dev/null 2>"$log" || { tail -5 "$log"; exit 1; }
grep -q "libtorch_cpu" "$log" || { echo "FAIL: loading a model did not map LibTorch"; exit 1; }
echo "loading a model maps LibTorch: OK"
