//! Vectorised f32 transcendentals for the hot element-wise paths: `exp`, `erf`, GELU and the
//! softmax row kernel used by attention.
//!
//! Each function is written once as a branch-free scalar "lane" (`exp_lane`, `erf_lane`) built
//! only from arithmetic, comparisons, selects and bit casts, so that LLVM vectorises the loops
//! that call it. The slice kernels are compiled several times (`multiversion!`): with AVX-512F,
//! with AVX2 + FMA, and for the baseline target, and the best one for the running CPU is
//! picked once per call. The scalar libm calls they replace (`expf`, `erff`) are not
//! vectorisable and were the largest cost outside GEMM in transformer inference.
//!
//! Accuracy (checked by the tests against f64 references): `exp` within 2 ulp over its whole
//! range (denormal results included), `erf` within 4e-7 absolute (the f32 evaluation near |x| = 3.9; the approximation itself is within 7e-8).

#![allow(clippy::excessive_precision)]

/// `a * b + c`, fused when the kernel is compiled for a CPU with FMA.
#[inline(always)]
fn madd<const FMA: bool>(a: f32, b: f32, c: f32) -> f32 {
    #[cfg(feature = "std")]
    if FMA {
        return a.mul_add(b, c);
    }
    a * b + c
}

/// `2^n` for `n` in `[-126, 127]` from the exponent bits.
#[inline(always)]
fn pow2i(n: i32) -> f32 {
    f32::from_bits(((n + 127) as u32) << 23)
}

/// `e^x`, branch-free (Cody-Waite reduction by ln 2, degree-5 minimax polynomial).
#[inline(always)]
pub fn exp_lane<const FMA: bool>(x: f32) -> f32 {
    const LOG2E: f32 = core::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_375;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Beyond these e^x is 0 (below the smallest denormal) or +inf.
    const LO: f32 = -104.0;
    const HI: f32 = 88.722_84;
    let xc = x.clamp(LO, HI);
    // Round to nearest with the 1.5 * 2^23 trick (exact for |v| < 2^22); the integer is read
    // from the bits, as Rust's saturating float-to-int cast would not vectorise.
    const ROUND: f32 = 12_582_912.0;
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    let ni = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let r = madd::<FMA>(n, -LN2_HI, xc);
    let r = madd::<FMA>(n, -LN2_LO, r);
    let mut p = 1.987_569_2e-4;
    p = madd::<FMA>(p, r, 1.398_199_9e-3);
    p = madd::<FMA>(p, r, 8.333_452e-3);
    p = madd::<FMA>(p, r, 4.166_579_6e-2);
    p = madd::<FMA>(p, r, 1.666_666_5e-1);
    p = madd::<FMA>(p, r, 5.000_000_1e-1);
    let p = madd::<FMA>(p, r * r, r) + 1.0;
    // 2^n as two factors so that n in [-150, 128] stays representable (denormal results
    // round once, in the last multiply).
    let n1 = ni >> 1;
    let y = p * pow2i(n1) * pow2i(ni - n1);
    let y = if x < LO { 0.0 } else { y };
    let y = if x > HI { f32::INFINITY } else { y };
    if x.is_nan() { x } else { y }
}

/// `erf(x)`, branch-free: a rational minimax approximation on `[-4, 4]`
/// (odd degree-13 numerator, even degree-8 denominator); `|erf(x)|` rounds to 1 beyond 3.9.
#[inline(always)]
pub fn erf_lane<const FMA: bool>(x: f32) -> f32 {
    let xc = x.clamp(-4.0, 4.0);
    let x2 = xc * xc;
    let mut p = -2.726_142_3e-10;
    p = madd::<FMA>(p, x2, 2.770_681_4e-8);
    p = madd::<FMA>(p, x2, -2.101_024e-6);
    p = madd::<FMA>(p, x2, -5.692_506_4e-5);
    p = madd::<FMA>(p, x2, -7.349_906_3e-4);
    p = madd::<FMA>(p, x2, -2.954_6e-3);
    p = madd::<FMA>(p, x2, -1.609_603_3e-2);
    let p = p * xc;
    let mut q = -1.456_607_2e-5;
    q = madd::<FMA>(q, x2, -2.133_740_6e-4);
    q = madd::<FMA>(q, x2, -1.682_827e-3);
    q = madd::<FMA>(q, x2, -7.373_329e-3);
    q = madd::<FMA>(q, x2, -1.426_474e-2);
    // Beyond 3.9, 1 - |erf(x)| < 2^-25: the result rounds to +-1.
    let y = if xc.abs() > 3.9 { xc.signum() } else { p / q };
    if x.is_nan() { x } else { y }
}

