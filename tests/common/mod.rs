#![allow(dead_code)]
//! Signals and engines shared by the integration tests.

pub mod bad_models;
pub mod bad_wavs;
pub mod checks;
pub mod speech;

use quell::engine::{Engine, EngineParams, ModelInstance};
use quell::model::{ModelWeights, bundled};
use std::sync::Arc;

pub fn default_weights() -> Arc<ModelWeights> {
    Arc::new(bundled::load(bundled::default_model().name).expect("default model loads"))
}

pub fn engine(rate: f32, channels: usize, params: EngineParams) -> Engine {
    bundled_engine(bundled::default_model().name, rate, channels, params)
}

/// An engine on the bundled model `name`.
pub fn bundled_engine(name: &str, rate: f32, channels: usize, params: EngineParams) -> Engine {
    let w = Arc::new(bundled::load(name).expect("bundled model loads"));
    let inst = ModelInstance::new(w, rate, channels).expect("instance");
    Engine::new(Box::new(inst), params)
}

/// Sample-by-sample sum of two signals (as long as the shorter): speech plus noise.
pub fn mixed(a: &[f32], b: &[f32]) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Deterministic noise-like test signal.
pub fn noise(n: usize, seed: u64, amp: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

/// Voiced, syllable-modulated harmonic signal: speech-like enough to exercise the model.
pub fn voiced(n: usize, rate: f32, amp: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / rate;
            let f0 = 140.0 + 20.0 * (2.0 * std::f32::consts::PI * 0.7 * t).sin();
            let env = (0.5 - 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).cos()).powi(2);
            let mut x = 0.0;
            for h in 1..20 {
                let f = f0 * h as f32;
                if f > rate / 2.0 {
                    break;
                }
                x += (2.0 * std::f32::consts::PI * f * t).sin() / h as f32;
            }
            amp * env * x
        })
        .collect()
}

/// A synthetic room at `rate`: the direct path, then exponentially decaying noise from 2 ms, with
/// the tail's energy equal to the direct sound's (a talker a few metres from the mic).
pub fn room(rt60: f32, seed: u64, rate: f32) -> Vec<f32> {
    let n = (rt60 * 1.2 * rate) as usize;
    let pre = (0.002 * rate) as usize;
    let decay = -6.9 / (rt60 * rate);
    let tail = noise(n, seed, 1.0);
    let mut h: Vec<f32> = (0..n)
        .map(|i| {
            if i < pre {
                0.0
            } else {
                tail[i] * (decay * i as f32).exp()
            }
        })
        .collect();
    let e_tail: f32 = h.iter().map(|x| x * x).sum();
    for x in &mut h {
        *x /= e_tail.sqrt();
    }
    h[0] = 1.0;
    h
}

/// `x` in the room `h`, `n` samples long (the dataset's FFT convolution, on `x` padded to `n`).
pub fn in_room(x: &[f32], h: &[f32], n: usize) -> Vec<f32> {
    let mut padded = x.to_vec();
    padded.resize(n, 0.0);
    quell::dataset::augment::convolve(&padded, h)
}

/// Run whole signals through an engine in fixed blocks.
pub fn run(engine: &mut Engine, input: &[Vec<f32>], block: usize) -> Vec<Vec<f32>> {
    let mut out: Vec<Vec<f32>> = input.to_vec();
    let n = input[0].len();
    let mut pos = 0;
    while pos < n {
        let len = block.min(n - pos);
        let mut slices: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[pos..pos + len]).collect();
        engine.process(&mut slices);
        pos += len;
    }
    out
}

/// Power of the `hz` component of `y` (one DFT bin at any frequency): how much of a steady tone
/// is left.
pub fn tone_power(y: &[f32], hz: f64, rate: usize) -> f64 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (i, v) in y.iter().enumerate() {
        let ph = std::f64::consts::TAU * hz * i as f64 / rate as f64;
        re += *v as f64 * ph.cos();
        im += *v as f64 * ph.sin();
    }
    re * re + im * im
}

pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// The engine's output for `x` in `block`-sized pieces, with its latency removed.
pub fn aligned(e: &mut Engine, x: &[f32], block: usize) -> Vec<f32> {
    let lat = e.latency();
    let mut input = x.to_vec();
    input.extend(std::iter::repeat_n(0.0, lat));
    run(e, &[input], block).remove(0)[lat..].to_vec()
}
