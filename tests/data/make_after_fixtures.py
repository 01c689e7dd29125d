#!/usr/bin/python3
"""Builds the tiny AFTER-interface fixtures used by tests/unit/test-after.c and
tests/element/test-after.c. Run with Debian's /usr/bin/python3 and python3-torch 1.13 (so
LibTorch 1.13 loads them); the outputs are committed:  /usr/bin/python3 tests/data/make_after_fixtures.py

The fixtures follow AFTER's nn~ export interface (methods structure/timbre/diffuse/decode/
generate/forward with *_params, attributes nb_steps/guidance_structure/guidance_timbre with
get_/set_, `timbre` returning one chunk of frames whatever it is given) but compute plain,
checkable maths instead of a diffusion model, so tests can predict the output:

  audio model  (after-audio.ts): sr 16000, R = 256, chunk 4, zs = 3, zt = 2, 4 latents.
    structure: per frame [rms, mean, max |x|];  timbre: [rms, mean] of the whole block;
    diffuse: latents (pitch 69, amplitude, 0, 0), amplitude = structure rms * timbre0 *
      guidance_structure * guidance_timbre * nb_steps;
  after-audio-48k.ts, after-midi-48k.ts: the same at 48 kHz (the LV2 resampling tests).
  MIDI model   (after-midi.ts):  same rates, n_poly 2, zt 2: diffuse maps voice v to
    (pitch_v, velocity_v / 127 * timbre0 * guidances * nb_steps);
  decode (both): latents (pitch0, amp0, pitch1, amp1) -> sum of two sines at the MIDI
    pitches' frequencies with those amplitudes, phase carried between calls (reset clears it).
With AFTER's 2-D timbre map (after-audio-map.ts, after-midi-map.ts): map2latent / latent2map,
  params [2, 1, zt, 1] / [zt, 1, 2, 1], map2latent (x, y) -> timbre (0.5 x, 0.25 y) per frame
  (latent2map its inverse).
Bad ones: after-missing-attr.ts (no get_/set_guidance_timbre), after-wrong-channels.ts
(diffuse takes zs + zt + 1 channels), after-no-chunk.ts (timbre always returns 32 frames)."""
import math
import os
from typing import List

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
SR = 16000
RATIO = 256
CHUNK = 4
ZS = 3
ZT = 2
LATENTS = 4


def midi_hz(pitch: torch.Tensor) -> torch.Tensor:
    return 440.0 * torch.pow(2.0, (pitch - 69.0) / 12.0)


