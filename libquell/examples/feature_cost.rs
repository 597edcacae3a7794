//! Cost of the optional stages per 10 ms of 48 kHz mono with the default model, best of 3 runs:
//! `cargo run --release -p quell-core --example feature_cost`. The signal carries a 50 Hz hum with
//! harmonics so the hum remover's notches are working, not idle.

use quell_core::engine::{Engine, EngineParams, Listen, ModelInstance};
use quell_core::model::bundled;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let rate = 48_000.0f32;
    let seconds = 30.0;
    let n = (rate * seconds) as usize;
    let mut s = 1u64;
    let signal: Vec<f32> = (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.05;
            let t = i as f32 / rate;
            let hum: f32 = (1..=5)
                .map(|h| 0.02 / h as f32 * (2.0 * std::f32::consts::PI * 50.0 * h as f32 * t).sin())
                .sum();
            noise + hum + 0.2 * (i as f32 * 0.0314).sin() * (i as f32 * 0.0001).sin()
        })
        .collect();
    let w = Arc::new(bundled::load(bundled::default_model().name).expect("model"));
    let base = EngineParams::default();
    let cases = [
        ("default", base),
        (
            "speech strength 12 dB",
            EngineParams {
                speech_strength_db: 12.0,
                ..base
            },
        ),
        (
            "listen removed",
            EngineParams {
                listen: Listen::Removed,
                ..base
            },
        ),
        (
            "hum removal on",
            EngineParams {
                hum_removal: true,
                ..base
            },
        ),
    ];
    println!("| setting | µs per 10 ms | notches at the end |");
    println!("|---|---:|---:|");
    for (name, p) in cases {
        let inst = ModelInstance::new(w.clone(), rate, 1).expect("instance");
        let mut e = Engine::new(Box::new(inst), p);
        let mut best = f64::MAX;
        let mut buf = vec![0.0f32; 480];
        for round in 0..4 {
            e.reset();
            let t0 = Instant::now();
            for chunk in signal.chunks_exact(480) {
                buf.copy_from_slice(chunk);
                e.process(&mut [&mut buf[..]]);
            }
            if round > 0 {
                best = best.min(t0.elapsed().as_secs_f64());
            }
        }
        let per = best / (n as f64 / 480.0) * 1e6;
        println!("| {name} | {per:.1} | {} |", e.hum_tones().count());
    }
}
