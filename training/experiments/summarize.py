#!/usr/bin/env python3
"""Collect the cell-and-mask study (training/experiments/cell_and_mask.sh) into one markdown table:
parameters and MACs from the exported model files, training time from the checkpoints, dev-set
scores from evaluate.py's JSON, engine CPU from the bench table. Writes OUT/summary.md and prints it."""

from __future__ import annotations

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from quell_model import count_parameters, load_safetensors  # noqa: E402


def macs_per_frame(model) -> int:
    """Multiply-accumulates per 5 ms frame, counted as the Rust runtime does
    (`ModelWeights::macs_per_frame`): every weight matrix once."""
    n = model.input.weight.numel() + model.gain.weight.numel() + model.vad.weight.numel()
    if model.conv is not None:  # every kernel weight once per feature
        n += model.conv.weight.numel() * model.n_features
    for l in range(model.layers):
        n += getattr(model.rnn, f"weight_ih_l{l}").numel() + getattr(model.rnn, f"weight_hh_l{l}").numel()
    return n


def mean(v):
    v = [x for x in v if x is not None]
    return sum(v) / len(v) if v else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--runs", nargs="+", required=True)
    args = ap.parse_args()

    def load_eval(path):
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return json.load(f).get("clips", [])

    bench = {}
    bm = os.path.join(args.out, "bench.md")
    if os.path.exists(bm):
        for line in open(bm):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 5 and cells[0].startswith("cm_"):
                bench[cells[0]] = cells[3]

    def scores(clips, quell: bool):
        """evaluate.py's per-clip records (of the one system in `clips`) -> overall means and per-SNR
        PESQ-WB."""
        recs = [c for c in clips if c.get("system", "").startswith("quell:") == quell]
        if not recs:
            return None
        by_snr = {}
        for c in recs:
            by_snr.setdefault(c["snr_db"], []).append(c.get("pesq_wb"))
        return {"pesq": mean([c.get("pesq_wb") for c in recs]), "stoi": mean([c.get("stoi") for c in recs]),
                "sisdr": mean([c.get("si_sdr") for c in recs]), "n": len(recs),
                "pesq_by_snr": {k: mean(v) for k, v in sorted(by_snr.items())},
                "pesq_by_clip": {c["id"]: c.get("pesq_wb") for c in recs}}

    def paired(a, b):
        """Mean and standard error over clips of PESQ-WB(b) - PESQ-WB(a) (same clips)."""
        d = [b[k] - a[k] for k in a if k in b and a[k] is not None and b[k] is not None]
        if len(d) < 2:
            return None
        m = sum(d) / len(d)
        sd = (sum((x - m) ** 2 for x in d) / (len(d) - 1)) ** 0.5
        return m, sd / len(d) ** 0.5

    rows = []
    noisy = scores(load_eval(os.path.join(args.out, "eval_noisy.json")), quell=False)
    for r in args.runs:
        d = os.path.join(args.out, r)
        if not os.path.exists(os.path.join(d, "model.safetensors")):
            print(f"{r}: no model yet", file=sys.stderr)
            continue
        model, meta = load_safetensors(os.path.join(d, "model.safetensors"))
        ck = torch.load(os.path.join(d, "last.pt"), map_location="cpu", weights_only=False)
        last_train = [l for l in open(os.path.join(d, "log.txt")) if " train step " in l]
        gain_loss = float(last_train[-1].split(" gain ")[1].split()[0]) if last_train else float("nan")
        rows.append({
            "run": r, "gain_loss": gain_loss,
            "cell": ("CNN-" if model.conv is not None else "") + model.cell.upper(), "bands": model.n_bands,
            "params": count_parameters(model),
            "rnn_params": sum(p.numel() for p in model.rnn.parameters()),
            "mmac_s": macs_per_frame(model) * 200 / 1e6,
            "steps": ck["step"], "train_min": ck.get("step_seconds", ck["elapsed_s"]) / 60,
            "us": bench.get(meta["name"], "—"),
            "sc": scores(load_eval(os.path.join(d, "eval.json")), quell=True),
        })

    out = []
    base = rows[0]["sc"] if rows and rows[0]["sc"] else None
    out.append("| model | cell | bands | params (recurrent) | MMAC/s | steps | train min (1 thread) "
               f"| final train gain loss | µs per 10 ms | PESQ-WB | Δ PESQ vs {rows[0]['run'] if rows else '—'} (± s.e.) | STOI "
               "| SI-SDR (dB) |")
    out.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    if noisy:
        out.append(f"| noisy input | — | — | — | — | — | — | — | — | {noisy['pesq']:.3f} | — | {noisy['stoi']:.4f} "
                   f"| {noisy['sisdr']:.2f} |")
    for x in rows:
        sc = x["sc"]
        dp = paired(base["pesq_by_clip"], sc["pesq_by_clip"]) if (sc and base and sc is not base) else None
        d = f"{dp[0]:+.3f} ± {dp[1]:.3f}" if dp else "—"
        q = (f"{sc['pesq']:.3f} | {d} | {sc['stoi']:.4f} | {sc['sisdr']:.2f}" if sc else "— | — | — | —")
        out.append(f"| {x['run']} | {x['cell']} | {x['bands']} | {x['params']} ({x['rnn_params']}) "
                   f"| {x['mmac_s']:.2f} | {x['steps']} | {x['train_min']:.1f} | {x['gain_loss']:.4f} | {x['us']} | {q} |")
    if noisy:
        snrs = list(noisy["pesq_by_snr"])
        out.append("")
        out.append("PESQ-WB by input SNR (n = " + str(noisy["n"]) + " clips):")
        out.append("")
        out.append("| model | " + " | ".join(f"{s:+g} dB" for s in snrs) + " |")
        out.append("|---|" + "---:|" * len(snrs))
        out.append("| noisy input | " + " | ".join(f"{noisy['pesq_by_snr'][s]:.3f}" for s in snrs) + " |")
        for x in rows:
            if x["sc"]:
                out.append(f"| {x['run']} | " + " | ".join(f"{x['sc']['pesq_by_snr'].get(s, float('nan')):.3f}"
                                                         for s in snrs) + " |")
    text = "\n".join(out) + "\n"
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
