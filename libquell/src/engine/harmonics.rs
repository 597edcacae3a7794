//! Pitch comb: cleans between a voice's harmonics, which the mask cannot see.
//!
//! Why: the engine's 10 ms window makes 100 Hz bins, so below about 200 Hz of pitch a voice's
//! harmonics share bins with the noise between them, and a gain per bin cannot separate them.
//! A voice repeats itself one pitch period later; noise does not. So the spectrum `P` of the same
//! window one period earlier (past samples only: no latency) carries the voice coherently and the
//! noise incoherently, and `X + αP` raises the voice against the noise by up to 3 dB per band.
//!
//! How much (`α`, per group of bins): with the mask's power gain `g²` as the group's speech share,
//! `X = S + N` and `P = rS + S⊥ + N'` (`r` how well the voice repeats, `N'` uncorrelated with `N`),
//! the normalised correlation of `X` and `P` is `ρ = r g²`, and the `α` that maximises the speech
//! share of `X + αP` is `r (1 - g²) / (1 - r² g²)`: none where the mask keeps everything or nothing
//! repeats, 1 where the voice repeats exactly. The group then gets back the energy the mask gave it,
//! so the comb moves energy from between the harmonics onto them and changes no level; no bin
//! comes out louder than it went in.

use realfft::num_complex::Complex;

use crate::dsp::grid::FrameGrid;
use crate::dsp::pitch::PitchTracker;
use crate::dsp::stft::Analysis;
use crate::model::linalg::dot;

/// The top of the range the comb works on: up to 8 kHz or the whole band scored the same on the
/// dev set, at twice the cost.
pub const TOP_HZ: f32 = 4_000.0;
/// Upper edges (Hz) of the groups that share one comb strength: narrow at the bottom, where the
/// harmonics are strongest.
const GROUP_EDGES_HZ: [f32; 12] = [
    200.0, 400.0, 600.0, 800.0, 1000.0, 1200.0, 1400.0, 1600.0, 2000.0, 2400.0, 3200.0, TOP_HZ,
];
/// Hops of input the history holds beyond what it needs, so it moves only every so many hops.
const HISTORY_SLACK_HOPS: usize = 8;
/// The default, chosen on the dev set.
pub const DEFAULT_HARMONICS: f32 = 0.25;
pub const MAX_HARMONICS: f32 = 1.0;
/// The comb's strength times the speech probability below which it does nothing.
const MIN_AMOUNT: f32 = 0.02;

pub(crate) struct PitchComb {
    tracker: PitchTracker,
    fft_len: usize,
    /// Full-rate input: the last `keep` samples (one window plus the longest lag) end at `end`; the
    /// slack behind them means the samples move only every few hops.
    history: Vec<f32>,
    keep: usize,
    end: usize,
    /// The tracker's last period (decimated samples), and hops since it was searched: the search
    /// runs every other hop, the refinement every hop.
    coarse: Option<f32>,
    since_search: usize,
    /// The engine's own analysis (window, scale, FFT), applied to the window one period back.
    analysis: Analysis,
    /// The spectrum of the window one period ago (valid while `lag > 0`).
    predicted: Vec<Complex<f32>>,
    /// Bin ranges of the groups, fixed at construction.
    groups: Vec<(usize, usize)>,
    /// What the comb changes, per bin, in the masked spectrum: `q - gX` (scratch).
    pub delta: Vec<Complex<f32>>,
}

impl PitchComb {
    pub fn new(grid: FrameGrid) -> Self {
        let tracker = PitchTracker::new(grid.sample_rate, grid.hop);
        let d = tracker.decimation();
        let max_lag = (grid.sample_rate / crate::dsp::pitch::MIN_PITCH_HZ).ceil() as usize + 2 * d;
        let bin_hz = grid.bin_hz();
        let mut groups = Vec::new();
        let mut lo = 1;
        for edge in GROUP_EDGES_HZ {
            let hi = ((edge / bin_hz).round() as usize).min(grid.bins());
            if hi > lo {
                groups.push((lo, hi));
                lo = hi;
            }
        }
        Self {
            tracker,
            fft_len: grid.fft,
            history: vec![0.0; grid.fft + max_lag + HISTORY_SLACK_HOPS * grid.hop],
            keep: grid.fft + max_lag,
            end: grid.fft + max_lag,
            coarse: None,
            since_search: 0,
            analysis: Analysis::new(grid),
            predicted: vec![Complex::new(0.0, 0.0); grid.bins()],
            // Only the groups' bins change.
            delta: vec![Complex::new(0.0, 0.0); groups.last().map_or(0, |g| g.1)],
            groups,
        }
    }

