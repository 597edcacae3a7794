//! decode -> engine -> encode, one block at a time: memory stays the same whatever the length.

use std::sync::Arc;

use indicatif::ProgressBar;
use quell_core::engine::{Engine, EngineParams, ModelInstance};
use quell_core::model::ModelWeights;

use crate::decode::{Decoder, InputInfo};
use crate::encode::Encoder;

/// Block size fed to the engine; any size gives identical output.
const BLOCK: usize = 4096;

/// Denoises everything `input` yields into `output`, compensating the engine latency so output lines
/// up with input sample for sample: the first `latency` output samples (which precede the input) are
/// dropped and the tail is flushed with `latency` zeros. `progress` advances in input frames.
pub fn run(
    mut input: Decoder,
    info: &InputInfo,
    mut output: Encoder,
    weights: Arc<ModelWeights>,
    params: EngineParams,
    progress: &ProgressBar,
) -> Result<(), String> {
    let n_ch = info.channels as usize;
    let instance = ModelInstance::new(weights, info.sample_rate as f32, n_ch)?;
    let mut engine = Engine::new(Box::new(instance), params.sanitized());
    let mut to_drop = engine.latency();
    let mut tail = engine.latency();
    let mut bufs = vec![vec![0.0f32; BLOCK]; n_ch];
    loop {
        let got = input.read(&mut bufs)?;
        progress.inc(got as u64);
        let mut len = got;
        if len < BLOCK {
            // The input is over: flush the engine with zeros after it.
            let zeros = tail.min(BLOCK - len);
            for b in &mut bufs {
                b[len..len + zeros].fill(0.0);
            }
            tail -= zeros;
            len += zeros;
        }
        if len == 0 {
            break;
        }
        let mut slices: Vec<&mut [f32]> = bufs.iter_mut().map(|b| &mut b[..len]).collect();
        engine.process(&mut slices);
        let skip = to_drop.min(len);
        to_drop -= skip;
        output.write(&bufs, skip..len)?;
    }
    output.finish()
}
