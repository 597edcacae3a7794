//! `quell denoise`: the same engine path as the plugin, output aligned with input.

use std::sync::Arc;

use super::Args;
use crate::batch;
use crate::decode::{self, InputInfo};
use crate::encode::{self, Container, Encoder};
use crate::pipeline;
use crate::progress;
use quell_core::dsp::grid::FrameGrid;
use quell_core::engine::{
    DEFAULT_CONTRAST, DEFAULT_HARMONICS, EngineParams, Listen, MAX_CONTRAST, MAX_HARMONICS,
    MAX_REVERB_REDUCTION_DB,
};
use quell_core::model::{ModelWeights, bundled};

/// More channels than any real recording; refusing more keeps a corrupt header from costing gigabytes
/// of per-channel engine state.
pub const MAX_CHANNELS: u16 = 256;

/// Everything one file needs besides its paths.
#[derive(Clone)]
pub struct Job {
    pub weights: Arc<ModelWeights>,
    pub params: EngineParams,
}

pub fn run(mut args: Args) -> Result<(), String> {
    let out = args.value("--output", Some("-o"))?;
    let out_dir = args.value("--out-dir", None)?;
    let jobs: Option<usize> = match args.value("--jobs", Some("-j"))? {
        None => None,
        Some(v) => Some(
            v.parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("--jobs: cannot parse '{v}' (a count above 0)"))?,
        ),
    };
    let model = args
        .value("--model", None)?
        .unwrap_or_else(|| bundled::default_model().name.to_string());
    let strength_db = args.parsed("--strength", 100.0)?;
    let listen = match args.value("--listen", None)?.as_deref() {
        None | Some("output") => Listen::Output,
        Some("removed") => Listen::Removed,
        Some(other) => return Err(format!("--listen: '{other}' is neither output nor removed")),
    };
    let reverb_reduction_db = match args.value("--reverb-reduction", None)?.as_deref() {
        None | Some("full") => MAX_REVERB_REDUCTION_DB,
        Some(v) => v
            .parse::<f32>()
            .ok()
            .filter(|db| (0.0..=MAX_REVERB_REDUCTION_DB).contains(db))
            .ok_or(format!(
                "--reverb-reduction: '{v}' is neither full nor a dB value from 0 to {MAX_REVERB_REDUCTION_DB}"
            ))?,
    };
    let contrast: f32 = args.parsed("--contrast", DEFAULT_CONTRAST)?;
    if !(0.0..=MAX_CONTRAST).contains(&contrast) {
        return Err(format!(
            "--contrast: {contrast} is not from 0 to {MAX_CONTRAST}"
        ));
    }
    let harmonics: f32 = args.parsed("--harmonics", DEFAULT_HARMONICS)?;
    if !(0.0..=MAX_HARMONICS).contains(&harmonics) {
        return Err(format!(
            "--harmonics: {harmonics} is not from 0 to {MAX_HARMONICS}"
        ));
    }
    let params = EngineParams {
        strength_db,
        contrast,
        harmonics,
        reverb_reduction_db,
        // Unless given, words get the same limit as pauses.
        speech_strength_db: args.parsed("--speech-strength", strength_db)?,
        listen,
        hum_removal: args.switch("--hum"),
        mix: args.parsed("--mix", 1.0)?,
        output_gain: 10f32.powf(args.parsed::<f32>("--gain", 0.0)? / 20.0),
        stereo_link: args.switch("--stereo-link"),
        bypass: false,
        ..EngineParams::default()
    };
    let quiet = args.switch("--quiet");
    let inputs = args.positionals()?;
    if inputs.is_empty() {
        return Err("denoise needs an input file (or - for standard input)".into());
    }
    // The model first: it is small, and a bad one should not wait for a long input to be read.
    let weights = super::resolve_model(&model)?;
    if reverb_reduction_db < MAX_REVERB_REDUCTION_DB && !weights.has_reverb_head() {
        return Err(format!(
            "--reverb-reduction: model '{}' has no reverb head, so it can only remove the room fully",
            weights.name
        ));
    }
    let job = Job {
        weights: Arc::new(weights),
        params,
    };
    match (out, out_dir) {
        (Some(_), Some(_)) => Err("give either -o OUT or --out-dir DIR, not both".into()),
        (None, Some(dir)) => batch::run(&inputs, dir.as_ref(), &job, jobs, quiet),
        (Some(out), None) => {
            let [input] = inputs.as_slice() else {
                return Err("-o takes exactly one input; for several use --out-dir DIR".into());
            };
            let bar = progress::single(quiet);
            denoise_file(input, &out, &job, &bar)
        }
        (None, None) => Err("denoise needs -o OUT.wav (or --out-dir DIR for many files)".into()),
    }
}

/// Refuses formats the engine cannot take, before any sample is decoded.
fn check_format(info: &InputInfo) -> Result<(), String> {
    FrameGrid::for_rate(info.sample_rate as f32)?;
    if info.channels > MAX_CHANNELS {
        return Err(format!(
            "it has {} channels; quell denoise handles at most {MAX_CHANNELS}",
            info.channels
        ));
    }
    Ok(())
}

/// Denoises `input` (a path, or `-` for standard input) into `output` (a path, or `-` for WAV on
/// standard output). The input is opened and checked before the output is created, so a bad input
/// leaves no trace; a failure later removes the partial output.
pub fn denoise_file(
    input: &str,
    output: &str,
    job: &Job,
    bar: &indicatif::ProgressBar,
) -> Result<(), String> {
    let (decoder, info) = decode::open(input, check_format)?;
    let container = if output == "-" {
        Container::Wav
    } else {
        Container::for_path(output.as_ref())
    };
    let spec = encode::output_spec(container, info.pcm, info.sample_rate, info.channels);
    let encoder = Encoder::create(output, spec)?;
    progress::start(bar, input, info.frames);
    pipeline::run(
        decoder,
        &info,
        encoder,
        job.weights.clone(),
        job.params,
        bar,
    )
}
