//! A causal pitch tracker: the period of the last 20 ms of input, from past samples only.
//!
//! The search runs on a copy averaged down to about 4 kHz and low-passed (a voice's pitch lives
//! below 1 kHz), so it costs a few thousand multiplies per hop at any rate; the caller refines the
//! lag at its full rate.

use super::biquad::Biquad;
use crate::model::linalg::dot;

/// Pitch range searched (Hz): low male voices to high female and children's voices.
pub const MIN_PITCH_HZ: f32 = 60.0;
pub const MAX_PITCH_HZ: f32 = 420.0;
/// Length of the stretch whose period is searched.
const SEARCH_SECONDS: f32 = 0.02;
/// Rate the search runs at, at least (the decimation factor is the rate over this, rounded down).
const SEARCH_RATE: f32 = 4_000.0;
/// Below this normalised correlation nothing counts as periodic.
const MIN_CORRELATION: f32 = 0.3;
/// A shorter lag (a divisor of the best) wins if it correlates at least this share as well: the
/// best lag of a periodic signal is often a few periods, the one closest to a whole number of samples.
const SUBMULTIPLE_SHARE: f32 = 0.85;

pub struct PitchTracker {
    decimation: usize,
    /// Input samples summed since the last decimated one, and their sum.
    phase: usize,
    sum: f32,
    lowpass: Biquad,
    /// Decimated input, the newest last: `span + max_lag` samples.
    low: Vec<f32>,
    /// Scratch for one hop's decimated samples.
    fresh: Vec<f32>,
    /// Scratch: the normalised correlation per lag.
    corr: Vec<f32>,
    span: usize,
    min_lag: usize,
    max_lag: usize,
}

impl PitchTracker {
    /// For input at `sample_rate` arriving in hops of at most `max_hop` samples.
    pub fn new(sample_rate: f32, max_hop: usize) -> Self {
        let decimation = ((sample_rate / SEARCH_RATE).floor() as usize).max(1);
        let rate = sample_rate / decimation as f32;
        let min_lag = ((rate / MAX_PITCH_HZ).floor() as usize).max(1);
        let max_lag = ((rate / MIN_PITCH_HZ).ceil() as usize).max(min_lag + 2);
        let span = ((rate * SEARCH_SECONDS).round() as usize).max(max_lag);
        Self {
            decimation,
            phase: 0,
            sum: 0.0,
            // The boxcar average already dulls what would alias; this takes the rest.
            lowpass: Biquad::lowpass(
                rate,
                900f32.min(0.4 * rate),
                std::f32::consts::FRAC_1_SQRT_2,
            ),
            low: vec![0.0; span + max_lag],
            fresh: vec![0.0; max_hop / decimation + 1],
            corr: vec![0.0; max_lag + 2],
            span,
            min_lag,
            max_lag,
        }
    }

    /// Input samples per decimated sample: a lag found here times this is the full-rate lag.
    pub fn decimation(&self) -> usize {
        self.decimation
    }

    pub fn reset(&mut self) {
        self.phase = 0;
        self.sum = 0.0;
        self.low.fill(0.0);
        self.lowpass = Biquad::new(self.lowpass.b, self.lowpass.a);
    }

    /// Take in one hop of input (at most the `max_hop` given to `new`).
    pub fn push(&mut self, hop: &[f32]) {
        let mut m = 0;
        let scale = 1.0 / self.decimation as f32;
        for &x in hop {
            self.sum += x;
            self.phase += 1;
            if self.phase == self.decimation {
                let y = self.lowpass.tick(self.sum * scale);
                self.phase = 0;
                self.sum = 0.0;
                if m < self.fresh.len() {
                    self.fresh[m] = y;
                    m += 1;
                }
            }
        }
        let n = self.low.len();
        let m = m.min(n);
        self.low.copy_within(m.., 0);
        self.low[n - m..].copy_from_slice(&self.fresh[..m]);
        // A filter fed garbage must not stay garbage.
        if !self.low[n - 1].is_finite() || !self.sum.is_finite() {
            self.reset();
        }
    }

