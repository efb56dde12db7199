//! An opened safetensors file (memory-mapped or a caller's buffer), its parsed tensor index
//! under the official key names, and shape-checked reads of its tensors.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use safetensors::SafeTensors;
use safetensors::tensor::TensorView;

use super::decode::{HostElem, decode, stored_dtype, transpose_decode};
use super::{LIGHTNING_PREFIX, MAX_WEIGHTS_BYTES, SKIPPED_PREFIXES};
use crate::error::{Error, Result};

enum Storage<'a> {
    Mmap(Arc<memmap2::Mmap>),
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

/// An opened weights file (memory-mapped, or a caller's buffer).
pub struct WeightFile<'a> {
    storage: Storage<'a>,
    name: String,
}

impl WeightFile<'static> {
    /// Memory-map a `.safetensors` file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only; lseg never writes through it. A file truncated by
        // another process while mapped is outside what any mmap-based loader can defend.
        let mmap = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
        Ok(Self {
            storage: Storage::Mmap(Arc::new(mmap)),
            name: path.display().to_string(),
        })
    }

    /// Take ownership of an in-memory safetensors image.
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self {
            storage: Storage::Owned(bytes),
            name: "<memory>".into(),
        }
    }
}

impl<'a> WeightFile<'a> {
    /// Borrow an in-memory safetensors image (an asset bundle, say).
    pub fn from_bytes(bytes: &'a [u8]) -> Self {
        Self {
            storage: Storage::Borrowed(bytes),
            name: "<memory>".into(),
        }
    }

    fn bytes(&self) -> &[u8] {
        match &self.storage {
            Storage::Mmap(m) => m,
            Storage::Borrowed(b) => b,
            Storage::Owned(v) => v,
        }
    }

    /// Parse and validate the header (and the size: at most [`MAX_WEIGHTS_BYTES`]).
    pub fn parse(&self) -> Result<Weights<'_>> {
        let bytes = self.bytes();
        if bytes.len() as u64 > MAX_WEIGHTS_BYTES {
            return Err(Error::InvalidWeights(format!(
                "{} is {} bytes, at most {MAX_WEIGHTS_BYTES} are accepted",
                self.name,
                bytes.len()
            )));
        }
        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| Error::InvalidWeights(format!("{}: {e}", self.name)))?;
        let (_, meta) = SafeTensors::read_metadata(bytes)
            .map_err(|e| Error::InvalidWeights(format!("{}: {e}", self.name)))?;
        let metadata = meta.metadata().clone().unwrap_or_default();
        let prefix = if st.names().iter().any(|n| n.starts_with(LIGHTNING_PREFIX)) {
            LIGHTNING_PREFIX
        } else {
            ""
        };
        Ok(Weights {
            st,
            prefix,
            metadata: metadata.into_iter().collect(),
            mmap: match &self.storage {
                Storage::Mmap(m) => Some(m),
                _ => None,
            },
        })
    }
}

/// The parsed tensor index of a [`WeightFile`].
pub struct Weights<'a> {
    st: SafeTensors<'a>,
    prefix: &'static str,
    metadata: BTreeMap<String, String>,
    /// The file's map, when it is memory-mapped.
    pub(super) mmap: Option<&'a Arc<memmap2::Mmap>>,
}

/// Summary of one stored tensor.
#[derive(Debug, Clone)]
pub struct TensorInfo {
    /// Official key (Lightning prefix removed).
    pub key: String,
    /// Shape.
    pub shape: Vec<usize>,
    /// Stored dtype, e.g. `F16`.
    pub dtype: String,
}

