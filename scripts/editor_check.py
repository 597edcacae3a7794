#!/usr/bin/env python3
"""Drive the standalone's editor like a person would, and check every control did its job.

Runs the standalone (JACK dummy backend) under Xvfb with noisy speech playing into it, clicks and
types with xdotool, and checks each step against the editor's test trace (QUELL_EDITOR_TRACE: one
JSON line of parameters, readouts and widget positions every 200 ms). Screenshots go to OUT_DIR.

usage: editor_check.py STANDALONE_BINARY OUT_DIR
Needs: Xvfb, jackd (jackd2), xdotool, imagemagick (import), espeak-ng; python: numpy, soundfile,
JACK-Client (scripts/requirements-live.txt).
"""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parent.parent
RATE = 48000
DISPLAY = ":97"
JACK_NAME = "quellcheck"
BASE_LATENCY = 479  # 48 kHz: STFT only
HOP = 240


def without_tensors(safetensors: bytes, names) -> bytes:
    """A .safetensors file with the named tensors left out (the rest byte for byte)."""
    n = int.from_bytes(safetensors[:8], "little")
    header = json.loads(safetensors[8:8 + n])
    data = safetensors[8 + n:]
    out_header, blob = {}, b""
    for k, v in header.items():
        if k == "__metadata__":
            out_header[k] = v
        elif k not in names:
            a, b = v["data_offsets"]
            out_header[k] = dict(v, data_offsets=[len(blob), len(blob) + b - a])
            blob += data[a:b]
    h = json.dumps(out_header).encode()
    return len(h).to_bytes(8, "little") + h + blob


def demo_audio(path: Path, tmp: Path):
    """Three spoken sentences with pauses, over fan noise and mains hum at 5 dB SNR."""
    texts = [
        "Welcome back to the stream.",
        "Today we are testing a noise suppressor.",
        "Listen to how the fan noise disappears between the words.",
    ]
    parts = []
    for i, t in enumerate(texts):
        w = tmp / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(w), t], check=True)
        x, r = sf.read(w, dtype="float32")
        n = int(len(x) * RATE / r)
        x = np.interp(np.arange(n) * r / RATE, np.arange(len(x)), x).astype(np.float32)
        parts += [np.zeros(int(0.8 * RATE), np.float32), x]
    speech = np.concatenate(parts + [np.zeros(int(0.8 * RATE), np.float32)])
    speech *= 0.3 / np.abs(speech).max()
    rng = np.random.default_rng(7)
    n = len(speech)
    fan = np.convolve(rng.standard_normal(n), np.ones(8) / 8, mode="same")
    t = np.arange(n) / RATE
    noise = fan + 0.3 * (0.5 * np.sin(2 * np.pi * 100 * t) + 0.25 * np.sin(2 * np.pi * 200 * t))
    g = np.sqrt(np.mean(speech[speech != 0] ** 2)) / np.sqrt(np.mean(noise**2)) / 10 ** (5 / 20)
    sf.write(path, (speech + g * noise).astype(np.float32), RATE)


class Session:
    def __init__(self, binary: str, out: Path):
        self.out = out
        self.trace = out / "trace.jsonl"
        self.procs = []
        self.env = dict(os.environ, DISPLAY=DISPLAY, JACK_DEFAULT_SERVER=JACK_NAME)
        self.failures = []
        out.mkdir(parents=True, exist_ok=True)
        if self.trace.exists():
            self.trace.unlink()
        try:
            self.setup(binary)
        except BaseException:
            self.close()
            raise

    def setup(self, binary):
        out = self.out
        demo = out / "demo.wav"
        demo_audio(demo, out)
        self.start(["Xvfb", DISPLAY, "-screen", "0", "2200x1500x24"], "xvfb.log")
        time.sleep(1)
        self.start(["jackd", "-n", JACK_NAME, "--no-realtime", "-d", "dummy", "-r", str(RATE),
                    "-p", "512"], "jackd.log")
        # Wait until the server answers: a fixed sleep once let the standalone start first on a
        # loaded machine, and its JACK client failed (SERVER_FAILED).
        deadline = time.time() + 20
        while subprocess.run(["jack_lsp"], env=self.env, capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("jackd did not come up within 20 s")
            time.sleep(0.2)
        env = dict(self.env, QUELL_EDITOR_TRACE=str(self.trace))
        self.start([binary, "--backend", "jack"], "standalone.log", env)
        self.wait_for(lambda d: True, 20, "editor trace appears")
        self.start([sys.executable, str(ROOT / "scripts/jack_play.py"), str(demo),
                    "quell:input_1", "quell:input_2"], "player.log")
        self.wait_for(lambda d: d["frames_seen"] > 400, 20, "live frames reach the editor")
        self.window = subprocess.run(["xdotool", "search", "--name", "Quell"], env=self.env,
                                     capture_output=True, text=True).stdout.split()[0]

    def start(self, cmd, log, env=None):
        f = open(self.out / log, "w")
        self.procs.append(subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT,
                                           env=env or self.env))

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()

    def last(self):
        """The newest complete trace line (the editor may be half-way through writing one)."""
        text = self.trace.read_text() if self.trace.exists() else ""
        for line in reversed(text.splitlines(keepends=True)):
            if line.endswith("\n"):
                try:
                    return json.loads(line)
                except json.JSONDecodeError:
                    continue
        return None

    def wait_for(self, pred, timeout, what):
        end = time.time() + timeout
        while time.time() < end:
            d = self.last()
            if d is not None and pred(d):
                return d
            time.sleep(0.2)
        raise RuntimeError(f"timed out: {what}; last trace: {self.last()}")

    def xdo(self, *args):
        subprocess.run(["xdotool", *args], env=self.env, check=True)
        time.sleep(0.3)  # let the editor take the input before the next action

    def click(self, widget, fx=0.5, fy=0.5):
        """Click inside a widget's rectangle, at fractions of its width and height."""
        d = self.wait_for(lambda d: widget in d["widgets"], 5, f"widget {widget} on screen")
        x0, y0, x1, y1 = d["widgets"][widget]
        x = int(x0 + 1 + fx * (x1 - x0 - 2))
        y = int((y0 + y1) / 2 if fy == 0.5 else y0 + fy * (y1 - y0))
        self.xdo("mousemove", str(x), str(y), "click", "1")
        time.sleep(0.5)

    def shot(self, name):
        d = self.last()
        w, h = d["window_points"]
        z = d["zoom"]
        subprocess.run(["import", "-window", "root", "-crop",
                        f"{int(w * z)}x{int(h * z)}+0+0", "+repage", str(self.out / name)],
                       env=self.env, check=True)

    def check(self, what, pred, timeout=4.0):
        try:
            d = self.wait_for(pred, timeout, what)
            print(f"PASS  {what}")
            return d
        except RuntimeError as e:
            print(f"FAIL  {what}: {e}")
            self.failures.append(what)
            return None


