#!/usr/bin/env python3
"""Score processed dev-set outputs against the clean references: PESQ-WB, ESTOI and a noise-floor
modulation figure (pumping proxy), overall and per SNR. Used for docs/strength.md and docs/hum.md.

    python scripts/score_dir.py DEVSET OUT_DIR [OUT_DIR ...]

OUT_DIR mirrors DEVSET (snr*/NNN_noisy.wav, or NNN_clean.wav when clean speech was processed),
delay-compensated, as `cargo run -p quell-core --example process_dir` writes it. Both signals are
resampled 48 -> 16 kHz before PESQ-WB (ITU-T P.862.2, `pesq`) and ESTOI (`pystoi`, extended).
Modulation: the residual (output - clean) in 20 ms frames where the clean speech is silent, the
RMS frame-to-frame change of its level in dB; a noise floor that pumps with speech raises it.
"""
import glob
import multiprocessing as mp
import os
import sys

import numpy as np
import soundfile as sf
from pesq import pesq
from pystoi import stoi
from scipy.signal import resample_poly


def score(job):
    clean_path, out_path = job
    c, sr = sf.read(clean_path, dtype="float64")
    y, _ = sf.read(out_path, dtype="float64")
    n = min(len(c), len(y))
    c, y = c[:n], y[:n]
    c16, y16 = resample_poly(c, 1, 3), resample_poly(y, 1, 3)
    try:
        p = pesq(16000, c16, y16, "wb")
    except Exception:
        p = float("nan")
    e = stoi(c16, y16, 16000, extended=True)
    f = sr // 50
    frames = n // f
    cl = np.array([np.sqrt(np.mean(c[i * f:(i + 1) * f] ** 2)) for i in range(frames)])
    r = y - c
    rl = np.array([10 * np.log10(np.mean(r[i * f:(i + 1) * f] ** 2) + 1e-12) for i in range(frames)])
    quiet = cl < 0.01 * cl.max()
    both = quiet[1:] & quiet[:-1]
    d = np.diff(rl)[both]
    mod = float(np.sqrt(np.mean(d ** 2))) if len(d) else float("nan")
    snr = os.path.basename(os.path.dirname(clean_path))
    return snr, p, e, mod


def main():
    devset, outs = sys.argv[1], sys.argv[2:]
    print("| output | PESQ-WB | ESTOI | modulation (dB) | PESQ-WB by SNR |")
    print("|---|---:|---:|---:|---|")
    with mp.Pool(2) as pool:
        for out in outs:
            jobs = []
            for p in sorted(glob.glob(os.path.join(out, "snr*", "*.wav"))):
                rel = os.path.relpath(p, out)
                clean = os.path.join(devset, rel.replace("_noisy", "_clean"))
                jobs.append((clean, p))
            res = pool.map(score, jobs)
            snrs = sorted({r[0] for r in res}, key=lambda s: int(s[3:]))
            by = " ".join(
                f"{s[3:]}:{np.nanmean([r[1] for r in res if r[0] == s]):.3f}" for s in snrs
            )
            print(
                f"| {os.path.basename(out.rstrip('/'))} | {np.nanmean([r[1] for r in res]):.3f} "
                f"| {np.mean([r[2] for r in res]):.4f} | {np.nanmean([r[3] for r in res]):.2f} "
                f"| {by} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
