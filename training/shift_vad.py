#!/usr/bin/env python3
"""Move a model's speech-probability operating point: subtract D from the VAD output's bias (a logit),
nothing else changed. The gains at Full do not read the VAD, but the engine's gate, floor, pitch comb
and refinement head do, so a shifted file is scored again (gate test, dev set) before it ships.

    python training/shift_vad.py --model in.safetensors --out out.safetensors --by 0.25
"""

from __future__ import annotations

import argparse

from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--by", type=float, required=True, help="logit to subtract from vad.bias")
    args = ap.parse_args()
    with safe_open(args.model, "np") as f:
        meta = f.metadata()
    t = load_file(args.model)
    if "vad.bias" not in t:
        raise SystemExit(f"{args.model}: no vad.bias tensor")
    t["vad.bias"] = (t["vad.bias"] - args.by).astype(t["vad.bias"].dtype)
    save_file(t, args.out, metadata=meta)
    print(f"wrote {args.out}: vad.bias {float(t['vad.bias'][0]) + args.by:.4f} -> {float(t['vad.bias'][0]):.4f}")


if __name__ == "__main__":
    main()
