//! CLIP text transformer (OpenAI naming: `clip_pretrained.*`).
//!
//! Only the positions up to the longest label's EOT token are computed: with the causal mask,
//! positions after EOT cannot influence it, so the result equals the official 77-position run.

use burn::tensor::activation::sigmoid;
use burn::tensor::{DType, Int, Tensor, TensorData};

use crate::config::TextConfig;
use crate::error::{Error, Result};
use crate::nn::{LayerNorm, Linear, SelfAttention, like};
use crate::weights::{HostTable, Loader};

#[derive(Debug, Clone)]
struct ResBlock {
    ln_1: LayerNorm,
    attn: SelfAttention,
    ln_2: LayerNorm,
    c_fc: Linear,
    c_proj: Linear,
}

impl ResBlock {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = x.clone() + self.attn.forward(self.ln_1.forward(x));
        let h = self.c_fc.forward(self.ln_2.forward(x.clone()));
        // QuickGELU.
        let h = h.clone() * sigmoid(h * 1.702);
        x + self.c_proj.forward(h)
    }
}

/// The CLIP text tower.
#[derive(Debug, Clone)]
pub struct TextEncoder {
    cfg: TextConfig,
    /// Kept on the host (memory-mapped when loaded from a file): a call reads a few rows.
    token_embedding: HostTable,
    positional_embedding: Tensor<2>,
    blocks: Vec<ResBlock>,
    ln_final: LayerNorm,
    text_projection: Tensor<2>,
}

impl TextEncoder {
    /// `clip_pretrained.*` under `l`.
    pub(crate) fn load(l: &Loader, cfg: &TextConfig) -> Result<Self> {
        let w = cfg.width;
        let eps = cfg.layer_norm_eps;
        let clip = l.pp("clip_pretrained");
        let resblocks = clip.pp("transformer").pp("resblocks");
        let blocks = (0..cfg.layers)
            .map(|i| {
                let block = resblocks.pp(i);
                let attn = block.pp("attn");
                let mlp = block.pp("mlp");
                Ok(ResBlock {
                    ln_1: LayerNorm::load(&block.pp("ln_1"), w, eps)?,
                    attn: SelfAttention::new(
                        Linear::load_named(&attn, "in_proj_weight", "in_proj_bias", w, 3 * w)?,
                        Linear::load(&attn.pp("out_proj"), w, w, true)?,
                        cfg.heads,
                        true,
                    ),
                    ln_2: LayerNorm::load(&block.pp("ln_2"), w, eps)?,
                    c_fc: Linear::load(&mlp.pp("c_fc"), w, 4 * w, true)?,
                    c_proj: Linear::load(&mlp.pp("c_proj"), 4 * w, w, true)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            cfg: cfg.clone(),
            token_embedding: clip
                .pp("token_embedding")
                .table("weight", [cfg.vocab_size, w])?,
            positional_embedding: clip.tensor("positional_embedding", [cfg.context_length, w])?,
            blocks,
            ln_final: LayerNorm::load(&clip.pp("ln_final"), w, eps)?,
            text_projection: clip.tensor("text_projection", [w, cfg.embed_dim])?,
        })
    }

    /// Configuration.
    pub fn config(&self) -> &TextConfig {
        &self.cfg
    }

    /// `encode_text` for token rows (each `[SOT, ..., EOT]`, no padding needed; at most
    /// `context_length` ids). Returns the raw (un-normalised) features `[N, embed_dim]`.
    pub fn forward(&self, rows: &[Vec<u32>]) -> Result<Tensor<2>> {
        let device = self.positional_embedding.device();
        if rows.is_empty() {
            return Err(Error::Label("the label list is empty".into()));
        }
        let ctx = self.cfg.context_length;
        let vocab = self.cfg.vocab_size as u32;
        // The feature is read at argmax(ids): the first occurrence of the largest id (EOT).
        let mut eot = Vec::with_capacity(rows.len());
        for (i, r) in rows.iter().enumerate() {
            if r.is_empty() || r.len() > ctx {
                return Err(Error::Label(format!(
                    "label {i} has {} tokens (allowed 1..={ctx})",
                    r.len()
                )));
            }
            if let Some(&bad) = r.iter().find(|&&t| t >= vocab) {
                return Err(Error::Label(format!(
                    "label {i}: token id {bad} out of range"
                )));
            }
            let max = *r.iter().max().expect("non-empty");
            eot.push(r.iter().position(|&t| t == max).expect("max is present"));
        }
        // Rows of equal length run together, each only up to its EOT (exact under the causal
        // mask): the 150 ADE20K labels take ~4 positions each instead of 77.
        let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
        for (i, &p) in eot.iter().enumerate() {
            groups.entry(p + 1).or_default().push(i);
        }
        let mut order = Vec::with_capacity(rows.len());
        let mut parts = Vec::with_capacity(groups.len());
        for (len, idx) in groups {
            let sub: Vec<&Vec<u32>> = idx.iter().map(|&i| &rows[i]).collect();
            parts.push(self.forward_group(&sub, len, &device));
            order.extend(idx);
        }
        let x = Tensor::cat(parts, 0);
        if order.iter().enumerate().all(|(i, &o)| i == o) {
            return Ok(x);
        }
        let mut inverse = vec![0i64; order.len()];
        for (pos, &orig) in order.iter().enumerate() {
            inverse[orig] = pos as i64;
        }
        let n = inverse.len();
        Ok(x.select(
            0,
            Tensor::<1, Int>::from_data(TensorData::new(inverse, [n]), &device),
        ))
    }

    /// Rows whose EOT is at position `len - 1`: run `len` positions, read the last one.
    fn forward_group(
        &self,
        rows: &[&Vec<u32>],
        len: usize,
        device: &burn::tensor::Device,
    ) -> Tensor<2> {
        let n = rows.len();
        let w = self.cfg.width;
        let ids: Vec<u32> = rows.iter().flat_map(|r| r[..len].iter().copied()).collect();
        let tokens = Tensor::<3>::from_data(
            TensorData::new(self.token_embedding.rows(&ids), [n, len, w]),
            (device, DType::F32),
        );
        let pos = self.positional_embedding.clone().narrow(0, 0, len);
        // The tower computes in float32 whatever dtype its weights are stored in.
        let mut x = tokens + pos.cast(DType::F32).unsqueeze::<3>();
        for b in &self.blocks {
            x = b.forward(x);
        }
        let x = x.narrow(1, len - 1, 1).reshape([n, w]);
        let x = self.ln_final.forward(x);
        x.matmul(like(&self.text_projection, DType::F32))
    }
}
