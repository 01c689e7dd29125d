#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1 + numpy).
#
# Measures the round-trip quality of models/rave-gm.ts on the held-out clips
# (models/clips/heldout-*.wav, training instruments, MIDI never seen in training) and on
# the out-of-domain demo input, against two trivial baselines: silence and a 1 kHz
# brick-wall low-pass copy of the input. The model runs as the C runtime runs it:
# freshly reset, forward() on consecutive blocks of 2048 samples.
#
# Metrics (numpy only, defined here so the C tests can recompute them):
#   MR-STFT distance: mean over n_fft in (2048, 1024, 512, 256) of
#       SC  = ||X - Y||_F / ||X||_F
#     + LM  = mean |log(X + 1e-4) - log(Y + 1e-4)|
#     X, Y magnitudes of the periodic-hann STFT, hop n/4, frames fully inside the signal,
#     scaled by 2/n (a full-scale sine peaks near 1). Lower is better.
#   log-mel correlation: Pearson correlation over all (band, frame) values of
#     log10(mel + 1e-10), mel = 64 HTK-mel triangles (0 Hz .. sr/2, peak 1, no area
#     normalisation) applied to the power spectrum (|STFT| * 2/n)^2, n_fft 2048, hop 512.
#   pitch: share of sounding frames where latent 0 (= (midi - 64) / 12) is within half a
#     semitone of the MIDI note at the frame centre.
# usage: /usr/bin/python3 models/evaluate.py [model.ts]   (writes round trips to models/.data/eval)

import json
import os
import sys
import wave

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
BLOCK = 2048


def read_wav(path):
    with wave.open(path, "rb") as w:
        sr = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
    return x, sr


def write_wav(path, x, sr):
    x = np.clip(x, -1, 32767 / 32768)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(np.round(x * 32768).astype("<i2").tobytes())


def stft_mag(x, n, hop):
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)     # periodic hann
    frames = 1 + (len(x) - n) // hop
    idx = np.arange(n)[None, :] + hop * np.arange(frames)[:, None]
    return np.abs(np.fft.rfft(x[idx] * win, axis=1)) * (2.0 / n)


def mr_stft(x, y, sizes=(2048, 1024, 512, 256), eps=1e-4):
    total = 0.0
    for n in sizes:
        X, Y = stft_mag(x, n, n // 4), stft_mag(y, n, n // 4)
        sc = np.linalg.norm(X - Y) / np.linalg.norm(X)
        lm = np.mean(np.abs(np.log(X + eps) - np.log(Y + eps)))
        total += sc + lm
    return total / len(sizes)


def mel_filters(sr, n_fft, n_mels=64):
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def mel2hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    pts = mel2hz(np.linspace(0, hz2mel(sr / 2), n_mels + 2))
    fb = np.zeros((n_mels, len(freqs)))
    for m in range(n_mels):
        lo, c, hi = pts[m], pts[m + 1], pts[m + 2]
        fb[m] = np.maximum(0, np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)))
    return fb


def log_mel(x, sr, n_fft=2048, hop=512):
    P = stft_mag(x, n_fft, hop) ** 2
    return np.log10(P @ mel_filters(sr, n_fft).T + 1e-10)


def logmel_corr(x, y, sr):
    a, b = log_mel(x, sr).ravel(), log_mel(y, sr).ravel()
    if np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def lowpass(x, sr, fc=1000.0):
    X = np.fft.rfft(x)
    X[np.fft.rfftfreq(len(x), 1 / sr) > fc] = 0
    return np.fft.irfft(X, len(x))


def run_model(m, x):
    """Fresh state, forward() on consecutive 2048-sample blocks; also returns latents."""
    n = -(-len(x) // BLOCK) * BLOCK
    xt = torch.zeros(1, 1, n)
    xt[0, 0, :len(x)] = torch.from_numpy(x.astype(np.float32))
    with torch.no_grad():
        m.reset()
        y = torch.cat([m.forward(xt[..., i:i + BLOCK]) for i in range(0, n, BLOCK)], -1)
        m.reset()
        z = torch.cat([m.encode(xt[..., i:i + BLOCK]) for i in range(0, n, BLOCK)], -1)
    return y[0, 0, :len(x)].double().numpy(), z[0].numpy()


def pitch_accuracy(z, x, notes, sr, ratio):
    n = z.shape[1]
    centres = (np.arange(n) + 0.5) * ratio / sr
    target = np.full(n, np.nan)
    for on, off, p, v in notes:
        target[(centres >= on) & (centres < off)] = p
    rms = np.array([np.sqrt(np.mean(x[i * ratio:(i + 1) * ratio] ** 2)) if i * ratio < len(x)
                    else 0 for i in range(n)])
    sel = ~np.isnan(target) & (rms > 1e-3)
    est = z[0] * 12.0 + 64.0
    return float(np.mean(np.abs(est[sel] - target[sel]) < 0.5))


def main():
    torch.set_num_threads(1)
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "rave-gm.ts")
    m = torch.jit.load(path)
    sr, ratio = m.sr, int(m.encode_params[3])
    with open(os.path.join(HERE, "clips", "clips.json")) as f:
        clips = json.load(f)["clips"]
    outdir = os.path.join(HERE, ".data", "eval")
    os.makedirs(outdir, exist_ok=True)
    names = sorted(k for k in clips if k.startswith("heldout-")) + ["demo-input.wav"]
    rows = []
    print("%-22s %9s %9s %9s | %9s %9s | %6s" % ("clip", "model", "silence", "lowpass",
                                                   "mel-r", "mel-r lp", "pitch"))
    for name in names:
        x, csr = read_wav(os.path.join(HERE, "clips", name))
        assert csr == sr
        y, z = run_model(m, x)
        write_wav(os.path.join(outdir, name.replace(".wav", "-roundtrip.wav")), y, sr)
        lp = lowpass(x, sr)
        r = dict(clip=name, model=mr_stft(x, y), silence=mr_stft(x, np.zeros_like(x)),
                 lowpass=mr_stft(x, lp), mel=logmel_corr(x, y, sr),
                 mel_lp=logmel_corr(x, lp, sr),
                 pitch=pitch_accuracy(z, x, clips[name]["notes"], sr, ratio))
        rows.append(r)
        print("%-22s %9.3f %9.3f %9.3f | %9.4f %9.4f | %5.1f%%" % (
            name, r["model"], r["silence"], r["lowpass"], r["mel"], r["mel_lp"],
            100 * r["pitch"]))
    held = [r for r in rows if r["clip"].startswith("heldout-")]
    mean = {k: float(np.mean([r[k] for r in held]))
            for k in ("model", "silence", "lowpass", "mel", "mel_lp", "pitch")}
    print("%-22s %9.3f %9.3f %9.3f | %9.4f %9.4f | %5.1f%%" % (
        "held-out mean", mean["model"], mean["silence"], mean["lowpass"], mean["mel"],
        mean["mel_lp"], 100 * mean["pitch"]))
    print("min held-out log-mel correlation: %.4f" % min(r["mel"] for r in held))
    with open(os.path.join(outdir, "metrics.json"), "w") as f:
        json.dump({"clips": rows, "heldout_mean": mean}, f, indent=1)


if __name__ == "__main__":
    main()
