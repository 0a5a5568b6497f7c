#!/usr/bin/python3
"""PyTorch baseline for bench/train.bench.js: the same training step as `lightsr train` (IMDN, L1 loss,
Adam β 0.9/0.999, eps 1e-8, lr 2e-4) on random [0,1] batches, timing each iteration (zero_grad, forward, loss,
backward, step, loss.item()). The IMDN module is the one from bench/imdn.py (written from spec §1).

--precision bf16 runs the forward pass and loss under torch.autocast('cpu', bfloat16), as `lightsr train --precision bf16`.

Prints one JSON object: {"torch", "threads", "ms": [per-iteration wall ms], "cpu": [per-iteration CPU ms], "loss": [..]}.
usage: /usr/bin/python3 bench/train.py [--scale 4] [--batch 16] [--patch 192] [--iters 5] [--threads 2] [--seed 0] [--precision fp32|bf16]
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imdn import IMDN  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scale', type=int, default=4)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--patch', type=int, default=192, help='HR patch side (LR = patch / scale)')
    ap.add_argument('--iters', type=int, default=5)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--precision', choices=['fp32', 'bf16'], default='fp32')
    a = ap.parse_args()
    if a.patch % a.scale:
        raise SystemExit(f'--patch {a.patch} must be a multiple of --scale {a.scale}')
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = IMDN(a.scale)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=2e-4, betas=(0.9, 0.999), eps=1e-8)
    lp = a.patch // a.scale
    ms, cpu, losses = [], [], []
    for _ in range(a.iters):
        hr = torch.rand(a.batch, 3, a.patch, a.patch)
        lr = F.avg_pool2d(hr, a.scale)  # any aligned input works for timing
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=a.precision == 'bf16'):
            loss = F.l1_loss(model(lr), hr)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        ms.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        assert lr.shape[-1] == lp
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'precision': a.precision, 'ms': ms, 'cpu': cpu, 'loss': losses}))


if __name__ == '__main__':
    main()
