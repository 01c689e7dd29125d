#!/usr/bin/python3
"""Reference timing for tests/bench/bench-terrain: python3-torch (Debian's /usr/bin/python3,
python3-torch 1.13) training and rendering the same Latent Terrain network (nn_terrain's
Fourier CPPN, DESIGN.md) as the C core, one intra-op and one inter-op thread.

usage: /usr/bin/python3 terrain_reference.py INITIAL.pt DATASET.json EPOCHS WIDTH HEIGHT
INITIAL.pt: the initial weights (an nn_terrain checkpoint written by the C core), so both sides
start from the same network. DATASET.json: nn_terrain's dictionary layout. Trains EPOCHS epochs
with MSE and torch.optim.Adam (lr 1e-3, batch 32, reshuffled every epoch, last batch short)
after one untimed warm-up epoch on a copy, then runs the forward on the WIDTH x HEIGHT grid of
the default render (x = -16 + 32 j / W, y = -4 + 8 i / H). Prints one JSON line:
{"steps", "train_s", "loss_first", "loss_last", "render_s", "render_mean0"}"""
import copy
import json
import math
import sys
import time

import torch
import torch.nn as nn


class Terrain(nn.Module):
    def __init__(self, b_t, c, out_dims):
        super().__init__()
        self.register_buffer("B_T", b_t)
        m = b_t.shape[1]
        self.fc_in_gau = nn.Linear(2 * m, c)
        self.fc2, self.fc3, self.fc4 = nn.Linear(c, c), nn.Linear(c, c), nn.Linear(c, c)
        self.fc_out = nn.Linear(c, out_dims)
        self.prelu1, self.prelu2, self.prelu3, self.prelu4 = (nn.PReLU() for _ in range(4))

    def forward(self, x):
        h = (2 * math.pi * x) @ self.B_T
        h = torch.cat([torch.sin(h), torch.cos(h)], -1)
        h = self.prelu1(self.fc_in_gau(h))
        h = self.prelu2(self.fc2(h))
        h = self.prelu3(self.fc3(h))
        h = self.prelu4(self.fc4(h))
        return self.fc_out(h)


def load(path):
    saved = torch.jit.load(path)
    tensors = dict(saved.named_parameters())
    tensors.update(dict(saved.named_buffers()))
    net = Terrain(tensors["B_T"].clone(), tensors["fc2.weight"].shape[0],
                  tensors["fc_out.weight"].shape[0])
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.copy_(tensors[name])
    return net


def dataset(path):
    d = json.load(open(path))
    xs, zs = [], []
    for key, coords in d["coordinates"].items():
        lat = d["latents"][key]
        n = min(len(coords["0"]), len(lat["0"]))
        xs.append(torch.tensor([coords[str(i)][:n] for i in range(len(coords))]).T)
        zs.append(torch.tensor([lat[str(i)][:n] for i in range(len(lat))]).T)
    return torch.cat(xs).float(), torch.cat(zs).float()


def train(net, x, z, epochs):
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses, steps = [], 0
    for _ in range(epochs):
        order = torch.randperm(x.shape[0])
        total, batches = 0.0, 0
        for start in range(0, x.shape[0], 32):
            idx = order[start:start + 32]
            loss = nn.functional.mse_loss(net(x[idx]), z[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            batches += 1
            steps += 1
        losses.append(total / batches)
    return steps, losses


def main():
    initial, data, epochs, width, height = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                                            int(sys.argv[4]), int(sys.argv[5]))
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(1)
    net = load(initial)
    x, z = dataset(data)
    train(copy.deepcopy(net), x, z, 1)  # warm-up: allocator, kernels
    t0 = time.perf_counter()
    steps, losses = train(net, x, z, epochs)
    train_s = time.perf_counter() - t0

    render_net = load(initial)
    jj, ii = torch.meshgrid(torch.arange(width), torch.arange(height), indexing="xy")
    grid = torch.stack([-16 + jj.reshape(-1) * (32.0 / width),
                        -4 + ii.reshape(-1) * (8.0 / height)], -1).float()
    with torch.no_grad():
        render_net(grid[:width])  # warm-up
        t0 = time.perf_counter()
        out = render_net(grid)
        render_s = time.perf_counter() - t0
    print(json.dumps({"steps": steps, "train_s": train_s, "loss_first": losses[0],
                      "loss_last": losses[-1], "render_s": render_s,
                      "render_mean0": out[:, 0].mean().item()}))


if __name__ == "__main__":
    main()
