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
pub mod capi;
pub mod config;
mod dpt;
pub mod error;
pub mod eval;
pub mod head;
pub mod labels;
mod model;
mod nn;
#[cfg(feature = "tch")]
mod tch_support;
pub mod text;
pub mod tokenizer;
pub mod vit;
pub mod weights;

pub use backend::{Backend, Precision, set_num_threads};
pub use config::{Activation, HeadBlock, LsegConfig, Readout, TextConfig, VitConfig};
pub use dpt::{Decoder, DecoderTaps};
pub use error::{Error, Result};
pub use eval::{
    EmbedNorm, EmbedOptions, EmbedResolution, ImageView, Mode, MultiScale, PixelFormat,
    Segmentation,
};
pub use model::{LabelSet, LoadOptions, Lseg, Taps};
pub use tokenizer::ClipTokenizer;

/// burn, re-exported so callers use the same tensor types.
pub use burn;
