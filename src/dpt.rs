//! DPT decoder: readout, reassemble (`pretrained.act_postprocess*`), `scratch.layerN_rn`
//! and the four RefineNet fusion blocks with eval-mode BatchNorm (folded into the convs).

use burn::tensor::Tensor;
use burn::tensor::activation::{gelu, relu};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use crate::config::{LsegConfig, Readout};
use crate::error::Result;
use crate::nn::{Conv2d, ConvSpec, ConvTranspose2d, Linear};
use crate::weights::Loader;

/// Bilinear x2 with align_corners=True (fusion blocks and the output head).
pub(crate) fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size([2 * h, 2 * w]),
    )
}

#[derive(Debug, Clone)]
enum Resample {
    Identity,
    Up(Box<ConvTranspose2d>),
    Down(Box<Conv2d>),
}

#[derive(Debug, Clone)]
struct Reassemble {
    project: Option<Linear>,
    conv: Conv2d,
    resample: Resample,
}

#[derive(Debug, Clone)]
struct ResidualUnit {
    conv1: Conv2d,
    conv2: Conv2d,
}

impl ResidualUnit {
    fn load(l: &Loader, key: &str, f: usize) -> Result<Self> {
        let s = ConvSpec::new(f, f, 3, 1, 1);
        Ok(Self {
            conv1: Conv2d::load_with_bn(l, &format!("{key}.conv1"), &format!("{key}.bn1"), s)?,
            conv2: Conv2d::load_with_bn(l, &format!("{key}.conv2"), &format!("{key}.bn2"), s)?,
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out = self.conv1.forward(relu(x.clone()));
        let out = self.conv2.forward(relu(out));
        out + x
    }
}

#[derive(Debug, Clone)]
struct Fusion {
    unit1: Option<ResidualUnit>,
    unit2: ResidualUnit,
    out_conv: Conv2d,
}

impl Fusion {
    fn forward(&self, prev: Option<Tensor<4>>, skip: Tensor<4>) -> Tensor<4> {
        let x = match (prev, &self.unit1) {
            (Some(p), Some(u)) => p + u.forward(skip),
            _ => skip,
        };
        // `out_conv` is 1x1 and bilinear weights sum to one, so the two commute: running the
        // conv before the x2 upsampling does a quarter of its work (the official order is
        // upsample, then conv; the results agree to float rounding).
        upsample2(self.out_conv.forward(self.unit2.forward(x)))
    }
}

/// Reassemble + fusion decoder; produces `path_1` `[B, features, H/2, W/2]`.
#[derive(Debug, Clone)]
pub struct Decoder {
    readout: Readout,
    reassemble: Vec<Reassemble>,
    layer_rn: Vec<Conv2d>,
    /// refinenet1..4.
    fusion: Vec<Fusion>,
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
    pub(crate) fn load(l: &Loader, cfg: &LsegConfig) -> Result<Self> {
        let d = cfg.vit.embed_dim;
        let p32 = cfg.vit.patch_size == 32;
        let mut reassemble = Vec::new();
        for i in 0..4 {
            let key = format!("pretrained.act_postprocess{}", i + 1);
            let f = cfg.reassemble[i];
            let project = match cfg.readout {
                Readout::Project => Some(Linear::load(
                    l,
                    &format!("{key}.0.project.0"),
                    2 * d,
                    d,
                    true,
                )?),
                _ => None,
            };
            let conv = Conv2d::load(l, &format!("{key}.3"), ConvSpec::new(d, f, 1, 1, 0), true)?;
            let up = |k: usize| -> Result<Resample> {
                Ok(Resample::Up(Box::new(ConvTranspose2d::load(
                    l,
                    &format!("{key}.4"),
                    f,
                    k,
                )?)))
            };
            let resample = match (p32, i) {
                (false, 0) => up(4)?,
                (false, 1) => up(2)?,
                (false, 2) => Resample::Identity,
                (false, _) => Resample::Down(Box::new(Conv2d::load(
                    l,
                    &format!("{key}.4"),
                    ConvSpec::new(f, f, 3, 2, 1),
                    true,
                )?)),
                (true, 0) => up(8)?,
                (true, 1) => up(4)?,
                (true, 2) => up(2)?,
                (true, _) => Resample::Identity,
            };
            reassemble.push(Reassemble {
                project,
                conv,
                resample,
            });
        }
        let fs = cfg.features;
        let layer_rn = (0..4)
            .map(|i| {
                Conv2d::load(
                    l,
                    &format!("scratch.layer{}_rn", i + 1),
                    ConvSpec::new(cfg.reassemble[i], fs, 3, 1, 1),
                    false,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        let fusion = (1..=4)
            .map(|i| {
                let key = format!("scratch.refinenet{i}");
                Ok(Fusion {
                    // refinenet4 receives one input: its resConfUnit1 is never called.
                    unit1: if i == 4 {
                        None
                    } else {
                        Some(ResidualUnit::load(l, &format!("{key}.resConfUnit1"), fs)?)
                    },
                    unit2: ResidualUnit::load(l, &format!("{key}.resConfUnit2"), fs)?,
                    out_conv: Conv2d::load(
                        l,
                        &format!("{key}.out_conv"),
                        ConvSpec::new(fs, fs, 1, 1, 0),
                        true,
                    )?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            readout: cfg.readout,
            reassemble,
            layer_rn,
            fusion,
        })
    }

    fn reassemble(&self, i: usize, tokens: Tensor<3>, grid: [usize; 2]) -> Tensor<4> {
        let [b, n, d] = tokens.dims();
        let patches = tokens.clone().narrow(1, 1, n - 1);
        let x = match self.readout {
            Readout::Ignore => patches,
            Readout::Add => patches + tokens.narrow(1, 0, 1),
            Readout::Project => {
                let cls = tokens.narrow(1, 0, 1).expand([b, n - 1, d]);
                let cat = Tensor::cat(vec![patches, cls], 2);
                gelu(
                    self.reassemble[i]
                        .project
                        .as_ref()
                        .expect("loaded")
                        .forward(cat),
                )
            }
        };
        let x = x.swap_dims(1, 2).reshape([b, d, grid[0], grid[1]]);
        let r = &self.reassemble[i];
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
        let p4 = self.fusion[3].forward(None, rn[3].clone());
        let p3 = self.fusion[2].forward(Some(p4), rn[2].clone());
        let p2 = self.fusion[1].forward(Some(p3), rn[1].clone());
        let path_1 = self.fusion[0].forward(Some(p2), rn[0].clone());
        DecoderTaps { layers, path_1 }
    }
}
