#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1 + numpy; fluidsynth on PATH).
#
# Checks models/after-gm.ts and models/after-gm-midi.ts:
#   - interface: sr, get_methods, *_params, attributes (get/set, setters return 0), the
#     chunk (timbre returns chunk frames whatever it gets), reset() makes the output repeat
#     bit for bit, batch 1 and 4;
#   - speed of each method per chunk on one thread (profiling executor off, as the C runtime);
#   - transfer quality on held-out MIDI (clips/piano-phrase.wav and flute-phrase.wav, seed 8000,
#     not in the training set) with timbre taken from ANOTHER new phrase (seed 9100) rendered
#     here with fluidsynth. Metrics: MFCC-mean distance of the output to the flute and piano
#     renderings of the structure phrase, chroma correlation with the structure source (and,
#     as a baseline, with the unrelated timbre phrase), pitch accuracy of rave-gm's pitch
#     latent of the output against the MIDI notes, onset recall/precision (spectral flux).
# Writes listening examples to models/.data/after-check/. Prints the figures and OK.
# usage: /usr/bin/python3 models/check_after.py [--quick] [model.ts ...]
#        (--quick: interface + speed only; default: both shipped models)

import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import evaluate as ev  # noqa: E402
import make_data as md  # noqa: E402

OUT = os.path.join(HERE, ".data", "after-check")
SR, RATIO, CHUNK, ZS, ZT, N_POLY = 44100, 1024, 4, 12, 6, 4
BLOCK = CHUNK * RATIO
TEST_SECONDS = 20.0


# ------------------------------------------------------------------ interface

def check_interface(m, midi):
    assert isinstance(m.sr, int) and m.sr == SR, m.sr
    attrs = m.get_attributes()
    assert attrs == ["nb_steps", "guidance_timbre", "guidance_structure"], attrs
    n_in = 2 * N_POLY + ZT if midi else ZS + ZT
    want = {"timbre": [1, 1, ZT, RATIO], "diffuse": [n_in, RATIO, 8, RATIO],
            "generate": [n_in, RATIO, 1, 1], "decode": [8, RATIO, 1, 1]}
    if not midi:
        want.update({"forward": [2, 1, 1, 1], "structure": [1, 1, ZS, RATIO]})
    methods = m.get_methods()
    assert sorted(methods) == sorted(want), methods
    for k, v in want.items():
        got = getattr(m, k + "_params").tolist()
        assert got == v, (k, got, v)
    assert m.get_nb_steps() == 1 and m.get_guidance_timbre() == 1.0
    for name, value in (("nb_steps", 3), ("guidance_timbre", 1.5), ("guidance_structure", 0.5)):
        assert getattr(m, "set_" + name)(value) == 0
        assert getattr(m, "get_" + name)() == value, name
    m.set_nb_steps(99)
    assert m.get_nb_steps() == 16, m.get_nb_steps()
    m.set_nb_steps(1), m.set_guidance_timbre(1.0), m.set_guidance_structure(1.0)
    with torch.no_grad():
        for n in (1024, 4096, 8192):  # the chunk: timbre always answers CHUNK frames
            assert m.timbre(torch.zeros(1, 1, n)).shape == (1, ZT, CHUNK)
    print("interface: sr %d, methods %s, chunk %d frames (%d samples), inputs %d"
          % (m.sr, methods, CHUNK, BLOCK, n_in))


def note_channels(notes, n_frames):
    """Notes -> [2*N_POLY, frames] voice channels (pitch, velocity) at frame centres, voices
    assigned in order of onset (the C side's LatentVoices does the same job live)."""
    x = np.zeros((2 * N_POLY, n_frames), np.float32)
    centres = (np.arange(n_frames) + 0.5) * RATIO / SR
    for t in range(n_frames):
        on = [n for n in notes if n[0] <= centres[t] < n[1]][:N_POLY]
        for v, n in enumerate(on):
            x[2 * v, t], x[2 * v + 1, t] = n[2], n[3]
    return torch.from_numpy(x)


