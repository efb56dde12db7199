//! Weight files: memory-mapped safetensors with the official key names, dtype conversion
//! (f32 / f16 / bf16 on disk), shape checks that name the key, and config inference.
//!
//! - `file`: the opened file ([`WeightFile`]), its tensor index ([`Weights`]) and reads.
//! - `decode`: the stored dtypes and their (parallel, optionally transposing) decoding.
//! - `table`: row tables kept on the host (the token embeddings).
//! - `infer`: the configuration from the tensor shapes ([`infer_config_from_shapes`]).
//! - `loader`: the scoped key view the model parts load through.
//! - `store`: tensors in memory by key (a training run's weights).
//!
//! All knowledge of the official key names lives here and in the `load` functions of the
//! model parts, which ask for keys through the loader. Nothing here knows the model.

mod decode;
mod file;
mod infer;
mod loader;
// Used by `lseg::train`; the inference layers only ask whether they load for training.
#[cfg_attr(not(feature = "train"), allow(dead_code))]
mod store;
mod table;

pub use file::{TensorInfo, WeightFile, Weights};
pub use infer::infer_config_from_shapes;
pub(crate) use loader::{Generated, Loader, Source};
#[cfg(feature = "train")]
pub(crate) use store::Stored;
#[cfg_attr(not(feature = "train"), allow(unused_imports))]
pub(crate) use store::TensorStore;
pub(crate) use store::Updates;
pub(crate) use table::HostTable;

/// Largest weights file (or buffer) accepted: 8 GiB (the official ViT-L/16 model is 1.6 GB
/// in f32).
pub const MAX_WEIGHTS_BYTES: u64 = 8 << 30;

/// Prefix the official Lightning checkpoint puts in front of every key.
pub const LIGHTNING_PREFIX: &str = "net.";
/// Safetensors metadata key under which `lseg convert` stores the JSON config.
pub const CONFIG_METADATA_KEY: &str = "lseg_config";

/// Key prefixes that LSeg never uses and that loading skips.
pub const SKIPPED_PREFIXES: [&str; 2] = ["clip_pretrained.visual.", "pretrained.model.head."];
