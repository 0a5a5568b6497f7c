#!/usr/bin/python3
"""PyTorch baseline for bench/imdn.bench.js: IMDN (spec §1) written from the spec, weights read from safetensors
with json + struct (no `safetensors` package needed), per-image inference time on a folder of LR images.

Batch mode prints one JSON object: {"torch": version, "threads": n, "images": [{"name", "ms", "mean"}]}.
usage: /usr/bin/python3 bench/imdn.py WEIGHTS LR_DIR SCALE [--threads 2] [--repeat 3]
       /usr/bin/python3 bench/imdn.py WEIGHTS - SCALE --serve   (one image path per stdin line → one JSON line
       {"ms", "cpu", "mean"} timing a single forward, so a caller can interleave its own runs with ours)
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        if info['dtype'] != 'F32':
            raise SystemExit(f'{path}: {name} is {info["dtype"]}, only F32 is supported here')
        begin, end = info['data_offsets']
        arr = np.frombuffer(body[begin:end], dtype='<f4').reshape(info['shape'])
        out[name] = torch.from_numpy(arr.copy())
    return out


def conv(cin, cout, k, stride=1):
    return nn.Conv2d(cin, cout, k, stride, (k - 1) // 2)


class CCA(nn.Module):
    def __init__(self, c, r=16):
        super().__init__()
        self.conv_du = nn.Sequential(nn.Conv2d(c, c // r, 1), nn.ReLU(), nn.Conv2d(c // r, c, 1), nn.Sigmoid())

    def forward(self, x):
        mean = x.mean(dim=(2, 3), keepdim=True)
        std = (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).sqrt()
        return x * self.conv_du(std + mean)


class IMDB(nn.Module):
    def __init__(self, c=64):
        super().__init__()
        self.d, self.r = c // 4, c - c // 4
        self.c1, self.c2, self.c3 = conv(c, c, 3), conv(self.r, c, 3), conv(self.r, c, 3)
        self.c4, self.c5 = conv(self.r, self.d, 3), conv(self.d * 4, c, 1)
        self.cca = CCA(self.d * 4)

    def forward(self, x):
        act = lambda t: F.leaky_relu(t, 0.05)
        d1, r1 = torch.split(act(self.c1(x)), (self.d, self.r), 1)
        d2, r2 = torch.split(act(self.c2(r1)), (self.d, self.r), 1)
        d3, r3 = torch.split(act(self.c3(r2)), (self.d, self.r), 1)
        d4 = self.c4(r3)
        return self.c5(self.cca(torch.cat([d1, d2, d3, d4], 1))) + x


class IMDN(nn.Module):
    def __init__(self, scale, nf=64):
        super().__init__()
        self.fea_conv = conv(3, nf, 3)
        for i in range(1, 7):
            setattr(self, f'IMDB{i}', IMDB(nf))
        self.c = nn.Sequential(nn.Conv2d(nf * 6, nf, 1), nn.LeakyReLU(0.05))
        self.LR_conv = conv(nf, nf, 3)
        self.upsampler = nn.Sequential(conv(nf, 3 * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x):
        fea = self.fea_conv(x)
        outs, b = [], fea
        for i in range(1, 7):
            b = getattr(self, f'IMDB{i}')(b)
            outs.append(b)
        return self.upsampler(self.LR_conv(self.c(torch.cat(outs, 1))) + fea)


def load(path):
    arr = np.asarray(Image.open(path).convert('RGB'), dtype=np.float32) / 255.0
    return torch.from_numpy(arr.transpose(2, 0, 1).copy()).unsqueeze(0)


def timed(model, x):
    """(wall ms, process CPU ms, output mean) of one forward."""
    with torch.no_grad():
        t0, c0 = time.perf_counter(), time.process_time()
        y = model(x)
        return (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000, float(y.mean())


def serve(model):
    cache = {}
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        path = line.strip()
        if not path:
            continue
        x = cache.setdefault(path, load(path))
        ms, cpu, mean = timed(model, x)
        print(json.dumps({'ms': ms, 'cpu': cpu, 'mean': mean}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('weights')
    ap.add_argument('lr_dir')
    ap.add_argument('scale', type=int)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeat', type=int, default=3)
    ap.add_argument('--serve', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = IMDN(a.scale)
    model.load_state_dict(read_safetensors(a.weights), strict=True)
    model.eval()
    if a.serve:
        return serve(model)
    images = []
    for f in sorted(os.listdir(a.lr_dir)):
        if not f.lower().endswith(('.png', '.bmp')):
            continue
        x = load(os.path.join(a.lr_dir, f))
        _, _, mean = timed(model, x)  # warm-up
        times = [timed(model, x)[0] for _ in range(a.repeat)]
        images.append({'name': os.path.splitext(f)[0], 'ms': sorted(times)[len(times) // 2], 'mean': mean})
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'images': images}))


if __name__ == '__main__':
    main()
