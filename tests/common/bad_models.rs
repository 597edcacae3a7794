//! Malformed `.safetensors` model files, built deterministically from the bundled default model.
//! Each case says which `ModelError` it must give and words its message must contain.

use quell::model::{ModelError, bundled};
use std::collections::BTreeMap;

/// One tensor of a safetensors file: name, shape, dtype string, raw little-endian bytes.
#[derive(Clone, Debug)]
pub struct Tensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub dtype: String,
    pub data: Vec<u8>,
}

impl Tensor {
    /// The values, widened to f32 (the shipped models store their weight matrices as F16).
    pub fn f32s(&self) -> Vec<f32> {
        match self.dtype.as_str() {
            "F16" => self
                .data
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            _ => self
                .data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
        }
    }

    /// New values and shape, stored in the tensor's own dtype.
    pub fn set_f32s(&mut self, shape: Vec<usize>, values: &[f32]) {
        self.shape = shape;
        self.data = match self.dtype.as_str() {
            "F16" => values
                .iter()
                .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                .collect(),
            _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        };
    }
}

/// A safetensors file taken apart: edit it, then `bytes()` it back together.
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub tensors: Vec<Tensor>,
    /// `None`: no `__metadata__` entry at all.
    pub meta: Option<BTreeMap<String, String>>,
}

impl ModelFile {
    pub fn parse(bytes: &[u8]) -> Self {
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        let data = &bytes[8 + n..];
        let meta = header
            .get("__metadata__")
            .map(|m| serde_json::from_value(m.clone()).unwrap());
        let mut tensors = Vec::new();
        for (k, v) in header.as_object().unwrap() {
            if k == "__metadata__" {
                continue;
            }
            let off: Vec<usize> = serde_json::from_value(v["data_offsets"].clone()).unwrap();
            tensors.push(Tensor {
                name: k.clone(),
                shape: serde_json::from_value(v["shape"].clone()).unwrap(),
                dtype: v["dtype"].as_str().unwrap().to_string(),
                data: data[off[0]..off[1]].to_vec(),
            });
        }
        Self { tensors, meta }
    }

    /// The bundled default model, taken apart.
    pub fn default_model() -> Self {
        Self::parse(bundled::default_model().bytes)
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut h = serde_json::Map::new();
        if let Some(m) = &self.meta {
            h.insert("__metadata__".into(), serde_json::to_value(m).unwrap());
        }
        let mut blob = Vec::new();
        for t in &self.tensors {
            h.insert(
                t.name.clone(),
                serde_json::json!({"dtype": t.dtype, "shape": t.shape,
                    "data_offsets": [blob.len(), blob.len() + t.data.len()]}),
            );
            blob.extend_from_slice(&t.data);
        }
        let hs = serde_json::to_vec(&h).unwrap();
        let mut out = (hs.len() as u64).to_le_bytes().to_vec();
        out.extend(hs);
        out.extend(blob);
        out
    }

    pub fn tensor(&mut self, name: &str) -> &mut Tensor {
        self.tensors
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no tensor {name}"))
    }

    pub fn has(&self, name: &str) -> bool {
        self.tensors.iter().any(|t| t.name == name)
    }

    pub fn meta(&mut self) -> &mut BTreeMap<String, String> {
        self.meta.get_or_insert_with(BTreeMap::new)
    }
}

/// The default model with `edit` applied, as bytes.
pub fn edited(edit: impl FnOnce(&mut ModelFile)) -> Vec<u8> {
    let mut m = ModelFile::default_model();
    edit(&mut m);
    m.bytes()
}

/// Every metadata key the loader requires of a GRU model.
pub const REQUIRED_METADATA: &[&str] = &[
    "architecture",
    "version",
    "feature_version",
    "band_edges_hz",
    "n_features",
    "n_bands",
    "dense",
    "gru_hidden",
    "gru_layers",
    "sample_rate",
    "hop",
];

pub struct BadModel {
    pub name: String,
    pub bytes: Vec<u8>,
    /// The error variant it must give.
    pub expect: Box<dyn Fn(&ModelError) -> bool>,
    /// Words the message must contain (besides the generic prefix), lower-case.
    pub mentions: Vec<String>,
}

fn case(
    name: impl Into<String>,
    bytes: Vec<u8>,
    expect: impl Fn(&ModelError) -> bool + 'static,
    mentions: &[&str],
) -> BadModel {
    let mut mentions: Vec<String> = mentions.iter().map(|s| s.to_lowercase()).collect();
    let expect: Box<dyn Fn(&ModelError) -> bool> = Box::new(expect);
    if expect(&ModelError::Format(String::new())) {
        mentions.push(FORMAT.into());
    }
    BadModel {
        name: name.into(),
        bytes,
        expect,
        mentions,
    }
}

