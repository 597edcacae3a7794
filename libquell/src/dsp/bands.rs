//! Band layouts (ERB-spaced, or one band per FFT bin), defined in Hz so they apply at any sample
//! rate, and the mapping between bins and bands at one frame grid.

use super::grid::FrameGrid;

/// Default number of bands for new models.
pub const DEFAULT_BANDS: usize = 32;
/// Band edges are rounded to this resolution; no band is narrower (one bin at the design rate).
pub const MIN_BAND_HZ: f32 = 100.0;
/// Top of the band layout (Nyquist of the design rate).
pub const TOP_HZ: f32 = 24_000.0;

fn hz_to_erb(f: f32) -> f32 {
    21.4 * (1.0 + 0.00437 * f).log10()
}

fn erb_to_hz(e: f32) -> f32 {
    (10f32.powf(e / 21.4) - 1.0) / 0.00437
}

/// `n + 1` edges from 0 to 24 kHz, uniform on the ERB scale, on a 100 Hz grid, each band at least
/// 100 Hz wide (so the low bands, narrower than an FFT bin in ERB terms, are one bin each).
pub fn erb_band_edges(n: usize) -> Vec<f32> {
    let top = hz_to_erb(TOP_HZ);
    let mut edges = Vec::with_capacity(n + 1);
    edges.push(0.0);
    for i in 1..n {
        let f = erb_to_hz(top * i as f32 / n as f32);
        let snapped = (f / MIN_BAND_HZ).round() * MIN_BAND_HZ;
        let prev = *edges.last().unwrap();
        edges.push(snapped.max(prev + MIN_BAND_HZ));
    }
    edges.push(TOP_HZ);
    edges
}

/// One band per FFT bin of the design grid (100 Hz bins): 241 bands whose edges lie halfway between
/// bin centres (`0, 50, 150, ..., 23950, 24000`). At 48 kHz every band is exactly one bin and its
/// centre is that bin's frequency, so [`BandMap::interpolate`] hands each bin its own band's gain
/// unchanged: a per-bin mask. (Edges on the bins themselves, `0, 100, ..., 24000`, would put each
/// bin halfway between two band centres and average two neighbouring gains.)
pub fn bin_band_edges() -> Vec<f32> {
    let n = (TOP_HZ / MIN_BAND_HZ).round() as usize; // 240 bins above DC
    let mut edges = Vec::with_capacity(n + 2);
    edges.push(0.0);
    for k in 0..n {
        edges.push((k as f32 + 0.5) * MIN_BAND_HZ);
    }
    edges.push(TOP_HZ);
    edges
}

/// Band edges for a layout name: `erbN` (N ERB-spaced bands, e.g. `erb32`, the default for new
/// models) or `bins` (one band per FFT bin, [`bin_band_edges`]).
pub fn layout_edges(name: &str) -> Result<Vec<f32>, String> {
    if name == "bins" {
        return Ok(bin_band_edges());
    }
    if let Some(n) = name.strip_prefix("erb") {
        let n: usize = n
            .parse()
            .map_err(|_| format!("band layout '{name}': expected erbN (e.g. erb32) or bins"))?;
        let edges = if n >= 2 {
            erb_band_edges(n)
        } else {
            Vec::new()
        };
        // Too many bands for 100 Hz steps below 24 kHz would not increase.
        if edges.len() < 3 || edges.windows(2).any(|w| w[1] <= w[0]) {
            return Err(format!(
                "band layout '{name}': {n} ERB bands do not fit 0..24 kHz in 100 Hz steps"
            ));
        }
        return Ok(edges);
    }
    Err(format!(
        "unknown band layout '{name}': expected erbN (e.g. erb32) or bins"
    ))
}

/// Band layout resolved to bins at one frame grid.
#[derive(Debug, Clone)]
pub struct BandMap {
    /// `[lo, hi)` bin range of each band; empty for bands above Nyquist.
    pub ranges: Vec<(usize, usize)>,
    /// For every bin: (band a, band b, weight of b) for linear interpolation of band gains between
    /// band centres.
    pub interp: Vec<(usize, usize, f32)>,
}

impl BandMap {
    pub fn new(edges_hz: &[f32], grid: &FrameGrid) -> Self {
        let n_bands = edges_hz.len() - 1;
        let bins = grid.bins();
        let bin_hz = grid.bin_hz();
        let to_bin = |hz: f32| ((hz / bin_hz).round() as usize).min(bins);
        let mut ranges = Vec::with_capacity(n_bands);
        for b in 0..n_bands {
            let lo = to_bin(edges_hz[b]);
            // The top band also takes the Nyquist bin (and everything above 24 kHz at high rates).
            let hi = if b + 1 == n_bands {
                bins
            } else {
                to_bin(edges_hz[b + 1])
            };
            ranges.push((lo, hi.max(lo)));
        }
        // Interpolate between band centres (in Hz), holding the end values outside them.
        let centres: Vec<f32> = (0..n_bands)
            .map(|b| 0.5 * (edges_hz[b] + edges_hz[b + 1]))
            .collect();
        let interp = (0..bins)
            .map(|k| {
                let f = k as f32 * bin_hz;
                if f <= centres[0] {
                    return (0, 0, 0.0);
                }
                if f >= centres[n_bands - 1] {
                    return (n_bands - 1, n_bands - 1, 0.0);
                }
                let b = centres.partition_point(|&c| c <= f) - 1;
                let w = (f - centres[b]) / (centres[b + 1] - centres[b]);
                (b, b + 1, w)
            })
            .collect();
        Self { ranges, interp }
    }

