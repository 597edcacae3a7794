#!/usr/bin/env python3
"""Test signals and checks for scripts/ladspa_hosts.sh (standard library only, 16-bit mono WAV).

  make SPEECH.wav OUT.wav          noise alone, then the speech in noise, then noise alone (48 kHz)
  stereo IN.wav OUT.wav            the same mono signal on two channels
  impulse OUT.wav                  one click at sample 1000 (48 kHz)
  click IN.wav OUT.wav LATENCY     the click came out exactly LATENCY samples late
  denoise IN.wav OUT.wav MIN_DB [max=DB] [lag=N]
                                   noise alone is at least MIN_DB (at most max) quieter in OUT and
                                   the speech keeps its level; with lag, OUT must be aligned to IN at
                                   exactly N samples, else OUT is a recording that starts with silence;
                                   every channel of OUT is checked against IN
"""

import math
import random
import struct
import sys
import wave

RATE = 48000
LEAD_S = 2.5  # noise alone before the speech
TAIL_S = 1.5  # and after
SNR_DB = 5.0


def read_channels(path):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            sys.exit(f"{path}: expected 16-bit PCM")
        ch, rate, n = w.getnchannels(), w.getframerate(), w.getnframes()
        data = struct.unpack(f"<{n * ch}h", w.readframes(n))
    return [[v / 32768.0 for v in data[c::ch]] for c in range(ch)], rate


def read(path):
    """The first channel."""
    chans, rate = read_channels(path)
    return chans[0], rate


def write(path, x, rate=RATE, channels=1):
    """`x` is mono, or interleaved when `channels` > 1."""
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(struct.pack(f"<{len(x)}h", *(max(-32767, min(32767, round(v * 32767))) for v in x)))


def rms(x):
    return math.sqrt(sum(v * v for v in x) / max(1, len(x))) + 1e-12


def db(r):
    return 20 * math.log10(r)


def resample(x, src, dst):
    ratio = src / dst
    n = int(len(x) / ratio)
    out = []
    for i in range(n):
        p = i * ratio
        j = int(p)
        f = p - j
        b = x[j + 1] if j + 1 < len(x) else 0.0
        out.append(x[j] * (1 - f) + b * f)
    return out


def make(speech_path, out_path):
    s, rate = read(speech_path)
    s = resample(s, rate, RATE)
    peak = max(abs(v) for v in s) or 1.0
    s = [v * 0.3 / peak for v in s]
    rng = random.Random(12)
    lead, tail = int(LEAD_S * RATE), int(TAIL_S * RATE)
    # Pinkish noise: white through a one-pole low-pass, plus a little white.
    noise, y = [], 0.0
    for _ in range(lead + len(s) + tail):
        w = rng.uniform(-1, 1)
        y = 0.97 * y + 0.03 * w
        noise.append(4 * y + 0.1 * w)
    speech_rms = rms([v for v in s if abs(v) > 0.01])
    g = speech_rms / rms(noise) / 10 ** (SNR_DB / 20)
    x = [g * v for v in noise]
    for i, v in enumerate(s):
        x[lead + i] += v
    write(out_path, x)
    print(f"{out_path}: {len(x) / RATE:.1f} s, speech from {LEAD_S} s, SNR {SNR_DB} dB")


def stereo(in_path, out_path):
    x, rate = read(in_path)
    write(out_path, [v for v in x for _ in (0, 1)], rate, channels=2)


def impulse(out_path):
    x = [0.0] * RATE
    x[1000] = 0.5
    write(out_path, x)


def click(in_path, out_path, latency):
    x, _ = read(in_path)
    y, _ = read(out_path)
    at_in = max(range(len(x)), key=lambda i: abs(x[i]))
    at_out = max(range(len(y)), key=lambda i: abs(y[i]))
    print(f"click: in at {at_in}, out at {at_out}: delay {at_out - at_in} (expected {latency})")
    if at_out - at_in != latency:
        sys.exit(f"FAIL: output delayed by {at_out - at_in} samples, expected the latency, {latency}")


