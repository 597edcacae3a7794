//! The model's input features, defined once for the plugin, the CLI and the training dumper.
//!
//! Feature version 1: per band, log10 of the band's mean power (spectrum scaled by 1/N, so the value
//! does not depend on the sample rate), floored at -10 (about -100 dB).
//!
//! Feature version 2: version 1's band features, then log10 power of the first [`PITCH_BINS`] bins
//! above DC of a longer window (20 ms, [`long_window`]): 50 Hz resolution up to 3.2 kHz, fine enough
//! to resolve voiced speech's harmonics, which the 10 ms synthesis window (100 Hz bins) blurs. The
//! long window only looks further into the past, so it adds no latency.

use realfft::num_complex::Complex;

/// The newest feature version (written by `dump-features` unless asked otherwise).
pub const FEATURE_VERSION: u32 = 2;
/// Every version this build computes.
pub const SUPPORTED_VERSIONS: [u32; 2] = [1, 2];
/// Power floor: silence and bands above Nyquist read as log10(1e-10) = -10.
pub const POWER_FLOOR: f32 = 1e-10;
/// Long-window bins in version 2 (bins 1..=64: 50 Hz to 3.2 kHz at every sample rate).
pub const PITCH_BINS: usize = 64;
/// The long window spans this many hops (4 x 5 ms = 20 ms).
pub const LONG_HOPS: usize = 4;

/// Number of features for a feature version and band layout (0 for an unknown version).
pub fn n_features(version: u32, n_bands: usize) -> usize {
    match version {
        1 => n_bands,
        2 => n_bands + PITCH_BINS,
        _ => 0,
    }
}

/// Whether a feature version needs the long-window spectrum.
pub fn needs_long_window(version: u32) -> bool {
    version >= 2
}

/// |X|^2 per bin.
pub fn power_spectrum(spec: &[Complex<f32>], out: &mut [f32]) {
    for (p, c) in out.iter_mut().zip(spec) {
        *p = c.norm_sqr();
    }
}

/// Features from band energies (as produced by [`BandMap::band_energies`]) and, for version 2, the
/// long-window power (at least [`PITCH_BINS`] + 1 values; missing bins read as silence).
/// `out` holds [`n_features`] values.
pub fn compute(energies: &[f32], long_power: &[f32], out: &mut [f32]) {
    let (bands, pitch) = out.split_at_mut(energies.len());
    for (f, &e) in bands.iter_mut().zip(energies) {
        *f = (e + POWER_FLOOR).log10();
    }
    for (k, f) in pitch.iter_mut().enumerate() {
        let p = long_power.get(k + 1).copied().unwrap_or(0.0);
        *f = (p + POWER_FLOOR).log10();
    }
}

/// Periodic Hann window for the long analysis, scaled so a steady tone reads about as loud as in the
/// short sqrt-Hann analysis.
pub fn long_window(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let x = std::f32::consts::PI * i as f32 / n as f32;
            x.sin() * x.sin() / n as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_per_version() {
        assert_eq!(n_features(1, 32), 32);
        assert_eq!(n_features(2, 32), 32 + PITCH_BINS);
        assert_eq!(n_features(3, 32), 0);
    }

    #[test]
    fn version_1_ignores_long_power_and_version_2_floors_missing_bins() {
        let e = [1.0, 0.01];
        let mut v1 = [0.0; 2];
        compute(&e, &[], &mut v1);
        assert_eq!(v1, [0.0, -2.0]);
        let mut v2 = vec![0.0; n_features(2, 2)];
        compute(&e, &[5.0, 10.0, 100.0], &mut v2);
        assert_eq!(&v2[..4], &[0.0, -2.0, 1.0, 2.0]);
        assert!(v2[4..].iter().all(|&x| (x + 10.0).abs() < 1e-6));
    }
}
