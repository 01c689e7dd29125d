#!/usr/bin/python3
"""AFTER-style exports with random (seeded) weights, shaped like the files acids-ircam/AFTER's
export script writes for nn~ (issue 9, "models users bring"). Run with Debian's /usr/bin/python3
and python3-torch 1.13 (LibTorch 1.13 loads the result). Generated at build time into the build
dir (not committed):

    /usr/bin/python3 tests/data/make_after_v2_fixture.py OUTDIR

writes OUTDIR/after-v2-audio.ts (structure from audio) and OUTDIR/after-v2-midi.ts (structure
from notes, n_poly 8), and python3-torch references of the deterministic methods on a fixed
input (OUTDIR/after-v2-*-ref-*.f32, listed in OUTDIR/after-v2-ref.json).

What they share with a real AFTER export (written from the published interface, not copied):
  - methods structure (audio model), timbre, diffuse, generate, decode, generate_timbre,
    latent2map / map2latent ([2, 1, 2, 1]), forward, each with a `_params` buffer as nn~'s
    export registers it (float), get_methods / get_attributes; **no reset()**;
  - attributes nb_steps (int), guidance_timbre, guidance_structure (float) through get_/set_,
    with NAME_params buffers; set_nb_steps prints (AFTER's methods print to stdout);
  - a RAVE-style codec inside (PQMF + cached convs, ratio 2048; two copies: one encodes the
    structure audio and decodes, one encodes the timbre audio), latent 16;
  - a structure encoder and a timbre encoder (nested script modules), the timbre over a history
    of the last 32 latent frames kept in a buffer; `timbre` answers one chunk of 4 frames
    whatever it is given, which is how the C side finds the chunk;
  - a transformer denoiser (6 blocks, width 256) whose attention is a TorchScript free function
    (`@torch.jit.script def attention`), over the 12 previous generated frames (a buffer) and the
    4 noisy frames of the chunk; rectified-flow sampling from torch.randn with nb_steps Euler
    steps and classifier-free guidance on a batch of three when a guidance is not 1.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_rave_v2_fixture import PQMF, CachedConv, DilatedStack, CachedConvTranspose  # noqa: E402

RATIO = 2048
CHUNK = 4
LATENT = 16
ZS = 12
ZT = 8
N_POLY = 8
CONTEXT = 12
HISTORY = 32
WIDTH = 256
HEADS = 8
LAYERS = 6
MIDI_TIMBRE = 0.5
MIDI_TIMBRE_DIMS = 6  # urn:latent:after-midi has six timbre controls; the rest are 0


@torch.jit.script
def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int) -> torch.Tensor:
    """Multi-head scaled dot-product attention, plain matmul + softmax."""
    b, t, d = q.shape
    q = q.reshape(b, t, heads, d // heads).transpose(1, 2)
    k = k.reshape(b, k.shape[1], heads, d // heads).transpose(1, 2)
    v = v.reshape(b, v.shape[1], heads, d // heads).transpose(1, 2)
    w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), -1)
    return (w @ v).transpose(1, 2).reshape(b, t, d)


class Codec(nn.Module):
    """A small RAVE-style streaming autoencoder: PQMF, strided cached convs, deterministic."""

    def __init__(self):
        super().__init__()
        self.pqmf = PQMF()
        chans = [48, 64, 96, 128, 128]
        ratios = [4, 4, 4, 2]
        self.enc_head = CachedConv(16, chans[0], 7)
        self.enc_stacks = nn.ModuleList([DilatedStack(chans[i], [1, 3]) for i in range(4)])
        self.enc_downs = nn.ModuleList(
            [CachedConv(chans[i], chans[i + 1], 2 * r, stride=r) for i, r in enumerate(ratios)])
        self.enc_out = CachedConv(chans[-1], LATENT, 3)
        rchans = chans[::-1]
        self.dec_head = CachedConv(LATENT, rchans[0], 3)
        self.dec_ups = nn.ModuleList(
            [CachedConvTranspose(rchans[i], rchans[i + 1], r) for i, r in enumerate(ratios[::-1])])
        self.dec_stacks = nn.ModuleList([DilatedStack(rchans[i + 1], [1, 3]) for i in range(4)])
        self.dec_out = CachedConv(rchans[-1], 16, 3)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        h = self.enc_head(self.pqmf(x))
        for stack, down in zip(self.enc_stacks, self.enc_downs):
            h = down(F.leaky_relu(stack(h), 0.2))
        return self.enc_out(F.leaky_relu(h, 0.2))

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        h = self.dec_head(z)
        for up, stack in zip(self.dec_ups, self.dec_stacks):
            h = stack(up(F.leaky_relu(h, 0.2)))
        return self.pqmf.inverse(0.3 * torch.tanh(self.dec_out(F.leaky_relu(h, 0.2))))


class StructureEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(LATENT, 128, 1)
        self.conv2 = nn.Conv1d(128, ZS, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv2(F.silu(self.conv1(z))))


class TimbreEncoder(nn.Module):
    """Pointwise MLP over the history, attention pooling, linear to zt, tanh."""

    def __init__(self):
        super().__init__()
        self.mlp1 = nn.Linear(LATENT, 256)
        self.mlp2 = nn.Linear(256, 256)
        self.score = nn.Linear(256, 1)
        self.out = nn.Linear(256, ZT)

    def forward(self, history: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.mlp2(F.silu(self.mlp1(history.transpose(1, 2)))))
        s = self.score(h).squeeze(-1).masked_fill(valid < 0.5, -1e9)
        w = torch.softmax(s, -1).unsqueeze(-1)
        return torch.tanh(self.out((w * h).sum(1)))


class Block(nn.Module):
    """Pre-norm transformer block; the timbre and the flow time enter through adaptive norm."""

    def __init__(self):
        super().__init__()
        self.heads = HEADS
        self.norm1 = nn.LayerNorm(WIDTH, elementwise_affine=False)
        self.norm2 = nn.LayerNorm(WIDTH, elementwise_affine=False)
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH)
        self.proj = nn.Linear(WIDTH, WIDTH)
        self.ff1 = nn.Linear(WIDTH, 4 * WIDTH)
        self.ff2 = nn.Linear(4 * WIDTH, WIDTH)
        self.ada = nn.Linear(WIDTH, 4 * WIDTH)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        s1, b1, s2, b2 = self.ada(cond).unsqueeze(1).chunk(4, -1)
        h = self.norm1(x) * (1 + s1) + b1
        q, k, v = self.qkv(h).chunk(3, -1)
        x = x + self.proj(attention(q, k, v, self.heads))
        h = self.norm2(x) * (1 + s2) + b2
        return x + self.ff2(F.gelu(self.ff1(h)))


class Denoiser(nn.Module):
    def __init__(self, structure_in: int):
        super().__init__()
        self.inp = nn.Linear(LATENT + 2 + structure_in, WIDTH)
        self.pos = nn.Parameter(torch.randn(CONTEXT + CHUNK, WIDTH) * 0.02)
        self.time = nn.Linear(1, WIDTH)
        self.timbre = nn.Linear(ZT, WIDTH)
        self.blocks = nn.ModuleList([Block() for _ in range(LAYERS)])
        self.out = nn.Linear(WIDTH, LATENT)

    def forward(self, tokens: torch.Tensor, t: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
        x = self.inp(tokens) + self.pos
        cond = F.silu(self.time(t) + self.timbre(zt))
        for block in self.blocks:
            x = block(x, cond)
        return self.out(x)


class AfterV2(nn.Module):
    def __init__(self, midi: bool):
        super().__init__()
        self.sr = 44100
        self.ratio = RATIO
        self.chunk_size = CHUNK
        self.midi = midi
        self.n_poly = N_POLY if midi else 0
        self.zs = ZS
        self.zt = ZT
        self.latent_size = LATENT
        self.context = CONTEXT
        self.history = HISTORY
        self.drop_value = -4.0
        self.nb_steps = 1
        self.guidance_timbre = 1.0
        self.guidance_structure = 1.0
        self.codec = Codec()
        self.codec_timbre = Codec()
        self.codec_timbre.load_state_dict(self.codec.state_dict())
        self.structure_encoder = StructureEncoder()
        self.timbre_encoder = TimbreEncoder()
        self.denoiser = Denoiser(128 if midi else ZS)
        notes = 2 * N_POLY if midi else ZS
        f = torch.float32
        if not midi:
            self.register_buffer("structure_params", torch.tensor([1, 1, ZS, RATIO], dtype=f))
            self.register_buffer("forward_params", torch.tensor([2, 1, 1, 1], dtype=f))
        self.register_buffer("timbre_params", torch.tensor([1, 1, ZT, RATIO], dtype=f))
        self.register_buffer("diffuse_params", torch.tensor([notes + ZT, RATIO, LATENT, RATIO], dtype=f))
        self.register_buffer("generate_params", torch.tensor([notes + ZT, RATIO, 1, 1], dtype=f))
        self.register_buffer("decode_params", torch.tensor([LATENT, RATIO, 1, 1], dtype=f))
        self.register_buffer("generate_timbre_params", torch.tensor([notes + 2, RATIO, 1, 1], dtype=f))
        self.register_buffer("latent2map_params", torch.tensor([2, 1, 2, 1], dtype=f))
        self.register_buffer("map2latent_params", torch.tensor([2, 1, 2, 1], dtype=f))
        self.register_buffer("nb_steps_params", torch.tensor([1.0]))
        self.register_buffer("guidance_timbre_params", torch.tensor([2.0]))
        self.register_buffer("guidance_structure_params", torch.tensor([2.0]))
        # Streaming state (per batch slot 0): generated context, timbre history.
        self.register_buffer("previous_latents", torch.zeros(1, LATENT, CONTEXT))
        self.register_buffer("previous_structure", torch.zeros(1, 128 if midi else ZS, CONTEXT))
        self.register_buffer("previous_valid", torch.zeros(1, CONTEXT))
        self.register_buffer("timbre_history", torch.zeros(1, LATENT, HISTORY))
        self.register_buffer("timbre_valid", torch.zeros(1, HISTORY))
        self.map_to_timbre = nn.Linear(2, ZT)
        self.register_buffer("map_matrix", torch.linalg.qr(torch.randn(2, 2))[0])

    # ------------------------------------------------------------------ nn~ methods
    @torch.jit.export
    def structure(self, x: torch.Tensor) -> torch.Tensor:
        return self.structure_encoder(self.codec.encode(x))

    @torch.jit.export
    def timbre(self, x: torch.Tensor) -> torch.Tensor:
        z = self.codec_timbre.encode(x)
        n = min(z.shape[-1], self.history)
        self.timbre_history.copy_(torch.cat([self.timbre_history, z[:1, :, -n:]], -1)[..., -self.history:])
        ones = torch.ones(1, n)
        self.timbre_valid.copy_(torch.cat([self.timbre_valid, ones], -1)[:, -self.history:])
        zt = self.timbre_encoder(self.timbre_history, self.timbre_valid)
        return zt.unsqueeze(-1).repeat(x.shape[0], 1, self.chunk_size)

    def piano_roll(self, notes: torch.Tensor) -> torch.Tensor:
        """[B, 2 * n_poly, T] (pitch, velocity pairs) -> [B, 128, T] velocity / 128."""
        b, _, t = notes.shape
        roll = torch.zeros(b, 128, t)
        for v in range(self.n_poly):
            pitch = notes[:, 2 * v].round().clamp(0, 127).long()
            vel = notes[:, 2 * v + 1:2 * v + 2].clamp(0, 127) / 128.0
            roll = torch.maximum(roll, F.one_hot(pitch, 128).transpose(1, 2).float() * vel)
        return roll

    def sample(self, structure: torch.Tensor, zt: torch.Tensor) -> torch.Tensor:
        b = structure.shape[0]
        t_len = structure.shape[-1]
        x = torch.randn(b, self.latent_size, t_len)
        ctx = self.previous_latents.expand(b, -1, -1)
        ctx_s = self.previous_structure.expand(b, -1, -1)
        valid = self.previous_valid.expand(b, -1).unsqueeze(1)
        guided = self.guidance_structure != 1.0 or self.guidance_timbre != 1.0
        steps = self.nb_steps
        for i in range(steps):
            t = float(i) / steps
            s_all = structure
            z_all = zt
            x_all = x
            c_all = ctx
            cs_all = ctx_s
            v_all = valid
            if guided:
                drop_s = torch.full_like(structure, self.drop_value)
                drop_t = torch.full_like(zt, self.drop_value)
                s_all = torch.cat([structure, drop_s, drop_s], 0)
                z_all = torch.cat([zt, zt, drop_t], 0)
                x_all = torch.cat([x, x, x], 0)
                c_all = torch.cat([ctx, ctx, ctx], 0)
                cs_all = torch.cat([ctx_s, ctx_s, ctx_s], 0)
                v_all = torch.cat([valid, valid, valid], 0)
            n = x_all.shape[0]
            ctx_tokens = torch.cat([c_all, v_all, torch.zeros_like(v_all), cs_all], 1)
            cur = torch.ones(n, 1, t_len)
            cur_tokens = torch.cat([x_all, cur, cur, s_all], 1)
            tokens = torch.cat([ctx_tokens, cur_tokens], -1).transpose(1, 2)
            tt = torch.full((n, 1), t)
            pred = self.denoiser(tokens, tt, z_all)[:, -t_len:].transpose(1, 2)
            if guided:
                full, no_s, none = pred[:b], pred[b:2 * b], pred[2 * b:]
                g = (self.guidance_structure + self.guidance_timbre) / 2
                f = self.guidance_timbre / max(self.guidance_structure, 0.1)
                pred = none + g * (no_s + f * (full - no_s) - none)
            x = x + (pred - x) / (steps - i) if i < steps - 1 else pred
        self.previous_latents.copy_(torch.cat([self.previous_latents, x[:1]], -1)[..., -self.context:])
        self.previous_structure.copy_(torch.cat([self.previous_structure, structure[:1]], -1)[..., -self.context:])
        self.previous_valid.copy_(torch.cat([self.previous_valid, torch.ones(1, t_len)], -1)[:, -self.context:])
        return x

    @torch.jit.export
    def diffuse(self, x: torch.Tensor) -> torch.Tensor:
        notes = x.shape[1] - self.zt
        zt = x[:, notes:].mean(-1)
        structure = x[:, :notes]
        if self.midi:
            structure = self.piano_roll(structure)
        return self.sample(structure, zt)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.codec.decode(z)

    @torch.jit.export
    def generate(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.diffuse(x))

    @torch.jit.export
    def latent2map(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ij,bjt->bit", self.map_matrix, x)

    @torch.jit.export
    def map2latent(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("ji,bjt->bit", self.map_matrix, x)

    @torch.jit.export
    def generate_timbre(self, x: torch.Tensor) -> torch.Tensor:
        notes = x.shape[1] - 2
        coords = x[:, notes:]
        zt = torch.tanh(self.map_to_timbre(self.map2latent(coords).mean(-1)))
        zt = zt.unsqueeze(-1).repeat(1, 1, x.shape[-1])
        return self.generate(torch.cat([x[:, :notes], zt], 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.structure(x[:, :1])
        t = self.timbre(x[:, 1:2])
        return self.generate(torch.cat([s, t], 1))

    # ------------------------------------------------------------------ attributes
    @torch.jit.export
    def get_nb_steps(self) -> int:
        return self.nb_steps

    @torch.jit.export
    def set_nb_steps(self, value: int) -> int:
        print("nb_steps", value)
        self.nb_steps = value
        return 0

    @torch.jit.export
    def get_guidance_timbre(self) -> float:
        return self.guidance_timbre

    @torch.jit.export
    def set_guidance_timbre(self, value: float) -> int:
        self.guidance_timbre = value
        return 0

    @torch.jit.export
    def get_guidance_structure(self) -> float:
        return self.guidance_structure

    @torch.jit.export
    def set_guidance_structure(self, value: float) -> int:
        self.guidance_structure = value
        return 0

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["none", "nb_steps", "guidance_timbre", "guidance_structure"]

    @torch.jit.export
    def get_methods(self) -> List[str]:
        if self.midi:
            return ["timbre", "diffuse", "generate", "decode", "generate_timbre",
                    "latent2map", "map2latent"]
        return ["forward", "structure", "timbre", "diffuse", "generate", "decode",
                "generate_timbre", "latent2map", "map2latent"]


def test_signal(n: int, sr: int, f0: float) -> torch.Tensor:
    t = torch.arange(n, dtype=torch.float64) / sr
    x = 0.4 * torch.sin(2 * math.pi * f0 * t) + 0.1 * torch.sin(2 * math.pi * 3.01 * f0 * t)
    x = x * torch.where((t % 0.5) < 0.35, 1.0, 0.1)
    return x.float().reshape(1, 1, n)


def write_f32(path: str, t: torch.Tensor) -> None:
    t.detach().contiguous().float().numpy().tofile(path)


def references(path: str, outdir: str, midi: bool) -> dict:
    """Deterministic methods from a fresh load, one chunk per call: `timbre` (and `structure`
    for the audio model) on 8 chunks of the test signals."""
    block = RATIO * CHUNK
    chunks = 8
    xs = test_signal(block * chunks, 44100, 220.0)
    xt = test_signal(block * chunks, 44100, 330.0)
    base = os.path.splitext(os.path.basename(path))[0]
    out = {}
    with torch.no_grad():
        m = torch.jit.load(path)
        tim = torch.cat([m.timbre(xt[..., i * block:(i + 1) * block]) for i in range(chunks)], -1)
        files = {"structure_input": xs, "timbre_input": xt, "timbre": tim[0]}
        if not midi:
            st = torch.cat([m.structure(xs[..., i * block:(i + 1) * block]) for i in range(chunks)], -1)
            files["structure"] = st[0]
    # Noise-driven paths, seeded twice (the spread between seeds is what the tests allow):
    # audio: forward on [structure, timbre] chunks (and on [structure, structure]); MIDI:
    # generate with one held note (voice 0: MIDI 60, velocity 100) and the timbre vector
    # MIDI_TIMBRE in the first MIDI_TIMBRE_DIMS timbre channels, 0 in the others.
    for seed in (0, 1):
        torch.manual_seed(seed)
        with torch.no_grad():
            m = torch.jit.load(path)
            if midi:
                x = torch.zeros(1, 2 * N_POLY + ZT, CHUNK)
                x[:, 0] = 60.0
                x[:, 1] = 100.0
                x[:, 2 * N_POLY:2 * N_POLY + MIDI_TIMBRE_DIMS] = MIDI_TIMBRE
                y = torch.cat([m.generate(x) for _ in range(chunks)], -1)
            else:
                both = torch.cat([xs, xt], 1)
                y = torch.cat([m.forward(both[..., i * block:(i + 1) * block])
                               for i in range(chunks)], -1)
                # The LV2 host tests feed one signal to structure and timbre.
                torch.manual_seed(seed)
                m = torch.jit.load(path)
                same = torch.cat([xs, xs], 1)
                files[f"same_seed{seed}"] = torch.cat(
                    [m.forward(same[..., i * block:(i + 1) * block]) for i in range(chunks)], -1)
        files[f"output_seed{seed}"] = y
    for key, t in files.items():
        name = f"{base}-ref-{key}.f32"
        write_f32(os.path.join(outdir, name), t)
        out[key] = name
    return {"files": out, "chunks": chunks, "block": block}


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
    for name, midi, seed in [("after-v2-audio.ts", False, 21), ("after-v2-midi.ts", True, 22)]:
        torch.manual_seed(seed)
        model = AfterV2(midi).eval()
        with torch.no_grad():
            for p in model.denoiser.blocks.parameters():
                p.mul_(0.5)
        params = sum(p.numel() for p in model.parameters())
        path = os.path.join(outdir, name)
        torch.jit.script(model).save(path)
        info[name] = {"parameters": params, "bytes": os.path.getsize(path),
                      "buffers": len(list(model.buffers())), "n_poly": model.n_poly,
                      "reference": references(path, outdir, midi)}
        print(f"{path}: {'MIDI' if midi else 'audio'}, {params} parameters, "
              f"{os.path.getsize(path)} bytes")
    info["seconds"] = round(time.time() - t0, 2)
    with open(os.path.join(outdir, "after-v2-ref.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"generated in {info['seconds']} s")


if __name__ == "__main__":
    main()
