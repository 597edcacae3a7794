#!/usr/bin/env python3
"""Give a trained model its bin-refinement head: per-bin factors on the lowest FFT bins, where band
gains (32 ERB bands, several bins each below 4 kHz) cannot follow a voice's harmonics.

The trunk and the band heads stay exactly as they are; only `refine*` (FORMATS.md) is fitted. The
head reads the last recurrent layer's output and the normalised features (feature version 2 carries a
20 ms spectrum at 50 Hz resolution up to 3.2 kHz, fine enough to see harmonics) and gives r = 2 sigmoid(a)
per bin, scaled toward 1 by the model's own speech probability p (1 + (r - 1) p: in pauses, bins
lifted above their band are heard as musical noise); the engine moves bin k's gain g (k < K) to g r'
with r' = 1 + (r_k - 1)(1 - g) (`quell_model.gate_by_speech`, `quell_model.refine_gains`). The output layer starts
at zero (r = 1), so an untrained head changes nothing.

The loss is train.py's output-spectrum loss on those bins: the engine's own band-gain smoothing and
band-to-bin interpolation (`interp.npy`, written by the dumper) applied to the frozen model's band gains,
times r, on the compressed noisy magnitude, against the compressed clean magnitude, with "don't care"
bins masked, speech frames weighted 1 + W x VAD, and optionally an extra weight on output below the clean.

    python training/refine_head.py --model models/standard.safetensors \\
        --data training/data/dumps/voices_v2 --val training/data/dumps/dev_v2s --bins 40 \\
        --out models/standard.safetensors --parity-out tests/fixtures/parity_standard.safetensors

A run takes minutes on CPU and rewrites only --out and the fixture at the end (atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from head_fit import add_common_args, fit_head, load_frozen  # noqa: E402
from quell_model import gate_by_speech, refine_gains, save_with_new_head  # noqa: E402

# The engine's fastest gain drop per hop when the shipped heads were fitted
# (libquell/src/engine/instance.rs GAIN_DECAY_PER_HOP, since lowered to 0.2; `--gain-decay`).
GAIN_DECAY_PER_HOP = 0.45


def load_dump(d: str, model, bins: int, max_frames: int):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    if not meta.get("spectra"):
        raise SystemExit(f"{d}: dumped without --spectra")
    if int(meta["n_features"]) != model.n_features or int(meta["n_bands"]) != model.n_bands:
        raise SystemExit(f"{d}: {meta['n_features']} features / {meta['n_bands']} bands, model has "
                         f"{model.n_features} / {model.n_bands}")
    n = min(int(meta["frames"]), max_frames)
    mm = lambda name: np.load(os.path.join(d, name), mmap_mode="r")
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    interp = f32(np.load(os.path.join(d, "interp.npy"))[:bins])
    return (f32(mm("features.npy")[:n]), f32(mm("noisy_spec.npy")[:n, :bins]),
            f32(mm("clean_spec.npy")[:n, :bins]), f32(mm("vad.npy")[:n]), interp)


@torch.no_grad()
def trunk(model, feats: np.ndarray, interp: np.ndarray, decay: float, lanes: int = 16):
    """(last-layer outputs [T,H], the engine's smoothed band gains spread to the refined bins [T,K]),
    with the frame stream cut into `lanes` consecutive pieces run side by side from a zero state."""
    T = feats.shape[0] // lanes * lanes
    x = torch.from_numpy(feats[:T]).view(lanes, T // lanes, -1)
    ys, gs, vs = [], [], []
    h = None
    s = torch.zeros(lanes, model.n_bands)
    for a in range(0, x.shape[1], 2000):
        xi = model.dense_input_span(x, a, a + 2000)
        y, h = model.rnn(xi, h)
        g = torch.sigmoid(model.gain(y))
        sm = torch.empty_like(g)
        for t in range(g.shape[1]):  # the engine's release limit: s = max(g, s * decay)
            s = torch.maximum(g[:, t], s * decay)
            sm[:, t] = s
        ys.append(y)
        gs.append(sm)
        vs.append(torch.sigmoid(model.vad(y)))
    y = torch.cat(ys, 1).reshape(T, -1)
    g = torch.cat(gs, 1).reshape(T, -1)
    v = torch.cat(vs, 1).reshape(T)
    return y, (g @ torch.from_numpy(interp).t()).clamp(0.0, 1.0), T, v


@torch.no_grad()
def partner_bins(partner, feats: np.ndarray, interp: np.ndarray, decay: float):
    """The frozen partner's gains on the refined bins [T,K], its own refinement applied as the engine
    gates it (--partner: the head is fitted for the pair's mean)."""
    y, gb, T, v = trunk(partner, feats, interp, decay)
    if partner.refine is None:
        return gb
    k = partner.refine.out_features
    r = gate_by_speech(2.0 * torch.sigmoid(partner.refine_logits(y, torch.from_numpy(feats[:T]))), v[:, None])
    return torch.cat([refine_gains(gb[:, :k], r[:, :gb.shape[1]]), gb[:, k:]], 1)


def refined_loss(r, gb, noisy, clean, vad, norm, args, pb=None):
    g = refine_gains(gb, r)
    if pb is not None:  # a pair: the engine applies the mean of both networks' per-bin gains
        g = 0.5 * (g + pb)
    out = g.clamp_min(1e-8) ** 0.3 * noisy
    mask = (clean >= 0).float()
    d = out - clean.clamp_min(0.0)
    per = d * d + args.over_suppress * torch.relu(-d) ** 2
    per = per * (1.0 + args.speech_weight * vad.clamp(0.0, 1.0))[:, None] * mask
    return per.sum() / mask.sum().clamp_min(1.0) / norm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, max_frames=1_440_000, steps=4000, data_help="written with --spectra",
                    parity_help="with the refinement", many_dumps=True)
    ap.add_argument("--bins", type=int, default=40, help="refined FFT bins [0, K) (~100 Hz each)")
    ap.add_argument("--hidden", type=int, default=0, help="tanh layer size inside the head (0: linear)")
    ap.add_argument("--speech-weight", type=float, default=5.0, help="1 + W x VAD frame weights")
    ap.add_argument("--over-suppress", type=float, default=0.0, help="extra weight on output below the clean")
    ap.add_argument("--gain-decay", type=float, default=GAIN_DECAY_PER_HOP,
                    help="the engine's release limit to replay (0.45: what the shipped heads were fitted with)")
    ap.add_argument("--partner", default="",
                    help="fit the head for a pair (train.py --partner): the loss is on the mean of this "
                         "network's refined bins and this frozen model file's")
    args = ap.parse_args()
    model, meta, f16 = load_frozen(args)
    head = model.add_refine_head(args.bins, args.hidden)
    if args.hidden > 0:  # a random start for the inner layer; the output layer stays at zero
        torch.nn.init.xavier_uniform_(model.refine_hidden.weight)
        torch.nn.init.zeros_(model.refine_hidden.bias)
    for p in head.parameters():
        p.requires_grad_(True)

    partner = None
    if args.partner:
        from quell_model import load_safetensors
        partner, _ = load_safetensors(args.partner)
        partner.eval()

    def pair(f, interp, T):
        if partner is None:
            return torch.zeros(T, 0)
        return partner_bins(partner, f, interp, args.gain_decay)[:T]

    t0 = time.time()
    parts = []
    for d in args.data:
        f, n, c, v, interp = load_dump(d, model, args.bins, args.max_frames)
        y, gb, T, p = trunk(model, f, interp, args.gain_decay)
        parts.append((y, torch.from_numpy(f[:T]), gb, torch.from_numpy(n[:T]), torch.from_numpy(c[:T]),
                      torch.from_numpy(v[:T]), p, pair(f, interp, T)))
    tr = [torch.cat(z) for z in zip(*parts)]
    f, n, c, v, interp = load_dump(args.val, model, args.bins, 10 ** 9)
    y, gb, T, p = trunk(model, f, interp, args.gain_decay)
    va = (y, torch.from_numpy(f[:T]), gb, torch.from_numpy(n[:T]), torch.from_numpy(c[:T]), torch.from_numpy(v[:T]),
          p, pair(f, interp, T))
    # One normaliser for all batches: the clean spectrum's mean square over cared-for bins.
    cl = tr[4]
    norm = float((cl.clamp_min(0) ** 2 * (cl >= 0)).sum() / (cl >= 0).sum())
    n_tr = tr[0].shape[0]
    print(f"trunk over {n_tr} + {T} frames in {time.time() - t0:.0f} s", flush=True)

    def loss_on(data, idx=None):
        y, f, gb, n, c, v, p, pb = data if idx is None else (a[idx] for a in data)
        r = 2.0 * torch.sigmoid(model.refine_logits(y, f))
        r = gate_by_speech(r, p[:, None])
        return refined_loss(r, gb, n, c, v, norm, args, pb if partner is not None else None)

    def val():
        with torch.no_grad():
            return loss_on(va).item()

    with torch.no_grad():
        ones = torch.ones_like(va[2])
        base = refined_loss(ones, va[2], va[3], va[4], va[5], norm, args, va[7] if partner is not None else None).item()
    print(f"dev loss without refinement {base:.5f}", flush=True)
    best = fit_head(head, lambda idx: loss_on(tr, idx), val, n_tr, args)
    print(f"refinement head ({args.bins} bins, hidden {args.hidden}): dev spectrum loss on those bins "
          f"{base:.5f} -> {best:.5f}", flush=True)

    save_with_new_head(model, meta, args.out, f16, args.parity_out)

if __name__ == "__main__":
    main()
