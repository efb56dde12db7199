//! Small inference-only layers over burn's functional ops, each loaded from the official
//! parameter names (`weight`, `bias`, ...) under a scoped [`Loader`], and the shared ops.

use burn::tensor::Tensor;
use burn::tensor::module::{attention, conv_transpose2d, conv2d, interpolate, layer_norm, linear};
use burn::tensor::ops::{
    AttentionModuleOptions, ConvOptions, ConvTransposeOptions, InterpolateMode, InterpolateOptions,
};

use crate::error::Result;
use crate::weights::{Loader, Updates};

/// Bilinear resize to `h x w` with align_corners=True (the official evaluator's `up_kwargs`;
/// burn's default too, but set explicitly); a no-op at the same size.
pub(crate) fn resize_bilinear(x: Tensor<4>, h: usize, w: usize) -> Tensor<4> {
    let [_, _, ih, iw] = x.dims();
    if (ih, iw) == (h, w) {
        return x;
    }
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size([h, w]),
    )
}

/// Bilinear x2 with align_corners=True (fusion blocks and the output head).
pub(crate) fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    resize_bilinear(x, 2 * h, 2 * w)
}

/// L2-normalise along `dim` with no epsilon, as the official `x / x.norm(dim)`.
pub fn l2_normalize<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let norm = x.clone().square().sum_dim(dim).sqrt();
    x / norm
}

/// `t` in dtype `dt` (a cheap clone when it already is).
pub(crate) fn like<const D: usize>(t: &Tensor<D>, dt: burn::tensor::DType) -> Tensor<D> {
    if t.dtype() == dt {
        t.clone()
    } else {
        t.clone().cast(dt)
    }
}

/// `nn.Linear`, weight stored as `[in, out]`.
#[derive(Debug, Clone)]
pub(crate) struct Linear {
    w: Tensor<2>,
    b: Option<Tensor<1>>,
}

impl Linear {
    /// `weight` `[out, in]` and (when `bias`) `bias` `[out]` under `l`.
    pub(crate) fn load(l: &Loader, inp: usize, out: usize, bias: bool) -> Result<Self> {
        Ok(Self {
            w: l.linear_weight("weight", out, inp)?,
            b: if bias {
                Some(l.tensor("bias", [out])?)
            } else {
                None
            },
        })
    }

    /// Load from other names of the weight and bias under `l` (CLIP's packed
    /// `in_proj_weight` and `in_proj_bias`, say).
    pub(crate) fn load_named(
        l: &Loader,
        weight: &str,
        bias: &str,
        inp: usize,
        out: usize,
    ) -> Result<Self> {
        Ok(Self {
            w: l.linear_weight(weight, out, inp)?,
            b: Some(l.tensor(bias, [out])?),
        })
    }

    /// Weights held in another dtype than `x` (half-precision storage of the text tower) are
    /// cast for the call: the computation runs in the dtype of `x`.
    pub(crate) fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dt = x.dtype();
        linear(x, like(&self.w, dt), self.b.as_ref().map(|b| like(b, dt)))
    }
}

/// Multi-head self-attention with a packed `[q; k; v]` input projection.
#[derive(Debug, Clone)]
pub(crate) struct SelfAttention {
    qkv: Linear,
    proj: Linear,
    heads: usize,
    causal: bool,
}

impl SelfAttention {
    pub(crate) fn new(qkv: Linear, proj: Linear, heads: usize, causal: bool) -> Self {
        Self {
            qkv,
            proj,
            heads,
            causal,
        }
    }

    /// `x`: `[batch, tokens, width]`.
    pub(crate) fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [n, l, w] = x.dims();
        let hd = w / self.heads;
        let qkv = self
            .qkv
            .forward(x)
            .reshape([n, l, 3, self.heads, hd])
            .permute([2, 0, 3, 1, 4]);
        let part = |i: usize| qkv.clone().narrow(0, i, 1).reshape([n, self.heads, l, hd]);
        let opts = AttentionModuleOptions {
            is_causal: self.causal,
            ..Default::default()
        };
        let y = attention(part(0), part(1), part(2), None, None, opts);
        self.proj.forward(y.swap_dims(1, 2).reshape([n, l, w]))
    }
}

/// `nn.LayerNorm` over the last dimension.
#[derive(Debug, Clone)]
pub(crate) struct LayerNorm {
    g: Tensor<1>,
    b: Tensor<1>,
    eps: f64,
}

