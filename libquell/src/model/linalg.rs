//! Dense kernels. Eight independent accumulators let the compiler vectorise the dot product without
//! needing to reassociate float additions; on x86-64 CPUs with AVX2 and FMA an explicit `std::arch`
//! kernel runs instead (chosen at run time, the portable one stays as the fallback).

use std::sync::atomic::{AtomicBool, Ordering};

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

/// Which matrix-vector kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust ([`dot`]); the compiler vectorises it for the build's baseline (SSE2 on x86-64).
    Portable,
    /// x86-64 AVX2 + FMA (`std::arch`), chosen at run time when the CPU has both.
    Avx2Fma,
}

/// Set to force the portable kernel (benchmarks compare the two; tests check they agree).
static FORCE_PORTABLE: AtomicBool = AtomicBool::new(false);

pub fn force_portable(on: bool) {
    FORCE_PORTABLE.store(on, Ordering::Relaxed);
}

/// The kernel [`matvec_bias`] uses on this CPU now. `is_x86_feature_detected!` caches its answer in
/// a static, so this is a couple of atomic loads: fine on the audio thread.
#[inline]
pub fn active_kernel() -> Kernel {
    #[cfg(target_arch = "x86_64")]
    {
        if !FORCE_PORTABLE.load(Ordering::Relaxed)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            return Kernel::Avx2Fma;
        }
    }
    Kernel::Portable
}

/// `y = W x + b` with `W` row-major `[y.len(), x.len()]`.
#[inline]
pub fn matvec_bias(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = x.len();
    assert_eq!(w.len(), y.len() * cols);
    assert_eq!(b.len(), y.len());
    match active_kernel() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked by `active_kernel`); lengths asserted above.
        Kernel::Avx2Fma => unsafe { avx2::matvec_bias(w, b, x, y) },
        _ => matvec_bias_portable(w, b, x, y),
    }
}

fn matvec_bias_portable(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = x.len();
    for ((out, row), bias) in y.iter_mut().zip(w.chunks_exact(cols)).zip(b) {
        *out = dot(row, x) + bias;
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Four rows at a time share each load of `x`; 8 lanes per row with fused multiply-adds.
    /// Caller guarantees AVX2+FMA and `w.len() == y.len() * x.len()`, `b.len() == y.len()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn matvec_bias(w: &[f32], b: &[f32], x: &[f32], y: &mut [f32]) {
        let cols = x.len();
        let rows = y.len();
        let body = cols - cols % 8;
        let xp = x.as_ptr();
        let mut r = 0;
        // SAFETY (all pointer reads below): r + k < rows and c + 8 <= body <= cols keep every
        // access inside row r + k of `w` and inside `x`.
        unsafe {
            while r + 4 <= rows {
                let p = [0, 1, 2, 3].map(|k| w.as_ptr().add((r + k) * cols));
                let mut acc = [_mm256_setzero_ps(); 4];
                let mut c = 0;
                while c < body {
                    let xv = _mm256_loadu_ps(xp.add(c));
                    for k in 0..4 {
                        acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(p[k].add(c)), xv, acc[k]);
                    }
                    c += 8;
                }
                for k in 0..4 {
                    let mut s = hsum(acc[k]);
                    for j in body..cols {
                        s += *p[k].add(j) * *xp.add(j);
                    }
                    y[r + k] = s + b[r + k];
                }
                r += 4;
            }
            while r < rows {
                let p = w.as_ptr().add(r * cols);
                let mut acc = _mm256_setzero_ps();
                let mut c = 0;
                while c < body {
                    acc =
                        _mm256_fmadd_ps(_mm256_loadu_ps(p.add(c)), _mm256_loadu_ps(xp.add(c)), acc);
                    c += 8;
                }
                let mut s = hsum(acc);
                for j in body..cols {
                    s += *p.add(j) * *xp.add(j);
                }
                y[r] = s + b[r];
                r += 1;
            }
        }
    }

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let lo = _mm256_castps256_ps128(v);
        let hi = _mm256_extractf128_ps(v, 1);
        let s = _mm_add_ps(lo, hi);
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }
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

    #[test]
    fn simd_and_portable_kernels_agree_for_every_shape() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            assert_eq!(active_kernel(), Kernel::Avx2Fma);
        }
        // Row counts around the 4-row blocks, column counts around the 8-lane body.
        for rows in [1, 3, 4, 5, 9, 33] {
            for cols in [1, 7, 8, 9, 16, 31, 96, 129] {
                let w: Vec<f32> = (0..rows * cols).map(|i| (i as f32 * 0.37).sin()).collect();
                let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.11).cos()).collect();
                let b: Vec<f32> = (0..rows).map(|i| i as f32 * 0.1).collect();
                let (mut fast, mut slow) = (vec![0.0; rows], vec![0.0; rows]);
                matvec_bias(&w, &b, &x, &mut fast);
                matvec_bias_portable(&w, &b, &x, &mut slow);
                for (f, s) in fast.iter().zip(&slow) {
                    assert!(
                        (f - s).abs() <= 1e-5 * (1.0 + s.abs()),
                        "{rows}x{cols}: {f} vs {s}"
                    );
                }
            }
        }
    }
}
