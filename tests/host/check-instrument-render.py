#!/usr/bin/python3
"""Checks renders of the latent instruments by real hosts, which have no lv2apply reference:
Ardour's exports (test-ardour.sh) and GStreamer's LV2 bridge (test-gst-lv2.sh, terrain). Runs
with Debian's /usr/bin/python3 and python3-numpy.

  check-instrument-render.py terrain RATE CHANNELS X1 EXPORT1.f32 X2 EXPORT2.f32
      urn:latent:terrain rendered with its x control at X1, then X2 (y = 2, loud). Both exports audible; the pitch of each (autocorrelation, median over
      100 ms windows of the second half) within 2 semitones of what the shipped terrain was
      trained to play there (MIDI 64 + 12 x / 8: 8 units per octave; the bound of the lilv
      test of the shipped pair), and the interval between the two within 2 semitones of
      (X2 - X1) / 8 octaves (measured: 13.5 semitones for x -4 -> 4). The spectral centroids are printed.
  check-instrument-render.py notes RATE CHANNELS EXPORT.f32 PHRASE.mid [LATE]
      urn:latent:after-midi on a MIDI track playing PHRASE.mid, the host delivering the notes
      LATE frames late (default 0; Ardour 8: the plugin's latency, see test-ardour.sh): the
      export is advanced by LATE frames, then checked. Sound where the notes are,
      quiet in the phrase's rests: every rest (the start, and >= 0.2 s between a note-off and
      the next note-on; 0.1 s of release allowed) at least 12 dB below the notes' level; every note
      after a rest starts (envelope reaching a third of the note's peak) within 60 ms before
      to 150 ms after its note-on (soft notes rise slowly), their median within 80 ms after
      (Ardour compensates the plugin's latency, >= 4096 frames: 93 ms).
  check-instrument-render.py timbre CHANNELS EXPORT.f32 LATENCY REF.f32 OTHER.f32 ...
      urn:latent:after in Ardour, the timbre fed to its sidechain from a second track. AFTER
      samples noise: Ardour's render (the plugin activated again for the export) and
      lv2apply's (REF: same structure and timbre, LATENCY frames late) are two draws, not equal
      (log-spectrogram correlation 0.88 measured). So: same length, audible, the envelope
      following REF's (best lag within 512 frames, r >= 0.5), and the export's log-spectrogram
      closer to REF's than to each OTHER's (lv2apply with other timbres: another instrument,
      silence) by at least 0.05: the sidechain's timbre reached the plugin.
Raw float32 files, e.g. from `sox IN.wav -t f32 OUT.f32`."""
import sys

import importlib.util
import os

import numpy as np

from smf import read_smf

HOP = 256
# The envelope, lag and log-spectrogram helpers of the lv2apply comparisons.
_spec = importlib.util.spec_from_file_location(
    "check_host_render", os.path.join(os.path.dirname(__file__), "check-host-render.py"))
host_render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(host_render)


def load_mono(path, channels):
    x = np.fromfile(path, dtype="<f4")
    return x[: len(x) // channels * channels].reshape(-1, channels).mean(axis=1)


def rms(x):
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-20))


def pitch_hz(x, rate, min_hz=50.0, max_hz=1500.0):
    """Fundamental by normalised autocorrelation: the first peak (lags for max_hz..min_hz)
    reaching 90 % of the best, so the octave below is not preferred."""
    lo, hi = int(rate / max_hz), int(rate / min_hz)
    spectrum = np.fft.rfft(x - x.mean(), 2 * len(x))
    ac = np.fft.irfft(np.abs(spectrum) ** 2)[: hi + 2]
    energy = np.cumsum((x ** 2)[::-1])[::-1]  # sum of x[t:]**2, for the normalisation
    norm = np.sqrt(energy[0] * energy[np.arange(hi + 2)] + 1e-20)
    r = ac / norm
    best = r[lo:hi + 1].max()
    for lag in range(lo + 1, hi):
        if r[lag] >= 0.9 * best and r[lag] >= r[lag - 1] and r[lag] >= r[lag + 1]:
            return rate / lag
    return rate / hi


def centroid_hz(x, rate):
    mag = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1.0 / rate)
    return float((mag * freqs).sum() / (mag.sum() + 1e-20))


