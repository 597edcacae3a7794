//! Dense kernels. Eight independent accumulators let the compiler vectorise the dot product without
//! needing to reassociate float additions; on x86-64 CPUs with AVX2 and FMA an explicit `std::arch`
//! kernel runs instead (chosen at run time, the portable one stays as the fallback).
//!
//! Weight matrices a file stores at half precision stay half in memory where the CPU widens halves
//! inside its multiply loop (AVX2 + FMA + F16C): the network streams all its weights every hop, and
//! a 2x128 GRU with a convolutional front end is about 1.1 MB in f32, past a core's 1 MB L2 on the
//! machines we bench on, where it ran about a third slower per multiply-add than the same GRU
//! without one. Widening is exact and the sums run in the same order, so a half matrix gives
//! bit-for-bit what its f32 widening gives.
//!
//! Matrices a file stores as int8 with an f32 scale per row stay int8 on the same CPUs (AVX2 + FMA):
//! four `hq`-sized networks are 2.1 MB of halves, past a core's 2 MB L2, and cost about half again
//! per network as three did; with their recurrent matrices int8 they fit. A row's sum runs over the
//! int8 values and is scaled once at its end (a multiply per element made the loop slower than the
//! half one), so an int8 matrix gives what its f32 widening gives up to f32 rounding, not bit for bit.

use half::f16;
use std::sync::atomic::{AtomicBool, Ordering};

/// A row-major weight matrix in the precision it is kept in (see the module note).
#[derive(Debug, Clone, PartialEq)]
pub enum Matrix {
    F32(Vec<f32>),
    F16(Vec<f16>),
    /// `q` row-major, the row `r` element `j` meaning `q[r cols + j] as f32 * scale[r]`; the
    /// kernels scale each row's sum, not its elements.
    I8 {
        q: Vec<i8>,
        scale: Vec<f32>,
    },
}

impl Matrix {
    pub fn len(&self) -> usize {
        self.view().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn view(&self) -> MatRef<'_> {
        match self {
            Matrix::F32(v) => MatRef::F32(v),
            Matrix::F16(v) => MatRef::F16(v),
            Matrix::I8 { q, scale } => MatRef::I8(q, scale),
        }
    }

    /// Every element widened to f32 (exact for halves; `q * scale` rounded once for int8).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Matrix::F32(v) => v.clone(),
            Matrix::F16(v) => v.iter().map(|h| h.to_f32()).collect(),
            Matrix::I8 { q, scale } => widen_i8(q, scale),
        }
    }

    /// [`Matrix::to_f32`] without copying an f32 matrix.
    pub fn into_f32(self) -> Vec<f32> {
        match self {
            Matrix::F32(v) => v,
            other => other.to_f32(),
        }
    }

    /// Whether this one is kept at half precision.
    pub fn is_half(&self) -> bool {
        matches!(self, Matrix::F16(_))
    }
}

/// An int8 matrix's elements as f32: `q * scale` of its row.
pub fn widen_i8(q: &[i8], scale: &[f32]) -> Vec<f32> {
    let cols = q.len() / scale.len().max(1);
    q.chunks_exact(cols.max(1))
        .zip(scale)
        .flat_map(|(row, &s)| row.iter().map(move |&v| v as f32 * s))
        .collect()
}

/// A borrowed [`Matrix`] (or a prefix of its rows).
#[derive(Debug, Clone, Copy)]
pub enum MatRef<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    /// Elements, then one scale per row.
    I8(&'a [i8], &'a [f32]),
}

impl<'a> MatRef<'a> {
    pub fn len(self) -> usize {
        match self {
            MatRef::F32(v) => v.len(),
            MatRef::F16(v) => v.len(),
            MatRef::I8(q, _) => q.len(),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The first `n` elements (whole rows when `n` is a multiple of the row length).
    pub fn prefix(self, n: usize) -> MatRef<'a> {
        match self {
            MatRef::F32(v) => MatRef::F32(&v[..n]),
            MatRef::F16(v) => MatRef::F16(&v[..n]),
            MatRef::I8(q, scale) => {
                let cols = q.len() / scale.len().max(1);
                MatRef::I8(&q[..n], &scale[..n / cols.max(1)])
            }
        }
    }
}

impl<'a> From<&'a Matrix> for MatRef<'a> {
    fn from(m: &'a Matrix) -> Self {
        m.view()
    }
}

