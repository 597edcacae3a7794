//! Reverb Reduction: at 0 dB the room's decay survives, at full it is shortened, and on dry noisy
//! speech the setting changes nothing that matters (both remove the same noise). Measured on spoken
//! sentences in synthetic rooms with the energy decay curve (Schroeder) of the tail after the last
//! word, and its T20 and EDT.

mod common;

use common::speech::{speech, speech_after_noise};
use common::*;
use quell::engine::{Engine, EngineParams, MAX_REVERB_REDUCTION_DB, ModelInstance};
use quell::model::{ModelWeights, bundled};
use std::sync::Arc;

const RATE: f32 = 48_000.0;
const FULL: f32 = MAX_REVERB_REDUCTION_DB;

/// Energy decay curve in dB (0 at the start), by backward integration.
fn edc_db(x: &[f32]) -> Vec<f32> {
    let mut acc = 0.0f64;
    let mut e: Vec<f64> = x
        .iter()
        .rev()
        .map(|v| {
            acc += (*v as f64) * (*v as f64);
            acc
        })
        .collect();
    e.reverse();
    let e0 = e[0].max(1e-30);
    e.iter()
        .map(|v| (10.0 * (v.max(1e-30) / e0).log10()) as f32)
        .collect()
}

/// Seconds until the curve first falls below `db`.
fn crossing(edc: &[f32], db: f32) -> f32 {
    edc.iter().position(|&v| v < db).unwrap_or(edc.len()) as f32 / RATE
}

/// T20 (the -5 to -25 dB slope, as a 60 dB decay time) and EDT (0 to -10 dB, likewise).
fn t20_edt(edc: &[f32]) -> (f32, f32) {
    (
        3.0 * (crossing(edc, -25.0) - crossing(edc, -5.0)),
        6.0 * crossing(edc, -10.0),
    )
}

/// The bundled model, or a candidate file in its place: `QUELL_REVERB_TINY=path` (the name in capitals)
/// measures that file against the bundled model's bounds without rebuilding the bundle.
fn weights(name: &str) -> Arc<ModelWeights> {
    match std::env::var_os(format!("QUELL_REVERB_{}", name.to_uppercase())) {
        Some(path) => Arc::new(ModelWeights::from_file(std::path::Path::new(&path)).unwrap()),
        None => Arc::new(bundled::load(name).unwrap()),
    }
}

fn process(w: &Arc<ModelWeights>, reduction_db: f32, x: &[f32]) -> Vec<f32> {
    let inst = ModelInstance::new(w.clone(), RATE, 1).unwrap();
    let mut e = Engine::new(
        Box::new(inst),
        EngineParams {
            reverb_reduction_db: reduction_db,
            ..EngineParams::default()
        },
    );
    aligned(&mut e, x, 480)
}

struct Tail {
    input: (f32, f32),
    keep: (f32, f32),
    full: (f32, f32),
    /// Largest |EDC(output, keep) - EDC(input)| while the input's curve is above -20 dB.
    keep_edc_err_db: f32,
}

/// The sentence in a room of `rt60`, processed at 0 dB and at full reduction; the decay of the
/// second after the last word.
fn tail(model: &str, rt60: f32) -> Tail {
    let w = weights(model);
    let s = speech(RATE);
    let end = s.iter().rposition(|v| v.abs() > 1e-3).unwrap();
    let len = end + (1.5 * RATE) as usize;
    let x = in_room(&s, &room(rt60, 7, RATE), len);
    let keep = process(&w, 0.0, &x);
    let full = process(&w, FULL, &x);
    let window = end..end + (1.2 * RATE) as usize;
    let (ei, ek, ef) = (
        edc_db(&x[window.clone()]),
        edc_db(&keep[window.clone()]),
        edc_db(&full[window]),
    );
    let keep_edc_err_db = ei
        .iter()
        .zip(&ek)
        .take_while(|(a, _)| **a > -20.0)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    Tail {
        input: t20_edt(&ei),
        keep: t20_edt(&ek),
        full: t20_edt(&ef),
        keep_edc_err_db,
    }
}

