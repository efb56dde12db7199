//! bf16 matrix multiply on Intel AMX (AMX-TILE + AMX-BF16): `tdpbf16ps` on 16x16 f32 tiles.
//!
//! Products of two bf16 values are exact in f32 and every sum is an f32 sum, as in the
//! widen-to-f32 path; only the order of the additions differs, and AMX flushes f32 denormals
//! to zero. Stable Rust has no AMX intrinsics, so the kernel is inline assembly; the tile
//! data state is requested from Linux once per process (`arch_prctl(ARCH_REQ_XCOMP_PERM)`).
//!
//! Setting `BURN_FLEX_NO_AMX` in the environment turns this path off (for comparisons, and
//! for tools that do not emulate AMX).

use burn_std::bf16;

/// Rows and columns of an output tile, and k values per A/B tile.
const TILE: usize = 16;
const K_STEP: usize = 32;
/// An output block of four tiles: 32 x 32.
const BLOCK: usize = 2 * TILE;

/// Whether this CPU and OS run AMX-BF16 (detected once; see the module docs for the override).
pub fn available() -> bool {
    imp::available()
}

/// Output columns per call of [`gemm_columns`] such that the packed slice of B is about
/// 512 KiB (half a core's L2 on AMX parts), a multiple of 32.
pub fn columns_per_block(k: usize) -> usize {
    ((1usize << 18) / k.next_multiple_of(K_STEP).max(1)).max(BLOCK) / BLOCK * BLOCK
}

/// Reusable per-thread buffers of [`gemm_columns`].
#[derive(Default)]
pub struct Scratch {
    packed: alloc::vec::Vec<u16>,
    a_strip: alloc::vec::Vec<u16>,
    c: alloc::vec::Vec<f32>,
}

/// `out[i, j0 + j] = sum_k a[i, k] * b[k, j0 + j]` for `i < m`, `j < nbj`, rounded to bf16.
///
/// `a` is `[m, k]` row-major; `b[k', j]` is `b[b_start + k' * rs + j * cs]`; `out` points at
/// a row-major `[m, ldo]` matrix. Runs on the calling thread. Call only when [`available`].
///
/// # Safety
/// `out` must be valid for writes of rows `0..m`, columns `j0..j0 + nbj` (row stride `ldo`),
/// and no other thread may access those elements during the call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm_columns(
    a: &[bf16],
    m: usize,
    k: usize,
    b: &[bf16],
    b_start: usize,
    (rs, cs): (isize, isize),
    (j0, nbj): (usize, usize),
    out: *mut bf16,
    ldo: usize,
    scratch: &mut Scratch,
) {
    debug_assert!(available());
    debug_assert_eq!(a.len(), m * k);
    let kp = k.next_multiple_of(K_STEP);
    let pairs = nbj.div_ceil(BLOCK);
    let a: &[u16] = bytemuck::cast_slice(a);
    let b: &[u16] = bytemuck::cast_slice(b);

    // B[:, j0..j0 + nbj] in the layout `tdpbf16ps` reads: for each 16-column panel, rows of
    // k pairs, each row 16 columns x (k, k + 1).
    scratch.packed.clear();
    scratch.packed.resize(pairs * 2 * kp * TILE, 0);
    for q in 0..pairs {
        for half in 0..2 {
            let col = j0 + q * BLOCK + half * TILE;
            let width = TILE.min((j0 + nbj).saturating_sub(col));
            let panel = &mut scratch.packed[(2 * q + half) * kp * TILE..][..kp * TILE];
            if width > 0 {
                pack_panel(b, b_start, rs, cs, k, col, width, panel);
            }
        }
    }
    scratch.c.resize(BLOCK * BLOCK, 0.0);
    scratch.a_strip.resize(BLOCK * kp, 0);

    imp::with_tiles(|| {
        for i0 in (0..m).step_by(BLOCK) {
            let rows = BLOCK.min(m - i0);
            // A strip [32, kp]: in place when whole, else zero-padded in scratch.
            let (a_ptr, lda) = if rows == BLOCK && k == kp {
                (a[i0 * k..].as_ptr(), k)
            } else {
                scratch.a_strip.fill(0);
                for r in 0..rows {
                    scratch.a_strip[r * kp..r * kp + k].copy_from_slice(&a[(i0 + r) * k..][..k]);
                }
                (scratch.a_strip.as_ptr(), kp)
            };
            for q in 0..pairs {
                let b0 = scratch.packed[2 * q * kp * TILE..].as_ptr();
                let b1 = scratch.packed[(2 * q + 1) * kp * TILE..].as_ptr();
                // SAFETY: the strip holds 32 rows of `lda >= kp` elements, each panel
                // `kp * 16`, and `c` 32 x 32 f32; the tiles are configured.
                unsafe {
                    imp::kernel_32x32(a_ptr, lda, b0, b1, kp / K_STEP, scratch.c.as_mut_ptr())
                };
                let cols = BLOCK.min(nbj - q * BLOCK);
                // SAFETY: rows `i0 .. i0 + rows` (< m), columns `j0 + q * 32 .. + cols` lie
                // in the caller's block.
                unsafe {
                    imp::store_rounded(
                        &scratch.c,
                        rows,
                        cols,
                        out.add(i0 * ldo + j0 + q * BLOCK),
                        ldo,
                    )
                };
            }
        }
    });
}

