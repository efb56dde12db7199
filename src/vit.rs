//! The timm ViT image encoder (`pretrained.model.*`) with per-input position-embedding resize.

use burn::tensor::Tensor;
use burn::tensor::activation::gelu;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use crate::config::VitConfig;
use crate::error::Result;
use crate::nn::{Conv2d, ConvSpec, LayerNorm, Linear, SelfAttention};
use crate::weights::Loader;

#[derive(Debug, Clone)]
struct Block {
    norm1: LayerNorm,
    attn: SelfAttention,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
}

impl Block {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.norm1.forward(x));
        let h = gelu(self.fc1.forward(self.norm2.forward(x.clone())));
        x + self.fc2.forward(h)
    }
}

/// ViT backbone. Only the blocks up to the last hook are loaded and run; the final norm
/// (whose result the official code discards) is never computed.
#[derive(Debug, Clone)]
pub struct Vit {
    cfg: VitConfig,
    patch_embed: Conv2d,
    cls_token: Tensor<3>,
    /// Grid part of the position embedding as `[1, D, g, g]`.
    pos_grid: Tensor<4>,
    /// Class-token position embedding `[1, 1, D]`.
    pos_cls: Tensor<3>,
    /// The blocks up to each hook: stage `k` ends with block `hooks[k]`.
    stages: [Vec<Block>; 4],
}

impl Vit {
    /// `pretrained.model.*` under `l`: the blocks up to the last hook.
    pub(crate) fn load(l: &Loader, cfg: &VitConfig, hooks: [usize; 4]) -> Result<Self> {
        let d = cfg.embed_dim;
        let p = cfg.patch_size;
        let g = cfg.pos_grid;
        let eps = cfg.layer_norm_eps;
        let model = l.pp("pretrained").pp("model");
        let blocks = (0..=hooks[3])
            .map(|i| {
                let block = model.pp("blocks").pp(i);
                let attn = block.pp("attn");
                let mlp = block.pp("mlp");
                Ok(Block {
                    norm1: LayerNorm::load(&block.pp("norm1"), d, eps)?,
                    attn: SelfAttention::new(
                        Linear::load(&attn.pp("qkv"), d, 3 * d, true)?,
                        Linear::load(&attn.pp("proj"), d, d, true)?,
                        cfg.num_heads,
                        false,
                    ),
                    norm2: LayerNorm::load(&block.pp("norm2"), d, eps)?,
                    fc1: Linear::load(&mlp.pp("fc1"), d, cfg.mlp_dim, true)?,
                    fc2: Linear::load(&mlp.pp("fc2"), cfg.mlp_dim, d, true)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut blocks = blocks.into_iter();
        let mut next = 0;
        let stages = hooks.map(|hook| {
            let stage = blocks.by_ref().take(hook + 1 - next).collect();
            next = hook + 1;
            stage
        });
        let pos = model.tensor("pos_embed", [1, 1 + g * g, d])?;
        Ok(Self {
            cfg: cfg.clone(),
            patch_embed: Conv2d::load(
                &model.pp("patch_embed").pp("proj"),
                ConvSpec::new(3, d, p, p, 0),
                true,
            )?,
            cls_token: model.tensor("cls_token", [1, 1, d])?,
            pos_cls: pos.clone().narrow(1, 0, 1),
            pos_grid: pos
                .narrow(1, 1, g * g)
                .reshape([1, g, g, d])
                .permute([0, 3, 1, 2]),
            stages,
        })
    }

    /// Position embedding for a `gh x gw` grid: bilinear, align_corners=False, as
    /// `_resize_pos_embed` does on every call. Returns `[1, 1 + gh*gw, D]`.
    fn pos_embed(&self, gh: usize, gw: usize) -> Tensor<3> {
        let d = self.cfg.embed_dim;
        let g = self.cfg.pos_grid;
        let grid = if (gh, gw) == (g, g) {
            self.pos_grid.clone()
        } else {
            interpolate(
                self.pos_grid.clone(),
                InterpolateOptions::new(InterpolateMode::Bilinear)
                    .with_align_corners(false)
                    .with_output_size([gh, gw]),
            )
        };
        let grid = grid.reshape([1, d, gh * gw]).swap_dims(1, 2);
        Tensor::cat(vec![self.pos_cls.clone(), grid], 1)
    }

    /// Run the backbone on a normalised `[B, 3, H, W]` image; returns the token sequences
    /// `[B, 1 + gh*gw, D]` at the four hooks and the grid size.
    pub fn forward(&self, x: Tensor<4>) -> ([Tensor<3>; 4], [usize; 2]) {
        let [b, _, h, w] = x.dims();
        let p = self.cfg.patch_size;
        let (gh, gw) = (h / p, w / p);
        let d = self.cfg.embed_dim;
        let x = self
            .patch_embed
            .forward(x)
            .reshape([b, d, gh * gw])
            .swap_dims(1, 2);
        let cls = self.cls_token.clone().expand([b, 1, d]);
        let x = Tensor::cat(vec![cls, x], 1) + self.pos_embed(gh, gw);
        let run = |x: Tensor<3>, stage: &[Block]| stage.iter().fold(x, |x, blk| blk.forward(x));
        let [s1, s2, s3, s4] = &self.stages;
        let h1 = run(x, s1);
        let h2 = run(h1.clone(), s2);
        let h3 = run(h2.clone(), s3);
        let h4 = run(h3.clone(), s4);
        ([h1, h2, h3, h4], [gh, gw])
    }
}