def stream(m, midi, structure, timbre_audio):
    """Runs the model chunk by chunk from a fresh reset, as the C runtime does. structure:
    audio [n] (audio model) or note channels [2*N_POLY, frames] (MIDI model)."""
    outs = []
    m.reset()
    n_chunks = timbre_audio.shape[-1] // BLOCK
    with torch.no_grad():
        for c in range(n_chunks):
            ta = timbre_audio[..., c * BLOCK:(c + 1) * BLOCK].reshape(1, 1, -1)
            if midi:
                zt = m.timbre(ta)
                notes = structure[:, c * CHUNK:(c + 1) * CHUNK].unsqueeze(0)
                outs.append(m.generate(torch.cat([notes, zt], 1)))
            else:
                sa = structure[..., c * BLOCK:(c + 1) * BLOCK].reshape(1, 1, -1)
                outs.append(m.forward(torch.cat([sa, ta], 1)))
    return torch.cat(outs, -1).reshape(-1)


def check_reset_and_batch(m, midi, structure, timbre_audio):
    a = stream(m, midi, structure, timbre_audio[..., :3 * BLOCK])
    b = stream(m, midi, structure, timbre_audio[..., :3 * BLOCK])
    assert torch.equal(a, b), "reset() does not make the output repeat"
    assert a.abs().max() > 1e-3, "silent output"
    with torch.no_grad():
        n_in = 2 * N_POLY + ZT if midi else ZS + ZT
        m.reset()
        y = m.diffuse(torch.zeros(4, n_in, CHUNK))
        assert y.shape == (4, 8, CHUNK), y.shape
        m.reset()
        y = m.generate(torch.zeros(1, n_in, 2 * CHUNK))
        assert y.shape == (1, 1, 2 * BLOCK), y.shape
    print("reset: output repeats bit for bit; batch 1 and 4 and two chunks per call work")


# ------------------------------------------------------------------ speed

def timed(fn, x, reps=30):
    with torch.no_grad():
        for _ in range(5):
            fn(x)
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(x)
    return (time.perf_counter() - t0) / reps * 1000.0


def check_speed(m, midi):
    chunk_ms = BLOCK / SR * 1000.0
    n_in = 2 * N_POLY + ZT if midi else ZS + ZT
    x_cond = torch.rand(1, n_in, CHUNK) * (60.0 if midi else 1.0)
    audio = torch.randn(1, 1, BLOCK) * 0.1
    rows = [("timbre", m.timbre, audio), ("decode", m.decode, torch.randn(1, 8, CHUNK))]
    if not midi:
        rows.insert(0, ("structure", m.structure, audio))
    res = {}
    for name, fn, x in rows:
        res[name] = timed(fn, x)
    for steps, g in ((1, 1.0), (4, 1.0), (1, 2.0), (4, 2.0)):
        m.set_nb_steps(steps), m.set_guidance_timbre(g)
        res["diffuse s%d g%.0f" % (steps, g)] = timed(m.diffuse, x_cond)
    m.set_nb_steps(4), m.set_guidance_timbre(2.0)
    if not midi:
        res["forward s4 g2"] = timed(m.forward, torch.randn(1, 2, BLOCK) * 0.1)
    m.set_nb_steps(1), m.set_guidance_timbre(1.0)
    print("speed, 1 thread, one chunk (%.1f ms of audio):" % chunk_ms)
    for k, v in res.items():
        print("  %-16s %6.2f ms  (%5.1fx real time)" % (k, v, chunk_ms / v))
    worst = res["diffuse s4 g2"] + res["decode"] + res["timbre"]
    assert worst < chunk_ms, "slower than real time: %.1f ms per chunk" % worst
    return res


# ------------------------------------------------------------------ quality metrics

