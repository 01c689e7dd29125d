#!/usr/bin/python3
"""Writes the hostile models of the hostile-input tests into OUTDIR (run with Debian's
/usr/bin/python3 and python3-torch; the build runs it, nothing is committed):
  /usr/bin/python3 tests/data/make_hostile_models.py OUTDIR
Each file is a small nn~-style model, or a copy of the shipped terrain, with one thing wrong,
named after it."""
import os
import sys
from typing import List

import torch


class Codec(torch.nn.Module):
    """encode: mean of each 4 samples, 2 latents; decode: hold the first latent. Which
    _params it carries, and what its outputs become, is set per file."""

    def __init__(self, encode_params, decode_params, poison: float = 0.0):
        super().__init__()
        self.register_buffer("encode_params", encode_params)
        self.register_buffer("decode_params", decode_params)
        self.register_buffer("state", torch.zeros(1))
        self.poison = poison
        self.sr = 8000

    @torch.jit.export
    def encode(self, x):
        frames = x.reshape(x.shape[0], 1, -1, 4).mean(-1)
        return torch.cat([frames, frames + self.state], 1)

    @torch.jit.export
    def decode(self, z):
        # A poisoned model turns its state non-finite on a loud input, and then every output
        # stays non-finite until the state is reset: what a model does with a 1e30 latent.
        if self.poison != 0.0 and bool(z.abs().max() > 100.0):
            self.state.fill_(self.poison)
        y = z[:, :1] + self.state
        return y.repeat_interleave(4, -1)

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["encode", "decode"]


class Raises(torch.nn.Module):
    """decode raises with its own message, as a model checking its input does."""

    def __init__(self):
        super().__init__()
        self.register_buffer("decode_params", torch.tensor([2, 4, 1, 1]))

    @torch.jit.export
    def decode(self, z):
        if z.shape[1] != 3:
            raise ValueError("decode expects 3 latent channels, check the export config")
        return z[:, :1]


class HugeTensor(torch.nn.Module):
    """decode asks for a tensor of 2^62 bytes (2^59 doubles): LibTorch's size checks pass it to
    the CPU allocator (the backend's tensor cache), which cannot get it and must say so."""

    def __init__(self):
        super().__init__()
        self.register_buffer("decode_params", torch.tensor([2, 4, 1, 1]))

    @torch.jit.export
    def decode(self, z):
        big = torch.zeros([576460752303423488], dtype=torch.float64)  # 2^59
        return z[:, :1] + big[:1].to(torch.float32)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    good_encode, good_decode = torch.tensor([1, 1, 2, 4]), torch.tensor([2, 4, 1, 1])
    models = {
        # A ratio of 2^32 truncated to 0 in C and divided by zero (SIGFPE).
        "ratio-2-32.ts": Codec(torch.tensor([1, 1, 2, 2 ** 32]), good_decode),
        # nn~ 1.5.6 stores floats; 4.5 is no ratio.
        "fractional-params.ts": Codec(torch.tensor([1.0, 1.0, 2.0, 4.5]), good_decode),
        # Three values: the method used to vanish without a word.
        "short-params.ts": Codec(torch.tensor([1, 1, 2]), good_decode),
        # Neither ratio a multiple of the other: output lengths would not be whole.
        "ratio-3-4.ts": Codec(torch.tensor([1, 3, 2, 4]), good_decode),
        # Every _params unusable: the file must be refused, saying why for each.
        "no-usable-method.ts": Codec(torch.tensor([1, 1, 2, 2 ** 40]), torch.tensor([0, 4, 1, 1])),
        "poisoned-nan.ts": Codec(good_encode, good_decode, float("nan")),
        "poisoned-inf.ts": Codec(good_encode, good_decode, float("inf")),
    }
    for name, module in models.items():
        torch.jit.script(module).save(os.path.join(out, name))
    torch.jit.script(Raises()).save(os.path.join(out, "raises.ts"))
    torch.jit.script(HugeTensor()).save(os.path.join(out, "huge-tensor.ts"))
    # sr = 2^31: cast to int in C, undefined (found by the model-info fuzzer).
    huge_rate = Codec(good_encode, good_decode)
    huge_rate.sr = 2 ** 31
    torch.jit.script(huge_rate).save(os.path.join(out, "rate-2-31.ts"))
    write_bad_terrains(out)


def write_bad_terrains(out):
    """models/terrain-gm.pt with a NaN two_pi, and with weights that overflow to Inf."""
    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models",
                           "terrain-gm.pt")
    terrain = torch.jit.load(shipped)
    with torch.no_grad():
        terrain.two_pi.fill_(float("nan"))
    terrain.save(os.path.join(out, "terrain-nan-two-pi.pt"))
    terrain = torch.jit.load(shipped)
    with torch.no_grad():
        for name, p in terrain.named_parameters():
            if name in ("fc2.weight", "fc3.weight", "fc4.weight"):
                p.mul_(1e30)
    terrain.save(os.path.join(out, "terrain-overflow.pt"))


if __name__ == "__main__":
    main()
