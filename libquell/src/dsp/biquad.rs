//! Second-order IIR section (direct form II transposed). Used for augmentation and noise shaping.

#[derive(Debug, Clone, Copy, Default)]
pub struct Biquad {
    pub b: [f32; 3],
    pub a: [f32; 2],
    z: [f32; 2],
}

impl Biquad {
    pub fn new(b: [f32; 3], a: [f32; 2]) -> Self {
        Self { b, a, z: [0.0; 2] }
    }

    /// Butterworth-style low-pass (RBJ cookbook), `q` = 0.7071 for Butterworth.
    pub fn lowpass(sample_rate: f32, cutoff: f32, q: f32) -> Self {
        let w0 = 2.0 * std::f32::consts::PI * cutoff / sample_rate;
        let (s, c) = w0.sin_cos();
        let alpha = s / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b1 = (1.0 - c) / a0;
        Self::new(
            [b1 / 2.0, b1, b1 / 2.0],
            [-2.0 * c / a0, (1.0 - alpha) / a0],
        )
    }

    /// High-pass (RBJ cookbook).
    pub fn highpass(sample_rate: f32, cutoff: f32, q: f32) -> Self {
        let w0 = 2.0 * std::f32::consts::PI * cutoff / sample_rate;
        let (s, c) = w0.sin_cos();
        let alpha = s / (2.0 * q);
        let a0 = 1.0 + alpha;
        let b0 = (1.0 + c) / 2.0 / a0;
        Self::new([b0, -2.0 * b0, b0], [-2.0 * c / a0, (1.0 - alpha) / a0])
    }

    #[inline]
    pub fn tick(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.z[0];
        self.z[0] = self.b[1] * x - self.a[0] * y + self.z[1];
        self.z[1] = self.b[2] * x - self.a[1] * y;
        y
    }

    pub fn run(&mut self, buf: &mut [f32]) {
        for x in buf {
            *x = self.tick(*x);
        }
    }
}