    /// The period of the newest stretch in decimated samples (fractional: the peak of a parabola
    /// through the best lag and its neighbours) and its normalised correlation, or None if nothing
    /// in the pitch range repeats.
    pub fn period(&mut self) -> Option<(f32, f32)> {
        let start = self.max_lag;
        let span = self.span;
        let now = &self.low[start..start + span];
        let e_now = dot(now, now);
        if e_now.is_nan() || e_now <= 1e-20 {
            return None;
        }
        // The lagged stretch's energy slides along with the lag.
        let first = start - (self.min_lag - 1);
        let mut e_then = dot(
            &self.low[first..first + span],
            &self.low[first..first + span],
        );
        let mut best = (0, MIN_CORRELATION);
        // Neighbours for the parabola: one lag either side of the range (the far one is not kept).
        self.corr[self.max_lag + 1] = 0.0;
        for lag in self.min_lag - 1..=self.max_lag {
            if lag >= self.min_lag {
                let (add, drop) = (self.low[start - lag], self.low[start - lag + span]);
                e_then = (e_then + add * add - drop * drop).max(0.0);
            }
            let then = &self.low[start - lag..start - lag + span];
            let d = e_now * e_then;
            let r = if d > 1e-20 {
                dot(now, then) / d.sqrt()
            } else {
                0.0
            };
            self.corr[lag] = r;
            if lag >= self.min_lag && r > best.1 {
                best = (lag, r);
            }
        }
        if best.0 == 0 {
            return None;
        }
        // Prefer the true period over a multiple of it: the shortest lag that repeats about as well.
        for k in (2..=best.0 / self.min_lag).rev() {
            let centre = (best.0 as f32 / k as f32).round() as usize;
            let lo = centre.saturating_sub(1).max(self.min_lag);
            let hi = (centre + 1).min(self.max_lag);
            if let Some(sub) = (lo..=hi).max_by(|&a, &b| self.corr[a].total_cmp(&self.corr[b]))
                && self.corr[sub] >= SUBMULTIPLE_SHARE * best.1
            {
                best = (sub, self.corr[sub]);
                break;
            }
        }
        let (l, r) = best;
        let (a, b, c) = (self.corr[l - 1], r, self.corr[l + 1]);
        let curve = a - 2.0 * b + c;
        let shift = if curve < 0.0 {
            (0.5 * (a - c) / curve).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        Some((l as f32 + shift, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A glottal-like pulse train: harmonics falling 6 dB per octave.
    fn voice(rate: f32, f0: f32, seconds: f32) -> Vec<f32> {
        let n = (rate * seconds) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate;
                (1..=20)
                    .filter(|h| *h as f32 * f0 < 0.45 * rate)
                    .map(|h| (2.0 * std::f32::consts::PI * h as f32 * f0 * t).sin() / h as f32)
                    .sum::<f32>()
            })
            .collect()
    }

    fn track(rate: f32, x: &[f32]) -> Option<(f32, f32)> {
        let hop = (rate / 200.0).round() as usize;
        let mut p = PitchTracker::new(rate, hop);
        let mut last = None;
        for h in x.chunks_exact(hop) {
            p.push(h);
            last = p.period();
        }
        last.map(|(lag, r)| (rate / (lag * p.decimation() as f32), r))
    }

    #[test]
    fn finds_the_pitch_of_voices_at_every_rate() {
        for rate in [16_000.0, 44_100.0, 48_000.0, 96_000.0] {
            for f0 in [80.0, 120.0, 200.0, 310.0] {
                let (f, r) = track(rate, &voice(rate, f0, 0.3)).expect("a period");
                assert!(
                    (f / f0 - 1.0).abs() < 0.06,
                    "{rate} Hz, {f0}: found {f} ({r})"
                );
                assert!(r > 0.9, "{rate} Hz, {f0}: {r}");
            }
        }
    }

    #[test]
    fn noise_and_silence_have_no_pitch_and_garbage_recovers() {
        let rate = 48_000.0;
        let mut s = 12345u32;
        let noise: Vec<f32> = (0..14_400)
            .map(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect();
        if let Some((_, r)) = track(rate, &noise) {
            assert!(r < 0.5, "white noise correlates {r}");
        }
        assert!(track(rate, &vec![0.0; 4800]).is_none());
        let mut p = PitchTracker::new(rate, 240);
        p.push(&[f32::NAN; 240]);
        p.push(&voice(rate, 150.0, 0.005));
        assert!(p.low.iter().all(|x| x.is_finite()));
    }
}
