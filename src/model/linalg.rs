//! Dense kernels. Eight independent accumulators let the compiler vectorise the dot product without
//! needing to reassociate float additions.

/// Dot product of two equal-length slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// `y = W x + b` with `W` row-major `[y.len(), x.len()]`.
#[inline]
pub fn matvec_bias(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = x.len();
    debug_assert_eq!(w.len(), y.len() * cols);
    for ((out, row), bias) in y.iter_mut().zip(w.chunks_exact(cols)).zip(b) {
        *out = dot(row, x) + bias;
    }
}

#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matvec_matches_naive() {
        let (rows, cols) = (5, 19);
        let w: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
        let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.11).cos()).collect();
        let b = vec![0.5; rows];
        let mut y = vec![0.0; rows];
        matvec_bias(&w, &b, &x, &mut y);
        for r in 0..rows {
            let naive: f32 = (0..cols).map(|c| w[r * cols + c] * x[c]).sum::<f32>() + 0.5;
            assert!((y[r] - naive).abs() < 1e-5);
        }
    }
}
