//! Loading and validating `.safetensors` model files (layout in `training/FORMATS.md`).
//! Every size comes from the tensors; metadata is cross-checked against them.

use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::Path;

use super::error::ModelError;
use super::linalg::{Matrix, keeps_half};
use crate::dsp::features::{SUPPORTED_VERSIONS, n_features};

/// True when the model's input size matches what this build's feature definition produces for its
/// band layout (the engine refuses models that fail this; the network itself runs either way).
pub fn features_match(w: &ModelWeights) -> bool {
    w.n_features == n_features(w.feature_version, w.n_bands)
        && w.member.as_ref().is_none_or(|m| features_match(m))
}

/// Prefix of a member network's tensors and metadata keys (training/FORMATS.md, "Members").
pub const MEMBER_PREFIX: &str = "member.";
/// Metadata key naming a bundled model as the member instead of carrying its tensors.
pub const MEMBER_KEY: &str = "member";
/// At most this many networks in one file (its own, its member, the member's member, ...): each one
/// costs the audio thread a whole network, so a file cannot ask for more than a host can afford.
pub const MAX_NETWORKS: usize = 4;

pub const ARCHITECTURE: &str = "quell-gru-bands";
pub const ARCH_VERSION: u32 = 1;
/// Refuse files whose header claims more than this: nothing legitimate comes close.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// The recurrent cell of every layer (metadata `cell`; absent means `gru`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// PyTorch `nn.GRU`: gates r, z, n; tensors `gru.{l}.*` with `3H` rows.
    Gru,
    /// PyTorch `nn.LSTM`: gates i, f, g, o; tensors `lstm.{l}.*` with `4H` rows; carries a cell state.
    Lstm,
}

impl Cell {
    /// Tensor-name prefix and metadata-key prefix (`gru_hidden`, `lstm_layers`, ...).
    pub fn prefix(self) -> &'static str {
        match self {
            Cell::Gru => "gru",
            Cell::Lstm => "lstm",
        }
    }

    /// Gate blocks stacked in the weight matrices.
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }
}

/// One recurrent layer: `w_ih` is `[gates*H, input_size]`, `w_hh` is `[gates*H, H]` (PyTorch layout).
#[derive(Debug, Clone)]
pub struct RnnLayer {
    pub input_size: usize,
    pub hidden: usize,
    pub w_ih: Matrix,
    pub w_hh: Matrix,
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
}

/// The name this layer type had when GRU was the only cell.
pub type GruLayer = RnnLayer;

#[derive(Debug, Clone)]
pub struct ModelWeights {
    pub name: String,
    pub description: String,
    pub band_edges_hz: Vec<f32>,
    /// Which feature definition the model reads (`dsp::features`).
    pub feature_version: u32,
    pub n_features: usize,
    pub n_bands: usize,
    pub dense: usize,
    pub feature_mean: Vec<f32>,
    pub feature_inv_std: Vec<f32>,
    /// Optional causal convolutional front end (`conv.*`); with it `input_w` is `[dense, F (1 + C)]`.
    pub conv: Option<ConvFrontEnd>,
    pub input_w: Matrix,
    pub input_b: Vec<f32>,
    pub cell: Cell,
    /// The recurrent layers, all of type `cell`.
    pub rnn: Vec<RnnLayer>,
    pub gain_w: Matrix,
    pub gain_b: Vec<f32>,
    pub vad_w: Matrix,
    pub vad_b: Vec<f32>,
    /// Optional second gain head (`reverb_gain.*`): gains that keep the speech with its room. Files
    /// without it load; the engine then has nothing to blend and reverb reduction is unavailable.
    pub reverb: Option<GainHead>,
    /// Optional per-bin refinement of the lowest FFT bins (`refine.*`, `refine_hidden.*`).
    pub refine: Option<RefineHead>,
    /// Optional deep filter of the lowest FFT bins (`deep_filter.*`, `deep_filter_hidden.*`, metadata
    /// `deep_filter_order`).
    pub deep_filter: Option<DeepFilterHead>,
    /// The file's own release limit (metadata `gain_decay_per_hop`, in [0, 1)); absent, the engine's
    /// default applies. Lets a model keep the limit it was tuned with when the default moves.
    pub gain_decay_per_hop: Option<f32>,
    /// The share of the engine's pitch comb this model takes (metadata `pitch_comb`, in [0, 1]);
    /// absent, all of it. A model whose gains are too rough a guess of the speech share (`tiny`)
    /// carries 0.
    pub pitch_comb: Option<f32>,
    /// Optional second network in the same file (`member.*` tensors and metadata keys), which may
    /// have a member of its own (`member.member.*`), up to [`MAX_NETWORKS`]: the engine runs them all
    /// on the same input and applies the mean of their gains. Networks trained apart err in
    /// different places, so their mean errs less than any of them.
    pub member: Option<std::sync::Arc<ModelWeights>>,
}

/// Per-bin factors for FFT bins `[0, bins)`: `r = 2 sigmoid(W u + b)` where `u` is the last recurrent
/// layer's output followed by the normalised features (through a tanh layer first when `hidden` is
/// there). Band gains are smooth across a band; this lets the low bins follow a voice's harmonics.
#[derive(Debug, Clone)]
pub struct RefineHead {
    pub hidden: Option<GainHead>,
    pub out: GainHead,
    pub bins: usize,
}

impl RefineHead {
    /// Size of the tanh layer (0 without one).
    pub fn hidden_size(&self) -> usize {
        self.hidden.as_ref().map_or(0, |h| h.b.len())
    }
}

/// Largest deep filter a file may ask for: bins (6.4 kHz) and frames. The engine keeps this much
/// spectrum history for every channel, whatever the model, so a model swap needs no warm-up.
pub const MAX_DEEP_FILTER_BINS: usize = 64;
pub const MAX_DEEP_FILTER_ORDER: usize = 8;

/// A causal deep filter on FFT bins `[0, bins)`: per frame and bin, `order` complex coefficients
/// that combine the bin's current and `order - 1` past STFT values. The head (same input and
/// optional tanh layer as [`RefineHead`]) gives `2 * order * bins` outputs, `tanh` of which, ordered
/// bin, tap (0 = now), re/im, are the coefficients' departure from the identity (1 on tap 0).
#[derive(Debug, Clone)]
pub struct DeepFilterHead {
    pub net: RefineHead,
    pub bins: usize,
    pub order: usize,
}

/// Largest convolution kernel a file may ask for: frames (this one and past) and features wide.
pub const MAX_CONV_TIME: usize = 8;
pub const MAX_CONV_FREQ: usize = 9;

/// A causal convolutional front end: `channels` kernels of `time` frames (this one and the ones
/// before it, never a later one) by `freq` neighbouring features (odd; zeros past either end) over
/// the normalised features. `tanh` of its `channels x F` outputs (channel-major) go into the dense
/// layer after the features themselves. Weights `[C, 1, time, freq]` (PyTorch `Conv2d`), bias `[C]`.
#[derive(Debug, Clone)]
pub struct ConvFrontEnd {
    pub w: Vec<f32>,
    pub b: Vec<f32>,
    pub channels: usize,
    pub time: usize,
    pub freq: usize,
}

/// A band-gain head: `[B, H]` weights and `[B]` bias, sigmoid.
#[derive(Debug, Clone)]
pub struct GainHead {
    pub w: Matrix,
    pub b: Vec<f32>,
}

struct Reader<'a> {
    st: &'a SafeTensors<'a>,
    /// Prepended to every tensor name: "" for the file's own network, [`MEMBER_PREFIX`] once per
    /// level for its members.
    prefix: &'a str,
}

