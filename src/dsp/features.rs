//! The model's input features, defined once for the plugin, the CLI and the training dumper.
//!
//! Feature version 1: per band, log10 of the band's mean power (spectrum scaled by 1/N, so the value
//! does not depend on the sample rate), floored at -10 (about -100 dB).

use realfft::num_complex::Complex;

pub const FEATURE_VERSION: u32 = 1;
/// Power floor: silence and bands above Nyquist read as log10(1e-10) = -10.
pub const POWER_FLOOR: f32 = 1e-10;

/// Number of features for a band layout.
pub fn n_features(n_bands: usize) -> usize {
    n_bands
}

/// |X|^2 per bin.
pub fn power_spectrum(spec: &[Complex<f32>], out: &mut [f32]) {
    for (p, c) in out.iter_mut().zip(spec) {
        *p = c.norm_sqr();
    }
}

/// Features from band energies (as produced by [`BandMap::band_energies`]).
pub fn features_from_energies(energies: &[f32], out: &mut [f32]) {
    for (f, &e) in out.iter_mut().zip(energies) {
        *f = (e + POWER_FLOOR).log10();
    }
}
