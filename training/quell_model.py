"""QuellNet: the causal GRU (or LSTM) band-gain model, and its .safetensors I/O.

The tensor names, shapes and metadata follow training/FORMATS.md exactly; the Rust runtime
(`libquell/src/model/`) loads what `save_safetensors` writes.
"""

from __future__ import annotations

import json
import os
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F_

ARCHITECTURE = "quell-gru-bands"
FORMAT_VERSION = "1"
STD_FLOOR = 1e-3
CELLS = ("gru", "lstm")
GATES = {"gru": 3, "lstm": 4}


class QuellNet(nn.Module):
    """features [N,T,F] -> dense+tanh -> L-layer GRU or LSTM -> (band gains [N,T,B], vad [N,T,1]), both
    sigmoid. The recurrent module is `self.gru` (nn.GRU) or `self.lstm` (nn.LSTM); `self.rnn` is it.
    The carried state is a tensor [L,N,H] for a GRU and a tuple (h, c) for an LSTM (see `map_state`)."""

    def __init__(self, n_features: int, n_bands: int, dense: int, hidden: int, layers: int, dropout: float = 0.0,
                 cell: str = "gru", conv_channels: int = 0, conv_time: int = 3, conv_freq: int = 3):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell {cell!r}: expected one of {CELLS}")
        self.n_features = n_features
        self.n_bands = n_bands
        self.dense = dense
        self.hidden = hidden
        self.layers = layers
        self.cell = cell
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        # Optional causal convolutional front end (FORMATS.md `conv.*`): C kernels over the normalised
        # features of this frame and the conv_time - 1 before it (never a later one) and conv_freq
        # neighbouring features; tanh of its C x F outputs go into the dense layer beside the features.
        self.conv_channels = conv_channels
        self.conv_time = conv_time
        self.conv_freq = conv_freq
        self.conv: Optional[nn.Conv2d] = None
        if conv_channels > 0:
            if conv_freq % 2 != 1 or conv_time < 1:
                raise ValueError(f"conv kernel {conv_time}x{conv_freq}: time >= 1 and an odd width")
            self.conv = nn.Conv2d(1, conv_channels, (conv_time, conv_freq), padding=(0, conv_freq // 2))
        self.input = nn.Linear(n_features * (1 + conv_channels), dense)
        # Dropout acts only between recurrent layers and only while training; inference is unchanged.
        rnn_cls = nn.GRU if cell == "gru" else nn.LSTM
        rnn = rnn_cls(dense, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0)
        setattr(self, cell, rnn)  # attribute name = tensor prefix, so GRU state dicts are unchanged
        self.gain = nn.Linear(hidden, n_bands)
        self.vad = nn.Linear(hidden, 1)
        # Optional second gain head that keeps the speech with its room (FORMATS.md `reverb_gain.*`);
        # `add_reverb_head` creates it.
        self.reverb_gain: Optional[nn.Linear] = None
        # Optional per-bin refinement of the lowest bins (FORMATS.md `refine.*`); `add_refine_head`.
        self.refine_hidden: Optional[nn.Linear] = None
        self.refine: Optional[nn.Linear] = None
        # Optional deep filter of the lowest bins (FORMATS.md `deep_filter.*`); `add_deep_filter_head`.
        self.deep_filter_hidden: Optional[nn.Linear] = None
        self.deep_filter: Optional[nn.Linear] = None
        self.deep_filter_order = 0

    def add_refine_head(self, bins: int, hidden: int = 0) -> nn.Module:
        """Create the bin-refinement head: from the last recurrent layer's output and the normalised
        features, factors r = 2 sigmoid(a) for FFT bins [0, bins), which move those bins' gains
        (`refine_gains`). The output layer starts at zero, so r = 1: the model sounds as
        before until trained. `hidden` > 0 puts a tanh layer of that size in between."""
        n_in = self.hidden + self.n_features
        dev = self.gain.weight.device
        self.refine_hidden = nn.Linear(n_in, hidden).to(dev) if hidden > 0 else None
        self.refine = nn.Linear(hidden if hidden > 0 else n_in, bins).to(dev)
        with torch.no_grad():
            self.refine.weight.zero_()
            self.refine.bias.zero_()
        return nn.ModuleList([m for m in (self.refine_hidden, self.refine) if m is not None])

    def add_deep_filter_head(self, bins: int, order: int, hidden: int = 0) -> nn.Module:
        """Create the deep filter head: from the same input as the refinement head, for FFT bins
        [0, bins), `order` complex coefficients per bin that combine the bin's current and past STFT
        values (`deep_filter_taps`, `apply_deep_filter`). The output layer starts at zero, so the
        filter is the identity until trained."""
        n_in = self.hidden + self.n_features
        dev = self.gain.weight.device
        self.deep_filter_hidden = nn.Linear(n_in, hidden).to(dev) if hidden > 0 else None
        self.deep_filter = nn.Linear(hidden if hidden > 0 else n_in, 2 * order * bins).to(dev)
        self.deep_filter_order = order
        with torch.no_grad():
            self.deep_filter.weight.zero_()
            self.deep_filter.bias.zero_()
        return nn.ModuleList([m for m in (self.deep_filter_hidden, self.deep_filter) if m is not None])

    def deep_filter_departure(self, y: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """tanh of the deep filter head's outputs, [..., bins * order * 2] (bin, tap, re/im): the
        coefficients' departure from the identity, before the engine's speech gate."""
        u = torch.cat([y, (features - self.feature_mean) / self.feature_std], dim=-1)
        if self.deep_filter_hidden is not None:
            u = torch.tanh(self.deep_filter_hidden(u))
        return torch.tanh(self.deep_filter(u))

    def refine_logits(self, y: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Refinement logits a from last-layer outputs y [..,H] and raw features [..,F]; r = 2 sigmoid(a)."""
        u = torch.cat([y, (features - self.feature_mean) / self.feature_std], -1)
        if self.refine_hidden is not None:
            u = torch.tanh(self.refine_hidden(u))
        return self.refine(u)

    def add_reverb_head(self) -> nn.Linear:
        """Create the reverb head, starting as a copy of the dry gain head (so it begins by doing
        exactly what the model does today)."""
        head = nn.Linear(self.hidden, self.n_bands)
        with torch.no_grad():
            head.weight.copy_(self.gain.weight)
            head.bias.copy_(self.gain.bias)
        self.reverb_gain = head.to(self.gain.weight.device)
        return self.reverb_gain

    @property
    def rnn(self) -> nn.Module:
        return getattr(self, self.cell)

    def config(self) -> Dict[str, int]:
        c = dict(n_features=self.n_features, n_bands=self.n_bands, dense=self.dense,
                 hidden=self.hidden, layers=self.layers)
        if self.cell != "gru":
            c["cell"] = self.cell
        if self.conv_channels > 0:
            c.update(conv_channels=self.conv_channels, conv_time=self.conv_time, conv_freq=self.conv_freq)
        return c

    def set_normalisation(self, mean, std) -> None:
        mean = torch.as_tensor(np.asarray(mean), dtype=torch.float32)
        std = torch.as_tensor(np.asarray(std), dtype=torch.float32).clamp_min(STD_FLOOR)
        self.feature_mean.copy_(mean)
        self.feature_std.copy_(std)

    def dense_input(self, features: torch.Tensor) -> torch.Tensor:
        """The dense layer's output tanh(W [x, conv(x)] + b) for raw features [N,T,F] (or [T,F]). The
        convolution sees zeros (the mean) before the first frame, as the engine does after a reset."""
        x = (features - self.feature_mean) / self.feature_std
        if self.conv is not None:
            z = x if x.dim() == 3 else x[None]
            z = F_.pad(z[:, None], (0, 0, self.conv_time - 1, 0))            # [N,1,T+kt-1,F], past only
            z = torch.tanh(self.conv(z))                                     # [N,C,T,F]
            z = z.permute(0, 2, 1, 3).reshape(z.shape[0], z.shape[2], -1)    # [N,T,C*F], channel-major
            x = torch.cat([x, z if x.dim() == 3 else z[0]], dim=-1)
        return torch.tanh(self.input(x))

    def dense_input_span(self, features: torch.Tensor, a: int, b: int) -> torch.Tensor:
        """dense_input for frames a..b of a long [N,T,F] stream processed in pieces: the convolution
        reads the frames before a as its past, so the pieces join exactly as one pass would."""
        lo = max(0, a - (self.conv_time - 1)) if self.conv is not None else a
        return self.dense_input(features[:, lo:b])[:, a - lo:]

    def forward_logits(self, features: torch.Tensor, h0: Optional[torch.Tensor] = None
                       ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Like forward, but returns the pre-sigmoid logits (for numerically stable losses)."""
        x = self.dense_input(features)
        y, h = self.rnn(x, h0)
        return self.gain(y), self.vad(y), h

    def forward_all_logits(self, features: torch.Tensor, h0: Optional[torch.Tensor] = None):
        """(gain logits, vad logits, reverb-head logits or None, state, refinement logits or None)."""
        x = self.dense_input(features)
        y, h = self.rnn(x, h0)
        reverb = self.reverb_gain(y) if self.reverb_gain is not None else None
        refine = self.refine_logits(y, features) if self.refine is not None else None
        return self.gain(y), self.vad(y), reverb, h, refine

    def forward(self, features: torch.Tensor, h0: Optional[torch.Tensor] = None
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        gain_logits, vad_logits, h = self.forward_logits(features, h0)
        return torch.sigmoid(gain_logits), torch.sigmoid(vad_logits), h


def refine_gains(bin_gains: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
    """What the engine does with the refinement head's factors r (FORMATS.md): bin gain g becomes
    g r' with r' = 1 + (r - 1)(1 - g), clamped to [0, 1]. A bin moves within [g^2, g (2 - g)]: freely
    where its band says noise, hardly at all where the band gain is near 1, so clean speech is left
    alone."""
    return (bin_gains * (1.0 + (r - 1.0) * (1.0 - bin_gains))).clamp(0.0, 1.0)


def gate_by_speech(r: torch.Tensor, speech: torch.Tensor) -> torch.Tensor:
    """The engine applies the refinement only while the model hears speech: r -> 1 + (r - 1) p, with
    p the model's own speech probability for the frame (in pauses, single bins lifted above their
    band's gain are heard as musical noise)."""
    return 1.0 + (r - 1.0) * speech


def deep_filter_taps(departure: torch.Tensor, speech: torch.Tensor, order: int):
    """The engine's coefficients (real, imag), each [..., bins, order], from the head's departure
    [..., bins * order * 2] and the speech probability [...] (or a per-bin scale [..., bins]: the engine
    also bounds the departure by 1 - g): c = identity + p * departure (the filter acts only while the
    model hears speech)."""
    d = departure.reshape(*departure.shape[:-1], -1, order, 2)
    d = d * (speech[..., None, None] if speech.dim() == d.dim() - 2 else speech[..., None, None, None])
    re, im = d[..., 0].clone(), d[..., 1]
    re[..., 0] = re[..., 0] + 1.0
    return re, im


def map_state(h, fn):
    """Apply `fn` to a carried recurrent state: a tensor (GRU) or an (h, c) tuple (LSTM)."""
    if h is None:
        return None
    if isinstance(h, tuple):
        return tuple(fn(x) for x in h)
    return fn(h)


def _f32(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to(device="cpu", dtype=torch.float32).contiguous().clone()


def model_tensors(model: QuellNet) -> Dict[str, torch.Tensor]:
    """The FORMATS.md tensor dict of a model (float32, contiguous, CPU)."""
    t = {
        "feature_mean": _f32(model.feature_mean),
        "feature_std": _f32(model.feature_std),
        "input.weight": _f32(model.input.weight),
        "input.bias": _f32(model.input.bias),
        "gain.weight": _f32(model.gain.weight),
        "gain.bias": _f32(model.gain.bias),
        "vad.weight": _f32(model.vad.weight),
        "vad.bias": _f32(model.vad.bias),
    }
    if model.conv is not None:
        t["conv.weight"] = _f32(model.conv.weight)
        t["conv.bias"] = _f32(model.conv.bias)
    if model.reverb_gain is not None:
        t["reverb_gain.weight"] = _f32(model.reverb_gain.weight)
        t["reverb_gain.bias"] = _f32(model.reverb_gain.bias)
    for name in ("refine_hidden", "refine", "deep_filter_hidden", "deep_filter"):
        layer = getattr(model, name)
        if layer is not None:
            t[f"{name}.weight"] = _f32(layer.weight)
            t[f"{name}.bias"] = _f32(layer.bias)
    for l in range(model.layers):
        for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            t[f"{model.cell}.{l}.{kind}"] = _f32(getattr(model.rnn, f"{kind}_l{l}"))
    return t


def build_metadata(model: QuellNet, name: str, description: str, band_edges_hz,
                   sample_rate: int = 48000, hop: int = 240, fft: int = 480,
                   feature_version: int = 1) -> Dict[str, str]:
    edges = [float(e) for e in band_edges_hz]
    if len(edges) != model.n_bands + 1:
        raise ValueError(f"band_edges_hz has {len(edges)} values, expected n_bands+1 = {model.n_bands + 1}")
    md = {
        "architecture": ARCHITECTURE,
        "version": FORMAT_VERSION,
        "feature_version": str(int(feature_version)),
        "name": str(name),
        "description": str(description),
        "sample_rate": str(int(sample_rate)),
        "hop": str(int(hop)),
        "fft": str(int(fft)),
        "n_features": str(model.n_features),
        "n_bands": str(model.n_bands),
        "band_edges_hz": json.dumps(edges),
        "dense": str(model.dense),
    }
    # GRU files keep exactly the original keys (no `cell`: absent means gru); an LSTM says `cell` =
    # `lstm` and names its sizes lstm_hidden / lstm_layers.
    if model.cell != "gru":
        md["cell"] = model.cell
    md[f"{model.cell}_hidden"] = str(model.hidden)
    md[f"{model.cell}_layers"] = str(model.layers)
    return md


REQUIRED_METADATA = ("architecture", "version", "feature_version", "name", "description", "sample_rate",
                     "hop", "fft", "n_features", "n_bands", "band_edges_hz", "dense")


def required_metadata(cell: str = "gru"):
    return REQUIRED_METADATA + (f"{cell}_hidden", f"{cell}_layers")


def round_weights_to_f16(model: QuellNet) -> None:
    """Round every weight matrix to float16 precision in place, so the model computes exactly what a
    file saved with `f16_weights=True` holds (parity fixtures then stay exact)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.copy_(p.half().float())


INT8_SCALE_SUFFIX = ".scale"


def is_recurrent_matrix(name: str) -> bool:
    """Whether tensor `name` (a file's own, no member prefix) is one of the recurrent layers' weight
    matrices: what `int8_recurrent` stores as int8."""
    return name.split(".")[0] in CELLS and name.split(".")[-1] in ("weight_ih", "weight_hh")


def int8_rows(w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(q int8, scale float32 per row) with w ~ q * scale: symmetric, each row's largest |w| at 127."""
    w = w.detach().float()
    scale = w.abs().amax(dim=1) / 127.0
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.clamp(torch.round(w / scale[:, None]), -127, 127).to(torch.int8)
    return q, scale.float()


def round_recurrent_to_int8(model: QuellNet) -> None:
    """Round the recurrent layers' weight matrices in place to what a file saved with
    `int8_recurrent=True` holds (q * scale per row), so the model computes what the file holds."""
    with torch.no_grad():
        for l in range(model.layers):
            for kind in ("weight_ih", "weight_hh"):
                p = getattr(model.rnn, f"{kind}_l{l}")
                q, scale = int8_rows(p)
                p.copy_(q.float() * scale[:, None])


def save_safetensors(model: QuellNet, path: str, metadata: Dict[str, str], f16_weights: bool = False,
                     int8_recurrent: bool = False) -> None:
    """Write the model as FORMATS.md describes. `metadata` must hold every required key (see
    `build_metadata`); all values are converted to strings. `f16_weights` stores the 2-D weight
    matrices as float16 (half the file; call `round_weights_to_f16` first), the rest stays float32.
    `int8_recurrent` stores the recurrent layers' matrices as int8 with a float32 scale per row
    (`NAME.scale`; call `round_recurrent_to_int8` first)."""
    from safetensors.torch import save_file

    meta = {str(k): str(v) for k, v in metadata.items()}
    meta.pop("deep_filter_order", None)
    if model.deep_filter is not None:
        meta["deep_filter_order"] = str(model.deep_filter_order)
    missing = [k for k in required_metadata(meta.get("cell", "gru")) if k not in meta]
    if missing:
        raise ValueError(f"metadata lacks {missing}")
    tensors = model_tensors(model)
    if f16_weights:
        tensors = {k: (v.half() if v.dim() == 2 and not (int8_recurrent and is_recurrent_matrix(k)) else v)
                   for k, v in tensors.items()}
    if int8_recurrent:
        for k in [k for k in tensors if is_recurrent_matrix(k)]:
            tensors[k], tensors[k + INT8_SCALE_SUFFIX] = int8_rows(tensors[k])
    save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=meta)
    os.chmod(path, 0o644)  # safetensors creates files 0600


def load_safetensors(path: str) -> Tuple[QuellNet, Dict[str, str]]:
    """Load a model file; sizes come from the tensor shapes and are checked against the metadata."""
    from safetensors import safe_open

    with safe_open(path, framework="pt") as f:
        meta = dict(f.metadata() or {})
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    # int8 matrices (FORMATS.md) come back as q * scale per row, in float32.
    for k in [k for k, v in tensors.items() if v.dtype == torch.int8]:
        scale = tensors.pop(k + INT8_SCALE_SUFFIX, None)
        if tensors[k].dim() != 2 or scale is None or tuple(scale.shape) != (tensors[k].shape[0],):
            raise ValueError(f"{path}: int8 {k} needs a float32 {k}{INT8_SCALE_SUFFIX} with one value per row")
        tensors[k] = tensors[k].float() * scale.float()[:, None]
    if "member" in meta or any(k.startswith("member.") for k in list(tensors) + list(meta)):
        # Loading one network and writing it back would drop the other silently.
        raise ValueError(f"{path}: has a member network (FORMATS.md, \"Members\"); work on the file "
                         f"without it (the base before add_member.py) and add the member again after")
    if meta.get("architecture") != ARCHITECTURE:
        raise ValueError(f"{path}: architecture {meta.get('architecture')!r}, expected {ARCHITECTURE!r}")
    cell = meta.get("cell", "gru")
    if cell not in CELLS:
        raise ValueError(f"{path}: cell {cell!r}, expected one of {CELLS}")
    dense, n_in = tensors["input.weight"].shape
    conv = dict(zip(("conv_channels", "conv_time", "conv_freq"),
                    (lambda s: (s[0], s[2], s[3]))(tensors["conv.weight"].shape))) if "conv.weight" in tensors else {}
    n_features = n_in // (1 + conv.get("conv_channels", 0))
    n_bands, hidden = tensors["gain.weight"].shape
    layers = 0
    while f"{cell}.{layers}.weight_ih" in tensors:
        layers += 1
    model = QuellNet(n_features, n_bands, dense, hidden, layers, cell=cell, **conv)
    if "reverb_gain.weight" in tensors or "reverb_gain.bias" in tensors:
        model.add_reverb_head()
    if "refine.weight" in tensors:
        rh = tensors["refine_hidden.weight"].shape[0] if "refine_hidden.weight" in tensors else 0
        model.add_refine_head(tensors["refine.weight"].shape[0], rh)
    if "deep_filter.weight" in tensors:
        order = int(meta["deep_filter_order"])
        dh = tensors["deep_filter_hidden.weight"].shape[0] if "deep_filter_hidden.weight" in tensors else 0
        model.add_deep_filter_head(tensors["deep_filter.weight"].shape[0] // (2 * order), order, dh)
    expected = model_tensors(model)
    if set(expected) != set(tensors):
        raise ValueError(f"{path}: tensor names differ: extra {sorted(set(tensors) - set(expected))}, "
                         f"missing {sorted(set(expected) - set(tensors))}")
    for k, v in expected.items():
        ok_dtypes = (torch.float32, torch.float16) if v.dim() == 2 else (torch.float32,)
        if tuple(tensors[k].shape) != tuple(v.shape) or tensors[k].dtype not in ok_dtypes:
            raise ValueError(f"{path}: {k} is {tensors[k].dtype} {tuple(tensors[k].shape)}, "
                             f"expected float32 (float16 allowed for weight matrices) {tuple(v.shape)}")
        tensors[k] = tensors[k].float()
    for key, val in (("n_features", n_features), ("n_bands", n_bands), ("dense", dense),
                     (f"{cell}_hidden", hidden), (f"{cell}_layers", layers)):
        if key in meta and int(meta[key]) != val:
            raise ValueError(f"{path}: metadata {key}={meta[key]} but tensors say {val}")
    with torch.no_grad():
        model.feature_mean.copy_(tensors["feature_mean"])
        model.feature_std.copy_(tensors["feature_std"])
        model.input.weight.copy_(tensors["input.weight"])
        model.input.bias.copy_(tensors["input.bias"])
        model.gain.weight.copy_(tensors["gain.weight"])
        model.gain.bias.copy_(tensors["gain.bias"])
        model.vad.weight.copy_(tensors["vad.weight"])
        model.vad.bias.copy_(tensors["vad.bias"])
        if model.reverb_gain is not None:
            model.reverb_gain.weight.copy_(tensors["reverb_gain.weight"])
            model.reverb_gain.bias.copy_(tensors["reverb_gain.bias"])
        for name in ("conv", "refine_hidden", "refine", "deep_filter_hidden", "deep_filter"):
            layer = getattr(model, name)
            if layer is not None:
                layer.weight.copy_(tensors[f"{name}.weight"])
                layer.bias.copy_(tensors[f"{name}.bias"])
        for l in range(layers):
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(model.rnn, f"{kind}_l{l}").copy_(tensors[f"{cell}.{l}.{kind}"])
    model.eval()
    return model, meta


def _last_layer_from_zero(model: QuellNet, features: np.ndarray):
    """(last recurrent layer's output [1,T,H], raw features [1,T,F]) over raw features [T,F] from a
    zero hidden state."""
    model = model.eval().float()
    f = torch.from_numpy(np.array(features, dtype=np.float32, copy=True))[None]
    y, _ = model.rnn(model.dense_input(f))
    return y, f


@torch.no_grad()
def run_reverb_from_zero(model: QuellNet, features: np.ndarray) -> np.ndarray:
    """The reverb head's gains [T,B] over raw features [T,F] from a zero hidden state."""
    y, _ = _last_layer_from_zero(model, features)
    return torch.sigmoid(model.reverb_gain(y))[0].numpy().astype(np.float32)


@torch.no_grad()
def run_refine_from_zero(model: QuellNet, features: np.ndarray) -> np.ndarray:
    """The refinement head's factors r = 2 sigmoid(a) [T,K] over raw features [T,F] from a zero state."""
    y, f = _last_layer_from_zero(model, features)
    return (2.0 * torch.sigmoid(model.refine_logits(y, f)))[0].numpy().astype(np.float32)


@torch.no_grad()
def run_deep_filter_from_zero(model: QuellNet, features: np.ndarray) -> np.ndarray:
    """The deep filter head's departures tanh(a) [T, 2*order*bins] over raw features [T,F] from a
    zero state (before the engine's speech gate)."""
    y, f = _last_layer_from_zero(model, features)
    return model.deep_filter_departure(y, f)[0].numpy().astype(np.float32)


@torch.no_grad()
def run_from_zero(model: QuellNet, features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Run the model in float32 over raw features [T,F] from a zero hidden state -> (gains [T,B], vad [T,1])."""
    model = model.eval().float()
    x = torch.from_numpy(np.array(features, dtype=np.float32, copy=True))[None]
    gains, vad, _ = model(x)
    return gains[0].numpy().astype(np.float32), vad[0].numpy().astype(np.float32)


def reference_numpy(tensors: Dict[str, np.ndarray], features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Frame-by-frame float64 implementation of the FORMATS.md equations, independent of torch.nn:
    used to check that a written file means what the torch model computed."""
    t = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}
    cell = "lstm" if "lstm.0.weight_ih" in t else "gru"
    layers = 0
    while f"{cell}.{layers}.weight_ih" in t:
        layers += 1
    H = t[f"{cell}.0.weight_hh"].shape[1]
    h = [np.zeros(H) for _ in range(layers)]
    c = [np.zeros(H) for _ in range(layers)]
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    gains, vad, room, refine, dfilter = [], [], [], [], []
    past = []  # normalised frames the convolution still reads, oldest first
    for f in np.asarray(features, dtype=np.float64):
        xn = (f - t["feature_mean"]) / t["feature_std"]
        if "conv.weight" in t:
            w, b = t["conv.weight"], t["conv.bias"]  # [C,1,kt,kf], [C]
            C, _, kt, kf = w.shape
            past = (past + [xn])[-kt:]
            frames = [np.zeros_like(xn)] * (kt - len(past)) + past
            padded = np.pad(np.stack(frames), ((0, 0), (kf // 2, kf // 2)))  # [kt, F + kf - 1]
            conv = np.array([[b[c] + np.sum(w[c, 0] * padded[:, j:j + kf]) for j in range(len(xn))]
                             for c in range(C)])
            xn = np.concatenate([xn, np.tanh(conv).ravel()])
        x = np.tanh(t["input.weight"] @ xn + t["input.bias"])
        for l in range(layers):
            gi = t[f"{cell}.{l}.weight_ih"] @ x + t[f"{cell}.{l}.bias_ih"]
            gh = t[f"{cell}.{l}.weight_hh"] @ h[l] + t[f"{cell}.{l}.bias_hh"]
            if cell == "gru":
                r = sig(gi[:H] + gh[:H])
                z = sig(gi[H:2 * H] + gh[H:2 * H])
                n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
                h[l] = (1 - z) * n + z * h[l]
            else:  # nn.LSTM gate order i, f, g, o
                a = gi + gh
                i, f_, g, o = sig(a[:H]), sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), sig(a[3 * H:])
                c[l] = f_ * c[l] + i * g
                h[l] = o * np.tanh(c[l])
            x = h[l]
        gains.append(sig(t["gain.weight"] @ x + t["gain.bias"]))
        vad.append(sig(t["vad.weight"] @ x + t["vad.bias"]))
        if "reverb_gain.weight" in t:
            room.append(sig(t["reverb_gain.weight"] @ x + t["reverb_gain.bias"]))
        if "refine.weight" in t:
            u = np.concatenate([x, (f - t["feature_mean"]) / t["feature_std"]])
            if "refine_hidden.weight" in t:
                u = np.tanh(t["refine_hidden.weight"] @ u + t["refine_hidden.bias"])
            refine.append(2.0 * sig(t["refine.weight"] @ u + t["refine.bias"]))
        if "deep_filter.weight" in t:
            u = np.concatenate([x, (f - t["feature_mean"]) / t["feature_std"]])
            if "deep_filter_hidden.weight" in t:
                u = np.tanh(t["deep_filter_hidden.weight"] @ u + t["deep_filter_hidden.bias"])
            dfilter.append(np.tanh(t["deep_filter.weight"] @ u + t["deep_filter.bias"]))
    reference_numpy.last_reverb = np.array(room) if room else None
    reference_numpy.last_refine = np.array(refine) if refine else None
    reference_numpy.last_deep_filter = np.array(dfilter) if dfilter else None
    return np.array(gains), np.array(vad)


def write_parity(path: str, model_rel_path: str, features: np.ndarray, gains: np.ndarray, vad: np.ndarray,
                 reverb_gains: Optional[np.ndarray] = None, refine: Optional[np.ndarray] = None,
                 deep_filter: Optional[np.ndarray] = None) -> None:
    from safetensors.numpy import save_file

    t = {
        "features": np.ascontiguousarray(features, dtype=np.float32),
        "gains": np.ascontiguousarray(gains, dtype=np.float32),
        "vad": np.ascontiguousarray(vad, dtype=np.float32).reshape(-1, 1),
    }
    if reverb_gains is not None:
        t["reverb_gains"] = np.ascontiguousarray(reverb_gains, dtype=np.float32)
    if refine is not None:
        t["refine"] = np.ascontiguousarray(refine, dtype=np.float32)
    if deep_filter is not None:
        t["deep_filter"] = np.ascontiguousarray(deep_filter, dtype=np.float32)
    save_file(t, path, metadata={"model": model_rel_path})
    os.chmod(path, 0o644)


def dequantized(tensors: Dict[str, np.ndarray]) -> Dict[str, np.ndarray]:
    """A numpy tensor dict with every int8 matrix (and its `.scale`) replaced by q * scale in float32."""
    out = dict(tensors)
    for k, v in tensors.items():
        if v.dtype == np.int8:
            scale = out.pop(k + INT8_SCALE_SUFFIX)
            out[k] = v.astype(np.float32) * scale.astype(np.float32)[:, None]
    return out


def verify_files(model_path: str, parity_path: str, tol: float = 1e-4) -> float:
    """Reload a model file + parity fixture, rerun both torch and the numpy reference, return the max
    abs difference (raises if >= tol)."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    model, _ = load_safetensors(model_path)
    par = load_file(parity_path)
    with safe_open(parity_path, framework="np") as f:
        pmeta = f.metadata() or {}
    if "model" not in pmeta:
        raise ValueError(f"{parity_path}: no 'model' metadata")
    g, v = run_from_zero(model, par["features"])
    tensors = dequantized(load_file(model_path))
    rg, rv = reference_numpy(tensors, par["features"])
    err = max(np.abs(g - par["gains"]).max(), np.abs(v - par["vad"]).max(),
              np.abs(rg - par["gains"]).max(), np.abs(rv - par["vad"]).max())
    if model.reverb_gain is not None:
        if "reverb_gains" not in par:
            raise ValueError(f"{parity_path}: the model has a reverb head but the fixture has no reverb_gains")
        rr = reference_numpy.last_reverb
        err = max(err, np.abs(run_reverb_from_zero(model, par["features"]) - par["reverb_gains"]).max(),
                  np.abs(rr - par["reverb_gains"]).max())
    if model.refine is not None:
        if "refine" not in par:
            raise ValueError(f"{parity_path}: the model has a refinement head but the fixture has no refine")
        rf = reference_numpy.last_refine
        err = max(err, np.abs(run_refine_from_zero(model, par["features"]) - par["refine"]).max(),
                  np.abs(rf - par["refine"]).max())
    if model.deep_filter is not None:
        if "deep_filter" not in par:
            raise ValueError(f"{parity_path}: the model has a deep filter but the fixture has no deep_filter")
        rd = reference_numpy.last_deep_filter
        err = max(err, np.abs(run_deep_filter_from_zero(model, par["features"]) - par["deep_filter"]).max(),
                  np.abs(rd - par["deep_filter"]).max())
    if not err < tol:
        raise AssertionError(f"parity check failed: max |diff| = {err:.3g} >= {tol}")
    return float(err)


def save_with_new_head(model: QuellNet, meta: Dict[str, str], out: str, f16: bool,
                       parity_out: Optional[str] = None) -> None:
    """Write a model whose trunk a head-fitting script (reverb_head.py, refine_head.py) left alone, and
    rewrite its parity fixture with every head it has. The fixture's features and dry gains must still
    match (else the trunk changed). Both files are replaced atomically, and only once both check out."""
    import json

    from safetensors.numpy import load_file

    if f16:
        round_weights_to_f16(model)
    tmp = out + ".tmp"
    save_safetensors(model, tmp, dict(meta), f16_weights=f16)
    if parity_out:
        par = load_file(parity_out)
        x = par["features"]
        gains, vad = run_from_zero(model, x)
        if np.abs(gains - par["gains"]).max() > 1e-5:
            raise SystemExit("the trunk changed: gains differ from the existing fixture")
        with open(parity_out, "rb") as fh:
            model_rel = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))["__metadata__"]["model"]
        rewrite_parity(model, tmp, x, parity_out, model_rel)
    os.replace(tmp, out)
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


def rewrite_parity(model: QuellNet, model_file: str, features: np.ndarray, parity_out: str,
                   model_rel: str) -> None:
    """Write `parity_out` with every output `model` has over `features` (naming `model_rel`, the file's
    path in the repository), check it against `model_file` and only then replace the old one."""
    gains, vad = run_from_zero(model, features)
    room = run_reverb_from_zero(model, features) if model.reverb_gain is not None else None
    refine = run_refine_from_zero(model, features) if model.refine is not None else None
    dfilter = run_deep_filter_from_zero(model, features) if model.deep_filter is not None else None
    ptmp = parity_out + ".tmp"
    write_parity(ptmp, model_rel, features, gains, vad, room, refine, dfilter)
    err = verify_files(model_file, ptmp)
    os.replace(ptmp, parity_out)
    print(f"wrote {parity_out}: max |diff| {err:.2e}")


def count_parameters(model: QuellNet) -> int:
    return sum(p.numel() for p in model.parameters())