/// IEEE 754 binary16 -> f32 (exact: every half value is representable).
fn f16_to_f32(h: u16) -> f32 {
    half::f16::from_bits(h).to_f32()
}

impl Reader<'_> {
    fn has(&self, name: &str) -> bool {
        self.st.tensor(&format!("{}{name}", self.prefix)).is_ok()
    }

    fn tensor(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ModelError> {
        let (shape, data) = self.read(name, false)?;
        Ok((shape, data.into_f32()))
    }

    /// A weight matrix: kept half (or int8) when the file stores it so and this CPU multiplies
    /// halves (`linalg::keeps_half`, which also has what int8 needs), else f32.
    fn matrix(&self, name: &str) -> Result<(Vec<usize>, Matrix), ModelError> {
        self.read(name, keeps_half())
    }

    fn read(&self, name: &str, keep_half: bool) -> Result<(Vec<usize>, Matrix), ModelError> {
        let own_name = name;
        let name = &format!("{}{name}", self.prefix);
        let t = self
            .st
            .tensor(name)
            .map_err(|_| ModelError::MissingTensor(name.to_string()))?;
        // F32, or F16 (weight matrices stored at half size: `export.py --f16-weights`, `to_f16.py`).
        let data = match t.dtype() {
            Dtype::F32 => Matrix::F32(
                t.data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            Dtype::F16 => {
                let halves = t
                    .data()
                    .chunks_exact(2)
                    .map(|b| u16::from_le_bytes([b[0], b[1]]));
                if keep_half {
                    Matrix::F16(halves.map(half::f16::from_bits).collect())
                } else {
                    Matrix::F32(halves.map(f16_to_f32).collect())
                }
            }
            // A 2-D matrix as int8 with `NAME.scale`, f32 with one finite value per row
            // (`to_f16.py --int8-recurrent`; training/FORMATS.md).
            Dtype::I8 => {
                let [rows, _] = t.shape() else {
                    return Err(ModelError::Format(format!(
                        "tensor '{name}': int8 only for 2-D weight matrices, shape {:?}",
                        t.shape()
                    )));
                };
                let (scale_shape, scale) = self.read(&format!("{own_name}.scale"), false)?;
                if scale_shape != [*rows] {
                    return Err(ModelError::WrongShape {
                        tensor: format!("{name}.scale"),
                        expected: vec![*rows],
                        found: scale_shape,
                    });
                }
                let scale = scale.into_f32();
                let q: Vec<i8> = t.data().iter().map(|&b| b as i8).collect();
                if keep_half {
                    Matrix::I8 { q, scale }
                } else {
                    Matrix::F32(super::linalg::widen_i8(&q, &scale))
                }
            }
            other => {
                return Err(ModelError::WrongDtype {
                    tensor: name.into(),
                    dtype: format!("{other:?}"),
                });
            }
        };
        let finite = match &data {
            Matrix::F32(v) => v.iter().all(|x| x.is_finite()),
            Matrix::F16(v) => v.iter().all(|x| x.is_finite()),
            // The scales were checked when read; an int8 times a finite scale can still overflow.
            Matrix::I8 { .. } => data.to_f32().iter().all(|x| x.is_finite()),
        };
        if !finite {
            return Err(ModelError::NonFinite(name.into()));
        }
        Ok((t.shape().to_vec(), data))
    }

    fn shaped(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, ModelError> {
        Ok(self.shaped_matrix(name, expected, false)?.into_f32())
    }

    fn shaped_weights(&self, name: &str, expected: &[usize]) -> Result<Matrix, ModelError> {
        self.shaped_matrix(name, expected, keeps_half())
    }

    fn shaped_matrix(
        &self,
        name: &str,
        expected: &[usize],
        keep_half: bool,
    ) -> Result<Matrix, ModelError> {
        let (shape, data) = self.read(name, keep_half)?;
        if shape != expected {
            return Err(ModelError::WrongShape {
                tensor: format!("{}{name}", self.prefix),
                expected: expected.to_vec(),
                found: shape,
            });
        }
        Ok(data)
    }
}

const NESTED: &str = "a bundled model named as a member cannot have a member of its own";

/// Whether metadata `m` (of one network, its prefix stripped) gives that network a member.
fn has_member(m: &HashMap<String, String>) -> bool {
    m.contains_key(MEMBER_KEY) || m.keys().any(|k| k.starts_with(MEMBER_PREFIX))
}

fn bad_member(why: &str) -> ModelError {
    ModelError::Format(format!("member network: {why}"))
}

fn meta<'m>(m: &'m HashMap<String, String>, key: &'static str) -> Result<&'m str, ModelError> {
    m.get(key)
        .map(String::as_str)
        .ok_or(ModelError::MissingMetadata(key))
}

fn meta_usize(m: &HashMap<String, String>, key: &'static str) -> Result<usize, ModelError> {
    let v = meta(m, key)?;
    v.trim()
        .parse()
        .map_err(|e: std::num::ParseIntError| ModelError::BadMetadata {
            key,
            value: v.into(),
            why: e.to_string(),
        })
}

fn parse_edges(v: &str) -> Result<Vec<f32>, ModelError> {
    let bad = |why: &str| ModelError::BadMetadata {
        key: "band_edges_hz",
        value: v.chars().take(80).collect(),
        why: why.into(),
    };
    let edges: Vec<f32> = serde_json::from_str(v).map_err(|e| bad(&e.to_string()))?;
    if edges.len() < 2 {
        return Err(bad("need at least two edges"));
    }
    if edges.iter().any(|e| !e.is_finite())
        || edges.windows(2).any(|w| w[1] <= w[0])
        || edges[0] < 0.0
    {
        return Err(bad("edges must be finite, non-negative and increasing"));
    }
    Ok(edges)
}

impl ModelWeights {
    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let len = std::fs::metadata(path)
            .map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))?
            .len();
        if len > MAX_FILE_BYTES {
            return Err(ModelError::Format(format!(
                "file is {len} bytes, larger than any Quell model"
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))?;
        Self::from_bytes(&bytes)
    }

    /// A user's model file, checked for everything the engine needs: the one entry point for files
    /// from the CLI and the plugin's "load model file". Reads the disk; never call on the audio thread.
    pub fn load_user_file(path: &Path) -> Result<Self, ModelError> {
        let w = Self::from_file(path)?;
        if !features_match(&w) {
            return Err(ModelError::FeatureMismatch {
                expected: n_features(w.feature_version, w.n_bands),
                found: w.n_features,
            });
        }
        Ok(w)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        Self::load_bytes(bytes, true)
    }

    /// `may_have_member` false: a bundled model named as a member, which must not name or carry one
    /// (a bundled model naming itself would otherwise load forever).
    fn load_bytes(bytes: &[u8], may_have_member: bool) -> Result<Self, ModelError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Format(e.to_string()))?;
        let m = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Format(e.to_string()))?;
        if !may_have_member && has_member(&m) {
            return Err(ModelError::Format(NESTED.into()));
        }
        Self::load_chain(&st, &m, "", 1)
    }

    /// The network whose tensors carry `prefix` (its metadata `m` already stripped of it), then its
    /// member under `prefix` + `member.`, and so on: `depth` is this network's place in the file.
    fn load_chain(
        st: &SafeTensors<'_>,
        m: &HashMap<String, String>,
        prefix: &str,
        depth: usize,
    ) -> Result<Self, ModelError> {
        let mut own = Self::parse(&Reader { st, prefix }, m)?;
        if !has_member(m) {
            return Ok(own);
        }
        if depth >= MAX_NETWORKS {
            return Err(ModelError::Format(format!(
                "more than {MAX_NETWORKS} networks in one file"
            )));
        }
        let member_meta: HashMap<String, String> = m
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(MEMBER_PREFIX)?.to_string(), v.clone())))
            .collect();
        if !member_meta.is_empty() {
            let inner = format!("{prefix}{MEMBER_PREFIX}");
            let member = Self::load_chain(st, &member_meta, &inner, depth + 1)
                .map_err(|e| bad_member(&e.to_string()))?;
            own.member = Some(std::sync::Arc::new(member));
        }
        // Or a bundled model named as the member: the binary already holds its bytes once.
        if let Some(name) = m.get(MEMBER_KEY) {
            if own.member.is_some() {
                return Err(bad_member("named and carried both; one member per network"));
            }
            let bundled = crate::model::bundled::find(name.trim())
                .ok_or_else(|| bad_member(&format!("'{name}' is not a bundled model")))?;
            let member =
                Self::load_bytes(bundled.bytes, false).map_err(|e| bad_member(&e.to_string()))?;
            own.member = Some(std::sync::Arc::new(member));
        }
        Ok(own)
    }

    /// One network: tensors through `r` (own or member prefix), metadata `m` (likewise stripped).
    fn parse(r: &Reader<'_>, m: &HashMap<String, String>) -> Result<Self, ModelError> {
        let arch = meta(m, "architecture")?;
        let version = meta_usize(m, "version")?;
        if arch != ARCHITECTURE || version != ARCH_VERSION as usize {
            return Err(ModelError::UnsupportedArchitecture(format!(
                "{arch} v{version}"
            )));
        }
        let fv = meta_usize(m, "feature_version")?;
        let feature_version = match SUPPORTED_VERSIONS.iter().find(|&&v| v as usize == fv) {
            Some(&v) => v,
            None => {
                return Err(ModelError::BadMetadata {
                    key: "feature_version",
                    value: fv.to_string(),
                    why: format!("this build computes feature versions {SUPPORTED_VERSIONS:?}"),
                });
            }
        };
        let band_edges_hz = parse_edges(meta(m, "band_edges_hz")?)?;
        let n_bands = band_edges_hz.len() - 1;

        // Sizes from the tensors.
        let (in_shape, input_w) = r.matrix("input.weight")?;
        if in_shape.len() != 2 {
            return Err(ModelError::WrongShape {
                tensor: "input.weight".into(),
                expected: vec![0, 0],
                found: in_shape,
            });
        }
        let conv = read_conv(r)?;
        let (dense, n_in) = (in_shape[0], in_shape[1]);
        // The dense layer reads the features and then, with a front end, C values per feature.
        let widen = 1 + conv.as_ref().map_or(0, |c| c.channels);
        if n_in % widen != 0 || n_in == 0 {
            return Err(ModelError::WrongShape {
                tensor: "input.weight".into(),
                expected: vec![dense, widen * (n_in / widen).max(1)],
                found: in_shape,
            });
        }
        let nf = n_in / widen;
        let input_b = r.shaped("input.bias", &[dense])?;
        let feature_mean = r.shaped("feature_mean", &[nf])?;
        let feature_std = r.shaped("feature_std", &[nf])?;
        if feature_std.iter().any(|&s| s <= 0.0) {
            return Err(ModelError::BadMetadata {
                key: "feature_std",
                value: "<tensor>".into(),
                why: "must be positive".into(),
            });
        }

        let cell = match m.get("cell").map(|c| c.trim()) {
            None | Some("gru") => Cell::Gru,
            Some("lstm") => Cell::Lstm,
            Some(other) => {
                return Err(ModelError::BadMetadata {
                    key: "cell",
                    value: other.into(),
                    why: "expected gru or lstm".into(),
                });
            }
        };
        let (prefix, gates) = (cell.prefix(), cell.gates());
        let mut rnn = Vec::new();
        let mut in_size = dense;
        loop {
            let name = format!("{prefix}.{}.weight_hh", rnn.len());
            let (shape, w_hh) = match r.matrix(&name) {
                Ok(t) => t,
                Err(ModelError::MissingTensor(_)) if !rnn.is_empty() => break,
                Err(e) => return Err(e),
            };
            if shape.len() != 2 || shape[0] != gates * shape[1] || shape[1] == 0 {
                return Err(ModelError::WrongShape {
                    tensor: name,
                    expected: vec![
                        gates * shape.get(1).copied().unwrap_or(0),
                        shape.get(1).copied().unwrap_or(0),
                    ],
                    found: shape,
                });
            }
            let h = shape[1];
            let l = rnn.len();
            let w_ih =
                r.shaped_weights(&format!("{prefix}.{l}.weight_ih"), &[gates * h, in_size])?;
            let b_ih = r.shaped(&format!("{prefix}.{l}.bias_ih"), &[gates * h])?;
            let b_hh = r.shaped(&format!("{prefix}.{l}.bias_hh"), &[gates * h])?;
            rnn.push(RnnLayer {
                input_size: in_size,
                hidden: h,
                w_ih,
                w_hh,
                b_ih,
                b_hh,
            });
            in_size = h;
        }
        let last = in_size;
        let gain_w = r.shaped_weights("gain.weight", &[n_bands, last])?;
        let gain_b = r.shaped("gain.bias", &[n_bands])?;
        let vad_w = r.shaped_weights("vad.weight", &[1, last])?;
        let vad_b = r.shaped("vad.bias", &[1])?;
        // Both tensors of the reverb head, or neither: half a head is a broken file.
        let reverb = match (r.has("reverb_gain.weight"), r.has("reverb_gain.bias")) {
            (false, false) => None,
            (true, true) => Some(GainHead {
                w: r.shaped_weights("reverb_gain.weight", &[n_bands, last])?,
                b: r.shaped("reverb_gain.bias", &[n_bands])?,
            }),
            (true, false) => return Err(ModelError::MissingTensor("reverb_gain.bias".into())),
            (false, true) => return Err(ModelError::MissingTensor("reverb_gain.weight".into())),
        };
        // The head reads the features too: if it was built for this layout's feature count and the
        // dense layer was not, the feature count is what to report, not the head's width.
        let refine = read_refine_head(r, last + nf).map_err(|e| {
            let expected = n_features(feature_version, n_bands);
            match e {
                ModelError::WrongShape { ref found, .. }
                    if nf != expected && found.get(1) == Some(&(last + expected)) =>
                {
                    ModelError::FeatureMismatch {
                        expected,
                        found: nf,
                    }
                }
                e => e,
            }
        })?;
        let deep_filter = read_deep_filter(r, m, last + nf)?;

        // Metadata must agree with the tensors (`gru_hidden`/`gru_layers`, or `lstm_*` for LSTM).
        let (hidden_key, layers_key) = match cell {
            Cell::Gru => ("gru_hidden", "gru_layers"),
            Cell::Lstm => ("lstm_hidden", "lstm_layers"),
        };
        for (key, found) in [
            ("n_features", nf),
            ("n_bands", n_bands),
            ("dense", dense),
            (hidden_key, last),
            (layers_key, rnn.len()),
        ] {
            let claimed = meta_usize(m, key)?;
            if claimed != found {
                return Err(ModelError::BadMetadata {
                    key,
                    value: claimed.to_string(),
                    why: format!("tensors say {found}"),
                });
            }
        }
        let rate = meta_usize(m, "sample_rate")?;
        let hop = meta_usize(m, "hop")?;
        if rate == 0 || hop * 200 != rate {
            return Err(ModelError::BadMetadata {
                key: "hop",
                value: hop.to_string(),
                why: format!(
                    "the engine runs 5 ms hops; sample_rate {rate} needs hop {}",
                    rate / 200
                ),
            });
        }

        // Optional numbers a file may carry for the engine's stages, checked like the rest.
        let optional = |key: &'static str, ok: fn(f32) -> bool, why: &str| match m.get(key) {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse::<f32>()
                .ok()
                .filter(|x| ok(*x))
                .map(Some)
                .ok_or_else(|| ModelError::BadMetadata {
                    key,
                    value: v.chars().take(40).collect(),
                    why: why.into(),
                }),
        };
        let gain_decay_per_hop = optional(
            "gain_decay_per_hop",
            |d| (0.0..1.0).contains(&d),
            "must be a number from 0 (no limit) to below 1",
        )?;
        let pitch_comb = optional(
            "pitch_comb",
            |c| (0.0..=1.0).contains(&c),
            "must be a number from 0 (no comb) to 1",
        )?;

        Ok(Self {
            name: m.get("name").cloned().unwrap_or_else(|| "unnamed".into()),
            description: m.get("description").cloned().unwrap_or_default(),
            band_edges_hz,
            feature_version,
            n_features: nf,
            n_bands,
            dense,
            feature_mean,
            feature_inv_std: feature_std.iter().map(|s| 1.0 / s).collect(),
            conv,
            input_w,
            input_b,
            cell,
            rnn,
            gain_w,
            gain_b,
            vad_w,
            vad_b,
            reverb,
            refine,
            deep_filter,
            gain_decay_per_hop,
            pitch_comb,
            member: None,
        })
    }

    /// Whether the file carries the reverb head (see [`ModelWeights::reverb`]).
    pub fn has_reverb_head(&self) -> bool {
        self.reverb.is_some()
    }

    pub fn hidden_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.rnn.iter().map(|l| l.hidden)
    }

    /// Parameters of the file's networks (its own and its members').
    pub fn parameter_count(&self) -> usize {
        self.own_parameter_count() + self.member.as_ref().map_or(0, |m| m.parameter_count())
    }

    /// How many networks the file runs: its own and its members'.
    pub fn network_count(&self) -> usize {
        1 + self.member.as_ref().map_or(0, |m| m.network_count())
    }

    fn own_parameter_count(&self) -> usize {
        let g: usize = self
            .rnn
            .iter()
            .map(|l| l.w_ih.len() + l.w_hh.len() + l.b_ih.len() + l.b_hh.len())
            .sum();
        self.input_w.len()
            + self.input_b.len()
            + self.conv.as_ref().map_or(0, |c| c.w.len() + c.b.len())
            + g
            + self.gain_w.len()
            + self.gain_b.len()
            + self.vad_w.len()
            + self.vad_b.len()
            + self.reverb.as_ref().map_or(0, |h| h.w.len() + h.b.len())
            + [
                self.refine.as_ref(),
                self.deep_filter.as_ref().map(|d| &d.net),
            ]
            .into_iter()
            .flatten()
            .map(|r| {
                r.out.w.len()
                    + r.out.b.len()
                    + r.hidden.as_ref().map_or(0, |h| h.w.len() + h.b.len())
            })
            .sum::<usize>()
    }

    /// Multiply-accumulates per frame (one hop), of every network when the file has members.
    pub fn macs_per_frame(&self) -> usize {
        self.own_macs_per_frame() + self.member.as_ref().map_or(0, |m| m.macs_per_frame())
    }

    fn own_macs_per_frame(&self) -> usize {
        self.input_w.len()
            + self.conv.as_ref().map_or(0, |c| c.w.len() * self.n_features)
            + self
                .rnn
                .iter()
                .map(|l| l.w_ih.len() + l.w_hh.len())
                .sum::<usize>()
            + self.gain_w.len()
            + self.vad_w.len()
            + self.reverb.as_ref().map_or(0, |h| h.w.len())
            + [self.refine.as_ref(), self.deep_filter.as_ref().map(|d| &d.net)]
                .into_iter()
                .flatten()
                .map(|r| r.out.w.len() + r.hidden.as_ref().map_or(0, |h| h.w.len()))
                .sum::<usize>()
            // The filter itself: 4 real multiply-adds per complex tap.
            + self.deep_filter.as_ref().map_or(0, |d| 4 * d.order * d.bins)
    }
}

