//! Engine parameters and their per-hop smoothing.

use super::contrast::{DEFAULT_CONTRAST, MAX_CONTRAST};
use super::gate::{MAX_HOLD_MS, MAX_LOOKBACK_MS};
use super::harmonics::{DEFAULT_HARMONICS, MAX_HARMONICS};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EngineParams {
    /// Maximum attenuation in dB while the model hears no speech (0 leaves the signal untouched).
    /// It is also the overall limit: nothing is ever turned down by more.
    pub strength_db: f32,
    /// Maximum attenuation in dB while the model hears speech (capped at `strength_db`). The limit
    /// in force moves between the two with the smoothed speech probability.
    pub speech_strength_db: f32,
    /// How much of the room (reverberation) to take away, 0 (keep it) to
    /// [`MAX_REVERB_REDUCTION_DB`] (full: the dry head alone, what models without the reverb head
    /// always do). Independent of the noise strengths.
    pub reverb_reduction_db: f32,
    /// Spectral contrast, 0..[`MAX_CONTRAST`]: the per-bin gains are raised to the power
    /// 1 + `contrast` and the frame's energy is given back (`contrast.rs`). 0 applies the model's
    /// gains as they are.
    pub contrast: f32,
    /// Pitch comb, 0..[`MAX_HARMONICS`]: while someone speaks, energy between the voice's
    /// harmonics moves onto them (`harmonics.rs`). 0 leaves the spectrum to the mask.
    pub harmonics: f32,
    /// What the output carries: the processed signal, or what processing takes away.
    pub listen: Listen,
    /// Adaptive notches on mains hum and other steady tones (see `dsp::hum`).
    pub hum_removal: bool,
    /// Dry/wet, 0..1.
    pub mix: f32,
    /// Output gain, linear.
    pub output_gain: f32,
    /// One mask from all channels, applied to all.
    pub stereo_link: bool,
    pub bypass: bool,
    /// Voice-activity gate: silence while the model's speech probability is below the threshold.
    pub gate: bool,
    pub gate_threshold: f32,
    /// How long the gate stays open after speech.
    pub gate_hold_ms: f32,
    /// Retroactive grace: extra output delay that lets the gate open before a word starts. It is
    /// applied as given, gate on or off; front ends pass 0 when the gate is off.
    pub gate_lookback_ms: f32,
}

pub const MAX_STRENGTH_DB: f32 = 100.0;
/// The top of the reverb reduction range, which means "full": the room is removed as well as the
/// model can (`room_kept` is 0 there).
pub const MAX_REVERB_REDUCTION_DB: f32 = 24.0;

