#!/usr/bin/python3
# Runs with /usr/bin/python3 (Debian's python3-torch 1.13.1), so LibTorch 1.13 keeps loading
# the files.
#
# Re-exports the committed models with the current model code (train_rave.py,
# train_after.py) and the trained weights taken from the committed files themselves: no
# checkpoint, no training. Used when the model code changes but the weights must not, e.g. to
# drop calls a newer LibTorch deprecates (torch.stft with return_complex=False: LibTorch 2.6
# warns "will raise an error in a future release" when loading the old files).
#
#   /usr/bin/python3 models/reexport.py           # rewrites rave-gm.ts, after-gm.ts, after-gm-midi.ts
#   /usr/bin/python3 models/reexport.py --check   # only compares, writes nothing
#
# For each file: every parameter and buffer of the old file (state_dict) goes into the module
# built by the current code (same names and shapes, strict), the module is scripted and saved,
# and every method the file lists (get_methods), plus reset() and the attribute getters, is
# called on the old and the new file with the same fixed inputs (two consecutive blocks, so
# the streaming caches are compared too, and the same random seed for AFTER's noise): the
# outputs must agree to 1e-6 (max abs). rave-gm.ts goes first: the AFTER files embed it.

import io
import os
import re
import sys
import zipfile

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_after  # noqa: E402
import train_rave  # noqa: E402

TOLERANCE = 1e-6


def build_rave(old):
    """RaveGM from the current code with the old file's weights, scripted."""
    sd = old.state_dict()
    enc, dec = train_rave.Encoder(), train_rave.Decoder()
    t = train_rave.N_TIMBRE
    model = train_rave.RaveGM(enc, dec, torch.zeros(t), torch.eye(t), torch.eye(t))
    train_rave.set_streaming(model, True)
    load_exact(model, sd)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return torch.jit.script(model)


def build_after(old, midi, rave_path):
    """AfterAudio / AfterMidi from the current code around the (re-exported) rave-gm.ts, with
    the old file's weights, scripted as train_after.export does."""
    sd = old.state_dict()
    # (z_scale, like every other tensor, is overwritten from the file below)
    flow = train_after.Flow(midi, sd["z_mean"].flatten(), torch.ones(train_after.LATENT))
    ae, ae_timbre = torch.jit.load(rave_path).eval(), torch.jit.load(rave_path).eval()
    for p_ae, p_timbre in zip(ae.parameters(), ae_timbre.parameters()):
        p_timbre.data = p_ae.data
    module = (train_after.AfterMidi if midi else train_after.AfterAudio)(flow, ae, ae_timbre)
    load_exact(module, sd)
    return torch.jit.script(module.eval())


def load_exact(module, sd):
    """Every tensor of sd into module: same names, same shapes, nothing left over."""
    own = module.state_dict()
    assert set(own) == set(sd), ("names differ", sorted(set(own) ^ set(sd)))
    for k, v in sd.items():
        assert own[k].shape == v.shape and own[k].dtype == v.dtype, (k, own[k].shape, v.shape)
    module.load_state_dict(sd, strict=True)


def fixed_input(params, block, seed):
    """[1, in_channels, time] for a method whose _params is [in_ch, in_ratio, out_ch, out_ratio]."""
    in_ch, in_ratio = int(params[0]), int(params[1])
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, in_ch, block // in_ratio, generator=g) * 0.3


def compare(old, new, name, block):
    """Every method on old and new; returns the largest difference seen."""
    worst = 0.0
    methods = list(old.get_methods())
    assert list(new.get_methods()) == methods, name
    for attr in list(old.get_attributes()):
        a, b = getattr(old, "get_" + attr)(), getattr(new, "get_" + attr)()
        assert a == b, (name, attr, a, b)
    for m in methods:
        params = getattr(old, m + "_params")
        assert torch.equal(params, getattr(new, m + "_params")), (name, m)
        diffs, level = [], 0.0
        for module in (old, new):
            module.reset()
        for i in range(2):  # two blocks: the second runs on the caches the first left
            x = fixed_input(params, block, 100 + i)
            if name.startswith("after-gm-midi") and m in ("diffuse", "generate"):
                # note inputs: pitch / velocity pairs, then the timbre channels
                x = x.clone()
                n_poly = 2 * train_after.N_POLY
                x[:, :n_poly:2] = 60.0 + 4.0 * torch.arange(train_after.N_POLY).view(1, -1, 1)
                x[:, 1:n_poly:2] = 100.0
            outs = []
            for module in (old, new):
                torch.manual_seed(1234 + i)
                with torch.no_grad():
                    outs.append(getattr(module, m)(x))
            assert outs[0].shape == outs[1].shape, (name, m, outs[0].shape, outs[1].shape)
            assert outs[0].numel() and torch.isfinite(outs[0]).all(), (name, m)
            diffs.append((outs[0] - outs[1]).abs().max().item())
            level = max(level, outs[0].abs().max().item())
        print("  %-16s %-10s max abs diff %.3g (outputs up to %.3g)" % (name, m, max(diffs), level))
        worst = max(worst, *diffs)
    return worst


def deprecated_stft(module):
    """Whether the scripted code calls stft with return_complex=False (its last argument in
    the serialized code: torch.functional.stft(x, n_fft, hop, ..., return_complex, ))."""
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        code = "".join(z.read(n).decode() for n in z.namelist()
                       if n.endswith(".py") and not n.endswith("torch/functional.py"))
    calls = re.findall(r"functional\.stft\(([^\n]*)\)", code)
    assert calls, "no stft call found"
    return any(c.rstrip(", ").split(",")[-1].strip() == "False" for c in calls)


def main():
    check_only = "--check" in sys.argv
    torch.set_num_threads(1)
    rave_path = os.path.join(HERE, "rave-gm.ts")
    tmp = os.path.join(HERE, ".data", "reexport")
    os.makedirs(tmp, exist_ok=True)
    worst = 0.0
    jobs = [("rave-gm.ts", None), ("after-gm.ts", False), ("after-gm-midi.ts", True)]
    new_rave = rave_path
    for name, midi in jobs:
        path = os.path.join(HERE, name)
        old = torch.jit.load(path).eval()
        new = build_rave(old) if midi is None else build_after(old, midi, new_rave)
        out = os.path.join(tmp, name)
        new.save(out)
        if midi is None:
            new_rave = out  # the AFTER files embed the re-exported autoencoder
        new = torch.jit.load(out).eval()
        print("%s: old file %s return_complex=False, new file %s" % (
            name, "has" if deprecated_stft(old) else "has no",
            "has it" if deprecated_stft(new) else "has none"))
        assert not deprecated_stft(new), name
        # AFTER's chunk: 4 latent frames of 1024 samples; the autoencoder: two latent frames
        worst = max(worst, compare(old, new, name, 4096 if midi is not None else 2048))
    print("largest difference: %.3g (tolerance %g)" % (worst, TOLERANCE))
    if worst > TOLERANCE:
        sys.exit("reexport: outputs differ; nothing written")
    if check_only:
        print("--check: nothing written (re-exported files in %s)" % tmp)
        return
    for name, _ in jobs:
        os.replace(os.path.join(tmp, name), os.path.join(HERE, name))
        print("wrote models/%s (%.2f MB)" % (name, os.path.getsize(os.path.join(HERE, name)) / 1e6))


if __name__ == "__main__":
    main()
