//! Models compiled into the binary, so a bundle works with no files beside it.

use super::error::ModelError;
use super::weights::ModelWeights;

pub struct BundledModel {
    pub name: &'static str,
    pub bytes: &'static [u8],
}

/// The first entry is the default.
pub const BUNDLED: &[BundledModel] = &[
    BundledModel {
        name: "standard",
        bytes: include_bytes!("../../../models/standard.safetensors"),
    },
    BundledModel {
        name: "tiny",
        bytes: include_bytes!("../../../models/tiny.safetensors"),
    },
    BundledModel {
        name: "hq",
        bytes: include_bytes!("../../../models/hq.safetensors"),
    },
];

pub fn default_model() -> &'static BundledModel {
    &BUNDLED[0]
}

pub fn find(name: &str) -> Option<&'static BundledModel> {
    BUNDLED.iter().find(|m| m.name.eq_ignore_ascii_case(name))
}

pub fn load(name: &str) -> Result<ModelWeights, ModelError> {
    let m = find(name).ok_or_else(|| ModelError::Io(format!("no bundled model named '{name}'")))?;
    ModelWeights::from_bytes(m.bytes)
}
