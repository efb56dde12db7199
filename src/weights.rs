//! Weight files: memory-mapped safetensors with the official key names, dtype conversion
//! (f32 / f16 / bf16 on disk), shape checks that name the key, and config inference.
//!
//! All knowledge of the official key names lives here and in the `load` functions of the
//! model parts, which ask for keys through [`Loader`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use burn::tensor::{DType, Device, Tensor, TensorData};
use safetensors::{Dtype as StDtype, SafeTensors};

use crate::config::{Activation, HeadBlock, LsegConfig, Readout, TextConfig, VitConfig};
use crate::error::{Error, Result};

/// Prefix the official Lightning checkpoint puts in front of every key.
pub const LIGHTNING_PREFIX: &str = "net.";
/// Safetensors metadata key under which `lseg convert` stores the JSON config.
pub const CONFIG_METADATA_KEY: &str = "lseg_config";

/// Key prefixes that LSeg never uses and that loading skips.
pub const SKIPPED_PREFIXES: [&str; 2] = ["clip_pretrained.visual.", "pretrained.model.head."];

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

    /// Parse and validate the header.
    pub fn parse(&self) -> Result<Weights<'_>> {
        let bytes = self.bytes();
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
    mmap: Option<&'a Arc<memmap2::Mmap>>,
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

impl<'a> Weights<'a> {
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
        let Some(mmap) = self.mmap else { return };
        let base = mmap.as_ptr() as usize;
        let page = 4096;
        let start = (data.as_ptr() as usize - base).div_ceil(page) * page;
        let end = (data.as_ptr() as usize - base + data.len()) / page * page;
        if end > start {
            // SAFETY: a read-only private file mapping: dropped pages are re-read from the file
            // on the next access, so later reads (a second load) see the same bytes.
            let _ = unsafe {
                mmap.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, start, end - start)
            };
        }
    }

    /// Read any stored tensor as f32 with its shape (reference tensors in test fixtures, say).
    pub fn read_f32(&self, key: &str) -> Result<(Vec<f32>, Vec<usize>)> {
        let shape = self
            .shape(key)
            .ok_or_else(|| Error::MissingTensor { key: key.into() })?;
        Ok((self.host_f32(key, &shape)?, shape))
    }

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

    /// Read a tensor as f32 on the host, checking its shape.
    pub fn host_f32(&self, key: &str, expected: &[usize]) -> Result<Vec<f32>> {
        self.host(key, expected, false)
    }

    /// The stored bytes of a key, checking its shape.
    fn view(&self, key: &str, expected: &[usize]) -> Result<safetensors::tensor::TensorView<'_>> {
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

    /// Infer the configuration: the JSON stored by `lseg convert` if present, else from the
    /// tensor shapes ([`infer_config_from_shapes`]).
    pub fn infer_config(&self) -> Result<LsegConfig> {
        if let Some(json) = self.metadata.get(CONFIG_METADATA_KEY) {
            return LsegConfig::from_json(json);
        }
        let shapes = self
            .tensors()
            .into_iter()
            .map(|t| (t.key, t.shape))
            .collect();
        infer_config_from_shapes(&shapes)
    }
}

/// Infer the configuration of official weights from their tensor shapes (official keys).
/// Fails with a clear message where the shapes are ambiguous (hooks of unknown depths,
/// readout without projection, spatial-regularisation blocks).
pub fn infer_config_from_shapes(shapes: &BTreeMap<String, Vec<usize>>) -> Result<LsegConfig> {
    let need = |key: &str| {
        shapes
            .get(key)
            .cloned()
            .ok_or_else(|| Error::MissingTensor { key: key.into() })
    };
    let has = |key: &str| shapes.contains_key(key);
    let count_indexed = |prefix: &str| {
        (0..)
            .take_while(|i| {
                let p = format!("{prefix}{i}.");
                shapes
                    .range(p.clone()..)
                    .next()
                    .is_some_and(|(k, _)| k.starts_with(&p))
            })
            .count()
    };
    let pe = need("pretrained.model.patch_embed.proj.weight")?;
    if pe.len() != 4 {
        return Err(Error::Config(format!(
            "patch_embed.proj.weight has shape {pe:?}"
        )));
    }
    let (embed_dim, patch_size) = (pe[0], pe[2]);
    let depth = count_indexed("pretrained.model.blocks.");
    let mlp_dim = need("pretrained.model.blocks.0.mlp.fc1.weight")?[0];
    let pos = need("pretrained.model.pos_embed")?;
    let pos_grid = ((pos[1].saturating_sub(1)) as f64).sqrt() as usize;
    let hooks = match (patch_size, depth) {
        (16, 24) => [5, 11, 17, 23],
        (32, 12) => [2, 5, 8, 11],
        _ => {
            return Err(Error::Config(format!(
                "cannot infer the hook blocks of a patch-{patch_size} ViT with {depth} blocks; \
                 pass an explicit configuration"
            )));
        }
    };
    let readout = if has("pretrained.act_postprocess1.0.project.0.weight") {
        Readout::Project
    } else {
        return Err(Error::Config(
            "no readout projection in the weights: readout `ignore` and `add` cannot be told \
             apart; pass an explicit configuration"
                .into(),
        ));
    };
    if has("scratch.head_block.depthwise.depthwise.weight") {
        return Err(Error::Config(
            "the weights have spatial-regularisation blocks (arch_option 1 or 2), whose kind, \
             depth and activation are not stored; pass an explicit configuration"
                .into(),
        ));
    }
    let mut reassemble = [0; 4];
    for (i, r) in reassemble.iter_mut().enumerate() {
        *r = need(&format!("pretrained.act_postprocess{}.3.weight", i + 1))?[0];
    }
    let width = need("clip_pretrained.ln_final.weight")?[0];
    let text = TextConfig {
        width,
        heads: (width / 64).max(1),
        layers: count_indexed("clip_pretrained.transformer.resblocks."),
        context_length: need("clip_pretrained.positional_embedding")?[0],
        vocab_size: need("clip_pretrained.token_embedding.weight")?[0],
        embed_dim: need("clip_pretrained.text_projection")?[1],
        layer_norm_eps: 1e-5,
    };
    let cfg = LsegConfig {
        vit: VitConfig {
            patch_size,
            embed_dim,
            depth,
            num_heads: (embed_dim / 64).max(1),
            mlp_dim,
            pos_grid,
            layer_norm_eps: 1e-6,
        },
        hooks,
        readout,
        reassemble,
        features: need("scratch.layer1_rn.weight")?[0],
        out_dim: need("scratch.head1.weight")?[0],
        text,
        head_block: HeadBlock::None,
        block_depth: 0,
        activation: Activation::Lrelu,
    };
    cfg.validate()?;
    Ok(cfg)
}

