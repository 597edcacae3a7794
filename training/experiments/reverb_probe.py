#!/usr/bin/env python3
"""Reverb head probe: an espeak-ng sentence in synthetic rooms (RT60 0.3/0.6/1.0 s, direct-to-reverberant
ratio 0 or 6 dB, no noise or noise at 30 dB SNR) through `quell denoise` at --reverb-reduction 0 and full;
prints T20/EDT (s) of the input's and both outputs' tails after the last word (Schroeder EDC).

    training/.venv/bin/python training/experiments/reverb_probe.py MODEL [QUELL]

MODEL is a bundled name or a .safetensors path; QUELL defaults to target/release/quell. Run it from any
directory (it writes its scratch WAVs to a temporary one). tests/reverb.rs checks the same measure.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, resample_poly

QUELL = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else "target/release/quell")
MODEL = os.path.abspath(sys.argv[1]) if os.path.exists(sys.argv[1]) else sys.argv[1]
os.chdir(tempfile.mkdtemp(prefix="reverb_probe_"))
subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", "sp.wav",
                "The quick brown fox jumps over the lazy dog. Noise suppression keeps the voice."], check=True)
x, sr = sf.read("sp.wav"); x = resample_poly(x, 48000, sr); x = 0.3 * x / np.abs(x).max()
R = 48000
def room(rt60, seed=7, drr_db=0.0):
    rng = np.random.default_rng(seed); n = int(rt60 * 1.2 * R); pre = int(0.002 * R)
    h = rng.uniform(-1, 1, n) * np.exp(-6.9 * np.arange(n) / (rt60 * R)); h[:pre] = 0
    h /= np.sqrt((h ** 2).sum()); h *= 10 ** (-drr_db / 20); h[0] = 1.0; return h
def edc(y):
    e = np.cumsum((y ** 2)[::-1])[::-1]; return 10 * np.log10(np.maximum(e / e[0], 1e-30))
def t(e, db):
    i = np.argmax(e < db); return i / R
end = np.nonzero(np.abs(x) > 1e-3)[0][-1]
model = MODEL
for rt60 in (0.3, 0.6, 1.0):
  for drr in (0.0, 6.0):
    for snr in (None, 30.0):
        y = fftconvolve(x, room(rt60, drr_db=drr))[: end + int(1.5 * R)]
        if snr is not None:
            n = np.random.default_rng(1).normal(size=len(y)); y = y + n * np.sqrt((y**2).mean() / (n**2).mean()) * 10 ** (-snr / 20)
        sf.write("in.wav", y.astype(np.float32), R, subtype="FLOAT")
        res = {}
        for red in ("0", "full"):
            subprocess.run([QUELL, "denoise", "in.wav", "-o", f"out_{red}.wav", "--model", model, "--reverb-reduction", red, "--quiet"], check=True)
            o, _ = sf.read(f"out_{red}.wav"); w = slice(end, end + int(1.2 * R)); e = edc(o[w]); res[red] = (3 * (t(e, -25) - t(e, -5)), 6 * t(e, -10))
        e = edc(y[end:end + int(1.2 * R)])
        print(f"rt60 {rt60} drr {drr} snr {snr}: in T20/EDT {3*(t(e,-25)-t(e,-5)):.2f}/{6*t(e,-10):.2f}  keep {res['0'][0]:.2f}/{res['0'][1]:.2f}  full {res['full'][0]:.2f}/{res['full'][1]:.2f}")
