//! Features and targets for one (noisy, clean) pair, computed with the engine's own analysis.

use realfft::num_complex::Complex;

use crate::dsp::bands::BandMap;
use crate::dsp::features;
use crate::dsp::grid::FrameGrid;
use crate::dsp::stft::Analysis;

/// Clean and noisy band energies below this are "silence" (as is the noisy floor of the features).
const SILENCE: f32 = 1e-9;

/// Exponent of the compressed magnitudes written for the trainer's output-spectrum loss.
pub const SPECTRUM_POWER: f32 = 0.3;

pub struct FrameRows {
    pub features: Vec<f32>,
    pub targets: Vec<f32>,
    pub vad: Vec<f32>,
    pub frames: usize,
    /// With spectra requested: per frame and bin, the noisy and the clean (target) STFT magnitude of
    /// the engine's own analysis raised to [`SPECTRUM_POWER`]; clean is -1 where the target is
    /// "don't care" (above the simulated Nyquist, or above the speech's bandwidth while it may speak).
    /// Empty otherwise.
    pub noisy_spec: Vec<f32>,
    pub clean_spec: Vec<f32>,
    /// With complex bins requested: per frame, the noisy and clean STFT values of the lowest
    /// `complex_bins` bins, compressed like the magnitudes (z |z|^(p-1), p = [`SPECTRUM_POWER`]; the
    /// phase is kept), interleaved re, im. What a deep filter needs: the trainer filters the noisy
    /// frames and compares with the clean. "Don't care" is `clean_spec`'s. Empty otherwise.
    pub noisy_cplx: Vec<f32>,
    pub clean_cplx: Vec<f32>,
    /// With the comb requested: per frame, the noisy spectrum of the window one pitch period back
    /// (the engine's pitch comb, `engine::harmonics`) over the same bins, compressed and
    /// interleaved like `noisy_cplx`; zeros where nothing repeats. Empty otherwise.
    pub noisy_comb: Vec<f32>,
}

/// What [`compute_with_spectra`] writes besides features and targets.
#[derive(Debug, Clone, Copy, Default)]
pub struct SpectraOut {
    /// Compressed noisy and clean magnitudes of every bin.
    pub magnitudes: bool,
    /// Compressed complex values of bins `[0, complex_bins)`.
    pub complex_bins: usize,
    /// Also the spectrum one pitch period back over those bins (`FrameRows::noisy_comb`).
    pub comb: bool,
}

/// `bandwidth_hz`: clean speech content stops there; bands above it are "don't care".
/// `nyquist_hz`: simulate a lower host rate by dropping noisy-signal bins above it.
/// `feature_version`: which feature definition to write (`dsp::features`).
pub fn compute(
    noisy: &[f32],
    clean: &[f32],
    edges: &[f32],
    bandwidth_hz: f32,
    nyquist_hz: f32,
    feature_version: u32,
) -> FrameRows {
    compute_with_spectra(
        noisy,
        clean,
        edges,
        bandwidth_hz,
        nyquist_hz,
        feature_version,
        SpectraOut::default(),
    )
}

