"""Ceilings for mask-based enhancement on the dev set: apply *oracle* gains (computed from the clean
and noise signals) through an STFT like the engine's and score them like eval/evaluate.py.

    training/.venv/bin/python training/experiments/oracle_masks.py --devset training/data/devset

Tells how much PESQ-WB a perfect band-gain (or per-bin) predictor could reach at a given window, i.e.
whether a quality gap is the model's fault or the representation's.
"""
import argparse, json, os, sys, multiprocessing as mp
import numpy as np
from scipy.signal import resample_poly

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "eval"))
from make_devset import load as read48  # noqa: E402

SR = 48000


def erb_edges(n, top=24000.0, min_hz=100.0):
    hz2e = lambda f: 21.4 * np.log10(1 + 0.00437 * f)
    e2hz = lambda e: (10 ** (e / 21.4) - 1) / 0.00437
    t = hz2e(top)
    edges = [0.0]
    for i in range(1, n):
        f = round(e2hz(t * i / n) / min_hz) * min_hz
        edges.append(max(f, edges[-1] + min_hz))
    edges.append(top)
    return np.array(edges)


def band_matrix(edges, fft):
    bins = fft // 2 + 1
    bin_hz = SR / fft
    centres = 0.5 * (edges[:-1] + edges[1:])
    nb = len(edges) - 1
    # membership (sum energies) and interpolation (band gains -> bins), as libquell/src/dsp/bands.rs
    memb = np.zeros((nb, bins))
    for b in range(nb):
        lo = min(int(round(edges[b] / bin_hz)), bins)
        hi = bins if b == nb - 1 else min(int(round(edges[b + 1] / bin_hz)), bins)
        memb[b, lo:max(hi, lo)] = 1
    interp = np.zeros((bins, nb))
    for k in range(bins):
        f = k * bin_hz
        if f <= centres[0]:
            interp[k, 0] = 1
        elif f >= centres[-1]:
            interp[k, -1] = 1
        else:
            b = np.searchsorted(centres, f, side="right") - 1
            w = (f - centres[b]) / (centres[b + 1] - centres[b])
            interp[k, b] += 1 - w
            interp[k, b + 1] += w
    return memb, interp


def stft(x, fft, hop):
    win = np.sin(np.pi * np.arange(fft) / fft)
    n = (len(x) - fft) // hop + 1
    idx = np.arange(fft)[None, :] + hop * np.arange(n)[:, None]
    return np.fft.rfft(x[idx] * win, axis=1), win


def istft(X, fft, hop, n_out):
    win = np.sin(np.pi * np.arange(fft) / fft)
    frames = np.fft.irfft(X, n=fft, axis=1) * win
    y = np.zeros(n_out)
    norm = np.zeros(n_out)
    for t in range(frames.shape[0]):
        y[t * hop:t * hop + fft] += frames[t]
        norm[t * hop:t * hop + fft] += win ** 2
    return y / np.maximum(norm, 1e-3)


def enhance(clean, noisy, mode, fft, bands, post=None):
    hop = 240
    S, _ = stft(clean, fft, hop)
    X, _ = stft(noisy, fft, hop)
    N = X - S
    if mode == "bins":
        g = np.minimum(1.0, np.abs(S) / np.maximum(np.abs(X), 1e-9))
    elif mode == "bins_wiener":
        ps, pn = np.abs(S) ** 2, np.abs(N) ** 2
        g = np.sqrt(ps / np.maximum(ps + pn, 1e-18))
    else:
        memb, interp = band_matrix(erb_edges(bands), fft)
        es = np.abs(S) ** 2 @ memb.T
        ex = np.abs(X) ** 2 @ memb.T
        gb = np.minimum(1.0, np.sqrt(es / np.maximum(ex, 1e-18)))
        if post:
            gb = post(gb)
        g = gb @ interp.T
    return istft(X * g, fft, hop, len(noisy))


def score(job):
    from pesq import pesq
    from pystoi import stoi
    clean, noisy = read48(job["clean"]), read48(job["noisy"])
    n = min(len(clean), len(noisy))
    clean, noisy = clean[:n], noisy[:n]
    out = {}
    for name, mode, fft, bands, *post in CONFIGS:
        est = noisy if mode == "noisy" else enhance(clean, noisy, mode, fft, bands, *post)
        r16, e16 = resample_poly(clean, 1, 3), resample_poly(est, 1, 3)
        try:
            p = float(pesq(16000, r16, e16, "wb"))
        except Exception:
            p = None
        out[name] = (p, float(stoi(r16, e16, 16000)))
    return job["snr_db"], out


def release_limit(decay):
    def f(g):
        out = np.empty_like(g)
        prev = np.zeros(g.shape[1])
        for t in range(g.shape[0]):
            prev = np.maximum(g[t], prev * decay)
            out[t] = prev
        return out
    return f


def sqrt_noise(std, seed=0):
    def f(g):
        r = np.random.default_rng(seed)
        return np.clip(np.sqrt(g) + r.normal(0, std, g.shape), 0, 1) ** 2
    return f


def floor(x):
    return lambda g: np.maximum(g, x)


CONFIGS = [
    ("noisy", "noisy", 480, 0),
    ("erb32 10ms", "bands", 480, 32),
    ("erb48 10ms", "bands", 480, 48),
    ("per-bin 10ms", "bins", 480, 0),
    ("erb32 10ms, release 0.45/hop", "bands", 480, 32, release_limit(0.45)),
    ("erb32 10ms, floor -20 dB", "bands", 480, 32, floor(0.1)),
    ("erb32 10ms, floor -10 dB", "bands", 480, 32, floor(0.316)),
    ("erb32 10ms, sqrt-gain noise 0.1", "bands", 480, 32, sqrt_noise(0.1)),
    ("erb32 10ms, sqrt-gain noise 0.25", "bands", 480, 32, sqrt_noise(0.25)),
    ("erb32 20ms", "bands", 960, 32),
    ("per-bin 20ms", "bins", 960, 0),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--devset", default="training/data/devset")
    ap.add_argument("--every", type=int, default=1, help="score every Nth clip")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    man = json.load(open(os.path.join(a.devset, "manifest.json")))
    jobs = [{"clean": os.path.join(a.devset, p["clean"]), "noisy": os.path.join(a.devset, p["noisy"]),
             "snr_db": int(p["snr_db"])} for p in man["pairs"]][:: a.every]
    with mp.Pool(a.jobs) as pool:
        res = pool.map(score, jobs)
    snrs = sorted({s for s, _ in res})
    print(f"{len(res)} clips; oracle gains from clean and noise (magnitude only, noisy phase)\n")
    print("| gains | " + " | ".join(f"{s:+d} dB" for s in snrs) + " | PESQ-WB | STOI |")
    print("|---|" + "---:|" * (len(snrs) + 2))
    for name, *_ in CONFIGS:
        cells = []
        for s in snrs:
            v = [o[name][0] for t, o in res if t == s and o[name][0] is not None]
            cells.append(f"{np.mean(v):.3f}")
        allp = [o[name][0] for _, o in res if o[name][0] is not None]
        alls = [o[name][1] for _, o in res]
        print(f"| {name} | " + " | ".join(cells) + f" | {np.mean(allp):.3f} | {np.mean(alls):.4f} |")


if __name__ == "__main__":
    main()