/// The optional front end: `conv.weight` `[C, 1, time, freq]` and `conv.bias` `[C]`, both or neither.
fn read_conv(r: &Reader<'_>) -> Result<Option<ConvFrontEnd>, ModelError> {
    match (r.has("conv.weight"), r.has("conv.bias")) {
        (false, false) => return Ok(None),
        (true, false) => return Err(ModelError::MissingTensor(format!("{}conv.bias", r.prefix))),
        (false, true) => {
            return Err(ModelError::MissingTensor(format!(
                "{}conv.weight",
                r.prefix
            )));
        }
        (true, true) => {}
    }
    let (shape, w) = r.tensor("conv.weight")?;
    let ok = shape.len() == 4
        && shape[0] > 0
        && shape[1] == 1
        && (1..=MAX_CONV_TIME).contains(&shape[2])
        && shape[3] % 2 == 1
        && shape[3] <= MAX_CONV_FREQ;
    if !ok {
        return Err(ModelError::WrongShape {
            tensor: format!("{}conv.weight", r.prefix),
            expected: vec![shape.first().copied().unwrap_or(1).max(1), 1, 3, 3],
            found: shape,
        });
    }
    let (channels, time, freq) = (shape[0], shape[2], shape[3]);
    let b = r.shaped("conv.bias", &[channels])?;
    Ok(Some(ConvFrontEnd {
        w,
        b,
        channels,
        time,
        freq,
    }))
}

