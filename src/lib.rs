//! Quell: a real-time, strictly causal GRU voice noise suppressor.
//!
//! Layout: `dsp` (STFT, bands, features), `model` (weights and inference), `engine` (the block-based
//! denoiser every front end drives), `dataset` (training mixtures and the feature dumper), `cli` (the
//! `quell` command), `plugin` (thin CLAP/VST3 glue).

pub mod cli;
pub mod dataset;
pub mod dsp;
pub mod engine;
pub mod model;
pub mod plugin;
pub mod wav;

pub use engine::{Engine, EngineParams, ModelInstance};