def first_sound(y):
    """Where a recording starts to carry signal: before the player connects, the graph delivers
    exact digital silence. Within the plugin's latency (10 ms) of the true offset, which is plenty
    for comparing second-long stretches."""
    for i, v in enumerate(y):
        if v != 0.0:
            return i
    sys.exit("FAIL: the recording is all silence (nothing came out of the Quell source)")


def correlation(x, y, lag, lo, hi):
    a = x[lo:hi]
    b = y[lo + lag : hi + lag]
    n = min(len(a), len(b))
    return sum(map(lambda p, q: p * q, a[:n], b[:n])) / (rms(a[:n]) * rms(b[:n]) * n)


def denoise(in_path, out_path, min_db, max_db=None, lag=None):
    chans, rate_y = read_channels(out_path)
    for c, y in enumerate(chans):
        if len(chans) > 1:
            print(f"channel {c}:")
        denoise_channel(in_path, y, rate_y, min_db, max_db, lag)


def denoise_channel(in_path, y, rate_y, min_db, max_db, lag):
    x, rate = read(in_path)
    if rate != rate_y:
        sys.exit(f"FAIL: rates differ ({rate} vs {rate_y})")
    lead, tail = int(LEAD_S * rate), int(TAIL_S * rate)
    speech = range(lead, len(x) - tail)
    if lag is None:
        lag = first_sound(y)
        print(f"recording: signal starts at {lag} samples ({lag / rate:.2f} s)")
    else:
        # Alignment: the correlation of in and out over the speech must peak at exactly `lag`.
        lo, hi = speech.start, speech.start + 2 * rate
        scores = {k: correlation(x, y, k, lo, hi) for k in sorted({0, *range(lag - 4, lag + 5), *range(0, 4000, 97)}) if k >= 0}
        peak = max(scores, key=scores.get)
        print(f"alignment: correlation peaks at {peak} samples ({scores[peak]:.3f}; at 0: {scores[0]:.3f})")
        if peak != lag:
            sys.exit(f"FAIL: output aligned at {peak} samples, expected {lag}")
    if lag + len(x) > len(y) + rate // 2:
        sys.exit(f"FAIL: output too short ({len(y)} samples for {len(x)} in at offset {lag})")
    # Noise alone, skipping the first second (the model settles) and the edges near speech.
    n_lo, n_hi = rate, lead - rate // 4
    noise_in = rms(x[n_lo:n_hi])
    noise_out = rms(y[n_lo + lag : n_hi + lag])
    s_in = rms(x[speech.start : speech.stop])
    s_out = rms(y[speech.start + lag : speech.stop + lag])
    noise_red = db(noise_in / noise_out)
    speech_change = db(s_out / s_in)
    snr_in = db(s_in / noise_in)
    snr_out = db(s_out / noise_out)
    print(
        f"noise alone: {db(noise_in):.1f} -> {db(noise_out):.1f} dBFS ({noise_red:.1f} dB less); "
        f"speech segment level {speech_change:+.1f} dB; speech/noise ratio {snr_in:.1f} -> {snr_out:.1f} dB"
    )
    if noise_red < min_db:
        sys.exit(f"FAIL: noise alone reduced by {noise_red:.1f} dB, need {min_db}")
    if max_db is not None and noise_red > max_db:
        sys.exit(f"FAIL: noise alone reduced by {noise_red:.1f} dB, expected at most {max_db}")
    if speech_change < -12:
        sys.exit(f"FAIL: the speech segment lost {-speech_change:.1f} dB")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "make":
        make(*args)
    elif cmd == "stereo":
        stereo(*args)
    elif cmd == "impulse":
        impulse(*args)
    elif cmd == "click":
        click(args[0], args[1], int(float(args[2])))
    elif cmd == "denoise":
        opts = dict(a.split("=", 1) for a in args[3:])
        max_db = float(opts["max"]) if "max" in opts else None
        lag = int(opts["lag"]) if "lag" in opts else None
        denoise(args[0], args[1], float(args[2]), max_db, lag)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
