//! Per-channel STFT state.

use realfft::num_complex::Complex;

use super::INPUT_LIMIT;
use super::harmonics::PitchComb;
use crate::dsp::features::power_spectrum;
use crate::dsp::grid::FrameGrid;
use crate::dsp::stft::{Analysis, Synthesis};
use crate::model::weights::{MAX_DEEP_FILTER_BINS, MAX_DEEP_FILTER_ORDER};

pub(crate) struct Channel {
    analysis: Analysis,
    synthesis: Synthesis,
    /// The features' 20 ms analysis; transformed only for models that read it.
    long: Analysis,
    long_spec: Vec<Complex<f32>>,
    pub spec: Vec<Complex<f32>>,
    pub power: Vec<f32>,
    /// Long-window power (valid after `analyse(true)`).
    pub long_power: Vec<f32>,
    pub hop_in: Vec<f32>,
    pub hop_out: Vec<f32>,
    pub last_bin_gains: Vec<f32>,
    /// What the hum remover took out of this hop's input, and out of the previous hop's (the
    /// STFT delays by exactly one hop, so that one lines up with this hop's output).
    pub hum_now: Vec<f32>,
    pub hum_then: Vec<f32>,
    /// Whether `hum_then` holds anything but zeros.
    pub hum_then_live: bool,
    /// The last [`MAX_DEEP_FILTER_ORDER`] analysed spectra of the lowest bins, a ring of
    /// `history_bins` each, the newest at `history_pos`: what a deep filter combines. Kept for every
    /// model, so a swap to one with a filter needs no warm-up.
    history: Vec<Complex<f32>>,
    history_bins: usize,
    history_pos: usize,
    /// Scratch: the deep filter's output for the lowest bins.
    filtered: Vec<Complex<f32>>,
    /// The pitch comb's state; its history is kept even while the comb is off.
    comb: PitchComb,
}

impl Channel {
    pub fn new(grid: FrameGrid) -> Self {
        let long = Analysis::long(grid);
        Self {
            analysis: Analysis::new(grid),
            synthesis: Synthesis::new(grid),
            long_spec: vec![Complex::new(0.0, 0.0); long.bins()],
            long_power: vec![0.0; long.bins()],
            long,
            spec: vec![Complex::new(0.0, 0.0); grid.bins()],
            power: vec![0.0; grid.bins()],
            hop_in: vec![0.0; grid.hop],
            hop_out: vec![0.0; grid.hop],
            last_bin_gains: vec![1.0; grid.bins()],
            hum_now: vec![0.0; grid.hop],
            hum_then: vec![0.0; grid.hop],
            hum_then_live: false,
            history: vec![
                Complex::new(0.0, 0.0);
                MAX_DEEP_FILTER_ORDER * MAX_DEEP_FILTER_BINS.min(grid.bins())
            ],
            history_bins: MAX_DEEP_FILTER_BINS.min(grid.bins()),
            history_pos: 0,
            filtered: vec![Complex::new(0.0, 0.0); MAX_DEEP_FILTER_BINS.min(grid.bins())],
            comb: PitchComb::new(grid),
        }
    }

    pub fn reset(&mut self) {
        self.analysis.reset();
        self.long.reset();
        self.synthesis.reset();
        self.last_bin_gains.fill(1.0);
        self.hum_then.fill(0.0);
        self.hum_then_live = false;
        self.history.fill(Complex::new(0.0, 0.0));
        self.comb.reset();
    }

    /// Sanitise the new hop: NaN/Inf and absurd levels become 0.
    pub fn sanitise(&mut self) {
        for x in &mut self.hop_in {
            *x = if x.abs() <= INPUT_LIMIT { *x } else { 0.0 }; // false for NaN too
        }
    }

