#!/usr/bin/env python3
"""Store a model file's weight matrices as float16, as `export.py --f16-weights` does for a checkpoint.

The network is rounded first (every 2-D weight to the nearest half), so the file and PyTorch compute
the same thing; metadata and the 1-D tensors (biases, normalisation, the front end's kernels) stay
as they are. Half the bytes: on CPUs with AVX2, FMA and F16C the engine keeps them half in memory
and multiplies them as they are (training/FORMATS.md), so the network streams half as much per hop.
With --parity, the fixture is rebuilt for the rounded network over the same features.
--vad-shift D subtracts D from the speech-probability output's bias (a logit), nothing else: it moves
the operating point of what reads the VAD (the engine's gate, floor, pitch comb, refinement head; the
gains at Full do not), so a shifted file is scored again (gate test, dev set) before it ships.
--int8-recurrent stores the recurrent layers' matrices as int8 with a float32 scale per row instead
(the network rounded to that first, as for halves): a quarter of their f32 bytes, so four `hq`-sized
networks fit a core's L2 cache (libquell's linalg.rs; training/FORMATS.md, "int8 matrices").

    python training/to_f16.py --model IN.safetensors --out OUT.safetensors \\
        [--name NAME --description TEXT] [--parity IN_FIXTURE --parity-out OUT_FIXTURE] [--vad-shift D]
        [--int8-recurrent]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import repo_relative  # noqa: E402
from quell_model import (  # noqa: E402
    load_safetensors, rewrite_parity, round_recurrent_to_int8, round_weights_to_f16, save_safetensors)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="model file without a member (add it after)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", default=None, help="replace the model's name (e.g. a run's file shipped as standard)")
    ap.add_argument("--description", default=None, help="replace its description (what users see)")
    ap.add_argument("--parity", default=None, help="the input's parity fixture: its features are reused")
    ap.add_argument("--parity-out", default=None, help="the fixture for --out (default: --parity itself)")
    ap.add_argument("--vad-shift", type=float, default=0.0, help="logit to subtract from the VAD output's bias")
    ap.add_argument("--int8-recurrent", action="store_true",
                    help="the recurrent layers' matrices as int8 with a scale per row (the rest float16)")
    args = ap.parse_args()

    import torch
    from safetensors.numpy import load_file

    model, meta = load_safetensors(args.model)
    round_weights_to_f16(model)
    if args.int8_recurrent:
        round_recurrent_to_int8(model)
    if args.vad_shift:
        with torch.no_grad():
            before = float(model.vad.bias.detach()[0])
            model.vad.bias -= args.vad_shift
        print(f"vad.bias {before:.4f} -> {float(model.vad.bias.detach()[0]):.4f}")
    for key in ("name", "description"):
        if getattr(args, key) is not None:
            meta[key] = getattr(args, key)
    tmp = args.out + ".tmp"
    save_safetensors(model, tmp, meta, f16_weights=True, int8_recurrent=args.int8_recurrent)
    if args.parity:
        features = load_file(args.parity)["features"]
        rewrite_parity(model, tmp, features, args.parity_out or args.parity, repo_relative(args.out))
    os.replace(tmp, args.out)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")


if __name__ == "__main__":
    main()
