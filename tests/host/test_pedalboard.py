"""Host tests of the built VST3 plugin through Spotify's pedalboard (JUCE's VST3 hosting).

Build the bundle first, then run with the training venv:

    cargo xtask bundle quell --features assert_process_allocs
    training/.venv/bin/python -m pytest tests/host -v

The bundle path can be overridden with QUELL_VST3=/path/to/Quell.vst3.

Two pedalboard behaviours these tests rely on (read from pedalboard 0.9's process.h and
ExternalPlugin.h, and checked here):

* Latency compensation. pedalboard reads the plugin's reported latency and drops that many samples
  from the start of the output. With ``reset=True`` (the default) it also pads the input so the
  output has the input's length: a plugin that is the identity apart from its delay returns the
  input exactly. With ``reset=False`` (streaming) the first chunk comes back shorter by the
  latency and later chunks full length, so the concatenated output is the input, trimmed by the
  latency at the end (start a stream with ``plugin.reset()``, then ``reset=False`` for every
  chunk: a ``reset=True`` chunk is treated as the last and padded). Both only line up if the reported latency equals the real delay, which is
  what the strength-0 tests check.
* Parameter delivery. A VST3 plugin's processor learns of a parameter set from Python only in the
  next ``process()`` call (JUCE queues the change for the audio callback). So: the first block
  after a change is smoothed by the engine (about 50 hops from 100 dB to 0 dB), and a state read
  with ``raw_state`` reflects parameters as of the last ``process()``.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pedalboard
import pytest

ROOT = Path(__file__).resolve().parents[2]
VST3 = Path(os.environ.get("QUELL_VST3", ROOT / "target" / "bundled" / "Quell.vst3"))

# Display name -> pedalboard's Python attribute name.
PARAMS = {
    "Strength": "strength_db",
    "Mix": "mix",
    "Output Gain": "output_gain_db",
    "Model": "model",
    "Stereo Link": "stereo_link",
    "Bypass": "bypass",
    "VAD Gate": "vad_gate",
    "Gate Threshold": "gate_threshold",
    "Gate Hold": "gate_hold_ms",
    "Retroactive Grace": "retroactive_grace_ms",
    "Speech Strength": "speech_strength_db",
    "Listen": "listen",
    "Hum Removal": "hum_removal",
    "Reverb Reduction": "reverb_reduction_db",
}

RATES = (44100, 48000, 96000)


def expected_latency(rate: int) -> int:
    """2 * hop - 1 with hop = round(rate / 200), rounding halves up like Rust's f32::round."""
    return 2 * math.floor(rate / 200 + 0.5) - 1


def load():
    assert VST3.is_dir(), (
        f"{VST3} does not exist: build it with `cargo xtask bundle quell --features "
        "assert_process_allocs` or set QUELL_VST3"
    )
    return pedalboard.load_plugin(str(VST3))


def make_signal(rate: int, seconds: float, channels: int, seed: int = 0) -> np.ndarray:
    """Gliding harmonic tone with syllable-rate modulation plus white noise, shape (channels, n)."""
    n = int(rate * seconds)
    t = np.arange(n) / rate
    f0 = 120.0 + 120.0 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / rate
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 4.0 * t)
    tone = sum(np.sin(k * phase) / k for k in range(1, 13) if 240 * k < rate / 2)
    rng = np.random.default_rng(seed)
    noise = 0.03 * rng.uniform(-1, 1, size=(channels, n))
    return (0.15 * env * tone + noise).astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def chunk_sizes(total: int, seed: int) -> list[int]:
    """Varied chunk sizes for a reset=False stream. The first is the largest: pedalboard prepares
    the plugin for the first chunk's size and re-prepares it (a reactivation, which clears the
    stream) when a later chunk is larger; the first chunk also fixes pedalboard's channel-layout
    guess, which a (2, 1) first chunk would get wrong."""
    fixed = [8192, 1, 7, 480, 4096, 333, 2, 1023, 8192, 239, 241, 64]
    rng = np.random.default_rng(seed)
    sizes, done = [], 0
    while done < total:
        want = fixed[len(sizes)] if len(sizes) < len(fixed) else int(rng.integers(1, 8193))
        n = min(want, total - done)
        sizes.append(n)
        done += n
    return sizes


