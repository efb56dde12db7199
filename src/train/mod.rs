//! Fine-tuning the image encoder as the paper does (cargo feature `train`): the text tower
//! frozen (labels encoded once), the ViT and DPT decoder trained with pixel-wise
//! cross-entropy over the logits (cosine similarity / 0.07), BatchNorm in training mode, SGD
//! (the official recipe) or AdamW, the decoder at 10x the learning rate, poly decay. The
//! model is the inference code, rebuilt from the weights in memory on every step and
//! differentiated by burn's autodiff.
//!
//! ```no_run
//! use lseg::LoadOptions;
//! use lseg::train::{Batch, TrainOptions, Trainer};
//! let opts = TrainOptions::official(2, 10, 100);
//! let labels = ["dog", "grass", "other"];
//! let mut t = Trainer::new("lseg_vitb32.safetensors", &labels, opts, &LoadOptions::default())?;
//! let batch = Batch::new(vec![0.0; 2 * 3 * 64 * 64], vec![0; 2 * 64 * 64], [2, 64, 64])?;
//! let stats = t.step(&[batch])?;
//! t.save("step1.safetensors", "step1.state.safetensors")?;
//! # Ok::<(), lseg::Error>(())
//! ```

mod init;
mod loss;
mod optim;
mod trainer;

pub use init::{CLIP_PREFIX, VIT_PREFIX, initial_weights};
pub use optim::{Optimizer, Schedule};
pub use trainer::{Batch, Gradients, StepStats, TrainOptions, Trainer};
