//! bf16 matrix multiply on the CPU's own bf16 dot products: Intel AMX tiles (`tdpbf16ps` on
//! 16x16 f32 tiles) where the CPU and OS have AMX-BF16, else AVX512-BF16 (`vdpbf16ps` on
//! 16 f32 lanes: AMD Zen 4 and later, Intel Cooper Lake and later).
//!
//! Products of two bf16 values are exact in f32 and every sum is an f32 sum, as in the
//! widen-to-f32 path; only the order of the additions differs, and both instructions flush f32
//! denormals to zero. Stable Rust has no AMX intrinsics, so that kernel is inline assembly;
//! the tile data state is requested from Linux once per process
//! (`arch_prctl(ARCH_REQ_XCOMP_PERM)`).
//!
//! Setting `BURN_FLEX_NO_AMX` in the environment turns the AMX kernel off, and
//! `BURN_FLEX_NO_AVX512BF16` the AVX512-BF16 one (for comparisons, and for tools that do not
//! emulate them); with neither, bf16 computes in f32.

use burn_std::bf16;

/// Rows and columns of an AMX output tile, and k values per A/B tile.
const TILE: usize = 16;
const K_STEP: usize = 32;
/// Output columns of one kernel call (two 16-column panels of B); AMX also takes 32 rows.
const BLOCK: usize = 2 * TILE;

/// The CPU's native bf16 matmul instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Intel AMX-BF16 tiles.
    Amx,
    /// AVX512-BF16 `vdpbf16ps`.
    Avx512Bf16,
}

/// The native bf16 kernel of this CPU and OS, if any (detected once; see the module docs for
/// the overrides).
pub fn kernel() -> Option<Kernel> {
    #[cfg(feature = "std")]
    {
        static KERNEL: std::sync::OnceLock<Option<Kernel>> = std::sync::OnceLock::new();
        *KERNEL.get_or_init(|| {
            let off = |var: &str| std::env::var_os(var).is_some();
            if !off("BURN_FLEX_NO_AMX") && amx::available() {
                Some(Kernel::Amx)
            } else if !off("BURN_FLEX_NO_AVX512BF16") && dp::available() {
                Some(Kernel::Avx512Bf16)
            } else {
                None
            }
        })
    }
    #[cfg(not(feature = "std"))]
    None
}

/// Output columns per block such that the packed slice of B is about 512 KiB (half a core's
/// L2 on AMX parts, half of Zen 4/5's), a multiple of 32.
fn columns_per_block(k: usize) -> usize {
    ((1usize << 18) / k.next_multiple_of(K_STEP).max(1)).max(BLOCK) / BLOCK * BLOCK
}

/// Reusable buffers of one thread's [`gemm`] calls.
#[derive(Default)]
pub struct Scratch {
    packed: alloc::vec::Vec<u16>,
    a_strip: alloc::vec::Vec<u16>,
    c: alloc::vec::Vec<f32>,
}

/// A row-major bf16 `[m, k]` left side in the form a kernel reads: AMX loads tiles of it in
/// place, AVX512-BF16 reads strips of [`dp::ROWS`] rows of k pairs (see [`pack_a`]). Pack a
/// weight once and multiply it by many right sides.
pub struct PackedLhs<'a> {
    kernel: Kernel,
    m: usize,
    k: usize,
    form: Lhs<'a>,
}

enum Lhs<'a> {
    Rows(&'a [u16]),
    Pairs(alloc::vec::Vec<u32>),
}

impl<'a> PackedLhs<'a> {
    /// `a` (`m * k` values, row-major) for `kernel`.
    pub fn new(kernel: Kernel, a: &'a [bf16], m: usize, k: usize) -> Self {
        assert_eq!(a.len(), m * k);
        let a: &[u16] = bytemuck::cast_slice(a);
        let form = match kernel {
            Kernel::Amx => Lhs::Rows(a),
            Kernel::Avx512Bf16 => Lhs::Pairs(pack_a(a, m, k)),
        };
        Self { kernel, m, k, form }
    }
}