def run(binary: str, out: Path) -> int:
    s = Session(binary, out)
    try:
        return steps(s, out)
    finally:
        s.close()


def steps(s: Session, out: Path) -> int:
    # The live mask: frames keep arriving and the model removes noise.
    s.check("mask view receives every hop, none dropped",
            lambda d: d["frames_seen"] > 800 and d["frames_dropped"] == 0)
    s.check("noise is removed at full strength", lambda d: d["removed_db"] > 6.0)
    time.sleep(2.5)
    s.shot("editor.png")

    # Strength: the main control. All the way down: nothing removed.
    s.click("Strength", 0.0)
    s.check("strength slider to 0 dB", lambda d: d["strength"] < 0.5)
    s.check("...and the mask lets everything through", lambda d: d["removed_db"] < 0.5)
    s.click("Strength", 1.0)
    s.check("strength slider back to 100 dB", lambda d: d["strength"] > 99.0)

    # Speech strength: the limit while the model hears speech, never beyond Strength.
    s.click("Speech Strength", 0.0)
    s.check("speech strength slider to 0 dB", lambda d: d["speech_strength"] < 0.5)
    s.check("...noise is still removed in the pauses", lambda d: d["removed_db"] > 1.0, 8)
    s.click("Speech Strength", 1.0)
    s.check("speech strength slider back to 100 dB", lambda d: d["speech_strength"] > 99.0)

    # Listen: Removed plays what is taken away (here mostly the fan), quieter than the input.
    s.click("listen-removed")
    s.check("listen: removed", lambda d: d["listen"] == "Removed")
    s.check("...the output is what is removed, below the input level",
            lambda d: d["out_db"] < d["in_db"] - 1.0, 6)
    time.sleep(1.0)
    s.shot("editor-listen.png")
    s.click("listen-output")
    s.check("listen: output", lambda d: d["listen"] == "Output")

    s.click("Hum Removal")
    s.check("hum removal on", lambda d: d["hum"])
    s.click("Hum Removal")
    s.check("hum removal off", lambda d: not d["hum"])

    # Reverb reduction: the bundled models have the reverb head, so the slider is live.
    s.check("reverb reduction available with the standard model", lambda d: d["reverb_head"])
    s.click("Reverb Reduction", 0.0)
    s.check("reverb reduction to 0 dB (keep the room)", lambda d: d["reverb_reduction"] < 0.5)
    s.click("Reverb Reduction", 1.0)
    s.check("reverb reduction back to full", lambda d: d["reverb_reduction"] > 23.5)

    s.check("contrast at its default, 0.25", lambda d: abs(d["contrast"] - 0.25) < 1e-3)
    s.click("Contrast", 0.0)
    s.check("contrast to 0 (the model's gains as they are)", lambda d: d["contrast"] < 0.01)
    s.click("Contrast", 1.0)
    s.check("contrast to 1", lambda d: d["contrast"] > 0.99)
    s.click("Contrast", 0.25)
    s.check("contrast back to 0.25", lambda d: abs(d["contrast"] - 0.25) < 0.02)

    s.click("Mix", 0.0)
    s.check("mix to 0 %", lambda d: d["mix"] < 0.01)
    s.check("...output level follows the input (dry)", lambda d: abs(d["out_db"] - d["in_db"]) < 1.5,
            6)
    s.click("Mix", 1.0)
    s.check("mix back to 100 %", lambda d: d["mix"] > 0.99)

    s.click("Output Gain", 0.75)
    s.check("output gain to +12 dB", lambda d: abs(d["gain_db"] - 12.0) < 0.5)
    s.click("Output Gain", 0.5)
    s.check("output gain back to 0 dB", lambda d: abs(d["gain_db"]) < 0.5)

    s.click("Bypass")
    s.check("bypass on", lambda d: d["bypass"])
    s.check("...output level equals the input", lambda d: abs(d["out_db"] - d["in_db"]) < 1.5, 6)
    s.click("Bypass")
    s.check("bypass off", lambda d: not d["bypass"])

    s.click("Stereo Link")
    s.check("stereo link on", lambda d: d["link"])
    s.click("Stereo Link")
    s.check("stereo link off", lambda d: not d["link"])

    # Model selection from the list, then a user file: first a broken one, then a good one.
    s.click("Model")
    s.click("model-1")
    s.check("tiny model selected and running", lambda d: d["model"] == "Tiny" and d["running"] == 1)
    s.click("Model")
    s.click("model-2")
    s.check("high-quality model selected and running",
            lambda d: d["model"] == "HighQuality" and d["running"] == 2)
    bad = out / "broken.safetensors"
    good = out / "my-model.safetensors"
    data = (ROOT / "models/tiny.safetensors").read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    # The good user file is the tiny model without its reverb head: it loads, and Reverb Reduction
    # is shown as unavailable while it runs.
    good.write_bytes(without_tensors(data, ("reverb_gain.weight", "reverb_gain.bias")))
    s.click("load")
    s.click("file-path")
    s.xdo("key", "ctrl+a")
    s.xdo("type", "--delay", "5", str(bad))
    s.xdo("key", "Return")
    s.check("a truncated model file is rejected with a message",  # and the hq model keeps running
            lambda d: d["user_model"].startswith("rejected:") and d["running"] == 2)
    s.shot("editor-rejected.png")
    s.click("file-path")
    s.xdo("key", "ctrl+a")
    s.xdo("type", "--delay", "5", str(good))
    s.click("file-load")
    s.check("a good model file loads and runs as 'User file'",
            lambda d: d["user_model"].startswith("loaded:") and d["model"] == "User"
            and d["running"] == 4294967295)
    s.check("...without a reverb head, Reverb Reduction is unavailable", lambda d: not d["reverb_head"])
    time.sleep(1.0)
    s.shot("editor-no-reverb-head.png")
    s.click("Model")
    s.click("model-0")
    s.check("back to the standard model", lambda d: d["model"] == "Standard" and d["running"] == 0)
    s.check("...and Reverb Reduction is available again", lambda d: d["reverb_head"])

    # The VAD gate: adds its retroactive grace to the latency, and closes between sentences.
    s.click("VAD Gate")
    s.check("gate on, latency grows by the 30 ms grace",
            lambda d: d["gate"] and d["latency"] == BASE_LATENCY + 6 * HOP)
    s.check("gate closes in the pauses", lambda d: d["gate_gain"] == 0.0, 8)
    s.check("gate opens for speech", lambda d: d["gate_gain"] == 1.0, 8)
    s.click("Gate Threshold", 0.8)
    s.check("gate threshold to 80 %", lambda d: abs(d["gate_threshold"] - 0.8) < 0.02)
    s.click("Gate Hold", 0.5)
    s.check("gate hold moved", lambda d: abs(d["gate_hold_ms"] - 200.0) > 1.0)
    s.click("Retroactive Grace", 0.5)
    s.check("retroactive grace to 100 ms, latency follows",
            lambda d: abs(d["gate_lookback_ms"] - 100.0) < 2.0
            and d["latency"] == BASE_LATENCY + round(d["gate_lookback_ms"] / 5.0) * HOP)
    s.check("gate closes in the pauses (again)", lambda d: d["gate_gain"] == 0.0, 8)
    s.shot("editor-gate.png")
    s.click("VAD Gate")
    s.check("gate off, latency back", lambda d: not d["gate"] and d["latency"] == BASE_LATENCY)

    # Window: resizable, size remembered (saved with the project), readable at 200 %.
    s.xdo("windowsize", s.window, "1000", "680")
    s.check("resized window is remembered", lambda d: d["saved_size"] == [1000.0, 680.0]
            and d["window_points"] == [1000.0, 680.0])
    s.click("zoom")
    s.click("zoom-200")
    s.check("200 % zoom", lambda d: d["zoom"] == 2.0)
    time.sleep(1.0)
    s.shot("editor-200.png")
    s.click("zoom")
    s.click("zoom-100")
    s.check("back to 100 %", lambda d: d["zoom"] == 1.0
            and d["saved_size"] == [1000.0, 680.0])

    if s.failures:
        print(f"{len(s.failures)} check(s) failed: {s.failures}")
        return 1
    print(f"all editor checks passed; screenshots in {out}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1], Path(sys.argv[2]).resolve()))
