//! LSeg head: `scratch.head1`, the normalised pixel-label product times 1/0.07, the
//! spatial-regularisation blocks (`scratch.head_block`) and the x2 output upsampling.

use burn::tensor::activation::{leaky_relu, relu, tanh};
use burn::tensor::{DType, Tensor};

use crate::config::{Activation, HeadBlock, LsegConfig};
use crate::error::Result;
use crate::nn::{Conv1x1, Conv2d, ConvSpec, upsample2};
use crate::weights::Loader;

/// `exp(ln(1/0.07))` evaluated in float32, exactly as the official `logit_scale`
/// (14.285714149475098, bits 0x41649249).
pub const LOGIT_SCALE: f32 = f32::from_bits(0x4164_9249);

/// Pixels per chunk of the norm and fused-head computations: a chunk's `[512, CHUNK]` f32
/// embeddings (4 MiB) stay in cache from `head1` through the norms to the label product
/// (8192-pixel chunks, 16 MiB, made that stage 2.3x slower on a 2-core AMD EPYC).
const CHUNK: usize = 2048;

/// `(1/0.07) * (text . px) / |px|` over chunks of `CHUNK` pixels, where `px = pixels(chunk)`
/// maps a `[B, C, len]` chunk of `x` to its float32 pixel embeddings `[B, out_dim, len]`.
fn chunked_logits(
    x: Tensor<4>,
    text: Tensor<2>,
    pixels: impl Fn(Tensor<3>) -> Tensor<3>,
) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let hw = h * w;
    let flat = x.reshape([b, c, hw]);
    let text = text.cast(DType::F32).unsqueeze::<3>();
    let n = text.dims()[1];
    let parts: Vec<Tensor<3>> = (0..hw)
        .step_by(CHUNK)
        .map(|s| {
            let px = pixels(flat.clone().narrow(2, s, CHUNK.min(hw - s)));
            let norms = px.clone().square().sum_dim(1).sqrt();
            text.clone().matmul(px) / norms
        })
        .collect();
    (Tensor::cat(parts, 2) * LOGIT_SCALE).reshape([b, n, h, w])
}

/// The spatial-regularisation blocks on the logits (`scratch.head_block`, `arch_option`).
#[derive(Debug, Clone)]
enum LabelBlocks {
    /// `arch_option` 0.
    None,
    /// `depth` applications of one shared 3x3 conv on every label's map (plus the max over
    /// labels for the bottleneck kind), `activation` between them.
    Blocks {
        conv: Box<Conv2d>,
        bottleneck: bool,
        depth: usize,
        activation: Activation,
    },
}

/// The activation between head-block applications.
fn act(activation: Activation, x: Tensor<4>) -> Tensor<4> {
    match activation {
        Activation::Relu => relu(x),
        Activation::Lrelu => leaky_relu(x, 0.01),
        Activation::Tanh => tanh(x),
    }
}

/// Pixel-embedding head and label matching.
#[derive(Debug, Clone)]
pub struct Head {
    head1: Conv1x1,
    blocks: LabelBlocks,
}

impl Head {
    /// `scratch.head1` and `scratch.head_block` under `l`.
    pub(crate) fn load(l: &Loader, cfg: &LsegConfig) -> Result<Self> {
        let scratch = l.pp("scratch");
        let blocks = match cfg.head_block {
            HeadBlock::None => LabelBlocks::None,
            kind => LabelBlocks::Blocks {
                // The label-space blocks run on the float32 logits whatever the compute dtype.
                conv: Box::new(Conv2d::load(
                    &scratch
                        .with_dtype(DType::F32)
                        .pp("head_block")
                        .pp("depthwise")
                        .pp("depthwise"),
                    ConvSpec::new(1, 1, 3, 1, 1),
                    true,
                )?),
                bottleneck: kind == HeadBlock::Bottleneck,
                depth: cfg.block_depth,
                activation: cfg.activation,
            },
        };
        Ok(Self {
            head1: Conv1x1::load(&scratch.pp("head1"), cfg.features, cfg.out_dim, true)?,
            blocks,
        })
    }

    /// `scratch.head1`: raw pixel embeddings `[B, out_dim, H/2, W/2]`.
    pub fn embed(&self, path_1: Tensor<4>) -> Tensor<4> {
        self.head1.forward(path_1)
    }

    /// Logits `[B, N, h, w]` = (1/0.07 * normalise(pixels)) . normalise(text), in float32.
    /// `text` must already be L2-normalised, `[N, out_dim]`. Computed on chunks of pixels, so
    /// no normalised copy of the `[B, 512, h, w]` embeddings is ever materialised.
    pub fn logits(&self, pixels: Tensor<4>, text: Tensor<2>) -> Tensor<4> {
        chunked_logits(pixels, text, |px| px.cast(DType::F32))
    }

    /// `logits(embed(path_1), text)` without ever holding the `[B, 512, h, w]` embeddings:
    /// `scratch.head1` runs on each chunk of pixels too (the same per-pixel arithmetic; the
    /// peak memory of a segment call drops by the size of the embedding map, 118 MB at
    /// 480x480).
    pub fn fused_logits(&self, path_1: Tensor<4>, text: Tensor<2>) -> Tensor<4> {
        chunked_logits(path_1, text, |x| {
            self.head1.forward_flat(x).cast(DType::F32)
        })
    }

    /// Spatial-regularisation blocks then bilinear x2: logits at input resolution.
    pub fn output(&self, logits: Tensor<4>) -> Tensor<4> {
        let mut x = logits;
        if let LabelBlocks::Blocks {
            conv,
            bottleneck,
            depth,
            activation,
        } = &self.blocks
        {
            let [b, n, h, w] = x.dims();
            for i in 0..*depth {
                let max = bottleneck.then(|| x.clone().max_dim(1));
                let mut y = conv
                    .forward(x.reshape([b * n, 1, h, w]))
                    .reshape([b, n, h, w]);
                if let Some(m) = max {
                    y = y + m;
                }
                x = if i + 1 < *depth {
                    act(*activation, y)
                } else {
                    y
                };
            }
        }
        upsample2(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn chunked_logits_equal_one_pass_over_all_pixels() {
        // Two whole chunks and a ragged third, against the product over all pixels at once.
        let device = crate::Backend::default_cpu().unwrap().device().unwrap();
        let (c, h, w, n) = (8, 2, CHUNK + 37, 3);
        let wave = |len: usize, f: f32| (0..len).map(move |i| (i as f32 * f).sin()).collect();
        let x = Tensor::<4>::from_data(
            TensorData::new(wave(c * h * w, 0.37), [1, c, h, w]),
            &device,
        );
        let text = Tensor::<2>::from_data(TensorData::new(wave(n * c, 1.3), [n, c]), &device);
        let got = chunked_logits(x.clone(), text.clone(), |px| px);
        let flat = x.reshape([1, c, h * w]);
        let norms = flat.clone().square().sum_dim(1).sqrt();
        let want = (text.unsqueeze::<3>().matmul(flat) / norms * LOGIT_SCALE).reshape([1, n, h, w]);
        let values = |t: Tensor<4>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let (got, want) = (values(got), values(want));
        assert_eq!(got.len(), n * h * w);
        let err = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err <= 1e-5 * LOGIT_SCALE, "max abs error {err}");
    }
}
