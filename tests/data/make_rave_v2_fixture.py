#!/usr/bin/python3
"""RAVE v2-style streaming exports with random (seeded) weights, for the tests and benchmarks on
"models users bring" (issue 9). Run with Debian's /usr/bin/python3 and python3-torch 1.13 (so
LibTorch 1.13 loads the files). Generated at build time into the build dir (not committed):

    /usr/bin/python3 tests/data/make_rave_v2_fixture.py OUTDIR

writes OUTDIR/rave-v2-nn16.ts (nn~ 1.6 layout), OUTDIR/rave-v2-nn156.ts (nn~ 1.5.6 layout, same
weights), OUTDIR/rave-v2-48k.ts (nn~ 1.6, sr 48000, other weights) and, for the tests, python3-torch
references on a fixed input (OUTDIR/rave-v2-ref-*.f32, raw float32, described in rave-v2-ref.json).

What the files share with a real RAVE v2 export (acids-ircam/RAVE's export script, streaming mode),
written from the published architecture, not copied:
  - cached-padding convolutions whose left context lives in registered buffers (`pad`), carried
    across calls, as cached_conv does; transposed convolutions keep their overlap in a buffer;
  - a 16-band PQMF (polyphase analysis and synthesis, cosine-modulated prototype, cached);
  - encoder: strided convs 4 x 4 x 4 x 2 after the PQMF (total ratio 16 x 128 = 2048) with
    dilated residual blocks; outputs mean and scale of 128 latents; the export keeps the mean,
    applies the latent PCA (latent_mean, latent_pca buffers) and crops to latent_size = 8;
  - decoder: upsampling transposed convs 2 x 4 x 4 x 4 with residual blocks, a waveform head
    (tanh x sigmoid amplitude) and a noise synthesiser (uniform noise through a filter bank,
    band gains from the network) added before the PQMF synthesis;
  - decode takes 8 latents and fills the other 120 of full_latent_size 128 with torch.randn, as
    RAVE's variational decode does (so decode paths are not deterministic: compare spectra);
  - int attribute sr, latent_size, full_latent_size; methods encode, decode, forward with
    `_params` buffers; no reset() method.
"""
import json
import math
import os
import sys
import time
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F

RATIO = 2048
BANDS = 16
FULL_LATENT = 128
LATENT = 8
REF_BLOCK = 2048
ENCODER_GAIN = 1000.0
REF_SAMPLES = 48 * 2048


class CachedPad(nn.Module):
    """Left context of `padding` frames kept in a buffer and prepended on every call."""

    def __init__(self, channels: int, padding: int):
        super().__init__()
        self.padding = padding
        self.register_buffer("pad", torch.zeros(1, channels, padding))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            return x
        if self.pad.shape[0] != x.shape[0]:
            self.pad = torch.zeros(x.shape[0], x.shape[1], self.padding)
        x = torch.cat([self.pad, x], -1)
        self.pad.copy_(x[..., -self.padding:])
        return x


class CachedConv(nn.Module):
    """Causal conv1d: (kernel - 1) * dilation frames of context when stride is 1, kernel - stride
    when strided, so T input frames give T / stride output frames in every call."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, kernel, stride=stride, dilation=dilation)
        self.cache = CachedPad(cin, (kernel - 1) * dilation if stride == 1 else kernel - stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.cache(x))


class CachedConvTranspose(nn.Module):
    """Upsampling by `stride` (kernel 2 * stride); the overlapping tail waits in a buffer."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.weight = nn.Parameter(torch.randn(cin, cout, 2 * stride) / math.sqrt(cin * 2))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.register_buffer("overlap", torch.zeros(1, cout, stride))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose1d(x, self.weight, None, self.stride)
        n = x.shape[-1] * self.stride
        if self.overlap.shape[0] != x.shape[0]:
            self.overlap = torch.zeros(x.shape[0], y.shape[1], self.stride)
        head = y[..., :self.stride] + self.overlap
        self.overlap.copy_(y[..., n:])
        return torch.cat([head, y[..., self.stride:n]], -1) + self.bias.unsqueeze(-1)


class Residual(nn.Module):
    def __init__(self, channels: int, dilation: int):
        super().__init__()
        self.conv1 = CachedConv(channels, channels, 3, dilation=dilation)
        self.conv2 = CachedConv(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.leaky_relu(x, 0.2))
        return x + self.conv2(F.leaky_relu(y, 0.2))


class DilatedStack(nn.Module):
    def __init__(self, channels: int, dilations: List[int]):
        super().__init__()
        self.blocks = nn.ModuleList([Residual(channels, d) for d in dilations])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return x


