//! Row tables kept on the host (CLIP's token embeddings), read from the file's map on demand.

use std::sync::Arc;

use super::Weights;
use super::decode::{Stored, decode, decode_run, stored_dtype};
use super::file::drop_resident;
use crate::error::Result;

/// A row table on the host (CLIP's token embeddings: 49408 rows, of which a call reads a
/// handful). Keeping it out of the backend saves its 101 MB (f32) of resident memory, or of
/// GPU memory on CUDA.
#[derive(Clone)]
pub(crate) enum HostTable {
    /// Rows read from the weights file's map on demand.
    Mapped {
        map: Arc<memmap2::Mmap>,
        offset: usize,
        dtype: Stored,
        width: usize,
    },
    /// Decoded rows (shared: cloning a model does not copy them).
    Owned { values: Arc<[f32]>, width: usize },
}

impl std::fmt::Debug for HostTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostTable::Mapped { width, dtype, .. } => {
                write!(f, "HostTable::Mapped({dtype:?}, width {width})")
            }
            HostTable::Owned { width, .. } => write!(f, "HostTable::Owned(width {width})"),
        }
    }
}

impl HostTable {
    /// The rows of `ids` (each checked to be in range by the caller), as f32, row-major.
    pub(crate) fn rows(&self, ids: &[u32]) -> Vec<f32> {
        match self {
            HostTable::Mapped {
                map,
                offset,
                dtype,
                width,
            } => {
                let row_bytes = width * dtype.size();
                let mut out = vec![0f32; ids.len() * width];
                let row_start = |id: u32| offset + id as usize * row_bytes;
                for (o, &id) in out.chunks_exact_mut(*width).zip(ids) {
                    let start = row_start(id);
                    decode_run(*dtype, &map[start..start + row_bytes], o);
                }
                // Each row's fault mapped its whole folio (up to 2 MiB of the table): unmap the
                // span of rows read, once.
                if let (Some(&lo), Some(&hi)) = (ids.iter().min(), ids.iter().max()) {
                    drop_resident(map, &map[row_start(lo)..row_start(hi) + row_bytes]);
                }
                out
            }
            HostTable::Owned { values, width } => ids
                .iter()
                .flat_map(|&id| &values[id as usize * width..(id as usize + 1) * width])
                .copied()
                .collect(),
        }
    }
}

impl Weights<'_> {
    /// A lookup table (the token embeddings) kept on the host: a memory-mapped file stays
    /// mapped and only the rows looked up are ever read; other sources are decoded to f32.
    pub(crate) fn table(&self, key: &str, shape: [usize; 2]) -> Result<HostTable> {
        let view = self.view(key, &shape)?;
        let dtype = stored_dtype(key, view.dtype())?;
        let width = shape[1];
        if let Some(map) = self.mmap {
            let offset = view.data().as_ptr() as usize - map.as_ptr() as usize;
            return Ok(HostTable::Mapped {
                map: Arc::clone(map),
                offset,
                dtype,
                width,
            });
        }
        Ok(HostTable::Owned {
            values: decode(dtype, view.data()).into(),
            width,
        })
    }
}
