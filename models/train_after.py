#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1 + numpy).
#
# Trains and exports the two AFTER-style models on rave-gm.ts latents (make_after_data.py):
#   after-gm.ts       structure from audio (structure / timbre / diffuse / generate / decode / forward)
#   after-gm-midi.ts  structure from notes (timbre / diffuse / generate / decode, 2*N_POLY note inputs)
# Both in AFTER's nn~ export interface (see models/README.md, "AFTER-style models").
#
# Rectified flow on the 8 autoencoder latents of one chunk (CHUNK frames), conditioned on a
# structure sequence (time_cond) and a timbre vector (cond), with the previous CONTEXT frames
# of generated latents as clean context (the streaming state). Each training example pairs
# instrument A's rendering of a phrase (structure) with instrument B's rendering of a
# different phrase (timbre) and predicts B's rendering of A's phrase. Conditions are dropped
# (set to DROP) independently for classifier-free guidance, as AFTER does.
#
# usage: /usr/bin/python3 models/train_after.py [--model audio|midi|both] [--minutes 20]
#                                               [--export-only]
# --minutes is per model (run the two models as two processes to train them side by side).
# Checkpoints: models/.data/after-{audio,midi}.pt (every 2 min); a rerun resumes from them.

import argparse
import glob
import math
import os
import sys
import time
from typing import List, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, ".data", "after")
CKPT = os.path.join(HERE, ".data", "after-%s.pt")
RAVE = os.path.join(HERE, "rave-gm.ts")

SR, RATIO, LATENT = 44100, 1024, 8
CHUNK = 4             # latent frames per call (4096 samples)
CONTEXT = 12          # previous generated frames the denoiser sees
WINDOW = CONTEXT + CHUNK
ZS, ZT = 12, 6        # structure and timbre channels
N_TIMBRE = 32         # latent frames of timbre history (0.74 s)
N_POLY = 4
N_PITCH = 128
DROP = -4.0           # condition value meaning "dropped" (outside the tanh range of zs/zt)
PITCH_WEIGHT = 2.0    # latent 0 (pitch) gets std 2 instead of 1 in the diffused space
D_MODEL, N_HEADS, N_LAYERS, D_FF = 128, 4, 4, 256
LR = 1e-3
N_INSTRUMENTS = 6     # len(make_after_data.INSTRUMENTS)


# ====================================================================== networks

class PointwiseMLP(nn.Module):
    def __init__(self, cin: int, hidden: int, cout: int):
        super().__init__()
        self.l1 = nn.Conv1d(cin, hidden, 1)
        self.l2 = nn.Conv1d(hidden, hidden, 1)
        self.l3 = nn.Conv1d(hidden, cout, 1)

    def forward(self, x):
        return self.l3(F.silu(self.l2(F.silu(self.l1(x)))))


class StructureEncoder(nn.Module):
    """Per-frame map of (normalised) latents to zs in (-1, 1); the denoiser's attention
    supplies the temporal context. Channels 0 and 1 are pitch and loudness, scaled into
    [-1, 1] (the structure every instrument shares, handed over without having to be
    learned); the other ZS - 2 are learned."""

    def __init__(self):
        super().__init__()
        self.mlp = PointwiseMLP(LATENT, 64, ZS - 2)

    def forward(self, z):
        return torch.cat([torch.clamp(z[:, :2] * 0.2, -1.0, 1.0), torch.tanh(self.mlp(z))], 1)


class TimbreEncoder(nn.Module):
    """Latent history [B, 8, N_TIMBRE] + validity [B, 1, N_TIMBRE] -> zt in (-1, 1):
    attention pooling over the valid frames (so start-up zeros and rests count little)."""

    def __init__(self, hidden: int = 96):
        super().__init__()
        self.mlp = PointwiseMLP(LATENT, hidden, hidden)
        self.score = nn.Conv1d(hidden, 1, 1)
        self.out = nn.Linear(hidden, ZT)

    def forward(self, z, valid):
        h = F.silu(self.mlp(z))
        s = self.score(h) + (valid - 1.0) * 1e4
        w = torch.softmax(s, -1)
        return torch.tanh(self.out((h * w).sum(-1)))


