#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1).
#
# Checks models/rave-gm.ts against the nn~ contract the C runtime relies on:
#   - interface: sr, get_methods, get_attributes, encode/decode/forward_params, reset
#   - block invariance: encode / decode on consecutive blocks == one call on the whole signal
#   - determinism: forward(x) == decode(encode(x)) with the same block pattern, and reset()
#     returns the model to its freshly loaded state
#   - batch > 1: each batch slot matches the same signal run alone
#   - speed at block 2048 on one thread
# usage: /usr/bin/python3 models/check_export.py [path/to/model.ts]

import os
import sys
import time
import wave

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOL = 1e-5


def load_clip(name):
    with wave.open(os.path.join(HERE, "clips", name), "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    return torch.from_numpy(x.copy()).reshape(1, 1, -1)


def blocks(fn, x, size):
    return torch.cat([fn(x[..., i:i + size]) for i in range(0, x.shape[-1], size)], -1)


def main():
    torch.set_num_threads(1)
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "rave-gm.ts")
    m = torch.jit.load(path)
    torch._C._jit_set_profiling_executor(False)   # as the C runtime does

    # ---- interface
    sr = m.sr
    methods = m.get_methods()
    attrs = m.get_attributes()
    assert isinstance(sr, int) and sr == 44100, sr
    assert methods == ["encode", "decode", "forward"], methods
    assert attrs == [], attrs
    enc_p, dec_p, fwd_p = (getattr(m, k + "_params").tolist()
                           for k in ("encode", "decode", "forward"))
    latent, ratio = enc_p[2], enc_p[3]
    assert enc_p == [1, 1, latent, ratio] and dec_p == [latent, ratio, 1, 1] \
        and fwd_p == [1, 1, 1, 1], (enc_p, dec_p, fwd_p)
    print("interface: sr %d, methods %s, latent %d, ratio %d" % (sr, methods, latent, ratio))

    x = load_clip("heldout-piano.wav")
    n = x.shape[-1] // 8192 * 8192
    x = x[..., :n]

    with torch.no_grad():
        # ---- encode block invariance
        m.reset()
        z_whole = m.encode(x)
        assert z_whole.shape == (1, latent, n // ratio), z_whole.shape
        for bs in (1024, 2048, 8192):
            m.reset()
            zb = blocks(m.encode, x, bs)
            d = (zb - z_whole).abs().max().item()
            print("encode, blocks of %5d vs whole: max |diff| %.2e" % (bs, d))
            assert d < TOL, d
        print("latent mean %s\nlatent std  %s" % (
            np.array2string(z_whole.mean(-1)[0].numpy(), precision=2),
            np.array2string(z_whole.std(-1)[0].numpy(), precision=2)))

        # ---- decode block invariance
        m.reset()
        y_whole = m.decode(z_whole)
        assert y_whole.shape == (1, 1, n), y_whole.shape
        for fr in (1, 2, 8):
            m.reset()
            yb = blocks(m.decode, z_whole, fr)
            d = (yb - y_whole).abs().max().item()
            print("decode, blocks of %d frames vs whole: max |diff| %.2e" % (fr, d))
            assert d < TOL, d

        # ---- forward == decode(encode) with the same block pattern, fresh instances
        for bs in (2048, n):
            m1 = torch.jit.load(path)
            yf = blocks(m1.forward, x, bs)
            m2 = torch.jit.load(path)
            yd = blocks(lambda b: m2.decode(m2.encode(b)), x, bs)
            d = (yf - yd).abs().max().item()
            print("forward vs decode(encode), block %d: max |diff| %.2e" % (bs, d))
            assert d == 0.0, d

        # ---- reset() restores the fresh state
        m1 = torch.jit.load(path)
        y_fresh = blocks(m1.forward, x, 2048)
        m1.reset()
        y_again = blocks(m1.forward, x, 2048)
        d = (y_fresh - y_again).abs().max().item()
        print("forward after reset() vs fresh load: max |diff| %.2e" % d)
        assert d == 0.0, d

        # ---- batch 2: slot results equal single runs
        x2 = load_clip("heldout-violin.wav")[..., :n]
        xb = torch.cat([x, x2], 0)
        m.reset()
        zb = blocks(m.encode, xb, 2048)
        m.reset()
        yb = blocks(m.decode, zb, 2)
        m.reset()
        z2 = blocks(m.encode, x2, 2048)
        m.reset()
        y2 = blocks(m.decode, z2, 2)
        d = max((zb[0:1] - z_whole).abs().max().item(), (zb[1:2] - z2).abs().max().item(),
                (yb[1:2] - y2).abs().max().item())
        print("batch 2 vs single: max |diff| %.2e" % d)
        assert d < TOL, d

        # ---- speed, one thread, block 2048
        m.reset()
        for i in range(0, 8192, 2048):          # warm-up off the clock
            m.decode(m.encode(x[..., i:i + 2048]))
        m.reset()
        t0 = time.perf_counter()
        zs = [m.encode(x[..., i:i + 2048]) for i in range(0, n, 2048)]
        t1 = time.perf_counter()
        for z in zs:
            m.decode(z)
        t2 = time.perf_counter()
        dur = n / sr
        print("speed (1 thread, block 2048): encode %.0fx, decode %.0fx, both %.0fx real time"
              % (dur / (t1 - t0), dur / (t2 - t1), dur / (t2 - t0)))
    print("OK")


if __name__ == "__main__":
    main()
