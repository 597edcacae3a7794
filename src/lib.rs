//! Quell: a real-time, strictly causal GRU voice noise suppressor, as a CLAP/VST3 plugin.
//!
//! This crate is the plugin glue (`plugin`); the engine, DSP and model live in `quell-core`
//! (`libquell/`) and are re-exported here so plugin code and tests name them as before. The `quell`
//! command line is `cli/`, the LADSPA plugin `ladspa/`: neither links the GUI stack.

pub use quell_core::{Engine, EngineParams, ModelInstance, dataset, dsp, engine, model, wav};

pub mod plugin;
