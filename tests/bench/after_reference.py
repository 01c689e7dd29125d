#!/usr/bin/python3
"""Reference timing for tests/bench/bench-after (run with Debian's /usr/bin/python3 and
python3-torch): the same AFTER model methods on the same blocks as `aftertransfer` calls them
through core/after.c, one intra-op (and inter-op) thread, profiling executor off, warm-up on
zeros then a state reset (every buffer restored from a snapshot taken right after load;
reset() is never required, AFTER exports have none), as the C side does:
  per chunk: timbre(timbre block) -> mean over the chunk's frames = timbre vector;
             structure(structure block) -> zs; generate(zs + timbre vector held over the chunk).

usage: /usr/bin/python3 after_reference.py MODEL STRUCTURE.f32 TIMBRE.f32 STEPS [OUT.f32]
The .f32 files are raw mono float32 little-endian at the model's rate, equally long; OUT.f32
receives the output (so the benchmark can check both sides computed the same). Prints one
JSON line: {"load_s": ..., "run_s": ..., "samples": ..., "block": ...}"""
import json
import sys
import time

import numpy as np
import torch


def main():
    path, s_path, t_path, steps = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch._C._jit_set_profiling_executor(False)
    t0 = time.perf_counter()
    m = torch.jit.load(path).eval()
    # AFTER exports have no reset(): state is reset as the C side does it, by restoring a
    # snapshot of every buffer taken right after load (after the chunk probe and warm-up).
    snapshot = [(b, b.detach().clone()) for _, b in m.named_buffers()]
    ratio = int(m.timbre_params[3])
    # AFTER's timbre returns one chunk whatever it is given: find it as core/after.c does.
    chunk = 0
    with torch.no_grad():
        for k in range(1, 17):
            if m.timbre(torch.zeros(1, 1, k * ratio)).shape[-1] == k:
                chunk = k
                break
    block = chunk * ratio
    m.set_nb_steps(steps)
    s = torch.from_numpy(np.fromfile(s_path, dtype="<f4").copy())
    t = torch.from_numpy(np.fromfile(t_path, dtype="<f4").copy())
    n = s.shape[0]
    padded = (n + block - 1) // block * block
    s = torch.nn.functional.pad(s, (0, padded - n)).reshape(1, 1, -1)
    t = torch.nn.functional.pad(t[:n], (0, padded - min(n, t.shape[0]))).reshape(1, 1, -1)

    def chunk_call(s_block, t_block):
        zt = m.timbre(t_block).mean(-1, keepdim=True)
        zs = m.structure(s_block)
        return m.generate(torch.cat([zs, zt.expand(-1, -1, zs.shape[-1])], 1))

    with torch.inference_mode():
        zeros = torch.zeros(1, 1, block)
        for _ in range(3):
            chunk_call(zeros, zeros)
        for buffer, saved in snapshot:
            buffer.copy_(saved)
    load_s = time.perf_counter() - t0
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = [chunk_call(s[..., i:i + block], t[..., i:i + block])
               for i in range(0, padded, block)]
        run_s = time.perf_counter() - t0
    y = torch.cat(out, -1)[..., :n]
    assert y.shape[-1] == n
    if len(sys.argv) > 5:
        y.reshape(-1).numpy().astype("<f4").tofile(sys.argv[5])
    print(json.dumps({"load_s": load_s, "run_s": run_s, "samples": n, "block": block}))


if __name__ == "__main__":
    main()
