#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-numpy; no torch needed).
#
# Generates monophonic MIDI phrases (own tiny Standard MIDI File writer), renders them
# with fluidsynth + FluidR3_GM (reverb and chorus off), downmixes to mono at the model's
# sample rate and writes:
#   models/.data/train/*.wav + *.json  training audio and the note list (git-ignored)
#   models/clips/*.wav                 the committed demo / held-out / phrase clips
# Everything is seeded, so re-running gives the same MIDI (and, with the same fluidsynth
# and soundfont, the same audio).
#
# usage: /usr/bin/python3 models/make_data.py [--clips-only]

import json
import os
import struct
import subprocess
import sys
import tempfile
import wave

import numpy as np

SR = 44100
SF2 = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, ".data", "train")
CLIPS = os.path.join(HERE, "clips")

# Training instruments: (name, GM program, lowest MIDI note, highest MIDI note)
TRAIN = [
    ("piano", 0, 43, 84),
    ("flute", 73, 60, 93),
    ("violin", 40, 55, 91),
    ("trumpet", 56, 55, 82),
    ("clarinet", 71, 50, 86),
]
FILES_PER_INSTRUMENT = 5
SECONDS_PER_FILE = 48.0

# ---------------------------------------------------------------- MIDI writing

TICKS_PER_QUARTER = 480
TEMPO_US = 500000  # 120 bpm -> 960 ticks per second


