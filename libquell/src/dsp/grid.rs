//! The frame grid: how many samples make one hop and one FFT at a given sample rate.
//!
//! Quell is rate-aware instead of resampling: the hop is always about 5 ms and the FFT twice the hop,
//! so one FFT bin is about 100 Hz wide at every rate and band edges (in Hz) map to the same spectral
//! regions. No resampler means no extra latency and no resampler state to keep causal.

/// The design rate the models are trained at.
pub const DESIGN_RATE: f32 = 48_000.0;
/// Hops per second (5 ms hops).
pub const HOPS_PER_SECOND: f32 = 200.0;

/// Lowest and highest sample rates the engine accepts. Hosts (and validators) do ask for odd rates
/// such as 1234.5678 Hz or 768 kHz; refusing them fails `activate`, so anything a host might plausibly
/// send works: below 8 kHz the bands above Nyquist are simply empty.
pub const MIN_RATE: f32 = 1_000.0;
pub const MAX_RATE: f32 = 1_536_000.0;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameGrid {
    pub sample_rate: f32,
    /// New samples per frame.
    pub hop: usize,
    /// Analysis/synthesis window length (= FFT size) = 2 * hop.
    pub fft: usize,
}

impl FrameGrid {
    pub fn for_rate(sample_rate: f32) -> Result<Self, String> {
        if !sample_rate.is_finite() || !(MIN_RATE..=MAX_RATE).contains(&sample_rate) {
            return Err(format!(
                "unsupported sample rate {sample_rate} Hz (supported: {MIN_RATE}..{MAX_RATE} Hz)"
            ));
        }
        let hop = (sample_rate / HOPS_PER_SECOND).round().max(1.0) as usize;
        Ok(Self {
            sample_rate,
            hop,
            fft: 2 * hop,
        })
    }

    /// Number of complex bins of the real FFT.
    pub fn bins(&self) -> usize {
        self.fft / 2 + 1
    }

    /// Width of one FFT bin in Hz.
    pub fn bin_hz(&self) -> f32 {
        self.sample_rate / self.fft as f32
    }

    /// Total algorithmic latency in samples: `hop - 1` samples of block buffering (so any host block
    /// size works) plus `fft - hop` samples of overlap-add.
    pub fn latency(&self) -> usize {
        self.fft - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_is_at_most_10ms_at_design_rate() {
        let g = FrameGrid::for_rate(48_000.0).unwrap();
        assert_eq!((g.hop, g.fft), (240, 480));
        assert!(g.latency() as f32 / 48_000.0 <= 0.010);
    }

    #[test]
    fn bins_stay_about_100_hz_wide() {
        for rate in [
            16_000.0, 22_050.0, 32_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0,
        ] {
            let g = FrameGrid::for_rate(rate).unwrap();
            assert!((g.bin_hz() - 100.0).abs() < 1.5, "{rate}: {}", g.bin_hz());
        }
    }

    #[test]
    fn rejects_absurd_rates() {
        assert!(FrameGrid::for_rate(0.0).is_err());
        assert!(FrameGrid::for_rate(f32::NAN).is_err());
        assert!(FrameGrid::for_rate(1e9).is_err());
    }
}
