//! Hum removal: mains hum (50 or 60 Hz with harmonics, drifting) and a steady tone under speech
//! are taken down by at least 30 dB, the speech is kept, and clean speech is left alone.

mod common;

use common::speech::speech;
use common::*;
use quell::engine::EngineParams;
use std::f32::consts::PI;

const RATE: f32 = 48_000.0;

/// A steady component: its harmonics' amplitudes and phases over time (for measuring it later).
struct Tone {
    /// (amplitude, phase per sample)
    parts: Vec<(f32, Vec<f32>)>,
}

impl Tone {
    /// Fundamental `f0` drifting by `drift` Hz (a slow sine, 8 s period), harmonics with falling
    /// amplitudes, scaled to `dbfs` RMS in all.
    fn new(n: usize, f0: f32, drift: f32, harmonics: &[f32], dbfs: f32) -> Self {
        let power: f32 = harmonics.iter().map(|a| a * a / 2.0).sum();
        let scale = 10f32.powf(dbfs / 20.0) / power.sqrt();
        let parts = harmonics
            .iter()
            .enumerate()
            .map(|(h, &a)| {
                let mut phase = 0.0f64;
                let ph = (0..n)
                    .map(|i| {
                        let t = i as f32 / RATE;
                        let f = (f0 + drift * (2.0 * PI * t / 8.0).sin()) * (h + 1) as f32;
                        phase += 2.0 * std::f64::consts::PI * f as f64 / RATE as f64;
                        (phase % (2.0 * std::f64::consts::PI)) as f32
                    })
                    .collect();
                (a * scale, ph)
            })
            .collect();
        Self { parts }
    }

    fn signal(&self) -> Vec<f32> {
        let n = self.parts[0].1.len();
        (0..n)
            .map(|i| self.parts.iter().map(|(a, ph)| a * ph[i].sin()).sum())
            .collect()
    }

    /// Power of this tone's components in `y[a..b]`, by demodulating each with its known phase
    /// (a bandwidth of a fraction of a hertz: the speech barely registers).
    fn power_in(&self, y: &[f32], a: usize, b: usize) -> f32 {
        self.powers_in(y, a, b).iter().sum()
    }

    fn powers_in(&self, y: &[f32], a: usize, b: usize) -> Vec<f32> {
        self.parts
            .iter()
            .map(|(_, ph)| {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for i in a..b {
                    re += (y[i] * ph[i].cos()) as f64;
                    im += (y[i] * ph[i].sin()) as f64;
                }
                let amp = 2.0 * (re * re + im * im).sqrt() / (b - a) as f64;
                (amp * amp / 2.0) as f32
            })
            .collect()
    }
}

fn params() -> EngineParams {
    // Strength 0: the network changes nothing, so only the hum remover acts.
    EngineParams {
        strength_db: 0.0,
        hum_removal: true,
        ..EngineParams::default()
    }
}

/// Speech after a second of hum alone, the hum throughout; returns (reduction dB, speech SNR in
/// and out dB) measured from 2.5 s on (the detector needs about 1.5 s to trust a tone).
fn check(name: &str, tone: impl Fn(usize) -> Tone) {
    let s = speech(RATE);
    let lead = RATE as usize;
    let n = lead + s.len();
    let mut clean = vec![0.0; n];
    clean[lead..].copy_from_slice(&s);
    let hum = tone(n);
    let x: Vec<f32> = clean.iter().zip(hum.signal()).map(|(c, h)| c + h).collect();
    let mut e = engine(RATE, 1, params());
    let y = aligned(&mut e, &x, 512);
    let tones: Vec<(f32, f32)> = e.hum_tones().collect();
    let a = (RATE * 2.5) as usize;
    let reduction = 10.0 * (hum.power_in(&x, a, n) / hum.power_in(&y, a, n)).log10();
    let snr = |z: &[f32]| {
        let err: Vec<f32> = z[a..].iter().zip(&clean[a..]).map(|(p, q)| p - q).collect();
        20.0 * (rms(&clean[a..]) / rms(&err)).log10()
    };
    let (snr_in, snr_out) = (snr(&x), snr(&y));
    let each: Vec<String> = hum
        .powers_in(&x, a, n)
        .iter()
        .zip(hum.powers_in(&y, a, n))
        .map(|(p, q)| format!("{:.1}", 10.0 * (p / q).log10()))
        .collect();
    eprintln!("{name}: per harmonic {each:?} dB");
    eprintln!(
        "{name}: reduced by {reduction:.1} dB; speech SNR {snr_in:.1} -> {snr_out:.1} dB; notches {tones:.1?}"
    );
    assert!(reduction >= 30.0, "{name}: only {reduction:.1} dB");
    // What is left of the error is mostly the notches' phase shift on the speech near each tone.
    assert!(
        snr_out > snr_in + 12.0,
        "{name}: SNR {snr_in:.1} -> {snr_out:.1} dB"
    );
}

#[test]
fn mains_hum_at_50_hz_drifting_with_harmonics_is_removed() {
    check("50 Hz hum", |n| {
        Tone::new(n, 50.0, 0.3, &[1.0, 0.6, 0.4, 0.25, 0.15], -30.0)
    });
}

#[test]
fn mains_hum_at_60_hz_drifting_with_harmonics_is_removed() {
    check("60 Hz hum", |n| {
        Tone::new(n, 60.0, 0.3, &[1.0, 0.6, 0.4, 0.25, 0.15], -30.0)
    });
}

#[test]
fn a_steady_300_hz_tone_is_removed() {
    check("300 Hz tone", |n| Tone::new(n, 300.0, 0.0, &[1.0], -30.0));
}

#[test]
fn clean_speech_is_left_alone() {
    let s = speech(RATE);
    let mut x = vec![0.0; RATE as usize / 2];
    x.extend_from_slice(&s);
    x.extend_from_slice(&s);
    let mut e = engine(RATE, 1, params());
    let lat = e.latency();
    let mut y = x.clone();
    y.extend(std::iter::repeat_n(0.0, lat));
    let mut engaged = 0;
    for chunk in y.chunks_mut(480) {
        e.process(&mut [chunk]);
        engaged += e.hum_tones().count();
    }
    let err = y[lat..]
        .iter()
        .zip(&x)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0f32, f32::max);
    assert_eq!(engaged, 0, "a notch opened on clean speech");
    assert!(err < 1e-4, "{err}");
}