    pub fn reset(&mut self) {
        self.tracker.reset();
        self.history.fill(0.0);
        self.end = self.keep;
        self.coarse = None;
        self.since_search = 0;
    }

    /// Take in one (sanitised) hop; the history is kept whether or not the comb is used.
    pub fn push(&mut self, hop: &[f32]) {
        let m = hop.len().min(self.history.len() - self.keep);
        if self.end + m > self.history.len() {
            self.history.copy_within(self.end - self.keep..self.end, 0);
            self.end = self.keep;
        }
        self.history[self.end..self.end + m].copy_from_slice(&hop[hop.len() - m..]);
        self.end += m;
        self.tracker.push(hop);
    }

    /// The last `keep` input samples, the newest last.
    fn recent(&self) -> &[f32] {
        &self.history[self.end - self.keep..self.end]
    }

    /// Full-rate period of the newest window: the best lag within a few samples of the tracker's
    /// (whose parabola already placed it within about a quarter of its own step).
    fn refine(&self, coarse: f32) -> usize {
        let d = self.tracker.decimation();
        let history = self.recent();
        let (n, w) = (history.len(), self.fft_len);
        let now = &history[n - w..];
        let centre = (coarse * d as f32).round() as usize;
        let radius = (d / 4).max(2);
        let (lo, hi) = (
            centre.saturating_sub(radius).max(1),
            (centre + radius).min(n - w),
        );
        if lo > hi {
            return 0;
        }
        // The lagged window's energy slides with the lag.
        let first = &history[n - w - lo..n - lo];
        let mut yy = dot(first, first);
        let (mut best, mut best_r) = (0, f32::MIN);
        for lag in lo..=hi {
            if lag > lo {
                let (add, drop) = (history[n - w - lag], history[n - lag]);
                yy = (yy + add * add - drop * drop).max(0.0);
            }
            let then = &history[n - w - lag..n - lag];
            let r = if yy > 1e-20 {
                dot(now, then) / yy.sqrt()
            } else {
                0.0
            };
            if r > best_r {
                best = lag;
                best_r = r;
            }
        }
        best
    }

    /// Find this hop's period and the spectrum one period back, scaled like the engine's analysis.
    /// Returns false (the comb stays out) when nothing repeats.
    fn predict(&mut self) -> bool {
        if self.since_search == 0 {
            self.coarse = self.tracker.period().map(|(lag, _)| lag);
        }
        self.since_search = (self.since_search + 1) % 2;
        let lag = match self.coarse {
            Some(coarse) => self.refine(coarse),
            None => 0,
        };
        if lag == 0 {
            return false;
        }
        let start = self.end - self.fft_len;
        let then = &self.history[start - lag..start - lag + self.fft_len];
        self.analysis.transform_samples(then, &mut self.predicted);
        true
    }

    /// The spectrum of the window one pitch period back, scaled like the engine's analysis, or
    /// None when nothing repeats. Call once per hop, after `push` (the dumper's view of the comb).
    pub fn predicted(&mut self) -> Option<&[Complex<f32>]> {
        if self.predict() {
            Some(&self.predicted)
        } else {
            None
        }
    }

