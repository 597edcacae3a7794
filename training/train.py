#!/usr/bin/env python3
"""Train QuellNet on feature dumps written by `quell dump-features` (see FORMATS.md).

Streaming training: the (concatenated) frame stream is cut into `--batch` contiguous lanes (a random
rotation of the stream each epoch); each lane is read in consecutive chunks of `--seq` frames and the
GRU hidden state is carried (detached) from one chunk to the next, reset at every epoch start (and, with
a small probability per lane and chunk, `--reset-prob`, so the model also learns to start from zero).

Training stops after `--minutes` of wall-clock time (or after `--steps` optimiser steps, if given: a
budget that does not depend on the machine's load) and writes OUT/last.pt (+ OUT/best.pt).

Data-parallel: under `torchrun --nproc_per_node N training/train.py ...` each process trains its own
`--batch` lanes (its own random offsets) and gradients are averaged (DDP: gloo on CPU, NCCL on GPUs), so
the same recipe scales from this 2-core machine to a GPU cluster. Rank 0 alone validates, logs and saves,
and decides when the budget is spent; the others follow its word every step.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import List, Optional

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as Fnn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quell_model import CELLS, QuellNet, count_parameters, map_state, refine_gains, gate_by_speech  # noqa: E402

META_KEYS_MUST_MATCH = ("n_features", "n_bands", "band_edges_hz", "sample_rate", "hop", "fft",
                        "feature_version")


# ----------------------------------------------------------------------------------------------- data
class DontCare:
    """A [T, B] target array of -1 ("don't care") that takes no memory: slices come out as arrays."""

    def __init__(self, T: int, B: int):
        self.shape = (T, B)

    def __getitem__(self, s: slice):
        lo, hi, _ = s.indices(self.shape[0])
        return np.full((max(hi - lo, 0), self.shape[1]), -1.0, dtype=np.float32)


class Stream:
    """Several feature dumps concatenated into one circular frame stream, memory-mapped."""

    def __init__(self, dirs: List[str], spectra: bool = False, reverb: bool = False):
        if not dirs:
            raise ValueError("no data directories")
        self.meta = None
        self.parts = []
        for d in dirs:
            with open(os.path.join(d, "meta.json")) as f:
                meta = json.load(f)
            if self.meta is None:
                self.meta = meta
            else:
                for k in META_KEYS_MUST_MATCH:
                    if meta.get(k) != self.meta.get(k):
                        raise ValueError(f"{d}: meta.json {k}={meta.get(k)!r} differs from "
                                         f"{dirs[0]}: {self.meta.get(k)!r}")
            feats = np.load(os.path.join(d, "features.npy"), mmap_mode="r")
            targs = np.load(os.path.join(d, "targets.npy"), mmap_mode="r")
            vad = np.load(os.path.join(d, "vad.npy"), mmap_mode="r")
            T = feats.shape[0]
            F, B = int(meta["n_features"]), int(meta["n_bands"])
            if feats.shape != (T, F) or targs.shape != (T, B) or vad.shape != (T,):
                raise ValueError(f"{d}: shapes features {feats.shape}, targets {targs.shape}, vad {vad.shape} "
                                 f"do not match meta (F={F}, B={B})")
            for name, a in (("features", feats), ("targets", targs), ("vad", vad)):
                if a.dtype != np.float32:
                    raise ValueError(f"{d}: {name}.npy is {a.dtype}, expected float32")
            extra = ()
            if spectra:
                # Written by `quell dump-features --spectra`: compressed noisy/clean magnitudes of the
                # engine's STFT (float16) and the engine's band-to-bin interpolation.
                if not meta.get("spectra"):
                    raise ValueError(f"{d}: dumped without --spectra; the spectrum loss needs it")
                ns = np.load(os.path.join(d, "noisy_spec.npy"), mmap_mode="r")
                cs = np.load(os.path.join(d, "clean_spec.npy"), mmap_mode="r")
                if ns.shape != (T, int(meta["bins"])) or cs.shape != ns.shape:
                    raise ValueError(f"{d}: spectra shapes {ns.shape}, {cs.shape} do not match {T} frames")
                extra = (ns, cs)
                self.interp = torch.from_numpy(np.load(os.path.join(d, "interp.npy")).astype(np.float32))
            if reverb:
                # Written by `quell dump-features --reverb-targets`: the reverb head's band targets
                # (gains against the speech with its whole room), appended after any spectra. A dump
                # without them trains the rest of the network only (its reverb targets "don't care").
                if meta.get("reverb_targets"):
                    rt = np.load(os.path.join(d, "targets_reverb.npy"), mmap_mode="r")
                    if rt.shape != (T, B) or rt.dtype != np.float32:
                        raise ValueError(f"{d}: targets_reverb {rt.dtype} {rt.shape}, expected float32 {(T, B)}")
                else:
                    print(f"note: {d} has no reverb targets: its frames do not train the reverb head", flush=True)
                    rt = DontCare(T, B)
                extra = extra + (rt,)
            if "frames" in meta and int(meta["frames"]) != T:
                print(f"warning: {d}: meta frames={meta['frames']} but features.npy has {T}", flush=True)
            if T > 0:
                self.parts.append((feats, targs, vad) + extra)
        self.lengths = np.array([p[0].shape[0] for p in self.parts], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(self.lengths)])
        self.total = int(self.offsets[-1])
        if self.total == 0:
            raise ValueError("data directories hold no frames")
        self.n_features = int(self.meta["n_features"])
        self.n_bands = int(self.meta["n_bands"])

    def read(self, start: int, n: int):
        """Frames [start, start+n) of the circular stream -> (features [n,F], targets [n,B], vad [n]
        [, noisy spectra [n,K], clean spectra [n,K]])."""
        pieces = None
        pos = start % self.total
        left = n
        while left > 0:
            i = int(np.searchsorted(self.offsets, pos, side="right") - 1)
            local = pos - int(self.offsets[i])
            take = min(left, int(self.lengths[i]) - local)
            arrays = self.parts[i]
            if pieces is None:
                pieces = [[] for _ in arrays]
            for acc, a in zip(pieces, arrays):
                acc.append(a[local:local + take])
            left -= take
            pos = (pos + take) % self.total
        return tuple(np.array(p[0]) if len(p) == 1 else np.concatenate(p) for p in pieces)

    def batch(self, starts, n: int):
        """(features, targets, vad[..., None]) tensors [+ (noisy, clean) spectra as float32]."""
        rows = [self.read(int(s), n) for s in starts]
        out = [torch.from_numpy(np.stack([r[j] for r in rows]).astype(np.float32, copy=False))
               for j in range(len(rows[0]))]
        out[2] = out[2][..., None]
        return tuple(out)

    def feature_stats(self, max_frames: int, rng: np.random.Generator):
        """Mean/std of the features over a random subsample of frames (float64)."""
        n = min(max_frames, self.total)
        idx = np.sort(rng.choice(self.total, size=n, replace=False)) if n < self.total else np.arange(self.total)
        s = np.zeros(self.n_features)
        s2 = np.zeros(self.n_features)
        for i, (f, *_) in enumerate(self.parts):
            lo, hi = self.offsets[i], self.offsets[i + 1]
            sel = idx[(idx >= lo) & (idx < hi)] - lo
            if sel.size:
                x = np.asarray(f[sel], dtype=np.float64)
                s += x.sum(0)
                s2 += (x * x).sum(0)
        mean = s / n
        std = np.sqrt(np.maximum(s2 / n - mean * mean, 0.0))
        return mean, std


# ----------------------------------------------------------------------------------------------- loss
def spectrum_loss(g, noisy_c, clean_c, vad_targets, interp, args, refine=None, partner_bins=None):
    """Loss on what the listener hears: band gains spread to bins exactly as the engine does
    (`interp`, written by the dumper), applied to the compressed noisy magnitude (|Y|^0.3, so the
    output is g^0.3 |Y|^0.3), against the compressed clean magnitude; bins where clean < 0 are
    "don't care". Normalised by the clean spectrum's mean square, so its weight does not depend on
    level. Returns (sum, count) like the other terms."""
    gb = torch.matmul(g, interp.t()).clamp(0.0, 1.0)
    if refine is not None:  # the refinement head's factors on the lowest bins, as the engine applies them
        k = refine.shape[-1]
        gb = torch.cat([refine_gains(gb[..., :k], refine), gb[..., k:]], -1)
    if partner_bins is not None:  # a pair: the engine applies the mean of both networks' per-bin gains
        gb = 0.5 * (gb + partner_bins)
    out = gb.clamp_min(1e-8) ** 0.3 * noisy_c
    mask = (clean_c >= 0).to(g.dtype)
    d = out - clean_c.clamp_min(0.0)
    d2 = (d * d + args.spec_over_suppress * torch.relu(-d) ** 2) * mask
    d2 = d2 / ((clean_c.clamp_min(0.0) ** 2 * mask).sum() / mask.sum().clamp_min(1.0) + 1e-8)
    if args.speech_weight > 0:
        d2 = d2 * (1.0 + args.speech_weight * vad_targets.clamp(0.0, 1.0))
    return d2.sum(), mask.sum()


def gain_loss(gain_logits, targets, vad_targets, args, speech_weight=None, over_suppress=None, partner=None):
    """The band-gain loss of one head: (masked sum, count, masked plain MSE sum, gains). With `partner`
    (the other network's band gains) the loss is on the pair's mean; the gains returned stay this
    network's own."""
    speech_weight = args.speech_weight if speech_weight is None else speech_weight
    over_suppress = args.over_suppress if over_suppress is None else over_suppress
    gmask = (targets >= 0).to(gain_logits.dtype)
    g = torch.sigmoid(gain_logits)
    sg = torch.sqrt((g if partner is None else 0.5 * (g + partner)).clamp_min(1e-8))
    st = torch.sqrt(targets.clamp(0.0, 1.0))
    d = sg - st
    per = d * d + args.quartic * (d * d) ** 2 + over_suppress * torch.relu(-d) ** 2
    if speech_weight > 0:
        # Damage to speech frames costs more than residual noise in pauses (RNNoise 0.2 uses 1 + 5 x VAD).
        per = per * (1.0 + speech_weight * vad_targets.clamp(0.0, 1.0))
    return (per * gmask).sum(), gmask.sum(), (d * d * gmask).sum(), g


def loss_terms(gain_logits, vad_logits, targets, vad_targets, args, spectra=None, interp=None,
               reverb_logits=None, reverb_targets=None, refine_logits=None, partner=None):
    """Masked sums -> dict of (sum, count) pairs. Frames/bands with target < 0 are ignored. `partner`
    (partner_outputs) puts the gain and spectrum terms on the pair's mean, as the engine plays a file
    with a member; the speech-probability term stays this network's own."""
    pg = partner["gains"] if partner is not None else None
    gsum, gcount, msum, g = gain_loss(gain_logits, targets, vad_targets, args, partner=pg)
    vmask = (vad_targets >= 0).to(vad_logits.dtype)
    bce = Fnn.binary_cross_entropy_with_logits(vad_logits, vad_targets.clamp(0.0, 1.0), reduction="none")
    terms = {
        "gain": (gsum, gcount),
        "vad": ((bce * vmask).sum(), vmask.sum()),
        "mse": (msum, gcount),  # plain compressed-gain MSE, for reporting
    }
    if spectra is not None:
        refine = None
        if refine_logits is not None:  # as the engine gates it: by the model's own speech probability
            refine = gate_by_speech(2.0 * torch.sigmoid(refine_logits), torch.sigmoid(vad_logits))
        terms["spec"] = spectrum_loss(g, spectra[0], spectra[1], vad_targets, interp, args, refine,
                                      partner["bins"] if partner is not None else None)
    if reverb_logits is not None:
        # Unweighted: the VAD targets mark the direct speech, and the room's tail after a word (what
        # this head exists to keep) would count for a sixth of the words themselves.
        rsum, rcount, _, _ = gain_loss(reverb_logits, reverb_targets, vad_targets, args, speech_weight=0.0,
                                       over_suppress=args.reverb_over_suppress)
        terms["reverb"] = (rsum, rcount)
    return terms


def combine(terms, args):
    gs, gc = terms["gain"]
    vs, vc = terms["vad"]
    gl = gs / torch.clamp(gc, min=1.0)
    vl = vs / torch.clamp(vc, min=1.0)
    total = args.gain_weight * gl + args.vad_weight * vl
    if "spec" in terms:
        ss, sc = terms["spec"]
        total = total + args.spec_weight * ss / torch.clamp(sc, min=1.0)
    if "reverb" in terms:
        rs, rc = terms["reverb"]
        total = total + args.reverb_weight * rs / torch.clamp(rc, min=1.0)
    return total, gl, vl


# ------------------------------------------------------------------------------------------- helpers
class Logger:
    def __init__(self, path: str):
        self.f = open(path, "a", buffering=1)

    def __call__(self, msg: str):
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        self.f.write(line + "\n")
        self.f.flush()


def lr_at(step: int, frac: float, args) -> float:
    warm = min(1.0, (step + 1) / max(1, args.warmup))
    frac = min(max(frac, 0.0), 1.0)
    cos = args.min_lr_frac + (1.0 - args.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * frac))
    return args.lr * warm * cos