class AfterBase(torch.nn.Module):
    """Methods shared by every fixture; attributes get_/set_ for nb_steps and
    guidance_structure (guidance_timbre's accessors are added by subclasses)."""

    def __init__(self, n_poly: int = 0, chunk: int = CHUNK, extra_channels: int = 0,
                 sr: int = SR):
        super().__init__()
        self.sr = sr
        self.ratio = RATIO
        self.chunk_size = chunk
        self.n_poly = n_poly
        self.zt = ZT
        self.nb_steps = 1
        self.guidance_structure = 1.0
        self.guidance_timbre = 1.0
        notes = 2 * n_poly if n_poly > 0 else ZS
        core_in = notes + ZT + extra_channels
        if n_poly == 0:
            self.register_buffer("structure_params", torch.tensor([1, 1, ZS, RATIO]))
            self.register_buffer("forward_params", torch.tensor([2, 1, 1, 1]))
        self.register_buffer("timbre_params", torch.tensor([1, 1, ZT, RATIO]))
        self.register_buffer("diffuse_params", torch.tensor([core_in, RATIO, LATENTS, RATIO]))
        self.register_buffer("generate_params", torch.tensor([core_in, RATIO, 1, 1]))
        self.register_buffer("decode_params", torch.tensor([LATENTS, RATIO, 1, 1]))
        self.register_buffer("phase", torch.zeros(2))

    def gain(self) -> float:
        return self.guidance_structure * self.guidance_timbre * float(self.nb_steps)

    @torch.jit.export
    def structure(self, x: torch.Tensor) -> torch.Tensor:
        frames = x.reshape(x.shape[0], -1, self.ratio)
        rms = torch.sqrt(torch.mean(frames * frames, -1))
        return torch.stack([rms, frames.mean(-1), frames.abs().amax(-1)], 1)

    @torch.jit.export
    def timbre(self, x: torch.Tensor) -> torch.Tensor:
        rms = torch.sqrt(torch.mean(x * x, -1))
        z = torch.cat([rms, x.mean(-1)], 1)
        return z.unsqueeze(-1).repeat(1, 1, self.chunk_size)

    @torch.jit.export
    def diffuse(self, x: torch.Tensor) -> torch.Tensor:
        zt = x[:, -self.zt:].mean(-1, keepdim=True)
        g = self.gain()
        if self.n_poly == 0:
            amp = x[:, 0:1] * zt[:, 0:1] * g
            return torch.cat([torch.full_like(amp, 69.0), amp, torch.zeros_like(amp),
                              torch.zeros_like(amp)], 1)
        out = []
        for v in range(2):
            if v < self.n_poly:
                out.append(x[:, 2 * v:2 * v + 1])
                out.append(x[:, 2 * v + 1:2 * v + 2] / 127.0 * zt[:, 0:1] * g)
            else:
                out.append(torch.zeros_like(x[:, :1]))
                out.append(torch.zeros_like(x[:, :1]))
        return torch.cat(out, 1)

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        frames = z.shape[-1]
        n = torch.arange(1, self.ratio + 1, dtype=torch.float32)
        pieces: List[torch.Tensor] = []
        for f in range(frames):
            block = torch.zeros(self.ratio)
            for v in range(2):
                w = 2.0 * math.pi * midi_hz(z[0, 2 * v, f]) / self.sr
                block = block + z[0, 2 * v + 1, f] * torch.sin(self.phase[v] + w * n)
                self.phase[v] = torch.remainder(self.phase[v] + w * self.ratio, 2.0 * math.pi)
            pieces.append(block)
        return torch.cat(pieces).reshape(1, 1, -1).repeat(z.shape[0], 1, 1)

    @torch.jit.export
    def generate(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.diffuse(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.structure(x[:, :1])
        t = self.timbre(x[:, 1:2])
        return self.generate(torch.cat([s, t], 1))

    @torch.jit.export
    def reset(self) -> int:
        self.phase.zero_()
        return 0

    @torch.jit.export
    def get_nb_steps(self) -> int:
        return self.nb_steps

    @torch.jit.export
    def set_nb_steps(self, value: int) -> int:
        if value < 1 or value > 16:
            return -1
        self.nb_steps = value
        return 0

    @torch.jit.export
    def get_guidance_structure(self) -> float:
        return self.guidance_structure

    @torch.jit.export
    def set_guidance_structure(self, value: float) -> int:
        self.guidance_structure = value
        return 0


class AfterComplete(AfterBase):
    @torch.jit.export
    def get_guidance_timbre(self) -> float:
        return self.guidance_timbre

    @torch.jit.export
    def set_guidance_timbre(self, value: float) -> int:
        self.guidance_timbre = value
        return 0

    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["nb_steps", "guidance_structure", "guidance_timbre"]

    @torch.jit.export
    def get_methods(self) -> List[str]:
        if self.n_poly == 0:
            return ["forward", "structure", "timbre", "diffuse", "decode", "generate"]
        return ["timbre", "diffuse", "decode", "generate"]


class AfterMap(AfterComplete):
    """AfterComplete plus AFTER's 2-D timbre map (zt = 2 here)."""

    def __init__(self, n_poly: int = 0):
        super().__init__(n_poly=n_poly)
        self.register_buffer("map2latent_params", torch.tensor([2, 1, ZT, 1]))
        self.register_buffer("latent2map_params", torch.tensor([ZT, 1, 2, 1]))

    @torch.jit.export
    def map2latent(self, xy: torch.Tensor) -> torch.Tensor:
        return torch.stack([0.5 * xy[:, 0], 0.25 * xy[:, 1]], 1)

    @torch.jit.export
    def latent2map(self, z: torch.Tensor) -> torch.Tensor:
        return torch.stack([2.0 * z[:, 0], 4.0 * z[:, 1]], 1)

    @torch.jit.export
    def get_methods(self) -> List[str]:
        if self.n_poly == 0:
            return ["forward", "structure", "timbre", "diffuse", "decode", "generate",
                    "map2latent", "latent2map"]
        return ["timbre", "diffuse", "decode", "generate", "map2latent", "latent2map"]


class AfterMissingAttr(AfterBase):
    @torch.jit.export
    def get_attributes(self) -> List[str]:
        return ["nb_steps", "guidance_structure"]


def save(module: torch.nn.Module, name: str) -> None:
    path = os.path.join(HERE, name)
    torch.jit.script(module).save(path)
    print(path, os.path.getsize(path), "bytes")


def main() -> None:
    save(AfterComplete(), "after-audio.ts")
    save(AfterComplete(n_poly=2), "after-midi.ts")
    save(AfterMissingAttr(), "after-missing-attr.ts")
    save(AfterComplete(extra_channels=1), "after-wrong-channels.ts")
    save(AfterComplete(chunk=32), "after-no-chunk.ts")
    # At 48 kHz, for the LV2 plugins at a 44.1 kHz host (resampling): A4 must stay 440 Hz.
    save(AfterComplete(sr=48000), "after-audio-48k.ts")
    save(AfterComplete(n_poly=2, sr=48000), "after-midi-48k.ts")
    save(AfterMap(), "after-audio-map.ts")
    save(AfterMap(n_poly=2), "after-midi-map.ts")


if __name__ == "__main__":
    main()
