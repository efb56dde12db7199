//! The configuration of a weights file: the JSON stored by `lseg convert`, or inferred from
//! the tensor shapes of the official keys.

use std::collections::BTreeMap;

use super::{CONFIG_METADATA_KEY, Weights};
use crate::config::{Activation, HeadBlock, LsegConfig, Readout, TextConfig, VitConfig};
use crate::error::{Error, Result};

impl Weights<'_> {
    /// Infer the configuration: the JSON stored by `lseg convert` if present, else from the
    /// tensor shapes ([`infer_config_from_shapes`]).
    pub fn infer_config(&self) -> Result<LsegConfig> {
        if let Some(json) = self.metadata().get(CONFIG_METADATA_KEY) {
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