/// GELU with the exact (erf) form, as PyTorch's default: `x / 2 * (1 + erf(x / sqrt 2))`.
#[inline(always)]
pub fn gelu_lane<const FMA: bool>(x: f32) -> f32 {
    0.5 * x * (1.0 + erf_lane::<FMA>(x * core::f32::consts::FRAC_1_SQRT_2))
}

/// Compiles `$body` (a function of `FMA: bool`) once per instruction set and dispatches at run
/// time to the best one the CPU has.
macro_rules! multiversion {
    ($(#[$meta:meta])* pub fn $name:ident($($arg:ident: $ty:ty),*) => $generic:ident) => {
        $(#[$meta])*
        pub fn $name($($arg: $ty),*) {
            #[cfg(all(target_arch = "x86_64", feature = "std"))]
            {
                #[target_feature(enable = "avx512f,avx2,fma")]
                unsafe fn v4($($arg: $ty),*) { $generic::<true>($($arg),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v3($($arg: $ty),*) { $generic::<true>($($arg),*) }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has the features `v4` is compiled for.
                    return unsafe { v4($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    // SAFETY: the CPU has the features `v3` is compiled for.
                    return unsafe { v3($($arg),*) };
                }
            }
            $generic::<{ cfg!(target_feature = "fma") }>($($arg),*)
        }
    };
}

#[inline(always)]
fn exp_inplace_generic<const FMA: bool>(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = exp_lane::<FMA>(*x);
    }
}

#[inline(always)]
fn erf_inplace_generic<const FMA: bool>(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = erf_lane::<FMA>(*x);
    }
}

#[inline(always)]
fn gelu_inplace_generic<const FMA: bool>(xs: &mut [f32]) {
    for x in xs.iter_mut() {
        *x = gelu_lane::<FMA>(*x);
    }
}

/// Lanes of the max/sum accumulators in the softmax reductions (one AVX-512 register).
const LANES: usize = 16;

#[inline(always)]
fn row_max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for &v in acc.iter().chain(chunks.remainder()) {
        m = if v > m { v } else { m };
    }
    m
}

/// `row = softmax(row * scale)`; a row whose values are all `-inf` becomes zeros.
#[inline(always)]
fn softmax_inplace_generic<const FMA: bool>(row: &mut [f32], scale: f32) {
    let max = row_max(row);
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    // exp(scale * (x - max)), with the max taken before scaling (scale > 0).
    let shift = -max * scale;
    let mut acc = [0.0f32; LANES];
    let mut chunks = row.chunks_exact_mut(LANES);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c.iter_mut()) {
            *v = exp_lane::<FMA>(madd::<FMA>(*v, scale, shift));
            *a += *v;
        }
    }
    let mut sum = 0.0f32;
    for v in chunks.into_remainder() {
        *v = exp_lane::<FMA>(madd::<FMA>(*v, scale, shift));
        sum += *v;
    }
    let sum = acc.iter().sum::<f32>() + sum;
    let inv = 1.0 / sum;
    for v in row.iter_mut() {
        *v *= inv;
    }
}

multiversion!(
    /// `x = e^x` for every element.
    pub fn exp_inplace(xs: &mut [f32]) => exp_inplace_generic
);
multiversion!(
    /// `x = erf(x)` for every element.
    pub fn erf_inplace(xs: &mut [f32]) => erf_inplace_generic
);
multiversion!(
    /// `x = gelu(x)` (erf form) for every element.
    pub fn gelu_inplace(xs: &mut [f32]) => gelu_inplace_generic
);
multiversion!(
    /// `row = softmax(row * scale)` (`scale > 0`); an all `-inf` row becomes zeros.
    pub fn softmax_inplace(row: &mut [f32], scale: f32) => softmax_inplace_generic
);

