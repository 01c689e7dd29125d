#!/usr/bin/python3
"""Builds the shipped timbre terrains models/timbre-gm.pt (for after-gm.ts) and
models/timbre-gm-midi.pt (for after-gm-midi.ts): Latent Terrains over each AFTER model's
6-dim timbre space, the default timbre terrains of the LV2 plugins urn:latent:after and
urn:latent:after-midi (timbre source 2: x, y walk the terrain).

Runs with Debian's /usr/bin/python3 (numpy; fluidsynth and fluid-soundfont-gm for the audio) and
the build tree (gst-launch-1.0 with build/gst, and build/core/cli/latent):

1. One 20 s phrase (seed 9500, MIDI 55-84, make_data.py's generator) rendered by fluidsynth with
   the six GM instruments AFTER-gm was trained on: piano 0, flute 73, violin 40, trumpet 56,
   clarinet 71, oboe 68 (as make_after_data.py, peak-normalised to 0.8).
2. Each rendering through the suite's own `raveencode model=M method=timbre` (the AFTER model's
   `timbre`, one chunk of 4096 samples per call, 4 identical frames per chunk): one timbre
   vector per chunk. The first 8 chunks are dropped (AFTER's timbre pools over the last 32
   frames it heard; right after reset it has heard little) and so are chunks whose audio is
   quieter than -50 dBFS RMS.
3. Layout: instrument i sits around the centre 8 (cos a, sin a), a = 60 i degrees (piano at
   (8, 0), flute (4, 6.9), violin (-4, 6.9), trumpet (-8, 0), clarinet (-4, -6.9), oboe
   (4, -6.9)); within its region each chunk is placed by the projection of its timbre vector on
   that instrument's two principal axes, one standard deviation = 1 unit, clipped to +-2.5.
4. `latent terrain train --dataset D.json --out OUT --epochs 300 --seed 1` (DESIGN.md's default
   network: 2 -> 6, c 128, m 256, sigma 0.1).

usage: /usr/bin/python3 models/make_timbre_terrain.py [BUILD_DIR]   (default: build)"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_data as md  # noqa: E402

INSTRUMENTS = [("piano", 0), ("flute", 73), ("violin", 40), ("trumpet", 56),
               ("clarinet", 71), ("oboe", 68)]
SECONDS, SEED, LO, HI = 20.0, 9500, 55, 84
TIMBRE_DIMS, CHUNK_FRAMES, RATIO = 6, 4, 1024
SKIP_CHUNKS = 8
SILENT_DB = -50.0
RADIUS, SPREAD = 8.0, 2.5
MODELS = [("after-gm.ts", "timbre-gm.pt"), ("after-gm-midi.ts", "timbre-gm-midi.pt")]


def encode_timbre(build_dir, model, wav, out):
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build_dir, "gst"))
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + wav, "!", "wavparse", "!",
                    "audioconvert", "!", "raveencode", "model=" + model, "method=timbre",
                    "threads=1", "!", "filesink", "location=" + out], check=True, env=env)
    z = np.fromfile(out, dtype="<f4").reshape(-1, TIMBRE_DIMS)
    return z[::CHUNK_FRAMES]  # one vector per chunk (the chunk's frames are identical)


def layout(i, z):
    a = 2 * math.pi * i / len(INSTRUMENTS)
    centre = np.array([RADIUS * math.cos(a), RADIUS * math.sin(a)])
    d = z - z.mean(0)
    _, s, vt = np.linalg.svd(d, full_matrices=False)
    proj = d @ vt[:2].T
    proj /= np.maximum(proj.std(0), 1e-6)
    return centre + np.clip(proj, -SPREAD, SPREAD), centre


def main():
    build_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "build")
    cli = os.path.join(build_dir, "core", "cli", "latent")
    rng = np.random.default_rng(SEED)
    notes = md.make_phrase(rng, LO, HI, SECONDS)
    with tempfile.TemporaryDirectory() as tmp:
        wavs = []
        for name, program in INSTRUMENTS:
            x = md.normalise(md.render(notes, program, SECONDS))
            path = os.path.join(tmp, name + ".wav")
            md.write_wav16(path, x)
            wavs.append((path, x))
        for model_name, out_name in MODELS:
            model = os.path.join(HERE, model_name)
            coordinates, latents, means = {}, {}, []
            for i, ((name, _), (wav, x)) in enumerate(zip(INSTRUMENTS, wavs)):
                z = encode_timbre(build_dir, model, wav, os.path.join(tmp, "z.f32"))
                block = CHUNK_FRAMES * RATIO
                n = min(len(z), len(x) // block)
                rms = np.array([np.sqrt(np.mean(x[c * block:(c + 1) * block] ** 2) + 1e-12)
                                for c in range(n)])
                keep = np.arange(n) >= SKIP_CHUNKS
                keep &= 20 * np.log10(rms) > SILENT_DB
                z = z[:n][keep]
                xy, centre = layout(i, z)
                key = str(i + 1)
                coordinates[key] = {"0": xy[:, 0].tolist(), "1": xy[:, 1].tolist()}
                latents[key] = {str(d): z[:, d].tolist() for d in range(TIMBRE_DIMS)}
                means.append(z.mean(0))
                print(f"{model_name} {name}: {len(z)} chunks at ({centre[0]:.1f}, "
                      f"{centre[1]:.1f}), timbre mean [{', '.join(f'{v:.2f}' for v in z.mean(0))}], "
                      f"std {z.std(0).mean():.3f}")
            means = np.array(means)
            dist = np.sqrt(((means[:, None] - means[None]) ** 2).sum(-1))
            print(f"{model_name}: distances between instruments' mean timbres "
                  f"{dist[np.triu_indices(len(means), 1)].min():.3f}.."
                  f"{dist.max():.3f}")
            dataset = os.path.join(tmp, "timbre.json")
            with open(dataset, "w") as f:
                json.dump({"coordinates": coordinates, "latents": latents}, f)
            subprocess.run([cli, "terrain", "train", "--dataset", dataset, "--out",
                            os.path.join(HERE, out_name), "--epochs", "300", "--seed", "1"],
                           check=True)
            print("wrote", os.path.join(HERE, out_name))


if __name__ == "__main__":
    main()
