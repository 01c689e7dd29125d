#!/usr/bin/python3
"""Builds the dataset of the shipped default terrain models/terrain-gm.pt (for rave-gm.ts).
Runs with Debian's /usr/bin/python3 (numpy only; no torch needed).

Each shipped clip (models/clips/*.wav) is encoded by the suite's own `raveencode` element
(gst-launch-1.0 with the build tree's GStreamer plugin) into rave-gm's 8 latents at 44100/1024
frames per second. Silent frames (loudness latent 1 below -2, rave-gm's value for silence)
are dropped. Every remaining frame is placed on the terrain canvas by what it sounds like:
x = 8 * latent 0 (latent 0 is pitch in octaves from MIDI 64, so 8 canvas units per octave) and
y = 2 * latent 1 (loudness). A clip is one fragment
of nn_terrain's dictionary layout (coordinates and latents, frame by frame), so the terrain
learns the timbre latents 2-7 the instruments have at each pitch and loudness.

usage: /usr/bin/python3 models/make_terrain_dataset.py BUILD_DIR OUT.json
then:  BUILD_DIR/core/cli/latent terrain train --dataset OUT.json --out models/terrain-gm.pt \\
         --epochs 300 --seed 1"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
LATENTS = 8
SILENCE = -2.0


def encode(build_dir, wav, out):
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build_dir, "gst"))
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + wav, "!", "wavparse", "!",
                    "audioconvert", "!", "audioresample", "!", "raveencode",
                    "model=" + os.path.join(HERE, "rave-gm.ts"), "threads=1", "!",
                    "filesink", "location=" + out], check=True, env=env)
    return np.fromfile(out, dtype="<f4").reshape(-1, LATENTS)


def main():
    build_dir, out_path = sys.argv[1], sys.argv[2]
    clips = sorted(f for f in os.listdir(os.path.join(HERE, "clips")) if f.endswith(".wav"))
    coordinates, latents = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            z = encode(build_dir, os.path.join(HERE, "clips", clip), os.path.join(tmp, "z.f32"))
            z = z[z[:, 1] > SILENCE]
            key = str(len(coordinates) + 1)
            x = 8.0 * z[:, 0]
            y = 2.0 * z[:, 1]
            coordinates[key] = {"0": x.tolist(), "1": y.tolist()}
            latents[key] = {str(d): z[:, d].tolist() for d in range(LATENTS)}
            print(f"{clip}: {len(z)} frames, x {x.min():.1f}..{x.max():.1f}, "
                  f"y {y.min():.1f}..{y.max():.1f}")
    with open(out_path, "w") as f:
        json.dump({"coordinates": coordinates, "latents": latents}, f)


if __name__ == "__main__":
    main()
