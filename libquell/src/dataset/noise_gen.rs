//! Generated noises: white, pink, brown, mains hum with harmonics, fan/HVAC, clicks.

use super::rng::Rng;
use crate::dsp::biquad::Biquad;

pub fn generate(kind: usize, n: usize, rate: f32, rng: &mut Rng) -> Vec<f32> {
    match kind % 6 {
        0 => (0..n).map(|_| rng.normal()).collect(),
        1 => pink(n, rng),
        2 => brown(n, rng),
        3 => hum(n, rate, rng),
        4 => fan(n, rate, rng),
        _ => clicks(n, rate, rng),
    }
}

pub const KINDS: usize = 6;

fn pink(n: usize, rng: &mut Rng) -> Vec<f32> {
    // Paul Kellet's economy filter on white noise.
    let (mut b0, mut b1, mut b2) = (0.0f32, 0.0f32, 0.0f32);
    (0..n)
        .map(|_| {
            let w = rng.normal();
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            b0 + b1 + b2 + w * 0.1848
        })
        .collect()
}

fn brown(n: usize, rng: &mut Rng) -> Vec<f32> {
    let mut y = 0.0f32;
    (0..n)
        .map(|_| {
            y = 0.998 * y + 0.05 * rng.normal();
            y
        })
        .collect()
}

fn hum(n: usize, rate: f32, rng: &mut Rng) -> Vec<f32> {
    let f0 = if rng.chance(0.5) { 50.0 } else { 60.0 } * rng.range(0.99, 1.01);
    let harmonics: Vec<(f32, f32)> = (1..=12)
        .map(|h| (h as f32, rng.range(0.0, 1.0) / h as f32))
        .filter(|(h, _)| h * f0 < rate / 2.0)
        .collect();
    let buzz = rng.range(0.0, 0.05);
    (0..n)
        .map(|i| {
            let t = i as f32 / rate;
            let tone: f32 = harmonics
                .iter()
                .map(|(h, a)| a * (2.0 * std::f32::consts::PI * h * f0 * t).sin())
                .sum();
            tone + buzz * rng.normal()
        })
        .collect()
}

fn fan(n: usize, rate: f32, rng: &mut Rng) -> Vec<f32> {
    let mut lp = Biquad::lowpass(rate, rng.range(300.0, 3000.0), 0.7);
    let mut hp = Biquad::highpass(rate, rng.range(20.0, 120.0), 0.7);
    let wobble_hz = rng.range(0.1, 2.0);
    let depth = rng.range(0.0, 0.3);
    let whine = rng.range(200.0, 2000.0);
    let whine_amp = rng.range(0.0, 0.2);
    (0..n)
        .map(|i| {
            let t = i as f32 / rate;
            let am = 1.0 + depth * (2.0 * std::f32::consts::PI * wobble_hz * t).sin();
            hp.tick(lp.tick(rng.normal())) * am
                + whine_amp * (2.0 * std::f32::consts::PI * whine * t).sin()
        })
        .collect()
}

fn clicks(n: usize, rate: f32, rng: &mut Rng) -> Vec<f32> {
    let mut out = vec![0.0; n];
    let rate_per_s = rng.range(2.0, 15.0);
    let mut i = 0usize;
    while i < n {
        i += (rng.range(0.2, 1.8) * rate / rate_per_s) as usize;
        let len = (rng.range(0.002, 0.02) * rate) as usize;
        let amp = rng.range(0.2, 1.0);
        let decay = rng.range(0.9, 0.995);
        let mut a = amp;
        for o in out.iter_mut().skip(i).take(len) {
            *o += a * rng.normal();
            a *= decay;
        }
    }
    out
}
