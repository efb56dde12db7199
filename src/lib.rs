//! # lseg
//!
//! Native LSeg (Language-driven Semantic Segmentation, Li et al., ICLR 2022): a frozen CLIP
//! text transformer embeds free-form labels, a DPT/ViT image encoder embeds every pixel, and
//! their cosine similarity (times 1/0.07) gives per-label logits. The label set can change on
//! every call.
//!
//! ```no_run
//! use lseg::{Lseg, LoadOptions};
//! let model = Lseg::load("lseg_vitl16.safetensors", &LoadOptions::default())?;
//! let labels = model.encode_labels(&["dog", "grass", "other"])?;
//! # Ok::<(), lseg::Error>(())
//! ```
//!
//! One model code runs on every backend compiled in (cargo features `flex`, `ndarray`,
//! `tch`); the backend is picked at run time with [`Backend`].
#![deny(missing_docs)]

pub mod backend;
pub mod config;
mod dpt;
pub mod embed;
pub mod error;
pub mod head;
pub mod image;
pub mod labels;
pub mod limits;
pub mod metrics;
mod model;
mod nn;
pub mod palette;
pub mod protocol;
pub mod segmentation;
#[cfg(feature = "tch")]
mod tch_support;
pub mod testing;
pub mod text;
pub mod tokenizer;
#[cfg(feature = "train")]
pub mod train;
pub mod vit;
pub mod weights;

pub use backend::{Backend, Precision, set_num_threads};
pub use config::{Activation, HeadBlock, LsegConfig, Readout, TextConfig, VitConfig};
pub use dpt::{Decoder, DecoderTaps};
pub use embed::{EmbedLayout, EmbedNorm, EmbedOptions, EmbedResolution, PixelEmbeddings};
pub use error::{Error, Result};
pub use image::{ImageView, MAX_IMAGE_SIDE, PixelFormat};
pub use model::{LabelSet, LoadOptions, Lseg, Taps};
pub use protocol::{Mode, MultiScale, Progress};
pub use segmentation::{Segmentation, percent_shares};
pub use tokenizer::ClipTokenizer;

/// burn, re-exported so callers use the same tensor types.
pub use burn;
