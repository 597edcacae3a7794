#!/usr/bin/env python3
"""Score training runs on the dev set in one evaluate.py run and report paired differences.

    python training/experiments/eval_levers.py --runs base speech spec --ref base \
        --devset training/data/devset --out training/eval/results/levers.md [--curve base] [--limit N]

Each run is training/runs/lever_NAME (its last.pt: every arm gets the same step budget, and validation
is not on the loss some arms train). With --curve NAME, every kept checkpoint of that run
(ckpt_STEP.pt) is scored too: dev PESQ-WB/ESTOI against hours of audio seen (a learning curve).
Paired differences are per clip against --ref: mean and standard error (sd / sqrt(n)).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PY = sys.executable
METRICS = (("pesq_wb", "PESQ-WB", "{:+.3f}"), ("stoi", "STOI", "{:+.4f}"), ("estoi", "ESTOI", "{:+.4f}"),
           ("si_sdr", "SI-SDR dB", "{:+.2f}"))


def export(ckpt: str, out: str) -> None:
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(ckpt):
        return
    subprocess.run([PY, os.path.join(ROOT, "training", "export.py"), "--ckpt", ckpt, "--name",
                    os.path.basename(out)[:-12], "--out", out], check=True, stdout=subprocess.DEVNULL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", nargs="+", required=True)
    ap.add_argument("--ref", required=True, help="run the others are compared with (paired, per clip)")
    ap.add_argument("--curve", nargs="*", default=[], help="runs whose kept checkpoints are scored too")
    ap.add_argument("--devset", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--limit", type=int, default=0, help="first N clips per SNR only")
    ap.add_argument("--extra-models", default="", help="more evaluate.py --models entries (e.g. standard)")
    ap.add_argument("--quell", default=os.path.join(ROOT, "target", "release", "quell"))
    args = ap.parse_args()

    exp = os.path.join(ROOT, "training", "runs", "_exported")
    os.makedirs(exp, exist_ok=True)
    models, label, info = [], {}, {}
    for run in args.runs:
        d = os.path.join(ROOT, "training", "runs", f"lever_{run}")
        ck = torch.load(os.path.join(d, "last.pt"), map_location="cpu", weights_only=False)
        path = os.path.join(exp, f"{run}.safetensors")
        export(os.path.join(d, "last.pt"), path)
        models.append(path)
        label[f"quell:{path}"] = run
        info[run] = {"steps": ck["step"], "minutes": ck["elapsed_s"] / 60, "hours": ck.get("audio_hours")}
        if run in args.curve:
            for c in sorted(glob.glob(os.path.join(d, "ckpt_*.pt"))):
                k = torch.load(c, map_location="cpu", weights_only=False)
                p = os.path.join(exp, f"{run}_{k['step']:06d}.safetensors")
                export(c, p)
                models.append(p)
                name = f"{run}@{k['step']}"
                label[f"quell:{p}"] = name
                info[name] = {"steps": k["step"], "minutes": k["elapsed_s"] / 60, "hours": k.get("audio_hours"),
                              "val_mse": k.get("val", {}).get("mse")}
    extra = [m for m in args.extra_models.split(",") if m]
    for m in extra:
        label[f"quell:{m}"] = m
    js = args.out[:-3] + ".json"
    cmd = [PY, os.path.join(ROOT, "training", "eval", "evaluate.py"), "--devset", args.devset, "--quell", args.quell,
           "--models", ",".join(models + extra), "--systems", "noisy,quell", "--out", args.out + ".full.md",
           "--json", js, "--workers", "1"]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    subprocess.run(cmd, check=True)
    with open(js) as f:
        res = json.load(f)["clips"]
    by = {}
    for r in res:
        name = "noisy" if r["system"] == "noisy" else label.get(r["system"], r["system"])
        by.setdefault(name, {})[r["id"]] = r
    ref = by[args.ref]
    L = [f"# Lever ablation on {os.path.relpath(args.devset, ROOT)} ({len(ref)} clips)\n",
         f"Paired differences against `{args.ref}` (per clip: mean ± standard error). Command: "
         f"`{' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in sys.argv)}`\n",
         "| run | steps | train min | audio h seen | " + " | ".join(t for _, t, _ in METRICS) + " | "
         + " | ".join(f"Δ{t}" for _, t, _ in METRICS) + " |",
         "|---|---:|---:|---:|" + "---:|" * (2 * len(METRICS))]
    for name, clips in by.items():
        ids = [i for i in clips if i in ref]
        cells = []
        for key, _, fmt in METRICS:
            v = [clips[i][key] for i in ids if clips[i].get(key) is not None]
            cells.append(f"{np.mean(v):.4f}" if v else "—")
        for key, _, fmt in METRICS:
            d = np.array([clips[i][key] - ref[i][key] for i in ids
                          if clips[i].get(key) is not None and ref[i].get(key) is not None])
            cells.append("—" if name == args.ref or len(d) < 2 else
                         f"{fmt.format(d.mean())} ± {d.std(ddof=1) / np.sqrt(len(d)):.{3 if key != 'si_sdr' else 2}f}")
        m = info.get(name, {})
        hrs = f"{m['hours']:.1f}" if m.get("hours") else "—"
        mins = f"{m['minutes']:.0f}" if m.get("minutes") else "—"
        L.append(f"| {name} | {m.get('steps', '—')} | {mins} | {hrs} | " + " | ".join(cells) + " |")
    text = "\n".join(L) + "\n"
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
