//! Spectral contrast: each bin's gain raised to the power 1 + `contrast`, then one factor for the
//! whole frame that gives back the energy the frame had with the plain gains.
//!
//! Why: the networks are unsure in the same places where noise and speech overlap, and their gains
//! there sit in the middle. Raising the gains to a power pulls the uncertain bins down relative to
//! the ones the model is sure are speech; giving the frame its energy back keeps the speech at its
//! level, so what is lost is the noise between the speech-dominated regions, not loudness. Per-region
//! energy compensation (octaves) took the gain away again: the benefit is the contrast across the
//! spectrum (measured on the dev set: training/README.md, "Spectral contrast and a faster release").

/// The default, chosen on the dev set (docs/eval-devset.md).
pub const DEFAULT_CONTRAST: f32 = 0.25;
/// The top of the range: gains squared.
pub const MAX_CONTRAST: f32 = 1.0;

/// Sharpens `gains` (per bin, in `floor..=1`) in place for a frame with per-bin input `power`:
/// g becomes min(a · max(g^(1 + contrast), floor), 1), with a the one factor that keeps the
/// frame's output energy sum(g² · power) (less whatever the cap at 1 takes). `contrast` 0 leaves
/// the gains untouched; a silent frame (no energy) keeps the powered gains.
pub fn sharpen(gains: &mut [f32], power: &[f32], contrast: f32, floor: f32) {
    if contrast.is_nan() || contrast <= 0.0 {
        return;
    }
    let exponent = 1.0 + contrast.min(MAX_CONTRAST);
    let (mut before, mut after) = (0.0f32, 0.0f32);
    for (g, &p) in gains.iter_mut().zip(power) {
        let plain = *g;
        // The default's exponent without a call to powf (this runs for every bin of every hop).
        let powered = if exponent == 1.25 {
            plain * plain.sqrt().sqrt()
        } else {
            plain.powf(exponent)
        }
        .max(floor);
        before += plain * plain * p;
        after += powered * powered * p;
        *g = powered;
    }
    if after > 0.0 && before.is_finite() && after.is_finite() {
        let a = (before / after).sqrt();
        for g in gains.iter_mut() {
            *g = (*g * a).min(1.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(g: &[f32], p: &[f32]) -> f32 {
        g.iter().zip(p).map(|(g, p)| g * g * p).sum()
    }

    #[test]
    fn zero_contrast_is_the_identity() {
        let mut g = vec![0.1, 0.5, 0.9, 1.0];
        let before = g.clone();
        sharpen(&mut g, &[1.0; 4], 0.0, 0.01);
        assert_eq!(g, before);
        sharpen(&mut g, &[1.0; 4], f32::NAN, 0.01);
        assert_eq!(g, before);
    }

    #[test]
    fn keeps_the_energy_and_lowers_the_uncertain_bins_relative_to_the_sure_ones() {
        let power = [4.0, 1.0, 0.5, 2.0, 0.1];
        let plain = [0.2, 0.4, 0.5, 0.8, 0.3];
        for contrast in [0.25, 0.5, 1.0] {
            let mut g = plain;
            sharpen(&mut g, &power, contrast, 1e-5);
            // No bin reached the cap here, so the energy is exactly kept.
            assert!(g.iter().all(|&x| x < 1.0), "{g:?}");
            let (e0, e1) = (energy(&plain, &power), energy(&g, &power));
            assert!((e0 - e1).abs() < 1e-5 * e0, "{contrast}: {e0} vs {e1}");
            // Every pair of bins moves further apart in ratio: contrast.
            for i in 0..plain.len() {
                for j in 0..plain.len() {
                    if plain[i] < plain[j] {
                        assert!(g[i] / g[j] < plain[i] / plain[j], "{contrast}: {i} {j}");
                    }
                }
            }
        }
    }

    #[test]
    fn stays_within_floor_and_one_and_survives_silence() {
        let floor = 0.05;
        let mut g = vec![floor, 0.06, 0.9, 1.0, 1.0];
        sharpen(&mut g, &[1.0, 1.0, 1.0, 1.0, 1.0], 1.0, floor);
        assert!(g.iter().all(|&x| (floor..=1.0).contains(&x)), "{g:?}");
        assert_eq!(g[3], 1.0);
        // A silent frame: the powered gains, nothing divided by zero.
        let mut g = vec![0.5, 0.25];
        sharpen(&mut g, &[0.0, 0.0], 1.0, 0.0);
        assert_eq!(g, vec![0.25, 0.0625]);
    }

    #[test]
    fn the_fast_path_matches_powf() {
        let power = [1.0, 2.0, 3.0];
        let mut a = [0.3, 0.6, 0.9];
        let mut b = a;
        sharpen(&mut a, &power, DEFAULT_CONTRAST, 0.0);
        sharpen(&mut b, &power, DEFAULT_CONTRAST + 1e-7, 0.0);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5);
        }
    }
}