def pqmf_filters(bands: int, taps_per_phase: int):
    """Cosine-modulated analysis/synthesis filters from a Kaiser-windowed sinc prototype."""
    length = bands * taps_per_phase
    n = torch.arange(length, dtype=torch.float64)
    centre = (length - 1) / 2
    cutoff = 1.0 / (2 * bands)
    x = 2 * cutoff * (n - centre)
    proto = 2 * cutoff * torch.where(x == 0, torch.ones_like(x), torch.sin(math.pi * x) / (math.pi * x))
    proto = proto * torch.kaiser_window(length, periodic=False, beta=9.0, dtype=torch.float64)
    k = torch.arange(bands, dtype=torch.float64).unsqueeze(1)
    phase = (2 * k + 1) * math.pi / (2 * bands) * (n - centre)
    sign = torch.where(k % 2 == 0, 1.0, -1.0) * math.pi / 4
    analysis = 2 * proto * torch.cos(phase + sign)
    synthesis = 2 * proto * torch.cos(phase - sign)
    return analysis, synthesis


class PQMF(nn.Module):
    """16-band polyphase filter bank: analysis turns [B, 1, T] into [B, 16, T / 16], synthesis
    the reverse; both convolve the polyphase signals with cached left context."""

    def __init__(self, bands: int = BANDS, taps_per_phase: int = 8):
        super().__init__()
        self.bands = bands
        analysis, synthesis = pqmf_filters(bands, taps_per_phase)
        kk = taps_per_phase
        wa = torch.zeros(bands, bands, kk)
        ws = torch.zeros(bands, bands, kk)
        for j in range(kk):
            for q in range(bands):
                wa[:, q, j] = analysis[:, bands * (kk - 1 - j) + bands - 1 - q].float()
                idx = bands * (kk - 1 - j) + q
                ws[q, :, j] = bands * synthesis[:, idx].float()
        self.register_buffer("analysis_weight", wa)
        self.register_buffer("synthesis_weight", ws)
        self.analysis_cache = CachedPad(bands, kk - 1)
        self.synthesis_cache = CachedPad(bands, kk - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        poly = x.reshape(b, -1, self.bands).permute(0, 2, 1)
        return F.conv1d(self.analysis_cache(poly), self.analysis_weight)

    @torch.jit.export
    def inverse(self, bands: torch.Tensor) -> torch.Tensor:
        b = bands.shape[0]
        poly = F.conv1d(self.synthesis_cache(bands), self.synthesis_weight)
        return poly.permute(0, 2, 1).reshape(b, 1, -1)


class Encoder(nn.Module):
    def __init__(self, channels: List[int], ratios: List[int]):
        super().__init__()
        self.head = CachedConv(BANDS, channels[0], 7)
        stacks = []
        downs = []
        for i, r in enumerate(ratios):
            stacks.append(DilatedStack(channels[i], [1, 3, 9]))
            downs.append(CachedConv(channels[i], channels[i + 1], 2 * r, stride=r))
        self.stacks = nn.ModuleList(stacks)
        self.downs = nn.ModuleList(downs)
        self.out = CachedConv(channels[-1], 2 * FULL_LATENT, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(x)
        for stack, down in zip(self.stacks, self.downs):
            x = down(F.leaky_relu(stack(x), 0.2))
        return self.out(F.leaky_relu(x, 0.2))


class NoiseSynth(nn.Module):
    """Filtered noise: per PQMF band, uniform noise through `n_filters` fixed band-pass FIRs
    (cached), weighted by gains from the network."""

    def __init__(self, channels: int, n_filters: int = 5, taps: int = 15):
        super().__init__()
        self.n_filters = n_filters
        self.bands = BANDS
        self.gains = CachedConv(channels, BANDS * n_filters, 3)
        n = torch.arange(taps, dtype=torch.float32) - (taps - 1) / 2
        window = torch.hann_window(taps + 2, periodic=False)[1:-1]
        rows = []
        for f in range(n_filters):
            centre = (f + 0.5) / n_filters * math.pi
            rows.append(torch.cos(centre * n) * window / taps * 4)
        bank = torch.stack(rows).unsqueeze(1).repeat(BANDS, 1, 1)
        self.register_buffer("bank", bank)
        self.cache = CachedPad(BANDS * n_filters, taps - 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        b, _, t = h.shape
        gains = torch.sigmoid(self.gains(h) - 5.0)
        noise = torch.rand(b, self.bands, t) * 2 - 1
        noise = noise.repeat_interleave(self.n_filters, 1)
        filtered = F.conv1d(self.cache(noise), self.bank, groups=self.bands * self.n_filters)
        return (filtered * gains).reshape(b, self.bands, self.n_filters, t).sum(2)


class Decoder(nn.Module):
    def __init__(self, channels: List[int], ratios: List[int]):
        super().__init__()
        self.bands = BANDS
        self.head = CachedConv(FULL_LATENT, channels[0], 3)
        ups = []
        stacks = []
        for i, r in enumerate(ratios):
            ups.append(CachedConvTranspose(channels[i], channels[i + 1], r))
            stacks.append(DilatedStack(channels[i + 1], [1, 3, 9]))
        self.ups = nn.ModuleList(ups)
        self.stacks = nn.ModuleList(stacks)
        self.waveform = CachedConv(channels[-1], 2 * BANDS, 3)
        self.noise = NoiseSynth(channels[-1])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.head(z)
        for up, stack in zip(self.ups, self.stacks):
            x = stack(up(F.leaky_relu(x, 0.2)))
        x = F.leaky_relu(x, 0.2)
        w = self.waveform(x)
        wave, amplitude = w[:, :self.bands], w[:, self.bands:]
        out = torch.tanh(wave) * torch.sigmoid(amplitude - 2.0)
        return out + self.noise(x)


class RaveV2Export(nn.Module):
    """The streaming export's surface: encode / decode / forward on [B, C, T] float32."""

    def __init__(self, sr: int, nn_tilde: str):
        super().__init__()
        self.sr = sr
        self.latent_size = LATENT
        self.full_latent_size = FULL_LATENT
        self.nn_tilde = nn_tilde
        self.pqmf = PQMF()
        self.encoder = Encoder([64, 96, 128, 160, 192], [4, 4, 4, 2])
        self.decoder = Decoder([192, 160, 128, 96, 64], [2, 4, 4, 4])
        pca, _ = torch.linalg.qr(torch.randn(FULL_LATENT, FULL_LATENT))
        self.register_buffer("latent_pca", pca)
        self.register_buffer("latent_mean", torch.randn(FULL_LATENT) * 0.1)
        dtype = torch.long if nn_tilde == "1.6" else torch.float32
        self.register_buffer("encode_params", torch.tensor([1, 1, LATENT, RATIO], dtype=dtype))
        self.register_buffer("decode_params", torch.tensor([LATENT, RATIO, 1, 1], dtype=dtype))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1], dtype=dtype))
        # nn~ attributes (learn/reset of the latent matching of nn~ 1.6's RAVE exports).
        self.learn_target = False
        self.reset_target = False
        self.learn_source = False
        self.reset_source = False
        kind = 1.0 if nn_tilde == "1.6" else 0.0
        for name in ["learn_target", "reset_target", "learn_source", "reset_source"]:
            self.register_buffer(name + "_params", torch.tensor([kind]))

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(self.pqmf(x))
        mean = z[:, :self.full_latent_size]
        z = mean - self.latent_mean.unsqueeze(-1)
        z = F.conv1d(z, self.latent_pca.unsqueeze(-1))
        return z[:, :self.latent_size]

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        pruned = torch.randn(z.shape[0], self.full_latent_size - z.shape[1], z.shape[-1])
        z = torch.cat([z, pruned], 1)
        z = F.conv1d(z, self.latent_pca.t().unsqueeze(-1)) + self.latent_mean.unsqueeze(-1)
        return self.pqmf.inverse(self.decoder(z))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["encode", "decode", "forward"]

    @torch.jit.export
    def get_learn_target(self) -> bool:
        return self.learn_target

    @torch.jit.export
    def set_learn_target(self, value: bool) -> int:
        self.learn_target = value
        return 0

    @torch.jit.export
    def get_reset_target(self) -> bool:
        return self.reset_target

    @torch.jit.export
    def set_reset_target(self, value: bool) -> int:
        self.reset_target = value
        return 0

    @torch.jit.export
    def get_learn_source(self) -> bool:
        return self.learn_source

    @torch.jit.export
    def set_learn_source(self, value: bool) -> int:
        self.learn_source = value
        return 0

    @torch.jit.export
    def get_reset_source(self) -> bool:
        return self.reset_source

    @torch.jit.export
    def set_reset_source(self, value: bool) -> int:
        self.reset_source = value
        return 0


