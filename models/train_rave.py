#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1 + numpy).
#
# Defines, trains and exports `rave-gm.ts`: a small streaming autoencoder with the
# RAVE v2 / nn~ TorchScript interface (encode / decode / forward + *_params buffers,
# get_methods, get_attributes, int attribute `sr`, plus reset()).
#
#   encoder: causal STFT (n_fft 2048, hop 256, left context cached) -> log magnitude
#            -> causal dilated convs -> stride-4 conv (one frame per 1024 samples)
#            -> latent 0 = pitch (supervised from the MIDI, octave per unit)
#               latent 1 = frame loudness ((dB + 35) / 15, computed, not learned)
#               latents 2..7 = learned timbre code (PCA-whitened after training)
#   decoder: causal convs on latents -> x4 transposed conv (kernel == stride) -> causal
#            convs at hop 256 -> harmonic amplitudes (64 partials of the latent-0 pitch)
#            + 16 noise band gains -> additive synth (phase carried in a float64 buffer)
#            + deterministic hashed white noise through a fixed FIR band bank.
# Every convolution with left context keeps it in a buffer, so consecutive blocks give the
# same result as one call on the whole signal.
#
# usage: /usr/bin/python3 models/train_rave.py [--minutes 30] [--export-only]
#   data: models/.data/train (make_data.py); writes models/rave-gm.ts and
#   models/.data/rave-gm.pt (full checkpoint, not committed).

import glob
import json
import math
import os
import sys
import time
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SR = 44100
RATIO = 1024          # audio samples per latent frame
HOP = 256             # control (sub-frame) hop inside the model
SUB = RATIO // HOP    # sub-frames per latent frame
N_FFT = 2048
LATENT = 8
N_TIMBRE = LATENT - 2                   # latents 2..7 (0 = pitch, 1 = loudness)
LOUD_OFFSET, LOUD_SCALE = 35.0, 15.0    # latent 1 = (dB + 35) / 15
N_HARM = 64
N_NOISE = 16
NOISE_TAPS = 255
PITCH_LO, PITCH_HI = 36, 100            # pitch classes (MIDI notes) of the encoder head
N_PITCH = PITCH_HI - PITCH_LO + 1
PITCH_CENTRE, PITCH_SCALE = 64.0, 12.0  # latent 0 = (midi - 64) / 12

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, ".data")


# ====================================================================== building blocks

def conv1d(x, w, b: Optional[torch.Tensor], dilation: int, fast: bool):
    """fast=True (exported model): always oneDNN. aten's conv1d picks oneDNN or an im2col
    + BLAS path from the input size and thread count; the two differ by ~1e-6 (which would
    break block invariance) and the BLAS path is slow with Debian's reference BLAS."""
    if fast:
        return torch.mkldnn_convolution(x.contiguous(), w, b, [0], [1], [dilation], 1)
    return F.conv1d(x, w, b, dilation=dilation)


class CausalConv(nn.Module):
    """Causal Conv1d. streaming=False: zero left padding (training on independent crops).
    streaming=True: the last (k-1)*dilation input frames are kept in `cache` (a batch size
    change reallocates, i.e. zeroes, the cache)."""

    def __init__(self, cin: int, cout: int, k: int, dilation: int = 1, bias: bool = True):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, dilation=dilation, bias=bias)
        self.dilation = dilation
        self.pad = (k - 1) * dilation
        self.streaming = False
        self.register_buffer("cache", torch.zeros(1, cin, self.pad))

    def forward(self, x):
        if self.pad > 0:
            if self.streaming:
                if self.cache.shape[0] != x.shape[0]:
                    self.cache = torch.zeros(x.shape[0], x.shape[1], self.pad,
                                             dtype=x.dtype)
                x = torch.cat([self.cache, x], -1)
                self.cache = x[:, :, x.shape[-1] - self.pad:].clone()
            else:
                x = F.pad(x, (self.pad, 0))
        return conv1d(x, self.conv.weight, self.conv.bias, self.dilation, self.streaming)

    @torch.jit.export
    def reset_cache(self) -> int:
        self.cache.zero_()
        return 0


