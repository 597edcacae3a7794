//! Hum and steady-tone removal: a detector looks for spectral peaks that stay put in a long FFT
//! (about 0.7 s at 48 kHz, 1.5 Hz bins) and hands their frequencies to second-order notches that run
//! sample by sample in the time domain. The engine's 5 ms frames give ~100 Hz bins, far too coarse
//! to notch 50 Hz, and IIR notches add no latency.
//!
//! Speech is spared by three tests a tone must pass before its notch opens: it stands well above its
//! spectral neighbourhood, its frequency stays within a bin and its level within a few dB for over a
//! second. Sung notes and vowels move or stop long before that.

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};
use std::f32::consts::PI;
use std::sync::Arc;

use super::grid::FrameGrid;

/// Notches available (mains hum with its harmonics fills most of them).
pub const MAX_TONES: usize = 16;
/// Detector period in hops (100 ms).
const DETECT_HOPS: usize = 20;
/// A peak must stand this far above the mean level (in dB) of its neighbourhood.
const PROMINENCE_DB: f32 = 18.0;
/// Nor be quieter than this amplitude (dBFS): inaudible tones are left alone.
const MIN_LEVEL_DBFS: f32 = -80.0;
/// Consecutive detections (100 ms apart) before a tone counts as steady.
const CONFIRM_HITS: u32 = 12;
/// Detections enough for a harmonic of a tone already notched (mains hum's overtones are as steady
/// as its fundamental, but speech over them makes their level wander).
const HARMONIC_HITS: u32 = 3;
/// Largest level change (dB) a steady tone may show across its detections.
const LEVEL_SPREAD_DB: f32 = 6.0;
/// Detections a tone may be missing before its notch closes.
const MISS_LIMIT: u32 = 5;
/// Notch depth change per hop (a 50 ms fade in or out).
const DEPTH_STEP: f32 = 0.1;
/// Tones searched between these frequencies.
const LOWEST_HZ: f32 = 40.0;
const HIGHEST_HZ: f32 = 16_000.0;

/// 3 dB width of a notch at `hz`: wide enough to follow a drifting tone (mains drifts a few tenths
/// of a hertz, its harmonics proportionally more) between detections, narrow enough to keep voice.
fn notch_width_hz(hz: f32) -> f32 {
    (0.06 * hz).clamp(6.0, 40.0)
}

/// Detections a tone's drift is fitted over (a straight line through them predicts where the tone
/// is now: the long window sees it as it was ~0.35 s ago).
const TREND: usize = 6;

/// 10·log10(x) for x > 0 from the float's exponent and a cubic on its mantissa (error < 0.01 dB):
/// a detection takes the level of every bin of a 32768-point FFT, where `log10` costs too much.
fn fast_db(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as f32 - 127.0;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // 1..2
    // log2(m) on [1, 2): a cubic fit.
    let l = -2.1338866 + (3.010851 + (-1.0295584 + 0.15392465 * m) * m) * m;
    (e + l) * std::f32::consts::LOG10_2 * 10.0
}

#[derive(Debug, Clone, Copy, Default)]
struct Track {
    live: bool,
    /// Frequency as detected (the window's centre, in the past), and where it is predicted now.
    freq: f32,
    now: f32,
    /// The last `TREND` detected frequencies, newest last (filled as hits come).
    history: [f32; TREND],
    hits: u32,
    misses: u32,
    /// At a whole multiple of a notched tone's frequency.
    harmonic: bool,
    level_lo: f32,
    level_hi: f32,
    /// Notch depth, 0..1, and the depth at the start of the current hop.
    depth: f32,
    depth_before: f32,
    /// Second-order allpass coefficients for the notch (see `process`).
    k1: f32,
    k2: f32,
}

impl Track {
    fn confirmed(&self) -> bool {
        let needed = if self.harmonic {
            HARMONIC_HITS
        } else {
            CONFIRM_HITS
        };
        (self.hits >= needed && self.misses == 0) || (self.depth > 0.0 && self.misses < MISS_LIMIT)
    }
}

pub struct HumRemover {
    rate: f32,
    hop: usize,
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// The last `n` input samples (channel mean), circular.
    ring: Vec<f32>,
    write: usize,
    frame: Vec<f32>,
    spec: Vec<Complex<f32>>,
    scratch: Vec<Complex<f32>>,
    db: Vec<f32>,
    prefix: Vec<f64>,
    /// Peaks found by the last detection: (frequency, level).
    peaks: Vec<(f32, f32)>,
    hops_to_detect: usize,
    tracks: [Track; MAX_TONES],
    /// Per channel, per notch: the allpass's two state variables.
    states: Vec<[[f32; 2]; MAX_TONES]>,
    /// Amplitude of a full-scale sine in the detector's spectrum (window sum / 2).
    full_scale: f32,
}

