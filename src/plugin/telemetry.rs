//! What the audio thread shows the editor: plain atomics, written without waiting, read whenever the
//! editor repaints. A closed editor costs one relaxed store per value per block.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicU32, Ordering};

pub const MAX_BANDS: usize = 64;

pub struct Telemetry {
    pub band_gains: [AtomicF32; MAX_BANDS],
    pub n_bands: AtomicU32,
    pub input_peak: AtomicF32,
    pub output_peak: AtomicF32,
    pub vad: AtomicF32,
    pub latency_samples: AtomicU32,
    pub sample_rate: AtomicF32,
    /// Bundled model index currently running.
    pub active_model: AtomicU32,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            band_gains: std::array::from_fn(|_| AtomicF32::new(1.0)),
            n_bands: AtomicU32::new(0),
            input_peak: AtomicF32::new(0.0),
            output_peak: AtomicF32::new(0.0),
            vad: AtomicF32::new(0.0),
            latency_samples: AtomicU32::new(0),
            sample_rate: AtomicF32::new(0.0),
            active_model: AtomicU32::new(0),
        }
    }
}

impl Telemetry {
    pub fn publish_gains(&self, gains: &[f32]) {
        let n = gains.len().min(MAX_BANDS);
        for (a, &g) in self.band_gains.iter().zip(&gains[..n]) {
            a.store(g, Ordering::Relaxed);
        }
        self.n_bands.store(n as u32, Ordering::Relaxed);
    }

    pub fn gains(&self) -> Vec<f32> {
        let n = self.n_bands.load(Ordering::Relaxed) as usize;
        self.band_gains[..n]
            .iter()
            .map(|a| a.load(Ordering::Relaxed))
            .collect()
    }
}

pub fn peak(buffers: &[&mut [f32]]) -> f32 {
    buffers.iter().flat_map(|b| b.iter()).fold(0.0f32, |m, x| {
        if x.is_finite() { m.max(x.abs()) } else { m }
    })
}