/// [`compute`], optionally with the compressed noisy and clean spectra (`FrameRows::noisy_spec`,
/// `FrameRows::noisy_cplx`).
pub fn compute_with_spectra(
    noisy: &[f32],
    clean: &[f32],
    edges: &[f32],
    bandwidth_hz: f32,
    nyquist_hz: f32,
    feature_version: u32,
    out_spectra: SpectraOut,
) -> FrameRows {
    let spectra = out_spectra.magnitudes;
    let grid = FrameGrid::for_rate(48_000.0).expect("design rate");
    let bands = BandMap::new(edges, &grid);
    let nb = bands.n_bands();
    let nf = features::n_features(feature_version, nb);
    let long = features::needs_long_window(feature_version);
    let mut an = Analysis::new(grid);
    let mut an_long = Analysis::long(grid);
    let mut spec_long = vec![Complex::new(0.0, 0.0); an_long.bins()];
    let mut p_long = vec![0.0; an_long.bins()];
    let long_bin_hz = grid.sample_rate / (features::LONG_HOPS * grid.hop) as f32;
    let cut_long = ((nyquist_hz / long_bin_hz).floor() as usize + 1).min(p_long.len());
    let mut ac = Analysis::new(grid);
    let bins = grid.bins();
    let mut spec_n = vec![Complex::new(0.0, 0.0); bins];
    let mut spec_c = spec_n.clone();
    let (mut pn, mut pc) = (vec![0.0; bins], vec![0.0; bins]);
    let (mut en, mut ec) = (vec![0.0; nb], vec![0.0; nb]);
    let mut feat = vec![0.0; nf];
    let cut_bin = ((nyquist_hz / grid.bin_hz()).floor() as usize + 1).min(bins);
    let frames = noisy.len().min(clean.len()) / grid.hop;
    let mut out = FrameRows {
        features: Vec::with_capacity(frames * nf),
        targets: Vec::with_capacity(frames * nb),
        vad: Vec::with_capacity(frames),
        frames,
        noisy_spec: Vec::with_capacity(if spectra { frames * bins } else { 0 }),
        clean_spec: Vec::with_capacity(if spectra { frames * bins } else { 0 }),
        noisy_cplx: Vec::with_capacity(frames * 2 * out_spectra.complex_bins),
        clean_cplx: Vec::with_capacity(frames * 2 * out_spectra.complex_bins),
        noisy_comb: Vec::new(),
    };
    let mut comb = out_spectra
        .comb
        .then(|| crate::engine::harmonics::PitchComb::new(grid));
    let kc = out_spectra.complex_bins.min(bins);
    // z |z|^(p - 1): the compressed magnitude with the phase kept.
    let compress_c = |z: Complex<f32>| {
        let m = z.norm();
        if m > 0.0 {
            z * m.powf(SPECTRUM_POWER - 1.0)
        } else {
            z
        }
    };
    let compress = |p: f32| p.max(0.0).powf(0.5 * SPECTRUM_POWER);
    // Band energies first: targets depend on the clip's loudest frame.
    let mut all_en = Vec::with_capacity(frames * nb);
    let mut all_ec = Vec::with_capacity(frames * nb);
    let mut clean_frame_energy = Vec::with_capacity(frames);
    for t in 0..frames {
        let r = t * grid.hop..(t + 1) * grid.hop;
        an.push(&noisy[r.clone()], &mut spec_n);
        if long {
            an_long.push(&noisy[r.clone()], &mut spec_long);
            features::power_spectrum(&spec_long, &mut p_long);
            p_long[cut_long..].fill(0.0);
        }
        ac.push(&clean[r], &mut spec_c);
        features::power_spectrum(&spec_n, &mut pn);
        features::power_spectrum(&spec_c, &mut pc);
        pn[cut_bin..].fill(0.0);
        bands.band_energies(&pn, &mut en);
        bands.band_energies(&pc, &mut ec);
        features::compute(&en, &p_long, &mut feat);
        out.features.extend_from_slice(&feat);
        all_en.extend_from_slice(&en);
        all_ec.extend_from_slice(&ec);
        clean_frame_energy.push(pc.iter().sum::<f32>());
        if spectra {
            out.noisy_spec.extend(pn.iter().map(|&p| compress(p)));
            out.clean_spec.extend(pc.iter().map(|&p| compress(p)));
        }
        // The noisy values as the engine sees them: above the simulated Nyquist there is nothing.
        for (k, (&n, &c)) in spec_n.iter().zip(&spec_c).take(kc).enumerate() {
            let n = if k < cut_bin {
                compress_c(n)
            } else {
                Complex::new(0.0, 0.0)
            };
            let c = compress_c(c);
            out.noisy_cplx.extend([n.re, n.im]);
            out.clean_cplx.extend([c.re, c.im]);
        }
        if let Some(comb) = comb.as_mut() {
            comb.push(&noisy[t * grid.hop..(t + 1) * grid.hop]);
            let p = comb.predicted();
            for k in 0..kc {
                let z = match p {
                    Some(p) if k < cut_bin => compress_c(p[k]),
                    _ => Complex::new(0.0, 0.0),
                };
                out.noisy_comb.extend([z.re, z.im]);
            }
        }
    }
    let speech_bin = (bandwidth_hz / grid.bin_hz()).ceil() as usize;
    let max = clean_frame_energy.iter().cloned().fold(0.0f32, f32::max);
    for (t, &e) in clean_frame_energy.iter().enumerate() {
        let vad = if max < SILENCE {
            0.0
        } else if e > max * 10f32.powf(-3.0) {
            1.0
        } else if e < max * 10f32.powf(-4.5) {
            0.0
        } else {
            -1.0
        };
        out.vad.push(vad);
        if spectra {
            // The same "don't care" rule as the band targets below, per bin.
            let from = if vad != 0.0 {
                speech_bin.min(cut_bin)
            } else {
                cut_bin
            };
            out.clean_spec[t * bins + from..(t + 1) * bins].fill(-1.0);
        }
        for b in 0..nb {
            let (ec, en) = (all_ec[t * nb + b], all_en[t * nb + b]);
            // Above the input's Nyquist nothing is heard: don't care. Above the speech's own
            // bandwidth we cannot know what the speech had there, so don't care while speech may be
            // present; in speech-free frames everything there is noise and the target is its gain.
            let above_nyquist = edges[b] >= nyquist_hz;
            let above_speech = edges[b] >= bandwidth_hz && vad != 0.0;
            let g = if above_nyquist || above_speech || (ec < SILENCE && en < SILENCE) {
                -1.0
            } else {
                (ec / (en + 1e-20)).sqrt().min(1.0)
            };
            out.targets.push(g);
        }
    }
    out
}