/// Where a [`Loader`] takes its values from.
pub(crate) enum Source<'w, 'a> {
    /// A weights file.
    File(&'w Weights<'a>),
    /// Deterministic pseudo-random values of the right scale (benchmarks), recording every
    /// requested key and shape.
    Random(std::cell::RefCell<Vec<(String, Vec<usize>)>>),
}

/// Turns stored tensors into device tensors of the compute dtype.
pub(crate) struct Loader<'w, 'a> {
    pub(crate) source: &'w Source<'w, 'a>,
    pub(crate) device: Device,
    pub(crate) dtype: DType,
}

impl Loader<'_, '_> {
    /// The same source and device with another dtype.
    pub(crate) fn with_dtype(&self, dtype: DType) -> Self {
        Loader {
            source: self.source,
            device: self.device.clone(),
            dtype,
        }
    }

    /// Host values of a tensor with a required shape.
    pub(crate) fn host(&self, key: &str, shape: &[usize]) -> Result<Vec<f32>> {
        match self.source {
            Source::File(w) => w.host_f32(key, shape),
            Source::Random(rec) => {
                rec.borrow_mut().push((key.to_string(), shape.to_vec()));
                Ok(random_values(key, shape))
            }
        }
    }

    /// A device tensor from host data.
    #[allow(clippy::wrong_self_convention)]
    pub(crate) fn from_host<const D: usize>(&self, data: Vec<f32>, shape: [usize; D]) -> Tensor<D> {
        let data = TensorData::new(data, shape);
        let t = Tensor::<D>::from_data(data, (&self.device, DType::F32));
        if self.dtype == DType::F32 {
            t
        } else {
            t.cast(self.dtype)
        }
    }

    /// A device tensor of the loader's dtype, decoded (and transposed when asked) on the
    /// host directly into that dtype: no intermediate copies.
    fn device_tensor<const D: usize>(
        &self,
        key: &str,
        stored: [usize; D],
        shape: [usize; D],
        transpose: bool,
    ) -> Result<Tensor<D>> {
        let Source::File(w) = self.source else {
            let host = self.host(key, &stored)?;
            let host = if transpose {
                transpose_with(stored[0], stored[1], |at, out: &mut [f32]| {
                    out.copy_from_slice(&host[at..at + out.len()])
                })
            } else {
                host
            };
            return Ok(self.from_host(host, shape));
        };
        let data = match self.dtype {
            DType::F16 => TensorData::new(w.host::<half::f16>(key, &stored, transpose)?, shape),
            DType::BF16 => TensorData::new(w.host::<half::bf16>(key, &stored, transpose)?, shape),
            _ => TensorData::new(w.host::<f32>(key, &stored, transpose)?, shape),
        };
        let dtype = data.dtype();
        let t = Tensor::<D>::from_data(data, (&self.device, dtype));
        Ok(if dtype == self.dtype {
            t
        } else {
            t.cast(self.dtype)
        })
    }

    /// A host lookup table with a required shape.
    pub(crate) fn table(&self, key: &str, shape: [usize; 2]) -> Result<HostTable> {
        match self.source {
            Source::File(w) => w.table(key, shape),
            Source::Random(_) => Ok(HostTable::Owned {
                values: self.host(key, &shape)?.into(),
                width: shape[1],
            }),
        }
    }

