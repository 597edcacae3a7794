//! Sigmoid and tanh for the network, written so the compiler can vectorise them over a slice: one
//! exp by range reduction (x = k·ln2 + r, |r| ≤ ln2/2) and a degree-6 polynomial, 2^k put together
//! in the exponent bits. Maximum error against `f32::exp`-based forms: below 3e-7 absolute (unit test),
//! far inside the 1e-4 PyTorch parity bound. libm's `expf`/`tanhf` are scalar calls and were about a
//! fifth of the whole CLI's CPU.

const LOG2E: f32 = std::f32::consts::LOG2_E;
// ln 2 split in two so k·ln2 is subtracted without rounding error for |k| ≤ 127.
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5·2^23: adding it rounds to the nearest integer and leaves that integer in the low mantissa bits.
const ROUNDER: f32 = 12_582_912.0;

#[inline(always)]
fn exp(x: f32) -> f32 {
    // e^-87.3 and e^88.7 are the edges of the normal f32 range; clamping also maps NaN nowhere odd
    // (`clamp` keeps NaN, and a NaN input is the engine's business upstream).
    let x = x.clamp(-87.0, 88.0);
    let t = x * LOG2E + ROUNDER;
    let k = t - ROUNDER;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let ki = (t.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    p * f32::from_bits(((ki + 127) << 23) as u32)
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * x) + 1.0)
}

// Inlined so that a caller compiled for AVX2 (`NetState::step`) vectorises them 8 wide.
#[inline(always)]
pub fn sigmoid_in_place(v: &mut [f32]) {
    for x in v {
        *x = sigmoid(*x);
    }
}

#[inline(always)]
pub fn tanh_in_place(v: &mut [f32]) {
    for x in v {
        *x = tanh(*x);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_the_exact_functions_everywhere_that_matters() {
        let (mut worst_s, mut worst_t) = (0.0f64, 0.0f64);
        let mut x = -60.0f32;
        while x <= 60.0 {
            let xd = x as f64;
            worst_s = worst_s.max((sigmoid(x) as f64 - 1.0 / (1.0 + (-xd).exp())).abs());
            worst_t = worst_t.max((tanh(x) as f64 - xd.tanh()).abs());
            x += 0.001_37;
        }
        assert!(worst_s < 3e-7, "sigmoid off by {worst_s}");
        assert!(worst_t < 3e-7, "tanh off by {worst_t}");
        for big in [1e3f32, 1e30, f32::MAX, f32::INFINITY] {
            assert_eq!(sigmoid(big), 1.0);
            assert!((0.0..1e-37).contains(&sigmoid(-big)));
            assert_eq!(tanh(big), 1.0);
            assert_eq!(tanh(-big), -1.0);
        }
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(sigmoid(0.0), 0.5);
    }
}