impl LayerNorm {
    /// `weight` and `bias` `[dim]` under `l`.
    pub(crate) fn load(l: &Loader, dim: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            g: l.tensor("weight", [dim])?,
            b: l.tensor("bias", [dim])?,
            eps,
        })
    }

    pub(crate) fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let dt = x.dtype();
        layer_norm(x, like(&self.g, dt), Some(like(&self.b, dt)), self.eps)
    }
}

/// A 1x1 stride-1 `nn.Conv2d`, run as one matmul over channels.
#[derive(Debug, Clone)]
pub(crate) struct Conv1x1 {
    /// `[out, in]`.
    w: Tensor<2>,
    b: Option<Tensor<1>>,
}

impl Conv1x1 {
    /// `weight` `[out, inp, 1, 1]` and (when `bias`) `bias` `[out]` under `l`.
    pub(crate) fn load(l: &Loader, inp: usize, out: usize, bias: bool) -> Result<Self> {
        let w = l.tensor("weight", [out, inp, 1, 1])?;
        let b = if bias {
            Some(l.tensor("bias", [out])?)
        } else {
            None
        };
        Ok(Self::new(w, b))
    }

    /// From a `[out, in, 1, 1]` weight.
    fn new(w: Tensor<4>, b: Option<Tensor<1>>) -> Self {
        let [out, inp, _, _] = w.dims();
        Self {
            w: w.reshape([out, inp]),
            b,
        }
    }

    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, wd] = x.dims();
        let out = self.w.dims()[0];
        self.forward_flat(x.reshape([b, c, h * wd]))
            .reshape([b, out, h, wd])
    }

    /// The convolution on flattened pixels, `[B, in, L]` to `[B, out, L]`.
    pub(crate) fn forward_flat(&self, x: Tensor<3>) -> Tensor<3> {
        let out = self.w.dims()[0];
        let y = self.w.clone().unsqueeze::<3>().matmul(x);
        match &self.b {
            Some(bias) => y + bias.clone().reshape([1, out, 1]),
            None => y,
        }
    }
}

/// `nn.Conv2d` (optionally with an eval-mode BatchNorm folded in).
#[derive(Debug, Clone)]
pub(crate) enum Conv2d {
    /// 1x1 stride-1 convolutions run as one matmul over channels.
    Pointwise(Conv1x1),
    /// Any other geometry, through burn's `conv2d`.
    Spatial {
        w: Tensor<4>,
        b: Option<Tensor<1>>,
        opts: ConvOptions<2>,
    },
    /// A convolution followed by a training-mode BatchNorm (loaded for training).
    Normalized(Box<Conv2d>, Box<BatchNorm2d>),
}

/// `nn.BatchNorm2d` in training mode (eps 1e-5, momentum 0.1): normalises with the batch's
/// statistics over `(N, H, W)` and records the updated running statistics, `(1 - 0.1) *
/// running + 0.1 * batch` (the unbiased variance for the running one), under `updates`.
#[derive(Debug, Clone)]
pub(crate) struct BatchNorm2d {
    key: String,
    gamma: Tensor<1>,
    beta: Tensor<1>,
    running_mean: Tensor<1>,
    running_var: Tensor<1>,
    updates: Updates,
}

impl BatchNorm2d {
    const EPS: f64 = 1e-5;
    const MOMENTUM: f64 = 0.1;

    fn load(l: &Loader, ch: usize, updates: Updates) -> Result<Self> {
        Ok(Self {
            key: l.key(""),
            gamma: l.tensor("weight", [ch])?,
            beta: l.tensor("bias", [ch])?,
            running_mean: l.tensor("running_mean", [ch])?,
            running_var: l.tensor("running_var", [ch])?,
            updates,
        })
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let n = b * h * w;
        let over_nhw = |t: Tensor<4>| t.mean_dim(0).mean_dim(2).mean_dim(3);
        let mean = over_nhw(x.clone());
        let centred = x - mean.clone();
        let var = over_nhw(centred.clone().square());
        let per_channel = |t: &Tensor<1>| t.clone().reshape([1, c, 1, 1]);
        let y = centred / (var.clone() + Self::EPS).sqrt() * per_channel(&self.gamma)
            + per_channel(&self.beta);
        let m = Self::MOMENTUM;
        let unbiased = n as f64 / (n.max(2) - 1) as f64;
        let stat = |t: Tensor<4>| t.detach().without_autodiff().reshape([c]);
        let mean = self.running_mean.clone().without_autodiff() * (1.0 - m) + stat(mean) * m;
        let var =
            self.running_var.clone().without_autodiff() * (1.0 - m) + stat(var) * (unbiased * m);
        let mut sink = self.updates.lock().expect("updates lock");
        sink.push((format!("{}running_mean", self.key), mean));
        sink.push((format!("{}running_var", self.key), var));
        y
    }
}