/// The optional refinement head: `refine.weight` `[K, in]` and `refine.bias` `[K]`, with `in` the
/// last hidden size plus the feature count, or the size of `refine_hidden` (`[R, that]`, `[R]`)
/// when the file has one. Every tensor of a part present, or none: half a head is a broken file.
fn read_refine_head(r: &Reader<'_>, input: usize) -> Result<Option<RefineHead>, ModelError> {
    read_bin_head(r, input, "refine", "refine_hidden")
}

/// A per-bin head's tensors `{out}.*` and optional `{hidden}.*` (see [`read_refine_head`]).
fn read_bin_head(
    r: &Reader<'_>,
    input: usize,
    out: &str,
    hidden_name: &str,
) -> Result<Option<RefineHead>, ModelError> {
    let pair = |name: &str| -> Result<Option<(usize, usize)>, ModelError> {
        let (w, b) = (format!("{name}.weight"), format!("{name}.bias"));
        match (r.has(&w), r.has(&b)) {
            (false, false) => Ok(None),
            (true, false) => Err(ModelError::MissingTensor(b)),
            (false, true) => Err(ModelError::MissingTensor(w)),
            (true, true) => {
                let (shape, _) = r.tensor(&w)?;
                if shape.len() != 2 || shape[0] == 0 {
                    return Err(ModelError::WrongShape {
                        tensor: w,
                        expected: vec![0, 0],
                        found: shape,
                    });
                }
                Ok(Some((shape[0], shape[1])))
            }
        }
    };
    let head = |name: &str, rows: usize, cols: usize| -> Result<GainHead, ModelError> {
        Ok(GainHead {
            w: r.shaped_weights(&format!("{name}.weight"), &[rows, cols])?,
            b: r.shaped(&format!("{name}.bias"), &[rows])?,
        })
    };
    let inner = pair(hidden_name)?;
    let Some((bins, _)) = pair(out)? else {
        return match inner {
            None => Ok(None),
            Some(_) => Err(ModelError::MissingTensor(format!("{out}.weight"))),
        };
    };
    let hidden = match inner {
        Some((rows, _)) => Some(head(hidden_name, rows, input)?),
        None => None,
    };
    let out_in = hidden.as_ref().map_or(input, |h| h.b.len());
    Ok(Some(RefineHead {
        out: head(out, bins, out_in)?,
        hidden,
        bins,
    }))
}