class Attention(nn.Module):
    """Multi-head self-attention with plain matmul + softmax (scripts and loads in torch 1.13)."""

    def __init__(self):
        super().__init__()
        self.qkv = nn.Linear(D_MODEL, 3 * D_MODEL)
        self.proj = nn.Linear(D_MODEL, D_MODEL)
        self.heads = N_HEADS
        self.scale = 1.0 / math.sqrt(D_MODEL // N_HEADS)

    def forward(self, x):
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, -1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(b, n, d)
        return self.proj(y)


class Block(nn.Module):
    """Pre-norm transformer block; LayerNorm scale/shift from the (timbre, time) embedding."""

    def __init__(self):
        super().__init__()
        self.n1 = nn.LayerNorm(D_MODEL, elementwise_affine=False)
        self.n2 = nn.LayerNorm(D_MODEL, elementwise_affine=False)
        self.att = Attention()
        self.ff = nn.Sequential(nn.Linear(D_MODEL, D_FF), nn.SiLU(), nn.Linear(D_FF, D_MODEL))
        self.mod = nn.Linear(D_MODEL, 4 * D_MODEL)
        nn.init.zeros_(self.mod.weight)
        nn.init.zeros_(self.mod.bias)

    def forward(self, x, c):
        s1, b1, s2, b2 = self.mod(c).unsqueeze(1).chunk(4, -1)
        x = x + self.att(self.n1(x) * (1 + s1) + b1)
        return x + self.ff(self.n2(x) * (1 + s2) + b2)


class Denoiser(nn.Module):
    """The clean current chunk, predicted. Tokens: CONTEXT clean frames then CHUNK noisy ones.
    Per token: latents, context-valid flag, current flag, structure (time_cond) projection.
    Global: timbre (cond) + flow time embedding, applied through adaptive LayerNorm."""

    def __init__(self, time_cond_channels: int, midi: bool):
        super().__init__()
        self.midi = midi
        n_tc = 2 * time_cond_channels if midi else time_cond_channels
        self.inp = nn.Linear(LATENT + 2, D_MODEL)
        self.tc = nn.Sequential(nn.Linear(n_tc, D_MODEL), nn.SiLU(), nn.Linear(D_MODEL, D_MODEL))
        self.skip = nn.Linear(n_tc, LATENT)  # per-frame linear path: structure -> pitch, level
        self.pos = nn.Parameter(torch.randn(1, WINDOW, D_MODEL) * 0.02)
        self.cond = nn.Sequential(nn.Linear(ZT + 32, D_MODEL), nn.SiLU(),
                                  nn.Linear(D_MODEL, D_MODEL))
        self.blocks = nn.ModuleList([Block() for _ in range(N_LAYERS)])
        self.norm = nn.LayerNorm(D_MODEL)
        self.out = nn.Linear(D_MODEL, LATENT)
        self.context, self.chunk = CONTEXT, CHUNK
        self.register_buffer("freqs", torch.exp(torch.linspace(0.0, math.log(1000.0), 16)))

    def forward(self, x, t, ctx, ctx_valid, time_cond, cond):
        """x [B,8,CHUNK] noisy; t [B]; ctx [B,8,CONTEXT]; ctx_valid [B,1,CONTEXT];
        time_cond [B,S,WINDOW]; cond [B,ZT] -> predicted clean latents x1 [B,8,CHUNK]
        (the sampler turns it into the velocity (x1 - x) / (1 - t))."""
        b = x.shape[0]
        if self.midi:  # piano roll: velocities and note-on as separate features
            time_cond = torch.cat([time_cond, (time_cond > 0).float()], 1)
        tcf = time_cond.transpose(1, 2)
        ones = torch.ones(b, 1, self.chunk)
        flags = torch.cat([torch.cat([ctx_valid, torch.zeros_like(ctx_valid)], 1),
                           torch.cat([torch.zeros_like(ones), ones], 1)], -1)
        tok = torch.cat([torch.cat([ctx * ctx_valid, x], -1), flags], 1).transpose(1, 2)
        h = self.inp(tok) + self.tc(tcf) + self.pos
        tf = t.reshape(b, 1) * self.freqs.reshape(1, -1)
        c = self.cond(torch.cat([cond, torch.sin(tf), torch.cos(tf)], -1))
        for blk in self.blocks:
            h = blk(h, c)
        direct = tcf[:, self.context:]
        direct = torch.where(direct < -1.5, torch.zeros_like(direct), direct)  # dropped: none
        x1 = self.out(self.norm(h[:, self.context:])) + self.skip(direct)
        return x1.transpose(1, 2)


def piano_roll(notes, n: int):
    """notes [B, 2*N_POLY, T] (pitch, velocity pairs) -> [B, 128, T], velocity / 128 at each
    sounding voice's pitch (the loudest where voices share a pitch), as AFTER's MIDI export."""
    b, t = notes.shape[0], notes.shape[-1]
    rows = torch.arange(128).reshape(1, 128, 1)
    roll = torch.zeros(b, 128, t)
    for i in range(n):
        pitch = notes[:, 2 * i:2 * i + 1].round().clamp(0, 127).long()
        vel = notes[:, 2 * i + 1:2 * i + 2].clamp(0, 127) / 128.0
        roll = torch.maximum(roll, (rows == pitch).float() * vel)
    return roll


class Flow(nn.Module):
    """Everything trained: encoders + denoiser + the latent normalisation."""

    def __init__(self, midi: bool, z_mean, z_std):
        super().__init__()
        self.midi = midi
        self.structure = StructureEncoder()  # unused by the MIDI model (kept for one class)
        self.timbre = TimbreEncoder()
        self.denoiser = Denoiser(N_PITCH if midi else ZS, midi)
        w = torch.ones(LATENT)
        w[0] = PITCH_WEIGHT
        self.register_buffer("z_mean", z_mean.reshape(1, LATENT, 1).float())
        self.register_buffer("z_scale", (w / z_std).reshape(1, LATENT, 1).float())
        # The direct path starts as "pitch (and loudness) of the structure": the network
        # then learns what differs between instruments instead of the identity.
        with torch.no_grad():
            skip = self.denoiser.skip
            skip.weight.zero_()
            skip.bias.zero_()
            if midi:  # note-on rows -> that note's normalised pitch latent
                p = (torch.arange(N_PITCH).float() - 64.0) / 12.0
                skip.weight[0, N_PITCH:] = (p - self.z_mean[0, 0, 0]) * self.z_scale[0, 0, 0]
            else:     # structure channels 0, 1 are 0.2 * normalised pitch, loudness
                skip.weight[0, 0] = 5.0
                skip.weight[1, 1] = 5.0

    def norm(self, z):
        return (z - self.z_mean) * self.z_scale

    def denorm(self, z):
        return z / self.z_scale + self.z_mean


# ====================================================================== data + training

def load_data(midi: bool):
    files = sorted(glob.glob(os.path.join(DATA, "mono-*.npz")))
    if midi:
        files += sorted(glob.glob(os.path.join(DATA, "poly-*.npz")))
    if not files:
        sys.exit("train_after.py: no data in %s; run models/make_after_data.py first" % DATA)
    zs, rolls = [], []
    for f in files:
        d = np.load(f)
        z = d["z"][:N_INSTRUMENTS]  # files from an earlier run also hold an organ rendering
        n = z.shape[-1]
        roll = np.zeros((N_PITCH, n), np.float32)
        centres = (np.arange(n) + 0.5) * RATIO / SR
        for on, off, p, v in d["notes"]:
            on_f = centres >= on
            sel = on_f & (centres < off)
            roll[int(p), sel] = np.maximum(roll[int(p), sel], v / 128.0)
        zs.append(torch.from_numpy(z))
        rolls.append(torch.from_numpy(roll))
    return zs, rolls


class Batcher:
    def __init__(self, zs, rolls, flow, rng):
        self.zs, self.rolls, self.flow, self.rng = zs, rolls, flow, rng
        self.n_inst = zs[0].shape[0]

    def get(self, bsz: int):
        r = self.rng
        xs, tcs, tws, tvs = [], [], [], []
        for _ in range(bsz):
            f = int(r.integers(len(self.zs)))
            a, b = r.choice(self.n_inst, 2, replace=False)
            z = self.zs[f]
            o = int(r.integers(z.shape[-1] - WINDOW))
            if r.random() < 0.25:  # context in another timbre: the timbre input must win
                c = int(r.choice([i for i in range(self.n_inst) if i != b]))
                xs.append(torch.cat([z[c, :, o:o + CONTEXT], z[b, :, o + CONTEXT:o + WINDOW]], -1))
            else:
                xs.append(z[b, :, o:o + WINDOW])
            tcs.append(self.rolls[f][:, o:o + WINDOW] if self.flow.midi
                       else z[a, :, o:o + WINDOW])
            # timbre: instrument b, another phrase
            f2 = int(r.integers(len(self.zs)))
            while f2 == f:
                f2 = int(r.integers(len(self.zs)))
            z2 = self.zs[f2]
            o2 = int(r.integers(z2.shape[-1] - N_TIMBRE))
            tws.append(z2[b, :, o2:o2 + N_TIMBRE])
            valid = torch.ones(1, N_TIMBRE)
            if r.random() < 0.3:  # start-up: only the last few frames filled
                valid[:, :N_TIMBRE - int(r.integers(CHUNK, N_TIMBRE))] = 0
            tvs.append(valid)
        y = self.flow.norm(torch.stack(xs))
        tw = self.flow.norm(torch.stack(tws))
        tv = torch.stack(tvs)
        tc = torch.stack(tcs)
        if not self.flow.midi:
            tc = self.flow.norm(tc)
        return y, tc, tw * tv, tv


def training_loss(flow: Flow, batch, rng) -> torch.Tensor:
    y, tc_raw, tw, tv = batch
    bsz = y.shape[0]
    time_cond = tc_raw if flow.midi else flow.structure(tc_raw)
    cond = flow.timbre(tw, tv)
    ctx = y[..., :CONTEXT]
    x1 = y[..., CONTEXT:]
    # context: sometimes partly empty (after reset), always slightly noisy (own errors)
    empty = torch.from_numpy(rng.integers(1, CONTEXT + 1, bsz))
    empty = torch.where(torch.from_numpy(rng.random(bsz) < 0.3), empty, torch.zeros_like(empty))
    ctx_valid = (torch.arange(CONTEXT).reshape(1, 1, -1) >= empty.reshape(-1, 1, 1)).float()
    ctx = ctx + torch.randn_like(ctx) * torch.rand(bsz, 1, 1) * 0.3
    tc_valid = torch.cat([ctx_valid, torch.ones(bsz, 1, CHUNK)], -1)
    time_cond = time_cond * tc_valid
    # classifier-free guidance dropout, independently for structure and timbre
    drop_s = (torch.rand(bsz, 1, 1) < 0.2).float()
    drop_t = (torch.rand(bsz, 1) < 0.2).float()
    time_cond = time_cond * (1 - drop_s) + DROP * drop_s
    cond = cond * (1 - drop_t) + DROP * drop_t
    t = torch.rand(bsz)
    x0 = torch.randn_like(x1)
    xt = x0 + t.reshape(-1, 1, 1) * (x1 - x0)
    x1_hat = flow.denoiser(xt, t, ctx, ctx_valid, time_cond, cond)
    return F.mse_loss(x1_hat, x1)  # x1-prediction: the velocity loss weighted by (1 - t)^2


def latent_stats(zs):
    allz = torch.cat([z.permute(1, 0, 2).reshape(LATENT, -1) for z in zs], -1)
    return allz.mean(-1), allz.std(-1)


def train(kind: str, minutes: float):
    midi = kind == "midi"
    torch.manual_seed(1 if midi else 0)
    rng = np.random.default_rng(1 if midi else 0)
    zs, rolls = load_data(midi)
    mean, std = latent_stats(zs)
    flow = Flow(midi, mean, std)
    step = 0
    opt = torch.optim.AdamW(flow.parameters(), lr=LR, weight_decay=1e-4)
    ema = [p.detach().clone() for p in flow.parameters()]
    path = CKPT % kind
    t0, last_save, elapsed0 = time.time(), time.time(), 0.0
    if os.path.exists(path):  # resume
        ck = torch.load(path)
        flow.load_state_dict(ck["flow"])
        opt.load_state_dict(ck["opt"])
        ema = ck["ema"]
        step, elapsed0 = ck["step"], ck["elapsed"]
        print("resuming %s at step %d (%.1f min)" % (kind, step, elapsed0 / 60))
    budget = minutes * 60.0
    batcher = Batcher(zs, rolls, flow, rng)
    n_params = sum(p.numel() for p in flow.parameters())
    print("%s: %d files, %d parameters" % (kind, len(zs), n_params), flush=True)
    avg = None

    def save(elapsed):
        torch.save({"flow": flow.state_dict(), "opt": opt.state_dict(), "ema": ema,
                    "step": step, "elapsed": elapsed, "midi": midi}, path)

    while True:
        elapsed = elapsed0 + time.time() - t0
        if elapsed >= budget:
            break
        frac = elapsed / budget
        lr = LR * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = min(lr, LR * (step + 1) / 200)
        loss = training_loss(flow, batcher.get(64), rng)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 1.0)
        opt.step()
        decay = min(0.999, (1.0 + step) / (10.0 + step))  # EMA that forgets the init
        with torch.no_grad():
            for e, p in zip(ema, flow.parameters()):
                e.mul_(decay).add_(p.detach(), alpha=1.0 - decay)
        step += 1
        avg = loss.item() if avg is None else 0.99 * avg + 0.01 * loss.item()
        if step % 200 == 0:
            print("%s step %d  %.1f min  loss %.4f" % (kind, step, elapsed / 60, avg), flush=True)
        if time.time() - last_save > 120:
            save(elapsed)
            last_save = time.time()
    save(elapsed0 + time.time() - t0)
    print("%s: %d steps in %.1f min, loss %.4f" % (kind, step, (elapsed0 + time.time() - t0) / 60,
                                                  avg if avg is not None else float("nan")))


