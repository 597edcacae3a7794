//! Loading and validating `.safetensors` model files (layout in `training/FORMATS.md`).
//! Every size comes from the tensors; metadata is cross-checked against them.

use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::Path;

use super::error::ModelError;
use crate::dsp::features::{FEATURE_VERSION, n_features};

/// True when the model's input size matches what this build's feature definition produces for its
/// band layout (the engine refuses models that fail this; the network itself runs either way).
pub fn features_match(w: &ModelWeights) -> bool {
    w.n_features == n_features(w.n_bands)
}

pub const ARCHITECTURE: &str = "quell-gru-bands";
pub const ARCH_VERSION: u32 = 1;
/// Refuse files whose header claims more than this: nothing legitimate comes close.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct GruLayer {
    pub input_size: usize,
    pub hidden: usize,
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub b_ih: Vec<f32>,
    pub b_hh: Vec<f32>,
}

#[derive(Debug, Clone)]
pub struct ModelWeights {
    pub name: String,
    pub description: String,
    pub band_edges_hz: Vec<f32>,
    pub n_features: usize,
    pub n_bands: usize,
    pub dense: usize,
    pub feature_mean: Vec<f32>,
    pub feature_inv_std: Vec<f32>,
    pub input_w: Vec<f32>,
    pub input_b: Vec<f32>,
    pub gru: Vec<GruLayer>,
    pub gain_w: Vec<f32>,
    pub gain_b: Vec<f32>,
    pub vad_w: Vec<f32>,
    pub vad_b: Vec<f32>,
}

struct Reader<'a> {
    st: SafeTensors<'a>,
}

impl Reader<'_> {
    fn tensor(&self, name: &str) -> Result<(Vec<usize>, Vec<f32>), ModelError> {
        let t = self
            .st
            .tensor(name)
            .map_err(|_| ModelError::MissingTensor(name.to_string()))?;
        if t.dtype() != Dtype::F32 {
            return Err(ModelError::WrongDtype {
                tensor: name.into(),
                dtype: format!("{:?}", t.dtype()),
            });
        }
        let data: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if data.iter().any(|x| !x.is_finite()) {
            return Err(ModelError::NonFinite(name.into()));
        }
        Ok((t.shape().to_vec(), data))
    }

    fn shaped(&self, name: &str, expected: &[usize]) -> Result<Vec<f32>, ModelError> {
        let (shape, data) = self.tensor(name)?;
        if shape != expected {
            return Err(ModelError::WrongShape {
                tensor: name.into(),
                expected: expected.to_vec(),
                found: shape,
            });
        }
        Ok(data)
    }
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
                expected: n_features(w.n_bands),
                found: w.n_features,
            });
        }
        Ok(w)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let (_, header) =
            SafeTensors::read_metadata(bytes).map_err(|e| ModelError::Format(e.to_string()))?;
        let m = header.metadata().clone().unwrap_or_default();
        let st = SafeTensors::deserialize(bytes).map_err(|e| ModelError::Format(e.to_string()))?;
        let r = Reader { st };

        let arch = meta(&m, "architecture")?;
        let version = meta_usize(&m, "version")?;
        if arch != ARCHITECTURE || version != ARCH_VERSION as usize {
            return Err(ModelError::UnsupportedArchitecture(format!(
                "{arch} v{version}"
            )));
        }
        let fv = meta_usize(&m, "feature_version")?;
        if fv != FEATURE_VERSION as usize {
            return Err(ModelError::BadMetadata {
                key: "feature_version",
                value: fv.to_string(),
                why: format!("this build computes feature version {FEATURE_VERSION}"),
            });
        }
        let band_edges_hz = parse_edges(meta(&m, "band_edges_hz")?)?;
        let n_bands = band_edges_hz.len() - 1;

        // Sizes from the tensors.
        let (in_shape, input_w) = r.tensor("input.weight")?;
        if in_shape.len() != 2 {
            return Err(ModelError::WrongShape {
                tensor: "input.weight".into(),
                expected: vec![0, 0],
                found: in_shape,
            });
        }
        let (dense, nf) = (in_shape[0], in_shape[1]);
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

        let mut gru = Vec::new();
        let mut in_size = dense;
        loop {
            let name = format!("gru.{}.weight_hh", gru.len());
            let (shape, w_hh) = match r.tensor(&name) {
                Ok(t) => t,
                Err(ModelError::MissingTensor(_)) if !gru.is_empty() => break,
                Err(e) => return Err(e),
            };
            if shape.len() != 2 || shape[0] != 3 * shape[1] || shape[1] == 0 {
                return Err(ModelError::WrongShape {
                    tensor: name,
                    expected: vec![
                        3 * shape.get(1).copied().unwrap_or(0),
                        shape.get(1).copied().unwrap_or(0),
                    ],
                    found: shape,
                });
            }
            let h = shape[1];
            let l = gru.len();
            let w_ih = r.shaped(&format!("gru.{l}.weight_ih"), &[3 * h, in_size])?;
            let b_ih = r.shaped(&format!("gru.{l}.bias_ih"), &[3 * h])?;
            let b_hh = r.shaped(&format!("gru.{l}.bias_hh"), &[3 * h])?;
            gru.push(GruLayer {
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
        let gain_w = r.shaped("gain.weight", &[n_bands, last])?;
        let gain_b = r.shaped("gain.bias", &[n_bands])?;
        let vad_w = r.shaped("vad.weight", &[1, last])?;
        let vad_b = r.shaped("vad.bias", &[1])?;

        // Metadata must agree with the tensors.
        for (key, found) in [
            ("n_features", nf),
            ("n_bands", n_bands),
            ("dense", dense),
            ("gru_hidden", last),
            ("gru_layers", gru.len()),
        ] {
            let claimed = meta_usize(&m, key)?;
            if claimed != found {
                return Err(ModelError::BadMetadata {
                    key,
                    value: claimed.to_string(),
                    why: format!("tensors say {found}"),
                });
            }
        }
        let rate = meta_usize(&m, "sample_rate")?;
        let hop = meta_usize(&m, "hop")?;
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

        Ok(Self {
            name: m.get("name").cloned().unwrap_or_else(|| "unnamed".into()),
            description: m.get("description").cloned().unwrap_or_default(),
            band_edges_hz,
            n_features: nf,
            n_bands,
            dense,
            feature_mean,
            feature_inv_std: feature_std.iter().map(|s| 1.0 / s).collect(),
            input_w,
            input_b,
            gru,
            gain_w,
            gain_b,
            vad_w,
            vad_b,
        })
    }

    pub fn hidden_sizes(&self) -> impl Iterator<Item = usize> + '_ {
        self.gru.iter().map(|l| l.hidden)
    }

    pub fn parameter_count(&self) -> usize {
        let g: usize = self
            .gru
            .iter()
            .map(|l| l.w_ih.len() + l.w_hh.len() + l.b_ih.len() + l.b_hh.len())
            .sum();
        self.input_w.len()
            + self.input_b.len()
            + g
            + self.gain_w.len()
            + self.gain_b.len()
            + self.vad_w.len()
            + self.vad_b.len()
    }

    /// Multiply-accumulates per frame (one hop).
    pub fn macs_per_frame(&self) -> usize {
        self.input_w.len()
            + self
                .gru
                .iter()
                .map(|l| l.w_ih.len() + l.w_hh.len())
                .sum::<usize>()
            + self.gain_w.len()
            + self.vad_w.len()
    }
}