/// The optional deep filter: `deep_filter.*` (and `deep_filter_hidden.*`) shaped like the refinement
/// head with `2 * order * bins` rows, `order` from the metadata key `deep_filter_order`.
fn read_deep_filter(
    r: &Reader<'_>,
    m: &HashMap<String, String>,
    input: usize,
) -> Result<Option<DeepFilterHead>, ModelError> {
    let Some(net) = read_bin_head(r, input, "deep_filter", "deep_filter_hidden")? else {
        return match m.get("deep_filter_order") {
            None => Ok(None),
            Some(v) => Err(ModelError::BadMetadata {
                key: "deep_filter_order",
                value: v.chars().take(40).collect(),
                why: "the file has no deep_filter tensors".into(),
            }),
        };
    };
    let order = meta_usize(m, "deep_filter_order")?;
    let rows = net.bins;
    let bad = |why: String| ModelError::BadMetadata {
        key: "deep_filter_order",
        value: order.to_string(),
        why,
    };
    if !(1..=MAX_DEEP_FILTER_ORDER).contains(&order) {
        return Err(bad(format!("must be 1 to {MAX_DEEP_FILTER_ORDER}")));
    }
    if rows % (2 * order) != 0 || rows / (2 * order) > MAX_DEEP_FILTER_BINS {
        return Err(bad(format!(
            "deep_filter.weight has {rows} rows: need 2 x order x bins, at most {MAX_DEEP_FILTER_BINS} bins"
        )));
    }
    Ok(Some(DeepFilterHead {
        bins: rows / (2 * order),
        order,
        net,
    }))
}

#[cfg(test)]
mod f16_tests {
    use super::f16_to_f32;

    #[test]
    fn half_floats_widen_exactly() {
        for (h, f) in [
            (0x0000u16, 0.0f32),
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x3555, 0.333_251_95),
            (0x7bff, 65504.0),
            (0x0001, 5.960_464_5e-8),
            (0x8001, -5.960_464_5e-8),
        ] {
            assert_eq!(f16_to_f32(h), f, "{h:#06x}");
        }
        assert!(f16_to_f32(0x7c00).is_infinite() && f16_to_f32(0x7e00).is_nan());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LSTM: &[u8] = include_bytes!("../../../tests/fixtures/tiny_random_lstm.safetensors");

    type Tensors = Vec<(String, Vec<usize>, String, Vec<u8>)>;

    /// The LSTM fixture rebuilt with edited tensors and metadata.
    fn rebuild(edit: impl FnOnce(&mut Tensors, &mut HashMap<String, String>)) -> Vec<u8> {
        rebuild_from(LSTM, edit)
    }