fn is_format(e: &ModelError) -> bool {
    matches!(e, ModelError::Format(_))
}

/// Every `Format` message says this (the detail after it comes from the safetensors crate).
const FORMAT: &str = "not a valid safetensors model";

/// A header of `n` bytes claimed, followed by `rest`.
fn with_header_len(n: u64, rest: &[u8]) -> Vec<u8> {
    let mut b = n.to_le_bytes().to_vec();
    b.extend_from_slice(rest);
    b
}

/// The malformed-model corpus. Every file is refused by `ModelWeights::from_bytes` /
/// `load_user_file` with the named error.
pub fn corpus() -> Vec<BadModel> {
    let good = bundled::default_model().bytes.to_vec();
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let mut v = vec![case("empty", vec![], is_format, &["header too small"])];

    // Truncated at several points: inside the length prefix, inside the JSON header, right after
    // it, in the middle of the tensor data, one byte short.
    for (what, cut) in [
        ("in the length prefix", 4),
        ("just after the length prefix", 8),
        ("inside the header", 8 + header_len / 2),
        ("after the header", 8 + header_len),
        ("in the first tensor", 8 + header_len + 10),
        ("half way", good.len() / 2),
        ("one byte short", good.len() - 1),
    ] {
        v.push(case(
            format!("truncated {what} ({cut} of {} bytes)", good.len()),
            good[..cut].to_vec(),
            is_format,
            &[],
        ));
    }

    // Header length and header content.
    v.push(case(
        "header length u64::MAX/2",
        with_header_len(u64::MAX / 2, &good[8..]),
        is_format,
        &["header"],
    ));
    v.push(case(
        "header length 200 MB",
        with_header_len(200 << 20, &good[8..]),
        is_format,
        &["header too large"],
    ));
    v.push(case(
        "header length past the end of the file",
        with_header_len(good.len() as u64, &good[8..]),
        is_format,
        &["header length"],
    ));
    v.push(case(
        "header not JSON",
        with_header_len(10, b"{not json}"),
        is_format,
        &["json"],
    ));
    v.push(case(
        "header JSON but an array",
        with_header_len(7, b"[1,2,3]"),
        is_format,
        &["header"],
    ));
    v.push(case(
        "header not UTF-8",
        with_header_len(4, b"{\xff\xfe}"),
        is_format,
        &["utf-8"],
    ));
    v.push(case(
        "a WAV file instead",
        b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00".to_vec(),
        is_format,
        &[],
    ));
    let h = br#"{"t":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}"#;
    v.push(case(
        "tensor offsets past the data",
        with_header_len(h.len() as u64, &[&h[..], &[0u8; 4]].concat()),
        is_format,
        &[],
    ));
    v.push(case(
        "shape and byte count disagree",
        edited(|m| {
            m.tensor("gain.bias").shape = vec![33];
        }),
        is_format,
        &[],
    ));

    // Dtypes: BF16 (half the bytes), I32 (same bytes), F64 (twice). F16 is accepted (half-size
    // weight matrices): the shipped `hq` model is one, checked by tests/parity.rs.
    for dtype in ["BF16", "I32", "F64"] {
        v.push(case(
            format!("dtype {dtype}"),
            edited(|m| {
                let t = m.tensor("gain.bias");
                t.dtype = dtype.into();
                let n = t.data.len();
                match dtype {
                    "BF16" => t.data.truncate(n / 2),
                    "F64" => t.data.extend(vec![0u8; n]),
                    _ => {}
                }
            }),
            |e| matches!(e, ModelError::WrongDtype { .. }),
            &["gain.bias", dtype, "f32"],
        ));
    }

    // Shapes.
    v.push(case(
        "gain.bias one short",
        edited(|m| {
            let t = m.tensor("gain.bias");
            let n = t.shape[0];
            t.set_f32s(vec![n - 1], &vec![0.0; n - 1]);
        }),
        |e| matches!(e, ModelError::WrongShape { .. }),
        &["gain.bias", "shape"],
    ));
    v.push(case(
        "input.weight three-dimensional",
        edited(|m| {
            let t = m.tensor("input.weight");
            let (a, b) = (t.shape[0], t.shape[1]);
            t.shape = vec![a, b, 1];
        }),
        |e| matches!(e, ModelError::WrongShape { .. }),
        &["input.weight", "shape"],
    ));
    v.push(case(
        "gru.0.weight_hh not 3H x H",
        edited(|m| {
            let t = m.tensor("gru.0.weight_hh");
            let (a, b) = (t.shape[0], t.shape[1]);
            t.shape = vec![b, a];
        }),
        |e| matches!(e, ModelError::WrongShape { .. }),
        &["gru.0.weight_hh", "shape"],
    ));
    v.push(case(
        "vad.weight transposed",
        edited(|m| {
            let t = m.tensor("vad.weight");
            t.shape.reverse();
        }),
        |e| matches!(e, ModelError::WrongShape { .. }),
        &["vad.weight", "shape"],
    ));
    v.push(case(
        "missing tensor vad.weight",
        edited(|m| m.tensors.retain(|t| t.name != "vad.weight")),
        |e| matches!(e, ModelError::MissingTensor(t) if t == "vad.weight"),
        &["vad.weight", "missing"],
    ));
    v.push(case(
        "no tensors at all",
        edited(|m| m.tensors.clear()),
        |e| matches!(e, ModelError::MissingTensor(_)),
        &["missing", "tensor"],
    ));

    // Metadata.
    v.push(case(
        "no __metadata__ at all",
        edited(|m| m.meta = None),
        |e| *e == ModelError::MissingMetadata("architecture"),
        &["metadata", "architecture"],
    ));
    for &key in REQUIRED_METADATA {
        v.push(case(
            format!("metadata without '{key}'"),
            edited(|m| {
                m.meta().remove(key);
            }),
            move |e| *e == ModelError::MissingMetadata(key),
            &["missing", key],
        ));
    }
    v.push(case(
        "architecture some-lstm",
        edited(|m| {
            m.meta().insert("architecture".into(), "some-lstm".into());
        }),
        |e| matches!(e, ModelError::UnsupportedArchitecture(_)),
        &["unsupported", "some-lstm"],
    ));
    v.push(case(
        "architecture version 2",
        edited(|m| {
            m.meta().insert("version".into(), "2".into());
        }),
        |e| matches!(e, ModelError::UnsupportedArchitecture(_)),
        &["unsupported", "v2"],
    ));
    v.push(case(
        "version not a number",
        edited(|m| {
            m.meta().insert("version".into(), "one".into());
        }),
        |e| matches!(e, ModelError::BadMetadata { key: "version", .. }),
        &["version", "one"],
    ));
    v.push(case(
        "feature_version 999",
        edited(|m| {
            m.meta().insert("feature_version".into(), "999".into());
        }),
        |e| {
            matches!(
                e,
                ModelError::BadMetadata {
                    key: "feature_version",
                    ..
                }
            )
        },
        &["feature_version", "999"],
    ));
    v.push(case(
        "band edges decreasing",
        edited(|m| {
            m.meta()
                .insert("band_edges_hz".into(), "[0, 100, 50]".into());
        }),
        |e| {
            matches!(
                e,
                ModelError::BadMetadata {
                    key: "band_edges_hz",
                    ..
                }
            )
        },
        &["band_edges_hz", "increasing"],
    ));
    v.push(case(
        "band edges not JSON",
        edited(|m| {
            m.meta().insert("band_edges_hz".into(), "0 100 200".into());
        }),
        |e| {
            matches!(
                e,
                ModelError::BadMetadata {
                    key: "band_edges_hz",
                    ..
                }
            )
        },
        &["band_edges_hz"],
    ));
    v.push(case(
        "gru_hidden disagrees with the tensors",
        edited(|m| {
            m.meta().insert("gru_hidden".into(), "7".into());
        }),
        |e| {
            matches!(
                e,
                ModelError::BadMetadata {
                    key: "gru_hidden",
                    ..
                }
            )
        },
        &["gru_hidden", "7"],
    ));
    v.push(case(
        "hop does not fit the sample rate",
        edited(|m| {
            m.meta().insert("hop".into(), "256".into());
        }),
        |e| matches!(e, ModelError::BadMetadata { key: "hop", .. }),
        &["hop", "256"],
    ));

    // Non-finite weights.
    for (what, tensor, value) in [
        ("NaN", "gru.0.weight_hh", f32::NAN),
        ("+Inf", "gain.bias", f32::INFINITY),
        ("-Inf", "feature_mean", f32::NEG_INFINITY),
        ("NaN", "input.weight", f32::NAN),
    ] {
        v.push(case(
            format!("{what} in {tensor}"),
            edited(|m| {
                let t = m.tensor(tensor);
                let i = t.data.len() / 8 * 4;
                t.data[i..i + 4].copy_from_slice(&value.to_le_bytes());
            }),
            move |e| *e == ModelError::NonFinite(tensor.into()),
            &[tensor, "nan or infinite"],
        ));
    }
    v.push(case(
        "feature_std zero",
        edited(|m| {
            let t = m.tensor("feature_std");
            t.data[0..4].copy_from_slice(&0f32.to_le_bytes());
        }),
        |e| {
            matches!(
                e,
                ModelError::BadMetadata {
                    key: "feature_std",
                    ..
                }
            )
        },
        &["feature_std", "positive"],
    ));

    // int8 matrices (`hq` stores its recurrent ones so): a scale per row, each finite, beside
    // every one, and int8 only for a matrix.
    let hq = |edit: &dyn Fn(&mut ModelFile)| {
        let mut m = ModelFile::parse(bundled::find("hq").expect("bundled hq").bytes);
        assert_eq!(
            m.tensor("gru.0.weight_hh").dtype,
            "I8",
            "hq's recurrent matrices are int8"
        );
        edit(&mut m);
        m.bytes()
    };
    v.push(case(
        "int8 matrix without its scales",
        hq(&|m| m.tensors.retain(|t| t.name != "gru.0.weight_hh.scale")),
        |e| *e == ModelError::MissingTensor("gru.0.weight_hh.scale".into()),
        &["gru.0.weight_hh.scale"],
    ));
    v.push(case(
        "a member's int8 matrix without its scales",
        hq(&|m| {
            m.tensors
                .retain(|t| t.name != "member.member.gru.1.weight_ih.scale")
        }),
        |e| e.to_string().contains("gru.1.weight_ih.scale"),
        &["member", "gru.1.weight_ih.scale"],
    ));
    v.push(case(
        "int8 scales one short",
        hq(&|m| {
            let t = m.tensor("gru.1.weight_hh.scale");
            let n = t.shape[0] - 1;
            let values = t.f32s()[..n].to_vec();
            t.set_f32s(vec![n], &values);
        }),
        |e| matches!(e, ModelError::WrongShape { .. }),
        &["gru.1.weight_hh.scale", "shape"],
    ));
    v.push(case(
        "NaN in an int8 scale",
        hq(&|m| {
            m.tensor("gru.0.weight_ih.scale").data[..4].copy_from_slice(&f32::NAN.to_le_bytes())
        }),
        |e| *e == ModelError::NonFinite("gru.0.weight_ih.scale".into()),
        &["gru.0.weight_ih.scale", "nan or infinite"],
    ));
    v.push(case(
        "an int8 scale so large its products overflow",
        hq(&|m| {
            m.tensor("gru.0.weight_ih.scale").data[..4].copy_from_slice(&3e38f32.to_le_bytes())
        }),
        |e| *e == ModelError::NonFinite("gru.0.weight_ih".into()),
        &["gru.0.weight_ih", "nan or infinite"],
    ));
    v.push(case(
        "int8 where a vector belongs",
        hq(&|m| {
            let t = m.tensor("vad.bias");
            t.dtype = "I8".into();
            t.data.truncate(t.shape[0]);
        }),
        is_format,
        &["vad.bias", "int8"],
    ));

    v.push(case(
        "feature mismatch (one input more than the bands give)",
        feature_mismatch(),
        |e| matches!(e, ModelError::FeatureMismatch { .. }),
        &["features", "feature version"],
    ));
    v
}

