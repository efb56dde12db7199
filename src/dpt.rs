//! DPT decoder: readout, reassemble (`pretrained.act_postprocess*`), `scratch.layerN_rn`
//! and the four RefineNet fusion blocks with eval-mode BatchNorm (folded into the convs).

use burn::tensor::Tensor;
use burn::tensor::activation::{gelu, relu};

use crate::config::{LsegConfig, Readout};
use crate::error::Result;
use crate::nn::{Conv1x1, Conv2d, ConvSpec, ConvTranspose2d, Linear, upsample2};
use crate::weights::Loader;

#[derive(Debug, Clone)]
enum Resample {
    Identity,
    Up(Box<ConvTranspose2d>),
    Down(Box<Conv2d>),
}

/// How a reassemble stage uses the class token ([`Readout`]).
#[derive(Debug, Clone)]
enum ReadoutOp {
    /// Drop it.
    Ignore,
    /// Add it to every patch token.
    Add,
    /// Concatenate it to every patch token and project back: `Linear(2D, D)` + GELU
    /// (`act_postprocessN.0.project.0`).
    Project(Box<Linear>),
}

/// `pretrained.act_postprocessN`: readout, 1x1 conv to the stage's width, resampling.
#[derive(Debug, Clone)]
struct Reassemble {
    readout: ReadoutOp,
    conv: Conv2d,
    resample: Resample,
}

#[derive(Debug, Clone)]
struct ResidualUnit {
    conv1: Conv2d,
    conv2: Conv2d,
}

