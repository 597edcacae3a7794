#!/usr/bin/env python3
"""Build a fixed, seeded noisy/clean development set for objective evaluation.

For every SNR in -5, 0, 5, 10, 15, 20 dB this writes N pairs

    OUT/snr+05/000_clean.wav   OUT/snr+05/000_noisy.wav   ...

(48 kHz mono float32 WAV, 4-6 s each) plus OUT/manifest.json describing how every
pair was made.

Construction of one pair:
  * speech: held-out speech clips (leading/trailing silence trimmed) are concatenated with
    short random gaps, after a short random lead-in of silence, until the target length
    (uniform 4-6 s) is reached; the result is cut to that length with a 10 ms fade-out.
  * noise: a random segment of a random noise file (looped if the file is too short).
  * SNR: measured on the *active* speech level (mean power of 10 ms frames that are at
    most 40 dB below the loudest speech frame) against the mean power of the noise segment.
  * level: the mixture is scaled to a random RMS between -35 and -15 dBFS; clean gets the
    same gain (so clean stays the exact reference of noisy). If either signal would peak
    above -0.5 dBFS, both are turned down until neither does.

Everything is deterministic given --seed: each pair draws from its own RNG seeded by
(seed, snr, index), so changing --per-snr keeps the earlier pairs identical.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SR = 48000
SNRS_DB = (-5, 0, 5, 10, 15, 20)
MIN_LEN_S, MAX_LEN_S = 4.0, 6.0
LEVEL_DBFS = (-35.0, -15.0)
PEAK_LIMIT = 10 ** (-0.5 / 20)          # -0.5 dBFS
ACTIVE_FLOOR_DB = 40.0                  # frames more than this below the peak frame are inactive
FRAME = 480                             # 10 ms at 48 kHz for level measurement
GAP_S = (0.10, 0.40)                    # silence between concatenated clips
LEAD_S = (0.10, 0.50)                   # silence before the first clip
TRIM_DB = 50.0                          # trim clip edges quieter than peak - 50 dB
EPS = 1e-12


def read_list(path: str) -> list[str]:
    with open(path) as f:
        items = [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
    if not items:
        sys.exit(f"error: list {path} is empty")
    return items


def to_mono_48k(x: np.ndarray, sr: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sr != SR:
        g = np.gcd(sr, SR)
        x = resample_poly(x, SR // g, sr // g)
    return x


def load(path: str) -> np.ndarray:
    x, sr = sf.read(path, dtype="float64", always_2d=False)
    return to_mono_48k(x, sr)


def frame_powers(x: np.ndarray, frame: int = FRAME) -> np.ndarray:
    n = len(x) // frame
    if n == 0:
        return np.array([np.mean(x ** 2) if len(x) else 0.0])
    return np.mean(x[: n * frame].reshape(n, frame) ** 2, axis=1)


def active_power(x: np.ndarray) -> float:
    """Mean power of the frames within ACTIVE_FLOOR_DB of the loudest frame."""
    p = frame_powers(x)
    peak = p.max()
    if peak <= EPS:
        return 0.0
    act = p[p >= peak * 10 ** (-ACTIVE_FLOOR_DB / 10)]
    return float(act.mean())


def trim_silence(x: np.ndarray) -> np.ndarray:
    p = frame_powers(x)
    if p.max() <= EPS:
        return x[:0]
    on = np.nonzero(p >= p.max() * 10 ** (-TRIM_DB / 10))[0]
    margin = 5  # frames (50 ms)
    a = max(0, (on[0] - margin) * FRAME)
    b = min(len(x), (on[-1] + 1 + margin) * FRAME)
    return x[a:b]


class SpeechPool:
    def __init__(self, paths: list[str]):
        self.paths = paths
        self.cache: dict[int, np.ndarray] = {}

    def get(self, i: int) -> np.ndarray:
        if i not in self.cache:
            if len(self.cache) > 256:
                self.cache.clear()
            self.cache[i] = trim_silence(load(self.paths[i]))
        return self.cache[i]


def make_speech(rng: np.random.Generator, pool: SpeechPool, target_len: int):
    parts = [np.zeros(int(rng.uniform(*LEAD_S) * SR))]
    used = []
    total = len(parts[0])
    order = rng.permutation(len(pool.paths))
    k = 0
    tries = 0
    while total < target_len:
        if k >= len(order):           # ran out of distinct clips: reuse in a new order
            order = rng.permutation(len(pool.paths))
            k = 0
        idx = int(order[k])
        k += 1
        tries += 1
        if tries > 10 * len(pool.paths) + 100:
            sys.exit("error: speech clips are all silent/empty")
        clip = pool.get(idx)
        if len(clip) < FRAME * 10:
            continue
        if used:
            gap = np.zeros(int(rng.uniform(*GAP_S) * SR))
            parts.append(gap)
            total += len(gap)
        # A very long clip (e.g. a whole chapter): start in a pause near a random point.
        need = target_len - total
        start = 0
        if len(clip) > need + 2 * int(MAX_LEN_S * SR):
            r = int(rng.integers(0, len(clip) - need - SR))
            p = frame_powers(clip[r: r + SR])
            start = r + int(np.argmin(p)) * FRAME
        seg = clip[start:]
        parts.append(seg)
        used.append({"path": pool.paths[idx], "start": start, "samples": int(len(seg))})
        total += len(seg)
    x = np.concatenate(parts)[:target_len]
    fade = SR // 100
    x[-fade:] *= np.linspace(1.0, 0.0, fade)
    return x, used


def make_noise(rng: np.random.Generator, paths: list[str], n: int):
    for _ in range(50):
        p = paths[int(rng.integers(0, len(paths)))]
        info = sf.info(p)
        # frames needed from the file at its own rate (plus a little for resampling edges)
        need = int(np.ceil(n * info.samplerate / SR)) + 64
        if info.frames >= need:
            start = int(rng.integers(0, info.frames - need + 1))
            x, sr = sf.read(p, start=start, frames=need, dtype="float64", always_2d=False)
            looped = False
        else:
            x, sr = sf.read(p, dtype="float64", always_2d=False)
            start = int(rng.integers(0, max(1, info.frames)))
            looped = True
        x = to_mono_48k(x, sr)
        if looped:
            if len(x) < FRAME:
                continue
            reps = int(np.ceil((n + start) / len(x))) + 1
            x = np.tile(x, reps)[start:]
        x = x[:n]
        if len(x) == n and np.mean(x ** 2) > 1e-10:
            return x, {"path": p, "start": start, "looped": looped}
    sys.exit("error: could not find a non-silent noise segment")


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x ** 2) + EPS))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--speech", required=True, help="text file, one speech WAV path per line")
    ap.add_argument("--noise", required=True, help="text file, one noise WAV path per line")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--per-snr", type=int, default=20, help="pairs per SNR (default 20)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--snrs", default=",".join(str(s) for s in SNRS_DB),
                    help="comma-separated SNRs in dB (default -5,0,5,10,15,20)")
    args = ap.parse_args()

    speech = read_list(args.speech)
    noise = read_list(args.noise)
    snrs = [int(s) for s in args.snrs.split(",")]
    pool = SpeechPool(speech)
    os.makedirs(args.out, exist_ok=True)

    entries = []
    t0 = time.time()
    for si, snr in enumerate(snrs):
        sub = f"snr{snr:+03d}"
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
        for i in range(args.per_snr):
            rng = np.random.default_rng([args.seed, si, snr + 1000, i])
            n = int(rng.uniform(MIN_LEN_S, MAX_LEN_S) * SR)
            clean, used = make_speech(rng, pool, n)
            nz, nmeta = make_noise(rng, noise, n)

            ps = active_power(clean)
            pn = float(np.mean(nz ** 2))
            nz = nz * np.sqrt(ps / (pn * 10 ** (snr / 10)))
            noisy = clean + nz

            level = float(rng.uniform(*LEVEL_DBFS))
            g = 10 ** (level / 20) / np.sqrt(np.mean(noisy ** 2) + EPS)
            peak = max(np.abs(noisy).max(), np.abs(clean).max()) * g
            limited = bool(peak > PEAK_LIMIT)
            if limited:
                g *= PEAK_LIMIT / peak
            clean *= g
            noisy *= g
            nz *= g

            measured = 10 * np.log10(active_power(clean) / (np.mean(nz ** 2) + EPS))
            stem = f"{i:03d}"
            cp = os.path.join(sub, f"{stem}_clean.wav")
            npth = os.path.join(sub, f"{stem}_noisy.wav")
            sf.write(os.path.join(args.out, cp), clean.astype(np.float32), SR, subtype="FLOAT")
            sf.write(os.path.join(args.out, npth), noisy.astype(np.float32), SR, subtype="FLOAT")
            entries.append({
                "id": f"{sub}/{stem}",
                "snr_db": snr,
                "clean": cp,
                "noisy": npth,
                "samples": n,
                "seconds": n / SR,
                "snr_measured_db": round(float(measured), 3),
                "noisy_rms_dbfs": round(rms_db(noisy), 2),
                "clean_rms_dbfs": round(rms_db(clean), 2),
                "target_level_dbfs": round(level, 2),
                "peak_limited": limited,
                "peak_dbfs": round(float(20 * np.log10(max(np.abs(noisy).max(), np.abs(clean).max()) + EPS)), 2),
                "speech": used,
                "noise": nmeta,
            })
        print(f"{sub}: {args.per_snr} pairs", file=sys.stderr)

    manifest = {
        "version": 1,
        "sample_rate": SR,
        "seed": args.seed,
        "per_snr": args.per_snr,
        "snrs_db": snrs,
        "speech_list": os.path.abspath(args.speech),
        "noise_list": os.path.abspath(args.noise),
        "snr_definition": f"active speech power (10 ms frames within {ACTIVE_FLOOR_DB:g} dB of the "
                          "loudest frame) over mean noise power",
        "level_dbfs_range": list(LEVEL_DBFS),
        "peak_limit_dbfs": -0.5,
        "total_seconds": round(sum(e["seconds"] for e in entries), 3),
        "pairs": entries,
    }
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {len(entries)} pairs ({manifest['total_seconds']:.1f} s) to {args.out} "
          f"in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
