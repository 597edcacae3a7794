#!/usr/bin/env python3
"""Export a train.py checkpoint to models/NAME.safetensors (FORMATS.md) and write its parity fixture.

    python training/export.py --ckpt runs/x/best.pt --name NAME --description "..." \
        --out models/NAME.safetensors \
        --parity-data DUMP_DIR --parity-out tests/fixtures/parity_NAME.safetensors --parity-frames 300

--ckpt may also be a model file without a member (e.g. a run's network committed under
training/checkpoints/), so heads can be fitted on a machine where the run's last.pt never was.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quell_model import (QuellNet, build_metadata, count_parameters, load_safetensors,  # noqa: E402
                         round_weights_to_f16, run_from_zero, run_refine_from_zero, run_reverb_from_zero, save_safetensors,
                         verify_files, write_parity)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def repo_relative(path: str) -> str:
    rel = os.path.relpath(os.path.abspath(path), REPO_ROOT)
    if rel.startswith(".."):
        print(f"warning: {path} is outside the repository; parity metadata gets {rel}", file=sys.stderr)
    return rel.replace(os.sep, "/")


def load_checkpoint(path: str) -> tuple:
    if path.endswith(".safetensors"):
        model, md = load_safetensors(path)
        model.eval()
        meta = {k: int(md[k]) for k in ("sample_rate", "hop", "fft", "feature_version") if k in md}
        return model, {"band_edges_hz": json.loads(md["band_edges_hz"]), "n_features": model.n_features,
                       "meta": meta}
    ck = torch.load(path, map_location="cpu", weights_only=False)
    c = ck["config"]
    conv = {k: c[k] for k in ("conv_channels", "conv_time", "conv_freq") if k in c}
    model = QuellNet(c["n_features"], c["n_bands"], c["dense"], c["hidden"], c["layers"], cell=c.get("cell", "gru"),
                     **conv)
    if any(k.startswith("reverb_gain.") for k in ck["model"]):
        model.add_reverb_head()
    if "refine.weight" in ck["model"]:
        sd = ck["model"]
        model.add_refine_head(sd["refine.weight"].shape[0],
                              sd["refine_hidden.weight"].shape[0] if "refine_hidden.weight" in sd else 0)
    model.load_state_dict(ck["model"])
    model.eval()
    return model, ck


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--description", default="")
    ap.add_argument("--out", default=None, help="model file (default models/NAME.safetensors)")
    ap.add_argument("--parity-data", default=None, help="feature dump dir to take parity features from")
    ap.add_argument("--parity-out", default=None,
                    help="parity fixture (default tests/fixtures/parity_NAME.safetensors)")
    ap.add_argument("--parity-frames", type=int, default=300)
    ap.add_argument("--gain-decay", type=float, default=None,
                    help="the model's own release limit per hop (metadata gain_decay_per_hop; default: the engine's)")
    ap.add_argument("--pitch-comb", type=float, default=None,
                    help="the share of the engine's pitch comb the model takes, 0..1 (metadata pitch_comb; default: all)")
    ap.add_argument("--f16-weights", action="store_true",
                    help="store weight matrices as float16 (half the file; the model is rounded first)")
    args = ap.parse_args()

    out = args.out or os.path.join(REPO_ROOT, "models", f"{args.name}.safetensors")
    model, ck = load_checkpoint(args.ckpt)
    meta = ck.get("meta", {})
    n_features = int(ck.get("n_features", model.n_features))
    if n_features != model.n_features:
        raise SystemExit(f"checkpoint n_features {n_features} != model {model.n_features}")
    md = build_metadata(model, args.name, args.description, ck["band_edges_hz"],
                        sample_rate=meta.get("sample_rate", 48000), hop=meta.get("hop", 240),
                        fft=meta.get("fft", 480), feature_version=meta.get("feature_version", 1))
    if args.gain_decay is not None:
        if not 0.0 <= args.gain_decay < 1.0:
            raise SystemExit("--gain-decay must be from 0 (no limit) to below 1")
        md["gain_decay_per_hop"] = repr(float(args.gain_decay))
    if args.pitch_comb is not None:
        if not 0.0 <= args.pitch_comb <= 1.0:
            raise SystemExit("--pitch-comb must be from 0 to 1")
        md["pitch_comb"] = repr(float(args.pitch_comb))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if args.f16_weights:
        round_weights_to_f16(model)
    save_safetensors(model, out, md, f16_weights=args.f16_weights)
    n_params = count_parameters(model)
    print(f"wrote {out}: {model.config()} params={n_params} ({os.path.getsize(out)} bytes)")
    print("metadata:", json.dumps(md))

    if args.parity_data:
        pout = args.parity_out or os.path.join(REPO_ROOT, "tests", "fixtures", f"parity_{args.name}.safetensors")
        with open(os.path.join(args.parity_data, "meta.json")) as f:
            dmeta = json.load(f)
        for k in ("n_features", "n_bands", "band_edges_hz"):
            mv = ck.get(k) if k != "n_bands" else model.n_bands
            if k in dmeta and mv is not None and dmeta[k] != mv:
                raise SystemExit(f"parity data {k}={dmeta[k]} differs from the checkpoint's {mv}")
        feats = np.load(os.path.join(args.parity_data, "features.npy"), mmap_mode="r")
        T = feats.shape[0]
        n = min(args.parity_frames, T)
        start = max(0, T // 2 - n // 2)
        x = np.ascontiguousarray(feats[start:start + n], dtype=np.float32)
        gains, vad = run_from_zero(model, x)
        os.makedirs(os.path.dirname(os.path.abspath(pout)), exist_ok=True)
        reverb = run_reverb_from_zero(model, x) if model.reverb_gain is not None else None
        refine = run_refine_from_zero(model, x) if model.refine is not None else None
        write_parity(pout, repo_relative(out), x, gains, vad, reverb, refine)
        err = verify_files(out, pout)
        print(f"wrote {pout}: frames {start}..{start + n} of {T}; gains range [{gains.min():.3f}, "
              f"{gains.max():.3f}]; reload + numpy reference max |diff| {err:.2e}")
    print(f"parameters: {n_params}")


if __name__ == "__main__":
    main()
