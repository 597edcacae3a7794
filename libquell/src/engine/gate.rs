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

    /// Whole hops of retroactive grace. It applies whether the gate is on or not: front ends set it
    /// to 0 with the gate off, and a plugin keeps it fixed between activations so the latency it
    /// reported stays true (see `src/plugin/mod.rs`).
    pub fn lookback_hops(&self, p: &EngineParams) -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn params(lookback_ms: f32, hold_ms: f32) -> EngineParams {
        EngineParams {
            gate: true,
            gate_threshold: 0.5,
            gate_hold_ms: hold_ms,
            gate_lookback_ms: lookback_ms,
            ..EngineParams::default()
        }
    }

    /// Hop k carries the value k+1 in every sample; speech is heard in hops 20..40. Returns the
    /// output hops.
    fn run(p: &EngineParams) -> Vec<Vec<f32>> {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let mut g = Gate::new(grid, 1);
        g.reset(p);
        (0..80)
            .map(|k| {
                let mut hop = vec![vec![(k + 1) as f32; grid.hop]];
                let speech = if (20..40).contains(&k) { 0.9 } else { 0.1 };
                g.process(p, speech, 1.0, hop.iter_mut());
                hop.pop().unwrap()
            })
            .collect()
    }

    #[test]
    fn retroactive_grace_opens_the_gate_before_the_first_word_reaches_the_output() {
        // 30 ms = 6 hops of delay: the first speech hop (value 21) leaves at hop 26, fully open.
        let out = run(&params(30.0, 0.0));
        assert!(out[26].iter().all(|&x| x == 21.0), "{:?}", &out[26][..4]);
        // And the hops just before the onset fade in rather than click.
        assert!(out[20].iter().all(|x| (0.0..=15.0).contains(x)));
        // Without it, the onset is faded in (clipped).
        let plain = run(&params(0.0, 0.0));
        assert!(plain[20][0] < 21.0 * 0.1);
    }

    #[test]
    fn gate_closes_after_the_hold_and_stays_shut_in_noise() {
        let hold_ms = 50.0; // 10 hops
        let out = run(&params(0.0, hold_ms));
        // Open through speech and the hold...
        assert!(out[30].iter().all(|&x| x == 31.0));
        assert!(out[49].iter().all(|&x| x == 50.0));
        // ...then a 4-hop release, then silence.
        assert!(out[55].iter().all(|&x| x == 0.0));
        assert!(out[5].iter().all(|&x| x == 0.0), "shut before any speech");
    }

    #[test]
    fn gate_off_is_transparent_and_keeps_the_delay_it_was_given() {
        let p = EngineParams {
            gate_lookback_ms: 10.0,
            ..EngineParams::default()
        };
        let out = run(&p);
        for (k, hop) in out.iter().enumerate().skip(2) {
            assert!(hop.iter().all(|&x| x == (k - 1) as f32));
        }
    }

    #[test]
    fn gate_off_is_transparent_with_no_delay() {
        let p = EngineParams::default();
        assert_eq!(
            Gate::new(FrameGrid::for_rate(48_000.0).unwrap(), 1).lookback_hops(&p),
            0
        );
        let out = run(&p);
        for (k, hop) in out.iter().enumerate() {
            assert!(hop.iter().all(|&x| x == (k + 1) as f32));
        }
    }

    #[test]
    fn bypass_overrides_a_closed_gate() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let p = params(0.0, 0.0);
        let mut g = Gate::new(grid, 1);
        g.reset(&p);
        let mut hop = [vec![1.0; grid.hop]];
        for _ in 0..10 {
            hop[0].fill(1.0);
            g.process(&p, 0.0, 0.0, hop.iter_mut());
        }
        assert!(hop[0].iter().all(|&x| x == 1.0));
    }
}
