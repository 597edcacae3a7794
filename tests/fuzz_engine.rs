//! Randomised robustness run of the engine: random block sizes, parameter automation, model swaps,
//! resets, and hostile input (NaN, Inf, denormals, full scale, DC). Invariants: output always finite,
//! never louder than the (clipped) input times the output gain by more than a fixed bound, and a
//! replay after `reset()` reproduces the output exactly.

mod common;

use quell::engine::{Engine, EngineParams, INPUT_LIMIT, Listen, ModelInstance};
use quell::model::{ModelWeights, bundled};
use std::sync::Arc;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 1_000_000) as f32 / 1_000_000.0
    }
}

/// Peaks may grow through the spectral mask's phase effects; 12 dB is far beyond what a mask <= 1
/// can do, and far below what a real fault (NaN, runaway state) would produce.
const PEAK_BOUND: f32 = 4.0;

enum Step {
    Block(Vec<Vec<f32>>),
    Params(EngineParams),
    Swap(usize),
}

fn hostile_block(rng: &mut Rng, channels: usize) -> Vec<Vec<f32>> {
    let len = match rng.next() % 5 {
        0 => 1,
        1 => 1 + (rng.next() % 64) as usize,
        2 => 1 + (rng.next() % 8192) as usize,
        _ => 1 + (rng.next() % 1024) as usize,
    };
    let kind = rng.next() % 8;
    (0..channels)
        .map(|_| {
            (0..len)
                .map(|i| match kind {
                    0 => f32::NAN,
                    1 => {
                        if i % 2 == 0 {
                            f32::INFINITY
                        } else {
                            f32::NEG_INFINITY
                        }
                    }
                    2 => 1e-40, // denormal
                    3 => {
                        if i % 2 == 0 {
                            1.0
                        } else {
                            -1.0
                        }
                    } // full scale
                    4 => 0.7,   // DC
                    5 => 1e20,  // absurd
                    _ => (rng.unit() * 2.0 - 1.0) * 0.3,
                })
                .collect()
        })
        .collect()
}

fn script(seed: u64, channels: usize, steps: usize) -> Vec<Step> {
    let mut rng = Rng(seed);
    (0..steps)
        .map(|_| match rng.next() % 10 {
            0 => Step::Params(EngineParams {
                strength_db: rng.unit() * 100.0,
                speech_strength_db: rng.unit() * 100.0,
                contrast: rng.unit() * 1.4 - 0.2,
                harmonics: rng.unit() * 1.4 - 0.2,
                reverb_reduction_db: rng.unit() * 30.0 - 3.0,
                listen: if rng.next().is_multiple_of(3) {
                    Listen::Removed
                } else {
                    Listen::Output
                },
                hum_removal: rng.next().is_multiple_of(2),
                mix: rng.unit(),
                output_gain: 0.25 + rng.unit() * 3.75,
                stereo_link: rng.next().is_multiple_of(2),
                bypass: rng.next().is_multiple_of(5),
                gate: rng.next().is_multiple_of(3),
                gate_threshold: rng.unit(),
                gate_hold_ms: rng.unit() * 500.0,
                gate_lookback_ms: rng.unit() * 100.0,
            }),
            1 => Step::Swap((rng.next() % bundled::BUNDLED.len() as u64) as usize),
            _ => Step::Block(hostile_block(&mut rng, channels)),
        })
        .collect()
}

fn weights() -> Vec<Arc<ModelWeights>> {
    bundled::BUNDLED
        .iter()
        .map(|m| Arc::new(ModelWeights::from_bytes(m.bytes).unwrap()))
        .collect()
}

/// Runs the script; returns all output samples and checks the invariants on the way.
fn play(e: &mut Engine, steps: &[Step], models: &[Arc<ModelWeights>], rate: f32) -> Vec<f32> {
    let mut all = Vec::new();
    let mut max_gain = e.params().output_gain.max(1.0);
    let mut in_peak = 0.0f32;
    for step in steps {
        match step {
            Step::Params(p) => {
                e.set_params(*p);
                max_gain = max_gain.max(p.output_gain);
            }
            Step::Swap(i) => {
                let inst = ModelInstance::new(models[*i].clone(), rate, e.channels()).unwrap();
                assert!(e.swap_model(Box::new(inst)).is_ok());
            }
            Step::Block(b) => {
                let mut bufs = b.clone();
                for x in b.iter().flatten() {
                    let clipped = if x.is_finite() {
                        x.abs().min(INPUT_LIMIT)
                    } else {
                        0.0
                    };
                    in_peak = in_peak.max(clipped);
                }
                let mut slices: Vec<&mut [f32]> = bufs.iter_mut().map(|c| &mut c[..]).collect();
                e.process(&mut slices);
                for x in bufs.iter().flatten() {
                    assert!(x.is_finite(), "non-finite output");
                    assert!(
                        x.abs() <= PEAK_BOUND * max_gain * in_peak + 1e-6,
                        "output {x} vs input peak {in_peak}"
                    );
                }
                all.extend(bufs.into_iter().flatten());
            }
        }
    }
    all
}

#[test]
fn random_automation_hostile_input_and_resets_keep_invariants() {
    let models = weights();
    for seed in 1..=6u64 {
        let channels = 1 + (seed % 2) as usize;
        let rate = [48_000.0, 44_100.0, 96_000.0][(seed % 3) as usize];
        let steps = script(seed, channels, 400);
        let inst = ModelInstance::new(models[0].clone(), rate, channels).unwrap();
        let mut e = Engine::new(Box::new(inst), EngineParams::default());
        let first = play(&mut e, &steps, &models, rate);
        // Replay from a clean state on the same engine: identical output.
        e.reset();
        e.set_params(EngineParams::default());
        let inst = ModelInstance::new(models[0].clone(), rate, channels).unwrap();
        let _ = e.swap_model(Box::new(inst));
        e.reset();
        let second = play(&mut e, &steps, &models, rate);
        assert_eq!(first.len(), second.len());
        assert!(first == second, "seed {seed}: replay after reset differs");
    }
}
