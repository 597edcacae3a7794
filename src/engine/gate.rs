//! Voice-activity gate for streamers: silences the output while the model hears no speech.
//!
//! A plain hold ("grace") keeps the gate open for a while after speech; the retroactive grace delays
//! the output by a few hops so the gate can open *before* the first speech sound reaches the output,
//! instead of clipping word onsets. That delay is added to the engine's reported latency.

use super::params::EngineParams;
use crate::dsp::grid::FrameGrid;

/// Longest retroactive grace: the delay line is sized for it at construction.
pub const MAX_LOOKBACK_MS: f32 = 200.0;
/// Longest hold after speech.
pub const MAX_HOLD_MS: f32 = 2000.0;
/// Gate gain change per hop: opening is one hop (5 ms, a fade, never a click), closing four.
const OPEN_STEP: f32 = 1.0;
const CLOSE_STEP: f32 = 0.25;

pub(crate) struct Gate {
    hop: usize,
    hop_ms: f32,
    /// Per channel, `slots` hops of delayed output.
    delay: Vec<Vec<f32>>,
    slots: usize,
    write: usize,
    hops_since_speech: u32,
    gain: f32,
}

impl Gate {
    pub fn new(grid: FrameGrid, channels: usize) -> Self {
        let hop_ms = grid.hop as f32 * 1000.0 / grid.sample_rate;
        let slots = (MAX_LOOKBACK_MS / hop_ms).ceil() as usize + 1;
        Self {
            hop: grid.hop,
            hop_ms,
            delay: vec![vec![0.0; slots * grid.hop]; channels],
            slots,
            write: 0,
            hops_since_speech: u32::MAX,
            gain: 1.0,
        }
    }

    /// Whole hops of retroactive grace (0 when the gate is off).
    pub fn lookback_hops(&self, p: &EngineParams) -> usize {
        if !p.gate {
            return 0;
        }
        ((p.gate_lookback_ms / self.hop_ms).round() as usize).min(self.slots - 1)
    }

    pub fn reset(&mut self, p: &EngineParams) {
        for d in &mut self.delay {
            d.fill(0.0);
        }
        self.write = 0;
        self.hops_since_speech = u32::MAX;
        self.gain = if p.gate { 0.0 } else { 1.0 };
    }

    /// Current gate gain (1 = open).
    pub fn gain(&self) -> f32 {
        self.gain
    }

    /// One hop: `speech` is the model's speech probability (max over channels), `active` the
    /// smoothed un-bypass amount (1 = processing). Delays and gates each channel's hop in place.
    pub fn process<'a>(
        &mut self,
        p: &EngineParams,
        speech: f32,
        active: f32,
        hops: impl Iterator<Item = &'a mut Vec<f32>>,
    ) {
        let lookback = self.lookback_hops(p);
        self.hops_since_speech = if speech >= p.gate_threshold {
            0
        } else {
            self.hops_since_speech.saturating_add(1)
        };
        // The output now carries input from `lookback` hops ago: it is open if speech was heard
        // anywhere from `hold` before that point up to now.
        let hold = (p.gate_hold_ms / self.hop_ms).round() as u32;
        let open = !p.gate || self.hops_since_speech <= hold + lookback as u32;
        let from = self.gain;
        let to = if open {
            (from + OPEN_STEP).min(1.0)
        } else {
            (from - CLOSE_STEP).max(0.0)
        };
        self.gain = to;

        let hop = self.hop;
        let w = self.write * hop;
        let r = ((self.write + self.slots - lookback) % self.slots) * hop;
        for (hop_out, line) in hops.zip(&mut self.delay) {
            line[w..w + hop].copy_from_slice(hop_out);
            hop_out.copy_from_slice(&line[r..r + hop]);
            if from == 1.0 && to == 1.0 {
                continue;
            }
            for (i, x) in hop_out.iter_mut().enumerate() {
                let g = from + (to - from) * (i + 1) as f32 / hop as f32;
                // Bypass overrides the gate, smoothly.
                *x *= active * g + (1.0 - active);
            }
        }
        self.write = (self.write + 1) % self.slots;
    }
}
