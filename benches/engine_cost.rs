//! Cost of the engine per 10 ms of 48 kHz mono audio, for every bundled model, single thread.
//! Run: `cargo bench --bench engine_cost` (release profile). Prints a markdown table.

use quell::engine::{Engine, EngineParams, ModelInstance};
use quell::model::{ModelWeights, bundled};
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let rate = 48_000.0f32;
    let seconds = 60.0;
    let n = (rate * seconds) as usize;
    let mut s = 1u64;
    let signal: Vec<f32> = (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.05;
            noise + 0.2 * (i as f32 * 0.0314).sin() * (i as f32 * 0.0001).sin()
        })
        .collect();
    println!("| model | params | MMAC/s | µs per 10 ms hop | real-time factor |");
    println!("|---|---:|---:|---:|---:|");
    for m in bundled::BUNDLED {
        let w = Arc::new(ModelWeights::from_bytes(m.bytes).expect("bundled model"));
        let inst = ModelInstance::new(w.clone(), rate, 1).expect("instance");
        let mut e = Engine::new(Box::new(inst), EngineParams::default());
        let mut buf = vec![0.0f32; 480];
        // Warm up, then take the best of 3 runs (least disturbed by other processes).
        let mut best = f64::MAX;
        for round in 0..4 {
            let t0 = Instant::now();
            for chunk in signal.chunks_exact(480) {
                buf.copy_from_slice(chunk);
                e.process(&mut [&mut buf[..]]);
            }
            let dt = t0.elapsed().as_secs_f64();
            if round > 0 {
                best = best.min(dt);
            }
            std::hint::black_box(&buf);
        }
        let hops_10ms = n as f64 / 480.0;
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.4} |",
            m.name,
            w.parameter_count(),
            w.macs_per_frame() as f64 * 200.0 / 1e6,
            best / hops_10ms * 1e6,
            best / seconds as f64
        );
    }
}