impl<'a> From<&'a [f32]> for MatRef<'a> {
    fn from(v: &'a [f32]) -> Self {
        MatRef::F32(v)
    }
}

impl<'a> From<&'a Vec<f32>> for MatRef<'a> {
    fn from(v: &'a Vec<f32>) -> Self {
        MatRef::F32(v)
    }
}

/// Whether half-precision matrices are kept half on this CPU (else the loader widens them): x86-64
/// with AVX2, FMA and F16C, the kernel that converts in its loop; not while the portable kernel is
/// forced (files loaded then are kept as a CPU without those would keep them).
pub fn keeps_half() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        !FORCE_PORTABLE.load(Ordering::Relaxed)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
            && std::arch::is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Dot product of two equal-length slices.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    dot_with(a, b, |x| x)
}

/// [`dot`] with each element of `a` widened by `widen` first (the portable path for half rows).
#[inline(always)]
fn dot_with<T: Copy>(a: &[T], b: &[f32], widen: impl Fn(T) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let ca = a.chunks_exact(8);
    let cb = b.chunks_exact(8);
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += widen(x[i]) * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += widen(*x) * y;
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

/// `y = W x + b` with `W` row-major `[y.len(), x.len()]`, f32, half or int8.
#[inline]
pub fn matvec_bias<'a>(w: impl Into<MatRef<'a>>, b: &[f32], x: &[f32], y: &mut [f32]) {
    let w = w.into();
    let cols = x.len();
    assert_eq!(w.len(), y.len() * cols);
    assert_eq!(b.len(), y.len());
    if let MatRef::I8(_, scale) = w {
        assert_eq!(scale.len(), y.len());
    }
    match (active_kernel(), w) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: the CPU has AVX2 and FMA (checked by `active_kernel`); lengths asserted above.
        (Kernel::Avx2Fma, MatRef::F32(w)) => unsafe { avx2::matvec_bias(w, b, x, y) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above, and F16C too (a half matrix is only kept where `keeps_half` said so;
        // checked again here, it is a cached load).
        (Kernel::Avx2Fma, MatRef::F16(w)) if std::arch::is_x86_feature_detected!("f16c") => unsafe {
            avx2::matvec_bias_f16(w, b, x, y)
        },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: AVX2 and FMA checked by `active_kernel`; lengths (the scales' too) asserted above.
        (Kernel::Avx2Fma, MatRef::I8(q, scale)) => unsafe {
            avx2::matvec_bias_i8(q, scale, b, x, y)
        },
        _ => matvec_bias_portable(w, b, x, y),
    }
}

/// A finite half widened with integer and float steps that vectorise (the half crate's portable
/// conversion is a branchy scalar call): its magnitude bits moved into f32 position read as
/// 2^-112 times the value, for subnormals too, so one exact multiply by 2^112 finishes it. The
/// loader refuses non-finite weights, so infinities and NaNs never get here.
#[inline(always)]
fn widen_finite(h: f16) -> f32 {
    const TWO_POW_112: f32 = f32::from_bits((112 + 127) << 23);
    let bits = h.to_bits() as u32;
    let v = f32::from_bits((bits & 0x7fff) << 13) * TWO_POW_112;
    f32::from_bits(v.to_bits() | ((bits & 0x8000) << 16))
}

fn matvec_bias_portable(w: MatRef<'_>, b: &[f32], x: &[f32], y: &mut [f32]) {
    let cols = x.len();
    match w {
        MatRef::F32(w) => {
            for ((out, row), bias) in y.iter_mut().zip(w.chunks_exact(cols)).zip(b) {
                *out = dot(row, x) + bias;
            }
        }
        MatRef::F16(w) => {
            for ((out, row), bias) in y.iter_mut().zip(w.chunks_exact(cols)).zip(b) {
                *out = dot_with(row, x, widen_finite) + bias;
            }
        }
        MatRef::I8(q, scale) => {
            for (((out, row), bias), &s) in y.iter_mut().zip(q.chunks_exact(cols)).zip(b).zip(scale)
            {
                *out = dot_with(row, x, |v| v as f32) * s + bias;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use half::f16;
    use std::arch::x86_64::*;

    /// One kernel per element type: `$row(r)` is what row `r` needs besides its elements (an int8
    /// row's scale), `$load(p, row)` gives the 8 row values at `p` as f32 lanes, `$one(p, row)` one
    /// of them (the tail), `$finish(sum, row)` the row's sum as stored (an int8 row's scaled);
    /// everything else, the order of the sums included, is shared, which is why a half matrix gives
    /// exactly what its f32 widening gives (an int8 one, up to the rounding of that last scaling).
    macro_rules! kernel {
        ($name:ident, $t:ty, $features:literal, ($($arg:ident: $at:ty),*), $row:expr, $load:expr, $one:expr, $finish:expr) => {
            /// Four rows at a time share each load of `x`; 8 lanes per row with fused multiply-adds.
            /// Caller guarantees the features and `w.len() == y.len() * x.len()`, `b.len() == y.len()`
            /// (and as many scales as rows for int8).
            #[target_feature(enable = $features)]
            pub unsafe fn $name(w: &[$t], $($arg: $at,)* b: &[f32], x: &[f32], y: &mut [f32]) {
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
                        let rk = [0, 1, 2, 3].map(|k| $row(r + k));
                        let mut acc = [_mm256_setzero_ps(); 4];
                        let mut c = 0;
                        while c < body {
                            let xv = _mm256_loadu_ps(xp.add(c));
                            for k in 0..4 {
                                acc[k] = _mm256_fmadd_ps($load(p[k].add(c), rk[k]), xv, acc[k]);
                            }
                            c += 8;
                        }
                        for k in 0..4 {
                            let mut s = hsum(acc[k]);
                            for j in body..cols {
                                s += $one(p[k].add(j), rk[k]) * *xp.add(j);
                            }
                            y[r + k] = $finish(s, rk[k]) + b[r + k];
                        }
                        r += 4;
                    }
                    while r < rows {
                        let p = w.as_ptr().add(r * cols);
                        let rr = $row(r);
                        let mut acc = _mm256_setzero_ps();
                        let mut c = 0;
                        while c < body {
                            acc = _mm256_fmadd_ps($load(p.add(c), rr), _mm256_loadu_ps(xp.add(c)), acc);
                            c += 8;
                        }
                        let mut s = hsum(acc);
                        for j in body..cols {
                            s += $one(p.add(j), rr) * *xp.add(j);
                        }
                        y[r] = $finish(s, rr) + b[r];
                        r += 1;
                    }
                }
            }
        };
    }

    kernel!(
        matvec_bias,
        f32,
        "avx2,fma",
        (),
        |_: usize| (),
        |p: *const f32, _: ()| _mm256_loadu_ps(p),
        |p: *const f32, _: ()| *p,
        |s: f32, _: ()| s
    );
    kernel!(
        matvec_bias_f16,
        f16,
        "avx2,fma,f16c",
        (),
        |_: usize| (),
        // f16 is a transparent u16: 8 of them are one 128-bit load, widened exactly by vcvtph2ps.
        |p: *const f16, _: ()| _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)),
        |p: *const f16, _: ()| (*p).to_f32(),
        |s: f32, _: ()| s
    );
    kernel!(
        matvec_bias_i8,
        i8,
        "avx2,fma",
        (scale: &[f32]),
        |r: usize| scale[r],
        // 8 int8 are one 64-bit load, sign-extended to 8 lanes and converted (exact); the row's
        // sum is scaled at its end.
        |p: *const i8, _: f32| _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(
            p as *const __m128i
        ))),
        |p: *const i8, _: f32| *p as f32,
        |s: f32, scale: f32| s * scale
    );

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
                matvec_bias_portable(MatRef::F32(&w), &b, &x, &mut slow);
                for (f, s) in fast.iter().zip(&slow) {
                    assert!(
                        (f - s).abs() <= 1e-5 * (1.0 + s.abs()),
                        "{rows}x{cols}: {f} vs {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_portable_widening_is_exact_for_every_finite_half() {
        for bits in 0..=u16::MAX {
            let h = f16::from_bits(bits);
            if h.is_finite() {
                assert_eq!(
                    widen_finite(h).to_bits(),
                    h.to_f32().to_bits(),
                    "{bits:#06x}"
                );
            }
        }
    }

    #[test]
    fn a_half_matrix_gives_exactly_what_its_widening_gives() {
        for rows in [1, 3, 4, 5, 33] {
            for cols in [1, 7, 8, 9, 96, 129, 480] {
                let h: Vec<f16> = (0..rows * cols)
                    .map(|i| f16::from_f32((i as f32 * 0.37).sin() * 0.3))
                    .collect();
                let wide: Vec<f32> = h.iter().map(|v| v.to_f32()).collect();
                let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.11).cos()).collect();
                let b: Vec<f32> = (0..rows).map(|i| i as f32 * 0.1).collect();
                let half = Matrix::F16(h);
                // The kernel this CPU picks, then the portable one (called directly: the
                // force_portable switch is global and other tests run alongside).
                let (mut a, mut c) = (vec![0.0; rows], vec![0.0; rows]);
                matvec_bias(&half, &b, &x, &mut a);
                matvec_bias(&wide, &b, &x, &mut c);
                assert_eq!(a, c, "{rows}x{cols}");
                matvec_bias_portable(half.view(), &b, &x, &mut a);
                matvec_bias_portable(MatRef::F32(&wide), &b, &x, &mut c);
                assert_eq!(a, c, "{rows}x{cols}, portable");
            }
        }
    }

    #[test]
    fn an_int8_matrix_gives_what_its_widening_gives() {
        for rows in [1, 3, 4, 5, 33] {
            for cols in [1, 7, 8, 9, 96, 129, 480] {
                let q: Vec<i8> = (0..rows * cols)
                    .map(|i| ((i as f32 * 0.37).sin() * 127.0).round() as i8)
                    .collect();
                // Scales that make `q * scale` round (not powers of two), one per row.
                let scale: Vec<f32> = (0..rows)
                    .map(|r| 0.0031 * (1.0 + r as f32 * 0.37))
                    .collect();
                let int8 = Matrix::I8 { q, scale };
                let wide = int8.to_f32();
                let x: Vec<f32> = (0..cols).map(|i| (i as f32 * 0.11).cos()).collect();
                let b: Vec<f32> = (0..rows).map(|i| i as f32 * 0.1).collect();
                // The scale comes after the sum, so equal up to rounding: a few ulps of the
                // row's magnitude (sum of |w x|, at most `cols`).
                let close = |a: &[f32], c: &[f32], what: &str| {
                    for (f, s) in a.iter().zip(c) {
                        assert!(
                            (f - s).abs() <= 1e-6 * (1.0 + cols as f32),
                            "{rows}x{cols} {what}: {f} vs {s}"
                        );
                    }
                };
                let (mut a, mut c, mut d) = (vec![0.0; rows], vec![0.0; rows], vec![0.0; rows]);
                matvec_bias(&int8, &b, &x, &mut a);
                matvec_bias(&wide, &b, &x, &mut c);
                close(&a, &c, "kernel");
                matvec_bias_portable(int8.view(), &b, &x, &mut d);
                close(&d, &c, "portable");
                // Whole rows of a prefix keep their own scales: the same rows' outputs.
                let half_rows = rows / 2;
                if half_rows > 0 {
                    let mut p = vec![0.0; half_rows];
                    let n = half_rows * cols;
                    matvec_bias(int8.view().prefix(n), &b[..half_rows], &x, &mut p);
                    assert_eq!(p, a[..half_rows].to_vec(), "{rows}x{cols}, prefix");
                }
            }
        }
    }
}
