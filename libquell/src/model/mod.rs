//! The GRU mask network: weight files, plain-Rust inference, and the models bundled in the binary.

pub mod activations;
pub mod bundled;
pub mod error;
pub mod linalg;
pub mod net;
pub mod weights;

pub use error::ModelError;
pub use net::NetState;
pub use weights::ModelWeights;
