#!/usr/bin/python3
"""Reference timing for tests/bench/bench-rave: python3-torch running the same model's encode
then decode on the same blocks as the `raveencode ! ravedecode` pipeline, one intra-op (and
inter-op) thread, profiling executor off and a warm-up as the C runtime does; state is reset
after the warm-up by restoring a snapshot of every buffer taken right after load (as the C side
does; reset() is never required).

usage: /usr/bin/python3 rave_reference.py MODEL CLIP.f32 BLOCK
CLIP.f32 is raw mono float32 little-endian at the model's rate. Prints one JSON line:
{"load_s": ..., "run_s": ..., "samples": ..., "peak_rss_kb": ...}"""
import json
import resource
import sys
import time

import numpy as np
import torch


def snapshot_buffers(module):
    """Every buffer right after load (RAVE and AFTER exports have no reset(): the C side
    resets their state by restoring this snapshot in place)."""
    return [(b, b.detach().clone()) for _, b in module.named_buffers()]


def restore_buffers(module, snapshot):
    with torch.no_grad():
        for buffer, saved in snapshot:
            buffer.copy_(saved)


def main():
    path, clip, block = sys.argv[1], sys.argv[2], int(sys.argv[3])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch._C._jit_set_profiling_executor(False)
    t0 = time.perf_counter()
    m = torch.jit.load(path).eval()
    snapshot = snapshot_buffers(m)
    x = torch.from_numpy(np.fromfile(clip, dtype="<f4").copy())
    n = x.shape[0]
    padded = (n + block - 1) // block * block
    x = torch.nn.functional.pad(x, (0, padded - n)).reshape(1, 1, -1)
    with torch.no_grad():
        zeros = torch.zeros(1, 1, block)
        for _ in range(3):
            m.decode(m.encode(zeros))
        restore_buffers(m, snapshot)
    load_s = time.perf_counter() - t0
    with torch.no_grad():
        t0 = time.perf_counter()
        out = []
        for i in range(0, padded, block):
            out.append(m.decode(m.encode(x[..., i:i + block])))
        run_s = time.perf_counter() - t0
    y = torch.cat(out, -1)[..., :n]
    assert y.shape[-1] == n
    print(json.dumps({"load_s": load_s, "run_s": run_s, "samples": n,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
