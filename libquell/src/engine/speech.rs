//! The model's speech probability smoothed for the attenuation limit: a fast attack so word onsets
//! get the speech limit at once, a slow release so the limit does not pump between syllables.

use crate::dsp::grid::FrameGrid;

/// Time constants of the follower.
pub const ATTACK_MS: f32 = 15.0;
pub const RELEASE_MS: f32 = 200.0;

pub(crate) struct SpeechFollower {
    attack: f32,
    release: f32,
    level: Vec<f32>,
}

impl SpeechFollower {
    pub fn new(grid: FrameGrid, channels: usize) -> Self {
        let hop_ms = grid.hop as f32 * 1000.0 / grid.sample_rate;
        Self {
            attack: 1.0 - (-hop_ms / ATTACK_MS).exp(),
            release: 1.0 - (-hop_ms / RELEASE_MS).exp(),
            level: vec![0.0; channels],
        }
    }

    /// Largest change of the level in one hop (the attack's step from 0 to 1).
    pub fn max_step(&self) -> f32 {
        self.attack
    }

    pub fn reset(&mut self) {
        self.level.fill(0.0);
    }

    /// One hop: `probs` are the model's speech probabilities per channel.
    pub fn step(&mut self, probs: &[f32]) {
        for (l, &p) in self.level.iter_mut().zip(probs) {
            let p = p.clamp(0.0, 1.0);
            let k = if p > *l { self.attack } else { self.release };
            *l += (p - *l) * k;
        }
    }

    pub fn level(&self, channel: usize) -> f32 {
        self.level[channel]
    }
}
