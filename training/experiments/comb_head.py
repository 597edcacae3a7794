#!/usr/bin/env python3
"""Experiment (issue 11): a learned pitch comb. Like deep_filter_head.py, but the filter's taps may
include the noisy spectrum one pitch period back (`dump-features --complex-bins K --comb`, the
engine's own pitch comb), and the head may read per-bin comb cues besides the trunk's output.

Output is the dev loss on the filtered bins, against the same frozen model without a filter; nothing is
written. Arms: `--order 3` (the deep filter as measured), `--order 1 --comb` (F = c0 X + c1 P),
`--order 3 --comb`, each with or without `--cues`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from deep_filter_head import expand, output_loss, prepare  # noqa: E402
from head_fit import add_common_args, fit_head, load_frozen  # noqa: E402


def add_comb(d: dict, dump: str, bins: int):
    T = d["g"].shape[0]
    pc = np.asarray(np.load(os.path.join(dump, "noisy_comb.npy"), mmap_mode="r")[:T, :2 * bins], dtype=np.float32)
    d["pr"], d["pi"] = expand(torch.from_numpy(pc))
    # Cues per bin: the normalised cross term of X and P (cos and sin of their phase difference,
    # weighted by how equal their levels are) and their level ratio.
    xr, xi, pr, pi = d["xr"], d["xi"], d["pr"], d["pi"]
    cr = xr * pr + xi * pi
    ci = xi * pr - xr * pi
    ex, ep = xr * xr + xi * xi, pr * pr + pi * pi
    den = 0.5 * (ex + ep) + 1e-12
    ratio = 0.5 * torch.log((ep + 1e-12) / (ex + 1e-12)).clamp(-5, 5)
    d["cues"] = torch.cat([cr / den, ci / den, ratio * (ep > 0)], dim=-1)


class Head(torch.nn.Module):
    def __init__(self, n_in: int, bins: int, taps: int, hidden: int):
        super().__init__()
        self.hid = torch.nn.Linear(n_in, hidden) if hidden else None
        self.out = torch.nn.Linear(hidden or n_in, 2 * taps * bins)
        torch.nn.init.zeros_(self.out.weight)
        torch.nn.init.zeros_(self.out.bias)
        self.taps, self.bins = taps, bins

    def forward(self, u):
        if self.hid is not None:
            u = torch.tanh(self.hid(u))
        return torch.tanh(self.out(u)).reshape(u.shape[0], self.bins, self.taps, 2)


def frame_loss(model, head, d, idx, args, norm, identity=False):
    order = args.order
    idx = idx[idx >= order - 1]
    hist = idx[:, None] - torch.arange(order - 1, -1, -1)[None, :]
    xr = d["xr"][hist].permute(1, 0, 2)
    xi = d["xi"][hist].permute(1, 0, 2)
    taps_r = [xr[order - 1 - i] for i in range(order)]
    taps_i = [xi[order - 1 - i] for i in range(order)]
    if args.comb:
        taps_r.append(d["pr"][idx])
        taps_i.append(d["pi"][idx])
    g = d["g"][idx]
    if identity:
        fr, fi = taps_r[0], taps_i[0]
    else:
        u = torch.cat([d["y"][idx], (d["f"][idx] - model.feature_mean) / model.feature_std], -1)
        if args.cues:
            u = torch.cat([u, d["cues"][idx]], -1)
        dep = head(u) * (d["p"][idx][:, None] * (1.0 - g))[..., None, None]
        fr = torch.zeros_like(g)
        fi = torch.zeros_like(g)
        for i, (a, b) in enumerate(zip(taps_r, taps_i)):
            cr = dep[..., i, 0] + (1.0 if i == 0 else 0.0)
            ci = dep[..., i, 1]
            fr = fr + cr * a - ci * b
            fi = fi + cr * b + ci * a
    return output_loss(d, idx, fr, fi, taps_r[0], taps_i[0], norm, args.over_suppress, 1.0, 5.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    add_common_args(ap, max_frames=1_440_000, steps=2000, data_help="written with --complex-bins --comb",
                    parity_help="(unused)", many_dumps=True)
    ap.add_argument("--bins", type=int, default=40)
    ap.add_argument("--order", type=int, default=3)
    ap.add_argument("--comb", action="store_true")
    ap.add_argument("--cues", action="store_true")
    ap.add_argument("--hidden", type=int, default=0)
    ap.add_argument("--over-suppress", type=float, default=1.0)
    ap.add_argument("--gain-decay", type=float, default=0.2)
    args = ap.parse_args()
    model, _, _ = load_frozen(args)
    t0 = time.time()
    parts = []
    for dd in args.data:
        p = prepare(model, dd, args.bins, args.max_frames, args.gain_decay)
        add_comb(p, dd, args.bins)
        parts.append(p)
    tr = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    va = prepare(model, args.val, args.bins, 10 ** 9, args.gain_decay)
    add_comb(va, args.val, args.bins)
    s = tr["sr"] ** 2 + tr["si"] ** 2
    norm = float((s * tr["care"]).sum() / tr["care"].sum())
    n_in = model.hidden + model.n_features + (3 * args.bins if args.cues else 0)
    head = Head(n_in, args.bins, args.order + (1 if args.comb else 0), args.hidden)
    print(f"prepared in {time.time() - t0:.0f} s", flush=True)
    all_va = torch.arange(va["g"].shape[0])

    def val(identity=False):
        with torch.no_grad():
            return frame_loss(model, head, va, all_va, args, norm, identity).item()

    base = val(identity=True)
    best = fit_head(head, lambda idx: frame_loss(model, head, tr, idx, args, norm), val, tr["g"].shape[0], args)
    print(f"RESULT order {args.order} comb {args.comb} cues {args.cues} hidden {args.hidden} "
          f"os {args.over_suppress}: dev {base:.5f} -> {best:.5f} ({100 * (base - best) / base:.2f} %)", flush=True)


if __name__ == "__main__":
    main()