    /// `file`'s tensors and metadata, edited, written again.
    fn rebuild_from(
        file: &[u8],
        edit: impl FnOnce(&mut Tensors, &mut HashMap<String, String>),
    ) -> Vec<u8> {
        let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&file[8..8 + n]).unwrap();
        let data = &file[8 + n..];
        let mut meta: HashMap<String, String> =
            serde_json::from_value(header["__metadata__"].clone()).unwrap();
        let mut tensors = Vec::new();
        for (k, v) in header.as_object().unwrap() {
            if k == "__metadata__" {
                continue;
            }
            let off: Vec<usize> = serde_json::from_value(v["data_offsets"].clone()).unwrap();
            let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).unwrap();
            let dtype = v["dtype"].as_str().unwrap().to_string();
            tensors.push((k.clone(), shape, dtype, data[off[0]..off[1]].to_vec()));
        }
        edit(&mut tensors, &mut meta);
        let mut h = serde_json::Map::new();
        h.insert("__metadata__".into(), serde_json::to_value(&meta).unwrap());
        let mut blob = Vec::new();
        for (k, shape, dtype, d) in &tensors {
            let offsets = [blob.len(), blob.len() + d.len()];
            h.insert(
                k.clone(),
                serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": offsets}),
            );
            blob.extend_from_slice(d);
        }
        let hs = serde_json::to_vec(&h).unwrap();
        let mut out = (hs.len() as u64).to_le_bytes().to_vec();
        out.extend(hs);
        out.extend(blob);
        out
    }

    fn err(bytes: &[u8]) -> ModelError {
        ModelWeights::from_bytes(bytes).expect_err("must be rejected")
    }

    /// The fixture with a copy of itself as its member.
    fn with_member(edit: impl FnOnce(&mut Tensors, &mut HashMap<String, String>)) -> Vec<u8> {
        rebuild(|t, m| {
            let theirs: Tensors = t
                .iter()
                .map(|(k, s, d, b)| {
                    (
                        format!("{MEMBER_PREFIX}{k}"),
                        s.clone(),
                        d.clone(),
                        b.clone(),
                    )
                })
                .collect();
            let meta: Vec<(String, String)> = m
                .iter()
                .map(|(k, v)| (format!("{MEMBER_PREFIX}{k}"), v.clone()))
                .collect();
            t.extend(theirs);
            m.extend(meta);
            edit(t, m);
        })
    }

    /// The fixture with every 2-D weight matrix stored as F16, and the same values widened back to
    /// F32 (so both files hold one network).
    fn half_and_widened() -> (Vec<u8>, Vec<u8>) {
        let narrow = |t: &mut Tensors, to_half: bool| {
            for (_, shape, dtype, bytes) in t.iter_mut() {
                if shape.len() != 2 || dtype != "F32" {
                    continue;
                }
                let halves: Vec<half::f16> = bytes
                    .chunks_exact(4)
                    .map(|b| half::f16::from_f32(f32::from_le_bytes(b.try_into().unwrap())))
                    .collect();
                *bytes = if to_half {
                    *dtype = "F16".into();
                    halves.iter().flat_map(|h| h.to_le_bytes()).collect()
                } else {
                    halves
                        .iter()
                        .flat_map(|h| h.to_f32().to_le_bytes())
                        .collect()
                };
            }
        };
        (
            rebuild(|t, _| narrow(t, true)),
            rebuild(|t, _| narrow(t, false)),
        )
    }

    #[test]
    fn half_matrices_stay_half_where_the_cpu_multiplies_them_and_compute_the_same() {
        let (half_file, wide_file) = half_and_widened();
        let half = ModelWeights::from_bytes(&half_file).unwrap();
        let wide = ModelWeights::from_bytes(&wide_file).unwrap();
        assert_eq!(half.input_w.is_half(), keeps_half());
        assert_eq!(half.rnn[0].w_hh.is_half(), keeps_half());
        assert!(!wide.input_w.is_half());
        assert_eq!(half.input_w.to_f32(), wide.input_w.to_f32());
        assert_eq!(half.parameter_count(), wide.parameter_count());
        // Same network, bit for bit, whichever way it is kept.
        for (t, ((ga, va), (gb, vb))) in fifty_frames(&half)
            .into_iter()
            .zip(fifty_frames(&wide))
            .enumerate()
        {
            assert_eq!((ga, va.to_bits()), (gb, vb.to_bits()), "frame {t}");
        }
    }

    /// A network's band gains and speech probability over 50 frames of made-up features.
    fn fifty_frames(w: &ModelWeights) -> Vec<(Vec<f32>, f32)> {
        let mut state = crate::model::net::NetState::new(w);
        let mut gains = vec![0.0; w.n_bands];
        (0..50)
            .map(|t| {
                let f: Vec<f32> = (0..w.n_features)
                    .map(|i| -7.0 + ((t * 31 + i * 7) as f32 * 0.13).sin())
                    .collect();
                let vad = state.step(w, &f, &mut gains);
                (gains.clone(), vad)
            })
            .collect()
    }

    /// The fixture with its recurrent matrices stored as int8 plus a scale per row (as
    /// `to_f16.py --int8-recurrent` writes them), and the same values widened to F32.
    fn int8_and_widened() -> (Vec<u8>, Vec<u8>) {
        let narrow = |t: &mut Tensors, to_int8: bool| {
            let mut scales = Vec::new();
            for (name, shape, dtype, bytes) in t.iter_mut() {
                if shape.len() != 2 || dtype != "F32" || !name.contains("weight_hh") {
                    continue;
                }
                let w: Vec<f32> = bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                let mut q = Vec::new();
                let mut scale = Vec::new();
                for row in w.chunks_exact(shape[1]) {
                    let s = row.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-8) / 127.0;
                    scale.push(s);
                    q.extend(row.iter().map(|v| (v / s).round() as i8));
                }
                let wide = crate::model::linalg::widen_i8(&q, &scale);
                if to_int8 {
                    *dtype = "I8".into();
                    *bytes = q.iter().map(|&v| v as u8).collect();
                    scales.push((
                        format!("{name}.scale"),
                        vec![shape[0]],
                        "F32".to_string(),
                        scale.iter().flat_map(|v| v.to_le_bytes()).collect(),
                    ));
                } else {
                    *bytes = wide.iter().flat_map(|v| v.to_le_bytes()).collect();
                }
            }
            t.extend(scales);
        };
        (
            rebuild(|t, _| narrow(t, true)),
            rebuild(|t, _| narrow(t, false)),
        )
    }

    #[test]
    fn int8_matrices_stay_int8_where_the_cpu_multiplies_them_and_compute_alike() {
        let (int8_file, wide_file) = int8_and_widened();
        let int8 = ModelWeights::from_bytes(&int8_file).unwrap();
        let wide = ModelWeights::from_bytes(&wide_file).unwrap();
        assert_eq!(matches!(int8.rnn[0].w_hh, Matrix::I8 { .. }), keeps_half());
        assert!(matches!(wide.rnn[0].w_hh, Matrix::F32(_)));
        assert_eq!(int8.rnn[1].w_hh.to_f32(), wide.rnn[1].w_hh.to_f32());
        assert_eq!(int8.parameter_count(), wide.parameter_count());
        for (t, ((ga, va), (gb, vb))) in fifty_frames(&int8)
            .into_iter()
            .zip(fifty_frames(&wide))
            .enumerate()
        {
            // Each row's sum is scaled at its end, so equal up to f32 rounding (linalg.rs).
            assert!((va - vb).abs() < 1e-5, "frame {t}: {va} vs {vb}");
            for (x, y) in ga.iter().zip(&gb) {
                assert!((x - y).abs() < 1e-5, "frame {t}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn an_int8_matrix_without_its_scales_or_with_bad_ones_is_refused() {
        let (int8_file, _) = int8_and_widened();
        let mut missing = None;
        let e = err(&rebuild_from(&int8_file, |t, _| {
            let i = t.iter().position(|(k, ..)| k.ends_with(".scale")).unwrap();
            missing = Some(t.remove(i).0);
        }));
        assert!(e.to_string().contains(&missing.unwrap()), "{e}");
        // Too few scales for the rows.
        let e = err(&rebuild_from(&int8_file, |t, _| {
            let s = t.iter_mut().find(|(k, ..)| k.ends_with(".scale")).unwrap();
            s.1[0] -= 1;
            s.3.truncate(s.3.len() - 4);
        }));
        assert!(e.to_string().contains(".scale"), "{e}");
        // A non-finite scale.
        let e = err(&rebuild_from(&int8_file, |t, _| {
            let s = t.iter_mut().find(|(k, ..)| k.ends_with(".scale")).unwrap();
            s.3[..4].copy_from_slice(&f32::NAN.to_le_bytes());
        }));
        assert!(e.to_string().contains(".scale"), "{e}");
        // int8 where a vector belongs.
        let e = err(&rebuild_from(&int8_file, |t, _| {
            let b = t.iter_mut().find(|(k, ..)| k == "vad.bias").unwrap();
            b.2 = "I8".into();
            b.3.truncate(b.1[0]);
        }));
        assert!(e.to_string().contains("vad.bias"), "{e}");
    }

    #[test]
    fn a_member_loads_beside_the_network_and_counts_in_its_cost() {
        let alone = ModelWeights::from_bytes(LSTM).unwrap();
        assert!(alone.member.is_none());
        let w = ModelWeights::from_bytes(&with_member(|_, _| {})).unwrap();
        let m = w.member.as_ref().expect("member");
        assert_eq!(m.rnn[1].w_hh, alone.rnn[1].w_hh);
        assert_eq!(w.parameter_count(), 2 * alone.parameter_count());
        assert_eq!(w.macs_per_frame(), 2 * alone.macs_per_frame());
    }

    #[test]
    fn a_broken_member_is_refused_and_named() {
        // A member tensor missing.
        let e = err(&with_member(|t, _| {
            t.retain(|(k, ..)| k != "member.vad.bias")
        }));
        let msg = e.to_string();
        assert!(
            msg.contains("member network") && msg.contains("vad.bias"),
            "{msg}"
        );
        // Member metadata that contradicts its tensors.
        let e = err(&with_member(|_, m| {
            m.insert("member.dense".into(), "13".into());
        }));
        assert!(e.to_string().contains("member network"), "{e}");
        // A member of a member that is not a network.
        let e = err(&with_member(|_, m| {
            m.insert("member.member.name".into(), "x".into());
        }));
        let msg = e.to_string();
        assert!(msg.matches("member network").count() == 2, "{msg}");
        // A named bundled model that has a member of its own (`hq`).
        let e = err(&rebuild(|_, m| {
            m.insert(MEMBER_KEY.into(), "hq".into());
        }));
        assert!(e.to_string().contains("member of its own"), "{e}");
    }

    /// The fixture carrying `n - 1` copies of itself, each the member of the one before.
    fn chain(n: usize) -> Vec<u8> {
        rebuild(|t, m| {
            let (t0, m0) = (t.clone(), m.clone());
            for level in 1..n {
                let p = MEMBER_PREFIX.repeat(level);
                t.extend(
                    t0.iter()
                        .map(|(k, s, d, b)| (format!("{p}{k}"), s.clone(), d.clone(), b.clone())),
                );
                m.extend(m0.iter().map(|(k, v)| (format!("{p}{k}"), v.clone())));
            }
        })
    }

    #[test]
    fn members_chain_up_to_the_limit_and_no_further() {
        let alone = ModelWeights::from_bytes(LSTM).unwrap();
        for n in 1..=MAX_NETWORKS {
            let w = ModelWeights::from_bytes(&chain(n)).unwrap();
            assert_eq!(w.network_count(), n);
            assert_eq!(w.parameter_count(), n * alone.parameter_count());
            assert_eq!(w.macs_per_frame(), n * alone.macs_per_frame());
        }
        let e = err(&chain(MAX_NETWORKS + 1));
        assert!(e.to_string().contains("more than"), "{e}");
        // The last carried member may name a bundled one instead, within the limit.
        let w = ModelWeights::from_bytes(&rebuild(|t, m| {
            let (t0, m0) = (t.clone(), m.clone());
            t.extend(t0.iter().map(|(k, s, d, b)| {
                (
                    format!("{MEMBER_PREFIX}{k}"),
                    s.clone(),
                    d.clone(),
                    b.clone(),
                )
            }));
            m.extend(
                m0.iter()
                    .map(|(k, v)| (format!("{MEMBER_PREFIX}{k}"), v.clone())),
            );
            m.insert(format!("{MEMBER_PREFIX}{MEMBER_KEY}"), "standard".into());
        }))
        .unwrap();
        assert_eq!(w.network_count(), 3);
    }

    #[test]
    fn a_bundled_member_is_found_by_name_and_a_wrong_name_is_refused() {
        let w = ModelWeights::from_bytes(&rebuild(|_, m| {
            m.insert(MEMBER_KEY.into(), "standard".into());
        }))
        .unwrap();
        let standard = crate::model::bundled::load("standard").unwrap();
        assert_eq!(w.member.as_ref().unwrap().gain_w, standard.gain_w);
        let e = err(&rebuild(|_, m| {
            m.insert(MEMBER_KEY.into(), "nonesuch".into());
        }));
        assert!(
            e.to_string().contains("'nonesuch' is not a bundled model"),
            "{e}"
        );
        let e = err(&with_member(|_, m| {
            m.insert(MEMBER_KEY.into(), "standard".into());
        }));
        assert!(e.to_string().contains("one member per network"), "{e}");
    }

    #[test]
    fn a_member_whose_features_do_not_fit_makes_the_file_unusable() {
        let good = crate::model::bundled::load("standard").unwrap();
        assert!(features_match(&good));
        let mut odd = good.clone();
        odd.feature_version = if good.feature_version == 1 { 2 } else { 1 };
        let mut w = good.clone();
        w.member = Some(std::sync::Arc::new(good.clone()));
        assert!(features_match(&w));
        w.member = Some(std::sync::Arc::new(odd));
        assert!(!features_match(&w));
    }

    #[test]
    fn lstm_fixture_loads_with_four_gate_blocks() {
        let w = ModelWeights::from_bytes(LSTM).unwrap();
        assert_eq!(w.cell, Cell::Lstm);
        let (d, h, l) = (w.dense, w.rnn[0].hidden, w.rnn.len());
        assert_eq!((d, h, l), (12, 20, 2));
        assert_eq!(w.rnn[0].w_ih.len(), 4 * h * d);
        assert_eq!(w.rnn[1].w_hh.len(), 4 * h * h);
        let rnn = 4 * h * (d + h + 2) + 4 * h * (h + h + 2);
        let rest = (w.n_features + 1) * d + (h + 1) * w.n_bands + h + 1;
        assert_eq!(w.parameter_count(), rnn + rest);
        ModelWeights::from_bytes(&rebuild(|_, _| {})).unwrap();
    }

    /// The fixture with a reverb head copied from `gain.*` (`which` picks the tensors added).
    fn with_reverb_head(which: &[&str]) -> Vec<u8> {
        rebuild(|t, _| {
            let copies: Vec<_> = t
                .iter()
                .filter(|e| {
                    which.contains(&e.0.trim_start_matches("gain.")) && e.0.starts_with("gain.")
                })
                .map(|e| {
                    (
                        format!("reverb_{}", e.0),
                        e.1.clone(),
                        e.2.clone(),
                        e.3.clone(),
                    )
                })
                .collect();
            t.extend(copies);
        })
    }

    #[test]
    fn reverb_head_is_optional_but_never_half_there() {
        assert!(!ModelWeights::from_bytes(LSTM).unwrap().has_reverb_head());
        let w = ModelWeights::from_bytes(&with_reverb_head(&["weight", "bias"])).unwrap();
        assert!(w.has_reverb_head());
        let head = w.reverb.as_ref().unwrap();
        assert_eq!((&head.w, &head.b), (&w.gain_w, &w.gain_b));
        let plain = ModelWeights::from_bytes(LSTM).unwrap();
        let h = w.rnn.last().unwrap().hidden;
        assert_eq!(
            w.parameter_count(),
            plain.parameter_count() + (h + 1) * w.n_bands
        );
        assert_eq!(
            err(&with_reverb_head(&["weight"])),
            ModelError::MissingTensor("reverb_gain.bias".into())
        );
        assert_eq!(
            err(&with_reverb_head(&["bias"])),
            ModelError::MissingTensor("reverb_gain.weight".into())
        );
        // A head for another band count is a shape error naming the tensor.
        let b = rebuild(|t, _| {
            let g = t.iter().find(|e| e.0 == "gain.bias").unwrap().clone();
            let mut d = g.3.clone();
            d.extend_from_slice(&g.3[..4]);
            t.push(("reverb_gain.bias".into(), vec![g.1[0] + 1], g.2.clone(), d));
            let w = t.iter().find(|e| e.0 == "gain.weight").unwrap().clone();
            t.push(("reverb_gain.weight".into(), w.1, w.2, w.3));
        });
        assert!(matches!(
            err(&b),
            ModelError::WrongShape { tensor, .. } if tensor == "reverb_gain.bias"
        ));
    }

    /// The fixture with tensors of the given shapes added (zeros) and metadata keys set.
    fn with_extra(parts: &[(&str, Vec<usize>)], meta: &[(&str, &str)]) -> Vec<u8> {
        rebuild(|t, m| {
            for (name, shape) in parts {
                let n: usize = shape.iter().product();
                t.push((
                    name.to_string(),
                    shape.clone(),
                    "F32".into(),
                    vec![0u8; 4 * n],
                ));
            }
            for (k, v) in meta {
                m.insert(k.to_string(), v.to_string());
            }
        })
    }

    /// The fixture with refinement-head tensors of the given shapes added (zeros).
    fn with_refine(parts: &[(&str, Vec<usize>)]) -> Vec<u8> {
        with_extra(parts, &[])
    }

    /// A front end must come whole, with an odd width and a dense layer sized for it.
    #[test]
    fn conv_front_end_is_checked_and_never_half_there() {
        let plain = ModelWeights::from_bytes(LSTM).unwrap();
        assert!(plain.conv.is_none());
        // Kernels the dense layer of the fixture cannot take: its 27 input columns are not 5 F.
        let b = with_extra(
            &[("conv.weight", vec![4, 1, 3, 3]), ("conv.bias", vec![4])],
            &[],
        );
        assert!(
            matches!(err(&b), ModelError::WrongShape { tensor, .. } if tensor == "input.weight")
        );
        assert_eq!(
            err(&with_extra(&[("conv.weight", vec![2, 1, 3, 3])], &[])),
            ModelError::MissingTensor("conv.bias".into())
        );
        assert_eq!(
            err(&with_extra(&[("conv.bias", vec![2])], &[])),
            ModelError::MissingTensor("conv.weight".into())
        );
        for bad in [
            vec![2, 1, 3, 4],
            vec![2, 2, 3, 3],
            vec![2, 1, 0, 3],
            vec![2, 1, 3],
        ] {
            let b = with_extra(&[("conv.weight", bad.clone()), ("conv.bias", vec![2])], &[]);
            assert!(
                matches!(err(&b), ModelError::WrongShape { ref tensor, .. } if tensor == "conv.weight"),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn refine_head_is_optional_checked_and_never_half_there() {
        let plain = ModelWeights::from_bytes(LSTM).unwrap();
        assert!(plain.refine.is_none());
        let input = plain.rnn.last().unwrap().hidden + plain.n_features;
        let w = ModelWeights::from_bytes(&with_refine(&[
            ("refine.weight", vec![7, input]),
            ("refine.bias", vec![7]),
        ]))
        .unwrap();
        let head = w.refine.as_ref().unwrap();
        assert_eq!((head.bins, head.hidden_size()), (7, 0));
        assert_eq!(
            w.parameter_count(),
            plain.parameter_count() + 7 * (input + 1)
        );
        let w = ModelWeights::from_bytes(&with_refine(&[
            ("refine_hidden.weight", vec![5, input]),
            ("refine_hidden.bias", vec![5]),
            ("refine.weight", vec![7, 5]),
            ("refine.bias", vec![7]),
        ]))
        .unwrap();
        assert_eq!(w.refine.as_ref().unwrap().hidden_size(), 5);
        assert_eq!(
            err(&with_refine(&[("refine.weight", vec![7, input])])),
            ModelError::MissingTensor("refine.bias".into())
        );
        assert_eq!(
            err(&with_refine(&[
                ("refine_hidden.weight", vec![5, input]),
                ("refine_hidden.bias", vec![5]),
            ])),
            ModelError::MissingTensor("refine.weight".into())
        );
        // A head that reads another input size is a shape error naming the tensor.
        assert!(matches!(
            err(&with_refine(&[
                ("refine.weight", vec![7, input + 1]),
                ("refine.bias", vec![7]),
            ])),
            ModelError::WrongShape { tensor, .. } if tensor == "refine.weight"
        ));
    }

    /// The fixture with deep-filter tensors of the given shapes (zeros) and `deep_filter_order`.
    fn with_filter(parts: &[(&str, Vec<usize>)], order: Option<&str>) -> Vec<u8> {
        let meta: Vec<(&str, &str)> = order
            .map(|o| ("deep_filter_order", o))
            .into_iter()
            .collect();
        with_extra(parts, &meta)
    }

    #[test]
    fn deep_filter_is_optional_checked_and_sized_by_its_order() {
        let plain = ModelWeights::from_bytes(LSTM).unwrap();
        assert!(plain.deep_filter.is_none());
        let input = plain.rnn.last().unwrap().hidden + plain.n_features;
        let head = |rows: usize| {
            vec![
                ("deep_filter.weight", vec![rows, input]),
                ("deep_filter.bias", vec![rows]),
            ]
        };
        let w = ModelWeights::from_bytes(&with_filter(&head(2 * 3 * 10), Some("3"))).unwrap();
        let d = w.deep_filter.as_ref().unwrap();
        assert_eq!((d.bins, d.order, d.net.hidden_size()), (10, 3, 0));
        assert_eq!(
            w.parameter_count(),
            plain.parameter_count() + 60 * (input + 1)
        );
        assert_eq!(
            w.macs_per_frame(),
            plain.macs_per_frame() + 60 * input + 4 * 3 * 10
        );
        // The order is required, must divide the rows, and is bounded; bins too.
        let bad_order = |rows: usize, order: Option<&str>| {
            matches!(
                err(&with_filter(&head(rows), order)),
                ModelError::BadMetadata {
                    key: "deep_filter_order",
                    ..
                }
            )
        };
        assert!(matches!(
            err(&with_filter(&head(60), None)),
            ModelError::MissingMetadata("deep_filter_order")
        ));
        assert!(bad_order(60, Some("7")));
        assert!(bad_order(60, Some("0")));
        assert!(bad_order(2 * 9 * 2, Some("9")));
        assert!(bad_order(2 * 2 * (MAX_DEEP_FILTER_BINS + 1), Some("2")));
        assert!(bad_order(60, Some("three")));
        // An order without tensors, and half a head, are broken files.
        assert!(matches!(
            err(&with_filter(&[], Some("3"))),
            ModelError::BadMetadata {
                key: "deep_filter_order",
                ..
            }
        ));
        assert_eq!(
            err(&with_filter(
                &[("deep_filter.weight", vec![60, input])],
                Some("3")
            )),
            ModelError::MissingTensor("deep_filter.bias".into())
        );
    }

    #[test]
    fn unknown_cell_is_named() {
        let b = rebuild(|_, m| {
            m.insert("cell".into(), "transformer".into());
        });
        assert!(matches!(
            err(&b),
            ModelError::BadMetadata { key: "cell", .. }
        ));
    }

    #[test]
    fn lstm_tensors_without_the_cell_key_are_a_missing_gru_tensor() {
        let b = rebuild(|_, m| {
            m.remove("cell");
        });
        assert_eq!(err(&b), ModelError::MissingTensor("gru.0.weight_hh".into()));
    }

    #[test]
    fn lstm_sizes_come_from_lstm_metadata_keys() {
        let b = rebuild(|_, m| {
            m.remove("lstm_hidden");
        });
        assert_eq!(err(&b), ModelError::MissingMetadata("lstm_hidden"));
        let b = rebuild(|_, m| {
            m.insert("lstm_layers".into(), "3".into());
        });
        assert!(matches!(
            err(&b),
            ModelError::BadMetadata {
                key: "lstm_layers",
                ..
            }
        ));
    }

    #[test]
    fn lstm_with_gru_sized_gates_is_a_wrong_shape() {
        let b = rebuild(|t, _| {
            let w = t.iter_mut().find(|x| x.0 == "lstm.0.weight_hh").unwrap();
            let h = w.1[1];
            w.1 = vec![3 * h, h];
            w.3.truncate(3 * h * h * 4);
        });
        assert!(matches!(
            err(&b),
            ModelError::WrongShape { ref tensor, .. } if tensor == "lstm.0.weight_hh"
        ));
    }

    #[test]
    fn a_models_own_release_limit_and_comb_share_are_optional_and_checked() {
        assert_eq!(
            ModelWeights::from_bytes(LSTM).unwrap().gain_decay_per_hop,
            None
        );
        let b = rebuild(|_, m| {
            m.insert("gain_decay_per_hop".into(), "0.45".into());
        });
        assert_eq!(
            ModelWeights::from_bytes(&b).unwrap().gain_decay_per_hop,
            Some(0.45)
        );
        let b = rebuild(|_, m| {
            m.insert("pitch_comb".into(), "0".into());
        });
        assert_eq!(ModelWeights::from_bytes(&b).unwrap().pitch_comb, Some(0.0));
        assert_eq!(ModelWeights::from_bytes(LSTM).unwrap().pitch_comb, None);
        for bad in ["1.5", "-0.2", "NaN", "comb"] {
            let b = rebuild(|_, m| {
                m.insert("pitch_comb".into(), bad.into());
            });
            assert!(
                matches!(
                    err(&b),
                    ModelError::BadMetadata {
                        key: "pitch_comb",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        for bad in ["1", "1.5", "-0.2", "NaN", "fast"] {
            let b = rebuild(|_, m| {
                m.insert("gain_decay_per_hop".into(), bad.into());
            });
            assert!(
                matches!(
                    err(&b),
                    ModelError::BadMetadata {
                        key: "gain_decay_per_hop",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }
}