/// One 16-column panel: `panel[r * 32 + 2 * j + t] = b[2r + t, col + j]`, zero beyond `k`
/// and `width`.
#[allow(clippy::too_many_arguments)]
fn pack_panel(
    b: &[u16],
    b_start: usize,
    rs: isize,
    cs: isize,
    k: usize,
    col: usize,
    width: usize,
    panel: &mut [u16],
) {
    let at =
        |kk: usize, j: usize| b[(b_start as isize + kk as isize * rs + j as isize * cs) as usize];
    if cs == 1 && width == TILE && imp::pack_rows_fast(b, b_start, rs, k, col, panel) {
        return;
    }
    for kk in 0..k {
        for j in 0..width {
            panel[(kk / 2) * 2 * TILE + 2 * j + kk % 2] = at(kk, col + j);
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux", feature = "std"))]
mod imp {
    use burn_std::bf16;
    use core::arch::asm;
    use core::arch::x86_64::*;

    pub fn available() -> bool {
        static AVAILABLE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *AVAILABLE.get_or_init(|| {
            if std::env::var_os("BURN_FLEX_NO_AMX").is_some()
                || !std::arch::is_x86_feature_detected!("avx512bw")
                || !std::arch::is_x86_feature_detected!("avx512bf16")
            {
                return false;
            }
            // CPUID leaf 7 exists on every CPU with AVX-512.
            let leaf7 = __cpuid_count(7, 0);
            let (amx_bf16, amx_tile) = (leaf7.edx >> 22 & 1 == 1, leaf7.edx >> 24 & 1 == 1);
            const ARCH_REQ_XCOMP_PERM: libc::c_long = 0x1023;
            const XFEATURE_XTILEDATA: libc::c_long = 18;
            // SAFETY: a plain syscall; the kernel refuses it where AMX is not supported.
            amx_bf16
                && amx_tile
                && unsafe {
                    libc::syscall(
                        libc::SYS_arch_prctl,
                        ARCH_REQ_XCOMP_PERM,
                        XFEATURE_XTILEDATA,
                    )
                } == 0
        })
    }

    /// Palette 1, eight tiles of 16 rows x 64 bytes.
    #[repr(C, align(64))]
    struct TileConfig([u8; 64]);

    /// Runs `f` with the tile registers configured on this thread, and releases them after.
    pub fn with_tiles(f: impl FnOnce()) {
        let mut cfg = TileConfig([0; 64]);
        cfg.0[0] = 1;
        for t in 0..8 {
            cfg.0[16 + 2 * t] = 64;
            cfg.0[48 + t] = 16;
        }
        struct Release;
        impl Drop for Release {
            fn drop(&mut self) {
                // SAFETY: returns the tile state to its initial state.
                unsafe { asm!("tilerelease", options(nostack, nomem)) };
            }
        }
        // SAFETY: `available()` was checked by the caller; the config is valid palette 1.
        unsafe { asm!("ldtilecfg [{}]", in(reg) cfg.0.as_ptr(), options(nostack, readonly)) };
        let _release = Release;
        f();
    }

    /// `c[32 x 32] = a[32 x 32*kb] * b` with `a` row-major (stride `lda` elements) and `b0`,
    /// `b1` two packed panels of `kb` blocks of 16 x 32 bf16.
    ///
    /// # Safety
    /// Tiles configured by [`with_tiles`]; pointers valid for the sizes above, `kb >= 1`.
    #[inline]
    pub unsafe fn kernel_32x32(
        a: *const u16,
        lda: usize,
        b0: *const u16,
        b1: *const u16,
        kb: usize,
        c: *mut f32,
    ) {
        debug_assert!(kb >= 1);
        // SAFETY: see the function's contract.
        unsafe {
            asm!(
                "tilezero tmm0",
                "tilezero tmm1",
                "tilezero tmm2",
                "tilezero tmm3",
                "2:",
                "tileloadd tmm4, [{a} + {lda}*1]",
                "tileloadd tmm5, [{a2} + {lda}*1]",
                "tileloadd tmm6, [{b0} + {s64}*1]",
                "tileloadd tmm7, [{b1} + {s64}*1]",
                "tdpbf16ps tmm0, tmm4, tmm6",
                "tdpbf16ps tmm1, tmm4, tmm7",
                "tdpbf16ps tmm2, tmm5, tmm6",
                "tdpbf16ps tmm3, tmm5, tmm7",
                "add {a}, 64",
                "add {a2}, 64",
                "add {b0}, 1024",
                "add {b1}, 1024",
                "dec {kb}",
                "jnz 2b",
                "tilestored [{c} + {ldc}*1], tmm0",
                "tilestored [{c} + {ldc}*1 + 64], tmm1",
                "tilestored [{c2} + {ldc}*1], tmm2",
                "tilestored [{c2} + {ldc}*1 + 64], tmm3",
                a = inout(reg) a => _,
                a2 = inout(reg) a.add(16 * lda) => _,
                lda = in(reg) lda * 2,
                b0 = inout(reg) b0 => _,
                b1 = inout(reg) b1 => _,
                s64 = in(reg) 64usize,
                kb = inout(reg) kb => _,
                c = in(reg) c,
                c2 = in(reg) c.add(16 * 32),
                ldc = in(reg) 32usize * 4,
                options(nostack),
            );
        }
    }

    /// Rounds the first `rows x cols` of a 32 x 32 f32 block to bf16 into `out` (row stride
    /// `ldo`), as `half` does: `vcvtneps2bf16` rounds to nearest even and quiets NaNs; it
    /// flushes denormals, which AMX results never are.
    ///
    /// # Safety
    /// `out` valid for writes of `rows` rows of `cols <= 32` elements at stride `ldo`.
    pub unsafe fn store_rounded(c: &[f32], rows: usize, cols: usize, out: *mut bf16, ldo: usize) {
        #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
        unsafe fn store(c: &[f32], rows: usize, cols: usize, out: *mut bf16, ldo: usize) {
            // The low min(n, 16) lanes.
            let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
            let (m0, m1) = (mask(cols), mask(cols.saturating_sub(16)));
            for r in 0..rows {
                // SAFETY: `c` holds 32 x 32 values; the masks keep stores within `cols`.
                unsafe {
                    let src = c.as_ptr().add(r * super::BLOCK);
                    let lo = _mm512_cvtneps_pbh(_mm512_loadu_ps(src));
                    let hi = _mm512_cvtneps_pbh(_mm512_loadu_ps(src.add(16)));
                    let dst = out.add(r * ldo) as *mut i16;
                    _mm256_mask_storeu_epi16(
                        dst,
                        m0,
                        core::mem::transmute::<__m256bh, __m256i>(lo),
                    );
                    _mm256_mask_storeu_epi16(
                        dst.add(16),
                        m1,
                        core::mem::transmute::<__m256bh, __m256i>(hi),
                    );
                }
            }
        }
        debug_assert!(c.len() >= super::BLOCK * super::BLOCK && cols <= super::BLOCK);
        // SAFETY: `available()` checked AVX512-BF16; the caller upholds the bounds.
        unsafe { store(c, rows, cols, out, ldo) }
    }

    /// Packs a full 16-column panel of a row-major `b` (column stride 1) with AVX-512BW:
    /// two rows interleave into one row of the panel. Returns false when it did nothing.
    pub fn pack_rows_fast(
        b: &[u16],
        b_start: usize,
        rs: isize,
        k: usize,
        col: usize,
        panel: &mut [u16],
    ) -> bool {
        if rs < 0 || k == 0 {
            return false;
        }
        let rs = rs as usize;
        // Every row's 16 columns must lie in `b`.
        if b_start + (k - 1) * rs + col + super::TILE > b.len() {
            return false;
        }
        #[target_feature(enable = "avx512f,avx512bw")]
        unsafe fn pack(b: *const u16, rs: usize, k: usize, panel: &mut [u16]) {
            let idx = _mm512_set_epi16(
                31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21, 5,
                20, 4, 19, 3, 18, 2, 17, 1, 16, 0,
            );
            let zero = _mm256_setzero_si256();
            for r in 0..k.div_ceil(2) {
                // SAFETY: rows 2r and 2r + 1 (when < k) have 16 elements at `b + row * rs`.
                unsafe {
                    let even = _mm256_loadu_si256(b.add(2 * r * rs) as *const __m256i);
                    let odd = if 2 * r + 1 < k {
                        _mm256_loadu_si256(b.add((2 * r + 1) * rs) as *const __m256i)
                    } else {
                        zero
                    };
                    let both = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(even), odd);
                    let row = _mm512_permutexvar_epi16(idx, both);
                    _mm512_storeu_si512(panel.as_mut_ptr().add(r * 32) as *mut __m512i, row);
                }
            }
        }
        debug_assert!(panel.len() >= k.div_ceil(2) * 32);
        // SAFETY: `available()` implies AVX-512BW; bounds checked above.
        unsafe { pack(b.as_ptr().add(b_start + col), rs, k, panel) };
        true
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", feature = "std")))]
mod imp {
    pub fn available() -> bool {
        false
    }
    pub fn with_tiles(_f: impl FnOnce()) {
        unreachable!("AMX is not available on this target")
    }
    pub unsafe fn kernel_32x32(
        _a: *const u16,
        _lda: usize,
        _b0: *const u16,
        _b1: *const u16,
        _kb: usize,
        _c: *mut f32,
    ) {
        unreachable!("AMX is not available on this target")
    }
    pub unsafe fn store_rounded(_: &[f32], _: usize, _: usize, _: *mut super::bf16, _: usize) {
        unreachable!("AMX is not available on this target")
    }
    pub fn pack_rows_fast(
        _: &[u16],
        _: usize,
        _: isize,
        _: usize,
        _: usize,
        _: &mut [u16],
    ) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(a: &[bf16], b: &[bf16], k: usize, n: usize, i: usize, j: usize) -> f64 {
        (0..k)
            .map(|kk| a[i * k + kk].to_f64() * b[kk * n + j].to_f64())
            .sum()
    }

    fn check(m: usize, k: usize, n: usize, transposed: bool) {
        if !available() {
            std::println!("AMX not available: skipped");
            return;
        }
        let mut s = 0x9e37_79b9u32;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            bf16::from_f32((s >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
        };
        let a: alloc::vec::Vec<bf16> = (0..m * k).map(|_| rnd()).collect();
        let b: alloc::vec::Vec<bf16> = (0..k * n).map(|_| rnd()).collect();
        // The same matrix stored row-major, or as the transpose of an [n, k] one.
        let (storage, strides) = if transposed {
            let mut t = alloc::vec![bf16::ZERO; k * n];
            for kk in 0..k {
                for j in 0..n {
                    t[j * k + kk] = b[kk * n + j];
                }
            }
            (t, (1isize, k as isize))
        } else {
            (b.clone(), (n as isize, 1isize))
        };
        let mut out = alloc::vec![bf16::NAN; m * n];
        let nb = columns_per_block(k).min(48);
        let mut scratch = Scratch::default();
        for j0 in (0..n).step_by(nb) {
            // SAFETY: `out` is [m, n]; blocks are written one after another.
            unsafe {
                gemm_columns(
                    &a,
                    m,
                    k,
                    &storage,
                    0,
                    strides,
                    (j0, nb.min(n - j0)),
                    out.as_mut_ptr(),
                    n,
                    &mut scratch,
                )
            };
        }
        for i in 0..m {
            for j in 0..n {
                let r = reference(&a, &b, k, n, i, j);
                let got = out[i * n + j].to_f64();
                // bf16 rounding of the result (2^-8 relative) plus f32 summation error.
                let tol = r.abs() / 256.0 + 1e-5 * k as f64;
                assert!(
                    (got - r).abs() <= tol,
                    "[{i}, {j}] of {m}x{k}x{n}: {got} vs {r}"
                );
            }
        }
    }

    #[test]
    fn amx_matches_f64_whole_blocks() {
        check(64, 64, 64, false);
    }

    #[test]
    fn amx_matches_f64_ragged_edges() {
        // m, k and n off every multiple (k odd: the last k pair is half padding).
        check(37, 45, 50, false);
        check(1, 1, 1, false);
        check(33, 96, 17, false);
    }

    #[test]
    fn amx_matches_f64_transposed_weight() {
        check(40, 70, 33, true);
    }
}
