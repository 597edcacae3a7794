#!/usr/bin/env python3
"""Build the random-weight test models and their parity fixtures (200 frames each):

- tests/fixtures/tiny_random.safetensors + parity_tiny_random.safetensors: GRU, F=34, B=32, D=16, H=24, L=2
- tests/fixtures/tiny_random_lstm.safetensors + parity_tiny_random_lstm.safetensors: LSTM, F=27, B=19,
  D=12, H=20, L=2
- tests/fixtures/tiny_random_v2.safetensors + parity_tiny_random_v2.safetensors: GRU reading feature
  version 2 (B band energies + 64 long-window bins), F=84, B=20, D=12, H=16, L=1; the engine test also
  uses it to check that the engine computes exactly the features `dump-features` writes
- tests/fixtures/tiny_random_refine.safetensors + parity_tiny_random_refine.safetensors: the same sizes
  as tiny_random_v2 plus a bin-refinement head with a tanh layer (30 bins, 10 units), random weights
- tests/fixtures/tiny_random_filter.safetensors + parity_tiny_random_filter.safetensors: the same sizes
  plus a deep filter with a tanh layer (12 bins, order 3, 9 units) and a linear refinement head (7 bins)
- tests/fixtures/tiny_random_conv.safetensors + parity_tiny_random_conv.safetensors: feature version 1,
  F=29, B=29, D=14, H=18, L=1, with a causal convolutional front end (5 kernels of 3 frames x 5
  features) and a linear refinement head (9 bins), so the heads' feature input is checked beside it

Sizes deliberately differ from any real model (and from each other), so a Rust loader that hard-codes a
size, or mixes up D/H/F/B, fails on them. Deterministic (fixed seeds): the tensors and the parity data
come out bit-identical on every run; only the order of the metadata keys in a model file's JSON header
may change (safetensors writes them from a hash map).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quell_model import (QuellNet, build_metadata, run_deep_filter_from_zero, run_from_zero,  # noqa: E402
                         run_refine_from_zero, save_safetensors, verify_files, write_parity)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMES = 200

# name, cell, seed, (F, B, D, H, L), feature version, (refined bins, refinement tanh units) or None,
# (filtered bins, order, filter tanh units) or None, front end (channels, frames, features) or None
FIXTURES = (
    ("tiny_random", "gru", 1234, (34, 32, 16, 24, 2), 1, None, None),
    ("tiny_random_lstm", "lstm", 4321, (27, 19, 12, 20, 2), 1, None, None),
    ("tiny_random_v2", "gru", 2468, (84, 20, 12, 16, 1), 2, None, None),
    ("tiny_random_refine", "gru", 1357, (84, 20, 12, 16, 1), 2, (30, 10), None),
    ("tiny_random_filter", "gru", 9753, (84, 20, 12, 16, 1), 2, (7, 0), (12, 3, 9)),
    ("tiny_random_conv", "gru", 8642, (29, 29, 14, 18, 1), 1, (9, 0), None, (5, 3, 5)),
)


def make(name: str, cell: str, seed: int, sizes, feature_version: int, refine=None, dfilter=None,
         conv=None) -> None:
    F, B, D, H, L = sizes
    model_rel = f"tests/fixtures/{name}.safetensors"
    parity_rel = f"tests/fixtures/parity_{name}.safetensors"
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = QuellNet(F, B, D, H, L, cell=cell, **(dict(zip(("conv_channels", "conv_time", "conv_freq"), conv))
                                                   if conv else {}))
    if refine is not None:
        model.add_refine_head(*refine)
    if dfilter is not None:
        model.add_deep_filter_head(*dfilter)
    with torch.no_grad():
        # Wider than the default init so the gates and tanh/sigmoid work away from their linear range.
        for p in model.parameters():
            p.uniform_(-0.6, 0.6)
    model.set_normalisation(rng.normal(-5.0, 1.0, F), rng.uniform(0.5, 3.0, F))

    # Increasing band edges 0..24000 Hz (B+1 values), roughly log-spaced like a real layout.
    inner = np.round(np.geomspace(100.0, 20000.0, B - 1))
    edges = [0.0] + [float(e) for e in inner] + [24000.0]
    assert len(edges) == B + 1 and all(a < b for a, b in zip(edges, edges[1:]))

    md = build_metadata(model, name,
                        f"random-weight {cell.upper()} test model for the loader/runtime parity test; not a denoiser",
                        edges, feature_version=feature_version)
    if cell == "gru" and feature_version == 1:  # the original wording, so the GRU fixture stays byte-identical
        md["description"] = "random-weight test model for the loader/runtime parity test; not a denoiser"
    model_path = os.path.join(REPO_ROOT, model_rel)
    parity_path = os.path.join(REPO_ROOT, parity_rel)
    os.makedirs(os.path.dirname(model_path), exist_ok=True)
    save_safetensors(model, model_path, md)

    feats = rng.normal(-5.0, 2.0, (FRAMES, F)).astype(np.float32)
    gains, vad = run_from_zero(model, feats)
    factors = run_refine_from_zero(model, feats) if refine is not None else None
    coefs = run_deep_filter_from_zero(model, feats) if dfilter is not None else None
    write_parity(parity_path, model_rel, feats, gains, vad, refine=factors, deep_filter=coefs)
    err = verify_files(model_path, parity_path)
    print(f"wrote {model_rel} ({os.path.getsize(model_path)} bytes) and {parity_rel} "
          f"({os.path.getsize(parity_path)} bytes)")
    print(f"  {cell}: gains range [{gains.min():.4f}, {gains.max():.4f}] mean {gains.mean():.4f} "
          f"std {gains.std():.4f}; vad range [{vad.min():.4f}, {vad.max():.4f}]; "
          f"reload + numpy reference max |diff| {err:.2e}")


def main():
    only = set(sys.argv[1:])  # optional: fixture names to (re)write
    for name, cell, seed, sizes, fv, refine, dfilter, *conv in FIXTURES:
        if not only or name in only:
            make(name, cell, seed, sizes, fv, refine, dfilter, *conv)


if __name__ == "__main__":
    main()
