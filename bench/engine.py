#!/usr/bin/python3
"""PyTorch side of bench/engine.bench.js: conv3x3 64->64 + LeakyReLU on 16x64x48x48.

Runs as a server so the two sides can alternate iteration by iteration on a shared machine:
prints {"torch": version, "threads": n}, then for each stdin line `fwd` (no_grad forward) or `fwdbwd`
(forward + backward to input, weight and bias) runs one iteration and prints its time in ms.
usage: /usr/bin/python3 bench/engine.py [--threads 2]
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--threads', type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

x = torch.rand(16, 64, 48, 48)
w = (torch.rand(64, 64, 3, 3) - 0.5) * 0.1
b = torch.rand(64) - 0.5
xg = x.clone().requires_grad_(True)
wg = w.clone().requires_grad_(True)
bg = b.clone().requires_grad_(True)


def fwd():
    with torch.no_grad():
        F.leaky_relu(F.conv2d(x, w, b, padding=1), 0.05)


def fwdbwd():
    xg.grad = wg.grad = bg.grad = None
    F.leaky_relu(F.conv2d(xg, wg, bg, padding=1), 0.05).mean().backward()


passes = {'fwd': fwd, 'fwdbwd': fwdbwd}
print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd not in passes:
        break
    t0 = time.perf_counter()
    passes[cmd]()
    print((time.perf_counter() - t0) * 1000, flush=True)
