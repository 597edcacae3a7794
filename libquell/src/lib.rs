//! Quell's core: everything that is not a host. DSP, the GRU model, the block engine every front end
//! drives, the training-data dumper's mixer and the WAV reader/writer. No plugin, GUI or audio-device
//! code links against this crate's dependencies: the plugin, the CLI and the LADSPA plugin are thin
//! crates over it.
//!
//! Layout: `dsp` (STFT, bands, features), `model` (weights and inference), `engine` (the block-based
//! denoiser), `dataset` (training mixtures and features), `wav` (file I/O for the tools).

pub mod dataset;
pub mod dsp;
pub mod engine;
pub mod model;
pub mod wav;

pub use engine::{Engine, EngineParams, ModelInstance};
