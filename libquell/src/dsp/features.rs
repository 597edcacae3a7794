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
        *f = e + POWER_FLOOR;
    }
    for (k, f) in pitch.iter_mut().enumerate() {
        *f = long_power.get(k + 1).copied().unwrap_or(0.0) + POWER_FLOOR;
    }
    log10_in_place(out);
}

/// log10 of every value. libm's `log10f` is a call per value (with 96 features it was a sixth of
/// `tiny`'s CPU outside the network); [`log10_normal`] vectorises. Values it does not cover (zero,
/// negative, subnormal, infinite, NaN: none after the power floor, but the function stays exact
/// about them) take the libm path for the whole slice.
fn log10_in_place(v: &mut [f32]) {
    let odd = v.iter().fold(false, |odd, &x| {
        odd | !((f32::MIN_POSITIVE..=f32::MAX).contains(&x))
    });
    if odd {
        for x in v {
            *x = x.log10();
        }
    } else {
        for x in v {
            *x = log10_normal(*x);
        }
    }
}

/// log10(x) for a positive normal x, within 1e-6 of libm's over the features' range (unit test):
/// x = 2^e m with m in [sqrt(1/2), sqrt(2)), and ln m = 2 atanh(s) for s = (m - 1) / (m + 1),
/// |s| < 0.172, from its series to s^9 (the next term is below 1e-9).
#[inline(always)]
fn log10_normal(x: f32) -> f32 {
    // Bits of sqrt(1/2): subtracting them makes the exponent field e exactly where m >= sqrt(1/2).
    const SQRT_HALF_BITS: i32 = 0x3f35_04f3;
    // log10(2) split so that e * HI is exact for |e| < 2^9.
    const LOG10_2_HI: f32 = 0.301_025_39;
    const LOG10_2_LO: f32 = 4.605_039e-6;
    let bits = x.to_bits() as i32;
    let e = (bits - SQRT_HALF_BITS) >> 23;
    let m = f32::from_bits((bits - (e << 23)) as u32);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let atanh =
        s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    let e = e as f32;
    e * LOG10_2_HI + (e * LOG10_2_LO + 2.0 * std::f32::consts::LOG10_E * atanh)
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
        let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(a, b)| (a - b).abs() < 1e-6);
        assert!(close(&v1, &[0.0, -2.0]), "{v1:?}");
        let mut v2 = vec![0.0; n_features(2, 2)];
        compute(&e, &[5.0, 10.0, 100.0], &mut v2);
        assert!(close(&v2[..4], &[0.0, -2.0, 1.0, 2.0]), "{v2:?}");
        assert!(v2[4..].iter().all(|&x| (x + 10.0).abs() < 1e-6));
    }

    #[test]
    fn the_vectorised_log10_stays_within_a_millionth_of_libm() {
        // Every power from the floor to far above full scale, densely, and each power of two's
        // neighbours (where the exponent and the mantissa's range change).
        let mut worst = 0.0f32;
        let mut check = |x: f32| {
            let d = (log10_normal(x) - x.log10()).abs();
            worst = worst.max(d);
            assert!(d < 1e-6, "{x}: {} against {}", log10_normal(x), x.log10());
        };
        for i in 0..=200_000 {
            check(10f32.powf(i as f32 / 10_000.0 - 10.0));
        }
        for k in -40..40 {
            let p = 2f32.powi(k);
            for x in [
                p,
                f32::from_bits(p.to_bits() - 1),
                f32::from_bits(p.to_bits() + 1),
            ] {
                check(x);
                check(x * std::f32::consts::FRAC_1_SQRT_2);
            }
        }
        assert!(worst > 0.0, "the test compares two different computations");
    }

    #[test]
    fn values_outside_the_fast_path_keep_libm_results() {
        let mut v = [1.0, 0.0, -1.0, f32::INFINITY, f32::NAN, 1e-40, 100.0];
        log10_in_place(&mut v);
        assert_eq!(&v[..2], &[0.0, f32::NEG_INFINITY]);
        assert!(v[2].is_nan() && v[4].is_nan());
        assert_eq!(v[3], f32::INFINITY);
        assert_eq!(v[5], 1e-40f32.log10());
        assert_eq!(v[6], 2.0);
    }
}
