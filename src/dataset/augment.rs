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

/// A synthetic room impulse response: direct path, then exponentially decaying noise. Returns the
/// full response and its early part (direct + first 50 ms), which is what the target keeps.
pub fn random_rir(rate: f32, rng: &mut Rng) -> (Vec<f32>, Vec<f32>) {
    let rt60 = rng.range(0.15, 0.9);
    let len = ((rt60 * rate) as usize).min((0.8 * rate) as usize);
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
    fn convolution_with_delta_is_identity() {
        let x: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.1).sin()).collect();
        let y = convolve(&x, &[1.0, 0.0, 0.0]);
        assert!(x.iter().zip(&y).all(|(a, b)| (a - b).abs() < 1e-4));
    }
}
