//! Vectorised f16 / bf16 <-> f32 slice conversions.
//!
//! Flex computes half-precision matmul, convolution, attention and element-wise ops in f32, so
//! these conversions sit on every half-precision hot path. The scalar `half` calls they replace
//! cost about as much as the f32 arithmetic around them. Results are bit-identical to
//! `half`'s `from_f32` / `to_f32` (round to nearest even; NaN stays NaN, quieted).

use burn_std::{bf16, f16};

/// Slices of at least this many elements are converted in parallel chunks of this size.
#[cfg(feature = "rayon")]
const PAR_CHUNK: usize = 1 << 16;

/// A half-precision float that flex computes with in f32.
pub trait HalfFloat: Copy + Send + Sync + bytemuck::Pod + Into<f32> + 'static {
    /// `dst[i] = src[i] as f32`; the slices have the same length.
    fn slice_to_f32(src: &[Self], dst: &mut [f32]);
    /// `dst[i] = src[i]` rounded to nearest even; the slices have the same length.
    fn slice_from_f32(src: &[f32], dst: &mut [Self]);
}

fn bf16_to_f32_generic(src: &[bf16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = f32::from_bits((s.to_bits() as u32) << 16);
    }
}

fn f32_to_bf16_generic(src: &[f32], dst: &mut [bf16]) {
    for (d, s) in dst.iter_mut().zip(src) {
        let b = s.to_bits();
        let rounded = (b.wrapping_add(0x7fff + ((b >> 16) & 1)) >> 16) as u16;
        let nan = ((b >> 16) as u16) | 0x40;
        let is_nan = b & 0x7fff_ffff > 0x7f80_0000;
        *d = bf16::from_bits(if is_nan { nan } else { rounded });
    }
}

macro_rules! multiversion_convert {
    ($name:ident, $src:ty, $dst:ty, $generic:ident) => {
        fn $name(src: &[$src], dst: &mut [$dst]) {
            #[cfg(all(target_arch = "x86_64", feature = "std"))]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx2")]
                unsafe fn v4(src: &[$src], dst: &mut [$dst]) {
                    $generic(src, dst)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn v3(src: &[$src], dst: &mut [$dst]) {
                    $generic(src, dst)
                }
                if std::arch::is_x86_feature_detected!("avx512bw") {
                    // SAFETY: the CPU has the features `v4` is compiled for.
                    return unsafe { v4(src, dst) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has the features `v3` is compiled for.
                    return unsafe { v3(src, dst) };
                }
            }
            $generic(src, dst)
        }
    };
}

multiversion_convert!(bf16_to_f32_slice, bf16, f32, bf16_to_f32_generic);
multiversion_convert!(f32_to_bf16_slice, f32, bf16, f32_to_bf16_generic);

/// f16 through the F16C instructions where the CPU has them (every x86-64-v3 CPU), else `half`.
fn f16_to_f32_slice(src: &[f16], dst: &mut [f32]) {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has F16C and AVX.
        return unsafe { f16c::to_f32(src, dst) };
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = s.to_f32();
    }
}

fn f32_to_f16_slice(src: &[f32], dst: &mut [f16]) {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if std::arch::is_x86_feature_detected!("f16c") && std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has F16C and AVX.
        return unsafe { f16c::from_f32(src, dst) };
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = f16::from_f32(*s);
    }
}

#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod f16c {
    use burn_std::f16;
    use core::arch::x86_64::*;

    #[target_feature(enable = "f16c,avx")]
    pub unsafe fn to_f32(src: &[f16], dst: &mut [f32]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n elements of both slices; unaligned loads and stores.
            unsafe {
                let h = _mm_loadu_si128(src.as_ptr().add(i).cast());
                _mm256_storeu_ps(dst.as_mut_ptr().add(i), _mm256_cvtph_ps(h));
            }
            i += 8;
        }
        for j in i..n {
            dst[j] = src[j].to_f32();
        }
    }

    #[target_feature(enable = "f16c,avx")]
    pub unsafe fn from_f32(src: &[f32], dst: &mut [f16]) {
        let n = src.len().min(dst.len());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n elements of both slices; unaligned loads and stores.
            unsafe {
                let x = _mm256_loadu_ps(src.as_ptr().add(i));
                let h = _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(x);
                _mm_storeu_si128(dst.as_mut_ptr().add(i).cast(), h);
            }
            i += 8;
        }
        for j in i..n {
            dst[j] = f16::from_f32(src[j]);
        }
    }
}

