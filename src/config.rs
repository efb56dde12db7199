//! Model configuration: one serde type per part, presets for the official models, and
//! inference from the tensor shapes of a weights file.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The ViT image encoder (timm `VisionTransformer` naming).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VitConfig {
    /// Patch size in pixels: 16 (ViT-L/16 path) or 32 (ViT-B/32 path).
    pub patch_size: usize,
    /// Token width D.
    pub embed_dim: usize,
    /// Number of transformer blocks stored in the weights.
    pub depth: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// Hidden width of the MLP.
    pub mlp_dim: usize,
    /// Side of the square position-embedding grid the weights were trained with (24 for 384 px / 16).
    pub pos_grid: usize,
    /// LayerNorm epsilon (timm: 1e-6).
    pub layer_norm_eps: f64,
}

/// The CLIP text transformer (OpenAI naming).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextConfig {
    /// Transformer width.
    pub width: usize,
    /// Attention heads.
    pub heads: usize,
    /// Transformer blocks.
    pub layers: usize,
    /// Context length (77).
    pub context_length: usize,
    /// Vocabulary size (49408).
    pub vocab_size: usize,
    /// Output embedding dimension (512).
    pub embed_dim: usize,
    /// LayerNorm epsilon (CLIP: 1e-5).
    pub layer_norm_eps: f64,
}

/// How the DPT reassemble stage uses the ViT class token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// Drop the class token.
    Ignore,
    /// Add the class token to every patch token.
    Add,
    /// Concatenate the class token and project back with `Linear(2D, D)` + GELU (official).
    Project,
}

/// The spatial-regularisation blocks after the label product (`arch_option`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HeadBlock {
    /// `arch_option` 0: none.
    None,
    /// `arch_option` 1: `bottleneck_block` (shared 3x3 conv plus the max over labels).
    Bottleneck,
    /// `arch_option` 2: `depthwise_block` (shared 3x3 conv).
    Depthwise,
}

/// Activation of the head blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// ReLU.
    Relu,
    /// LeakyReLU, slope 0.01.
    Lrelu,
    /// tanh.
    Tanh,
}

/// Full LSeg configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LsegConfig {
    /// Image encoder.
    pub vit: VitConfig,
    /// Indices of the ViT blocks whose outputs feed the decoder.
    pub hooks: [usize; 4],
    /// Readout handling.
    pub readout: Readout,
    /// Channels of the four reassembled feature maps.
    pub reassemble: [usize; 4],
    /// Decoder width (`features`, 256 in the official models).
    pub features: usize,
    /// Pixel-embedding dimension (`out_c`, 512).
    pub out_dim: usize,
    /// Text encoder.
    pub text: TextConfig,
    /// Spatial-regularisation blocks.
    pub head_block: HeadBlock,
    /// Number of head-block applications (ignored for [`HeadBlock::None`]).
    pub block_depth: usize,
    /// Activation between head-block applications.
    pub activation: Activation,
}

impl TextConfig {
    /// CLIP ViT-B/32 text tower, used by both official LSeg models.
    pub fn clip_b32() -> Self {
        Self {
            width: 512,
            heads: 8,
            layers: 12,
            context_length: 77,
            vocab_size: 49408,
            embed_dim: 512,
            layer_norm_eps: 1e-5,
        }
    }
}

impl LsegConfig {
    /// The official demo model `clip_vitl16_384` (ViT-L/16, hooks 5/11/17/23).
    pub fn vitl16() -> Self {
        Self {
            vit: VitConfig {
                patch_size: 16,
                embed_dim: 1024,
                depth: 24,
                num_heads: 16,
                mlp_dim: 4096,
                pos_grid: 24,
                layer_norm_eps: 1e-6,
            },
            hooks: [5, 11, 17, 23],
            readout: Readout::Project,
            reassemble: [256, 512, 1024, 1024],
            features: 256,
            out_dim: 512,
            text: TextConfig::clip_b32(),
            head_block: HeadBlock::None,
            block_depth: 0,
            activation: Activation::Lrelu,
        }
    }

    /// The official `clip_vitb32_384` model (ViT-B/32, hooks 2/5/8/11).
    pub fn vitb32() -> Self {
        Self {
            vit: VitConfig {
                patch_size: 32,
                embed_dim: 768,
                depth: 12,
                num_heads: 12,
                mlp_dim: 3072,
                pos_grid: 12,
                layer_norm_eps: 1e-6,
            },
            hooks: [2, 5, 8, 11],
            readout: Readout::Project,
            reassemble: [96, 192, 384, 768],
            features: 256,
            out_dim: 512,
            text: TextConfig::clip_b32(),
            head_block: HeadBlock::None,
            block_depth: 0,
            activation: Activation::Lrelu,
        }
    }

    /// A preset by name: `vitl16` or `vitb32`.
    pub fn preset(name: &str) -> Result<Self> {
        match name {
            "vitl16" | "clip_vitl16_384" => Ok(Self::vitl16()),
            "vitb32" | "clip_vitb32_384" => Ok(Self::vitb32()),
            other => Err(Error::Config(format!(
                "unknown preset `{other}` (expected vitl16 or vitb32)"
            ))),
        }
    }

    /// Parse a configuration from JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        let cfg: Self = serde_json::from_str(json).map_err(|e| Error::Config(e.to_string()))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Serialise to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("config serialises")
    }

    /// Check internal consistency.
    pub fn validate(&self) -> Result<()> {
        let v = &self.vit;
        let bad = |m: String| Err(Error::Config(m));
        if v.patch_size != 16 && v.patch_size != 32 {
            return bad(format!(
                "vit.patch_size must be 16 or 32, got {}",
                v.patch_size
            ));
        }
        if v.num_heads == 0 || !v.embed_dim.is_multiple_of(v.num_heads) {
            return bad(format!(
                "vit.embed_dim {} is not divisible by vit.num_heads {}",
                v.embed_dim, v.num_heads
            ));
        }
        if self.text.heads == 0 || !self.text.width.is_multiple_of(self.text.heads) {
            return bad(format!(
                "text.width {} is not divisible by text.heads {}",
                self.text.width, self.text.heads
            ));
        }
        if self.hooks.iter().any(|&h| h >= v.depth) || !self.hooks.windows(2).all(|w| w[0] < w[1]) {
            return bad(format!(
                "hooks {:?} must be increasing and below vit.depth {}",
                self.hooks, v.depth
            ));
        }
        if self.head_block != HeadBlock::None && self.block_depth == 0 {
            return bad("block_depth must be at least 1 when head_block is set".into());
        }
        if self.text.context_length < 2 || self.text.vocab_size < 49408 {
            return bad("text.context_length must be >= 2 and text.vocab_size >= 49408".into());
        }
        Ok(())
    }
}