/// Elements per parallel task of the element-wise kernels (large enough to amortise a task).
#[cfg(feature = "rayon")]
const PAR_CHUNK: usize = 64 * 1024;

/// Runs the in-place slice kernel `f` over `xs`, split across the rayon pool when large.
pub fn par_inplace(xs: &mut [f32], f: fn(&mut [f32])) {
    #[cfg(feature = "rayon")]
    if xs.len() > PAR_CHUNK {
        use rayon::prelude::*;
        xs.par_chunks_mut(PAR_CHUNK).for_each(f);
        return;
    }
    f(xs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn ulp_diff(a: f32, b: f32) -> u32 {
        if a == b {
            return 0;
        }
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs() as u32
    }

    fn grid(lo: f32, hi: f32, n: usize) -> Vec<f32> {
        (0..=n)
            .map(|i| lo + (hi - lo) * i as f32 / n as f32)
            .collect()
    }

    #[test]
    fn exp_matches_f64_within_2_ulp() {
        let xs = grid(-103.0, 88.7, 400_000);
        let mut ys = xs.clone();
        exp_inplace(&mut ys);
        for (&x, &y) in xs.iter().zip(&ys) {
            let r = (x as f64).exp() as f32;
            assert!(ulp_diff(y, r) <= 2, "exp({x}) = {y}, expected {r}");
        }
        let mut special = [
            f32::NEG_INFINITY,
            -200.0,
            0.0,
            100.0,
            f32::INFINITY,
            f32::NAN,
        ];
        exp_inplace(&mut special);
        assert_eq!(
            &special[..5],
            &[0.0, 0.0, 1.0, f32::INFINITY, f32::INFINITY]
        );
        assert!(special[5].is_nan());
    }

    #[test]
    fn erf_and_gelu_match_f64() {
        let xs = grid(-8.0, 8.0, 200_000);
        let mut e = xs.clone();
        erf_inplace(&mut e);
        let mut g = xs.clone();
        gelu_inplace(&mut g);
        for ((&x, &e), &g) in xs.iter().zip(&e).zip(&g) {
            let r = libm::erf(x as f64);
            assert!((e as f64 - r).abs() <= 4e-7, "erf({x}) = {e}, expected {r}");
            let rg = 0.5 * x as f64 * (1.0 + libm::erf(x as f64 / 2f64.sqrt()));
            assert!(
                // The erf form itself carries erf's error times |x| / 2.
                (g as f64 - rg).abs() <= 4e-7 * (1.0 + x.abs() as f64),
                "gelu({x}) = {g}, expected {rg}"
            );
        }
        let mut nan = [f32::NAN];
        erf_inplace(&mut nan);
        assert!(nan[0].is_nan());
    }

    #[test]
    fn softmax_matches_f64() {
        for len in [1usize, 7, 16, 33, 901] {
            let row: Vec<f32> = (0..len)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.9)
                .collect();
            let mut out = row.clone();
            softmax_inplace(&mut out, 0.125);
            let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
            let z: f64 = row.iter().map(|&v| ((v as f64 - m) * 0.125).exp()).sum();
            for (&v, &o) in row.iter().zip(&out) {
                let r = ((v as f64 - m) * 0.125).exp() / z;
                assert!(
                    (o as f64 - r).abs() <= 1e-6 * r + 1e-12,
                    "len {len}: {o} vs {r}"
                );
            }
        }
        let mut masked = [f32::NEG_INFINITY; 5];
        softmax_inplace(&mut masked, 1.0);
        assert_eq!(masked, [0.0; 5]);
        let mut partly = [f32::NEG_INFINITY, 0.0, 0.0];
        softmax_inplace(&mut partly, 1.0);
        assert_eq!(partly, [0.0, 0.5, 0.5]);
    }
}
