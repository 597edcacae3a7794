#!/usr/bin/env python3
"""Paired per-clip differences of every system against one reference, from an evaluate.py JSON.

    python training/eval/paired.py --json report.json --ref noisy [--metrics pesq_wb,estoi]

Prints mean ± standard error (sd / sqrt(n)) over the clips both systems scored.
"""
import argparse
import json

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", required=True)
    ap.add_argument("--ref", default="noisy")
    ap.add_argument("--metrics", default="pesq_wb,stoi,estoi,si_sdr")
    a = ap.parse_args()
    with open(a.json) as f:
        clips = json.load(f)["clips"]
    by = {}
    for r in clips:
        by.setdefault(r["system"], {})[r["id"]] = r
    ref = by[a.ref]
    keys = a.metrics.split(",")
    print("| system | " + " | ".join(keys) + " | " + " | ".join(f"Δ{k}" for k in keys) + " |")
    for name, rs in by.items():
        cells, deltas = [], []
        for k in keys:
            v = [r[k] for r in rs.values() if r.get(k) is not None]
            cells.append(f"{np.mean(v):.4f}")
            d = np.array([rs[i][k] - ref[i][k] for i in rs if i in ref
                          and rs[i].get(k) is not None and ref[i].get(k) is not None])
            deltas.append("—" if name == a.ref else f"{d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f}")
        print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(deltas) + " |")


if __name__ == "__main__":
    main()