    /// Fill `delta` with the comb's change of the masked spectrum, `q - gX`, for the unmasked
    /// spectrum `x`, the mask `gains` (per bin) and the comb's `amount` (0..1, already scaled by
    /// the speech probability). Returns false (and leaves `delta` unspecified) when it changes
    /// nothing.
    pub fn prepare(&mut self, x: &[Complex<f32>], gains: &[f32], amount: f32) -> bool {
        // Below this the comb's change is inaudible; skipping it saves the search in pauses.
        if amount < MIN_AMOUNT || !self.predict() {
            return false;
        }
        let p = &self.predicted;
        let mut any = false;
        self.delta.fill(Complex::new(0.0, 0.0));
        for &(lo, hi) in &self.groups {
            let (mut xx, mut pp, mut xp, mut gxx) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
            for k in lo..hi {
                xx += x[k].norm_sqr();
                pp += p[k].norm_sqr();
                xp += (x[k] * p[k].conj()).re;
                gxx += gains[k] * gains[k] * x[k].norm_sqr();
            }
            if !(xx > 1e-30 && pp > 1e-30 && xp > 0.0 && gxx.is_finite()) {
                continue;
            }
            let rho = xp / (xx * pp).sqrt();
            let g2 = (gxx / xx).clamp(1e-3, 1.0);
            let r = (rho / g2).min(1.0);
            let alpha = amount * r * (1.0 - g2) / (1.0 - r * r * g2).max(1e-3);
            if alpha.is_nan() || alpha <= 1e-4 {
                continue;
            }
            // The masked energy after the comb, to give the group back what the mask left it.
            let mut gyy = 0.0f32;
            for k in lo..hi {
                gyy += gains[k] * gains[k] * (x[k] + p[k] * alpha).norm_sqr();
            }
            if gyy.is_nan() || gyy <= 1e-30 {
                continue;
            }
            let a = (gxx / gyy).sqrt();
            for k in lo..hi {
                let mut q = (x[k] + p[k] * alpha) * (a * gains[k]);
                // Never louder than the input bin.
                let (m, cap) = (q.norm_sqr(), x[k].norm_sqr());
                if m > cap {
                    q *= (cap / m).sqrt();
                }
                self.delta[k] = q - x[k] * gains[k];
            }
            any = true;
        }
        any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::stft::Analysis;

    /// A voice with a gliding pitch (110-130 Hz) and harmonics falling 6 dB per octave.
    fn voice(rate: f32, n: usize) -> Vec<f32> {
        let mut phase = 0.0f32;
        (0..n)
            .map(|i| {
                let t = i as f32 / rate;
                let f0 = 120.0 + 10.0 * (2.0 * std::f32::consts::PI * 2.0 * t).sin();
                phase += 2.0 * std::f32::consts::PI * f0 / rate;
                (1..=30)
                    .map(|h| (h as f32 * phase).sin() / h as f32)
                    .sum::<f32>()
                    * 0.1
            })
            .collect()
    }

    fn noise(n: usize, amp: f32) -> Vec<f32> {
        let mut s = 99u32;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                ((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * amp
            })
            .collect()
    }

    /// Runs the comb over voice + white noise (`noise_amp` peak) with a flat mask `g`; returns the
    /// voice's share of the masked output below `TOP_HZ` (energy of the part coherent with the
    /// clean voice over the total) without and with the comb, and the two output energies.
    fn shares(g: f32, amount: f32, noise_amp: f32) -> (f64, f64, f64, f64) {
        let rate = 48_000.0;
        let grid = FrameGrid::for_rate(rate).unwrap();
        let n = 48_000;
        let clean = voice(rate, n);
        let noisy: Vec<f32> = clean
            .iter()
            .zip(noise(n, noise_amp))
            .map(|(a, b)| a + b)
            .collect();
        let (mut a_clean, mut a_noisy) = (Analysis::new(grid), Analysis::new(grid));
        let mut comb = PitchComb::new(grid);
        let (mut s, mut x) = (
            vec![Complex::new(0.0, 0.0); grid.bins()],
            vec![Complex::new(0.0, 0.0); grid.bins()],
        );
        let gains = vec![g; grid.bins()];
        let (mut coh_plain, mut tot_plain, mut coh_comb, mut tot_comb) = (0.0, 0.0, 0.0, 0.0);
        for (hc, hn) in clean
            .chunks_exact(grid.hop)
            .zip(noisy.chunks_exact(grid.hop))
        {
            a_clean.push(hc, &mut s);
            a_noisy.push(hn, &mut x);
            comb.push(hn);
            let on = comb.prepare(&x, &gains, amount);
            // The part of the output that is the clean voice (its projection on the voice, per
            // frame and group: the comb may change a group's level, not its mix) and the total.
            let frame = |y: &dyn Fn(usize) -> Complex<f32>| {
                let (mut coherent, mut total) = (0.0f64, 0.0f64);
                for &(lo, hi) in &comb.groups {
                    let (mut sy, mut ss) = (Complex::new(0.0f64, 0.0), 0.0f64);
                    for (k, sk) in s.iter().enumerate().take(hi).skip(lo) {
                        let v = y(k);
                        let v = Complex::new(v.re as f64, v.im as f64);
                        sy += v * Complex::new(sk.re as f64, -sk.im as f64);
                        ss += sk.norm_sqr() as f64;
                        total += v.norm_sqr();
                    }
                    if ss > 0.0 {
                        coherent += sy.norm_sqr() / ss;
                    }
                }
                (coherent, total)
            };
            let (c, t) = frame(&|k| x[k] * g);
            coh_plain += c;
            tot_plain += t;
            let d = &comb.delta;
            let (c, t) = frame(&|k| x[k] * g + if on { d[k] } else { Complex::new(0.0, 0.0) });
            coh_comb += c;
            tot_comb += t;
        }
        (
            coh_plain / tot_plain,
            coh_comb / tot_comb,
            tot_plain,
            tot_comb,
        )
    }

    #[test]
    fn raises_the_voice_against_the_noise_and_keeps_the_level() {
        // The voice at about +6 dB below 4 kHz: 20 % of the masked output is noise without the comb.
        let (plain, combed, e_plain, e_comb) = shares(0.5, 1.0, 0.5);
        // The comb takes out about a tenth of what noise is left (a gliding voice repeats only
        // roughly; measured 0.200 -> 0.185).
        assert!(
            1.0 - combed < 0.95 * (1.0 - plain),
            "voice share {plain:.3} -> {combed:.3}"
        );
        // Energy is given back per group; only the cap (no bin above its input) may take a little.
        let db = 10.0 * (e_comb / e_plain).log10();
        assert!((-1.0..=0.01).contains(&db), "level moved {db:.2} dB");
        // A mask that keeps everything leaves nothing for the comb to do.
        let (plain, combed, ..) = shares(1.0, 1.0, 0.5);
        assert!((combed - plain).abs() < 1e-6, "{plain} -> {combed}");
    }

    #[test]
    fn noise_alone_keeps_its_level_and_weak_amounts_do_nothing() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let mut a = Analysis::new(grid);
        let mut comb = PitchComb::new(grid);
        let mut x = vec![Complex::new(0.0, 0.0); grid.bins()];
        let gains = vec![0.3; grid.bins()];
        let z = noise(48_000, 0.3);
        let (mut before, mut after) = (0.0f64, 0.0f64);
        for h in z.chunks_exact(grid.hop) {
            a.push(h, &mut x);
            comb.push(h);
            assert!(!comb.prepare(&x, &gains, MIN_AMOUNT * 0.5));
            // Chance correlations do switch it on in noise (the engine keeps it out of pauses
            // with the speech probability); what it does there must not change the level.
            let on = comb.prepare(&x, &gains, 1.0);
            for k in 0..grid.bins() {
                let plain = x[k] * gains[k];
                // Bins above the groups are never changed.
                let change = comb.delta.get(k).copied().unwrap_or_default();
                let out = plain + if on { change } else { Complex::new(0.0, 0.0) };
                assert!(
                    out.norm() <= x[k].norm() * 1.0001 + 1e-12,
                    "bin {k} louder than its input"
                );
                before += plain.norm_sqr() as f64;
                after += out.norm_sqr() as f64;
            }
        }
        let db = 10.0 * (after / before).log10();
        assert!(db.abs() < 0.5, "noise level moved {db:.2} dB");
    }
}