class Down(nn.Module):
    """Conv1d with kernel == stride (no overlap, so no cache), computed as a 1x1 conv."""

    def __init__(self, cin: int, cout: int, factor: int):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, factor, stride=factor)
        self.factor, self.cin, self.cout = factor, cin, cout
        self.streaming = False

    def forward(self, x):
        B, L = x.shape[0], x.shape[-1] // self.factor
        x = x.reshape(B, self.cin, L, self.factor).permute(0, 1, 3, 2)
        x = x.reshape(B, self.cin * self.factor, L)
        w = self.conv.weight.reshape(self.cout, self.cin * self.factor, 1)
        return conv1d(x, w, self.conv.bias, 1, self.streaming)


class Up(nn.Module):
    """ConvTranspose1d with kernel == stride (no overlap, so no cache), as a 1x1 conv."""

    def __init__(self, cin: int, cout: int, factor: int):
        super().__init__()
        self.conv = nn.ConvTranspose1d(cin, cout, factor, stride=factor)
        self.factor, self.cin, self.cout = factor, cin, cout
        self.streaming = False

    def forward(self, x):
        B, L = x.shape[0], x.shape[-1]
        w = self.conv.weight.permute(1, 2, 0).reshape(self.cout * self.factor, self.cin, 1)
        y = conv1d(x, w, None, 1, self.streaming)
        y = y.reshape(B, self.cout, self.factor, L).permute(0, 1, 3, 2)
        y = y.reshape(B, self.cout, L * self.factor)
        b = self.conv.bias
        if b is not None:
            y = y + b.reshape(1, -1, 1)
        return y


class ResBlock(nn.Module):
    """x + conv1x1(lrelu(causal_conv_k3_dilated(lrelu(x))))"""

    def __init__(self, c: int, dilation: int):
        super().__init__()
        self.conv = CausalConv(c, c, 3, dilation)
        self.mix = CausalConv(c, c, 1)

    def forward(self, x):
        return x + self.mix(F.leaky_relu(self.conv(F.leaky_relu(x, 0.2)), 0.2))

    @torch.jit.export
    def reset_cache(self) -> int:
        return self.conv.reset_cache()


def exp_sigmoid(x):
    """DDSP's positive amplitude nonlinearity."""
    return 2.0 * torch.sigmoid(x) ** math.log(10.0) + 1e-7


def hash_noise(pos: torch.Tensor) -> torch.Tensor:
    """Deterministic white noise in [-1, 1) from int64 sample positions (32-bit integer
    hash; every product stays below 2**63)."""
    m = 0xFFFFFFFF
    h = (pos * 747796405 + 2891336453) & m
    h = ((h >> 16) ^ h) & m
    h = (h * 0x45D9F3B) & m
    h = ((h >> 16) ^ h) & m
    h = (h * 0x45D9F3B) & m
    h = (h >> 16) ^ h
    return (h & 0xFFFFFF).to(torch.float32) / 8388608.0 - 1.0


def noise_filter_bank() -> torch.Tensor:
    """Fixed linear-phase FIR band-pass bank [N_NOISE, 1, NOISE_TAPS] (windowed sinc)."""
    edges = [0, 300, 500, 750, 1000, 1400, 1900, 2500, 3300, 4300, 5600, 7200, 9200,
             11700, 14800, 18500, SR / 2]
    n = np.arange(NOISE_TAPS) - (NOISE_TAPS - 1) / 2
    win = np.blackman(NOISE_TAPS)

    def lowpass(fc):
        return 2 * fc / SR * np.sinc(2 * fc / SR * n)

    bank = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        h = (lowpass(hi) if hi < SR / 2 else (n == 0).astype(float)) - lowpass(lo)
        bank.append(h * win)
    return torch.tensor(np.array(bank), dtype=torch.float32).unsqueeze(1)


