//! A short soak: minutes of continuous noisy speech-like signal through the engine; the output level
//! must not drift between the first and last minute, and nothing may go non-finite. (A longer run is
//! `QUELL_SOAK_MINUTES=60 cargo test --test soak -- --nocapture`, about a minute here.)

mod common;

use common::*;
use quell::engine::EngineParams;

#[test]
fn output_level_does_not_drift_over_minutes() {
    let rate = 48_000.0;
    let minutes: usize = std::env::var("QUELL_SOAK_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    // A 7.5 s loop of voiced signal + noise, eight times a minute: every minute gets the same input.
    let period = (7.5 * rate) as usize;
    let lp: Vec<f32> = voiced(period, rate, 0.2)
        .iter()
        .zip(noise(period, 21, 0.03))
        .map(|(a, b)| a + b)
        .collect();
    let mut e = engine(rate, 1, EngineParams::default());
    let minute = 60 * rate as usize;
    let mut block = vec![0.0f32; 1000];
    let mut pos = 0usize;
    let mut levels = Vec::new();
    for _ in 0..minutes {
        let (mut sum_in, mut sum_out) = (0.0f64, 0.0f64);
        let mut done = 0;
        while done < minute {
            for x in block.iter_mut() {
                *x = lp[pos % period];
                sum_in += (*x as f64).powi(2);
                pos += 1;
            }
            e.process(&mut [&mut block[..]]);
            for x in &block {
                assert!(x.is_finite());
                sum_out += (*x as f64).powi(2);
            }
            done += block.len();
        }
        levels.push(10.0 * (sum_out / sum_in).log10());
    }
    eprintln!("output/input level per minute (dB): {levels:.3?}");
    let (first, last) = (levels[1.min(levels.len() - 1)], *levels.last().unwrap());
    assert!(
        (first - last).abs() < 0.05,
        "level drifted from {first:.3} dB to {last:.3} dB"
    );
}