def load_partner(path: str, device: str) -> QuellNet:
    """The frozen network this one is trained to pair with (--partner; FORMATS.md "Members")."""
    from quell_model import load_safetensors
    partner, _ = load_safetensors(path)
    partner.to(device).eval()
    for p in partner.parameters():
        p.requires_grad_(False)
    return partner


@torch.no_grad()
def partner_outputs(partner: QuellNet, features, h, interp):
    """The partner's band gains, per-bin gains (its refinement head applied as the engine gates it; only
    when an interpolation matrix is given) and state, for the pair's loss."""
    gl, vl, _, h, rl = partner.forward_all_logits(features, h)
    g = torch.sigmoid(gl)
    out = {"gains": g}
    if interp is not None:
        gb = torch.matmul(g, interp.t()).clamp(0.0, 1.0)
        if rl is not None:
            k = rl.shape[-1]
            r = gate_by_speech(2.0 * torch.sigmoid(rl), torch.sigmoid(vl))
            gb = torch.cat([refine_gains(gb[..., :k], r), gb[..., k:]], -1)
        out["bins"] = gb
    return out, h


@torch.no_grad()
def evaluate(model: QuellNet, stream: Stream, args, partner: Optional[QuellNet] = None) -> dict:
    """Streaming loss over (at most --val-max-frames of) the validation dump, from zero state."""
    model.eval()
    frames = min(stream.total, args.val_max_frames)
    lanes = max(1, min(args.batch, frames // args.seq))
    lane_len = frames // lanes
    n_chunks = max(1, lane_len // args.seq)
    seq = min(args.seq, lane_len)
    starts = np.arange(lanes) * lane_len
    acc = {k: [0.0, 0.0] for k in ("gain", "vad", "mse")}
    h = hp = None
    for k in range(n_chunks):
        f, t, v, *_ = (a.to(args.device) for a in stream.batch(starts + k * seq, seq))
        gl, vl, h = model.forward_logits(f, h)
        po = None
        if partner is not None:  # the pair's loss: what the engine plays
            po, hp = partner_outputs(partner, f, hp, None)
        for name, (s, c) in loss_terms(gl, vl, t, v, args, partner=po).items():
            acc[name][0] += float(s)
            acc[name][1] += float(c)
    model.train()
    g = acc["gain"][0] / max(acc["gain"][1], 1.0)
    vv = acc["vad"][0] / max(acc["vad"][1], 1.0)
    return {"loss": g + args.vad_weight * vv, "gain": g, "vad": vv,
            "mse": acc["mse"][0] / max(acc["mse"][1], 1.0), "frames": lanes * n_chunks * seq}


class LogitsOf(torch.nn.Module):
    """`forward` = the model's `forward_logits`, so DistributedDataParallel (which hooks `forward`)
    synchronises the gradients of what training calls."""

    def __init__(self, model: QuellNet):
        super().__init__()
        self.model = model

    def forward(self, features, h=None):
        return self.model.forward_all_logits(features, h)


def distributed_setup(args):
    """(rank, world size); initialises the process group when run under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1
    backend = "nccl" if args.device.startswith("cuda") else "gloo"
    dist.init_process_group(backend=backend)
    rank = dist.get_rank()
    if args.device.startswith("cuda"):
        args.device = f"cuda:{int(os.environ.get('LOCAL_RANK', rank))}"
        torch.cuda.set_device(args.device)
    return rank, world


def checkpoint(model, opt, meta, args, extra: dict) -> dict:
    return {
        "model": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "optimizer": opt.state_dict(),
        "config": model.config(),
        "n_features": int(meta["n_features"]),
        "n_bands": int(meta["n_bands"]),
        "band_edges_hz": [float(x) for x in meta["band_edges_hz"]],
        "meta": {k: meta[k] for k in ("sample_rate", "hop", "fft", "feature_version") if k in meta},
        "args": vars(args),
        **extra,
    }


def has_reverb_head(state_dict) -> bool:
    return any(k.startswith("reverb_gain.") for k in state_dict)


def add_refine_head_like(model: QuellNet, state_dict) -> None:
    """Give `model` a refinement head of the shape `state_dict` holds (if it holds one)."""
    if "refine.weight" in state_dict:
        hidden = state_dict["refine_hidden.weight"].shape[0] if "refine_hidden.weight" in state_dict else 0
        model.add_refine_head(state_dict["refine.weight"].shape[0], hidden)


CONV_KEYS = ("conv_channels", "conv_time", "conv_freq")
HEAD_PREFIXES = ("reverb_gain.", "refine.", "refine_hidden.", "deep_filter.", "deep_filter_hidden.")


def grow_front_end(model: QuellNet, init: dict) -> dict:
    """A state dict for `model` (which has a front end) from `init` (a model without one): every weight
    as it was, the front end as initialised, and the dense layer's columns for the front end's outputs
    at zero, so the grown model starts by computing exactly what the old one did."""
    sd = dict(init["model"])
    w = sd["input.weight"]
    grown = torch.zeros_like(model.input.weight)
    grown[:, :w.shape[1]] = w
    sd["input.weight"] = grown
    sd["conv.weight"] = model.conv.weight.detach().clone()
    sd["conv.bias"] = model.conv.bias.detach().clone()
    return sd


def save_atomic(obj, path: str):
    tmp = path + ".tmp"
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------- main
def main(argv: Optional[List[str]] = None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", nargs="+", required=True, help="feature dump dir(s); streams are concatenated")
    ap.add_argument("--val", default=None, help="dev feature dump dir for validation loss (optional)")
    ap.add_argument("--out", required=True, help="output dir: last.pt, best.pt, log.txt")
    ap.add_argument("--dense", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--cell", choices=CELLS, default="gru", help="recurrent cell (nn.GRU or nn.LSTM)")
    ap.add_argument("--conv-channels", type=int, default=0,
                    help="causal convolutional front end: this many kernels over the features (0 = none)")
    ap.add_argument("--conv-time", type=int, default=3, help="frames each kernel reads (this one and past)")
    ap.add_argument("--conv-freq", type=int, default=3, help="neighbouring features each kernel reads (odd)")
    ap.add_argument("--batch", type=int, default=32, help="number of parallel lanes")
    ap.add_argument("--seq", type=int, default=400, help="frames per chunk (400 = 2 s)")
    ap.add_argument("--minutes", type=float, default=30.0, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=0,
                    help="step budget instead of --minutes (0 = use --minutes): the lr schedule runs over "
                         "the steps, and the run stops after them whatever the time")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--min-lr-frac", type=float, default=0.05, help="cosine decays lr to lr*this at the end")
    ap.add_argument("--warmup", type=int, default=100, help="linear lr warm-up steps")
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--clip", type=float, default=1.0, help="gradient norm clip")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dropout", type=float, default=0.0, help="dropout between GRU layers (training only)")
    ap.add_argument("--quartic", type=float, default=4.0, help="weight of |d|^4, d = sqrt(g)-sqrt(t)")
    ap.add_argument("--over-suppress", type=float, default=0.5,
                    help="extra weight of d^2 where g < t (speech damage costs more than residual noise)")
    ap.add_argument("--speech-weight", type=float, default=0.0,
                    help="gain loss of a frame is weighted by 1 + this x its VAD target (0 = unweighted)")
    ap.add_argument("--vad-weight", type=float, default=0.05)
    ap.add_argument("--gain-weight", type=float, default=1.0, help="weight of the band-gain loss")
    ap.add_argument("--reverb-weight", type=float, default=0.0,
                    help="train the reverb head (FORMATS.md reverb_gain) on the dumps' targets_reverb.npy "
                         "(quell dump-features --reverb-targets) with this weight; adds the head if the "
                         "model has none (a copy of the gain head)); dumps without those targets train "
                         "the rest only")
    ap.add_argument("--reverb-over-suppress", type=float, default=None,
                    help="the reverb term's extra weight where its gain is below the target (default "
                         "--over-suppress): a head that exists to keep the room")
    ap.add_argument("--spec-weight", type=float, default=0.0,
                    help="weight of the output-spectrum loss (needs dumps made with --spectra; 0 = off). "
                         "Validation stays on the gain and VAD losses, comparable across runs")
    ap.add_argument("--spec-over-suppress", type=float, default=0.0,
                    help="extra weight on output-spectrum bins below the clean (removed speech)")
    ap.add_argument("--refine-bins", type=int, default=0,
                    help="give the model the bin-refinement head (FORMATS.md refine.*) for FFT bins [0, K), "
                         "trained through the output-spectrum loss (needs --spec-weight > 0); a model that "
                         "has one (--init/--resume) keeps it")
    ap.add_argument("--refine-hidden", type=int, default=0, help="tanh units inside a new refinement head")
    ap.add_argument("--reset-prob", type=float, default=0.01,
                    help="probability per lane and chunk of zeroing the carried hidden state")
    ap.add_argument("--stats-frames", type=int, default=200_000, help="frames subsampled for mean/std")
    ap.add_argument("--log-every", type=int, default=20, help="steps between train-loss log lines")
    ap.add_argument("--val-minutes", type=float, default=5.0, help="minutes between validations/checkpoints")
    ap.add_argument("--val-max-frames", type=int, default=240_000, help="cap on validation frames (20 min)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch CPU threads (0 = torch default). 1 is fastest for this small GRU on a shared "
                         "2-core box: with more, OpenMP spin-waits under contention and steps get ~10x slower")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--init", default="",
                    help="checkpoint (.pt) or model file (.safetensors, e.g. a shipped model) to fine-tune from: "
                         "its weights and feature normalisation replace the fresh ones (same layer sizes "
                         "required); the optimiser and lr schedule start anew")
    ap.add_argument("--init-trunk", action="store_true",
                    help="take only the trunk from --init, not its reverb, refinement or deep-filter heads "
                         "(a shipped file carries heads fitted on its frozen trunk; they are refitted after)")
    ap.add_argument("--partner", default="",
                    help="a model file (.safetensors, no member of its own) this network is trained to pair "
                         "with: it runs frozen on the same input and the gain and output-spectrum losses are "
                         "on the mean of both networks' gains, as the engine plays a file with a member "
                         "(FORMATS.md \"Members\"; validation too). The speech-probability loss stays this "
                         "network's own")
    ap.add_argument("--resume", action="store_true",
                    help="continue OUT/last.pt where it stopped: weights, optimiser, step, elapsed budget and "
                         "best val loss (a later session picks the run up; the data order is reshuffled)")
    ap.add_argument("--keep", action="store_true",
                    help="also keep every validation's checkpoint as OUT/ckpt_STEP.pt (learning curves)")
    args = ap.parse_args(argv)

    rank, world = distributed_setup(args)
    os.makedirs(args.out, exist_ok=True)
    log = Logger(os.path.join(args.out, "log.txt")) if rank == 0 else (lambda msg: None)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    # Feature statistics draw from the shared seed (identical on every rank); lane offsets and resets
    # from a per-rank stream, so ranks read different data.
    rng = np.random.default_rng(args.seed)

    train = Stream(args.data, spectra=args.spec_weight > 0, reverb=args.reverb_weight > 0)
    interp = train.interp.to(args.device) if args.spec_weight > 0 else None
    meta = train.meta
    val = Stream([args.val]) if args.val else None
    if val is not None:
        for k in META_KEYS_MUST_MATCH:
            if val.meta.get(k) != meta.get(k):
                raise SystemExit(f"--val meta.json {k} differs from the training data")
    log(f"args: {json.dumps(vars(args))}")
    log(f"train: {train.total} frames ({train.total * meta['hop'] / meta['sample_rate'] / 3600:.2f} h) "
        f"from {len(train.parts)} dump(s); F={train.n_features} B={train.n_bands}"
        + (f"; val: {val.total} frames" if val else ""))

    lane_len = train.total // args.batch
    n_chunks = lane_len // args.seq
    if n_chunks < 1:
        raise SystemExit(f"not enough data: {train.total} frames < batch*seq = {args.batch * args.seq}")

    model = QuellNet(train.n_features, train.n_bands, args.dense, args.hidden, args.layers, dropout=args.dropout,
                     cell=args.cell, conv_channels=args.conv_channels, conv_time=args.conv_time,
                     conv_freq=args.conv_freq)
    mean, std = train.feature_stats(args.stats_frames, rng)
    if rank > 0:
        rng = np.random.default_rng([args.seed, rank])
    model.set_normalisation(mean, std)
    if args.init:
        if args.init.endswith(".safetensors"):
            from quell_model import load_safetensors
            src, _ = load_safetensors(args.init)
            init = {"config": src.config(), "model": src.state_dict(), "step": "shipped"}
        else:
            init = torch.load(args.init, map_location="cpu", weights_only=False)
        if args.init_trunk:
            init["model"] = {k: v for k, v in init["model"].items() if not k.startswith(HEAD_PREFIXES)}
        bare = {k: v for k, v in model.config().items() if k not in CONV_KEYS}
        grow = model.conv is not None and "conv_channels" not in init["config"] and init["config"] == bare
        if init["config"] != model.config() and not grow:
            raise SystemExit(f"--init {args.init}: layer sizes {init['config']} differ from {model.config()}")
        if has_reverb_head(init["model"]):
            model.add_reverb_head()
        add_refine_head_like(model, init["model"])
        model.load_state_dict(grow_front_end(model, init) if grow else init["model"])
        if grow:
            log("grew a convolutional front end onto it (its dense-layer columns start at zero)")
        mean, std = model.feature_mean.numpy(), model.feature_std.numpy()
        log(f"fine-tuning from {args.init} (its step {init.get('step')}, keeping its feature normalisation)")
    resumed = None
    if args.resume and os.path.exists(os.path.join(args.out, "last.pt")):
        resumed = torch.load(os.path.join(args.out, "last.pt"), map_location="cpu", weights_only=False)
        if resumed["config"] != model.config():
            raise SystemExit(f"--resume: layer sizes {resumed['config']} differ from {model.config()}")
        if has_reverb_head(resumed["model"]) and model.reverb_gain is None:
            model.add_reverb_head()
        if model.refine is None:
            add_refine_head_like(model, resumed["model"])
        model.load_state_dict(resumed["model"])
        mean, std = model.feature_mean.numpy(), model.feature_std.numpy()
        log(f"resuming {args.out}/last.pt at step {resumed['step']} "
            f"({resumed['elapsed_s'] / 60:.1f} min of the budget used)")
    if args.reverb_weight > 0 and model.reverb_gain is None:
        model.add_reverb_head()
        log("added the reverb head (a copy of the gain head)")
    if args.refine_bins > 0 and model.refine is None:
        if args.spec_weight <= 0:
            raise SystemExit("--refine-bins needs --spec-weight > 0: the head learns only through that loss")
        model.add_refine_head(args.refine_bins, args.refine_hidden)
        if model.refine_hidden is not None:
            torch.nn.init.xavier_uniform_(model.refine_hidden.weight)
            torch.nn.init.zeros_(model.refine_hidden.bias)
        log(f"added the refinement head ({args.refine_bins} bins, {args.refine_hidden} tanh units; r = 1 at start)")
    model.to(args.device)
    partner = load_partner(args.partner, args.device) if args.partner else None
    if partner is not None:
        log(f"pairing with {args.partner} (frozen; {partner.config()}): losses on the pair's mean")
    log(f"model: {model.config()} params={count_parameters(model)}; "
        f"feature mean range [{mean.min():.3g}, {mean.max():.3g}], std range [{std.min():.3g}, {std.max():.3g}]")

    if world > 1:
        log(f"data-parallel: {world} processes x {args.batch} lanes ({dist.get_backend()})")
        net = torch.nn.parallel.DistributedDataParallel(LogitsOf(model))
    else:
        net = LogitsOf(model)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    budget = args.minutes * 60.0
    t0 = time.time()
    next_val = t0 + args.val_minutes * 60.0
    step, epoch = 0, 0
    best = float("inf")
    if resumed is not None:
        opt.load_state_dict(resumed["optimizer"])
        step, epoch = int(resumed["step"]), int(resumed["epoch"])
        t0 -= float(resumed["elapsed_s"])  # the wall-clock budget and lr schedule carry on
        best = float(resumed.get("best", resumed.get("val", {}).get("loss", float("inf"))))
    last_val = None
    run = {"loss": 0.0, "gain": 0.0, "vad": 0.0, "n": 0, "t": 0.0}
    # Time spent in training steps (data, forward, backward, update), no validation; carried over a resume.
    step_seconds = float(resumed.get("step_seconds", 0.0)) if resumed is not None else 0.0
    model.train()

    def save(final: bool):
        nonlocal best, last_val, step_seconds
        if rank > 0:
            return
        extra = {"step": step, "epoch": epoch, "elapsed_s": time.time() - t0, "step_seconds": step_seconds,
                 "audio_hours": step * world * args.batch * args.seq * meta["hop"] / meta["sample_rate"] / 3600}
        if val is not None:
            r = evaluate(model, val, args, partner)
            last_val = r
            log(f"val  step {step:6d} loss {r['loss']:.5f} gain {r['gain']:.5f} mse {r['mse']:.5f} "
                f"vad {r['vad']:.4f} ({r['frames']} frames)")
            extra["val"] = r
        ck = checkpoint(model, opt, meta, args, extra)
        ck["best"] = min(best, last_val["loss"]) if val is not None else best
        save_atomic(ck, os.path.join(args.out, "last.pt"))
        score = last_val["loss"] if val is not None else -step
        if args.keep:
            save_atomic(ck, os.path.join(args.out, f"ckpt_{step:06d}.pt"))
        if val is None or score < best:
            best = score
            ck["best"] = best
            save_atomic(ck, os.path.join(args.out, "best.pt"))
            if val is not None:
                log(f"new best val loss {score:.5f} -> best.pt")
        if final:
            log(f"saved {os.path.join(args.out, 'last.pt')} (step {step}, {extra['elapsed_s'] / 60:.1f} min, "
                f"{step_seconds / 60:.1f} min in training steps)")

    done = False
    try:
        while not done:
            epoch += 1
            shift = int(rng.integers(train.total))
            starts = (shift + np.arange(args.batch) * lane_len) % train.total
            h = hp = None
            for k in range(n_chunks):
                now = time.time()
                frac = step / args.steps if args.steps > 0 else (now - t0) / budget
                want_val = now >= next_val
                if world > 1:  # rank 0's clock rules: every rank stops and validates at the same step
                    word = torch.tensor([frac, float(want_val)], dtype=torch.float64)
                    dist.broadcast(word, 0)
                    frac, want_val = float(word[0]), bool(word[1])
                if frac >= 1.0:
                    done = True
                    break
                f, t, v, *extra = (a.to(args.device) for a in train.batch(starts + k * args.seq, args.seq))
                rt = extra.pop() if args.reverb_weight > 0 else None
                spectra = extra
                if h is not None and args.reset_prob > 0:
                    keep = torch.from_numpy((rng.random(args.batch) >= args.reset_prob).astype(np.float32))
                    keep = keep.to(args.device)
                    h = map_state(h, lambda x: x * keep[None, :, None])
                    if hp is not None:  # the pair resets together, as the engine resets both
                        hp = map_state(hp, lambda x: x * keep[None, :, None])
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, frac, args)
                gl, vl, rl, h, fl = net(f, h)
                h = map_state(h, lambda x: x.detach())
                po = None
                if partner is not None:
                    po, hp = partner_outputs(partner, f, hp, interp)
                terms = loss_terms(gl, vl, t, v, args, spectra or None, interp,
                                   rl if args.reverb_weight > 0 else None, rt, fl, partner=po)
                loss, gloss, vloss = combine(terms, args)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
                opt.step()
                step += 1
                run["loss"] += loss.item()
                run["gain"] += gloss.item()
                run["vad"] += vloss.item()
                if "reverb" in terms:
                    rs, rc = terms["reverb"]
                    run["reverb"] = run.get("reverb", 0.0) + (rs / rc.clamp_min(1.0)).item()
                run["n"] += 1
                run["t"] += time.time() - now
                step_seconds += time.time() - now
                if step % args.log_every == 0:
                    n = run["n"]
                    rev = f"reverb {run['reverb'] / n:.5f} " if "reverb" in run else ""
                    log(f"train step {step:6d} ep {epoch} loss {run['loss'] / n:.5f} gain {run['gain'] / n:.5f} "
                        f"{rev}vad {run['vad'] / n:.4f} gnorm {float(gnorm):.3f} lr {opt.param_groups[0]['lr']:.2e} "
                        f"{run['t'] / n:.3f} s/step elapsed {(time.time() - t0) / 60:.1f} min")
                    run = {"loss": 0.0, "gain": 0.0, "vad": 0.0, "n": 0, "t": 0.0}
                if want_val:
                    save(final=False)
                    next_val = time.time() + args.val_minutes * 60.0
                    if world > 1:
                        dist.barrier()
    except KeyboardInterrupt:
        log("interrupted: saving")
    save(final=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
