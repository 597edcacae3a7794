//! One training mixture: augmented speech plus one or two augmented noises at a random SNR.

use std::borrow::Cow;

use super::augment::{active_power, change_speed, convolve, random_filter, random_rir, rms};
use super::formants::shift_formants;
use super::noise_gen;
use super::pool::Pool;
use super::rng::Rng;
use crate::dsp::biquad::Biquad;

pub const RATE: f32 = 48_000.0;

#[derive(Debug, Clone, Copy)]
pub struct MixConfig {
    pub snr_min: f32,
    pub snr_max: f32,
    /// Mixture length range in seconds.
    pub min_seconds: f32,
    pub max_seconds: f32,
    /// Probability that a speech clip is played faster or slower (pitch and formants move with it:
    /// new voices from few speakers). 0 draws no random numbers, so older seeds mix as before.
    pub speed_prob: f32,
    /// Probability that the speech is put in a synthetic room (drawn for every mix either way).
    pub reverb_prob: f32,
    /// Longest room drawn (RT60, seconds); rooms are drawn uniformly from 0.15 s up to it.
    pub rt60_max: f32,
    /// Probability that a speech clip's formants are moved (a new vocal tract, same pitch and tempo).
    /// 0 draws no random numbers, so older seeds mix as before.
    pub formant_prob: f32,
}

/// Speed factors for [`MixConfig::speed_prob`]: about -2.2 to +2.4 semitones.
pub const SPEED_RANGE: (f32, f32) = (0.88, 1.15);
/// Formant factors for [`MixConfig::formant_prob`]: vocal tracts about 13 % longer to 15 % shorter.
pub const FORMANT_RANGE: (f32, f32) = (0.87, 1.15);

impl Default for MixConfig {
    fn default() -> Self {
        Self {
            snr_min: -5.0,
            snr_max: 25.0,
            min_seconds: 3.0,
            max_seconds: 8.0,
            speed_prob: 0.5,
            reverb_prob: 0.3,
            rt60_max: 0.9,
            formant_prob: 0.0,
        }
    }
}

pub struct Mix {
    pub noisy: Vec<f32>,
    /// What the model should keep: the speech with only the early part of any reverberation.
    pub target: Vec<f32>,
    /// The speech with its whole room (the reverb head's target); equal to `target` when the mix
    /// has no room.
    pub reverberant: Vec<f32>,
    /// Where the speech's own content ends (bands above are "don't care").
    pub bandwidth_hz: f32,
    /// Simulated host Nyquist (24 kHz unless a low-rate input is simulated).
    pub nyquist_hz: f32,
}

fn loop_segment(src: &[f32], n: usize, rng: &mut Rng) -> Vec<f32> {
    let start = rng.below(src.len());
    (0..n).map(|i| src[(start + i) % src.len()]).collect()
}

/// `change(clip, factor)` with probability `prob` (factor drawn from `range`), else the clip as it
/// is. A zero probability draws no random numbers, so older seeds mix as before.
fn perturb<'a>(
    clip: Cow<'a, [f32]>,
    prob: f32,
    range: (f32, f32),
    change: fn(&[f32], f32) -> Vec<f32>,
    rng: &mut Rng,
) -> Cow<'a, [f32]> {
    if prob > 0.0 && rng.chance(prob) {
        Cow::Owned(change(&clip, rng.range(range.0, range.1)))
    } else {
        clip
    }
}

fn speech_track(pool: &Pool, n: usize, cfg: &MixConfig, rng: &mut Rng) -> Vec<f32> {
    let mut out = Vec::with_capacity(n + RATE as usize * 4);
    // Random lead-in silence so onsets land anywhere.
    out.resize((rng.range(0.0, 0.6) * RATE) as usize, 0.0);
    while out.len() < n {
        let clip = Cow::Borrowed(pool.clips[rng.below(pool.clips.len())].as_slice());
        let clip = perturb(clip, cfg.speed_prob, SPEED_RANGE, change_speed, rng);
        let clip = perturb(clip, cfg.formant_prob, FORMANT_RANGE, shift_formants, rng);
        let g = 10f32.powf(rng.range(-6.0, 6.0) / 20.0) / rms(&clip).max(1e-6);
        out.extend(clip.iter().map(|x| x * g));
        let gap = (rng.range(0.0, 0.8) * RATE) as usize;
        out.resize(out.len() + gap, 0.0);
    }
    out.truncate(n);
    out
}