# ====================================================================== export (nn~ / AFTER)

def hash_normal(pos: torch.Tensor, n: int) -> torch.Tensor:
    """n standard normal values from a counter (integer hash + Box-Muller): the diffusion
    noise is a pure function of the stream position, so reset() makes the output repeat."""
    idx = (pos + torch.arange(n)) * 2
    m = 0xFFFFFFFF
    u: List[torch.Tensor] = []
    for k in range(2):
        h = (idx + k) & m
        h = ((h ^ (h >> 16)) * 0x45D9F3B) & m
        h = ((h ^ (h >> 16)) * 0x45D9F3B) & m
        h = h ^ (h >> 16)
        u.append((h.to(torch.float64) + 0.5) / 4294967296.0)
    r = torch.sqrt(-2.0 * torch.log(u[0])) * torch.cos(2.0 * math.pi * u[1])
    return r.to(torch.float32)


class AfterBase(nn.Module):
    """State and sampling shared by the audio and MIDI exports. Streaming state (all in
    buffers, per batch slot, zeroed by reset() and when the batch size changes):
    ctx/ctx_valid/ctx_cond (the last CONTEXT generated frames and their structure), the
    timbre history (last N_TIMBRE latent frames of timbre audio), the noise position."""

    def __init__(self, flow: Flow, ae, ae_timbre, time_cond_channels: int):
        super().__init__()
        self.sr = SR
        self.chunk_size = CHUNK
        self.context = CONTEXT
        self.n_timbre = N_TIMBRE
        self.zs_channels = ZS
        self.zt_channels = ZT
        self.ae_latents = LATENT
        self.drop_value = DROP
        self.midi = flow.midi
        self.timbre_encoder = flow.timbre
        self.net = flow.denoiser
        self.ae = ae              # structure encode + decode (separate encoder/decoder caches)
        self.ae_timbre = ae_timbre  # own copy: its encoder cache follows the timbre audio
        self.register_buffer("z_mean", flow.z_mean.clone())
        self.register_buffer("z_scale", flow.z_scale.clone())
        # attributes as nn_tilde registers them: a tuple value + NAME_params type hash
        self.nb_steps: Tuple[int] = (1,)
        self.guidance_timbre: Tuple[float] = (1.0,)
        self.guidance_structure: Tuple[float] = (1.0,)
        self.register_buffer("nb_steps_params", torch.tensor([1.0]))
        self.register_buffer("guidance_timbre_params", torch.tensor([2.0]))
        self.register_buffer("guidance_structure_params", torch.tensor([2.0]))
        self.register_buffer("ctx", torch.zeros(1, LATENT, CONTEXT))
        self.register_buffer("ctx_valid", torch.zeros(1, 1, CONTEXT))
        self.register_buffer("ctx_cond", torch.zeros(1, time_cond_channels, CONTEXT))
        self.register_buffer("timbre_hist", torch.zeros(1, LATENT, N_TIMBRE))
        self.register_buffer("timbre_valid", torch.zeros(1, 1, N_TIMBRE))
        self.register_buffer("noise_pos", torch.zeros(1, dtype=torch.long))

    @torch.jit.export
    def get_nb_steps(self) -> int:
        return self.nb_steps[0]

    @torch.jit.export
    def set_nb_steps(self, nb_steps: int) -> int:
        self.nb_steps = (min(max(nb_steps, 1), 16),)
        return 0

    @torch.jit.export
    def get_guidance_timbre(self) -> float:
        return self.guidance_timbre[0]

    @torch.jit.export
    def set_guidance_timbre(self, guidance_timbre: float) -> int:
        self.guidance_timbre = (guidance_timbre,)
        return 0

    @torch.jit.export
    def get_guidance_structure(self) -> float:
        return self.guidance_structure[0]

    @torch.jit.export
    def set_guidance_structure(self, guidance_structure: float) -> int:
        self.guidance_structure = (guidance_structure,)
        return 0

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["nb_steps", "guidance_timbre", "guidance_structure"]

    @torch.jit.export
    def reset(self) -> int:
        self.ctx.zero_()
        self.ctx_valid.zero_()
        self.ctx_cond.zero_()
        self.timbre_hist.zero_()
        self.timbre_valid.zero_()
        self.noise_pos.zero_()
        self.ae.reset()
        self.ae_timbre.reset()
        return 0

    @torch.jit.export
    def timbre(self, x: torch.Tensor) -> torch.Tensor:
        """Audio (any multiple of RATIO samples) -> the timbre of the last N_TIMBRE frames
        heard, repeated over exactly chunk_size frames (as AFTER)."""
        z = (self.ae_timbre.encode(x) - self.z_mean) * self.z_scale
        b, n = z.shape[0], z.shape[-1]
        if self.timbre_hist.shape[0] != b:
            self.timbre_hist = torch.zeros(b, self.ae_latents, self.n_timbre)
            self.timbre_valid = torch.zeros(b, 1, self.n_timbre)
        self.timbre_hist = torch.cat([self.timbre_hist, z], -1)[..., n:]
        self.timbre_valid = torch.cat([self.timbre_valid, torch.ones(b, 1, n)], -1)[..., n:]
        zt = self.timbre_encoder(self.timbre_hist, self.timbre_valid)
        return zt.unsqueeze(-1).repeat(1, 1, self.chunk_size)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.ae.decode(z)

    def guided(self, x, t: float, ctx, ctx_valid, time_cond, cond):
        gs = self.guidance_structure[0]
        gt = self.guidance_timbre[0]
        b = x.shape[0]
        tt = torch.full([b], t)
        # AFTER's combination of velocities; its weights sum to 1, so it applies to the x1
        # predictions unchanged. With both guidances 1 it reduces to the full prediction.
        if gs == 1.0 and gt == 1.0:
            return self.net(x, tt, ctx, ctx_valid, time_cond, cond)
        drop_tc = torch.full_like(time_cond, self.drop_value)
        drop_c = torch.full_like(cond, self.drop_value)
        if self.midi:  # AFTER MIDI: full / timbre only / none
            full_cond = torch.cat([cond, cond, drop_c])
            full_tc = torch.cat([time_cond, drop_tc, drop_tc])
        else:          # AFTER audio: full / structure only / none
            full_cond = torch.cat([cond, drop_c, drop_c])
            full_tc = torch.cat([time_cond, time_cond, drop_tc])
        dx = self.net(x.repeat(3, 1, 1), tt.repeat(3), ctx.repeat(3, 1, 1),
                      ctx_valid.repeat(3, 1, 1), full_tc, full_cond)
        dx_full, dx_half, dx_none = dx[:b], dx[b:2 * b], dx[2 * b:]
        total = 0.5 * (gs + gt)
        factor = gs / max(gt, 0.1) if self.midi else gt / max(gs, 0.1)
        return dx_none + total * (dx_half + factor * (dx_full - dx_half) - dx_none)

    def diffuse_cond(self, time_cond: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """time_cond [B, S, T] (T a multiple of chunk_size), cond [B, ZT] -> latents [B, 8, T],
        one chunk at a time, each conditioned on the previous CONTEXT generated frames."""
        b, s, t_total = time_cond.shape
        if t_total % self.chunk_size != 0:
            raise ValueError("after: diffuse needs a multiple of chunk_size frames")
        if self.ctx.shape[0] != b:
            self.ctx = torch.zeros(b, self.ae_latents, self.context)
            self.ctx_valid = torch.zeros(b, 1, self.context)
            self.ctx_cond = torch.zeros(b, s, self.context)
        steps = self.nb_steps[0]
        outs: List[torch.Tensor] = []
        for c0 in range(0, t_total, self.chunk_size):
            tc = time_cond[..., c0:c0 + self.chunk_size]
            n = b * self.ae_latents * self.chunk_size
            x = hash_normal(self.noise_pos, n).reshape(b, self.ae_latents, self.chunk_size)
            self.noise_pos += n
            valid = torch.cat([self.ctx_valid, torch.ones(b, 1, self.chunk_size)], -1)
            window = torch.cat([self.ctx_cond, tc], -1) * valid
            for i in range(steps):  # Euler on the velocity (x1 - x) / (1 - t), t = i / steps
                x1 = self.guided(x, i / steps, self.ctx, self.ctx_valid, window, cond)
                x = x + (x1 - x) / (steps - i)
            self.ctx = torch.cat([self.ctx, x], -1)[..., self.chunk_size:]
            self.ctx_valid = valid[..., self.chunk_size:]
            self.ctx_cond = torch.cat([self.ctx_cond, tc], -1)[..., self.chunk_size:]
            outs.append(x / self.z_scale + self.z_mean)
        return torch.cat(outs, -1)


class AfterAudio(AfterBase):
    def __init__(self, flow: Flow, ae, ae_timbre):
        super().__init__(flow, ae, ae_timbre, ZS)
        self.structure_encoder = flow.structure
        self.register_buffer("forward_params", torch.tensor([2, 1, 1, 1]))
        self.register_buffer("structure_params", torch.tensor([1, 1, ZS, RATIO]))
        self.register_buffer("timbre_params", torch.tensor([1, 1, ZT, RATIO]))
        self.register_buffer("diffuse_params", torch.tensor([ZS + ZT, RATIO, LATENT, RATIO]))
        self.register_buffer("generate_params", torch.tensor([ZS + ZT, RATIO, 1, 1]))
        self.register_buffer("decode_params", torch.tensor([LATENT, RATIO, 1, 1]))

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["forward", "structure", "timbre", "diffuse", "generate", "decode"]

    @torch.jit.export
    def structure(self, x: torch.Tensor) -> torch.Tensor:
        z = (self.ae.encode(x) - self.z_mean) * self.z_scale
        return self.structure_encoder(z)

    @torch.jit.export
    def diffuse(self, x: torch.Tensor) -> torch.Tensor:
        """structure channels then timbre channels; the timbre is their mean over time."""
        return self.diffuse_cond(x[:, :self.zs_channels], x[:, self.zs_channels:].mean(-1))

    @torch.jit.export
    def generate(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.diffuse(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 2, T]: structure audio, timbre audio (T a multiple of chunk_size * RATIO)."""
        s = self.structure(x[:, :1])
        zt = self.timbre(x[:, 1:2]).mean(-1)
        return self.decode(self.diffuse_cond(s, zt))


class AfterMidi(AfterBase):
    def __init__(self, flow: Flow, ae, ae_timbre):
        super().__init__(flow, ae, ae_timbre, N_PITCH)
        self.n_poly = N_POLY
        self.register_buffer("timbre_params", torch.tensor([1, 1, ZT, RATIO]))
        n_in = 2 * N_POLY + ZT
        self.register_buffer("diffuse_params", torch.tensor([n_in, RATIO, LATENT, RATIO]))
        self.register_buffer("generate_params", torch.tensor([n_in, RATIO, 1, 1]))
        self.register_buffer("decode_params", torch.tensor([LATENT, RATIO, 1, 1]))

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["timbre", "diffuse", "generate", "decode"]

    @torch.jit.export
    def diffuse(self, x: torch.Tensor) -> torch.Tensor:
        """pitch0, vel0, ..., pitch3, vel3 (MIDI numbers; velocity 0 = voice off), then the
        timbre channels."""
        roll = piano_roll(x[:, :2 * self.n_poly], self.n_poly)
        return self.diffuse_cond(roll, x[:, 2 * self.n_poly:].mean(-1))

    @torch.jit.export
    def generate(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.diffuse(x))


def export(flow: Flow, path: str):
    ae, ae_timbre = torch.jit.load(RAVE).eval(), torch.jit.load(RAVE).eval()
    # the two copies share their weights (saved once); only their streaming caches differ
    for p_ae, p_timbre in zip(ae.parameters(), ae_timbre.parameters()):
        p_timbre.data = p_ae.data
    module = (AfterMidi if flow.midi else AfterAudio)(flow, ae, ae_timbre).eval()
    scripted = torch.jit.script(module)
    scripted.save(path)
    return scripted


def load_flow(kind: str) -> Tuple[Flow, dict]:
    ck = torch.load(CKPT % kind)
    sd = ck["flow"]
    flow = Flow(ck["midi"], sd["z_mean"].flatten(), torch.ones(LATENT))
    flow.load_state_dict(sd)
    with torch.no_grad():  # export the EMA weights
        for p, e in zip(flow.parameters(), ck["ema"]):
            p.copy_(e)
    return flow.eval(), ck


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="both", choices=["audio", "midi", "both"])
    ap.add_argument("--minutes", type=float, default=20.0)
    ap.add_argument("--export-only", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    # 1 thread: on the shared 2-core machine a 2-thread step took 2.3 s against 0.17 s for
    # one thread (OpenMP workers wait on a core that another process holds)
    torch.set_num_threads(args.threads)
    kinds = ["audio", "midi"] if args.model == "both" else [args.model]
    for kind in kinds:
        if not args.export_only:
            train(kind, args.minutes)
        flow, ck = load_flow(kind)
        out = os.path.join(HERE, "after-gm-midi.ts" if kind == "midi" else "after-gm.ts")
        export(flow, out)
        print("%s: %d steps, %.1f min -> %s" % (kind, ck["step"], ck["elapsed"] / 60, out))


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