class Nn16(RaveV2Export):
    """nn~ 1.6: int _params, the four learn/reset attributes, get/set_sample_rate."""

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["learn_target", "reset_target", "learn_source", "reset_source"]

    @torch.jit.export
    def get_sample_rate(self) -> int:
        return self.sr

    @torch.jit.export
    def set_sample_rate(self, value: int) -> int:
        return 0 if value == self.sr else -1


class Nn156(RaveV2Export):
    """nn~ 1.5.6: float _params, an attribute list starting with `none`, no get_sample_rate."""

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["none", "learn_target", "reset_target", "learn_source", "reset_source"]


def build(cls, sr: int, nn_tilde: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = cls(sr, nn_tilde).eval()
    with torch.no_grad():
        # No encoder biases: the latents follow the input (silence encodes to about
        # -latent_mean), with about unit spread on the test signal, as trained ones have.
        for name, p in model.encoder.named_parameters():
            if name.endswith("bias"):
                p.zero_()
        model.encoder.out.conv.weight.mul_(ENCODER_GAIN)
        # A trained decoder mostly ignores the pruned directions (they carry no information, the
        # KL term made them noise): its first layer sees them at a tenth of the kept ones' gain.
        kept = model.latent_pca[:LATENT]
        w = model.decoder.head.conv.weight
        projected = torch.einsum("oit,ji,jk->okt", w, kept, kept)
        w.copy_(3.0 * projected + 0.1 * (w - projected))
    return model


def test_signal(sr: int, n: int) -> torch.Tensor:
    """Two tones with a vibrato, loud and soft halves and a silent gap: the latents move."""
    t = torch.arange(n, dtype=torch.float64) / sr
    f = 220 + 110 * torch.sin(2 * math.pi * 0.7 * t)
    x = 0.5 * torch.sin(2 * math.pi * torch.cumsum(f, 0) / sr)
    x = x + 0.2 * torch.sin(2 * math.pi * 1500 * t) * (t > n / sr / 2)
    env = torch.where((t % 1.1) < 0.55, 1.0, 0.03)
    x = x * env
    x[n // 3:n // 3 + 4096] = 0
    return x.float().reshape(1, 1, n)


def stream(module, method: str, x: torch.Tensor, block: int) -> torch.Tensor:
    fn = getattr(module, method)
    return torch.cat([fn(x[..., i:i + block]) for i in range(0, x.shape[-1], block)], -1)


def write_f32(path: str, t: torch.Tensor) -> None:
    t.detach().contiguous().float().numpy().tofile(path)


def references(path: str, outdir: str, sr: int) -> dict:
    """encode (deterministic) and forward / decode (noise seeded) on the test signal, 2048-sample
    blocks from a fresh load, as the C side streams them; `encode_z` is [8][frames] planar."""
    x = test_signal(sr, REF_SAMPLES)
    with torch.no_grad():
        m = torch.jit.load(path)
        z = stream(m, "encode", x, REF_BLOCK)
        torch.manual_seed(0)
        m = torch.jit.load(path)
        y = stream(m, "forward", x, REF_BLOCK)
        torch.manual_seed(1)
        m = torch.jit.load(path)
        y2 = stream(m, "forward", x, REF_BLOCK)
        torch.manual_seed(0)
        m = torch.jit.load(path)
        d = stream(m, "decode", z, REF_BLOCK // RATIO)
    base = os.path.splitext(os.path.basename(path))[0]
    files = {"input": x, "encode": z[0], "forward": y, "forward_seed1": y2, "decode": d}
    out = {}
    for key, t in files.items():
        name = f"{base}-ref-{key}.f32"
        write_f32(os.path.join(outdir, name), t)
        out[key] = name
    assert torch.isfinite(y).all() and torch.isfinite(z).all() and torch.isfinite(d).all()
    return {"files": out, "samples": REF_SAMPLES, "block": REF_BLOCK, "sr": sr,
            "frames": int(z.shape[-1]), "latent": LATENT,
            "rms_forward": float(y.pow(2).mean().sqrt()), "z_std": float(z.std())}


def main() -> None:
    outdir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(1)
    # As the C backend runs TorchScript: torch 2.x's profiling executor (its default) took
    # over 20 minutes of CPU on these reference runs in Debian 13's python3-torch 2.6, 8 s
    # without it.
    torch._C._jit_set_profiling_executor(False)
    t0 = time.time()
    info = {}
    for name, cls, sr, layout, seed in [("rave-v2-nn16.ts", Nn16, 44100, "1.6", 9),
                                        ("rave-v2-nn156.ts", Nn156, 44100, "1.5.6", 9),
                                        ("rave-v2-48k.ts", Nn16, 48000, "1.6", 10)]:
        model = build(cls, sr, layout, seed)
        params = sum(p.numel() for p in model.parameters())
        path = os.path.join(outdir, name)
        torch.jit.script(model).save(path)
        info[name] = {"sr": sr, "layout": layout, "parameters": params,
                      "bytes": os.path.getsize(path),
                      "buffers": len(list(model.buffers()))}
        if name != "rave-v2-48k.ts":
            info[name]["reference"] = references(path, outdir, sr)
        print(f"{path}: nn~ {layout}, sr {sr}, {params} parameters, "
              f"{os.path.getsize(path)} bytes")
    info["seconds"] = round(time.time() - t0, 2)
    with open(os.path.join(outdir, "rave-v2-ref.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"generated in {info['seconds']} s")


if __name__ == "__main__":
    main()
