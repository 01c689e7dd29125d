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
exec /usr/bin/python3 - "$tmp/in.f32" "$tmp/out.f32" <<'PY'
import array, sys
def load(p):
    a = array.array("f")
    with open(p, "rb") as f:
        a.frombytes(f.read())
    return a
x, y = load(sys.argv[1]), load(sys.argv[2])
L = 4096  # 2 blocks of 2048 frames: the fixture's block, no host block size announced
assert len(x) == len(y) == 24000, (len(x), len(y))
assert max(abs(v) for v in y[:L]) == 0.0, "expected silence during the latency"
err = 0.0
for t in range(L, len(y)):
    s = (t - L) // 4 * 4
    err = max(err, abs(y[t] - sum(x[s:s + 4]) / 4))
print(f"lv2apply: {len(y)} frames, latency {L}, max error {err:.3g}")
assert err < 1e-6, err
PY