def warm_up(plugin, rate: int, channels: int) -> None:
    """Deliver pending parameter changes to the processor and let the engine's smoothing settle."""
    plugin.process(np.zeros((channels, rate // 2), np.float32), rate)


def test_parameters_exist():
    plugin = load()
    assert plugin.name == "Quell"
    assert plugin.is_effect
    names = {p.name for p in plugin.parameters.values()}
    missing = set(PARAMS) - names
    assert not missing, f"missing parameters {missing}; the plugin has {sorted(names)}"
    for name, attr in PARAMS.items():
        assert attr in plugin.parameters, f"{name!r} is not exposed as .{attr}"
        assert plugin.parameters[attr].name == name
    strength = plugin.parameters["strength_db"]
    assert strength.range[0] == 0.0 and strength.range[1] == 100.0, strength.range
    assert plugin.parameters["output_gain_db"].range[:2] == (-24.0, 24.0)
    assert plugin.parameters["stereo_link"].type is bool
    assert plugin.parameters["bypass"].type is bool


def test_parameter_values_are_finite():
    """Every parameter's normalized value, as the host sees it, is a finite number."""
    plugin = load()
    bad = {k: p.raw_value for k, p in plugin.parameters.items() if not math.isfinite(p.raw_value)}
    assert not bad, f"parameters with non-finite normalized values (host-visible): {bad}"


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", RATES)
def test_streaming_with_parameter_changes(rate, channels):
    plugin = load()
    x = make_signal(rate, 2.0, channels, seed=rate + channels)
    sizes = chunk_sizes(x.shape[1], seed=rate)
    # One parameter change before each chunk, cycling through all the controls.
    changes = [
        ("strength_db", 12.0),
        ("mix", 50.0),
        ("stereo_link", True),
        ("output_gain_db", 6.0),
        ("bypass", True),
        ("bypass", False),
        ("strength_db", 100.0),
        ("mix", 100.0),
        ("output_gain_db", -12.0),
        ("stereo_link", False),
        ("strength_db", 0.0),
        ("strength_db", 60.0),
        ("speech_strength_db", 15.0),
        ("hum_removal", True),
        ("listen", "Removed"),
        ("listen", "Output"),
        ("hum_removal", False),
        ("reverb_reduction_db", 0.0),
        ("speech_strength_db", 100.0),
        ("reverb_reduction_db", 24.0),
    ]
    # Start a fresh stream with reset(), then reset=False throughout: process(reset=True) would
    # flush the plugin's tail (padding with zeros), which is only right for a stream's last chunk.
    plugin.reset()
    outs, pos = [], 0
    for i, n in enumerate(sizes):
        attr, value = changes[i % len(changes)]
        setattr(plugin, attr, value)
        out = plugin.process(x[:, pos : pos + n], rate, reset=False)
        assert out.dtype == np.float32 and out.shape[0] == channels
        outs.append(out)
        pos += n
    y = np.concatenate(outs, axis=1)

    latency = expected_latency(rate)
    assert plugin.reported_latency_samples == latency
    # pedalboard drops the reported latency from the start of the stream.
    assert y.shape == (channels, x.shape[1] - latency)
    assert np.isfinite(y).all(), f"non-finite output at {np.argwhere(~np.isfinite(y))[:5].tolist()}"
    assert rms(y) > 1e-5, f"output is silent (rms {rms(y):.2e}) for input rms {rms(x):.2e}"
    # Not just a burst: every half second of output carries signal.
    half = rate // 2
    for s in range(y.shape[1] // half):
        seg = y[:, s * half : (s + 1) * half]
        assert np.abs(seg).max() > 0, f"output silent in [{s * 0.5}, {(s + 1) * 0.5}) s"


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("rate", RATES)
def test_strength_zero_is_identity_after_latency_compensation(rate, channels):
    plugin = load()
    plugin.strength_db = 0.0
    warm_up(plugin, rate, channels)
    assert plugin.reported_latency_samples == expected_latency(rate)

    # Whole buffer (reset=True): pedalboard compensates the latency, so output == input.
    x = make_signal(rate, 1.0, channels, seed=7)
    y = plugin.process(x, rate)
    assert y.shape == x.shape
    err = np.abs(y - x).max()
    assert err < 1e-5, f"strength 0: output differs from the latency-compensated input by {err}"

    # Impulses at several hop phases come back at the same index with magnitude ~1, i.e. the
    # plugin's real delay is exactly the latency it reports.
    positions = [1000, 5037, 9239, 13240, 17001]
    imp = np.zeros((channels, 20000), np.float32)
    imp[:, positions] = 1.0
    y = plugin.process(imp, rate)
    for c in range(channels):
        peaks = np.flatnonzero(np.abs(y[c]) > 0.5)
        assert peaks.tolist() == positions, f"channel {c}: impulses came out at {peaks.tolist()}"
        assert np.allclose(y[c, positions], 1.0, atol=1e-3), y[c, positions]
        rest = np.delete(y[c], positions)
        assert np.abs(rest).max() < 1e-3, f"channel {c}: stray output {np.abs(rest).max()}"

    # Streaming (reset=False): the first chunk is short by exactly the latency; the stream is the
    # input, trimmed at the end.
    latency = expected_latency(rate)
    sizes = chunk_sizes(x.shape[1], seed=3)
    plugin.reset()
    outs, pos = [], 0
    for n in sizes:
        outs.append(plugin.process(x[:, pos : pos + n], rate, reset=False))
        pos += n
    lengths = [o.shape[1] for o in outs]
    assert sum(lengths) == x.shape[1] - latency, lengths[:12]
    y = np.concatenate(outs, axis=1)
    err = np.abs(y - x[:, : y.shape[1]]).max()
    assert err < 1e-5, f"strength 0, streamed: output differs from the input by {err}"


@pytest.mark.parametrize("rate", RATES)
def test_gate_grace_is_compensated_by_the_host(rate):
    """With the gate on, its retroactive grace is part of the reported latency, and the host's
    compensation lines the output up again: an always-open gate at strength 0 is the identity."""
    plugin = load()
    plugin.strength_db = 0.0
    plugin.vad_gate = True
    plugin.gate_threshold = 0.0  # always open
    plugin.retroactive_grace_ms = 50.0
    # The first block delivers the parameters; the plugin asks for a restart (a latency may only
    # change at activation) and JUCE performs it before the next block.
    warm_up(plugin, rate, 2)
    warm_up(plugin, rate, 2)
    hop = math.floor(rate / 200 + 0.5)
    assert plugin.reported_latency_samples == expected_latency(rate) + 10 * hop
    x = make_signal(rate, 1.0, 2, seed=3)
    y = plugin.process(x, rate)
    assert np.abs(y - x).max() < 1e-5
    # And a gate that never opens (threshold 100 %) silences the output.
    plugin.gate_threshold = 100.0
    warm_up(plugin, rate, 2)
    y = plugin.process(x, rate)
    assert rms(y[:, rate // 10 :]) < 1e-6


def test_rate_changes_on_one_instance():
    """The same instance re-prepared at each rate reports that rate's latency and stays exact."""
    plugin = load()
    plugin.strength_db = 0.0
    for rate in (48000, 44100, 96000, 48000):
        warm_up(plugin, rate, 2)
        assert plugin.reported_latency_samples == expected_latency(rate), rate
        x = make_signal(rate, 0.5, 2, seed=rate)
        y = plugin.process(x, rate)
        assert np.abs(y - x).max() < 1e-5, rate


def test_state_round_trip():
    assert hasattr(pedalboard.VST3Plugin, "raw_state"), (
        f"pedalboard {pedalboard.__version__} has no raw_state"
    )
    a = load()
    defaults = {k: p.raw_value for k, p in a.parameters.items()}
    a.strength_db = 37.0
    a.mix = 25
    a.output_gain_db = -6.0
    a.stereo_link = True
    a.speech_strength_db = 18.0
    a.listen = "Removed"
    a.hum_removal = True
    a.reverb_reduction_db = 6.0
    # The processor only sees these in process(); state saved before that would not have them.
    warm_up(a, 48000, 2)
    saved = {k: p.raw_value for k, p in a.parameters.items()}
    for k in ("strength_db", "mix", "output_gain_db", "stereo_link", "speech_strength_db",
              "listen", "hum_removal", "reverb_reduction_db"):
        assert abs(saved[k] - defaults[k]) > 1e-3, f"{k} did not change; the test would prove nothing"
    state = a.raw_state
    assert isinstance(state, bytes) and len(state) > 16

    b = load()
    b.raw_state = state
    restored = {k: p.raw_value for k, p in b.parameters.items()}

    def same(u, v):
        return (math.isnan(u) and math.isnan(v)) or abs(u - v) < 1e-6

    diffs = {k: (saved[k], restored[k]) for k in saved if not same(saved[k], restored[k])}
    assert not diffs, f"parameters (saved, restored) that differ after raw_state: {diffs}"
    assert b.strength_db == pytest.approx(37.0, abs=0.05)
    assert b.mix == pytest.approx(25.0)
    assert b.output_gain_db == pytest.approx(-6.0, abs=0.05)
    assert bool(b.stereo_link) is True
    assert b.speech_strength_db == pytest.approx(18.0, abs=0.05)
    assert b.listen == "Removed"
    assert bool(b.hum_removal) is True
    assert b.reverb_reduction_db == pytest.approx(6.0, abs=0.05)

    # Same state, same audio: both instances produce identical output.
    x = make_signal(48000, 1.0, 2, seed=11)
    ya = a.process(x, 48000)
    yb = b.process(x, 48000)
    assert np.isfinite(ya).all() and np.isfinite(yb).all()
    assert np.abs(ya - yb).max() < 1e-6, "restored instance processes differently"


def test_output_plus_removed_is_the_input():
    """Listen = Removed plays what Quell takes away: added to the output it gives the input back."""
    rate = 48000
    x = make_signal(rate, 1.0, 2, seed=5)
    outs = []
    for mode in ("Output", "Removed"):
        plugin = load()
        plugin.listen = mode
        plugin.hum_removal = True
        warm_up(plugin, rate, 2)
        outs.append(plugin.process(x, rate))
    err = np.abs(outs[0] + outs[1] - x).max()
    assert err < 1e-4, f"output + removed differs from the input by {err}"
    assert rms(outs[1]) > 0.05 * rms(x), "nothing removed: the test proves nothing"