/// `out = a * b` rounded to bf16 on `kernel`, with `a` row-major `[m, k]`, `b[k', j]` at
/// `b[b_start + k' * rs + j * cs]` for `j < n`, and `out` row-major `[m, n]`.
pub fn matmul(
    kernel: Kernel,
    a: &[bf16],
    (m, k, n): (usize, usize, usize),
    b: &[bf16],
    b_start: usize,
    strides: (isize, isize),
    out: &mut [bf16],
) {
    assert_eq!(out.len(), m * n);
    let lhs = PackedLhs::new(kernel, a, m, k);
    // SAFETY: `out` is the whole [m, n] output, borrowed mutably.
    unsafe {
        gemm(
            &lhs,
            b,
            b_start,
            strides,
            n,
            out.as_mut_ptr(),
            n,
            None,
            None,
        )
    }
}

/// `out[i, j] = bias[i] + sum_k a[i, k] * b[k, j]` rounded to bf16 for `i < m`, `j < n`, with
/// `b[k', j]` at `b[b_start + k' * rs + j * cs]` and `out` at row stride `ldo`; the sum and the
/// bias add are f32 (no bias: zero). With `scratch`, on the calling thread; without, blocks of
/// output columns run in parallel, each with its slice of B packed once.
///
/// # Safety
/// `out` must be valid for writes of rows `0..m`, columns `0..n` at row stride `ldo`, and no
/// other thread may access those elements during the call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm(
    lhs: &PackedLhs<'_>,
    b: &[bf16],
    b_start: usize,
    strides: (isize, isize),
    n: usize,
    out: *mut bf16,
    ldo: usize,
    bias: Option<&[f32]>,
    scratch: Option<&mut Scratch>,
) {
    let (m, k) = (lhs.m, lhs.k);
    if let Some(bias) = bias {
        assert!(bias.len() >= m, "bf16 gemm: a bias per row");
    }
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        for i in 0..m {
            let value = bf16::from_f32(bias.map_or(0.0, |b| b[i]));
            // SAFETY: row i < m of the caller's output.
            unsafe { core::slice::from_raw_parts_mut(out.add(i * ldo), n) }.fill(value);
        }
        return;
    }
    let out_ptr = crate::ops::SendMutPtr::new(out);
    let block = |(j0, nbj): (usize, usize), scratch: &mut Scratch| {
        // SAFETY: blocks cover disjoint columns of the output, one writer each.
        unsafe {
            gemm_columns(
                lhs,
                b,
                b_start,
                strides,
                (j0, nbj),
                out_ptr.ptr_add(0),
                ldo,
                bias,
                scratch,
            )
        }
    };
    let blocks = |nb: usize| (0..n).step_by(nb).map(move |j0| (j0, nb.min(n - j0)));
    if let Some(scratch) = scratch {
        blocks(columns_per_block(k)).for_each(|j| block(j, scratch));
        return;
    }
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        let threads = rayon::current_num_threads();
        // At least two blocks per thread when N allows, each a multiple of 32 columns.
        let nb = columns_per_block(k).min(n.div_ceil(2 * threads).next_multiple_of(BLOCK));
        blocks(nb)
            .collect::<alloc::vec::Vec<_>>()
            .into_par_iter()
            .for_each_init(Scratch::default, |s, j| block(j, s));
    }
    #[cfg(not(feature = "rayon"))]
    {
        let mut s = Scratch::default();
        blocks(columns_per_block(k)).for_each(|j| block(j, &mut s));
    }
}

