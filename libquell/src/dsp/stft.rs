//! Causal STFT analysis and overlap-add synthesis (sqrt-Hann windows, 50 % overlap).
//!
//! Analysis and synthesis windows multiply to a periodic Hann window, whose 50 %-overlapped copies sum
//! to exactly one, so with unit gains the output is the input delayed by `fft - hop` samples.

use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::sync::Arc;

use super::features;
use super::grid::FrameGrid;

pub type Spectrum = [Complex<f32>];

/// sqrt of a periodic Hann window of length `n`.
pub fn sqrt_hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = std::f32::consts::PI * i as f32 / n as f32;
            x.sin()
        })
        .collect()
}

/// Sliding-window analysis: push one hop, get the spectrum of the last `fft` samples.
pub struct Analysis {
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    history: Vec<f32>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
    /// Scales the spectrum so that band energies do not depend on the FFT size (sample rate).
    scale: f32,
}

impl Analysis {
    /// The engine's analysis: `fft = 2 hop` samples, sqrt-Hann (its synthesis is [`Synthesis`]).
    pub fn new(grid: FrameGrid) -> Self {
        Self::with_window(grid.hop, sqrt_hann(grid.fft), 1.0 / grid.fft as f32)
    }

    /// The features' long analysis (`LONG_HOPS` hops, Hann): finer frequency resolution from
    /// older samples only, never synthesised.
    pub fn long(grid: FrameGrid) -> Self {
        let n = features::LONG_HOPS * grid.hop;
        Self::with_window(grid.hop, features::long_window(n), 1.0)
    }

    fn with_window(hop: usize, window: Vec<f32>, scale: f32) -> Self {
        let n = window.len();
        let mut planner = RealFftPlanner::<f32>::new();
        let fft = planner.plan_fft_forward(n);
        let scratch = fft.make_scratch_vec();
        Self {
            hop,
            window,
            history: vec![0.0; n],
            frame: vec![0.0; n],
            scratch,
            fft,
            scale,
        }
    }

    /// Complex bins this analysis writes.
    pub fn bins(&self) -> usize {
        self.window.len() / 2 + 1
    }

    pub fn reset(&mut self) {
        self.history.fill(0.0);
    }

    /// Shift in `hop` new samples and write the scaled spectrum (`bins` values) to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Spectrum) {
        self.shift(input);
        self.transform(out);
    }

    /// Shift in `hop` new samples without transforming (keeps the history current while the
    /// spectrum is not needed).
    pub fn shift(&mut self, input: &[f32]) {
        debug_assert_eq!(input.len(), self.hop);
        let hop = self.hop;
        self.history.copy_within(hop.., 0);
        let n = self.history.len();
        self.history[n - hop..].copy_from_slice(input);
    }

    /// The scaled spectrum of the current history.
    pub fn transform(&mut self, out: &mut Spectrum) {
        for ((f, h), w) in self.frame.iter_mut().zip(&self.history).zip(&self.window) {
            *f = h * w * self.scale;
        }
        self.fft_frame(out);
    }

    /// The scaled spectrum of `samples` (one window long) instead of the history: this analysis's
    /// window and scale on samples it does not hold (the pitch comb's window one period back).
    pub fn transform_samples(&mut self, samples: &[f32], out: &mut Spectrum) {
        debug_assert_eq!(samples.len(), self.window.len());
        for ((f, h), w) in self.frame.iter_mut().zip(samples).zip(&self.window) {
            *f = h * w * self.scale;
        }
        self.fft_frame(out);
    }

    fn fft_frame(&mut self, out: &mut Spectrum) {
        // Lengths are fixed at construction, so this cannot fail.
        let _ = self
            .fft
            .process_with_scratch(&mut self.frame, out, &mut self.scratch);
    }
}

/// Overlap-add synthesis: take one (modified) spectrum, emit `hop` finished samples.
pub struct Synthesis {
    grid: FrameGrid,
    ifft: Arc<dyn ComplexToReal<f32>>,
    window: Vec<f32>,
    acc: Vec<f32>,
    frame: Vec<f32>,
    scratch: Vec<Complex<f32>>,
}

impl Synthesis {
    pub fn new(grid: FrameGrid) -> Self {
        let mut planner = RealFftPlanner::<f32>::new();
        let ifft = planner.plan_fft_inverse(grid.fft);
        let scratch = ifft.make_scratch_vec();
        Self {
            grid,
            window: sqrt_hann(grid.fft),
            acc: vec![0.0; grid.fft],
            frame: vec![0.0; grid.fft],
            scratch,
            ifft,
        }
    }

    pub fn reset(&mut self) {
        self.acc.fill(0.0);
    }

    /// `spec` is consumed as scratch. Writes `hop` output samples.
    pub fn push(&mut self, spec: &mut Spectrum, out: &mut [f32]) {
        let hop = self.grid.hop;
        // A real signal has no imaginary part at DC (and at Nyquist for even sizes).
        spec[0].im = 0.0;
        if self.grid.fft.is_multiple_of(2) {
            let last = spec.len() - 1;
            spec[last].im = 0.0;
        }
        let _ = self
            .ifft
            .process_with_scratch(spec, &mut self.frame, &mut self.scratch);
        // Analysis scaled by 1/N; realfft's inverse is unnormalised (x N), so the pair is unity.
        for ((a, f), w) in self.acc.iter_mut().zip(&self.frame).zip(&self.window) {
            *a += f * w;
        }
        out.copy_from_slice(&self.acc[..hop]);
        self.acc.copy_within(hop.., 0);
        let n = self.acc.len();
        self.acc[n - hop..].fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unity_gain_reconstructs_input_delayed_by_fft_minus_hop() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let mut a = Analysis::new(grid);
        let mut s = Synthesis::new(grid);
        let mut spec = vec![Complex::new(0.0, 0.0); grid.bins()];
        let input: Vec<f32> = (0..grid.hop * 20)
            .map(|i| ((i * 7919) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        let mut output = vec![0.0; input.len()];
        for (i, o) in input.chunks(grid.hop).zip(output.chunks_mut(grid.hop)) {
            a.push(i, &mut spec);
            s.push(&mut spec, o);
        }
        let d = grid.fft - grid.hop;
        for t in grid.fft..input.len() {
            assert!((output[t] - input[t - d]).abs() < 1e-5, "t={t}");
        }
    }
}