/// Geometry of a square convolution.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConvSpec {
    pub inp: usize,
    pub out: usize,
    pub k: usize,
    pub stride: usize,
    pub pad: usize,
}

impl ConvSpec {
    pub(crate) fn new(inp: usize, out: usize, k: usize, stride: usize, pad: usize) -> Self {
        Self {
            inp,
            out,
            k,
            stride,
            pad,
        }
    }
}

impl Conv2d {
    /// `weight` `[out, in, k, k]` and (when `bias`) `bias` `[out]` under `l`.
    pub(crate) fn load(l: &Loader, s: ConvSpec, bias: bool) -> Result<Self> {
        let w = l.tensor("weight", [s.out, s.inp, s.k, s.k])?;
        let b = if bias {
            Some(l.tensor("bias", [s.out])?)
        } else {
            None
        };
        Ok(Self::new(w, b, s))
    }

    fn new(w: Tensor<4>, b: Option<Tensor<1>>, s: ConvSpec) -> Self {
        if s.k == 1 && s.stride == 1 && s.pad == 0 {
            Self::Pointwise(Conv1x1::new(w, b))
        } else {
            Self::Spatial {
                w,
                b,
                opts: ConvOptions::new([s.stride; 2], [s.pad; 2], [1, 1], 1),
            }
        }
    }

    /// A bias-free conv (`weight` under `conv`) followed by an eval-mode `BatchNorm2d` (eps
    /// 1e-5, under `bn`), folded into one conv: `w' = w * g / sqrt(var + eps)`,
    /// `b' = beta - mean * g / sqrt(var + eps)` (in f64). Loaded for training, the two stay
    /// apart and the BatchNorm runs in training mode.
    pub(crate) fn load_with_bn(conv: &Loader, bn: &Loader, s: ConvSpec) -> Result<Self> {
        if let Some(updates) = bn.training_updates() {
            return Ok(Self::Normalized(
                Box::new(Self::load(conv, s, false)?),
                Box::new(BatchNorm2d::load(bn, s.out, updates)?),
            ));
        }
        let shape = [s.out, s.inp, s.k, s.k];
        let mut w = conv.host("weight", &shape)?;
        let get = |n: &str| bn.host(n, &[s.out]);
        let (g, beta, mean, var) = (
            get("weight")?,
            get("bias")?,
            get("running_mean")?,
            get("running_var")?,
        );
        let per = s.inp * s.k * s.k;
        let mut b = vec![0f32; s.out];
        for o in 0..s.out {
            let scale = g[o] as f64 / (var[o] as f64 + 1e-5).sqrt();
            for v in &mut w[o * per..(o + 1) * per] {
                *v = (*v as f64 * scale) as f32;
            }
            b[o] = (beta[o] as f64 - mean[o] as f64 * scale) as f32;
        }
        Ok(Self::new(
            conv.from_host(w, shape),
            Some(conv.from_host(b, [s.out])),
            s,
        ))
    }

    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::Pointwise(c) => c.forward(x),
            Self::Spatial { w, b, opts } => conv2d(x, w.clone(), b.clone(), opts.clone()),
            Self::Normalized(conv, bn) => bn.forward(conv.forward(x)),
        }
    }
}

/// `nn.ConvTranspose2d` with kernel = stride (the DPT up-projections), weight `[in, out, k, k]`.
#[derive(Debug, Clone)]
pub(crate) struct ConvTranspose2d {
    w: Tensor<4>,
    b: Tensor<1>,
    opts: ConvTransposeOptions<2>,
}

impl ConvTranspose2d {
    /// `weight` `[ch, ch, k, k]` and `bias` `[ch]` under `l`.
    pub(crate) fn load(l: &Loader, ch: usize, k: usize) -> Result<Self> {
        Ok(Self {
            w: l.tensor("weight", [ch, ch, k, k])?,
            b: l.tensor("bias", [ch])?,
            opts: ConvTransposeOptions::new([k, k], [0, 0], [0, 0], [1, 1], 1),
        })
    }

    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv_transpose2d(x, self.w.clone(), Some(self.b.clone()), self.opts.clone())
    }
}
