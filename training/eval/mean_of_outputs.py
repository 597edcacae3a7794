#!/usr/bin/env python3
"""Score the (weighted) mean of several systems' outputs: a quick estimate of a member chain.

The engine applies the mean of its networks' per-bin gains to one noisy spectrum, and its synthesis is
linear in the gains, so the mean of the networks' outputs run alone is that file's output up to what
acts on the mean (the spectral contrast): it read the soup + leg a6 pair 0.003 PESQ-WB below the real
file (training/README.md, "hq becomes three networks"). Rank candidates with it; measure the file
you build with evaluate.py.

    python training/eval/evaluate.py --devset D --models A,B,C --systems quell --audio-out OUT ...
    python training/eval/mean_of_outputs.py --devset D --audio OUT --ref quell_A \\
        AB=quell_A+quell_B  ABC=quell_A+quell_B*2+quell_C

Each combo is NAME=DIR[*WEIGHT]+DIR[*WEIGHT]...; DIRs are evaluate.py's per-system folders under
--audio ("quell_" + the model as given to --models). Prints each combo's means and its paired
PESQ-WB / STOI differences against --ref (a folder, scored as a combo of one).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evaluate as ev  # noqa: E402  (its loader and scorer, so the numbers match its reports)


def write_mean(root: str, name: str, parts: str, clips) -> list[dict]:
    terms = [p.split("*") for p in parts.split("+")]
    dirs = [os.path.join(root, t[0]) for t in terms]
    w = np.array([float(t[1]) if len(t) > 1 else 1.0 for t in terms])
    w = w / w.sum()
    out_dir = os.path.join(root, "mean_" + name)
    jobs = []
    for c in clips:
        ys, sr = [], None
        for d in dirs:
            y, sr = sf.read(os.path.join(d, c["id"] + ".wav"), dtype="float64")
            ys.append(y)
        n = min(len(y) for y in ys)
        out = os.path.join(out_dir, c["id"] + ".wav")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        sf.write(out, sum(wi * y[:n] for wi, y in zip(w, ys)), sr, subtype="FLOAT")
        jobs.append({"system": name, "id": c["id"], "clean": c["clean"], "est": out})
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devset", required=True)
    ap.add_argument("--audio", required=True, help="evaluate.py's --audio-out folder")
    ap.add_argument("--ref", required=True, help="folder under --audio to pair against")
    ap.add_argument("--json", help="per-clip scores go here")
    ap.add_argument("combos", nargs="+", help="NAME=DIR[*W]+DIR[*W]...")
    args = ap.parse_args()
    clips = ev.load_clips(args.devset)
    jobs = write_mean(args.audio, "ref", args.ref, clips)
    names = []
    for combo in args.combos:
        name, parts = combo.split("=", 1)
        names.append(name)
        jobs += write_mean(args.audio, name, parts, clips)
    with mp.get_context("fork").Pool(2) as pool:
        res = pool.map(ev._score_job, jobs, chunksize=4)
    by: dict[str, dict[str, dict]] = {}
    for r in res:
        by.setdefault(r["system"], {})[r["id"]] = r
    print("| combo | PESQ-WB | STOI | ESTOI | SI-SDR dB | ΔPESQ-WB | ΔSTOI |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in ["ref"] + names:
        s = by[name]
        m = {k: np.mean([s[i][k] for i in s]) for k in ("pesq_wb", "stoi", "estoi", "si_sdr")}
        d = {k: np.array([s[i][k] - by["ref"][i][k] for i in s]) for k in ("pesq_wb", "stoi")}
        se = {k: d[k].std(ddof=1) / np.sqrt(len(d[k])) for k in d}
        print(f"| {name} | {m['pesq_wb']:.3f} | {m['stoi']:.4f} | {m['estoi']:.4f} | {m['si_sdr']:.2f} | "
              f"{d['pesq_wb'].mean():+.3f} ± {se['pesq_wb']:.3f} | {d['stoi'].mean():+.4f} ± {se['stoi']:.4f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
