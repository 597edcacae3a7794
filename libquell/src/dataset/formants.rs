//! New voices from the ones we have: move a voice's formants (its vocal tract's resonances) up or down
//! while its pitch and tempo stay, as a shorter or longer vocal tract would (vocal-tract-length
//! warping). Speed perturbation moves pitch, formants and tempo together; this moves formants alone.
//!
//! Per 21 ms frame (75 % overlap, sqrt-Hann windows): the spectral envelope is the log spectrum
//! smoothed by liftering its cepstrum (the harmonics of any pitch above 80 Hz lie past the lifter),
//! and every bin is scaled by the envelope warped in frequency over the envelope itself, so the
//! harmonics stay where they are and take the warped envelope's level.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

const FRAME: usize = 1024;
const HOP: usize = FRAME / 4;
/// Cepstral coefficients kept (of the frame's 1024): below 1.9 ms of quefrency at 48 kHz, short of the
/// 2.5 ms period of a 400 Hz voice.
const LIFTER: usize = 90;
/// No bin moves more than this (dB), so a warped envelope never digs out or blows up a band.
const MAX_GAIN_DB: f32 = 20.0;

/// `x` (48 kHz) with its formants moved by `factor` (> 1: up, a shorter vocal tract). Same length.
pub fn shift_formants(x: &[f32], factor: f32) -> Vec<f32> {
    if x.is_empty() || !(factor.is_finite() && factor > 0.0) {
        return x.to_vec();
    }
    let window: Vec<f32> = (0..FRAME)
        .map(|i| (std::f32::consts::PI * (i as f32 + 0.5) / FRAME as f32).sin())
        .collect();
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(FRAME);
    let inv = planner.plan_fft_inverse(FRAME);
    let bins = FRAME / 2 + 1;
    let mut frame = vec![0.0f32; FRAME];
    let mut spec = fwd.make_output_vec();
    let mut log_spec = vec![Complex::new(0.0f32, 0.0); bins];
    let mut cep = vec![0.0f32; FRAME];
    let mut env = vec![0.0f32; bins];
    // Pad by a frame on each side so every sample is covered by four frames.
    let padded = x.len() + 2 * FRAME;
    let mut out = vec![0.0f32; padded];
    let mut norm = vec![0.0f32; padded];
    let at = |i: isize| -> f32 {
        let j = i - FRAME as isize;
        if j >= 0 && (j as usize) < x.len() {
            x[j as usize]
        } else {
            0.0
        }
    };
    let mut start = 0usize;
    while start + FRAME <= padded {
        for (i, (f, w)) in frame.iter_mut().zip(&window).enumerate() {
            *f = at((start + i) as isize) * w;
        }
        let _ = fwd.process(&mut frame, &mut spec);
        // Smoothed log envelope: cepstrum, lifter, back.
        for (l, s) in log_spec.iter_mut().zip(&spec) {
            *l = Complex::new((s.norm_sqr() + 1e-12).ln() * 0.5, 0.0);
        }
        let _ = inv.process(&mut log_spec, &mut cep);
        for (n, c) in cep.iter_mut().enumerate() {
            let q = n.min(FRAME - n);
            *c = if q < LIFTER { *c / FRAME as f32 } else { 0.0 };
        }
        let _ = fwd.process(&mut cep, &mut log_spec);
        for (e, l) in env.iter_mut().zip(&log_spec) {
            *e = l.re;
        }
        let max_gain = MAX_GAIN_DB / 20.0 * std::f32::consts::LN_10;
        for (k, s) in spec.iter_mut().enumerate() {
            // The warped envelope at bin k is the original's at k / factor.
            let src = (k as f32 / factor).min((bins - 1) as f32);
            let j = src.floor() as usize;
            let t = src - j as f32;
            let warped = env[j] * (1.0 - t) + env[(j + 1).min(bins - 1)] * t;
            *s *= (warped - env[k]).clamp(-max_gain, max_gain).exp();
        }
        spec[0].im = 0.0;
        spec[bins - 1].im = 0.0;
        let _ = inv.process(&mut spec, &mut frame);
        for (i, (f, w)) in frame.iter().zip(&window).enumerate() {
            out[start + i] += f * w / FRAME as f32;
            norm[start + i] += w * w;
        }
        start += HOP;
    }
    (0..x.len())
        .map(|i| {
            let n = norm[i + FRAME];
            if n > 1e-6 { out[i + FRAME] / n } else { 0.0 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::biquad::Biquad;

    const RATE: f32 = 48_000.0;

    /// A vowel-like sound: a 120 Hz pulse train through one resonance at `formant` Hz.
    fn vowel(formant: f32) -> Vec<f32> {
        let n = RATE as usize;
        let period = (RATE / 120.0) as usize;
        let mut x: Vec<f32> = (0..n)
            .map(|i| if i % period == 0 { 1.0 } else { 0.0 })
            .collect();
        // Two-pole resonance, 150 Hz wide.
        let r = (-std::f32::consts::PI * 150.0 / RATE).exp();
        let c = (2.0 * std::f32::consts::PI * formant / RATE).cos();
        Biquad::new([1.0, 0.0, 0.0], [-2.0 * r * c, r * r]).run(&mut x);
        x
    }

    /// Frequency of the strongest harmonic's neighbourhood: power-weighted centre of the spectrum
    /// between 300 and 3000 Hz.
    fn centroid(x: &[f32]) -> f32 {
        let n = x.len().next_power_of_two();
        let mut a = x.to_vec();
        a.resize(n, 0.0);
        let mut planner = RealFftPlanner::<f32>::new();
        let f = planner.plan_fft_forward(n);
        let mut s = f.make_output_vec();
        let _ = f.process(&mut a, &mut s);
        let hz = RATE / n as f32;
        let (mut num, mut den) = (0.0f64, 0.0f64);
        for (k, v) in s.iter().enumerate() {
            let fk = k as f32 * hz;
            if (300.0..3000.0).contains(&fk) {
                let p = v.norm_sqr() as f64;
                num += p * fk as f64;
                den += p;
            }
        }
        (num / den) as f32
    }

    /// Period (Hz) from the autocorrelation peak between 80 and 400 Hz.
    fn pitch(x: &[f32]) -> f32 {
        let seg = &x[4800..4800 + 9600];
        let best = (120..600)
            .max_by(|&a, &b| {
                let r = |l: usize| {
                    seg[..seg.len() - l]
                        .iter()
                        .zip(&seg[l..])
                        .map(|(p, q)| p * q)
                        .sum::<f32>()
                };
                r(a).total_cmp(&r(b))
            })
            .unwrap();
        RATE / best as f32
    }

    #[test]
    fn factor_one_gives_back_the_input() {
        let x = vowel(800.0);
        let y = shift_formants(&x, 1.0);
        assert_eq!(y.len(), x.len());
        let err = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        assert!(err < 1e-3 * peak, "max error {err} of peak {peak}");
    }

    #[test]
    fn formants_move_and_pitch_stays() {
        let x = vowel(900.0);
        let c0 = centroid(&x);
        for factor in [0.87f32, 1.15] {
            let y = shift_formants(&x, factor);
            let c = centroid(&y);
            let moved = c / c0;
            assert!(
                (moved - factor).abs() < 0.5 * (factor - 1.0).abs(),
                "factor {factor}: spectral centre {c0} -> {c} Hz ({moved:.3}x)"
            );
            assert!(
                (pitch(&y) - 120.0).abs() < 3.0,
                "factor {factor}: pitch {} Hz",
                pitch(&y)
            );
            assert_eq!(y.len(), x.len());
        }
    }

    #[test]
    fn silence_and_bad_factors_pass_through() {
        assert!(shift_formants(&[], 1.1).is_empty());
        assert_eq!(shift_formants(&[0.0; 3000], 1.1), vec![0.0; 3000]);
        let x = vowel(700.0);
        assert_eq!(shift_formants(&x, f32::NAN), x);
        assert_eq!(shift_formants(&x, 0.0), x);
    }
}
