//! Per-channel STFT state.

use realfft::num_complex::Complex;

use super::INPUT_LIMIT;
use crate::dsp::features::power_spectrum;
use crate::dsp::grid::FrameGrid;
use crate::dsp::stft::{Analysis, Synthesis};

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
        }
    }

    pub fn reset(&mut self) {
        self.analysis.reset();
        self.long.reset();
        self.synthesis.reset();
        self.last_bin_gains.fill(1.0);
        self.hum_then.fill(0.0);
        self.hum_then_live = false;
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
        self.long.shift(&self.hop_in);
        if long {
            self.long.transform(&mut self.long_spec);
            power_spectrum(&self.long_spec, &mut self.long_power);
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
