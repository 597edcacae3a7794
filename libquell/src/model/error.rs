use std::fmt;

/// Everything that can be wrong with a model file. Each message names the problem.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelError {
    Io(String),
    /// Not a readable safetensors file (truncated, corrupt header, ...).
    Format(String),
    MissingMetadata(&'static str),
    BadMetadata {
        key: &'static str,
        value: String,
        why: String,
    },
    UnsupportedArchitecture(String),
    MissingTensor(String),
    WrongDtype {
        tensor: String,
        dtype: String,
    },
    WrongShape {
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    NonFinite(String),
    /// Parsed fine, but its input size does not match this build's features for its band layout.
    FeatureMismatch {
        expected: usize,
        found: usize,
    },
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelError::Io(e) => write!(f, "cannot read model file: {e}"),
            ModelError::Format(e) => write!(
                f,
                "not a valid safetensors model (truncated or corrupt?): {e}"
            ),
            ModelError::MissingMetadata(k) => write!(f, "model metadata is missing '{k}'"),
            ModelError::BadMetadata { key, value, why } => {
                write!(f, "model metadata '{key}' = '{value}' is invalid: {why}")
            }
            ModelError::UnsupportedArchitecture(a) => {
                write!(
                    f,
                    "unsupported model architecture '{a}' (expected quell-gru-bands version 1)"
                )
            }
            ModelError::MissingTensor(t) => write!(f, "model is missing tensor '{t}'"),
            ModelError::WrongDtype { tensor, dtype } => {
                write!(f, "tensor '{tensor}' has dtype {dtype}, expected F32")
            }
            ModelError::WrongShape {
                tensor,
                expected,
                found,
            } => {
                write!(
                    f,
                    "tensor '{tensor}' has shape {found:?}, expected {expected:?}"
                )
            }
            ModelError::NonFinite(t) => write!(f, "tensor '{t}' contains NaN or infinite values"),
            ModelError::FeatureMismatch { expected, found } => write!(
                f,
                "model takes {found} input features but this version of Quell computes {expected} \
                 for its band layout (trained for another feature version?)"
            ),
        }
    }
}

impl std::error::Error for ModelError {}
