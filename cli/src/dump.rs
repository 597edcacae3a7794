//! `quell dump-features`: mixtures -> features/targets files for the trainer.

use std::path::PathBuf;

use super::Args;
use super::progress;
use super::teacher;
use quell_core::dataset::frames::{self, FrameRows};
use quell_core::dataset::mixer::{self, MixConfig, RATE};
use quell_core::dataset::npy::NpyWriter;
use quell_core::dataset::pool::Pool;
use quell_core::dataset::rng::Rng;
use quell_core::dsp::bands::{BandMap, DEFAULT_BANDS, layout_edges};
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
        reverb_prob: args.parsed("--reverb-prob", MixConfig::default().reverb_prob)?,
        rt60_max: args.parsed("--rt60-max", MixConfig::default().rt60_max)?,
        formant_prob: args.parsed("--formant-shift", MixConfig::default().formant_prob)?,
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
    if !(0.0..=1.0).contains(&cfg.reverb_prob) {
        return Err("--reverb-prob must be between 0 and 1".into());
    }
    if !(0.2..=3.0).contains(&cfg.rt60_max) {
        return Err("--rt60-max must be between 0.2 and 3 seconds".into());
    }
    let spectra = args.switch("--spectra");
    // A deep filter's training data: the compressed complex noisy and clean STFT of the lowest bins.
    let complex_bins: usize = args.parsed("--complex-bins", 0)?;
    if complex_bins > 0 && !spectra {
        return Err(
            "--complex-bins needs --spectra (its \"don't care\" bins are clean_spec's)".into(),
        );
    }
    // A learned comb's training data: the noisy spectrum one pitch period back over the same bins.
    let comb = args.switch("--comb");
    if comb && complex_bins == 0 {
        return Err("--comb needs --complex-bins K (it writes those bins one period back)".into());
    }
    // The reverb head's targets: the same gains computed against the speech with its whole room.
    let reverb_targets = args.switch("--reverb-targets");
    // Teacher labelling, in two passes over the same seeded mixes: `--mixes-out DIR` writes every
    // noisy mixture as DIR/NNNNNNNN.wav for the teacher (training/teacher/label.py), and
    // `--teacher DIR` reads its delay-compensated output NNNNNNNN.teacher.wav back and turns it into
    // band-gain targets here, with the engine's own filterbank.
    let mixes_out = args.value("--mixes-out", None)?.map(PathBuf::from);
    let teacher = args.value("--teacher", None)?.map(PathBuf::from);
    let teacher_mix: f32 = args.parsed("--teacher-mix", 1.0)?;
    // Where the teacher's targets count: `all` frames, or only `pauses` (no speech in the clean
    // signal), where its deeper removal costs no speech.
    let teacher_where = args
        .value("--teacher-where", None)?
        .unwrap_or_else(|| "all".to_string());
    if teacher_where != "all" && teacher_where != "pauses" {
        return Err(format!(
            "--teacher-where {teacher_where}: use all or pauses"
        ));
    }
    let pauses_only = teacher_where == "pauses";
    if !(0.0..=1.0).contains(&teacher_mix) {
        return Err(
            "--teacher-mix must be between 0 (oracle targets) and 1 (teacher targets)".into(),
        );
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
    if let Some(dir) = &mixes_out {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create '{}': {e}", dir.display()))?;
    }
    let nb = edges.len() - 1;
    let nf = n_features(feature_version, nb);
    let mut wf = NpyWriter::create(&out.join("features.npy"), Some(nf))?;
    let mut wt = NpyWriter::create(&out.join("targets.npy"), Some(nb))?;
    let mut wv = NpyWriter::create(&out.join("vad.npy"), None)?;
    let mut wr = if reverb_targets {
        Some(NpyWriter::create(
            &out.join("targets_reverb.npy"),
            Some(nb),
        )?)
    } else {
        None
    };
    let grid = FrameGrid::for_rate(RATE).expect("design rate");
    let bins = grid.bins();
    // What the trainer's output-spectrum loss needs, from the engine's own analysis: compressed
    // noisy and clean magnitudes (float16) and the engine's band-to-bin interpolation.
    let mut spec_writers = if spectra {
        let interp = BandMap::new(&edges, &grid).interpolation_matrix();
        let mut wi = NpyWriter::create(&out.join("interp.npy"), Some(nb))?;
        for row in interp.chunks_exact(nb) {
            wi.write_row(row)?;
        }
        wi.finish()?;
        Some((
            NpyWriter::create_f16(&out.join("noisy_spec.npy"), Some(bins))?,
            NpyWriter::create_f16(&out.join("clean_spec.npy"), Some(bins))?,
        ))
    } else {
        None
    };
    let kc = complex_bins.min(bins);
    let mut comb_writer = if comb {
        Some(NpyWriter::create_f16(
            &out.join("noisy_comb.npy"),
            Some(2 * kc),
        )?)
    } else {
        None
    };
    let mut cplx_writers = if kc > 0 {
        Some((
            NpyWriter::create_f16(&out.join("noisy_cplx.npy"), Some(2 * kc))?,
            NpyWriter::create_f16(&out.join("clean_cplx.npy"), Some(2 * kc))?,
        ))
    } else {
        None
    };

    let target_frames = (hours * 3600.0 * 200.0) as usize;
    let mut written = 0usize;
    let bar = progress::labelled("mixing", target_frames as u64, quiet);
    let mut batch_start = 0u64;
    let threads = threads.max(1);
    while written < target_frames {
        // Each mix is seeded by its index, so output is the same for any thread count.
        let batch: Vec<Result<(FrameRows, Vec<f32>), String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads as u64)
                .map(|t| {
                    let (speech, noise, edges) = (&speech, &noise, &edges);
                    let (mixes_out, teacher) = (&mixes_out, &teacher);
                    s.spawn(move || {
                        let index = batch_start + t;
                        let mut rng = Rng::new(seed.wrapping_mul(1_000_003).wrapping_add(index));
                        let m = mixer::make(speech, noise, &cfg, &mut rng);
                        if let Some(dir) = mixes_out {
                            teacher::write_mix(dir, index, &m.noisy, &m.target)?;
                        }
                        let mut rows = frames::compute_with_spectra(
                            &m.noisy,
                            &m.target,
                            edges,
                            m.bandwidth_hz,
                            m.nyquist_hz,
                            feature_version,
                            frames::SpectraOut {
                                magnitudes: spectra,
                                complex_bins,
                                comb,
                            },
                        );
                        if let Some(dir) = teacher {
                            let out = teacher::read_output(dir, index, m.noisy.len())?;
                            let taught = frames::compute(
                                &m.noisy,
                                &out,
                                edges,
                                m.bandwidth_hz,
                                m.nyquist_hz,
                                feature_version,
                            );
                            if pauses_only {
                                teacher::blend_targets_in_pauses(
                                    &mut rows.targets,
                                    &taught.targets,
                                    &rows.vad,
                                    edges.len() - 1,
                                    teacher_mix,
                                );
                            } else {
                                teacher::blend_targets(
                                    &mut rows.targets,
                                    &taught.targets,
                                    teacher_mix,
                                );
                            }
                        }
                        let room = if reverb_targets {
                            frames::compute(
                                &m.noisy,
                                &m.reverberant,
                                edges,
                                m.bandwidth_hz,
                                m.nyquist_hz,
                                feature_version,
                            )
                            .targets
                        } else {
                            Vec::new()
                        };
                        Ok((rows, room))
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
            let (rows, room) = rows?;
            for t in 0..rows.frames {
                wf.write_row(&rows.features[t * nf..(t + 1) * nf])?;
                wt.write_row(&rows.targets[t * nb..(t + 1) * nb])?;
                if let Some(wr) = wr.as_mut() {
                    wr.write_row(&room[t * nb..(t + 1) * nb])?;
                }
                wv.write_row(&rows.vad[t..t + 1])?;
                if let Some((wn, wc)) = spec_writers.as_mut() {
                    wn.write_row(&rows.noisy_spec[t * bins..(t + 1) * bins])?;
                    wc.write_row(&rows.clean_spec[t * bins..(t + 1) * bins])?;
                }
                if let Some((wn, wc)) = cplx_writers.as_mut() {
                    wn.write_row(&rows.noisy_cplx[t * 2 * kc..(t + 1) * 2 * kc])?;
                    wc.write_row(&rows.clean_cplx[t * 2 * kc..(t + 1) * 2 * kc])?;
                }
                if let Some(w) = comb_writer.as_mut() {
                    w.write_row(&rows.noisy_comb[t * 2 * kc..(t + 1) * 2 * kc])?;
                }
            }
            written += rows.frames;
        }
        bar.set_position(written as u64);
    }
    bar.finish();
    let frames = wf.finish()?;
    wt.finish()?;
    wv.finish()?;
    if let Some(wr) = wr {
        wr.finish()?;
    }
    if let Some((wn, wc)) = spec_writers {
        wn.finish()?;
        wc.finish()?;
    }
    if let Some((wn, wc)) = cplx_writers {
        wn.finish()?;
        wc.finish()?;
    }
    if let Some(w) = comb_writer {
        w.finish()?;
    }
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
        "reverb_prob": cfg.reverb_prob,
        "rt60_max": cfg.rt60_max,
        "formant_shift": cfg.formant_prob,
        "reverb_targets": reverb_targets,
        "seed": seed,
        "mixes": batch_start,
        "spectra": spectra,
        "teacher": teacher.as_ref().map(|d| d.display().to_string()),
        "teacher_mix": teacher.as_ref().map(|_| teacher_mix),
        "teacher_where": teacher.as_ref().map(|_| teacher_where.clone()),
        "spectrum_power": frames::SPECTRUM_POWER,
        "bins": bins,
        "complex_bins": kc,
        "comb": comb,
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