def mfcc_mean(x, n_mels=40, n_coef=20):
    P = ev.stft_mag(x, 2048, 512) ** 2
    e = P.sum(1)
    keep = e > e.max() * 1e-4                           # frames within 40 dB of the loudest
    L = np.log(P[keep] @ ev.mel_filters(SR, 2048, n_mels).T + 1e-10)
    k = np.arange(n_mels)
    dct = np.cos(np.pi / n_mels * (k[None, :] + 0.5) * np.arange(n_coef)[:, None])
    return (L @ dct.T)[:, 1:].mean(0)                  # c0 (level) left out


def mfcc_dist(x, y):
    return float(np.linalg.norm(mfcc_mean(x) - mfcc_mean(y)))


def chroma(x):
    P = ev.stft_mag(x, 4096, 1024) ** 2
    f = np.arange(P.shape[1]) * SR / 4096
    band = (f > 80) & (f < 4000)
    pc = np.round(12 * np.log2(f[band] / 440.0) + 69).astype(int) % 12
    C = np.zeros((P.shape[0], 12))
    for c in range(12):
        C[:, c] = P[:, band][:, pc == c].sum(1)
    return C / (np.linalg.norm(C, axis=1, keepdims=True) + 1e-12)


def chroma_corr(x, y):
    a, b = chroma(x), chroma(y)
    n = min(len(a), len(b))
    return float(np.corrcoef(a[:n].ravel(), b[:n].ravel())[0, 1])


