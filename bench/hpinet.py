#!/usr/bin/python3
"""PyTorch baseline for bench/hpinet.bench.js: HPINet (spec §2) written from the spec in plain PyTorch (patch
division by Python loops, as the released code does), weights and the stdin/stdout serving loop from bench/imdn.py.

usage: /usr/bin/python3 bench/hpinet.py WEIGHTS VARIANT SCALE --serve [--threads 2]
  prints {"torch", "threads"}, then answers one LR image path per stdin line with one JSON line
  {"ms", "cpu", "mean"} timing a single forward.
"""
import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imdn import read_safetensors, serve  # noqa: E402

VARIANTS = {
    'S': (40, 24, 72, [12, 16, 20, 24] * 2),
    'M': (56, 32, 100, [12, 16, 20, 24] * 2),
    'L': (64, 36, 128, [12, 14, 16, 20, 24] * 2),
}


def starts(length, p):
    """Patch starts: stride p-2, the last one snapped to the border."""
    step, out, i = p - 2, [], 0
    while i < length + step - p:
        out.append(length - p if i + p > length else i)
        i += step
    return out


def stripe_scale(length, p):
    """0.5 per overlap stripe covering each position (the reference aggregation)."""
    step, s, i = p - 2, torch.ones(length), p - 2
    while i < length + step - p:
        top = length - p if i + p > length else i
        s[top:i + 2] *= 0.5
        i += step
    return s


class Attention(nn.Module):
    def __init__(self, c, qk):
        super().__init__()
        self.to_q, self.to_k, self.to_v = nn.Linear(c, qk, bias=False), nn.Linear(c, qk, bias=False), nn.Linear(c, c, bias=False)
        self.scale = qk ** -0.5

    def forward(self, x, y):
        a = (self.to_q(x) @ self.to_k(y).transpose(-1, -2) * self.scale).softmax(-1)
        return a @ self.to_v(y)


class FFN(nn.Module):
    def __init__(self, c, h):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(c, h), nn.Linear(h, c)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class PreNorm(nn.Module):
    def __init__(self, c, fn):
        super().__init__()
        self.norm, self.fn = nn.LayerNorm(c), fn


class Block(nn.Module):
    def __init__(self, c, qk, h):
        super().__init__()
        self.layers = nn.ModuleList(nn.ModuleList([PreNorm(c, Attention(c, qk)), PreNorm(c, FFN(c, h))]) for _ in range(3))

    def forward(self, x, y):
        for i, (att, ff) in enumerate(self.layers):
            n = att.norm(x)
            x = att.fn(n, y if i == 0 else n) + x
            x = ff.fn(ff.norm(x)) + x
        return x


class Match(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = nn.LayerNorm(c)

    def forward(self, t):  # t: (n, P², C) patches of one image
        q = self.norm(t.mean(1))
        a = q @ q.t() * q.shape[-1] ** -0.5 - 100 * torch.eye(q.shape[0])
        return t[a.argmax(-1)]


class HPINet(nn.Module):
    def __init__(self, variant, scale):
        super().__init__()
        c, qk, h, self.ps = VARIANTS[variant]
        self.scale = scale
        self.first_conv = nn.Conv2d(3, c, 3, 1, 1)
        self.blocks = nn.ModuleList(Block(c, qk, h) for _ in self.ps)
        self.mid_convs = nn.ModuleList(nn.Conv2d(c, c, 3, 1, 1) for _ in self.ps)
        self.cross_match = nn.ModuleList(Match(c) for _ in self.ps)
        if scale == 4:
            self.upconv1, self.upconv2 = nn.Conv2d(c, 4 * c, 3, 1, 1), nn.Conv2d(c, 4 * c, 3, 1, 1)
        else:
            self.upconv = nn.Conv2d(c, scale * scale * c, 3, 1, 1)
        self.last_conv = nn.Conv2d(c, 3, 3, 1, 1)

    def forward(self, x):  # batch 1, sides >= the largest patch
        _, _, hh, ww = x.shape
        base = F.interpolate(x, scale_factor=self.scale, mode='bilinear', align_corners=False)
        f = self.first_conv(x)
        for i, p in enumerate(self.ps):
            rows, cols = starts(hh, p), starts(ww, p)
            t = torch.stack([f[0, :, r:r + p, c:c + p] for r in rows for c in cols])  # (n, C, P, P)
            n, c = t.shape[:2]
            t = t.flatten(2).transpose(1, 2)  # (n, P², C)
            t = self.blocks[i](t, self.cross_match[i](t)).transpose(1, 2).reshape(n, c, p, p)
            out = torch.zeros_like(f[0])
            k = 0
            for r in rows:
                for cc in cols:
                    out[:, r:r + p, cc:cc + p] += t[k]
                    k += 1
            out = out * stripe_scale(hh, p)[:, None] * stripe_scale(ww, p)[None, :]
            f = f + self.mid_convs[i](out[None])
        if self.scale == 4:
            y = F.leaky_relu(F.pixel_shuffle(self.upconv1(f), 2), 0.1)
            y = F.leaky_relu(F.pixel_shuffle(self.upconv2(y), 2), 0.1)
        else:
            y = F.leaky_relu(F.pixel_shuffle(self.upconv(f), self.scale), 0.1)
        return base + self.last_conv(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('weights')
    ap.add_argument('variant', choices=list(VARIANTS))
    ap.add_argument('scale', type=int)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--serve', action='store_true', required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    model = HPINet(a.variant, a.scale)
    model.load_state_dict(read_safetensors(a.weights), strict=True)
    model.eval()
    serve(model)


if __name__ == '__main__':
    main()
