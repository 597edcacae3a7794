"""What the head-fitting scripts (reverb_head.py, refine_head.py, deep_filter_head.py) share: their
common options and the loop that fits one new head on a frozen model."""

from __future__ import annotations

import argparse
from typing import Callable

import numpy as np
import torch


def add_common_args(ap: argparse.ArgumentParser, *, max_frames: int, steps: int, data_help: str,
                    parity_help: str, many_dumps: bool = False) -> None:
    """--model --data --val --out --parity-out --max-frames --steps --batch --lr --seed --threads."""
    ap.add_argument("--model", required=True, help="trained model file (.safetensors)")
    if many_dumps:
        ap.add_argument("--data", nargs="+", required=True, help=f"dump dir(s) {data_help}")
    else:
        ap.add_argument("--data", required=True, help=f"dump dir {data_help}")
    ap.add_argument("--val", required=True, help="dev dump dir written the same way")
    ap.add_argument("--out", required=True, help="model file to write (may be --model)")
    ap.add_argument("--parity-out", default=None, help=f"rewrite this parity fixture {parity_help}")
    ap.add_argument("--max-frames", type=int, default=max_frames,
                    help=f"training frames per dump ({max_frames / 720_000:g} h)")
    ap.add_argument("--steps", type=int, default=steps)
    ap.add_argument("--batch", type=int, default=4096, help="frames per step")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)


def fit_head(head: torch.nn.Module, batch_loss: Callable[[torch.Tensor], torch.Tensor],
             val: Callable[[], float], n_train: int, args) -> float:
    """Adam on `head` with a cosine learning rate from `args.lr`, `args.steps` minibatches of
    `args.batch` random training frames (indices drawn from a generator seeded with `args.seed`, so a
    rerun is identical). The dev loss `val()` is checked every 250 steps; the head keeps the state with
    the lowest one, which is returned."""
    opt = torch.optim.Adam(head.parameters(), lr=args.lr)
    g = torch.Generator().manual_seed(args.seed)
    best = (val(), {k: x.clone() for k, x in head.state_dict().items()})
    for step in range(1, args.steps + 1):
        lr = args.lr * 0.5 * (1 + np.cos(np.pi * step / args.steps))
        for pg in opt.param_groups:
            pg["lr"] = lr
        loss = batch_loss(torch.randint(0, n_train, (args.batch,), generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == args.steps:
            v = val()
            if v < best[0]:
                best = (v, {k: x.clone() for k, x in head.state_dict().items()})
            print(f"step {step}: train {loss.item():.5f} dev {v:.5f} (best {best[0]:.5f})", flush=True)
    head.load_state_dict(best[1])
    return best[0]


def load_frozen(args):
    """Seed torch, set its threads, and load `args.model` with every parameter frozen. Returns (model,
    metadata, whether its weight matrices are stored as float16), for `save_with_new_head`."""
    import json

    from quell_model import load_safetensors

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    model, meta = load_safetensors(args.model)
    with open(args.model, "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    for p in model.parameters():
        p.requires_grad_(False)
    return model, meta, header["gain.weight"]["dtype"] == "F16"
