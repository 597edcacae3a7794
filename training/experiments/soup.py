#!/usr/bin/env python3
"""Average the weights of checkpoints that share an ancestor (a "model soup") into one checkpoint
that export.py reads.

    python training/experiments/soup.py --ckpts A/last.pt B/last.pt ... --out training/runs/soup/last.pt

The checkpoints must have the same layer sizes and the same feature normalisation (fine-tunes of one
model keep it); a reverb head is dropped (fit it on the soup). The first one's metadata (band edges, feature version) is kept.
An exported model file (.safetensors, e.g. `add_member.py --drop`'s hq_own) may stand in for any but the
first: its trunk is averaged and its heads are left behind, as `train.py --init-trunk` does.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch


def load(path: str) -> dict:
    if not path.endswith(".safetensors"):
        return torch.load(path, map_location="cpu", weights_only=False)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from quell_model import load_safetensors
    from train import HEAD_PREFIXES
    net, _ = load_safetensors(path)
    sd = {k: v for k, v in net.state_dict().items() if not k.startswith(HEAD_PREFIXES)}
    # Without its heads the network's config is the trunk's, as a checkpoint trained without heads has.
    return {"config": net.config(), "model": {k: v.float() for k, v in sd.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpts", nargs="+", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.ckpts[0].endswith(".safetensors"):
        raise SystemExit("the first must be a checkpoint (.pt): its metadata is kept")
    cks = [load(p) for p in args.ckpts]
    # A reverb head is fitted on the finished trunk (reverb_head.py), so it is not averaged.
    for ck in cks:
        ck["model"] = {k: v for k, v in ck["model"].items() if not k.startswith("reverb_gain.")}
    first = cks[0]
    for p, ck in zip(args.ckpts[1:], cks[1:]):
        if ck["config"] != first["config"]:
            raise SystemExit(f"{p}: layer sizes {ck['config']} differ from {first['config']}")
        if set(ck["model"]) != set(first["model"]):
            raise SystemExit(f"{p}: different tensors than {args.ckpts[0]}")
        for k in ("feature_mean", "feature_std"):
            if not torch.equal(ck["model"][k], first["model"][k]):
                raise SystemExit(f"{p}: {k} differs (not a fine-tune of the same model)")
    soup = {k: sum(ck["model"][k].double() for ck in cks) / len(cks) for k in first["model"]}
    out = {k: v for k, v in first.items() if k not in ("optimizer", "model", "val", "best")}
    out["model"] = {k: v.to(first["model"][k].dtype) for k, v in soup.items()}
    out["step"] = "soup of " + ", ".join(args.ckpts)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {args.out}: mean of {len(cks)} checkpoints")


if __name__ == "__main__":
    main()