impl HumRemover {
    /// Allocates; build off the audio thread.
    pub fn new(grid: FrameGrid, channels: usize) -> Self {
        let n = ((grid.sample_rate * 0.5) as usize)
            .next_power_of_two()
            .clamp(1024, 1 << 17);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n);
        let window: Vec<f32> = (0..n)
            .map(|i| 0.5 - 0.5 * (2.0 * PI * i as f32 / n as f32).cos())
            .collect();
        let full_scale = window.iter().sum::<f32>() / 2.0;
        Self {
            rate: grid.sample_rate,
            hop: grid.hop,
            scratch: fft.make_scratch_vec(),
            spec: vec![Complex::new(0.0, 0.0); n / 2 + 1],
            db: vec![0.0; n / 2 + 1],
            prefix: vec![0.0; n / 2 + 2],
            peaks: Vec::with_capacity(MAX_TONES),
            fft,
            window,
            ring: vec![0.0; n],
            write: 0,
            frame: vec![0.0; n],
            hops_to_detect: DETECT_HOPS,
            tracks: [Track::default(); MAX_TONES],
            states: vec![[[0.0; 2]; MAX_TONES]; channels],
            full_scale,
        }
    }

    pub fn reset(&mut self) {
        self.ring.fill(0.0);
        self.write = 0;
        self.hops_to_detect = DETECT_HOPS;
        self.tracks = [Track::default(); MAX_TONES];
        for s in &mut self.states {
            *s = [[0.0; 2]; MAX_TONES];
        }
    }

    /// Frequencies (Hz) currently notched, with their depth (0..1).
    pub fn tones(&self) -> impl Iterator<Item = (f32, f32)> + '_ {
        self.tracks
            .iter()
            .filter(|t| t.live && t.depth > 0.0)
            .map(|t| (t.now, t.depth))
    }

    /// Whether any notch is open (or fading); when not, `process` leaves audio untouched.
    pub fn busy(&self) -> bool {
        self.tracks
            .iter()
            .any(|t| t.depth > 0.0 || t.depth_before > 0.0)
    }

    /// Once per hop, before the channels: feed the detector (`mono`: the channels' mean, one hop)
    /// and move the notches' depths. `amount` (0..1, smoothed by the caller) scales every notch.
    pub fn update(&mut self, mono: &[f32], amount: f32) {
        let n = self.ring.len();
        for &x in mono {
            self.ring[self.write] = x;
            self.write = (self.write + 1) % n;
        }
        self.hops_to_detect -= 1;
        if self.hops_to_detect == 0 {
            self.hops_to_detect = DETECT_HOPS;
            self.detect();
        }
        for t in &mut self.tracks {
            t.depth_before = t.depth;
            let target = if t.live && t.confirmed() { amount } else { 0.0 };
            t.depth = if target > t.depth {
                (t.depth + DEPTH_STEP).min(target)
            } else {
                (t.depth - DEPTH_STEP).max(target)
            };
            // A closed notch whose tone went missing frees its slot (an unconfirmed one at once,
            // so passing peaks cannot crowd a real tone out).
            if t.live && t.depth == 0.0 && t.depth_before == 0.0 && t.misses > 0 {
                t.live = false;
            }
        }
    }

    /// Notch one channel's hop in place; `removed` receives what was taken out (input - output).
    pub fn process(&mut self, channel: usize, hop: &mut [f32], removed: &mut [f32]) {
        removed.copy_from_slice(hop);
        let states = &mut self.states[channel];
        let len = hop.len() as f32;
        for (t, z) in self.tracks.iter().zip(states.iter_mut()) {
            if t.depth == 0.0 && t.depth_before == 0.0 {
                *z = [0.0; 2];
                continue;
            }
            // Notch = (x + allpass(x)) / 2: exactly unity away from the tone, exactly zero on it,
            // and its frequency (k1) moves without changing its width (k2).
            let (k1, k2) = (t.k1, t.k2);
            let c = k1 * (1.0 + k2);
            for (i, x) in hop.iter_mut().enumerate() {
                let a = k2 * *x + z[0];
                z[0] = c * *x - c * a + z[1];
                z[1] = *x - k2 * a;
                let d = t.depth_before + (t.depth - t.depth_before) * (i + 1) as f32 / len;
                *x += d * 0.5 * (a - *x);
            }
            if !(z[0].is_finite() && z[1].is_finite()) {
                *z = [0.0; 2];
            }
        }
        for (r, y) in removed.iter_mut().zip(hop.iter()) {
            *r -= y;
        }
    }

    fn detect(&mut self) {
        let n = self.ring.len();
        // Oldest sample first: the ring from the write position on, then from its start.
        let (newer, older) = self.ring.split_at(self.write);
        for ((f, x), w) in self
            .frame
            .iter_mut()
            .zip(older.iter().chain(newer))
            .zip(&self.window)
        {
            *f = x * w;
        }
        let _ = self
            .fft
            .process_with_scratch(&mut self.frame, &mut self.spec, &mut self.scratch);
        let scale = 1.0 / (self.full_scale * self.full_scale);
        // Level in dB, approximately (to 0.01 dB, plenty for finding peaks); the three values
        // that place a peak's frequency are recomputed exactly below. `prefix` sums them, so a
        // neighbourhood's mean costs two lookups.
        self.prefix[0] = 0.0;
        for (k, c) in self.spec.iter().enumerate() {
            let d = fast_db(c.norm_sqr() * scale + 1e-20);
            self.db[k] = d;
            self.prefix[k + 1] = self.prefix[k] + d as f64;
        }
        let exact = |c: &Complex<f32>| 10.0 * (c.norm_sqr() * scale + 1e-20).log10();
        let bin_hz = self.rate / n as f32;
        let lo = ((LOWEST_HZ / bin_hz) as usize).max(3);
        let hi = ((HIGHEST_HZ.min(self.rate * 0.45) / bin_hz) as usize).min(self.db.len() - 4);
        self.peaks.clear();
        let db = &self.db;
        let sum = |a: usize, b: usize| (self.prefix[b] - self.prefix[a]) as f32;
        let mut k = lo;
        while k < hi {
            let v = db[k];
            let is_peak = v > db[k - 1] && v >= db[k + 1] && v > db[k - 2] && v >= db[k + 2];
            if !is_peak || v < MIN_LEVEL_DBFS {
                k += 1;
                continue;
            }
            // Neighbourhood: 6..24 bins either side (outside the Hann main lobe and any drift).
            let (a0, a1) = (k.saturating_sub(24), k.saturating_sub(5));
            let (b0, b1) = (k + 6, (k + 25).min(db.len()));
            let count = (a1 - a0) + (b1 - b0);
            let mean = (sum(a0, a1) + sum(b0, b1)) / count.max(1) as f32;
            if count > 0 && v - mean > PROMINENCE_DB {
                // Parabolic interpolation on the dB values refines the frequency to a small
                // fraction of a bin.
                let (a, b, c) = (
                    exact(&self.spec[k - 1]),
                    exact(&self.spec[k]),
                    exact(&self.spec[k + 1]),
                );
                let den = a - 2.0 * b + c;
                let p = if den.abs() > 1e-9 {
                    (0.5 * (a - c) / den).clamp(-0.5, 0.5)
                } else {
                    0.0
                };
                let freq = (k as f32 + p) * bin_hz;
                if self.peaks.len() < MAX_TONES {
                    self.peaks.push((freq, b));
                } else if let Some(weakest) = self
                    .peaks
                    .iter_mut()
                    .min_by(|x, y| x.1.total_cmp(&y.1))
                    .filter(|w| w.1 < b)
                {
                    *weakest = (freq, b);
                }
                k += 3;
            } else {
                k += 1;
            }
        }
        self.match_peaks(bin_hz);
    }

    /// Follow each tone from one detection to the next; start tracks for new peaks.
    fn match_peaks(&mut self, bin_hz: f32) {
        let mut used = [false; MAX_TONES];
        for t in self.tracks.iter_mut().filter(|t| t.live) {
            let near = self
                .peaks
                .iter()
                .enumerate()
                .filter(|(i, p)| !used[*i] && (p.0 - t.freq).abs() <= bin_hz)
                .min_by(|a, b| (a.1.0 - t.freq).abs().total_cmp(&(b.1.0 - t.freq).abs()));
            match near {
                Some((i, &(freq, level))) => {
                    used[i] = true;
                    t.freq = freq;
                    t.history.copy_within(1.., 0);
                    t.history[TREND - 1] = freq;
                    t.misses = 0;
                    t.level_lo = t.level_lo.min(level);
                    t.level_hi = t.level_hi.max(level);
                    if t.level_hi - t.level_lo > LEVEL_SPREAD_DB && t.depth == 0.0 && !t.harmonic {
                        // Not steady (a note swelling, a vowel passing): start counting again.
                        t.hits = 0;
                        (t.level_lo, t.level_hi) = (level, level);
                    }
                    t.hits = t.hits.saturating_add(1);
                }
                None => {
                    t.misses += 1;
                    t.hits = 0;
                }
            }
        }
        for (i, &(freq, level)) in self.peaks.iter().enumerate() {
            if used[i] {
                continue;
            }
            if let Some(t) = self.tracks.iter_mut().find(|t| !t.live) {
                *t = Track {
                    live: true,
                    freq,
                    history: [freq; TREND],
                    hits: 1,
                    misses: 0,
                    level_lo: level,
                    level_hi: level,
                    ..Track::default()
                };
            }
        }
        let mut notched = [0.0f32; MAX_TONES];
        for (n, t) in notched.iter_mut().zip(&self.tracks) {
            if t.live && t.depth > 0.0 {
                *n = t.freq;
            }
        }
        for t in self.tracks.iter_mut().filter(|t| t.live) {
            t.harmonic = notched.iter().any(|&f0| {
                let k = (t.freq / f0).round();
                f0 > 0.0 && k >= 2.0 && (t.freq - k * f0).abs() <= bin_hz
            });
        }
        // The window's centre lies half a window back; the notch then holds until the next
        // detection, half a period later on average.
        let lag_s = (self.ring.len() as f32 / 2.0 / self.rate)
            + DETECT_HOPS as f32 * self.hop as f32 / 2.0 / self.rate;
        let period_s = DETECT_HOPS as f32 * self.hop as f32 / self.rate;
        for t in self.tracks.iter_mut().filter(|t| t.live) {
            t.now = t.freq;
            if t.hits as usize >= TREND {
                // Least-squares slope over the last TREND detections (x centred on 0).
                let mid = (TREND - 1) as f32 / 2.0;
                let mean = t.history.iter().sum::<f32>() / TREND as f32;
                let (mut num, mut den) = (0.0, 0.0);
                for (i, f) in t.history.iter().enumerate() {
                    let x = i as f32 - mid;
                    num += x * (f - mean);
                    den += x * x;
                }
                let slope = num / den / period_s;
                t.now = (t.freq + slope * lag_s).clamp(t.freq - bin_hz, t.freq + bin_hz);
            }
            let w = 2.0 * PI * t.now / self.rate;
            let tn = (PI * notch_width_hz(t.now) / self.rate).tan();
            t.k1 = -w.cos();
            t.k2 = (1.0 - tn) / (1.0 + tn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(signal: &[f32], rate: f32) -> (Vec<f32>, HumRemover) {
        let grid = FrameGrid::for_rate(rate).unwrap();
        let mut h = HumRemover::new(grid, 1);
        let mut out = Vec::with_capacity(signal.len());
        let mut removed = vec![0.0; grid.hop];
        for chunk in signal.chunks_exact(grid.hop) {
            let mut hop = chunk.to_vec();
            h.update(chunk, 1.0);
            h.process(0, &mut hop, &mut removed);
            for (r, (x, y)) in removed.iter().zip(chunk.iter().zip(&hop)) {
                assert!((r - (x - y)).abs() < 1e-6);
            }
            out.extend_from_slice(&hop);
        }
        (out, h)
    }

    #[test]
    fn a_steady_tone_is_found_and_notched() {
        let rate = 48_000.0;
        let x: Vec<f32> = (0..rate as usize * 4)
            .map(|i| 0.1 * (2.0 * PI * 1234.5 * i as f32 / rate).sin())
            .collect();
        let (y, h) = run(&x, rate);
        let tones: Vec<_> = h.tones().collect();
        assert_eq!(tones.len(), 1, "{tones:?}");
        assert!((tones[0].0 - 1234.5).abs() < 0.2, "{tones:?}");
        let tail = &y[y.len() - 24_000..];
        let rms = (tail.iter().map(|v| v * v).sum::<f32>() / tail.len() as f32).sqrt();
        assert!(rms < 0.1 / 2f32.sqrt() * 0.01, "rms {rms}");
    }

    #[test]
    fn fast_db_is_within_a_hundredth_of_a_db() {
        for i in 0..2000 {
            let x = 10f32.powf(i as f32 / 100.0 - 12.0);
            let d = fast_db(x) - 10.0 * x.log10();
            assert!(d.abs() < 0.01, "{x}: {d}");
        }
    }

    #[test]
    fn silence_and_noise_engage_nothing() {
        let mut s = 7u64;
        let x: Vec<f32> = (0..48_000 * 3)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
            })
            .collect();
        let (y, h) = run(&x, 48_000.0);
        assert_eq!(h.tones().count(), 0);
        assert_eq!(x, y);
    }
}
