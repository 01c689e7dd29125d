#!/usr/bin/python3
"""Checks audio that real LV2 hosts (jalv on JACK, Ardour) rendered through a latent plugin
with the bundle's shipped model. Runs with Debian's /usr/bin/python3 and python3-numpy.

  check-host-render.py jack REC.f32 CHANNELS LATENCY effect|instrument|generator UNDERRUNS RATE
      REC: channel 0 the input beeps (jack_metro, 2 per second), channels 1.. the plugin's
      outputs, recorded together by jack_rec. Every output must be audible; an effect's output
      envelope must follow the input's, delayed by the plugin's reported LATENCY (the best
      lag within one envelope frame of it); an instrument's must repeat with jack_midiseq's
      one-second note loop; a generator's (no audio or MIDI input) only be audible.
  check-host-render.py ardour EXPORT.f32 CHANNELS REFERENCE.f32 LATENCY
      EXPORT: Ardour's export of a track holding the clip through the plugin; REFERENCE: the
      plugin's render of the same clip by lv2apply (mono, LATENCY frames of delay at its start).
      Ardour compensates the plugin's latency, so the export must line up with the reference
      advanced by LATENCY: same length, audible, log-spectrogram correlation >= 0.9 at lag 0,
      and the best envelope lag within 512 frames of 0 (uncompensated: LATENCY).
Raw float32 files, e.g. from `sox IN.wav -t f32 OUT.f32`."""
import sys

import numpy as np

RATE = 44100
HOP = 256  # envelope / STFT hop


def load(path, channels):
    x = np.fromfile(path, dtype="<f4")
    return x[: len(x) // channels * channels].reshape(-1, channels).T


def envelope(x, hop=HOP):
    n = len(x) // hop
    return np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1) + 1e-12)


def best_lag(a, b, max_lag):
    """Lag (in envelope frames, b later than a) maximising the correlation of a and b."""
    best, best_r = 0, -2.0
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            u, v = a[: len(a) - lag], b[lag:]
        else:
            u, v = a[-lag:], b[: len(b) + lag]
        n = min(len(u), len(v))
        if n < 16:
            continue
        r = np.corrcoef(u[:n], v[:n])[0, 1]
        if r > best_r:
            best, best_r = lag, r
    return best, best_r


def log_spectrogram(x, n_fft=2048, bands=64):
    frames = 1 + (len(x) - n_fft) // HOP
    window = np.hanning(n_fft).astype(np.float32)
    idx = np.arange(n_fft)[None, :] + HOP * np.arange(frames)[:, None]
    mag = np.abs(np.fft.rfft(x[idx] * window, axis=1))
    # Log-spaced bands from 40 Hz to 16 kHz, a rough mel.
    edges = np.geomspace(40, 16000, bands + 1) * n_fft / RATE
    out = np.stack([mag[:, int(lo):max(int(hi), int(lo) + 1)].sum(axis=1)
                    for lo, hi in zip(edges[:-1], edges[1:])], axis=1)
    return np.log(out + 1e-4)


def check_jack(args):
    rec = load(args[0], int(args[1]))
    latency, kind, underruns, rate = int(args[2]), args[3], float(args[4]), int(args[5])
    block = int(args[6]) if len(args) > 6 else 2048  # the model's worker block, frames
    beeps, outputs = rec[0], rec[1:]
    seconds = rec.shape[1] / rate
    assert seconds > 4, f"recording too short: {seconds:.2f} s"
    for i, y in enumerate(outputs):
        rms = float(np.sqrt(np.mean(y ** 2)))
        print(f"jack: output {i}: {seconds:.2f} s, rms {rms:.4f}, underrun frames {underruns:g}")
        assert np.all(np.isfinite(y)), "non-finite output"
        assert rms > 1e-3, f"output {i} is silent (rms {rms:.2e})"
        env = envelope(y)
        if kind == "effect":
            # The beeps repeat every half second (120 bpm): a lag is known modulo that period.
            # 64-frame envelopes. The output may follow the latency by a trained model's own
            # onset response (measured: rave-gm.ts 192 to 320 frames, after-gm.ts 896 to 1250,
            # once 2786 with its diffusion noise); never before it. A wrong latency is off by
            # whole blocks (the worker block: 4096 for after-gm's chunk), so anything below
            # max(2048, block) is the model's. The lilv and fixture tests check the latency
            # exactly.
            period, hop = rate // 2, 64
            lag, r = best_lag(envelope(beeps, hop), envelope(y, hop), period // hop)
            extra = (lag * hop - latency) % period  # frames after the reported latency
            extra = extra - period if extra > period // 2 else extra
            print(f"jack: output {i} follows the input {latency + extra} frames later "
                  f"(modulo {period}; r = {r:.2f}); reported latency {latency}")
            assert r > 0.5, f"output envelope does not follow the input (r = {r:.2f})"
            assert -hop <= extra < max(2048, block), \
                f"output {extra} frames off the latency (worker block {block})"
        elif kind == "instrument":
            loop = 44100 // HOP  # jack_midiseq's 44100-frame note loop
            a, b = env[:-loop], env[loop:]
            r = float(np.corrcoef(a, b)[0, 1])
            print(f"jack: output {i} repeats with the 1 s note loop: r = {r:.2f}")
            assert r > 0.5, f"output does not follow the note loop (r = {r:.2f})"


def check_ardour(args):
    export = load(args[0], int(args[1]))
    reference = load(args[2], 1)[0]
    latency = int(args[3])
    y = export.mean(axis=0)  # the track is panned to the stereo master: both channels
    ref = reference[latency:]
    rms = float(np.sqrt(np.mean(y ** 2)))
    print(f"ardour: export {export.shape[1]} frames x {export.shape[0]} channels, rms {rms:.4f};"
          f" reference {len(reference)} frames, latency {latency}")
    assert np.all(np.isfinite(y)), "non-finite export"
    assert rms > 1e-3, f"export is silent (rms {rms:.2e})"
    assert abs(export.shape[1] - len(reference)) <= 1, (export.shape[1], len(reference))
    n = min(len(y), len(ref))
    lag, r_env = best_lag(envelope(ref[:n], 64), envelope(y[:n], 64), 256)
    print(f"ardour: export vs lv2apply's render advanced by the latency: best envelope lag "
          f"{lag * 64} frames (r = {r_env:.2f})")
    # Uncompensated, the lag would be the whole latency; measured: 192 frames (unexplained).
    assert abs(lag * 64) <= 512, f"export not latency-compensated: lag {lag * 64} frames"
    a, b = log_spectrogram(ref[:n]), log_spectrogram(y[:n])
    r_spec = float(np.corrcoef(a.ravel(), b.ravel())[0, 1])
    level = 20 * np.log10(rms / float(np.sqrt(np.mean(ref[:n] ** 2)) + 1e-12))
    print(f"ardour: log-spectrogram correlation with lv2apply's render {r_spec:.3f}, "
          f"level {level:+.1f} dB")
    assert r_spec >= 0.9, r_spec


if __name__ == "__main__":
    {"jack": check_jack, "ardour": check_ardour}[sys.argv[1]](sys.argv[2:])