/// Row-major `a` `[m, k]` as strips of [`dp::ROWS`] rows, strip `s` holding
/// `out[(s * pairs + r) * ROWS + i] = a[s * ROWS + i, 2r] | a[s * ROWS + i, 2r + 1] << 16`,
/// zero beyond `m` and `k` (so `vdpbf16ps` broadcasts one u32 per row and k pair).
fn pack_a(a: &[u16], m: usize, k: usize) -> alloc::vec::Vec<u32> {
    let pairs = k.div_ceil(2);
    let strip_len = pairs * dp::ROWS;
    let mut out = alloc::vec![0u32; m.div_ceil(dp::ROWS) * strip_len];
    let pack_strip = |s: usize, strip: &mut [u32]| {
        for i in 0..dp::ROWS.min(m - s * dp::ROWS) {
            let row = &a[(s * dp::ROWS + i) * k..][..k];
            let (whole, last) = row.split_at(k / 2 * 2);
            for (r, p) in whole.chunks_exact(2).enumerate() {
                strip[r * dp::ROWS + i] = p[0] as u32 | (p[1] as u32) << 16;
            }
            if let [x] = last {
                strip[(pairs - 1) * dp::ROWS + i] = *x as u32;
            }
        }
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(strip_len)
            .enumerate()
            .for_each(|(s, strip)| pack_strip(s, strip));
    }
    #[cfg(not(feature = "rayon"))]
    out.chunks_mut(strip_len)
        .enumerate()
        .for_each(|(s, strip)| pack_strip(s, strip));
    out
}