/// Highest frequency (Hz) where a clip's long-term spectrum is within 65 dB of its peak.
pub fn bandwidth_hz(clean: &[f32]) -> f32 {
    let grid = FrameGrid::for_rate(48_000.0).expect("design rate");
    let mut a = Analysis::new(grid);
    let bins = grid.bins();
    let mut spec = vec![Complex::new(0.0, 0.0); bins];
    let mut p = vec![0.0; bins];
    let mut acc = vec![0.0f64; bins];
    for hop in clean.chunks_exact(grid.hop) {
        a.push(hop, &mut spec);
        features::power_spectrum(&spec, &mut p);
        for (s, x) in acc.iter_mut().zip(&p) {
            *s += *x as f64;
        }
    }
    let peak = acc.iter().cloned().fold(0.0, f64::max);
    if peak <= 0.0 {
        return 0.0;
    }
    let k = acc
        .iter()
        .rposition(|&x| x > peak * 10f64.powf(-6.5))
        .unwrap_or(0);
    (k as f32 + 1.0) * grid.bin_hz()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsp::bands::{DEFAULT_BANDS, layout_edges};

    #[test]
    fn complex_bins_carry_the_compressed_magnitudes_and_the_phase() {
        let edges = layout_edges(&format!("erb{DEFAULT_BANDS}")).unwrap();
        let n = 48_000 / 4;
        let mut rng = 12345u32;
        let mut noise = || {
            rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (rng >> 8) as f32 / (1u32 << 24) as f32 - 0.5
        };
        let clean: Vec<f32> = (0..n)
            .map(|i| 0.3 * (i as f32 * 2.0 * std::f32::consts::PI * 440.0 / 48_000.0).sin())
            .collect();
        let noisy: Vec<f32> = clean.iter().map(|&c| c + 0.05 * noise()).collect();
        let out = SpectraOut {
            magnitudes: true,
            complex_bins: 10,
            comb: false,
        };
        let rows = compute_with_spectra(&noisy, &clean, &edges, 20_000.0, 24_000.0, 2, out);
        let bins = rows.noisy_spec.len() / rows.frames;
        assert_eq!(rows.noisy_cplx.len(), rows.frames * 20);
        for t in 0..rows.frames {
            for k in 0..10 {
                let z = &rows.noisy_cplx[t * 20 + 2 * k..t * 20 + 2 * k + 2];
                let m = (z[0] * z[0] + z[1] * z[1]).sqrt();
                let want = rows.noisy_spec[t * bins + k];
                assert!(
                    (m - want).abs() <= 1e-4 * (1.0 + want),
                    "t {t} k {k}: {m} vs {want}"
                );
            }
        }
        // The tone's phase advances by 2 pi 440 Hz x 5 ms per hop in its bin (4, 400 Hz wide 100).
        let t = rows.frames / 2;
        let ph = |t: usize| {
            let z = &rows.clean_cplx[t * 20 + 8..t * 20 + 10];
            z[1].atan2(z[0])
        };
        let step = (ph(t + 1) - ph(t)).rem_euclid(2.0 * std::f32::consts::PI);
        let want =
            (2.0 * std::f32::consts::PI * 440.0 * 0.005).rem_euclid(2.0 * std::f32::consts::PI);
        assert!((step - want).abs() < 0.05, "phase step {step} vs {want}");
        // Without the option nothing complex is written.
        let plain = compute(&noisy, &clean, &edges, 20_000.0, 24_000.0, 2);
        assert!(plain.noisy_cplx.is_empty() && plain.clean_cplx.is_empty());
        assert!(rows.noisy_comb.is_empty());
    }

    #[test]
    fn the_comb_spectrum_is_the_window_one_period_back() {
        // A 150 Hz buzz (period 320 samples) repeats exactly: one period back, its window's spectrum
        // is the current one.
        let edges = layout_edges("erb32").unwrap();
        let n = 48_000;
        let buzz: Vec<f32> = (0..n)
            .map(|i| {
                let ph = i as f32 * 2.0 * std::f32::consts::PI * 150.0 / 48_000.0;
                (1..=12)
                    .map(|h| (h as f32 * ph).sin() / h as f32)
                    .sum::<f32>()
                    * 0.1
            })
            .collect();
        let out = SpectraOut {
            magnitudes: true,
            complex_bins: 40,
            comb: true,
        };
        let rows = compute_with_spectra(&buzz, &buzz, &edges, 20_000.0, 24_000.0, 2, out);
        assert_eq!(rows.noisy_comb.len(), rows.noisy_cplx.len());
        let (mut err, mut energy) = (0.0f64, 0.0f64);
        for t in rows.frames / 2..rows.frames {
            for i in 0..80 {
                let (x, p) = (rows.noisy_cplx[t * 80 + i], rows.noisy_comb[t * 80 + i]);
                err += ((x - p) as f64).powi(2);
                energy += (x as f64).powi(2);
            }
        }
        assert!(
            err < 1e-2 * energy,
            "one period back differs: {err} of {energy}"
        );
        let mut rng = 7u32;
        let noise: Vec<f32> = (0..n)
            .map(|_| {
                rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                ((rng >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.3
            })
            .collect();
        let zeros = vec![0.0; n];
        let rows = compute_with_spectra(&noise, &zeros, &edges, 20_000.0, 24_000.0, 2, out);
        // The tracker does find chance periods in noise (the engine gates the comb by the speech
        // probability), but what it finds there does not repeat the current window.
        let (mut xp, mut xx, mut pp) = (0.0f64, 0.0f64, 0.0f64);
        for t in rows.frames / 2..rows.frames {
            for i in 0..80 {
                let (x, p) = (rows.noisy_cplx[t * 80 + i], rows.noisy_comb[t * 80 + i]);
                xp += (x * p) as f64;
                xx += (x as f64).powi(2);
                pp += (p as f64).powi(2);
            }
        }
        let rho = xp / (xx * pp).sqrt().max(1e-30);
        assert!(
            pp > 0.0 && rho < 0.3,
            "noise repeats with correlation {rho:.2}"
        );
    }
}