impl Weights<'_> {
    /// The safetensors `__metadata__` entries.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// All stored tensors, official keys, sorted; skipped groups left out.
    pub fn tensors(&self) -> Vec<TensorInfo> {
        let mut v: Vec<TensorInfo> = self
            .st
            .tensors()
            .into_iter()
            .filter_map(|(name, view)| {
                let key = name.strip_prefix(self.prefix)?.to_string();
                if SKIPPED_PREFIXES.iter().any(|p| key.starts_with(p)) {
                    return None;
                }
                Some(TensorInfo {
                    key,
                    shape: view.shape().to_vec(),
                    dtype: format!("{:?}", view.dtype()),
                })
            })
            .collect();
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    /// Shape of a key, if present.
    pub fn shape(&self, key: &str) -> Option<Vec<usize>> {
        self.st
            .tensor(&format!("{}{key}", self.prefix))
            .ok()
            .map(|v| v.shape().to_vec())
    }

    /// Drop the mapped pages of a tensor that has been converted, so that the file's pages do
    /// not add up in the resident set while the model loads (they stay in the page cache).
    fn release(&self, data: &[u8]) {
        if let Some(mmap) = self.mmap {
            drop_resident(mmap, data);
        }
    }

    /// The stored dtype, shape and bytes of a key.
    #[cfg(feature = "train")]
    pub(crate) fn raw(&self, key: &str) -> Option<(safetensors::Dtype, Vec<usize>, &[u8])> {
        let view = self.st.tensor(&format!("{}{key}", self.prefix)).ok()?;
        Some((view.dtype(), view.shape().to_vec(), view.data()))
    }

    /// Read any stored tensor as f32 with its shape (reference tensors in test fixtures, say).
    pub fn read_f32(&self, key: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let shape = self
            .shape(key)
            .ok_or_else(|| Error::MissingTensor { key: key.into() })?;
        Ok((self.host_f32(key, &shape)?, shape))
    }

    /// Read a tensor as f32 on the host, checking its shape.
    pub fn host_f32(&self, key: &str, expected: &[usize]) -> Result<Vec<f32>> {
        self.host(key, expected, false)
    }

    /// The stored bytes of a key, checking its shape.
    pub(super) fn view(&self, key: &str, expected: &[usize]) -> Result<TensorView<'_>> {
        let view = self
            .st
            .tensor(&format!("{}{key}", self.prefix))
            .map_err(|_| Error::MissingTensor { key: key.into() })?;
        if view.shape() != expected {
            return Err(Error::ShapeMismatch {
                key: key.into(),
                expected: expected.to_vec(),
                found: view.shape().to_vec(),
            });
        }
        Ok(view)
    }

    /// A tensor decoded to `E` on the host, checking its shape; a 2-D `[rows, cols]` tensor
    /// is returned as `[cols, rows]` when `transpose` is set. Decoding runs on the rayon
    /// pool, straight from the stored bytes.
    pub(crate) fn host<E: HostElem>(
        &self,
        key: &str,
        expected: &[usize],
        transpose: bool,
    ) -> Result<Vec<E>> {
        let view = self.view(key, expected)?;
        let data = view.data();
        let dtype = stored_dtype(key, view.dtype())?;
        let out = if transpose && expected.len() == 2 {
            transpose_decode(dtype, data, expected[0], expected[1])
        } else {
            decode(dtype, data)
        };
        self.release(data);
        Ok(out)
    }
}

/// The largest page-cache folio on x86-64 and AArch64 with 4 KiB pages (a PMD, 2 MiB). Linux
/// maps a whole folio on a fault, so reading a small tensor maps its neighbours' pages again
/// when they share a folio.
const FOLIO_BYTES: usize = 2 << 20;

/// Unmap the pages of `data`, a part of `map`, from this process's resident set, rounded out
/// to [`FOLIO_BYTES`] so that no page a neighbour's read re-mapped stays behind. The bytes stay
/// in the page cache: a later read of the range (a neighbour not yet decoded, a token row)
/// faults them back in without I/O.
pub(super) fn drop_resident(map: &memmap2::Mmap, data: &[u8]) {
    let base = map.as_ptr() as usize;
    let offset = data.as_ptr() as usize - base;
    debug_assert!(
        offset + data.len() <= map.len(),
        "data lies outside the map"
    );
    let start = offset / FOLIO_BYTES * FOLIO_BYTES;
    let end = (offset + data.len())
        .next_multiple_of(FOLIO_BYTES)
        .min(map.len());
    if end > start {
        // SAFETY: a read-only file mapping: dropped pages are re-read from the file on the
        // next access (by any thread), so every read sees the same bytes.
        let _ = unsafe {
            map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
        };
    }
}