/// [`gemm`] for output columns `j0..j0 + nbj`, on the calling thread.
///
/// # Safety
/// As [`gemm`], for those columns.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_columns(
    lhs: &PackedLhs<'_>,
    b: &[bf16],
    b_start: usize,
    (rs, cs): (isize, isize),
    (j0, nbj): (usize, usize),
    out: *mut bf16,
    ldo: usize,
    bias: Option<&[f32]>,
    scratch: &mut Scratch,
) {
    let (m, k) = (lhs.m, lhs.k);
    let kp = k.next_multiple_of(K_STEP);
    let panel_pairs = nbj.div_ceil(BLOCK);
    let b: &[u16] = bytemuck::cast_slice(b);

    // B[:, j0..j0 + nbj] in the layout `tdpbf16ps` and `vdpbf16ps` read: for each 16-column
    // panel, rows of k pairs, each row 16 columns x (k, k + 1).
    scratch.packed.clear();
    scratch.packed.resize(panel_pairs * 2 * kp * TILE, 0);
    for q in 0..panel_pairs {
        for half in 0..2 {
            let col = j0 + q * BLOCK + half * TILE;
            let width = TILE.min((j0 + nbj).saturating_sub(col));
            let panel = &mut scratch.packed[(2 * q + half) * kp * TILE..][..kp * TILE];
            if width > 0 {
                pack_panel(b, b_start, rs, cs, k, col, width, panel);
            }
        }
    }
    let panel = |q: usize, half: usize| scratch.packed[(2 * q + half) * kp * TILE..].as_ptr();

    match (lhs.kernel, &lhs.form) {
        (Kernel::Amx, Lhs::Rows(a)) => {
            scratch.c.resize(BLOCK * BLOCK, 0.0);
            scratch.a_strip.resize(BLOCK * kp, 0);
            amx::with_tiles(|| {
                for i0 in (0..m).step_by(BLOCK) {
                    let rows = BLOCK.min(m - i0);
                    // A strip [32, kp]: in place when whole, else zero-padded in scratch.
                    let (a_ptr, lda) = if rows == BLOCK && k == kp {
                        (a[i0 * k..].as_ptr(), k)
                    } else {
                        scratch.a_strip.fill(0);
                        for r in 0..rows {
                            scratch.a_strip[r * kp..r * kp + k]
                                .copy_from_slice(&a[(i0 + r) * k..][..k]);
                        }
                        (scratch.a_strip.as_ptr(), kp)
                    };
                    for q in 0..panel_pairs {
                        // SAFETY: the strip holds 32 rows of `lda >= kp` elements, each
                        // panel `kp * 16`, and `c` 32 x 32 f32; the tiles are configured.
                        unsafe {
                            amx::kernel_32x32(
                                a_ptr,
                                lda,
                                panel(q, 0),
                                panel(q, 1),
                                kp / K_STEP,
                                scratch.c.as_mut_ptr(),
                            )
                        };
                        let cols = BLOCK.min(nbj - q * BLOCK);
                        // SAFETY: rows `i0 .. i0 + rows` (< m), columns
                        // `j0 + q * 32 .. + cols` lie in the caller's block.
                        unsafe {
                            amx::store_rounded(
                                &scratch.c,
                                bias.map(|b| &b[i0..i0 + rows]),
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
        (Kernel::Avx512Bf16, Lhs::Pairs(a)) => {
            let pairs = k.div_ceil(2);
            for (s, strip) in a.chunks_exact(pairs * dp::ROWS).enumerate() {
                let i0 = s * dp::ROWS;
                let rows = dp::ROWS.min(m - i0);
                for q in 0..panel_pairs {
                    let cols = BLOCK.min(nbj - q * BLOCK);
                    // SAFETY: the strip holds `pairs` rows of ROWS pairs, each panel at least
                    // `pairs` rows of 32; rows `i0 .. i0 + rows` (< m) and columns
                    // `j0 + q * 32 .. + cols` lie in the caller's block.
                    unsafe {
                        dp::kernel(
                            strip.as_ptr(),
                            panel(q, 0),
                            panel(q, 1),
                            pairs,
                            out.add(i0 * ldo + j0 + q * BLOCK),
                            ldo,
                            (rows, cols),
                            bias.map(|b| &b[i0..i0 + rows]),
                        )
                    };
                }
            }
        }
        _ => unreachable!("the left side is packed for its kernel"),
    }
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
    if cs == 1 && width == TILE && dp::pack_rows_fast(b, b_start, rs, k, col, panel) {
        return;
    }
    for kk in 0..k {
        for j in 0..width {
            panel[(kk / 2) * 2 * TILE + 2 * j + kk % 2] = at(kk, col + j);
        }
    }
}

/// The AMX kernel (the tile state needs Linux's permission).
#[cfg(all(target_arch = "x86_64", target_os = "linux", feature = "std"))]
mod amx {
    use burn_std::bf16;
    use core::arch::asm;
    use core::arch::x86_64::*;

    /// Called once, by [`super::kernel`].
    pub fn available() -> bool {
        if !std::arch::is_x86_feature_detected!("avx512bw")
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

    /// Rounds the first `rows x cols` of a 32 x 32 f32 block plus `bias[row]` (f32) to bf16
    /// into `out` (row stride `ldo`), as `half` does: `vcvtneps2bf16` rounds to nearest even
    /// and quiets NaNs; it flushes denormals, which AMX results never are.
    ///
    /// # Safety
    /// `out` valid for writes of `rows` rows of `cols <= 32` elements at stride `ldo`; `bias`
    /// (when given) holds `rows` values.
    pub unsafe fn store_rounded(
        c: &[f32],
        bias: Option<&[f32]>,
        rows: usize,
        cols: usize,
        out: *mut bf16,
        ldo: usize,
    ) {
        #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
        unsafe fn store(
            c: &[f32],
            bias: Option<&[f32]>,
            rows: usize,
            cols: usize,
            out: *mut bf16,
            ldo: usize,
        ) {
            // The low min(n, 16) lanes.
            let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
            let (m0, m1) = (mask(cols), mask(cols.saturating_sub(16)));
            for r in 0..rows {
                // SAFETY: `c` holds 32 x 32 values; the masks keep stores within `cols`.
                unsafe {
                    let src = c.as_ptr().add(r * super::BLOCK);
                    let v = _mm512_set1_ps(bias.map_or(0.0, |b| b[r]));
                    let lo = _mm512_cvtneps_pbh(_mm512_add_ps(_mm512_loadu_ps(src), v));
                    let hi = _mm512_cvtneps_pbh(_mm512_add_ps(_mm512_loadu_ps(src.add(16)), v));
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
        unsafe { store(c, bias, rows, cols, out, ldo) }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", feature = "std")))]
mod amx {
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
    pub unsafe fn store_rounded(
        _: &[f32],
        _: Option<&[f32]>,
        _: usize,
        _: usize,
        _: *mut super::bf16,
        _: usize,
    ) {
        unreachable!("AMX is not available on this target")
    }
}

/// The AVX512-BF16 kernel, and the AVX-512BW packing of B that both kernels use.
#[cfg(all(target_arch = "x86_64", feature = "std"))]
mod dp {
    use burn_std::bf16;
    use core::arch::x86_64::*;
    use core::mem::transmute;

    /// Rows per kernel call: 14 x 2 accumulators and the two B vectors take 30 of the 32
    /// zmm registers.
    pub const ROWS: usize = 14;

    /// Called once, by [`super::kernel`].
    pub fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512bf16")
    }

    /// `out[i, j] = bias[i] + sum_r <a[r * ROWS + i], b[r, j]>` rounded to bf16 for
    /// `i < rows`, `j < cols`, where `a` is one strip of [`super::pack_a`] and `b0`, `b1` two
    /// packed 16-column panels (`b[r, j]` the k pair `r` of column `j`). Rounds like `half`
    /// (`vcvtneps2bf16`: nearest even, NaN quieted).
    ///
    /// # Safety
    /// [`available`]; `a` valid for `pairs * ROWS` reads, `b0` and `b1` for `pairs * 32`
    /// each, `out` for writes of `rows <= ROWS` rows of `cols <= 32` at stride `ldo`; `bias`
    /// (when given) holds `rows` values.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx512f,avx512bw,avx512bf16")]
    pub unsafe fn kernel(
        a: *const u32,
        b0: *const u16,
        b1: *const u16,
        pairs: usize,
        out: *mut bf16,
        ldo: usize,
        (rows, cols): (usize, usize),
        bias: Option<&[f32]>,
    ) {
        let mut acc = [[_mm512_setzero_ps(); 2]; ROWS];
        for r in 0..pairs {
            // SAFETY: within the bounds of the contract.
            unsafe {
                let x0: __m512bh = transmute(_mm512_loadu_epi16(b0.add(r * 32) as *const i16));
                let x1: __m512bh = transmute(_mm512_loadu_epi16(b1.add(r * 32) as *const i16));
                let ar = a.add(r * ROWS);
                for (i, acc) in acc.iter_mut().enumerate() {
                    let ai: __m512bh = transmute(_mm512_set1_epi32(*ar.add(i) as i32));
                    acc[0] = _mm512_dpbf16_ps(acc[0], ai, x0);
                    acc[1] = _mm512_dpbf16_ps(acc[1], ai, x1);
                }
            }
        }
        // The low min(n, 16) lanes.
        let mask = |n: usize| ((1u32 << n.min(16)) - 1) as u16;
        let (m0, m1) = (mask(cols), mask(cols.saturating_sub(16)));
        for (i, acc) in acc.iter_mut().enumerate() {
            if i < rows {
                if let Some(bias) = bias {
                    let v = _mm512_set1_ps(bias[i]);
                    *acc = [_mm512_add_ps(acc[0], v), _mm512_add_ps(acc[1], v)];
                }
                // SAFETY: row `i < rows`; the masks keep the stores within `cols`.
                unsafe {
                    let dst = out.add(i * ldo) as *mut i16;
                    let lo: __m256i = transmute(_mm512_cvtneps_pbh(acc[0]));
                    let hi: __m256i = transmute(_mm512_cvtneps_pbh(acc[1]));
                    _mm256_mask_storeu_epi16(dst, m0, lo);
                    _mm256_mask_storeu_epi16(dst.add(16), m1, hi);
                }
            }
        }
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
        // SAFETY: a native kernel was detected, which implies AVX-512BW; bounds checked
        // above.
        unsafe { pack(b.as_ptr().add(b_start + col), rs, k, panel) };
        true
    }
}

#[cfg(not(all(target_arch = "x86_64", feature = "std")))]
mod dp {
    pub const ROWS: usize = 14;
    pub fn available() -> bool {
        false
    }
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn kernel(
        _: *const u32,
        _: *const u16,
        _: *const u16,
        _: usize,
        _: *mut super::bf16,
        _: usize,
        _: (usize, usize),
        _: Option<&[f32]>,
    ) {
        unreachable!("AVX512-BF16 is not available on this target")
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

    /// The kernels this CPU runs (the tests of the others are skipped, and say so).
    fn kernels() -> alloc::vec::Vec<Kernel> {
        #[cfg(all(target_arch = "x86_64", target_os = "linux", feature = "std"))]
        let amx = amx::available();
        #[cfg(not(all(target_arch = "x86_64", target_os = "linux", feature = "std")))]
        let amx = false;
        let found: alloc::vec::Vec<Kernel> =
            [(Kernel::Amx, amx), (Kernel::Avx512Bf16, dp::available())]
                .into_iter()
                .filter_map(|(kernel, ok)| ok.then_some(kernel))
                .collect();
        if found.len() < 2 {
            std::println!("native bf16 kernels on this CPU: {found:?} (the others skipped)");
        }
        found
    }

    fn check(m: usize, k: usize, n: usize, transposed: bool) {
        for kernel in kernels() {
            check_kernel(kernel, m, k, n, transposed);
        }
    }

    fn check_kernel(kernel: Kernel, m: usize, k: usize, n: usize, transposed: bool) {
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
        let compare = |out: &[bf16], ldo: usize, bias: &[f32], what: &str| {
            for i in 0..m {
                for j in 0..n {
                    let r = reference(&a, &b, k, n, i, j) + bias[i] as f64;
                    let got = out[i * ldo + j].to_f64();
                    // bf16 rounding of the result (2^-8 relative) plus f32 summation error.
                    let tol = r.abs() / 256.0 + 1e-5 * k as f64;
                    assert!(
                        (got - r).abs() <= tol,
                        "{kernel:?} {what} [{i}, {j}] of {m}x{k}x{n}: {got} vs {r}"
                    );
                }
                // Nothing written past column n.
                assert!(out[i * ldo + n..(i + 1) * ldo].iter().all(|v| v.is_nan()));
            }
        };
        let mut out = alloc::vec![bf16::NAN; m * n];
        matmul(kernel, &a, (m, k, n), &storage, 0, strides, &mut out);
        compare(&out, n, &alloc::vec![0.0; m], "matmul");

        // A packed left side with a bias per row, into a wider output, on one thread.
        let bias: alloc::vec::Vec<f32> = (0..m).map(|i| i as f32 * 0.25 - 2.0).collect();
        let ldo = n + 3;
        let mut out = alloc::vec![bf16::NAN; m * ldo];
        let lhs = PackedLhs::new(kernel, &a, m, k);
        let mut scratch = Scratch::default();
        // SAFETY: `out` is [m, ldo] and n <= ldo.
        unsafe {
            gemm(
                &lhs,
                &storage,
                0,
                strides,
                n,
                out.as_mut_ptr(),
                ldo,
                Some(&bias),
                Some(&mut scratch),
            )
        };
        compare(&out, ldo, &bias, "gemm + bias");
    }

    #[test]
    fn native_bf16_matches_f64_whole_blocks() {
        check(64, 64, 64, false);
        check(28, 64, 96, false);
    }

    #[test]
    fn native_bf16_matches_f64_ragged_edges() {
        // m, k and n off every multiple (k odd: the last k pair is half padding).
        check(37, 45, 50, false);
        check(1, 1, 1, false);
        check(33, 96, 17, false);
        check(15, 3, 40, false);
    }

    #[test]
    fn native_bf16_matches_f64_transposed_weight() {
        check(40, 70, 33, true);
    }

    #[test]
    fn native_bf16_matches_f64_several_column_blocks() {
        // k = 1024 gives 256-column blocks: four of them, the last one ragged.
        check(20, 1024, 1000, false);
    }
}