/// The share (0..1) of the reverberation kept for a reduction in dB: -`db` dB of the room's
/// level, bent so the top of the range reaches exactly 0 (no step into "full").
pub fn room_kept(db: f32) -> f32 {
    let floor = 10f32.powf(-MAX_REVERB_REDUCTION_DB / 20.0);
    ((10f32.powf(-db / 20.0) - floor) / (1.0 - floor)).clamp(0.0, 1.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Listen {
    /// The processed signal.
    #[default]
    Output,
    /// The latency-aligned dry input minus the output before output gain: exactly what is taken
    /// away (noise, hum). Output plus Removed (at unit output gain) is the delayed input.
    Removed,
}

impl Default for EngineParams {
    fn default() -> Self {
        Self {
            strength_db: 100.0,
            speech_strength_db: 100.0,
            reverb_reduction_db: MAX_REVERB_REDUCTION_DB,
            contrast: DEFAULT_CONTRAST,
            harmonics: DEFAULT_HARMONICS,
            listen: Listen::Output,
            hum_removal: false,
            mix: 1.0,
            output_gain: 1.0,
            stereo_link: false,
            bypass: false,
            gate: false,
            gate_threshold: 0.5,
            gate_hold_ms: 200.0,
            gate_lookback_ms: 0.0,
        }
    }
}

impl EngineParams {
    /// Clamp to valid ranges; NaN becomes the default.
    pub fn sanitized(self) -> Self {
        let d = Self::default();
        let fix =
            |x: f32, lo: f32, hi: f32, def: f32| if x.is_finite() { x.clamp(lo, hi) } else { def };
        Self {
            strength_db: fix(self.strength_db, 0.0, MAX_STRENGTH_DB, d.strength_db),
            speech_strength_db: fix(
                self.speech_strength_db,
                0.0,
                MAX_STRENGTH_DB,
                d.speech_strength_db,
            ),
            reverb_reduction_db: fix(
                self.reverb_reduction_db,
                0.0,
                MAX_REVERB_REDUCTION_DB,
                d.reverb_reduction_db,
            ),
            contrast: fix(self.contrast, 0.0, MAX_CONTRAST, d.contrast),
            harmonics: fix(self.harmonics, 0.0, MAX_HARMONICS, d.harmonics),
            mix: fix(self.mix, 0.0, 1.0, d.mix),
            output_gain: fix(self.output_gain, 0.0, 16.0, d.output_gain),
            gate_threshold: fix(self.gate_threshold, 0.0, 1.0, d.gate_threshold),
            gate_hold_ms: fix(self.gate_hold_ms, 0.0, MAX_HOLD_MS, d.gate_hold_ms),
            gate_lookback_ms: fix(
                self.gate_lookback_ms,
                0.0,
                MAX_LOOKBACK_MS,
                d.gate_lookback_ms,
            ),
            ..self
        }
    }
}

/// Values actually applied, moving a fraction of the way to the targets each hop (about 25 ms to
/// settle); the overlap-add crossfades between hops, so changes are click-free.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Smoothed {
    pub strength_db: f32,
    pub speech_strength_db: f32,
    pub reverb_reduction_db: f32,
    pub contrast: f32,
    pub harmonics: f32,
    /// 0 = output, 1 = removed.
    pub listen: f32,
    /// 1 = hum removal on.
    pub hum: f32,
    pub mix: f32,
    pub output_gain: f32,
    /// 1 = processing, 0 = bypassed.
    pub active: f32,
}

const COEFF: f32 = 0.2;

impl Smoothed {
    pub fn snapped(p: &EngineParams) -> Self {
        Self {
            strength_db: p.strength_db,
            speech_strength_db: p.speech_strength_db.min(p.strength_db),
            reverb_reduction_db: p.reverb_reduction_db,
            contrast: p.contrast,
            harmonics: p.harmonics,
            listen: match p.listen {
                Listen::Output => 0.0,
                Listen::Removed => 1.0,
            },
            hum: if p.hum_removal { 1.0 } else { 0.0 },
            mix: p.mix,
            output_gain: p.output_gain,
            active: if p.bypass { 0.0 } else { 1.0 },
        }
    }

    pub fn step(&mut self, p: &EngineParams) {
        let t = Self::snapped(p);
        let go = |x: &mut f32, target: f32| {
            *x += (target - *x) * COEFF;
            if (*x - target).abs() < 1e-6 {
                *x = target;
            }
        };
        go(&mut self.strength_db, t.strength_db);
        go(&mut self.speech_strength_db, t.speech_strength_db);
        go(&mut self.reverb_reduction_db, t.reverb_reduction_db);
        go(&mut self.contrast, t.contrast);
        go(&mut self.harmonics, t.harmonics);
        go(&mut self.listen, t.listen);
        go(&mut self.hum, t.hum);
        go(&mut self.mix, t.mix);
        go(&mut self.output_gain, t.output_gain);
        go(&mut self.active, t.active);
    }

    /// The attenuation limit as a gain, for a smoothed speech probability `speech` (0..1): the
    /// pause limit in pauses, the speech limit in speech, interpolated in dB between.
    pub fn floor_gain(&self, speech: f32) -> f32 {
        let db = self.strength_db + (self.speech_strength_db - self.strength_db) * speech;
        10f32.powf(-db / 20.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_kept_runs_from_all_at_0_db_to_none_at_full() {
        assert_eq!(room_kept(0.0), 1.0);
        assert_eq!(room_kept(MAX_REVERB_REDUCTION_DB), 0.0);
        // About -6 dB at 6 dB (the bend to reach 0 at the top costs under 1 dB here).
        let k6 = 20.0 * room_kept(6.0).log10();
        assert!((-7.0..-6.0).contains(&k6), "{k6}");
        let mut last = 1.0;
        for i in 1..=240 {
            let k = room_kept(i as f32 * 0.1);
            assert!(k < last, "strictly falling at {} dB", i as f32 * 0.1);
            last = k;
        }
        let p = EngineParams {
            reverb_reduction_db: f32::NAN,
            ..EngineParams::default()
        };
        assert_eq!(p.sanitized().reverb_reduction_db, MAX_REVERB_REDUCTION_DB);
        let p = EngineParams {
            reverb_reduction_db: -5.0,
            ..EngineParams::default()
        };
        assert_eq!(p.sanitized().reverb_reduction_db, 0.0);
    }
}
