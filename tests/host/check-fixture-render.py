#!/usr/bin/python3
"""Checks a render of the stateful-codec fixture through urn:latent:rave by any host: same
length as the input, the plugin latency's worth of silence, then the fixture's output (the mean
of each frame of 4 input samples) exactly.
Usage: check-fixture-render.py LABEL IN.f32 OUT.f32  (raw float32 mono, e.g. from sox -t f32)"""
import array
import sys

# Low latency (the default): B (256 frames) + B again (no host block size announced) + M (fixed
# by LATENT_RT_MARGIN_US=8000: 64 frames at 8 kHz); core/latent-rt.h.
LATENCY = 256 + 256 + 64
FRAMES = 24000  # 3 s at 8 kHz, as the host scripts render it


def load(path):
    samples = array.array("f")
    with open(path, "rb") as f:
        samples.frombytes(f.read())
    return samples


label, x, y = sys.argv[1], load(sys.argv[2]), load(sys.argv[3])
assert len(x) == len(y) == FRAMES, (len(x), len(y))
assert max(abs(v) for v in y[:LATENCY]) == 0.0, "expected silence during the latency"
err = 0.0
for t in range(LATENCY, len(y)):
    start = (t - LATENCY) // 4 * 4
    err = max(err, abs(y[t] - sum(x[start:start + 4]) / 4))
print(f"{label}: {len(y)} frames, latency {LATENCY}, max error {err:.3g}")
assert err < 1e-6, err
