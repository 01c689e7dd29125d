#!/usr/bin/python3
"""Builds the tiny TorchScript fixtures the core and element tests use (run with Debian's
/usr/bin/python3 and python3-torch 1.13, so LibTorch 1.13 loads them). The outputs are
committed; re-run only when changing a fixture:  /usr/bin/python3 tests/data/make_fixtures.py"""
import os
import zipfile
from typing import List

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
RATIO = 4


class StatefulCodec(torch.nn.Module):
    """nn~-style codec with state carried between calls, so a block adapter that drops or
    repeats samples shows. encode: each frame of RATIO samples -> [mean, running sum of
    means]; decode inverts the first dim back to RATIO samples plus a per-call counter-free
    leaky integrator on the second, all exact in float32 for small integers."""

    def __init__(self, with_get_methods: bool = True, sr: int = 8000):
        super().__init__()
        self.ratio = RATIO
        self.register_buffer("encode_params", torch.tensor([1, 1, 2, RATIO]))
        self.register_buffer("decode_params", torch.tensor([2, RATIO, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        self.register_buffer("running", torch.zeros(1))
        self.sr = sr
        self.gain = 1.0
        self.steps = 4

    @torch.jit.export
    def encode(self, x):
        b, c, t = x.shape
        frames = x.reshape(b, c, t // self.ratio, self.ratio).mean(-1)
        sums = torch.cumsum(frames, -1) + self.running
        self.running.copy_(sums[0, 0, -1:])
        return torch.cat([frames, sums], 1) * self.gain

    @torch.jit.export
    def decode(self, z):
        return z[:, :1].repeat_interleave(self.ratio, -1)

    def forward(self, x):
        return self.decode(self.encode(x))

    @torch.jit.export
    def reset(self) -> int:
        self.running.zero_()
        return 0

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["encode", "decode", "forward"]

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["gain", "steps"]

    @torch.jit.export
    def get_gain(self) -> float:
        return self.gain

    @torch.jit.export
    def set_gain(self, value: float) -> int:
        self.gain = value
        return 0

    @torch.jit.export
    def get_steps(self) -> int:
        return self.steps

    @torch.jit.export
    def set_steps(self, value: int) -> int:
        if value < 1 or value > 16:
            return -1
        self.steps = value
        return 0


class Identity48k(torch.nn.Module):
    """RAVE-style codec at 48 kHz that changes nothing: encode lays each frame of 16 samples
    out as 16 latents, decode puts them back, so decode(encode(x)) == x exactly and an
    impulse keeps its sample (the LV2 resampling tests at a 44.1 kHz host)."""

    def __init__(self):
        super().__init__()
        self.ratio = 16
        self.sr = 48000
        self.register_buffer("encode_params", torch.tensor([1, 1, 16, 16]))
        self.register_buffer("decode_params", torch.tensor([16, 16, 1, 1]))

    @torch.jit.export
    def encode(self, x):
        b, c, t = x.shape
        return x.reshape(b, t // self.ratio, self.ratio).transpose(1, 2).contiguous()

    @torch.jit.export
    def decode(self, z):
        b, n, f = z.shape
        return z.transpose(1, 2).reshape(b, 1, f * self.ratio)

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["encode", "decode"]


class V1Style(torch.nn.Module):
    """RAVE v1 layout: no get_methods, a `sampling_rate` tensor, latent size 3."""

    def __init__(self):
        super().__init__()
        self.ratio = RATIO
        self.register_buffer("sampling_rate", torch.tensor(16000))
        self.register_buffer("encode_params", torch.tensor([1, 1, 3, RATIO]))
        self.register_buffer("decode_params", torch.tensor([3, RATIO, 1, 1]))

    @torch.jit.export
    def encode(self, x):
        f = x.reshape(x.shape[0], 1, -1, self.ratio).mean(-1)
        return torch.cat([f, -f, f * 0.5], 1)

    @torch.jit.export
    def decode(self, z):
        return z[:, :1].repeat_interleave(self.ratio, -1)


class StatefulNoReset(torch.nn.Module):
    """Streaming state kept as RAVE and AFTER exports keep it, with no reset() method: a buffer
    updated in place (cached_conv's padding), a plain tensor attribute reassigned each call,
    and a buffer replaced by one of another shape. forward = x + x delayed by 3 samples
    + 0.25 * calls + 0.5 * sum of the last samples of up to 8 previous calls."""

    def __init__(self):
        super().__init__()
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))
        self.register_buffer("cache", torch.zeros(1, 1, 3))
        self.register_buffer("history", torch.zeros(0))
        self.calls = torch.zeros(1)
        self.sr = 8000

    def forward(self, x):
        padded = torch.cat([self.cache, x], -1)
        self.cache.copy_(padded[..., -3:])
        y = x + padded[..., :-3] + 0.25 * self.calls + 0.5 * self.history.sum()
        self.calls = self.calls + 1
        self.history = torch.cat([self.history[-7:], x.reshape(-1)[-1:]])
        return y


class NoParams(torch.nn.Module):
    def forward(self, x):
        return x


class WrongShape(torch.nn.Module):
    """Claims 2 latents at ratio 4 but returns one channel at audio rate."""

    def __init__(self):
        super().__init__()
        self.register_buffer("encode_params", torch.tensor([1, 1, 2, RATIO]))

    @torch.jit.export
    def encode(self, x):
        return x


class Attention(torch.nn.Module):
    """forward: [1, 4, T] -> [1, 4, T], attention over time with q = x, k = x / 2, v = x
    reversed in time. Scripted with softmax as a stand-in; write_torch2_style puts torch 2.x's
    attention operator in its place (causal, scale 0.3), and `masked` adds a float mask."""

    def __init__(self):
        super().__init__()
        self.register_buffer("forward_params", torch.tensor([4, 1, 4, 1]))
        self.register_buffer("masked_params", torch.tensor([4, 1, 4, 1]))

    def forward(self, x):
        q = x.permute(0, 2, 1).unsqueeze(1)
        k = q * 0.5
        v = torch.flip(q, [2])
        y = torch.softmax(q, -1) + k + v
        return y.squeeze(1).permute(0, 2, 1)

    @torch.jit.export
    def masked(self, x):
        q = x.permute(0, 2, 1).unsqueeze(1)
        t = q.shape[2]
        mask = torch.arange(t).unsqueeze(0).float() - torch.arange(t).unsqueeze(1).float()
        y = torch.softmax(q, -2) + mask.sum() + q
        return y.squeeze(1).permute(0, 2, 1)


class RmsNorm(torch.nn.Module):
    """Stand-in for a file calling aten::rms_norm, an operator LibTorch 1.13 lacks and 2.4+
    has: its code is rewritten as write_torch2_style does."""

    def __init__(self):
        super().__init__()
        self.register_buffer("forward_params", torch.tensor([4, 1, 4, 1]))

    def forward(self, x):
        return torch.relu(x)


def write_torch2_style(module, path, replacements):
    """A file as torch 2.x exports it: its code calls operators LibTorch 1.13 does not have.
    torch 1.13 cannot script those calls, so script stand-ins and rewrite the stored code
    (dropping the debug tables that map the old source)."""
    plain = path + ".tmp"
    torch.jit.script(module).save(plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as out:
        for entry in src.infolist():
            if entry.filename.endswith(".debug_pkl"):
                continue
            data = src.read(entry.filename)
            if entry.filename.endswith(".py"):
                for old, new in replacements:
                    assert old in data, (old, data)
                    data = data.replace(old, new)
            out.writestr(entry, data)
    os.remove(plain)


def main():
    torch.jit.script(StatefulCodec()).save(os.path.join(HERE, "stateful-codec.ts"))
    torch.jit.script(V1Style()).save(os.path.join(HERE, "v1-style.ts"))
    torch.jit.script(StatefulNoReset()).save(os.path.join(HERE, "stateful-no-reset.ts"))
    # 48 kHz models for the LV2 plugins at a 44.1 kHz host (resampling).
    torch.jit.script(Identity48k()).save(os.path.join(HERE, "identity-48k.ts"))
    torch.jit.script(StatefulCodec(sr=48000)).save(os.path.join(HERE, "stateful-codec-48k.ts"))
    torch.jit.script(NoParams()).save(os.path.join(HERE, "no-params.ts"))
    torch.jit.script(WrongShape()).save(os.path.join(HERE, "wrong-shape.ts"))
    write_torch2_style(Attention(), os.path.join(HERE, "torch2-attention.ts"), [
        (b"torch.add(torch.add(torch.softmax(q, -1), k), v)",
         b"torch.scaled_dot_product_attention(q, k, v, None, 0., True, scale=0.29999999999999999)"),
        (b"_3 = torch.add(torch.softmax(q, -2), torch.sum(mask))\n    y = torch.add(_3, q)",
         b"y = torch.scaled_dot_product_attention(q, q, q, mask)"),
    ])
    write_torch2_style(RmsNorm(), os.path.join(HERE, "torch2-rms-norm.ts"), [
        (b"torch.relu(x)", b"torch.rms_norm(x, [4])"),
    ])
    with open(os.path.join(HERE, "not-torchscript.ts"), "w") as f:
        f.write("this is a text file, not a TorchScript archive\n")
    print("fixtures written to", HERE)


if __name__ == "__main__":
    main()