    /// Load a tensor with a required shape.
    pub(crate) fn tensor<const D: usize>(&self, key: &str, shape: [usize; D]) -> Result<Tensor<D>> {
        self.device_tensor(key, shape, shape, false)
    }

    /// Load a PyTorch `Linear` weight `[out, in]` as `[in, out]` (the layout every backend
    /// multiplies fastest; transposed once, here).
    pub(crate) fn linear_weight(&self, key: &str, out: usize, inp: usize) -> Result<Tensor<2>> {
        self.device_tensor(key, [out, inp], [inp, out], true)
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

fn stored_dtype(key: &str, dtype: StDtype) -> Result<Stored> {
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
                for (o, &id) in out.chunks_exact_mut(*width).zip(ids) {
                    let start = offset + id as usize * row_bytes;
                    decode_run(*dtype, &map[start..start + row_bytes], o);
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

/// The stored element types lseg reads.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stored {
    F32,
    F16,
    BF16,
}

impl Stored {
    fn size(self) -> usize {
        match self {
            Stored::F32 => 4,
            Stored::F16 | Stored::BF16 => 2,
        }
    }
}

/// Decode a run of stored values into `out` (`bytes.len() == out.len() * size`).
fn decode_run<E: HostElem>(dtype: Stored, bytes: &[u8], out: &mut [E]) {
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
fn decode<E: HostElem>(dtype: Stored, bytes: &[u8]) -> Vec<E> {
    use rayon::prelude::*;
    const CHUNK: usize = 1 << 16;
    let mut out = vec![E::default(); bytes.len() / dtype.size()];
    out.par_chunks_mut(CHUNK)
        .zip(bytes.par_chunks(CHUNK * dtype.size()))
        .for_each(|(o, b)| decode_run(dtype, b, o));
    out
}

/// Decode a stored row-major `[rows, cols]` matrix as `[cols, rows]`.
fn transpose_decode<E: HostElem>(dtype: Stored, bytes: &[u8], rows: usize, cols: usize) -> Vec<E> {
    let size = dtype.size();
    transpose_with(rows, cols, |at, out: &mut [E]| {
        decode_run(dtype, &bytes[at * size..(at + out.len()) * size], out)
    })
}

/// The transpose `[cols, rows]` of a row-major `[rows, cols]` matrix whose runs of elements
/// `read(at, out)` fills. It goes through small tiles so that neither side is walked with a
/// power-of-two stride (which thrashes the caches: a naive loop took 2.3 s for ViT-L/16's
/// weights, this takes 0.3 s), one block of output rows per rayon task.
fn transpose_with<E: HostElem>(
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

/// Deterministic values of a plausible scale for a key (seeded by the key name): BatchNorm
/// statistics and norm gains near their usual values, other tensors `U(+-1/sqrt(fan_in))`.
pub(crate) fn random_values(key: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let mut state = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x1000_0000_01b3)
    }) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let last = key.rsplit('.').next().unwrap_or("");
    let is_norm = key.contains("norm") || key.contains(".ln_") || key.contains(".bn");
    let (center, half) = match last {
        "running_var" => (1.0, 0.5),
        "running_mean" => (0.0, 0.1),
        "weight" if is_norm => (1.0, 0.1),
        "bias" => (0.0, 0.02),
        _ => {
            let fan_in: usize = if shape.len() > 1 {
                shape[1..].iter().product()
            } else {
                1
            };
            (0.0, 1.0 / (fan_in.max(1) as f32).sqrt())
        }
    };
    (0..n).map(|_| center + half * next()).collect()
}

/// A safetensors image of the model of `cfg` with the pseudo-random weights of
/// [`crate::Lseg::random`], stored as `dtype`, with the config in the metadata (benchmarks of
/// load time and memory; nothing is downloaded).
pub fn random_safetensors(cfg: &LsegConfig, dtype: crate::Precision) -> Result<Vec<u8>> {
    let specs = crate::Lseg::tensor_specs(cfg)?;
    let (st_dtype, bytes): (StDtype, Vec<Vec<u8>>) = {
        let conv = |v: Vec<f32>| -> Vec<u8> {
            match dtype {
                crate::Precision::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                crate::Precision::F16 => v
                    .iter()
                    .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                    .collect(),
                crate::Precision::BF16 => v
                    .iter()
                    .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
                    .collect(),
            }
        };
        let d = match dtype {
            crate::Precision::F32 => StDtype::F32,
            crate::Precision::F16 => StDtype::F16,
            crate::Precision::BF16 => StDtype::BF16,
        };
        (
            d,
            specs
                .iter()
                .map(|(k, s)| conv(random_values(k, s)))
                .collect(),
        )
    };
    let views = specs
        .iter()
        .zip(&bytes)
        .map(|((k, s), b)| {
            safetensors::tensor::TensorView::new(st_dtype, s.clone(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| Error::InvalidWeights(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = std::collections::HashMap::from([(CONFIG_METADATA_KEY.to_string(), cfg.to_json())]);
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::InvalidWeights(e.to_string()))
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