fn noise_track(pool: &Pool, n: usize, rng: &mut Rng) -> Vec<f32> {
    let sources = if rng.chance(0.3) { 2 } else { 1 };
    let mut out = vec![0.0f32; n];
    for _ in 0..sources {
        let mut x = if rng.chance(0.75) && !pool.clips.is_empty() {
            loop_segment(&pool.clips[rng.below(pool.clips.len())], n, rng)
        } else {
            let kind = rng.below(noise_gen::KINDS);
            noise_gen::generate(kind, n, RATE, rng)
        };
        if rng.chance(0.5) {
            random_filter(rng).run(&mut x);
        }
        let g = 10f32.powf(rng.range(-10.0, 0.0) / 20.0) / rms(&x).max(1e-9);
        for (o, v) in out.iter_mut().zip(&x) {
            *o += v * g;
        }
    }
    out
}

pub fn make(speech: &Pool, noise: &Pool, cfg: &MixConfig, rng: &mut Rng) -> Mix {
    let n = (rng.range(cfg.min_seconds, cfg.max_seconds) * RATE) as usize;
    let no_speech = rng.chance(0.07);
    let mut dry = if no_speech {
        vec![0.0; n]
    } else {
        speech_track(speech, n, cfg, rng)
    };
    if rng.chance(0.5) {
        let mut f = random_filter(rng);
        f.run(&mut dry);
    }
    if rng.chance(0.3) {
        // Some recordings carry rumble; the target keeps it high-passed like a good mic chain.
        Biquad::highpass(RATE, rng.range(40.0, 120.0), 0.7).run(&mut dry);
    }
    let bandwidth_hz = if no_speech {
        RATE / 2.0
    } else {
        super::frames::bandwidth_hz(&dry)
    };
    let (reverberant, target) = if !no_speech && rng.chance(cfg.reverb_prob) {
        let (full, early) = random_rir(RATE, cfg.rt60_max, rng);
        (convolve(&dry, &full), convolve(&dry, &early))
    } else {
        (dry.clone(), dry)
    };
    let noise = noise_track(noise, n, rng);
    let snr_db = if rng.chance(0.04) {
        50.0
    } else {
        rng.range(cfg.snr_min, cfg.snr_max)
    };
    let p_speech = active_power(&reverberant, RATE);
    let p_noise = active_power(&noise, RATE).max(1e-12);
    let noise_gain = if no_speech || p_speech <= 0.0 {
        1.0
    } else {
        (p_speech / p_noise / 10f32.powf(snr_db / 10.0)).sqrt()
    };
    let mut noisy: Vec<f32> = reverberant
        .iter()
        .zip(&noise)
        .map(|(s, v)| s + v * noise_gain)
        .collect();
    let mut target = target;
    let mut reverberant = reverberant;
    // Overall level, -45..-12 dBFS RMS, applied to mixture and targets alike.
    let level = 10f32.powf(rng.range(-45.0, -12.0) / 20.0) / rms(&noisy).max(1e-9);
    for x in noisy
        .iter_mut()
        .chain(target.iter_mut())
        .chain(reverberant.iter_mut())
    {
        *x *= level;
    }
    if rng.chance(0.05) {
        // Clipping: drive into a hard limit. The target stays clean.
        let peak = noisy.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-9);
        let ceiling = peak / rng.range(1.5, 4.0);
        for x in &mut noisy {
            *x = x.clamp(-ceiling, ceiling);
        }
    }
    let nyquist_hz = if rng.chance(0.1) {
        [4_000.0, 8_000.0, 11_025.0, 16_000.0][rng.below(4)]
    } else {
        RATE / 2.0
    };
    Mix {
        noisy,
        target,
        reverberant,
        bandwidth_hz,
        nyquist_hz,
    }
}