/// A consistent, loadable-by-`from_bytes` model whose input size is one more than this build's
/// features for its band layout: only `load_user_file` (and the engine) refuse it.
pub fn feature_mismatch() -> Vec<u8> {
    edited(|m| {
        // One more input column for every block of features a layer reads: the dense layer reads
        // the features and, with a front end, each kernel's output over them (one block each); the
        // refinement head reads the last GRU layer, then the features (its last block).
        let blocks = if m.has("conv.weight") {
            1 + m.tensor("conv.weight").shape[0]
        } else {
            1
        };
        let nf = m.tensor("input.weight").shape[1] / blocks;
        for name in ["input.weight", "refine.weight"] {
            if !m.has(name) {
                continue;
            }
            let w = m.tensor(name).clone();
            let (rows, cols) = (w.shape[0], w.shape[1]);
            let at: Vec<usize> = if name == "input.weight" {
                (1..=blocks).map(|b| b * nf).collect()
            } else {
                vec![cols]
            };
            let mut new = Vec::with_capacity(rows * (cols + at.len()));
            for row in w.f32s().chunks_exact(cols) {
                for (j, x) in row.iter().enumerate() {
                    new.push(*x);
                    if at.contains(&(j + 1)) {
                        new.push(0.0);
                    }
                }
            }
            m.tensor(name).set_f32s(vec![rows, cols + at.len()], &new);
        }
        for (name, fill) in [("feature_mean", 0.0), ("feature_std", 1.0)] {
            let t = m.tensor(name);
            let mut x = t.f32s();
            x.push(fill);
            t.set_f32s(vec![nf + 1], &x);
        }
        m.meta().insert("n_features".into(), (nf + 1).to_string());
    })
}
