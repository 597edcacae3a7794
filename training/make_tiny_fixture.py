#!/usr/bin/env python3
"""Build the random-weight test model tests/fixtures/tiny_random.safetensors and its parity fixture
tests/fixtures/parity_tiny_random.safetensors (200 frames).

Sizes (F=34, B=32, D=16, H=24, L=2) deliberately differ from any real model, so a Rust loader that
hard-codes a size, or mixes up D/H/F/B, fails on it. Deterministic (fixed seed).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quell_model import (QuellNet, build_metadata, run_from_zero, save_safetensors,  # noqa: E402
                         verify_files, write_parity)

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
F, B, D, H, L = 34, 32, 16, 24, 2
FRAMES = 200
MODEL_REL = "tests/fixtures/tiny_random.safetensors"
PARITY_REL = "tests/fixtures/parity_tiny_random.safetensors"


def main():
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    model = QuellNet(F, B, D, H, L)
    with torch.no_grad():
        # Wider than the default init so the gates and tanh/sigmoid work away from their linear range.
        for p in model.parameters():
            p.uniform_(-0.6, 0.6)
    model.set_normalisation(rng.normal(-5.0, 1.0, F), rng.uniform(0.5, 3.0, F))

    # Increasing band edges 0..24000 Hz (33 values), roughly log-spaced like a real layout.
    inner = np.round(np.geomspace(100.0, 20000.0, B - 1))
    edges = [0.0] + [float(e) for e in inner] + [24000.0]
    assert len(edges) == B + 1 and all(a < b for a, b in zip(edges, edges[1:]))

    md = build_metadata(model, "tiny_random",
                        "random-weight test model for the loader/runtime parity test; not a denoiser", edges)
    model_path = os.path.join(REPO_ROOT, MODEL_REL)
    parity_path = os.path.join(REPO_ROOT, PARITY_REL)
    os.makedirs(os.path.dirname(model_path), exist_ok=True)
    save_safetensors(model, model_path, md)

    feats = rng.normal(-5.0, 2.0, (FRAMES, F)).astype(np.float32)
    gains, vad = run_from_zero(model, feats)
    write_parity(parity_path, MODEL_REL, feats, gains, vad)
    err = verify_files(model_path, parity_path)
    print(f"wrote {MODEL_REL} ({os.path.getsize(model_path)} bytes) and {PARITY_REL} "
          f"({os.path.getsize(parity_path)} bytes)")
    print(f"gains range [{gains.min():.4f}, {gains.max():.4f}] mean {gains.mean():.4f} std {gains.std():.4f}; "
          f"vad range [{vad.min():.4f}, {vad.max():.4f}]; reload + numpy reference max |diff| {err:.2e}")


if __name__ == "__main__":
    main()
