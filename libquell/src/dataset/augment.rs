//! RNNoise-style augmentation: random second-order filters, synthetic reverberation, clipping.

use realfft::RealFftPlanner;
use realfft::num_complex::Complex;

use super::rng::Rng;
use crate::dsp::biquad::Biquad;

/// A random second-order filter with zeros and poles inside |z| < 1 (coefficients in +-3/8, as
/// RNNoise does), normalised afterwards by the caller's level setting.
pub fn random_filter(rng: &mut Rng) -> Biquad {
    let mut c = || rng.range(-0.375, 0.375);
    Biquad::new([1.0, c(), c()], [c(), c()])
}

/// A synthetic room impulse response: direct path, then exponentially decaying noise, RT60 drawn
/// from 0.15 s to `rt60_max`. Returns the full response and its early part (direct + first 50 ms),
/// which is what the target keeps.
pub fn random_rir(rate: f32, rt60_max: f32, rng: &mut Rng) -> (Vec<f32>, Vec<f32>) {
    let rt60 = rng.range(0.15, rt60_max);
    // 0.8 s of response at the default 0.9 (as the shipped dumps were made); longer rooms get
    // responses long enough to carry their tails.
    let max_len = 0.8f32.max(rt60_max - 0.1);
    let len = ((rt60 * rate) as usize).min((max_len * rate) as usize);
    let pre = (rng.range(0.001, 0.01) * rate) as usize;
    let tail_gain = rng.range(0.1, 0.6);
    let mut h = vec![0.0f32; len.max(pre + 2)];
    h[0] = 1.0;
    let decay = -6.9 / (rt60 * rate);
    for (n, x) in h.iter_mut().enumerate().skip(pre) {
        *x = tail_gain * rng.normal() * (decay * n as f32).exp() * 0.1;
    }
    let early_len = ((0.05 * rate) as usize).min(h.len());
    (h.clone(), h[..early_len].to_vec())
}

/// Linear convolution by FFT, truncated to the input's length (causal: the tail past the end is cut).
pub fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let fwd = planner.plan_fft_forward(n);
    let inv = planner.plan_fft_inverse(n);
    let mut a = vec![0.0; n];
    a[..x.len()].copy_from_slice(x);
    let mut b = vec![0.0; n];
    b[..h.len()].copy_from_slice(h);
    let mut fa = fwd.make_output_vec();
    let mut fb = fwd.make_output_vec();
    let _ = fwd.process(&mut a, &mut fa);
    let _ = fwd.process(&mut b, &mut fb);
    for (p, q) in fa.iter_mut().zip(&fb) {
        *p = *p * q / n as f32;
    }
    fa[0].im = 0.0;
    let last = fa.len() - 1;
    fa[last] = Complex::new(fa[last].re, 0.0);
    let mut out = vec![0.0; n];
    let _ = inv.process(&mut fa, &mut out);
    out.truncate(x.len());
    out
}

/// Play `x` `factor` times faster (length / factor, pitch × factor) by cubic (Catmull-Rom)
/// interpolation. Speech at 48 kHz has next to nothing above 20 kHz, so no anti-alias filter is needed
/// for the factors used (≤ 1.15).
pub fn change_speed(x: &[f32], factor: f32) -> Vec<f32> {
    if x.is_empty() || factor.is_nan() || factor <= 0.0 {
        return x.to_vec();
    }
    let at = |i: isize| x[i.clamp(0, x.len() as isize - 1) as usize];
    let n = ((x.len() as f64) / factor as f64).floor() as usize;
    (0..n)
        .map(|i| {
            let pos = i as f64 * factor as f64;
            let k = pos.floor() as isize;
            let t = (pos - k as f64) as f32;
            let (p0, p1, p2, p3) = (at(k - 1), at(k), at(k + 1), at(k + 2));
            p1 + 0.5
                * t
                * (p2 - p0
                    + t * (2.0 * p0 - 5.0 * p1 + 4.0 * p2 - p3 + t * (3.0 * (p1 - p2) + p3 - p0)))
        })
        .collect()
}

pub fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|v| v * v).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// Power of the active part of a signal: 20 ms frames within 40 dB of the loudest.
pub fn active_power(x: &[f32], rate: f32) -> f32 {
    let f = (0.02 * rate) as usize;
    let powers: Vec<f32> = x
        .chunks(f)
        .map(|c| c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32)
        .collect();
    let max = powers.iter().cloned().fold(0.0, f32::max);
    let active: Vec<f32> = powers.into_iter().filter(|&p| p > max * 1e-4).collect();
    if active.is_empty() {
        0.0
    } else {
        active.iter().sum::<f32>() / active.len() as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speed_change_moves_a_tone_and_shortens_the_clip() {
        // 1 kHz tone played 1.1x faster: 1.1 kHz, 1/1.1 the length, same level.
        let rate = 48_000.0;
        let x: Vec<f32> = (0..48_000)
            .map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / rate).sin())
            .collect();
        let y = change_speed(&x, 1.1);
        assert_eq!(y.len(), (48_000.0f64 / 1.1).floor() as usize);
        let crossings = y.windows(2).filter(|w| w[0] < 0.0 && w[1] >= 0.0).count() as f32;
        let hz = crossings / (y.len() as f32 / rate);
        assert!((hz - 1100.0).abs() < 3.0, "{hz} Hz");
        assert!((rms(&y) - rms(&x)).abs() < 0.01);
        assert_eq!(change_speed(&x, 1.0), x);
    }

    #[test]
    fn convolution_with_delta_is_identity() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let y = convolve(&x, &[1.0, 0.0, 0.0]);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-4));
    }
}