impl ResidualUnit {
    fn load(l: &Loader, f: usize) -> Result<Self> {
        let s = ConvSpec::new(f, f, 3, 1, 1);
        Ok(Self {
            conv1: Conv2d::load_with_bn(&l.pp("conv1"), &l.pp("bn1"), s)?,
            conv2: Conv2d::load_with_bn(&l.pp("conv2"), &l.pp("bn2"), s)?,
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = self.conv1.forward(relu(x.clone()));
        let out = self.conv2.forward(relu(out));
        out + x
    }
}

/// What every RefineNet fusion block ends with: `resConfUnit2`, the 1x1 `out_conv` and the
/// x2 upsampling. All of `scratch.refinenet4`, which receives one input (its `resConfUnit1`
/// is never called, so never loaded).
#[derive(Debug, Clone)]
struct FusionTail {
    unit2: ResidualUnit,
    out_conv: Conv1x1,
}

impl FusionTail {
    fn load(l: &Loader, f: usize) -> Result<Self> {
        Ok(Self {
            unit2: ResidualUnit::load(&l.pp("resConfUnit2"), f)?,
            out_conv: Conv1x1::load(&l.pp("out_conv"), f, f, true)?,
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        // `out_conv` is 1x1 and bilinear weights sum to one, so the two commute: running the
        // conv before the x2 upsampling does a quarter of its work (the official order is
        // upsample, then conv; the results agree to float rounding).
        upsample2(self.out_conv.forward(self.unit2.forward(x)))
    }
}

/// `scratch.refinenet1..3`: the previous path plus `resConfUnit1` of the skip map, then the
/// [`FusionTail`].
#[derive(Debug, Clone)]
struct Fusion {
    unit1: ResidualUnit,
    tail: FusionTail,
}

impl Fusion {
    fn load(l: &Loader, f: usize) -> Result<Self> {
        Ok(Self {
            unit1: ResidualUnit::load(&l.pp("resConfUnit1"), f)?,
            tail: FusionTail::load(l, f)?,
        })
    }

    fn forward(&self, prev: Tensor<4>, skip: Tensor<4>) -> Tensor<4> {
        self.tail.forward(prev + self.unit1.forward(skip))
    }
}

/// Reassemble + fusion decoder; produces `path_1` `[B, features, H/2, W/2]`.
#[derive(Debug, Clone)]
pub struct Decoder {
    reassemble: Vec<Reassemble>,
    layer_rn: Vec<Conv2d>,
    /// refinenet1..3.
    fusion: Vec<Fusion>,
    /// refinenet4.
    deepest: FusionTail,
}

/// Intermediate decoder tensors, for parity tests and feature extraction.
#[derive(Debug, Clone)]
pub struct DecoderTaps {
    /// Reassembled maps (inputs of `scratch.layerN_rn`).
    pub layers: [Tensor<4>; 4],
    /// Output of `scratch.refinenet1`.
    pub path_1: Tensor<4>,
}

impl Decoder {
    /// `pretrained.act_postprocess*` and `scratch.*` (but the head) under `l`.
    pub(crate) fn load(l: &Loader, cfg: &LsegConfig) -> Result<Self> {
        let d = cfg.vit.embed_dim;
        let p32 = cfg.vit.patch_size == 32;
        let pretrained = l.pp("pretrained");
        let mut reassemble = Vec::new();
        for i in 0..4 {
            let post = pretrained.pp(format!("act_postprocess{}", i + 1));
            let f = cfg.reassemble[i];
            let readout = match cfg.readout {
                Readout::Ignore => ReadoutOp::Ignore,
                Readout::Add => ReadoutOp::Add,
                Readout::Project => ReadoutOp::Project(Box::new(Linear::load(
                    &post.pp(0).pp("project").pp(0),
                    2 * d,
                    d,
                    true,
                )?)),
            };
            let conv = Conv2d::load(&post.pp(3), ConvSpec::new(d, f, 1, 1, 0), true)?;
            let up = |k: usize| -> Result<Resample> {
                Ok(Resample::Up(Box::new(ConvTranspose2d::load(
                    &post.pp(4),
                    f,
                    k,
                )?)))
            };
            let resample = match (p32, i) {
                (false, 0) => up(4)?,
                (false, 1) => up(2)?,
                (false, 2) => Resample::Identity,
                (false, _) => Resample::Down(Box::new(Conv2d::load(
                    &post.pp(4),
                    ConvSpec::new(f, f, 3, 2, 1),
                    true,
                )?)),
                (true, 0) => up(8)?,
                (true, 1) => up(4)?,
                (true, 2) => up(2)?,
                (true, _) => Resample::Identity,
            };
            reassemble.push(Reassemble {
                readout,
                conv,
                resample,
            });
        }
        let fs = cfg.features;
        let scratch = l.pp("scratch");
        let layer_rn = (0..4)
            .map(|i| {
                Conv2d::load(
                    &scratch.pp(format!("layer{}_rn", i + 1)),
                    ConvSpec::new(cfg.reassemble[i], fs, 3, 1, 1),
                    false,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let fusion = (1..=3)
            .map(|i| Fusion::load(&scratch.pp(format!("refinenet{i}")), fs))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            reassemble,
            layer_rn,
            fusion,
            deepest: FusionTail::load(&scratch.pp("refinenet4"), fs)?,
        })
    }

    fn reassemble(&self, i: usize, tokens: Tensor<3>, grid: [usize; 2]) -> Tensor<4> {
        let [b, n, d] = tokens.dims();
        let r = &self.reassemble[i];
        let patches = tokens.clone().narrow(1, 1, n - 1);
        let x = match &r.readout {
            ReadoutOp::Ignore => patches,
            ReadoutOp::Add => patches + tokens.narrow(1, 0, 1),
            ReadoutOp::Project(project) => {
                let cls = tokens.narrow(1, 0, 1).expand([b, n - 1, d]);
                let cat = Tensor::cat(vec![patches, cls], 2);
                gelu(project.forward(cat))
            }
        };
        let x = x.swap_dims(1, 2).reshape([b, d, grid[0], grid[1]]);
        let x = r.conv.forward(x);
        match &r.resample {
            Resample::Identity => x,
            Resample::Up(c) => c.forward(x),
            Resample::Down(c) => c.forward(x),
        }
    }

    /// Decode the four hook outputs.
    pub fn forward(&self, hooks: [Tensor<3>; 4], grid: [usize; 2]) -> DecoderTaps {
        let [h1, h2, h3, h4] = hooks;
        let layers = [
            self.reassemble(0, h1, grid),
            self.reassemble(1, h2, grid),
            self.reassemble(2, h3, grid),
            self.reassemble(3, h4, grid),
        ];
        let rn: Vec<Tensor<4>> = layers
            .iter()
            .zip(&self.layer_rn)
            .map(|(x, c)| c.forward(x.clone()))
            .collect();
        let p4 = self.deepest.forward(rn[3].clone());
        let p3 = self.fusion[2].forward(p4, rn[2].clone());
        let p2 = self.fusion[1].forward(p3, rn[1].clone());
        let path_1 = self.fusion[0].forward(p2, rn[0].clone());
        DecoderTaps { layers, path_1 }
    }
}
