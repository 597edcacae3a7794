//! What the audio thread shows the editor besides the spectrum feed: plain atomics, written without
//! waiting, read whenever the editor repaints.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::handoff::ModelKey;

pub struct Telemetry {
    pub input_peak: AtomicF32,
    pub output_peak: AtomicF32,
    pub latency_samples: AtomicU32,
    pub sample_rate: AtomicF32,
    /// Model running in the engine: bundled index, or `u32::MAX` for the user file.
    pub active_model: AtomicU32,
    /// Whether that model has the reverb head (else Reverb Reduction is shown as unavailable).
    pub reverb_head: AtomicBool,
    /// Share of real time spent in `process()`, smoothed (1.0 = a whole core).
    pub cpu_load: AtomicF32,
}

pub const USER_MODEL: u32 = u32::MAX;

impl Default for Telemetry {
    fn default() -> Self {
        Self {
            input_peak: AtomicF32::new(0.0),
            output_peak: AtomicF32::new(0.0),
            latency_samples: AtomicU32::new(0),
            sample_rate: AtomicF32::new(0.0),
            active_model: AtomicU32::new(0),
            reverb_head: AtomicBool::new(false),
            cpu_load: AtomicF32::new(0.0),
        }
    }
}

impl Telemetry {
    pub fn set_active(&self, key: ModelKey, reverb_head: bool) {
        self.reverb_head.store(reverb_head, Ordering::Relaxed);
        let code = match key {
            ModelKey::Bundled(i) => i as u32,
            ModelKey::User(_) => USER_MODEL,
        };
        self.active_model.store(code, Ordering::Relaxed);
    }

    /// Audio thread: fold one block's processing time into the load estimate.
    pub fn add_load(&self, seconds_spent: f32, seconds_of_audio: f32) {
        if seconds_of_audio <= 0.0 {
            return;
        }
        let now = seconds_spent / seconds_of_audio;
        let old = self.cpu_load.load(Ordering::Relaxed);
        self.cpu_load
            .store(old + (now - old) * 0.05, Ordering::Relaxed);
    }

    /// Audio thread: keep the highest peak since the editor last took it.
    pub fn add_peaks(&self, input: f32, output: f32) {
        for (a, v) in [(&self.input_peak, input), (&self.output_peak, output)] {
            if v > a.load(Ordering::Relaxed) {
                a.store(v, Ordering::Relaxed);
            }
        }
    }

    /// Editor: peaks since the last call, then start over.
    pub fn take_peaks(&self) -> (f32, f32) {
        (
            self.input_peak.swap(0.0, Ordering::Relaxed),
            self.output_peak.swap(0.0, Ordering::Relaxed),
        )
    }
}

pub fn peak(buffers: &[&mut [f32]]) -> f32 {
    buffers.iter().flat_map(|b| b.iter()).fold(0.0f32, |m, x| {
        if x.is_finite() { m.max(x.abs()) } else { m }
    })
}