def analyse(rave, x, notes):
    """rave-gm's pitch and loudness latents of x against the notes: frame pitch accuracy
    (sounding frames within half a semitone), note accuracy (the note's middle frame), and
    onset recall: a note counts as started on time when, within one frame before to two
    after its onset frame, the pitch arrives at the note (from elsewhere) or the level rises
    by more than 2 dB from one frame to the next (repeated notes)."""
    with torch.no_grad():
        rave.reset()
        n = len(x) // RATIO * RATIO
        z = rave.encode(torch.from_numpy(x[:n].astype(np.float32)).reshape(1, 1, -1))[0]
    z = z.numpy()
    frames = ev.pitch_accuracy(z, x, notes, SR, RATIO)
    p, level = z[0] * 12.0 + 64.0, z[1] * 15.0
    on_pitch = lambda f, q: 0 <= f < len(p) and abs(p[f] - q) < 0.5  # noqa: E731
    note_hits, onset_hits, count = 0, 0, 0
    for on, off, q, _ in notes:
        f0, f1 = int(on * SR / RATIO), int(off * SR / RATIO)
        if f1 + 1 >= len(p) or f0 < 2:
            continue
        count += 1
        note_hits += on_pitch((f0 + f1) // 2, q)
        onset_hits += any((on_pitch(f, q) and not on_pitch(f - 1, q)) or level[f] - level[f - 1] > 2.0
                          for f in range(f0 - 1, f0 + 3))
    return frames, note_hits / max(count, 1), onset_hits / max(count, 1)


# ------------------------------------------------------------------ quality

def load_phrases():
    """Held-out phrases (seeds not in the training set): the structure phrase (seed 9000) and
    the timbre phrase (seed 9100, other notes), 20 s each, rendered with piano and flute."""
    out = {}
    for key, seed in (("structure", 9000), ("timbre", 9100)):
        notes = md.make_phrase(np.random.default_rng(seed), 60, 84, TEST_SECONDS)
        out[key] = (notes, {name: md.normalise(md.render(notes, prog, TEST_SECONDS)).astype(np.float64)
                            for name, prog in (("piano", 0), ("flute", 73))})
    return out


def as_tensor(x):
    n = len(x) // BLOCK * BLOCK
    return torch.from_numpy(x[:n].astype(np.float32))


def check_quality(m, midi, rave, settings, phrases):
    """Transfers piano structure + flute timbre and flute structure + piano timbre; the
    timbre audio is the other phrase, so only its sound can carry over."""
    notes, s_audio = phrases["structure"]
    _, t_audio = phrases["timbre"]
    n = len(s_audio["piano"]) // BLOCK * BLOCK
    os.makedirs(OUT, exist_ok=True)
    for name in ("piano", "flute"):
        print("  reference %-5s (fluidsynth): frame pitch %.1f%%, notes %.1f%%, onsets %.1f%%; "
              "MFCC dist piano-flute %.1f" % ((name, *(100 * v for v in analyse(
                  rave, s_audio[name][:n], notes)), mfcc_dist(s_audio["piano"], s_audio["flute"]))))
    rows = []
    for steps, g_t in settings:
        m.set_nb_steps(steps), m.set_guidance_timbre(g_t)
        for s_name, t_name in (("piano", "flute"), ("flute", "piano")):
            if midi:
                structure = note_channels(notes, n // RATIO)
            else:
                structure = as_tensor(s_audio[s_name])
            y = stream(m, midi, structure, as_tensor(t_audio[t_name])).double().numpy()
            tag = "%s-%s-%s-s%d-g%.0f" % ("midi" if midi else "audio",
                                          "notes" if midi else s_name, t_name, steps, g_t)
            ev.write_wav(os.path.join(OUT, tag + ".wav"), y, SR)
            frames, note_acc, onset_acc = analyse(rave, y, notes)
            r = dict(tag=tag, d_timbre=mfcc_dist(y, s_audio[t_name][:n]),
                     d_other=mfcc_dist(y, s_audio[s_name][:n]),
                     chroma=chroma_corr(y, s_audio[s_name][:n]),
                     chroma_other=chroma_corr(y, t_audio[t_name][:n]),
                     pitch=frames, notes=note_acc, onsets=onset_acc)
            rows.append(r)
            print("  %-24s MFCC dist to %s %.1f, to %s %.1f; chroma r %.2f (timbre phrase %.2f);"
                  " frame pitch %.1f%%, notes %.1f%%, onsets %.1f%%"
                  % (tag, t_name, r["d_timbre"], s_name, r["d_other"], r["chroma"],
                     r["chroma_other"], 100 * frames, 100 * note_acc, 100 * onset_acc))
    m.set_nb_steps(1), m.set_guidance_timbre(1.0)
    return rows


def main():
    torch.set_num_threads(1)
    torch._C._jit_set_profiling_executor(False)   # as the C runtime does
    quick = "--quick" in sys.argv
    rave = torch.jit.load(os.path.join(HERE, "rave-gm.ts")).eval()
    notes, piano, phrases = None, None, None
    paths = [a for a in sys.argv[1:] if not a.startswith("--")] or [
        os.path.join(HERE, "after-gm.ts"), os.path.join(HERE, "after-gm-midi.ts")]
    for path in paths:
        m = torch.jit.load(path).eval()
        midi = "structure" not in m.get_methods()
        print("==", path, "(%.1f MB)" % (os.path.getsize(path) / 1e6))
        check_interface(m, midi)
        if notes is None:
            with open(os.path.join(md.CLIPS, "clips.json")) as f:
                notes = [tuple(n) for n in json.load(f)["clips"]["piano-phrase.wav"]["notes"]]
            piano = as_tensor(ev.read_wav(os.path.join(md.CLIPS, "piano-phrase.wav"))[0])
        structure = note_channels(notes, len(piano) // RATIO) if midi else piano
        check_reset_and_batch(m, midi, structure, piano.flip(0))
        check_speed(m, midi)
        if quick:
            continue
        if phrases is None:
            phrases = load_phrases()
        rows = check_quality(m, midi, rave, ((1, 1.0), (4, 1.0), (4, 2.0)), phrases)
        for r in rows:
            # the output sounds like the timbre source and plays the structure's notes
            assert r["d_timbre"] < r["d_other"], r
            assert r["chroma"] > r["chroma_other"] + 0.3, r
            if r["tag"].endswith("-g1"):  # timbre guidance 2 trades pitch for timbre: no floor
                floor = (0.5, 0.5, 0.6) if midi else (0.65, 0.55, 0.5)
                assert r["pitch"] > floor[0] and r["notes"] > floor[1] \
                    and r["onsets"] > floor[2], r
    print("OK")


if __name__ == "__main__":
    main()
