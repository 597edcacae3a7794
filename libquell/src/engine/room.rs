//! What the reverb head may keep. The head is trained to keep speech with its room, but on dry noisy
//! speech it also keeps some noise it takes for a tail. Two physical limits stop that without
//! touching real rooms (docs/reverb.md has the measurements that chose the constants):
//! - a tail follows speech: per band it is never louder than the direct sound the dry head kept,
//!   decaying as the longest room we keep (`TAIL_RT60_S`), with `TAIL_HEADROOM_DB` for rooms whose
//!   reverberation is as loud as the direct sound;
//! - a tail kept must stand above the noise: the head's gain is capped at the share of the band's
//!   energy above a slowly moving noise floor (`NOISE_FLOOR_*`) raised by `NOISE_MARGIN_DB`.
//!
//! Clean rooms pass both (their floor is the room's silence); noise in pauses passes neither.

/// Slowest decay the ceiling allows: rooms up to this RT60 keep their whole tail.
pub const TAIL_RT60_S: f32 = 1.0;
/// How far above the kept direct sound a tail may start.
pub const TAIL_HEADROOM_DB: f32 = 6.0;
/// How far above the tracked noise floor energy must be before the head may keep it.
pub const NOISE_MARGIN_DB: f32 = 10.0;
/// How fast the noise floor may rise and fall. It falls far slower than any tail kept decays
/// (60 dB per RT60), so a tail decaying into a quiet room is never taken for a falling floor.
pub const NOISE_FLOOR_RISE_DB_PER_S: f32 = 8.0;
pub const NOISE_FLOOR_FALL_DB_PER_S: f32 = 20.0;

pub struct TailLimits {
    /// Per channel and band: the loudest a tail could be now.
    ceiling: Vec<Vec<f32>>,
    /// Per channel and band: band energy smoothed over two hops, and the noise floor under it.
    level: Vec<Vec<f32>>,
    floor: Vec<Vec<f32>>,
    ceiling_decay: f32,
    floor_rise: f32,
    floor_fall: f32,
    headroom: f32,
    margin: f32,
}

fn db_to_power(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

impl TailLimits {
    pub fn new(channels: usize, bands: usize, hop_seconds: f32) -> Self {
        Self {
            ceiling: vec![vec![0.0; bands]; channels],
            level: vec![vec![0.0; bands]; channels],
            floor: vec![vec![0.0; bands]; channels],
            ceiling_decay: db_to_power(-60.0 * hop_seconds / TAIL_RT60_S),
            floor_rise: db_to_power(NOISE_FLOOR_RISE_DB_PER_S * hop_seconds),
            floor_fall: db_to_power(-NOISE_FLOOR_FALL_DB_PER_S * hop_seconds),
            headroom: db_to_power(TAIL_HEADROOM_DB),
            margin: db_to_power(NOISE_MARGIN_DB),
        }
    }

    pub fn reset_channel(&mut self, c: usize) {
        self.ceiling[c].fill(0.0);
        self.level[c].fill(0.0);
        self.floor[c].fill(0.0);
    }

    /// Follow one hop of channel `c`: its band energies and the dry head's gains. Runs every hop,
    /// whatever the setting, so turning the control finds the limits already settled.
    pub fn track(&mut self, c: usize, energies: &[f32], dry: &[f32]) {
        let bands = self.ceiling[c]
            .iter_mut()
            .zip(self.level[c].iter_mut())
            .zip(self.floor[c].iter_mut());
        for (((ceiling, level), floor), (&e, &g)) in bands.zip(energies.iter().zip(dry)) {
            let (e, g) = if e.is_finite() && g.is_finite() {
                (e, g)
            } else {
                (0.0, 0.0)
            };
            *ceiling = (g * g * e * self.headroom).max(*ceiling * self.ceiling_decay);
            *level = if *level == 0.0 { e } else { 0.5 * (*level + e) };
            *floor = if *floor == 0.0 {
                *level
            } else if *level < *floor {
                level.max(*floor * self.floor_fall)
            } else {
                level.min(*floor * self.floor_rise)
            };
        }
    }

    /// Cap the reverb head's gains of channel `c` (after `track` for the same hop).
    pub fn limit(&self, c: usize, energies: &[f32], room: &mut [f32]) {
        let bands = self.ceiling[c].iter().zip(&self.floor[c]).zip(energies);
        for (r, ((&ceiling, &floor), &e)) in room.iter_mut().zip(bands) {
            if e.is_nan() || e <= 0.0 {
                continue;
            }
            let after_speech = (ceiling / e).sqrt();
            let above_noise = (1.0 - self.margin * floor / e).max(0.0).sqrt();
            *r = r.min(after_speech).min(above_noise);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOP: f32 = 0.005;

    #[test]
    fn steady_noise_after_speech_gets_no_tail() {
        let mut t = TailLimits::new(1, 1, HOP);
        let mut room = [1.0];
        // A second of steady noise, then speech (dry gain 1, 20 dB louder), then noise again.
        for _ in 0..200 {
            t.track(0, &[1.0], &[0.0]);
        }
        for _ in 0..40 {
            t.track(0, &[100.0], &[1.0]);
        }
        t.track(0, &[1.0], &[0.0]);
        t.track(0, &[1.0], &[0.0]);
        t.limit(0, &[1.0], &mut room);
        assert_eq!(room[0], 0.0, "noise at its floor is kept");
    }

    #[test]
    fn a_clean_tail_is_kept_and_the_ceiling_decays_as_the_longest_room() {
        let mut t = TailLimits::new(1, 1, HOP);
        // The room's silence, then speech.
        for _ in 0..40 {
            t.track(0, &[1e-9], &[0.0]);
        }
        for _ in 0..40 {
            t.track(0, &[1.0], &[1.0]);
        }
        // A tail decaying at 60 dB/s (RT60 1 s) from 6 dB below the speech: kept (within 0.5 dB)
        // for 0.8 s, 48 dB of its decay.
        let mut e = 0.25;
        for i in 0..160 {
            t.track(0, &[e], &[0.0]);
            let mut room = [1.0];
            t.limit(0, &[e], &mut room);
            assert!(room[0] > 0.95, "hop {i}: tail gain {}", room[0]);
            e *= db_to_power(-60.0 * HOP);
        }
        // Something that stops decaying (steady, 12 dB above where the tail got) is not a tail.
        let mut room = [1.0];
        for _ in 0..100 {
            t.track(0, &[e * 16.0], &[0.0]);
            room = [1.0];
            t.limit(0, &[e * 16.0], &mut room);
        }
        assert!(
            room[0] < 0.05,
            "steady level after the tail keeps gain {}",
            room[0]
        );
    }

    #[test]
    fn bad_numbers_do_not_stick() {
        let mut t = TailLimits::new(1, 2, HOP);
        t.track(0, &[f32::NAN, f32::INFINITY], &[f32::NAN, 1.0]);
        t.track(0, &[1.0, 1.0], &[1.0, 1.0]);
        let mut room = [0.5, 0.5];
        t.limit(0, &[1.0, 1.0], &mut room);
        assert!(room.iter().all(|r| r.is_finite()), "{room:?}");
    }
}
