//! What the editor's spectrum feed costs the audio thread: the default model over 60 s of 48 kHz
//! stereo, without an observer, with the feed tap disabled (editor closed) and enabled (open).
//! Run: `cargo bench --bench editor_feed` (release profile, single thread).

use quell::engine::{Engine, EngineParams, HopObserver, ModelInstance};
use quell::model::bundled;
use quell::plugin::feed::{FeedTap, FeedWriter, SpectrumFeed};
use std::sync::Arc;
use std::time::Instant;

fn run(signal: &[Vec<f32>], observer: &mut impl HopObserver) -> f64 {
    let w = Arc::new(bundled::load(bundled::default_model().name).unwrap());
    let inst = ModelInstance::new(w, 48_000.0, 2).unwrap();
    let mut e = Engine::new(Box::new(inst), EngineParams::default());
    let mut io: Vec<Vec<f32>> = signal.to_vec();
    let t = Instant::now();
    for start in (0..io[0].len()).step_by(512) {
        let end = (start + 512).min(io[0].len());
        let (l, r) = io.split_at_mut(1);
        let mut blocks = [&mut l[0][start..end], &mut r[0][start..end]];
        e.process_observed(&mut blocks, observer);
    }
    t.elapsed().as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let n = 48_000 * 60;
    let mut s = 7u64;
    let ch: Vec<f32> = (0..n)
        .map(|i| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.05 + 0.2 * (i as f32 * 0.03).sin()
        })
        .collect();
    let signal = vec![ch.clone(), ch];
    let grid = quell::dsp::grid::FrameGrid::for_rate(48_000.0).unwrap();
    let feed = SpectrumFeed::default();
    let mut closed = FeedWriter::new(grid);
    let mut open = FeedWriter::new(grid);
    open.enabled = true;
    println!("| editor | seconds for 60 s stereo | µs per 10 ms |");
    println!("|---|---:|---:|");
    // Interleave repeats so drift in machine load hits all three alike; report the best of 5.
    let mut best = [f64::MAX; 3];
    for _ in 0..5 {
        best[0] = best[0].min(run(&signal, &mut ()));
        best[1] = best[1].min(run(
            &signal,
            &mut FeedTap {
                writer: &mut closed,
                feed: &feed,
            },
        ));
        best[2] = best[2].min(run(
            &signal,
            &mut FeedTap {
                writer: &mut open,
                feed: &feed,
            },
        ));
    }
    for (name, t) in [
        "no observer",
        "feed tap, editor closed",
        "feed tap, editor open",
    ]
    .iter()
    .zip(best)
    {
        println!("| {name} | {t:.3} | {:.1} |", t / 6000.0 * 1e6);
    }
    println!("frames written while open: {}", feed.written());
}
