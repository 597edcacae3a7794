//! `quell denoise`: the same engine path as the plugin, output aligned with input.

use std::path::PathBuf;
use std::sync::Arc;

use super::Args;
use super::progress::Progress;
use quell_core::dsp::grid::FrameGrid;
use quell_core::engine::{Engine, EngineParams, ModelInstance};
use quell_core::model::bundled;
use quell_core::wav;

/// Block size fed to the engine; any size gives identical output.
const BLOCK: usize = 1024;
/// More channels than any real recording; refusing more keeps a corrupt header from costing gigabytes
/// of per-channel engine state.
pub const MAX_CHANNELS: u16 = 256;

pub fn run(mut args: Args) -> Result<(), String> {
    let out = args
        .value("--output", Some("-o"))?
        .ok_or("denoise needs -o OUT.wav")?;
    let model = args
        .value("--model", None)?
        .unwrap_or_else(|| bundled::default_model().name.to_string());
    let params = EngineParams {
        strength_db: args.parsed("--strength", 100.0)?,
        mix: args.parsed("--mix", 1.0)?,
        output_gain: 10f32.powf(args.parsed::<f32>("--gain", 0.0)? / 20.0),
        stereo_link: args.switch("--stereo-link"),
        bypass: false,
        ..EngineParams::default()
    };
    let quiet = args.switch("--quiet");
    let pos = args.positionals()?;
    let [input] = pos.as_slice() else {
        return Err("denoise needs exactly one input file".into());
    };
    // The model first: it is small, and a bad one should not wait for a long WAV to be read.
    let weights = super::resolve_model(&model)?;
    let audio = wav::read_with(&PathBuf::from(input), |spec| {
        FrameGrid::for_rate(spec.sample_rate as f32)?;
        if spec.channels > MAX_CHANNELS {
            return Err(format!(
                "it has {} channels; quell denoise handles at most {MAX_CHANNELS}",
                spec.channels
            ));
        }
        Ok(())
    })?;
    let processed = denoise(
        &audio.channels,
        audio.sample_rate as f32,
        Arc::new(weights),
        params,
        !quiet,
    )?;
    wav::write(&PathBuf::from(out), audio.spec, &processed)
}

/// Denoise whole signals, compensating the engine latency so output lines up with input.
pub fn denoise(
    input: &[Vec<f32>],
    sample_rate: f32,
    weights: Arc<quell_core::model::ModelWeights>,
    params: EngineParams,
    progress: bool,
) -> Result<Vec<Vec<f32>>, String> {
    let n_ch = input.len();
    let frames = input.first().map_or(0, Vec::len);
    let instance = ModelInstance::new(weights, sample_rate, n_ch)?;
    let mut engine = Engine::new(Box::new(instance), params.sanitized());
    let latency = engine.latency();
    let total = frames + latency;
    let mut output = vec![Vec::with_capacity(frames); n_ch];
    let mut bufs = vec![vec![0.0f32; BLOCK]; n_ch];
    let mut bar = Progress::new(
        "denoising",
        total,
        progress && frames as f32 > 10.0 * sample_rate,
    );
    let mut pos = 0;
    while pos < total {
        let len = BLOCK.min(total - pos);
        for (b, src) in bufs.iter_mut().zip(input) {
            for (i, x) in b[..len].iter_mut().enumerate() {
                *x = src.get(pos + i).copied().unwrap_or(0.0);
            }
        }
        let mut slices: Vec<&mut [f32]> = bufs.iter_mut().map(|b| &mut b[..len]).collect();
        engine.process(&mut slices);
        // Drop the first `latency` samples: they precede the input.
        let skip = latency.saturating_sub(pos).min(len);
        for (o, b) in output.iter_mut().zip(&bufs) {
            o.extend_from_slice(&b[skip..len]);
        }
        pos += len;
        bar.update(pos);
    }
    bar.finish();
    Ok(output)
}
