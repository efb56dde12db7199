//! Arguments shared by the commands that run the model (`segment`, `eval`): the model to load
//! and the evaluation protocol, parsed and checked in one place.

use std::path::PathBuf;
use std::str::FromStr;

use clap::ValueEnum;
use lseg::{Backend, LoadOptions, Lseg, Mode, MultiScale, Precision};

use crate::{Failure, parse_config};

/// The model: weights, backend, precision.
#[derive(Debug, clap::Args)]
pub struct ModelArgs {
    /// Weights (`.safetensors`, e.g. made by `lseg convert`).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub weights: PathBuf,
    /// Compute backend. Default: flex (pure Rust), else the first one compiled in.
    #[arg(
        long,
        visible_alias = "device",
        value_name = "flex|ndarray|tch|cuda|cuda:N"
    )]
    pub backend: Option<Backend>,
    /// Compute precision (ndarray: f32 only).
    #[arg(long, default_value = "f32", value_name = "f32|f16|bf16")]
    pub dtype: Precision,
    /// Model configuration for weights that neither store one nor allow inferring it: a
    /// preset (`vitl16`, `vitb32`) or a JSON file.
    #[arg(long, value_name = "PRESET|FILE")]
    pub config: Option<String>,
    /// CPU threads.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl ModelArgs {
    /// Set the thread count and load the weights.
    pub fn load(&self) -> Result<Lseg, Failure> {
        if let Some(n) = self.threads {
            lseg::set_num_threads(n.max(1));
        }
        let config = self.config.as_deref().map(parse_config).transpose()?;
        Ok(Lseg::load(
            &self.weights,
            &LoadOptions {
                backend: self.backend,
                precision: self.dtype,
                config,
            },
        )?)
    }
}

/// The evaluation protocol.
#[derive(Debug, clap::Args)]
pub struct ProtocolArgs {
    /// Evaluation protocol: one pass at `--size`, or the official multi-scale protocol.
    #[arg(long, value_enum, default_value_t = ModeArg::Single)]
    pub mode: ModeArg,
    /// Single mode: long side the image is resized to, or `native` for the input size
    /// (padded to a multiple of 32 where it is not one). Also the size of `--embeddings`.
    #[arg(long, default_value = "480", value_name = "N|native")]
    pub size: Size,
    /// Multi-scale mode: long side at scale 1.0.
    #[arg(long, default_value_t = 520, value_name = "N")]
    pub base_size: usize,
    /// Multi-scale mode: sliding-window size (a multiple of 32).
    #[arg(long, default_value_t = 480, value_name = "N")]
    pub crop_size: usize,
    /// Multi-scale mode: scales.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.5,0.75,1.0,1.25,1.5,1.75",
        value_name = "S,S,..."
    )]
    pub scales: Vec<f64>,
    /// Multi-scale mode: leave out the horizontally flipped pass.
    #[arg(long)]
    pub no_flip: bool,
}

impl ProtocolArgs {
    /// The library's protocol, validated by the library.
    pub fn mode(&self) -> Result<Mode, Failure> {
        Ok(match self.mode {
            ModeArg::Single => {
                let size = self.size.get();
                lseg::protocol::check_size(size).map_err(|e| Failure(format!("--size: {e}")))?;
                Mode::Single { size }
            }
            ModeArg::Multiscale => {
                let ms = MultiScale {
                    base_size: self.base_size,
                    crop_size: self.crop_size,
                    scales: self.scales.clone(),
                    flip: !self.no_flip,
                };
                ms.validate()
                    .map_err(|e| Failure(format!("--base-size/--crop-size/--scales: {e}")))?;
                Mode::MultiScale(ms)
            }
        })
    }
}

/// Evaluation protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One pass with the long side resized to `--size`.
    Single,
    /// The official multi-scale, flip and sliding-window protocol.
    Multiscale,
}

/// `--size`: pixels or `native`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// Keep the input size.
    Native,
    /// Long side in pixels.
    Pixels(usize),
}

impl FromStr for Size {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "native" {
            return Ok(Self::Native);
        }
        match s.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Self::Pixels(n)),
            _ => Err(format!(
                "expected a positive number of pixels or `native`, got `{s}`"
            )),
        }
    }
}

impl Size {
    /// The size, `None` for `native`.
    pub fn get(self) -> Option<usize> {
        match self {
            Self::Native => None,
            Self::Pixels(n) => Some(n),
        }
    }
}
