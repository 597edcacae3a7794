//! Signal processing shared by the plugin, the CLI, the feature dumper, tests and benches.
//! Nothing in here knows about plugins or files.

pub mod bands;
pub mod biquad;
pub mod denormal;
pub mod features;
pub mod grid;
pub mod hum;
pub mod pitch;
pub mod stft;