def check_terrain(args):
    rate, channels = int(args[0]), int(args[1])
    measured = []
    for x_value, path in ((float(args[2]), args[3]), (float(args[4]), args[5])):
        y = load_mono(path, channels)
        assert np.all(np.isfinite(y)), f"{path}: non-finite samples"
        level = rms(y)
        half = y[len(y) // 2:]
        window = rate // 10
        pitches = [pitch_hz(half[t:t + window], rate)
                   for t in range(0, len(half) - window + 1, window)]
        hz = float(np.median(pitches))
        expect = 440.0 * 2 ** ((64 + 12 * x_value / 8 - 69) / 12)
        off = 12 * np.log2(hz / expect)
        print(f"terrain: x {x_value:+g}: {len(y) / rate:.2f} s, rms {level:.4f}, pitch "
              f"{hz:.1f} Hz (the terrain's training data: {expect:.1f} Hz, {off:+.2f} "
              f"semitones), centroid {centroid_hz(half, rate):.0f} Hz")
        assert level > 1e-3, f"x {x_value:g}: the export is silent (rms {level:.2e})"
        assert abs(off) < 2.0, f"x {x_value:g}: pitch {hz:.1f} Hz, expected {expect:.1f} Hz"
        measured.append((x_value, hz))
    (x1, hz1), (x2, hz2) = measured
    interval = 12 * np.log2(hz2 / hz1)
    print(f"terrain: interval {interval:+.2f} semitones for x {x1:+g} -> {x2:+g} "
          f"(expected {12 * (x2 - x1) / 8:+.2f})")
    assert abs(interval - 12 * (x2 - x1) / 8) < 2.0, interval


def midi_notes(path):
    """(on, off) seconds of the notes in a format-0/1 Standard MIDI File (one tempo)."""
    division, tempo, events, _ = read_smf(path)
    events = [(ticks, status & 0xF0 == 0x90 and data[1] > 0, data[0])
              for ticks, status, data in events if status & 0xF0 in (0x80, 0x90)]
    notes, sounding = [], {}
    for ticks, on, key in sorted(events):
        seconds = ticks / division * tempo
        if on:
            sounding[key] = seconds
        elif key in sounding:
            notes.append((sounding.pop(key), seconds))
    return sorted(notes)


def check_notes(args):
    rate, channels = int(args[0]), int(args[1])
    y = load_mono(args[2], channels)
    notes = midi_notes(args[3])
    late = int(args[4]) if len(args) > 4 else 0
    if late:
        print(f"notes: the host delivers the notes {late} frames late: export advanced by them")
        y = np.concatenate([y[late:], np.zeros(late, dtype=y.dtype)])
    assert np.all(np.isfinite(y)), "non-finite samples"
    n = len(y) // HOP
    env = np.sqrt(np.mean(y[: n * HOP].reshape(n, HOP) ** 2, axis=1) + 1e-20)

    def frame(seconds):
        return min(n, max(0, int(round(seconds * rate / HOP))))

    note_level = rms(np.concatenate([y[int(on * rate):int(off * rate)] for on, off in notes]))
    print(f"notes: {len(notes)} notes, export {len(y) / rate:.2f} s, level during the "
          f"notes {20 * np.log10(note_level):.1f} dBFS")
    assert note_level > 3e-3, f"the export is silent where the notes are (rms {note_level:.2e})"
    last_off = -0.1  # the session's start: a rest before the first note
    delays = []
    for on, off in notes:
        if on - last_off >= 0.2:
            rest = rms(y[int((last_off + 0.1) * rate):int((on - 0.06) * rate)])
            below = 20 * np.log10(note_level / rest)
            print(f"notes: rest {max(last_off, 0):.2f}-{on:.2f} s: {below:.1f} dB below the notes")
            assert below >= 12, f"sound in the rest before the note at {on:.2f} s"
            peak = env[frame(on):frame(off) + 1].max()
            start = frame(on - 0.06)
            rise = start + int(np.argmax(env[start:frame(off) + 1] >= peak / 3))
            delay = rise * HOP / rate - on
            print(f"notes: note at {on:.3f} s starts {1000 * delay:+.0f} ms from its "
                  f"note-on")
            assert -0.06 <= delay <= 0.15, f"note at {on:.2f} s starts {delay:+.3f} s off"
            delays.append(delay)
        last_off = max(last_off, off)
    assert delays, "the phrase has no rest to check"
    median = float(np.median(delays))
    print(f"notes: {len(delays)} rests quiet; the notes after them start "
          f"{1000 * median:+.0f} ms (median) from their note-ons")
    assert -0.06 <= median <= 0.08, f"notes start {median:+.3f} s off (latency compensation?)"


def check_timbre(args):
    export = load_mono(args[1], int(args[0]))
    latency = int(args[2])
    refs = [np.fromfile(path, dtype="<f4")[latency:] for path in args[3:]]
    level = rms(export)
    print(f"timbre: export {len(export)} frames, rms {level:.4f}; reference "
          f"{len(refs[0]) + latency} frames, latency {latency}")
    assert np.all(np.isfinite(export)), "non-finite export"
    assert level > 1e-3, f"the export is silent (rms {level:.2e})"
    assert abs(len(export) - len(refs[0]) - latency) <= 1, (len(export), len(refs[0]) + latency)
    n = min(len(export), *(len(r) for r in refs))
    lag, r_env = host_render.best_lag(host_render.envelope(refs[0][:n], 64),
                                      host_render.envelope(export[:n], 64), 256)
    print(f"timbre: envelope vs lv2apply's render: best lag {lag * 64} frames (r = {r_env:.2f})")
    assert abs(lag * 64) <= 512 and r_env >= 0.5, (lag * 64, r_env)
    spectrogram = host_render.log_spectrogram(export[:n]).ravel()
    r = [float(np.corrcoef(spectrogram, host_render.log_spectrogram(ref[:n]).ravel())[0, 1])
         for ref in refs]
    for path, value in zip(args[3:], r):
        print(f"timbre: log-spectrogram correlation with {os.path.basename(path)}: {value:.3f}")
    assert all(r[0] >= other + 0.05 for other in r[1:]), \
        "the export is not closer to the render with its own timbre"


if __name__ == "__main__":
    {"terrain": check_terrain, "notes": check_notes, "timbre": check_timbre}[sys.argv[1]](
        sys.argv[2:])
