//! `quell dump-features`: mixtures -> features/targets files for the trainer.

use std::path::PathBuf;

use super::Args;
use super::progress;
use quell_core::dataset::frames::{self, FrameRows};
use quell_core::dataset::mixer::{self, MixConfig, RATE};
use quell_core::dataset::npy::NpyWriter;
use quell_core::dataset::pool::Pool;
use quell_core::dataset::rng::Rng;
use quell_core::dsp::bands::{DEFAULT_BANDS, layout_edges};
use quell_core::dsp::features::{FEATURE_VERSION, SUPPORTED_VERSIONS, n_features};
use quell_core::dsp::grid::FrameGrid;

pub fn run(mut args: Args) -> Result<(), String> {
    let speech = PathBuf::from(
        args.value("--speech", None)?
            .ok_or("--speech LIST is required")?,
    );
    let noise = PathBuf::from(
        args.value("--noise", None)?
            .ok_or("--noise LIST is required")?,
    );
    let out = PathBuf::from(args.value("--out", None)?.ok_or("--out DIR is required")?);
    let hours: f32 = args.parsed("--hours", 1.0)?;
    let seed: u64 = args.parsed("--seed", 1)?;
    let threads: usize = args.parsed("--threads", 2)?;
    let cfg = MixConfig {
        snr_min: args.parsed("--snr-min", -5.0)?,
        snr_max: args.parsed("--snr-max", 25.0)?,
        speed_prob: args.parsed("--speed-perturb", MixConfig::default().speed_prob)?,
        ..MixConfig::default()
    };
    // Band layout: `erb32` (default, the shipped models) or `bins` (one band per FFT bin).
    let layout = args
        .value("--bands", None)?
        .unwrap_or_else(|| format!("erb{DEFAULT_BANDS}"));
    let edges = layout_edges(&layout)?;
    let feature_version: u32 = args.parsed("--features", FEATURE_VERSION)?;
    if !SUPPORTED_VERSIONS.contains(&feature_version) {
        return Err(format!(
            "--features {feature_version}: this build computes versions {SUPPORTED_VERSIONS:?}"
        ));
    }
    let quiet = args.switch("--quiet");
    args.positionals()?;

    let speech = Pool::from_list(&speech, RATE as u32)?;
    let noise = Pool::from_list(&noise, RATE as u32)?;
    eprintln!(
        "speech: {} clips, {:.1} min; noise: {} clips, {:.1} min",
        speech.clips.len(),
        speech.seconds(RATE) / 60.0,
        noise.clips.len(),
        noise.seconds(RATE) / 60.0
    );
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create '{}': {e}", out.display()))?;
    let nb = edges.len() - 1;
    let nf = n_features(feature_version, nb);
    let mut wf = NpyWriter::create(&out.join("features.npy"), Some(nf))?;
    let mut wt = NpyWriter::create(&out.join("targets.npy"), Some(nb))?;
    let mut wv = NpyWriter::create(&out.join("vad.npy"), None)?;

    let target_frames = (hours * 3600.0 * 200.0) as usize;
    let mut written = 0usize;
    let bar = progress::labelled("mixing", target_frames as u64, quiet);
    let mut batch_start = 0u64;
    let threads = threads.max(1);
    while written < target_frames {
        // Each mix is seeded by its index, so output is the same for any thread count.
        let batch: Vec<FrameRows> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let (speech, noise, edges) = (&speech, &noise, &edges);
                    s.spawn(move || {
                        let mut rng =
                            Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(batch_start + t));
                        let m = mixer::make(speech, noise, &cfg, &mut rng);
                        frames::compute(
                            &m.noisy,
                            &m.target,
                            edges,
                            m.bandwidth_hz,
                            m.nyquist_hz,
                            feature_version,
                        )
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("mixer thread"))
                .collect()
        });
        batch_start += threads as u64;
        for rows in batch {
            for t in 0..rows.frames {
                wf.write_row(&rows.features[t * nf..(t + 1) * nf])?;
                wt.write_row(&rows.targets[t * nb..(t + 1) * nb])?;
                wv.write_row(&rows.vad[t..t + 1])?;
            }
            written += rows.frames;
        }
        bar.set_position(written as u64);
    }
    bar.finish();
    let frames = wf.finish()?;
    wt.finish()?;
    wv.finish()?;
    let grid = FrameGrid::for_rate(RATE).expect("design rate");
    let meta = serde_json::json!({
        "n_features": nf,
        "n_bands": nb,
        "band_edges_hz": edges,
        "band_layout": layout,
        "sample_rate": RATE as u32,
        "hop": grid.hop,
        "fft": grid.fft,
        "frames": frames,
        "feature_version": feature_version,
        "speed_perturb": cfg.speed_prob,
        "seed": seed,
        "mixes": batch_start,
    });
    std::fs::write(
        out.join("meta.json"),
        serde_json::to_string_pretty(&meta).unwrap(),
    )
    .map_err(|e| format!("cannot write meta.json: {e}"))?;
    eprintln!(
        "wrote {frames} frames ({:.2} h) to {}",
        frames as f32 / 200.0 / 3600.0,
        out.display()
    );
    Ok(())
}