impl HalfFloat for bf16 {
    fn slice_to_f32(src: &[Self], dst: &mut [f32]) {
        par_convert(src, dst, bf16_to_f32_slice)
    }
    fn slice_from_f32(src: &[f32], dst: &mut [Self]) {
        par_convert(src, dst, f32_to_bf16_slice)
    }
}

impl HalfFloat for f16 {
    fn slice_to_f32(src: &[Self], dst: &mut [f32]) {
        par_convert(src, dst, f16_to_f32_slice)
    }
    fn slice_from_f32(src: &[f32], dst: &mut [Self]) {
        par_convert(src, dst, f32_to_f16_slice)
    }
}

/// Runs `f` over matching chunks of `src` and `dst`, in parallel for long slices.
fn par_convert<S: Sync, D: Send>(src: &[S], dst: &mut [D], f: fn(&[S], &mut [D])) {
    assert_eq!(src.len(), dst.len(), "convert: length mismatch");
    #[cfg(feature = "rayon")]
    if src.len() >= 2 * PAR_CHUNK {
        use rayon::prelude::*;
        dst.par_chunks_mut(PAR_CHUNK)
            .zip(src.par_chunks(PAR_CHUNK))
            .for_each(|(d, s)| f(s, d));
        return;
    }
    f(src, dst)
}

/// `src` as a new f32 vector.
pub fn to_f32_vec<H: HalfFloat>(src: &[H]) -> alloc::vec::Vec<f32> {
    let mut out = alloc::vec![0.0f32; src.len()];
    H::slice_to_f32(src, &mut out);
    out
}

/// `src` rounded to a new half-precision vector.
pub fn from_f32_vec<H: HalfFloat>(src: &[f32]) -> alloc::vec::Vec<H> {
    let mut out = alloc::vec![H::zeroed(); src.len()];
    H::slice_from_f32(src, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every f32 bit pattern class: all 2^16 high halves with assorted low halves.
    fn samples() -> alloc::vec::Vec<f32> {
        let lows = [0u32, 1, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1234, 0xc000];
        (0..=u16::MAX as u32)
            .flat_map(|hi| lows.iter().map(move |lo| f32::from_bits((hi << 16) | lo)))
            .collect()
    }

    fn same_bits<H: HalfFloat + PartialEq + core::fmt::Debug>(
        convert: fn(&[f32], &mut [H]),
        reference: fn(f32) -> H,
        bits: fn(H) -> u16,
    ) {
        let xs = samples();
        // Odd lengths and offsets exercise the vector tails.
        for (start, len) in [(0, xs.len()), (3, 1001), (5, 7)] {
            let src = &xs[start..start + len];
            let mut out = alloc::vec![H::zeroed(); len];
            convert(src, &mut out);
            for (x, h) in src.iter().zip(&out) {
                // NaNs too: the same quieted payload as `half`.
                assert_eq!(
                    bits(*h),
                    bits(reference(*x)),
                    "{x:?} ({:#010x})",
                    x.to_bits()
                );
            }
        }
    }

    #[test]
    fn f32_to_bf16_matches_half() {
        same_bits(bf16::slice_from_f32, bf16::from_f32, bf16::to_bits);
        let mut nan = [bf16::ZERO];
        bf16::slice_from_f32(&[f32::NAN], &mut nan);
        assert!(nan[0].is_nan());
    }

    #[test]
    fn f32_to_f16_matches_half() {
        same_bits(f16::slice_from_f32, f16::from_f32, f16::to_bits);
        let mut nan = [f16::ZERO];
        f16::slice_from_f32(&[f32::NAN], &mut nan);
        assert!(nan[0].is_nan());
    }

    #[test]
    fn half_to_f32_is_exact() {
        let all: alloc::vec::Vec<u16> = (0..=u16::MAX).collect();
        let b: alloc::vec::Vec<bf16> = all.iter().map(|&v| bf16::from_bits(v)).collect();
        let h: alloc::vec::Vec<f16> = all.iter().map(|&v| f16::from_bits(v)).collect();
        for (got, x) in to_f32_vec(&b).iter().zip(&b) {
            assert!(got.to_bits() == x.to_f32().to_bits() || (x.is_nan() && got.is_nan()));
        }
        for (got, x) in to_f32_vec(&h).iter().zip(&h) {
            assert!(got.to_bits() == x.to_f32().to_bits() || (x.is_nan() && got.is_nan()));
        }
        // Long enough for the parallel split.
        let long: alloc::vec::Vec<bf16> = (0..300_000).map(|i| bf16::from_f32(i as f32)).collect();
        let back: alloc::vec::Vec<bf16> = from_f32_vec(&to_f32_vec(&long));
        assert!(back == long);
    }
}