    /// Analyse the (sanitised) hop; `long` also computes the long-window power (the history is
    /// kept either way, so a model switch needs no warm-up).
    pub fn analyse(&mut self, long: bool) {
        self.analysis.push(&self.hop_in, &mut self.spec);
        power_spectrum(&self.spec, &mut self.power);
        let n = self.history_bins;
        self.history_pos = (self.history_pos + 1) % MAX_DEEP_FILTER_ORDER;
        let at = self.history_pos * n;
        self.history[at..at + n].copy_from_slice(&self.spec[..n]);
        self.long.shift(&self.hop_in);
        self.comb.push(&self.hop_in);
        if long {
            self.long.transform(&mut self.long_spec);
            power_spectrum(&self.long_spec, &mut self.long_power);
        }
    }

    /// Apply a deep filter to the masked spectrum's lowest bins. `coefs` and `order` as
    /// `ModelInstance::deep_filter` gives them, `last_bin_gains` the mask's gains g, `wet` the share of the
    /// masked signal in the output (the mask's linear fold of mix, listen, output gain and bypass:
    /// `spec = (wet g + dry) X`). Bin k becomes `wet a q + dry X`, `q = g (X + (1 - g)(F - X))` with `F`
    /// the filtered `X`: the filter's departure shrinks with the gain, so a bin the mask keeps whole
    /// is never filtered (unbounded, speech at +20 dB lost 4 dB SI-SDR). `a` gives the filtered bins
    /// together the energy `g X` had, and no bin more than `|X|` (it cut the filter's STOI cost by a quarter;
    /// training/README.md, "A deep filter on the low band").
    pub fn deep_filter(&mut self, coefs: &[f32], order: usize, wet: f32) {
        if wet == 0.0 || order == 0 {
            return;
        }
        let n = self.history_bins;
        let bins = (coefs.len() / (2 * order)).min(n).min(self.spec.len());
        let now = self.history_pos;
        let (mut before, mut after) = (0.0f32, 0.0f32);
        for k in 0..bins {
            let c = &coefs[2 * order * k..2 * order * (k + 1)];
            let x0 = self.history[now * n + k];
            let mut f = Complex::new(0.0, 0.0);
            for i in 0..order.min(MAX_DEEP_FILTER_ORDER) {
                let slot = (now + MAX_DEEP_FILTER_ORDER - i) % MAX_DEEP_FILTER_ORDER;
                f += Complex::new(c[2 * i], c[2 * i + 1]) * self.history[slot * n + k];
            }
            let g = self.last_bin_gains[k];
            let q = (x0 + (f - x0) * (1.0 - g)) * g;
            before += (x0 * g).norm_sqr();
            after += q.norm_sqr();
            self.filtered[k] = q;
        }
        // The filtered band gets back the masked band's energy (as the spectral contrast does), no bin
        // above its input.
        let a = if after > 0.0 {
            (before / after).sqrt()
        } else {
            1.0
        };
        for k in 0..bins {
            let x0 = self.history[now * n + k];
            let mut q = self.filtered[k] * a;
            let (m, cap) = (q.norm(), x0.norm());
            if m > cap {
                q *= cap / m;
            }
            self.spec[k] += (q - x0 * self.last_bin_gains[k]) * wet;
        }
    }

    /// Work out the pitch comb's change for this hop's unmasked spectrum and the mask `gains`
    /// (`harmonics.rs`); `amount` 0..1. Call before masking; false if it changes nothing.
    pub fn prepare_comb(&mut self, gains: &[f32], amount: f32) -> bool {
        self.comb.prepare(&self.spec, gains, amount)
    }

    /// Add the prepared comb's change (already masked) to the masked spectrum, scaled by the wet
    /// share of the output (as for [`Channel::deep_filter`]).
    pub fn apply_comb(&mut self, wet: f32) {
        for (x, d) in self.spec.iter_mut().zip(&self.comb.delta) {
            *x += d * wet;
        }
    }

    /// Synthesise the (already masked) spectrum. Returns false if the output had to be silenced.
    pub fn synthesise(&mut self) -> bool {
        self.synthesis.push(&mut self.spec, &mut self.hop_out);
        if self.hop_out.iter().all(|x| x.is_finite()) {
            return true;
        }
        self.hop_out.fill(0.0);
        self.synthesis.reset();
        false
    }
}
