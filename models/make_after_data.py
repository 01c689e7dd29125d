#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1 + numpy; fluidsynth on PATH).
#
# Training data for the AFTER-style models (train_after.py): the SAME generated MIDI phrases
# rendered by several GM instruments, each rendering encoded to latents with rave-gm.ts.
# Because every phrase exists in every timbre, training can take structure from one
# instrument and timbre from another (the pairing that makes the two separable).
#   mono-NN: monophonic phrases (both models); poly-NN: 1-4 overlapping voices (MIDI model).
# Writes models/.data/after/{mono,poly}-NN.npz: z [n_instruments, 8, frames] float32,
# notes [n, 4] (onset s, offset s, pitch, velocity), programs. Also writes the demo MIDI
# models/clips/after-phrase.mid (the notes of clips/piano-phrase.wav).
# Reuses make_data.py's MIDI writer, phrase generator and fluidsynth renderer.
#
# usage: /usr/bin/python3 models/make_after_data.py

import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_data as md  # noqa: E402

OUT = os.path.join(HERE, ".data", "after")
RAVE = os.path.join(HERE, "rave-gm.ts")

# (name, GM program): rave-gm's five training instruments plus oboe. (A drawbar organ was
# tried and dropped: rave-gm's pitch latent does not follow it, correlation 0.01.)
INSTRUMENTS = [("piano", 0), ("flute", 73), ("violin", 40), ("trumpet", 56),
               ("clarinet", 71), ("oboe", 68)]
LO, HI = 55, 84                 # common range, playable by every instrument above
MONO_FILES, MONO_SECONDS = 12, 40.0
POLY_FILES, POLY_SECONDS = 6, 30.0


def poly_phrase(rng, total):
    """1-4 independent voices (make_phrase each) layered; a note that would start while
    the same pitch sounds in another voice is dropped, so no pitch is double-booked."""
    voices = int(rng.integers(1, 5))
    notes = []
    for v in range(voices):
        part = md.make_phrase(rng, LO, HI, total)
        if v > 0:  # thinner accompaniment voices: keep about half the notes
            part = [n for n in part if rng.random() < 0.55]
        for n in part:
            if all(not (m[2] == n[2] and m[0] < n[1] and n[0] < m[1]) for m in notes):
                notes.append(n)
    notes.sort()
    return notes


def encode(model, x):
    model.reset()
    with torch.no_grad():
        n = len(x) // 1024 * 1024
        return model.encode(torch.from_numpy(x[:n]).reshape(1, 1, -1))[0].numpy()


def make_set(model, kind, files, seconds, seed0):
    for k in range(files):
        rng = np.random.default_rng(seed0 + k)
        if kind == "mono":
            notes = md.make_phrase(rng, LO, HI, seconds)
        else:
            notes = poly_phrase(rng, seconds)
        zs = []
        for name, prog in INSTRUMENTS:
            x = md.normalise(md.render(notes, prog, seconds), rng.uniform(0.5, 0.9))
            zs.append(encode(model, x))
        path = os.path.join(OUT, "%s-%02d.npz" % (kind, k))
        np.savez(path, z=np.stack(zs).astype(np.float32),
                 notes=np.array(notes, np.float64).reshape(-1, 4),
                 programs=np.array([p for _, p in INSTRUMENTS]))
        print("%s: %d notes, %d frames" % (path, len(notes), zs[0].shape[-1]), flush=True)


def write_demo_midi():
    with open(os.path.join(md.CLIPS, "clips.json")) as f:
        clip = json.load(f)["clips"]["piano-phrase.wav"]
    notes = [tuple(n) for n in clip["notes"]]
    md.write_smf(os.path.join(md.CLIPS, "after-phrase.mid"), notes, 0, 6.0)


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    write_demo_midi()
    model = torch.jit.load(RAVE).eval()
    t0 = time.time()
    make_set(model, "mono", MONO_FILES, MONO_SECONDS, 20000)
    make_set(model, "poly", POLY_FILES, POLY_SECONDS, 30000)
    total = len(INSTRUMENTS) * (MONO_FILES * MONO_SECONDS + POLY_FILES * POLY_SECONDS)
    print("%d instruments, %.1f min of audio in all, %.0f s" % (
        len(INSTRUMENTS), total / 60, time.time() - t0))


if __name__ == "__main__":
    main()
