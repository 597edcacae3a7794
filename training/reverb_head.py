#!/usr/bin/env python3
"""Give a trained model its reverb head: a second band-gain layer that keeps the speech with its room.

The trunk (dense + recurrent layers) and the dry gain head stay exactly as they are, so the model
sounds the same at full reverb reduction; only `reverb_gain` (FORMATS.md) is fitted, on the targets
`quell dump-features --reverb-targets` writes (gains against the reverberant speech). The head starts
as a copy of the dry head and is trained with train.py's own band-gain loss.

    python training/reverb_head.py --model models/standard.safetensors \
        --data training/data/dumps/rev_v2 --val training/data/dumps/rev_dev_v2 \
        --out models/standard.safetensors --parity-out tests/fixtures/parity_standard.safetensors

Resumable in the sense that matters here: a run takes minutes on CPU and rewrites only --out and the
fixture at the end (atomically); a killed run leaves both as they were.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from types import SimpleNamespace

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from head_fit import add_common_args, fit_head, load_frozen  # noqa: E402
from quell_model import save_with_new_head  # noqa: E402
from train import loss_terms  # noqa: E402


def load_dump(d: str, model, max_frames: int):
    with open(os.path.join(d, "meta.json")) as f:
        meta = json.load(f)
    if not meta.get("reverb_targets"):
        raise SystemExit(f"{d}: dumped without --reverb-targets")
    if int(meta["n_features"]) != model.n_features or int(meta["n_bands"]) != model.n_bands:
        raise SystemExit(f"{d}: {meta['n_features']} features / {meta['n_bands']} bands, model has "
                         f"{model.n_features} / {model.n_bands}")
    n = min(int(meta["frames"]), max_frames)
    load = lambda name: np.asarray(np.load(os.path.join(d, name), mmap_mode="r")[:n], dtype=np.float32)
    return meta, load("features.npy"), load("targets_reverb.npy"), load("targets.npy"), load("vad.npy")


@torch.no_grad()
def trunk(model, feats: np.ndarray, lanes: int = 16) -> torch.Tensor:
    """Last recurrent layer's output [T,H] over the frame stream, cut into `lanes` consecutive
    pieces run side by side (each from a zero state, as the engine starts)."""
    T = feats.shape[0] // lanes * lanes
    x = torch.from_numpy(feats[:T]).view(lanes, T // lanes, -1)
    out = []
    h = None
    for s in range(0, x.shape[1], 2000):
        xi = model.dense_input_span(x, s, s + 2000)
        y, h = model.rnn(xi, h)
        out.append(y)
    return torch.cat(out, 1).reshape(T, -1)


def head_loss(head, hidden, targets, vad, args):
    logits = head(hidden)
    zeros = torch.zeros(logits.shape[0], 1)
    terms = loss_terms(logits, zeros, targets, vad[:, None], args)
    s, c = terms["gain"]
    return s / c.clamp_min(1.0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, max_frames=720_000, steps=3000, data_help="written with --reverb-targets",
                    parity_help="with reverb gains")
    ap.add_argument("--speech-weight", type=float, default=0.0,
                    help="1 + W x VAD frame weights (0, as train.py's reverb term: the VAD marks the direct "
                         "speech, not the room's tail this head keeps)")
    ap.add_argument("--over-suppress", type=float, default=0.5,
                    help="extra weight on gains below the target (the head exists to keep the room)")
    args = ap.parse_args()
    loss_args = SimpleNamespace(quartic=4.0, over_suppress=args.over_suppress, speech_weight=args.speech_weight)

    model, meta, f16 = load_frozen(args)
    head = model.add_reverb_head()
    for p in head.parameters():
        p.requires_grad_(True)

    t0 = time.time()
    _, f_tr, r_tr, d_tr, v_tr = load_dump(args.data, model, args.max_frames)
    _, f_va, r_va, d_va, v_va = load_dump(args.val, model, args.max_frames)
    h_tr, h_va = trunk(model, f_tr), trunk(model, f_va)
    n_tr, n_va = h_tr.shape[0], h_va.shape[0]
    r_tr, v_tr = torch.from_numpy(r_tr[:n_tr]), torch.from_numpy(v_tr[:n_tr])
    rv, vv, dv = (torch.from_numpy(a[:n_va]) for a in (r_va, v_va, d_va))
    print(f"trunk over {n_tr} + {n_va} frames in {time.time() - t0:.0f} s", flush=True)

    def val():
        with torch.no_grad():
            return head_loss(head, h_va, rv, vv, loss_args).item()

    with torch.no_grad():
        dry_on_room = head_loss(model.gain, h_va, rv, vv, loss_args).item()
        dry_on_dry = head_loss(model.gain, h_va, dv, vv, loss_args).item()
    print(f"dev loss on reverberant targets: dry head {dry_on_room:.5f} (dry head on dry targets "
          f"{dry_on_dry:.5f})", flush=True)
    best = fit_head(head, lambda idx: head_loss(head, h_tr[idx], r_tr[idx], v_tr[idx], loss_args), val,
                    n_tr, args)
    print(f"reverb head: dev loss on reverberant targets {dry_on_room:.5f} -> {best:.5f}", flush=True)

    meta = dict(meta)
    meta["description"] = meta.get("description", "")
    save_with_new_head(model, meta, args.out, f16, args.parity_out)

if __name__ == "__main__":
    main()
