//! The optimisers of the official recipe and its AdamW option, with `torch.optim`'s update
//! rules (so that a step matches PyTorch's within float32 rounding), and the learning-rate
//! schedule.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Tensor;

use crate::error::{Error, Result};

/// The optimiser and its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// `torch.optim.SGD` with momentum (dampening 0, not Nesterov): the official recipe
    /// (momentum 0.9).
    Sgd {
        /// Momentum.
        momentum: f64,
    },
    /// `torch.optim.AdamW` (decoupled weight decay, no amsgrad).
    AdamW {
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Denominator epsilon.
        eps: f64,
    },
}

impl Optimizer {
    /// The official recipe: SGD, momentum 0.9.
    pub const SGD: Self = Self::Sgd { momentum: 0.9 };
    /// AdamW with PyTorch's defaults.
    pub const ADAMW: Self = Self::AdamW {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };

    /// Names of the per-parameter state tensors, in order.
    pub(crate) fn slots(&self) -> &'static [&'static str] {
        match self {
            Self::Sgd { .. } => &["momentum_buffer"],
            Self::AdamW { .. } => &["exp_avg", "exp_avg_sq"],
        }
    }

    /// One update of `param` with gradient `grad`, learning rate `lr`, weight decay `wd`,
    /// at optimiser step `step` (1-based); `state` holds [`Self::slots`] (empty before the
    /// first step). Returns the new parameter.
    pub(crate) fn update(
        &self,
        param: Tensor<1>,
        grad: Tensor<1>,
        state: &mut Vec<Tensor<1>>,
        lr: f64,
        wd: f64,
        step: u64,
    ) -> Tensor<1> {
        match *self {
            Self::Sgd { momentum } => {
                let d = if wd != 0.0 {
                    grad + param.clone() * wd
                } else {
                    grad
                };
                let buf = match state.pop() {
                    None => d,
                    Some(buf) => buf * momentum + d,
                };
                state.push(buf.clone());
                param - buf * lr
            }
            Self::AdamW { beta1, beta2, eps } => {
                let param = if wd != 0.0 {
                    param * (1.0 - lr * wd)
                } else {
                    param
                };
                let (m, v) = match (state.pop(), state.pop()) {
                    (Some(v), Some(m)) => (m, v),
                    _ => (grad.zeros_like(), grad.zeros_like()),
                };
                let m = m.clone() + (grad.clone() - m) * (1.0 - beta1);
                let v = v * beta2 + grad.clone() * grad * (1.0 - beta2);
                let bias1 = 1.0 - beta1.powi(step as i32);
                let bias2 = 1.0 - beta2.powi(step as i32);
                let denom = v.clone().sqrt() / bias2.sqrt() + eps;
                state.push(m.clone());
                state.push(v);
                param - m / denom * (lr / bias1)
            }
        }
    }
}

impl fmt::Display for Optimizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sgd { momentum } => write!(f, "sgd(momentum={momentum})"),
            Self::AdamW { beta1, beta2, eps } => {
                write!(f, "adamw(betas=({beta1}, {beta2}), eps={eps})")
            }
        }
    }
}

/// How the learning rate decays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Schedule {
    /// Constant.
    Constant,
    /// `(1 - epoch / epochs) ^ power`, constant within an epoch: the official
    /// `LambdaLR(lambda x: pow(1.0 - x / max_epochs, 0.9))` stepped once per epoch.
    PolyEpoch {
        /// Exponent (0.9).
        power: f64,
        /// Epochs of the run.
        epochs: u64,
        /// Optimiser steps per epoch.
        steps_per_epoch: u64,
    },
    /// `(1 - step / steps) ^ power`, per optimiser step.
    PolyStep {
        /// Exponent (0.9).
        power: f64,
        /// Optimiser steps of the run.
        steps: u64,
    },
}

impl Schedule {
    /// The factor of the base learning rate at optimiser step `step` (0-based).
    pub fn factor(&self, step: u64) -> f64 {
        let poly = |done: f64, total: f64, power: f64| (1.0 - done / total).max(0.0).powf(power);
        match *self {
            Self::Constant => 1.0,
            Self::PolyEpoch {
                power,
                epochs,
                steps_per_epoch,
            } => poly(
                (step / steps_per_epoch.max(1)) as f64,
                epochs.max(1) as f64,
                power,
            ),
            Self::PolyStep { power, steps } => poly(step as f64, steps.max(1) as f64, power),
        }
    }
}

impl FromStr for Optimizer {
    type Err = Error;
    /// `sgd` or `adamw`, with the defaults of [`Optimizer::SGD`] and [`Optimizer::ADAMW`].
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sgd" => Ok(Self::SGD),
            "adamw" => Ok(Self::ADAMW),
            _ => Err(Error::InvalidInput(format!(
                "unknown optimizer `{s}` (expected sgd or adamw)"
            ))),
        }
    }
}