#[test]
fn the_room_is_kept_at_0_db_and_shortened_at_full() {
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    // Bounds per model (docs/reverb.md): EDC error (dB, down to -20 dB) and T20 tolerance at 0 dB
    // reduction; at full, the largest T20 as a share of the input's and of what 0 dB keeps. The
    // tiny model (one 96-unit GRU) tells the room from noise less well, and gets looser stated
    // bounds.
    for (model, edc_db, t20_tol, full_vs_input, full_vs_keep) in [
        ("standard", 5.0, 0.25, 0.65, 0.8),
        ("hq", 5.0, 0.25, 0.65, 0.8),
        ("tiny", 6.5, 0.3, 0.75, 0.9),
    ] {
        for rt60 in [0.3, 0.6, 1.0] {
            let t = tail(model, rt60);
            eprintln!(
                "{model} RT60 {rt60}: T20/EDT input {:.2}/{:.2} s, reduction 0 {:.2}/{:.2} s \
                 (EDC within {:.1} dB), full {:.2}/{:.2} s",
                t.input.0, t.input.1, t.keep.0, t.keep.1, t.keep_edc_err_db, t.full.0, t.full.1
            );
            // Reduction 0: the decay is the input's.
            check(
                t.keep_edc_err_db < edc_db,
                format!("{model} {rt60}: EDC off by {} dB", t.keep_edc_err_db),
            );
            check(
                (t.keep.0 / t.input.0 - 1.0).abs() < t20_tol,
                format!("{model} {rt60}: T20 {} vs input {}", t.keep.0, t.input.0),
            );
            // Full: the room is shortened.
            check(
                t.full.0 < full_vs_input * t.input.0 && t.full.0 < full_vs_keep * t.keep.0,
                format!(
                    "{model} {rt60}: T20 {} at full vs input {} and {} at 0 dB",
                    t.full.0, t.input.0, t.keep.0
                ),
            );
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn on_dry_noisy_speech_both_settings_remove_the_same_noise() {
    let s = speech(RATE);
    let lead = RATE as usize;
    let (noisy, _, _) = speech_after_noise(&s, lead, 3, 5.0);
    for model in ["standard", "tiny", "hq"] {
        let w = weights(model);
        let keep = process(&w, 0.0, &noisy);
        let full = process(&w, FULL, &noisy);
        let db = |x: &[f32]| 20.0 * rms(x).max(1e-9).log10();
        // Noise alone, after settling.
        let noise_part = lead * 3 / 10..lead;
        let ni = db(&noisy[noise_part.clone()]);
        let (nk, nf) = (db(&keep[noise_part.clone()]), db(&full[noise_part]));
        // Where speech is: what differs between the two, against the output.
        let sp = lead..noisy.len();
        let diff: Vec<f32> = keep[sp.clone()]
            .iter()
            .zip(&full[sp.clone()])
            .map(|(a, b)| a - b)
            .collect();
        let ratio = db(&full[sp]) - db(&diff);
        eprintln!(
            "{model}: noise alone {ni:.1} dBFS in, {nk:.1} out at 0 dB reduction, {nf:.1} at full; \
             speech part differs by {ratio:.1} dB below the output"
        );
        // The same noise removal: within 2 dB, or both far below audibility (40 dB down or more).
        assert!(
            (nk - nf).abs() < 2.0 || (ni - nk > 40.0 && ni - nf > 40.0),
            "{model}: noise {ni} in, {nk} vs {nf} out"
        );
        assert!(ratio > 12.0, "{model}: outputs differ by only {ratio} dB");
    }
}

/// The noise between words: what the reverb head might mistake for a room's tail. Keeping the room
/// must not keep it (the engine lets the head pass only what follows the dry head's speech and
/// stands above the noise floor).
#[test]
fn noise_between_words_stays_down_when_the_room_is_kept() {
    let s = speech(RATE);
    let lead = RATE as usize;
    let (noisy, _, _) = speech_after_noise(&s, lead, 5, 10.0);
    // Gaps: 10 ms frames of the clean sentence 50 dB or more below its loudest frame, at least
    // 100 ms after any louder frame (past where a real room's early tail would be).
    let frame = RATE as usize / 100;
    let e: Vec<f32> = s
        .chunks_exact(frame)
        .map(|c| c.iter().map(|x| x * x).sum())
        .collect();
    let peak = e.iter().fold(0.0f32, |m, &x| m.max(x));
    let mut gaps = Vec::new();
    let mut since_loud = usize::MAX / 2;
    for (i, &x) in e.iter().enumerate() {
        since_loud = if x > peak * 1e-5 { 0 } else { since_loud + 1 };
        if since_loud > 10 {
            gaps.push(lead + i * frame..lead + (i + 1) * frame);
        }
    }
    assert!(
        gaps.len() > 10,
        "the sentence has no pauses to measure ({} frames)",
        gaps.len()
    );
    let gap_db = |y: &[f32]| {
        let p: f32 = gaps
            .iter()
            .flat_map(|r| y[r.clone()].iter())
            .map(|x| x * x)
            .sum();
        10.0 * (p / (gaps.len() * frame) as f32).max(1e-18).log10()
    };
    let ni = gap_db(&noisy);
    for model in ["standard", "tiny", "hq"] {
        let w = weights(model);
        let (k, f) = (
            gap_db(&process(&w, 0.0, &noisy)),
            gap_db(&process(&w, FULL, &noisy)),
        );
        eprintln!(
            "{model}: noise between words {ni:.1} dBFS in, {k:.1} out at 0 dB reduction, {f:.1} at full ({} ms)",
            gaps.len() * 10
        );
        // Within 3 dB of full, or far below the input as at full (35 dB down or more).
        assert!(
            k - f < 3.0 || ni - k > 35.0,
            "{model}: {k} dBFS between words at 0 dB reduction, {f} at full, {ni} in"
        );
    }
}

#[test]
fn a_model_without_the_head_ignores_the_setting() {
    let mut plain = (*weights("standard")).clone();
    plain.reverb = None;
    let w = Arc::new(plain);
    let x = noise(RATE as usize, 5, 0.2);
    assert_eq!(process(&w, 0.0, &x), process(&w, FULL, &x));
}

#[test]
fn every_bundled_model_has_the_reverb_head() {
    for m in bundled::BUNDLED {
        assert!(weights(m.name).has_reverb_head(), "{}", m.name);
    }
}
