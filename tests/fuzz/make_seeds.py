#!/usr/bin/env python3
"""Writes the binary seed inputs of tests/fuzz/corpus/ (terrain-file, model-info, midi-voices)
in the formats fuzz-backend.c and fuzz-midi-voices.c read. Run from anywhere; the seeds are
committed, so this is only needed when a format changes.

terrain-file: the tensors of small nn_terrain checkpoints, in the order the real files store
them (parameters, buffers, submodules, then the hyperparameters; see core/terrain-file.c).
model-info: RAVE v2-, RAVE v1-, nn~ 1.5.6- and AFTER-style model descriptions."""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
METHOD_WORDS = ["encode", "decode", "forward", "get_methods", "get_attributes",
                "get_sample_rate", "reset", "structure", "timbre", "diffuse", "generate",
                "get_nb_steps", "set_nb_steps", "get_guidance_structure",
                "set_guidance_structure", "get_guidance_timbre", "set_guidance_timbre",
                "get_gain", "set_gain", "get_", "set_", "nb_steps", "guidance_structure",
                "guidance_timbre", "gain", "none", ""]
TENSOR_WORDS = ["m_in_dim", "m_out_dim", "m_cmax", "m_mapping_size", "m_gauss_scale", "two_pi",
                "B_T", "fc_in_gau.weight", "fc_in_gau.bias", "fc_in_linear.weight",
                "fc_in_linear.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias",
                "fc4.weight", "fc4.bias", "fc_out.weight", "fc_out.bias", "prelu1.weight",
                "prelu2.weight", "prelu3.weight", "prelu4.weight"]


def write(target, name, data):
    directory = os.path.join(HERE, "corpus", target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(bytes(data))


# ---------------------------------------------------------------- terrain-file
def tensor(name, shape, values, int64=False, buffer=False):
    out = [TENSOR_WORDS.index(name)]
    out.append((1 if int64 else 0) | (2 if buffer else 0) | (len(shape) << 2))
    out += list(shape)
    fmt = "<q" if int64 else "<f"
    for v in values:
        out += struct.pack(fmt, v)
    return out


def terrain(control, latent, channels, features, gauss, seed):
    rng = random.Random(seed)
    rand = lambda n: [rng.gauss(0, 0.1) for _ in range(n)]
    out = [0]  # archive header: readable
    first = "fc_in_gau" if gauss > 0 else "fc_in_linear"
    width = 2 * features if gauss > 0 else control
    layers = [(first, width, channels), ("fc2", channels, channels), ("fc3", channels, channels),
              ("fc4", channels, channels), ("fc_out", channels, latent)]
    for i, (name, n_in, n_out) in enumerate(layers):
        out += tensor(name + ".weight", [n_out, n_in], rand(n_in * n_out))
        out += tensor(name + ".bias", [n_out], rand(n_out))
        if i < 4:
            out += tensor("prelu%d.weight" % (i + 1), [1], [0.25])
    if gauss > 0:
        out += tensor("two_pi", [], [6.2831855], buffer=True)
        out += tensor("B_T", [control, features], rand(control * features), buffer=True)
    out += tensor("m_in_dim", [], [control], int64=True)
    out += tensor("m_out_dim", [], [latent], int64=True)
    out += tensor("m_cmax", [], [channels], int64=True)
    out += tensor("m_gauss_scale", [], [gauss])
    out += tensor("m_mapping_size", [], [features], int64=True)
    return out


write("terrain-file", "fourier-2-3-4-4", terrain(2, 3, 4, 4, 0.1, 1))
write("terrain-file", "linear-1-2-3-2", terrain(1, 2, 3, 2, 0.0, 2))

# ---------------------------------------------------------------- model-info
def i64(v):
    if -8 <= v < 120:
        return [v + 8]
    return [255] + list(struct.pack("<q", v))


def number(v):
    return [255] + list(struct.pack("<d", v))


def names(items):
    return [len(items)] + [METHOD_WORDS.index(n) for n in items]


def name_list(items):
    return [1] if items is None else [len(items) << 1] + [METHOD_WORDS.index(n) for n in items]


def model(methods, get_methods, get_attributes, params, sr=None, sampling_rate=None,
          after=False, count_code=0):
    out = [1 if after else 0, 0]  # harness choice, load succeeds
    out += names(methods) + name_list(get_methods) + name_list(get_attributes)
    out.append(len(params))
    for method, values in params:
        out += [METHOD_WORDS.index(method), count_code]
        for v in values:
            out += i64(v)
    out += [1] if sr is None else [0] + number(sr)
    out += [1] if sampling_rate is None else [0] + number(sampling_rate)
    return out


write("model-info", "rave-v2", model(
    ["encode", "decode", "forward", "get_methods", "get_attributes"],
    ["encode", "decode", "forward"], [],
    [("encode", [1, 1, 8, 2048]), ("decode", [8, 2048, 1, 1]), ("forward", [1, 1, 1, 1])],
    sr=44100.0))
write("model-info", "rave-v1", model(
    ["encode", "decode"], None, None,
    [("encode", [1, 1, 16, 2048]), ("decode", [16, 2048, 1, 1])], sampling_rate=48000.0))
write("model-info", "nn-tilde-1.5.6-attributes", model(
    ["forward", "get_attributes", "get_gain", "set_gain", "get_sample_rate"], None,
    ["none", "gain"], [("forward", [1, 1, 1, 1])]))
write("model-info", "after-midi", model(
    ["timbre", "diffuse", "decode", "get_nb_steps", "set_nb_steps", "get_guidance_structure",
     "set_guidance_structure", "get_guidance_timbre", "set_guidance_timbre"], None, None,
    [("timbre", [1, 1, 6, 2048]), ("diffuse", [22, 2048, 8, 2048]),
     ("decode", [8, 2048, 1, 1])], sr=44100.0, after=True))
write("model-info", "after-audio", model(
    ["structure", "timbre", "generate", "diffuse", "decode", "get_nb_steps", "set_nb_steps",
     "get_guidance_structure", "set_guidance_structure", "get_guidance_timbre",
     "set_guidance_timbre"], None, None,
    [("structure", [1, 1, 4, 2048]), ("timbre", [1, 1, 6, 2048]),
     ("generate", [10, 2048, 1, 1]), ("diffuse", [10, 2048, 8, 2048]),
     ("decode", [8, 2048, 1, 1])], sr=48000.0, after=True))

# ---------------------------------------------------------------- midi-voices
def midi(n_poly, ratio, events):
    out = [n_poly - 1, ratio - 1]
    for data, gap in events:
        out += [len(data)] + list(data) + [gap]
    return out


write("midi-voices", "chord-running-status", midi(8, 4, [
    (b"\x90\x3c\x64\x40\x50\x43\x48", 8), (b"\x80\x3c\x00", 3), (b"\x90\x40\x00", 5),
    (b"\xb0\x7b\x00", 4)]))
write("midi-voices", "sysex-clock-truncated", midi(4, 2, [
    (b"\xf0\x7e\x7f\x09\x01\xf7\x90\x30\x7f", 2), (b"\x90\x31\xf8\x60", 2), (b"\x90\x32", 1),
    (b"\xc0\x05\xd0\x40\x90\x33\x20", 255)]))
write("midi-voices", "steal-oldest", midi(2, 1, [
    (bytes([0x90, 60 + i, 100]), 1) for i in range(6)]))
