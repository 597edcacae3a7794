//! Cost of the engine per 10 ms of 48 kHz mono audio, for every bundled model, single thread.
//! Run: `cargo bench --bench engine_cost` (release profile). Prints a markdown table.
//! `QUELL_BENCH_MODELS=a.safetensors,b.safetensors cargo bench --bench engine_cost` measures those
//! model files instead of the bundled models (paths relative to the repository root).
//! `QUELL_BENCH_HARMONICS=X` sets the pitch comb (default: the engine's default), to show its cost.
//! Each model runs twice: with the kernel this CPU selects (AVX2+FMA where available) and with the
//! portable kernel forced (the file loaded again as such a CPU would load it: half-precision weights
//! widened to f32), so the table shows what the explicit SIMD path is worth.

use quell::engine::{Engine, EngineParams, ModelInstance};
use quell::model::{ModelWeights, bundled, linalg};
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
    let auto = linalg::active_kernel();
    println!(
        "| model | params | MMAC/s | µs per 10 ms ({auto:?}) | real-time factor | µs per 10 ms (Portable) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    // Each model is loaded twice: the portable kernel's run gets the file as a CPU without AVX2
    // would load it (half-precision matrices widened at load, `linalg::keeps_half`).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let load: Box<dyn Fn(usize) -> ModelWeights> = match std::env::var("QUELL_BENCH_MODELS") {
        Ok(list) if !list.trim().is_empty() => {
            let paths: Vec<String> = list.split(',').map(|p| p.trim().to_string()).collect();
            Box::new(move |i| {
                let p = &paths[i];
                ModelWeights::load_user_file(&root.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
            })
        }
        _ => Box::new(|i| {
            ModelWeights::from_bytes(bundled::BUNDLED[i].bytes).expect("bundled model")
        }),
    };
    let count = match std::env::var("QUELL_BENCH_MODELS") {
        Ok(list) if !list.trim().is_empty() => list.split(',').count(),
        _ => bundled::BUNDLED.len(),
    };
    let mut params = EngineParams::default();
    if let Ok(h) = std::env::var("QUELL_BENCH_HARMONICS") {
        params.harmonics = h.parse().expect("QUELL_BENCH_HARMONICS: a number");
    }
    let time_it = |w: &Arc<ModelWeights>| {
        let inst = ModelInstance::new(w.clone(), rate, 1).expect("instance");
        let mut e = Engine::new(Box::new(inst), params);
        {
            let mut buf = vec![0.0f32; 480];
            // Warm up, then take the best of 3 runs (least disturbed by other processes).
            let mut best = f64::MAX;
            for round in 0..4 {
                e.reset();
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
            best
        }
    };
    for i in 0..count {
        let w = Arc::new(load(i));
        let name = w.name.clone();
        let best = time_it(&w);
        linalg::force_portable(true);
        let portable = time_it(&Arc::new(load(i)));
        linalg::force_portable(false);
        let hops_10ms = n as f64 / 480.0;
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.4} | {:.1} |",
            name,
            w.parameter_count(),
            w.macs_per_frame() as f64 * 200.0 / 1e6,
            best / hops_10ms * 1e6,
            best / seconds as f64,
            portable / hops_10ms * 1e6
        );
    }
}