def _varlen(n):
    """MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_smf(path, notes, program, end_time):
    """Format-0 SMF: tempo, program change on channel 0, the notes, end of track.
    notes: list of (onset_s, offset_s, pitch, velocity)."""
    tps = TICKS_PER_QUARTER * 1e6 / TEMPO_US
    ev = []  # (tick, order, bytes); note-offs sort before note-ons at equal ticks
    for on, off, pitch, vel in notes:
        ev.append((int(round(on * tps)), 1, bytes([0x90, pitch, vel])))
        ev.append((int(round(off * tps)), 0, bytes([0x80, pitch, 0])))
    ev.sort(key=lambda e: (e[0], e[1]))
    trk = bytearray()
    trk += _varlen(0) + b"\xff\x51\x03" + TEMPO_US.to_bytes(3, "big")
    trk += _varlen(0) + bytes([0xC0, program])
    last = 0
    for tick, _, data in ev:
        trk += _varlen(tick - last) + data
        last = tick
    end_tick = max(last, int(round(end_time * tps)))
    trk += _varlen(end_tick - last) + b"\xff\x2f\x00"
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER))
        f.write(b"MTrk" + struct.pack(">I", len(trk)) + bytes(trk))


# ---------------------------------------------------------------- phrases

def make_phrase(rng, lo, hi, total):
    """Monophonic phrase: pitch random walk in [lo, hi] with occasional leaps, varied
    durations (fast runs to long notes), rests, legato or detached, phrase-level dynamics."""
    notes = []
    t = 0.25
    pitch = int(rng.integers(lo + 3, hi - 3))
    base_vel = rng.uniform(60, 100)
    while t < total - 0.3:
        r = rng.random()
        if r < 0.25:      # fast run
            dur = rng.uniform(0.08, 0.18)
        elif r < 0.65:
            dur = rng.uniform(0.2, 0.5)
        elif r < 0.9:
            dur = rng.uniform(0.5, 1.2)
        else:
            dur = rng.uniform(1.2, 2.2)
        dur = min(dur, total - t)
        if rng.random() < 0.1:
            step = int(rng.integers(-12, 13))        # leap
        else:
            step = int(rng.choice([-4, -3, -2, -2, -1, -1, 0, 1, 1, 2, 2, 3, 4, 5, -5]))
        pitch += step
        if pitch < lo or pitch > hi:
            pitch -= 2 * step
        pitch = int(np.clip(pitch, lo, hi))
        if rng.random() < 0.05:
            base_vel = rng.uniform(35, 115)          # new dynamic level
        vel = int(np.clip(base_vel + rng.normal(0, 12), 20, 127))
        # legato (tiny gap) or detached
        gap = rng.uniform(0.005, 0.03) if rng.random() < 0.6 else rng.uniform(0.03, 0.4) * dur
        off = t + max(dur - gap, 0.05)
        notes.append((round(t, 4), round(off, 4), pitch, vel))
        t += dur
        if rng.random() < 0.12:                      # rest
            t += rng.uniform(0.1, 0.8)
    return notes


# ---------------------------------------------------------------- rendering

def read_wav_float(path):
    with wave.open(path, "rb") as w:
        ch, width, n = w.getnchannels(), w.getsampwidth(), w.getnframes()
        raw = w.readframes(n)
    if width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0
    else:
        raise ValueError("unsupported sample width %d" % width)
    return x.reshape(-1, ch)


def write_wav16(path, x, sr=SR):
    x = np.clip(np.asarray(x, np.float64), -1.0, 32767 / 32768)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes((np.round(x * 32768)).astype("<i2").tobytes())


def render(notes, program, seconds, gain=0.5):
    """Render notes with fluidsynth; returns mono float32 of exactly `seconds` length."""
    with tempfile.TemporaryDirectory() as td:
        mid, wav = os.path.join(td, "p.mid"), os.path.join(td, "p.wav")
        write_smf(mid, notes, program, seconds + 0.5)
        subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0",
                        "-g", str(gain), "-r", str(SR), "-T", "wav", "-O", "s32",
                        "-F", wav, SF2, mid],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        x = read_wav_float(wav).mean(axis=1)
    n = int(round(seconds * SR))
    x = np.pad(x, (0, max(0, n - len(x))))[:n]
    return x.astype(np.float32)


def normalise(x, peak=0.8):
    m = np.abs(x).max()
    return x * (peak / m) if m > 0 else x


# ---------------------------------------------------------------- main

def make_clips():
    os.makedirs(CLIPS, exist_ok=True)
    info = {}
    # demo input: alto sax (GM 65), not a training instrument
    rng = np.random.default_rng(7000)
    notes = make_phrase(rng, 52, 76, 8.0)
    write_wav16(os.path.join(CLIPS, "demo-input.wav"), normalise(render(notes, 65, 8.0), 0.7))
    info["demo-input.wav"] = {"program": 65, "instrument": "alto sax", "notes": notes}
    # held-out phrases from training instruments, new seeds
    for i, (name, prog, lo, hi) in enumerate([TRAIN[0], TRAIN[2], TRAIN[3]]):
        rng = np.random.default_rng(5000 + i)
        notes = make_phrase(rng, max(lo, 55), min(hi, 84), 4.0)
        write_wav16(os.path.join(CLIPS, "heldout-%s.wav" % name),
                    normalise(render(notes, prog, 4.0)))
        info["heldout-%s.wav" % name] = {"program": prog, "instrument": name, "notes": notes}
    # the same phrase on piano and flute
    rng = np.random.default_rng(8000)
    notes = make_phrase(rng, 62, 84, 6.0)
    for name, prog in (("piano", 0), ("flute", 73)):
        write_wav16(os.path.join(CLIPS, "%s-phrase.wav" % name),
                    normalise(render(notes, prog, 6.0)))
        info["%s-phrase.wav" % name] = {"program": prog, "instrument": name, "notes": notes}
    with open(os.path.join(CLIPS, "clips.json"), "w") as f:
        json.dump({"sample_rate": SR, "clips": info}, f, indent=1)
    print("clips written to", CLIPS)


def make_train():
    os.makedirs(DATA, exist_ok=True)
    total = 0.0
    for ii, (name, prog, lo, hi) in enumerate(TRAIN):
        for k in range(FILES_PER_INSTRUMENT):
            rng = np.random.default_rng(1000 + 100 * ii + k)
            notes = make_phrase(rng, lo, hi, SECONDS_PER_FILE)
            x = normalise(render(notes, prog, SECONDS_PER_FILE), rng.uniform(0.5, 0.9))
            base = os.path.join(DATA, "%s-%02d" % (name, k))
            write_wav16(base + ".wav", x)
            with open(base + ".json", "w") as f:
                json.dump({"program": prog, "instrument": name, "sample_rate": SR,
                           "notes": notes}, f)
            total += SECONDS_PER_FILE
            print("%s: %d notes" % (base, len(notes)), flush=True)
    print("training audio: %.1f minutes at %d Hz" % (total / 60, SR))


if __name__ == "__main__":
    make_clips()
    if "--clips-only" not in sys.argv:
        make_train()