    pub fn n_bands(&self) -> usize {
        self.ranges.len()
    }

    /// Mean power of each band; bands with no bins (above Nyquist) get 0.
    pub fn band_energies(&self, power: &[f32], out: &mut [f32]) {
        for (e, &(lo, hi)) in out.iter_mut().zip(&self.ranges) {
            *e = if hi > lo {
                power[lo..hi].iter().sum::<f32>() / (hi - lo) as f32
            } else {
                0.0
            };
        }
    }

    /// [`BandMap::interpolate`] as a dense row-major `bins x bands` matrix, so a trainer's loss on
    /// the output spectrum spreads band gains exactly as the engine does.
    pub fn interpolation_matrix(&self) -> Vec<f32> {
        let nb = self.n_bands();
        let mut m = vec![0.0; self.interp.len() * nb];
        for (k, &(a, b, w)) in self.interp.iter().enumerate() {
            m[k * nb + a] += 1.0 - w;
            m[k * nb + b] += w;
        }
        m
    }

    /// Spread band gains to per-bin gains.
    pub fn interpolate(&self, band_gains: &[f32], bin_gains: &mut [f32]) {
        for (g, &(a, b, w)) in bin_gains.iter_mut().zip(&self.interp) {
            *g = band_gains[a] * (1.0 - w) + band_gains[b] * w;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interpolation_matrix_spreads_gains_like_interpolate() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let map = BandMap::new(&erb_band_edges(DEFAULT_BANDS), &grid);
        let nb = map.n_bands();
        let gains: Vec<f32> = (0..nb)
            .map(|b| ((b * 7 % 11) as f32 / 10.0).sqrt())
            .collect();
        let mut want = vec![0.0; grid.bins()];
        map.interpolate(&gains, &mut want);
        let m = map.interpolation_matrix();
        for (k, w) in want.iter().enumerate() {
            let got: f32 = (0..nb).map(|b| m[k * nb + b] * gains[b]).sum();
            assert!((got - w).abs() < 1e-6, "bin {k}: {got} vs {w}");
        }
    }

    #[test]
    fn edges_are_increasing_and_cover_the_spectrum() {
        let e = erb_band_edges(DEFAULT_BANDS);
        assert_eq!(e.len(), DEFAULT_BANDS + 1);
        assert_eq!(e[0], 0.0);
        assert_eq!(*e.last().unwrap(), TOP_HZ);
        assert!(e.windows(2).all(|w| w[1] - w[0] >= MIN_BAND_HZ - 1e-3));
    }

    #[test]
    fn every_bin_belongs_to_one_band_at_48k() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let m = BandMap::new(&erb_band_edges(DEFAULT_BANDS), &grid);
        let covered: usize = m.ranges.iter().map(|(lo, hi)| hi - lo).sum();
        assert_eq!(covered, grid.bins());
        assert!(m.ranges.iter().all(|(lo, hi)| hi > lo));
    }

    #[test]
    fn bands_above_nyquist_are_empty_at_16k() {
        let grid = FrameGrid::for_rate(16_000.0).unwrap();
        let m = BandMap::new(&erb_band_edges(DEFAULT_BANDS), &grid);
        assert!(m.ranges.iter().any(|(lo, hi)| lo == hi));
        let mut e = vec![1.0; m.n_bands()];
        m.band_energies(&vec![1.0; grid.bins()], &mut e);
        assert!(e.contains(&0.0));
    }

    #[test]
    fn bin_layout_is_one_band_per_bin_and_interpolates_to_itself_at_48k() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let e = bin_band_edges();
        assert_eq!(e.len(), grid.bins() + 1);
        let m = BandMap::new(&e, &grid);
        assert_eq!(m.n_bands(), grid.bins());
        for (b, &(lo, hi)) in m.ranges.iter().enumerate() {
            assert_eq!((lo, hi), (b, b + 1), "band {b}");
        }
        let gains: Vec<f32> = (0..m.n_bands())
            .map(|b| (b as f32 * 0.37).sin().abs())
            .collect();
        let mut out = vec![0.0; grid.bins()];
        m.interpolate(&gains, &mut out);
        assert_eq!(out, gains);
    }

    #[test]
    fn bin_layout_covers_every_bin_at_other_rates() {
        for rate in [16_000.0, 44_100.0, 96_000.0] {
            let grid = FrameGrid::for_rate(rate).unwrap();
            let m = BandMap::new(&bin_band_edges(), &grid);
            let covered: usize = m.ranges.iter().map(|(lo, hi)| hi - lo).sum();
            assert_eq!(covered, grid.bins(), "{rate}");
        }
    }

    #[test]
    fn layout_names() {
        assert_eq!(layout_edges("erb32").unwrap(), erb_band_edges(32));
        assert_eq!(layout_edges("bins").unwrap(), bin_band_edges());
        assert!(layout_edges("erb").is_err());
        assert!(layout_edges("erb1").is_err());
        assert!(layout_edges("erb241").is_err());
        assert!(layout_edges("erb64").is_ok());
        assert!(layout_edges("mel32").is_err());
    }

    #[test]
    fn constant_band_gains_interpolate_to_constant_bin_gains() {
        let grid = FrameGrid::for_rate(44_100.0).unwrap();
        let m = BandMap::new(&erb_band_edges(DEFAULT_BANDS), &grid);
        let mut g = vec![0.0; grid.bins()];
        m.interpolate(&vec![0.25; m.n_bands()], &mut g);
        assert!(g.iter().all(|&x| (x - 0.25).abs() < 1e-6));
    }
}
