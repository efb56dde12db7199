//! Stored element types and their decoding on the host: runs of f32 / f16 / bf16 bytes into
//! f32, f16 or bf16, in parallel chunks, optionally transposed through cache-friendly tiles.

use safetensors::Dtype as StDtype;

use crate::error::{Error, Result};

/// The stored element types lseg reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stored {
    F32,
    F16,
    BF16,
}

impl Stored {
    /// Bytes per element.
    pub(super) fn size(self) -> usize {
        match self {
            Stored::F32 => 4,
            Stored::F16 | Stored::BF16 => 2,
        }
    }
}

/// The [`Stored`] type of a safetensors dtype; other dtypes are an error naming the key.
pub(super) fn stored_dtype(key: &str, dtype: StDtype) -> Result<Stored> {
    match dtype {
        StDtype::F32 => Ok(Stored::F32),
        StDtype::F16 => Ok(Stored::F16),
        StDtype::BF16 => Ok(Stored::BF16),
        other => Err(Error::UnsupportedDtype {
            key: key.into(),
            dtype: format!("{other:?}"),
        }),
    }
}

/// Element types tensors are decoded into on the host.
pub(crate) trait HostElem: Copy + Default + Send + Sync + burn::tensor::Element {
    /// From a stored f32.
    fn from_f32(x: f32) -> Self;
    /// From a stored f16.
    fn from_f16(x: half::f16) -> Self;
    /// From a stored bf16.
    fn from_bf16(x: half::bf16) -> Self;
}

impl HostElem for f32 {
    fn from_f32(x: f32) -> Self {
        x
    }
    fn from_f16(x: half::f16) -> Self {
        x.to_f32()
    }
    fn from_bf16(x: half::bf16) -> Self {
        x.to_f32()
    }
}

impl HostElem for half::f16 {
    fn from_f32(x: f32) -> Self {
        half::f16::from_f32(x)
    }
    fn from_f16(x: half::f16) -> Self {
        x
    }
    fn from_bf16(x: half::bf16) -> Self {
        half::f16::from_f32(x.to_f32())
    }
}

impl HostElem for half::bf16 {
    fn from_f32(x: f32) -> Self {
        half::bf16::from_f32(x)
    }
    fn from_f16(x: half::f16) -> Self {
        half::bf16::from_f32(x.to_f32())
    }
    fn from_bf16(x: half::bf16) -> Self {
        x
    }
}

/// Decode a run of stored values into `out` (`bytes.len() == out.len() * size`).
pub(super) fn decode_run<E: HostElem>(dtype: Stored, bytes: &[u8], out: &mut [E]) {
    match dtype {
        Stored::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = E::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            }
        }
        Stored::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = E::from_f16(half::f16::from_le_bytes([b[0], b[1]]));
            }
        }
        Stored::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = E::from_bf16(half::bf16::from_le_bytes([b[0], b[1]]));
            }
        }
    }
}

/// Decode stored values, in parallel chunks.
pub(super) fn decode<E: HostElem>(dtype: Stored, bytes: &[u8]) -> Vec<E> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16;
    let mut out = vec![E::default(); bytes.len() / dtype.size()];
    out.par_chunks_mut(CHUNK)
        .zip(bytes.par_chunks(CHUNK * dtype.size()))
        .for_each(|(o, b)| decode_run(dtype, b, o));
    out
}

/// Decode a stored row-major `[rows, cols]` matrix as `[cols, rows]`.
pub(super) fn transpose_decode<E: HostElem>(
    dtype: Stored,
    bytes: &[u8],
    rows: usize,
    cols: usize,
) -> Vec<E> {
    let size = dtype.size();
    transpose_with(rows, cols, |at, out: &mut [E]| {
        decode_run(dtype, &bytes[at * size..(at + out.len()) * size], out)
    })
}

/// The transpose `[cols, rows]` of a row-major `[rows, cols]` matrix whose runs of elements
/// `read(at, out)` fills. It goes through small tiles so that neither side is walked with a
/// power-of-two stride (which thrashes the caches: a naive loop took 2.3 s for ViT-L/16's
/// weights, this takes 0.3 s), one block of output rows per rayon task.
pub(super) fn transpose_with<E: HostElem>(
    rows: usize,
    cols: usize,
    read: impl Fn(usize, &mut [E]) + Sync,
) -> Vec<E> {
    use rayon::prelude::*;
    const B: usize = 64;
    let mut out = vec![E::default(); rows * cols];
    if out.is_empty() {
        return out;
    }
    out.par_chunks_mut(B * rows)
        .enumerate()
        .for_each(|(block, dst)| {
            let c0 = block * B;
            let nc = dst.len() / rows;
            let mut row = [E::default(); B];
            let mut tile = [E::default(); B * B];
            for r0 in (0..rows).step_by(B) {
                let nr = B.min(rows - r0);
                for r in 0..nr {
                    read((r0 + r) * cols + c0, &mut row[..nc]);
                    for (c, v) in row[..nc].iter().enumerate() {
                        tile[c * B + r] = *v;
                    }
                }
                for c in 0..nc {
                    dst[c * rows + r0..c * rows + r0 + nr]
                        .copy_from_slice(&tile[c * B..c * B + nr]);
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiled_transpose_matches_the_definition() {
        for (rows, cols) in [
            (1, 1),
            (3, 200),
            (64, 64),
            (70, 130),
            (129, 65),
            (256, 1024),
        ] {
            let src: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
            let bytes: Vec<u8> = src.iter().flat_map(|v| v.to_le_bytes()).collect();
            let t: Vec<f32> = transpose_decode(Stored::F32, &bytes, rows, cols);
            let halves: Vec<u8> = src
                .iter()
                .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                .collect();
            let h: Vec<half::bf16> = transpose_decode(Stored::BF16, &halves, rows, cols);
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(
                        t[c * rows + r],
                        src[r * cols + c],
                        "{rows}x{cols} at {r},{c}"
                    );
                    assert_eq!(h[c * rows + r], half::bf16::from_f32(src[r * cols + c]));
                }
            }
        }
    }
}
