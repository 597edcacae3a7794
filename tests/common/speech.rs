//! Spoken test sentences (espeak-ng, installed by scripts/test.sh) and noisy mixtures of them.

use super::{noise, rms};
use std::process::Command;

/// espeak-ng speech, resampled (linear interpolation) to `rate`.
pub fn speech(rate: f32) -> Vec<f32> {
    // One file per call: tests in one binary run in parallel.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let k = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "quell-speech-{}-{k}-{rate}.wav",
        std::process::id()
    ));
    let status = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&path)
        .arg("The quick brown fox jumps over the lazy dog. Noise suppression keeps the voice.")
        .status()
        .expect("espeak-ng is needed for this test (scripts/test.sh installs it)");
    assert!(status.success());
    let a = quell::wav::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let src = &a.channels[0];
    let ratio = a.sample_rate as f32 / rate;
    let n = (src.len() as f32 / ratio) as usize;
    let peak = src.iter().fold(0.0f32, |m, x| m.max(x.abs())).max(1e-9);
    (0..n)
        .map(|i| {
            let p = i as f32 * ratio;
            let j = p as usize;
            let f = p - j as f32;
            let b = src.get(j + 1).copied().unwrap_or(0.0);
            (src[j] * (1.0 - f) + b * f) * 0.3 / peak
        })
        .collect()
}

/// `lead` samples of noise alone, then the speech `s`, with the noise scaled to `snr_db` against the
/// speech's RMS. Returns the mix, the unscaled noise and its scale.
pub fn speech_after_noise(
    s: &[f32],
    lead: usize,
    seed: u64,
    snr_db: f32,
) -> (Vec<f32>, Vec<f32>, f32) {
    let n = lead + s.len();
    let mut clean = vec![0.0; n];
    clean[lead..].copy_from_slice(s);
    let nz = noise(n, seed, 1.0);
    let g = rms(s) / rms(&nz) / 10f32.powf(snr_db / 20.0);
    let noisy = clean.iter().zip(&nz).map(|(c, v)| c + g * v).collect();
    (noisy, nz, g)
}
