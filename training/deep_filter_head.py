#!/usr/bin/env python3
"""Give a trained model a deep filter on its lowest FFT bins (issue 11 §5: "a short causal deep filter
... on the low band").

A band or bin gain only scales each STFT value. Below 4 kHz the engine's 100 Hz bins are as wide as a
voice's harmonic spacing, so one bin holds a harmonic and the noise beside it. The deep filter gives each
of bins [0, K) N complex coefficients per frame and replaces the bin's value X(t) by
F(t) = sum_i c_i X(t - i): a short filter over the bin's own past (N - 1 hops of 5 ms), which can add
up a harmonic coherently across frames while the noise adds up incoherently. Strictly causal: no
look-ahead, the latency stays 10 ms.

The trunk, band heads and refinement head stay exactly as they are; only `deep_filter*` (FORMATS.md) is
fitted. The head reads what the refinement head reads (the last recurrent layer's output and the
normalised features) and gives tanh outputs, the coefficients' departure from the identity; the engine
scales them by the model's own speech probability (no filtering in pauses) and applies g F, g being
the mask's final bin gain, bounding the departure by 1 - g so that a bin the mask keeps whole is left
alone; then it gives the filtered bins, together, the energy the mask alone left them, no bin above its
input (`quell_model.deep_filter_taps`, `frame_loss` below). The output layer starts
at zero, so an untrained head changes nothing.

The data is the dumper's (`dump-features --spectra --complex-bins K`): the engine's own compressed
complex STFT of the noisy and clean signals (z |z|^-0.7, phase kept), decompressed here to filter the
noisy one. The loss compares the compressed output with the compressed clean, complex and magnitude
terms, "don't care" bins masked, speech frames weighted 1 + W x VAD, output below the clean charged
extra (`--over-suppress`).

    python training/deep_filter_head.py --model models/standard.safetensors \\
        --data training/data/dumps/filter_v2 --val training/data/dumps/dev_v2f --bins 40 --order 3 \\
        --out models/standard.safetensors --parity-out tests/fixtures/parity_standard.safetensors
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
from quell_model import (deep_filter_taps, gate_by_speech,  # noqa: E402
                         refine_gains, save_with_new_head)
from refine_head import trunk  # noqa: E402

POWER = 0.3  # the dumper's SPECTRUM_POWER


def load_dump(d: str, model, bins: int, max_frames: int):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    if int(meta.get("complex_bins", 0)) < bins:
        raise SystemExit(f"{d}: dumped with --complex-bins {meta.get('complex_bins', 0)}, need {bins}")
    if int(meta["n_features"]) != model.n_features or int(meta["n_bands"]) != model.n_bands:
        raise SystemExit(f"{d}: {meta['n_features']} features / {meta['n_bands']} bands, model has "
                         f"{model.n_features} / {model.n_bands}")
    if abs(float(meta["spectrum_power"]) - POWER) > 1e-6:
        raise SystemExit(f"{d}: spectrum power {meta['spectrum_power']}, expected {POWER}")
    n = min(int(meta["frames"]), max_frames)
    mm = lambda name: np.load(os.path.join(d, name), mmap_mode="r")
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    interp = f32(np.load(os.path.join(d, "interp.npy"))[:bins])
    return (f32(mm("features.npy")[:n]), f32(mm("noisy_cplx.npy")[:n, :2 * bins]),
            f32(mm("clean_cplx.npy")[:n, :2 * bins]), f32(mm("clean_spec.npy")[:n, :bins]),
            f32(mm("vad.npy")[:n]), interp)


def expand(zc: torch.Tensor):
    """Compressed complex [T, 2K] (re, im interleaved) -> linear (re, im) [T, K]."""
    re, im = zc[:, 0::2], zc[:, 1::2]
    m = torch.sqrt(re * re + im * im)
    s = torch.where(m > 0, m.clamp_min(1e-12) ** (1.0 / POWER - 1.0), torch.zeros_like(m))
    return re * s, im * s


def compress(re: torch.Tensor, im: torch.Tensor):
    m = torch.sqrt(re * re + im * im + 1e-12)
    s = m ** (POWER - 1.0)
    return re * s, im * s, m ** POWER


@torch.no_grad()
def prepare(model, d: str, bins: int, max_frames: int, decay: float):
    """Everything the loss needs that the frozen model fixes: head input, final gains g of the filtered
    bins (band gains smoothed and spread, refined and gated), speech probability, linear noisy STFT,
    compressed clean STFT with its "don't care" mask."""
    f, nc, cc, cs, v, interp = load_dump(d, model, bins, max_frames)
    y, gb, T, p = trunk(model, f, interp, decay)
    f = torch.from_numpy(f[:T])
    if model.refine is not None:
        k = min(model.refine.out_features, bins)
        r = gate_by_speech(2.0 * torch.sigmoid(model.refine_logits(y, f)), p[:, None])
        gb[:, :k] = refine_gains(gb[:, :k], r[:, :k]).clamp(0.0, 1.0)
    xr, xi = expand(torch.from_numpy(nc[:T]))
    c = torch.from_numpy(cc[:T])
    care = torch.from_numpy(cs[:T]) >= 0
    return dict(y=y, f=f, g=gb, p=p, xr=xr, xi=xi, sr=c[:, 0::2], si=c[:, 1::2], care=care,
                v=torch.from_numpy(v[:T]).clamp(0.0, 1.0))


def frame_loss(model, d, idx, order: int, args, norm: float, identity: bool = False):
    """Mean loss over frames `idx` (each with its order - 1 predecessors as history)."""
    idx = idx[idx >= order - 1]
    hist = idx[:, None] - torch.arange(order - 1, -1, -1)[None, :]  # [B, N], oldest first
    B, K = idx.shape[0], d["g"].shape[1]
    xr = d["xr"][hist].permute(1, 0, 2)  # [N, B, K], oldest first
    xi = d["xi"][hist].permute(1, 0, 2)
    if identity:
        fr, fi = xr[-1], xi[-1]
    else:
        dep = model.deep_filter_departure(d["y"][idx], d["f"][idx])
        # The engine's bound: the departure shrinks with the bin's gain, none where g = 1.
        re, im = deep_filter_taps(dep, d["p"][idx][:, None] * (1.0 - d["g"][idx]), order)
        fr = torch.zeros(B, K)
        fi = torch.zeros(B, K)
        for i in range(order):
            a, b = xr[order - 1 - i], xi[order - 1 - i]
            fr = fr + re[..., i] * a - im[..., i] * b
            fi = fi + re[..., i] * b + im[..., i] * a
    return output_loss(d, idx, fr, fi, xr[-1], xi[-1], norm, args.over_suppress, args.complex_weight,
                       args.speech_weight)


def output_loss(d, idx, fr, fi, x0r, x0i, norm: float, over_suppress: float, complex_weight: float,
                speech_weight: float):
    """The loss of frames `idx` whose filtered bins are (fr, fi) and unfiltered ones (x0r, x0i): masked
    by the final gains, with the engine's energy step, compressed and compared with the clean."""
    g = d["g"][idx]
    yr, yi = g * fr, g * fi
    # The engine gives the filtered band the masked band's energy back, no bin above its input.
    before = ((g * x0r) ** 2 + (g * x0i) ** 2).sum(-1, keepdim=True)
    after = (yr ** 2 + yi ** 2).sum(-1, keepdim=True)
    a = torch.sqrt((before + 1e-12) / (after + 1e-12))
    yr, yi = yr * a, yi * a
    m = torch.sqrt(yr ** 2 + yi ** 2 + 1e-30)
    s = torch.clamp(torch.sqrt(x0r ** 2 + x0i ** 2 + 1e-30) / m, max=1.0)
    yr, yi = yr * s, yi * s
    yr, yi, ym = compress(yr, yi)
    sr, si, care = d["sr"][idx], d["si"][idx], d["care"][idx].float()
    sm = torch.sqrt(sr * sr + si * si)
    per = (complex_weight * ((yr - sr) ** 2 + (yi - si) ** 2) + (ym - sm) ** 2
           + over_suppress * torch.relu(sm - ym) ** 2)
    w = (1.0 + speech_weight * d["v"][idx])[:, None]
    return (per * w * care).sum() / care.sum().clamp_min(1.0) / norm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, max_frames=1_440_000, steps=4000, data_help="written with --spectra --complex-bins",
                    parity_help="with the filter", many_dumps=True)
    ap.add_argument("--bins", type=int, default=40, help="filtered FFT bins [0, K) (~100 Hz each)")
    ap.add_argument("--order", type=int, default=3, help="taps per bin: the current frame and order - 1 past ones")
    ap.add_argument("--hidden", type=int, default=0, help="tanh layer size inside the head (0: linear)")
    ap.add_argument("--speech-weight", type=float, default=5.0, help="1 + W x VAD frame weights")
    ap.add_argument("--over-suppress", type=float, default=0.3, help="extra weight on output below the clean")
    ap.add_argument("--complex-weight", type=float, default=1.0, help="weight of the complex term next to the magnitude term")
    ap.add_argument("--gain-decay", type=float, default=0.2, help="the engine's release limit to replay")
    args = ap.parse_args()
    model, meta, f16 = load_frozen(args)
    head = model.add_deep_filter_head(args.bins, args.order, args.hidden)
    if args.hidden > 0:  # a random start for the inner layer; the output layer stays at zero
        torch.nn.init.xavier_uniform_(model.deep_filter_hidden.weight)
        torch.nn.init.zeros_(model.deep_filter_hidden.bias)
    for p in head.parameters():
        p.requires_grad_(True)

    t0 = time.time()
    parts = [prepare(model, d, args.bins, args.max_frames, args.gain_decay) for d in args.data]
    tr = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
    va = prepare(model, args.val, args.bins, 10 ** 9, args.gain_decay)
    s = tr["sr"] ** 2 + tr["si"] ** 2
    norm = float((s * tr["care"]).sum() / tr["care"].sum())
    n_tr = tr["g"].shape[0]
    print(f"frozen model over {n_tr} + {va['g'].shape[0]} frames in {time.time() - t0:.0f} s", flush=True)
    all_va = torch.arange(va["g"].shape[0])

    def val(identity=False):
        with torch.no_grad():
            return frame_loss(model, va, all_va, args.order, args, norm, identity).item()

    base = val(identity=True)
    print(f"dev loss without the filter {base:.5f}", flush=True)
    best = fit_head(head, lambda idx: frame_loss(model, tr, idx, args.order, args, norm), val, n_tr, args)
    print(f"deep filter ({args.bins} bins, order {args.order}, hidden {args.hidden}): dev loss on those bins "
          f"{base:.5f} -> {best:.5f}", flush=True)
    save_with_new_head(model, meta, args.out, f16, args.parity_out)


if __name__ == "__main__":
    main()