# ====================================================================== encoder / decoder

class Encoder(nn.Module):
    def __init__(self, c: int = 128):
        super().__init__()
        self.streaming = False
        self.n_fft, self.hop, self.n_pitch, self.pitch_lo = N_FFT, HOP, N_PITCH, PITCH_LO
        self.sub, self.loud_offset, self.loud_scale = SUB, LOUD_OFFSET, LOUD_SCALE
        self.register_buffer("window", torch.hann_window(N_FFT))
        self.register_buffer("xcache", torch.zeros(1, N_FFT - HOP))
        self.inp = CausalConv(N_FFT // 2 + 1, c, 1)
        self.blocks1 = nn.ModuleList([ResBlock(c, d) for d in (1, 2, 4, 8)])
        self.down = Down(c, c, SUB)
        self.blocks2 = nn.ModuleList([ResBlock(c, d) for d in (1, 2)])
        self.pitch_head = CausalConv(c, N_PITCH, 1)
        self.timbre_head = CausalConv(c, N_TIMBRE, 1)

    def trunk(self, x) -> Tuple[torch.Tensor, torch.Tensor]:
        """x [B, 1, T] (T multiple of RATIO) -> hidden [B, C, T / RATIO] and the frame
        loudness latent [B, 1, T / RATIO] = (dB of the mean STFT power + 35) / 15"""
        x = x.reshape(x.shape[0], x.shape[-1])
        ctx = self.n_fft - self.hop
        if self.streaming:
            if self.xcache.shape[0] != x.shape[0]:
                self.xcache = torch.zeros(x.shape[0], ctx, dtype=x.dtype)
            x = torch.cat([self.xcache, x], -1)
            self.xcache = x[:, x.shape[-1] - ctx:].clone()
        else:
            x = F.pad(x, (ctx, 0))
        # (return_complex=True: torch 2.x deprecates real output; view_as_real keeps the
        # same re^2 + im^2 as before, bit for bit)
        s = torch.view_as_real(torch.stft(x, self.n_fft, self.hop, window=self.window,
                                          center=False, return_complex=True))  # [B, bins, frames, 2]
        p = s.pow(2).sum(-1) * (4.0 / (self.n_fft * self.n_fft))  # full-scale sine -> ~1
        pw = p.sum(1)
        pw = pw.reshape(pw.shape[0], pw.shape[1] // self.sub, self.sub).mean(-1)
        loud = ((10.0 * torch.log10(pw + 1e-7) + self.loud_offset) / self.loud_scale).unsqueeze(1)
        h = self.inp((10.0 * torch.log10(p + 1e-7) + 70.0) / 20.0)   # dB: floor -70 -> 0, 0 -> 3.5
        for b in self.blocks1:
            h = b(h)
        h = self.down(F.leaky_relu(h, 0.2))
        for b in self.blocks2:
            h = b(h)
        return F.leaky_relu(h, 0.2), loud

    def pitch_from_logits(self, logits):
        """MIDI pitch per frame: softmax-weighted mean over argmax +- 1 class. [B, F]"""
        p = torch.softmax(logits, 1)
        i = torch.argmax(p, 1, keepdim=True)
        idx = torch.cat([i - 1, i, i + 1], 1).clamp(0, self.n_pitch - 1)
        w = torch.gather(p, 1, idx)
        return (w * idx.to(p.dtype)).sum(1) / w.sum(1) + self.pitch_lo

    @torch.jit.export
    def reset_cache(self) -> int:
        self.xcache.zero_()
        for b in self.blocks1:
            b.reset_cache()
        for b in self.blocks2:
            b.reset_cache()
        return 0


class Decoder(nn.Module):
    def __init__(self, c1: int = 192, c2: int = 128):
        super().__init__()
        self.streaming = False
        self.sr, self.hop, self.sub, self.n_harm = SR, HOP, SUB, N_HARM
        self.inp = CausalConv(LATENT, c1, 3)
        self.blocks1 = nn.ModuleList([ResBlock(c1, d) for d in (1, 2)])
        self.up = Up(c1, c2, SUB)
        self.blocks2 = nn.ModuleList([ResBlock(c2, d) for d in (1, 2, 4)])
        self.head = CausalConv(c2, 1 + N_HARM + N_NOISE, 1)
        with torch.no_grad():
            self.head.conv.bias[0] = -2.0
            self.head.conv.bias[1 + N_HARM:] = -4.0
        self.noise = CausalConv(1, N_NOISE, NOISE_TAPS, bias=False)
        self.noise.conv.weight.data.copy_(noise_filter_bank())
        self.noise.conv.weight.requires_grad_(False)
        self.register_buffer("harmonics", torch.arange(1, N_HARM + 1, dtype=torch.float64)
                             .reshape(1, 1, N_HARM))
        self.register_buffer("ramp", (torch.arange(HOP, dtype=torch.float32) + 1) / HOP)
        # streaming state of the synthesiser
        self.register_buffer("ctrl_cache", torch.zeros(1, 1 + N_HARM + N_NOISE, 1))
        self.register_buffer("f0_cache", torch.zeros(1, 1, 1, dtype=torch.float64))
        self.register_buffer("phase", torch.zeros(1, 1, 1, dtype=torch.float64))
        self.register_buffer("noise_pos", torch.zeros(1, dtype=torch.long))
        self.primed = False   # streaming: has a previous block been synthesised?

    def controls(self, z):
        """z [B, LATENT, F] (raw units) -> sub-frame controls [B, 1+N_HARM+N_NOISE, F*SUB]"""
        h = self.inp(z)
        for b in self.blocks1:
            h = b(h)
        h = self.up(F.leaky_relu(h, 0.2))
        for b in self.blocks2:
            h = b(h)
        return self.head(F.leaky_relu(h, 0.2))

    def pair(self, c, prev):
        """Per sub-frame (start, end) values, end = this sub-frame's control, start = the
        previous one's. c [B, M, S] -> [B, M, S] previous values."""
        return torch.cat([prev, c[:, :, :-1]], -1)

    def ramp_mix(self, basis, start, end):
        """sum_m basis[.., m] * (start_m + (end_m - start_m) * ramp) for each sub-frame.
        basis [B*S, HOP, M]; start, end [B, M, S] -> [B, S*HOP].
        Streaming: elementwise (faster than bmm on small blocks with a reference BLAS);
        training: bmm (faster on big batches). Same maths."""
        B, M, S = start.shape
        ramp = self.ramp.to(basis.dtype).reshape(1, -1, 1)
        if self.streaming:
            a0 = start.permute(0, 2, 1).reshape(B * S, 1, M)
            a1 = end.permute(0, 2, 1).reshape(B * S, 1, M)
            y = (basis * (a0 + (a1 - a0) * ramp)).sum(-1)
        else:
            coef = torch.stack([start, end], -1).permute(0, 2, 1, 3).reshape(B * S, M, 2)
            y2 = torch.bmm(basis, coef)
            y = (y2[:, :, 0:1] * (1.0 - ramp) + y2[:, :, 1:2] * ramp).squeeze(-1)
        return y.reshape(B, S * self.hop)

    def harm_amps(self, c, f0max):
        """Partial amplitudes [B, N_HARM, S]: total amplitude x distribution normalised
        over the partials that stay below 20 kHz at the sub-frame's highest f0."""
        keep = (self.harmonics.reshape(1, -1, 1) * f0max < 20000.0).to(c.dtype)
        dist = exp_sigmoid(c[:, 1:1 + self.n_harm]) * keep
        dist = dist / (dist.sum(1, keepdim=True) + 1e-7)
        return exp_sigmoid(c[:, :1]) * dist

    def synth(self, ctrl, midi, noise_bands: torch.Tensor, train_phase: bool):
        """ctrl [B, M, S] sub-frame controls, midi [B, 1, F] pitch per frame (float64),
        noise_bands [B, T, N_NOISE] band-limited noise (training) or empty (made here).
        Controls ramp linearly from the previous sub-frame's value over each hop."""
        B, S = ctrl.shape[0], ctrl.shape[-1]
        T = S * self.hop
        if self.streaming and self.ctrl_cache.shape[0] != B:
            self.ctrl_cache = torch.zeros(B, ctrl.shape[1], 1)
            self.f0_cache = torch.zeros(B, 1, 1, dtype=torch.float64)
            self.phase = torch.zeros(B, 1, 1, dtype=torch.float64)
            self.primed = False
        # pitch path in float64 so the carried phase is identical for any block split
        f0 = 440.0 * torch.pow(2.0, (midi - 69.0) / 12.0)
        f0 = f0.repeat_interleave(self.sub, -1)                        # [B, 1, S]
        if self.streaming and self.primed:
            f0_prev = self.pair(f0, self.f0_cache)
            ctrl_prev = self.pair(ctrl, self.ctrl_cache)
        else:   # first block (or training crop): the first sub-frame starts flat
            f0_prev = self.pair(f0, f0[:, :, :1])
            ctrl_prev = self.pair(ctrl, ctrl[:, :, :1])
        ramp = self.ramp.to(torch.float64)
        f0a = f0_prev.unsqueeze(-1) + (f0 - f0_prev).unsqueeze(-1) * ramp  # [B,1,S,HOP]
        ph = torch.cumsum(f0a.reshape(B, T) * (2.0 * math.pi / self.sr), -1)
        if self.streaming:
            ph = ph + self.phase.reshape(B, 1)
            self.phase = torch.fmod(ph[:, T - 1:], 2.0 * math.pi).reshape(B, 1, 1)
            self.f0_cache = f0[:, :, S - 1:].clone()
            self.ctrl_cache = ctrl[:, :, S - 1:].clone()
            self.primed = True
        ph = torch.fmod(ph, 2.0 * math.pi).reshape(B * S, self.hop, 1)  # wrapped, float64
        if train_phase:   # training: float32 partials (cheaper)
            sines = torch.sin(self.harmonics.to(torch.float32) * ph.to(torch.float32))
        else:             # sin of large arguments is slow: keep k * phase below 2*pi*K
            sines = torch.sin(self.harmonics * ph).to(torch.float32)   # [B*S, HOP, K]
        f0max = torch.maximum(f0, f0_prev).to(ctrl.dtype)
        harm = self.ramp_mix(sines, self.harm_amps(ctrl_prev, f0max),
                             self.harm_amps(ctrl, f0max))
        if noise_bands.numel() == 0:
            pos = torch.arange(T, dtype=torch.long) + self.noise_pos
            self.noise_pos += T
            white = hash_noise(pos).reshape(1, 1, T).expand(B, 1, T).contiguous()
            noise_bands = self.noise(white).transpose(1, 2)
        noise = self.ramp_mix(noise_bands.reshape(B * S, self.hop, -1),
                              exp_sigmoid(ctrl_prev[:, 1 + self.n_harm:]),
                              exp_sigmoid(ctrl[:, 1 + self.n_harm:]))
        return (harm + noise).unsqueeze(1)

    @torch.jit.export
    def reset_cache(self) -> int:
        self.inp.reset_cache()
        for b in self.blocks1:
            b.reset_cache()
        for b in self.blocks2:
            b.reset_cache()
        self.noise.reset_cache()
        self.ctrl_cache.zero_()
        self.f0_cache.zero_()
        self.phase.zero_()
        self.noise_pos.zero_()
        self.primed = False
        return 0


def set_streaming(module: nn.Module, on: bool):
    for m in module.modules():
        if hasattr(m, "streaming"):
            m.streaming = on


# ====================================================================== exported wrapper

class RaveGM(nn.Module):
    """nn~ / RAVE v2 style scripted model. latent 0 = (pitch - 64) / 12, latent 1 =
    (loudness dB + 35) / 15, latents 2..7 = PCA-rotated, unit-variance timbre coordinates."""

    def __init__(self, enc: Encoder, dec: Decoder, mu, w, w_inv):
        super().__init__()
        self.sr = SR
        self.n_timbre = N_TIMBRE
        self.pitch_centre, self.pitch_scale = PITCH_CENTRE, PITCH_SCALE
        self.encoder = enc
        self.decoder = dec
        self.register_buffer("latent_mean", mu.reshape(1, N_TIMBRE, 1).float())
        self.register_buffer("latent_w", w.reshape(N_TIMBRE, N_TIMBRE, 1).float())
        self.register_buffer("latent_w_inv", w_inv.reshape(N_TIMBRE, N_TIMBRE, 1).float())
        self.register_buffer("encode_params", torch.tensor([1, 1, LATENT, RATIO]))
        self.register_buffer("decode_params", torch.tensor([LATENT, RATIO, 1, 1]))
        self.register_buffer("forward_params", torch.tensor([1, 1, 1, 1]))

    @torch.jit.export
    def encode(self, x):
        h, loud = self.encoder.trunk(x)
        midi = self.encoder.pitch_from_logits(self.encoder.pitch_head(h))
        t = self.encoder.timbre_head(h)
        t = F.conv1d(t - self.latent_mean, self.latent_w)
        return torch.cat([((midi - self.pitch_centre) / self.pitch_scale).unsqueeze(1), loud, t], 1)

    @torch.jit.export
    def decode(self, z):
        midi = z[:, :1].to(torch.float64) * self.pitch_scale + self.pitch_centre
        t = F.conv1d(z[:, 2:], self.latent_w_inv) + self.latent_mean
        ctrl = self.decoder.controls(torch.cat([z[:, :2], t], 1))
        return self.decoder.synth(ctrl, midi, torch.zeros(0), False)

    @torch.jit.export
    def forward(self, x):
        return self.decode(self.encode(x))

    @torch.jit.export
    def reset(self) -> int:
        self.encoder.reset_cache()
        self.decoder.reset_cache()
        return 0

    @torch.jit.export
    def get_methods(self) -> List[str]:
        return ["encode", "decode", "forward"]

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return []


# ====================================================================== training

def mr_stft_loss(y, x, sizes=(2048, 1024, 512, 256, 128, 64), eps=1e-4):
    """Mean over FFT sizes of spectral convergence + mean |log(|Y|+eps) - log(|X|+eps)|,
    hann window, hop n/4, magnitudes scaled so a full-scale sine peaks near 1."""
    y, x = y.reshape(-1, y.shape[-1]), x.reshape(-1, x.shape[-1])
    total = 0.0
    for n in sizes:
        w = torch.hann_window(n)
        Y = torch.stft(y, n, n // 4, window=w, center=False, return_complex=True).abs() * (2.0 / n)
        X = torch.stft(x, n, n // 4, window=w, center=False, return_complex=True).abs() * (2.0 / n)
        sc = torch.norm(X - Y) / (torch.norm(X) + 1e-9)
        lm = (torch.log(X + eps) - torch.log(Y + eps)).abs().mean()
        total = total + sc + lm
    return total / len(sizes)


def read_wav(path):
    import wave
    with wave.open(path, "rb") as w:
        assert w.getframerate() == SR and w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def frame_labels(notes, n_frames):
    """Per latent frame: MIDI pitch at the frame centre (held after note-off until the next
    note) and whether a note has started yet."""
    centres = (np.arange(n_frames) + 0.5) * RATIO / SR
    pitch = np.zeros(n_frames, np.float32)
    known = np.zeros(n_frames, bool)
    if notes:
        pitch[:] = notes[0][2]          # before the first note: its pitch (frames masked)
    for on, off, p, v in notes:
        sel = centres >= on
        pitch[sel] = p
        known[sel] = True
    return pitch, known


def load_dataset():
    xs, ps, ms = [], [], []
    for wav in sorted(glob.glob(os.path.join(DATA, "train", "*.wav"))):
        x = read_wav(wav)
        n = len(x) // RATIO
        x = x[: n * RATIO]
        with open(wav[:-4] + ".json") as f:
            notes = json.load(f)["notes"]
        pitch, known = frame_labels(notes, n)
        rms = np.sqrt((x.reshape(n, RATIO) ** 2).mean(1))
        xs.append(x)
        ps.append(pitch)
        ms.append(known & (rms > 1e-3))
    return xs, ps, ms


def batch(xs, ps, ms, rng, bsz, nfr):
    X = np.zeros((bsz, 1, nfr * RATIO), np.float32)
    P = np.zeros((bsz, nfr), np.float32)
    M = np.zeros((bsz, nfr), bool)
    for b in range(bsz):
        i = rng.integers(len(xs))
        f = rng.integers(len(ps[i]) - nfr)
        X[b, 0] = xs[i][f * RATIO:(f + nfr) * RATIO] * rng.uniform(0.4, 1.3)
        P[b], M[b] = ps[i][f:f + nfr], ms[i][f:f + nfr]
    return torch.from_numpy(X), torch.from_numpy(P), torch.from_numpy(M)


def noise_table(dec, seconds=8):
    """Band-limited noise bank used during training (same filters as the exported model)."""
    with torch.no_grad():
        pos = torch.arange(seconds * SR, dtype=torch.long)
        bands = dec.noise.conv(F.pad(hash_noise(pos).reshape(1, 1, -1), (NOISE_TAPS - 1, 0)))
        return bands[0].T.contiguous()                               # [T, N_NOISE]


def train(minutes):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    xs, ps, ms = load_dataset()
    print("data: %d files, %.1f min" % (len(xs), sum(len(x) for x in xs) / SR / 60), flush=True)
    enc, dec = Encoder(), Decoder()
    nparams = sum(p.numel() for p in list(enc.parameters()) + list(dec.parameters()))
    print("parameters: %d" % nparams, flush=True)
    params = [p for p in list(enc.parameters()) + list(dec.parameters()) if p.requires_grad]
    opt = torch.optim.Adam(params, lr=1e-3)
    table = noise_table(dec)
    bsz, nfr = 8, 32
    budget = minutes * 60.0
    t0 = time.time()
    step = 0
    hist = []
    while True:
        el = time.time() - t0
        if el > budget:
            break
        frac = el / budget
        lr = 1e-3 * (0.5 * (1 + math.cos(math.pi * frac)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        x, pitch, mask = batch(xs, ps, ms, rng, bsz, nfr)
        h, loud = enc.trunk(x)
        logits = enc.pitch_head(h)
        tgt = (pitch.long() - PITCH_LO).clamp(0, N_PITCH - 1)
        ce = F.cross_entropy(logits, tgt, reduction="none")
        ce = (ce * mask).sum() / mask.sum().clamp(min=1)
        tm = enc.timbre_head(h)
        # deterministic timbre code + small noise (robust decoder) + weak L2 (bounded scale)
        l2 = tm.pow(2).mean()
        zt = tm + 0.05 * torch.randn_like(tm)
        # decoder pitch: ground truth first, then the encoder's own (detached) estimate
        if frac < 0.35:
            midi = pitch
        else:
            with torch.no_grad():
                est = enc.pitch_from_logits(logits)
            midi = torch.where(mask, est, pitch) if frac < 0.6 else est
        midi = midi.unsqueeze(1)
        z = torch.cat([(midi - PITCH_CENTRE) / PITCH_SCALE, loud, zt], 1)
        ctrl = dec.controls(z)
        T = x.shape[-1]
        offs = rng.integers(0, table.shape[0] - T, size=bsz)
        nb = torch.stack([table[o:o + T] for o in offs])
        y = dec.synth(ctrl, midi.double(), nb, True)
        rec = mr_stft_loss(y, x)
        loss = rec + ce + 1e-3 * l2
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 5.0)
        opt.step()
        acc = ((logits.argmax(1) == tgt).float() * mask).sum() / mask.sum().clamp(min=1)
        hist.append([rec.item(), ce.item(), l2.item(), acc.item(),
                     exp_sigmoid(ctrl[:, 0]).mean().item()])
        step += 1
        if step % 25 == 0:
            a = np.mean(hist, 0)
            hist = []
            print("step %5d  %6.1fs  lr %.2e  mrstft %.4f  pitch-ce %.3f  acc %.3f  "
                  "z^2 %.2f  harm-amp %.4f" % (step, time.time() - t0, lr, a[0], a[1], a[3],
                                               a[2], a[4]), flush=True)
        if step % 500 == 0:
            torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict()},
                       os.path.join(DATA, "rave-gm.pt"))
    wall = time.time() - t0
    print("trained %d steps in %.1f s" % (step, wall), flush=True)
    torch.save({"encoder": enc.state_dict(), "decoder": dec.state_dict(), "steps": step,
                "wall_s": wall, "params": nparams}, os.path.join(DATA, "rave-gm.pt"))


# ====================================================================== export

def latent_whitening(enc, xs):
    """PCA + unit variance of the timbre means over the training set (like RAVE's
    latent_pca / latent_mean), so latents are unit-scale and sorted by variance."""
    zs = []
    with torch.no_grad():
        for x in xs:
            h, _ = enc.trunk(torch.from_numpy(x).reshape(1, 1, -1))
            zs.append(enc.timbre_head(h)[0].T)
    z = torch.cat(zs).double()
    mu = z.mean(0)
    cov = torch.cov((z - mu).T)
    evals, evecs = torch.linalg.eigh(cov)
    order = torch.argsort(evals, descending=True)
    evals, evecs = evals[order], evecs[:, order]
    w = evecs.T / evals.clamp(min=1e-8).sqrt().unsqueeze(1)        # z_white = w (z - mu)
    w_inv = evecs * evals.clamp(min=1e-8).sqrt().unsqueeze(0)
    print("timbre latent std before whitening (PCA order):",
          " ".join("%.3f" % s for s in evals.sqrt().tolist()))
    return mu, w, w_inv


def export():
    ck = torch.load(os.path.join(DATA, "rave-gm.pt"))
    enc, dec = Encoder(), Decoder()
    enc.load_state_dict(ck["encoder"])
    dec.load_state_dict(ck["decoder"])
    enc.eval()
    dec.eval()
    xs, _, _ = load_dataset()
    mu, w, w_inv = latent_whitening(enc, xs)
    model = RaveGM(enc, dec, mu, w, w_inv).eval()
    set_streaming(model, True)
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():  # check the nn~ shapes before scripting
        x = torch.zeros(1, 1, 8192)
        assert model.encode(x).shape == (1, LATENT, 8192 // RATIO)
        assert model.decode(torch.zeros(1, LATENT, 8)).shape == (1, 1, 8 * RATIO)
        model.reset()
    sm = torch.jit.script(model)
    out = os.path.join(HERE, "rave-gm.ts")
    sm.save(out)
    print("exported %s (%.2f MB)" % (out, os.path.getsize(out) / 1e6))


if __name__ == "__main__":
    torch.set_num_threads(2)
    minutes = 30.0
    if "--minutes" in sys.argv:
        minutes = float(sys.argv[sys.argv.index("--minutes") + 1])
    if "--export-only" not in sys.argv:
        train(minutes)
    export()
