//! Deterministic pseudo-random weights of the real shapes, for benchmarks and tests: nothing
//! is read or downloaded.

use safetensors::Dtype as StDtype;

use crate::backend::Precision;
use crate::config::LsegConfig;
use crate::error::{Error, Result};
use crate::model::Lseg;
use crate::weights::CONFIG_METADATA_KEY;

/// Deterministic values of a plausible scale for a key (seeded by the key name): BatchNorm
/// statistics and norm gains near their usual values, other tensors `U(+-1/sqrt(fan_in))`.
pub(crate) fn random_values(key: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let mut state = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x1000_0000_01b3)
    }) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    };
    let last = key.rsplit('.').next().unwrap_or("");
    let is_norm = key.contains("norm") || key.contains(".ln_") || key.contains(".bn");
    let (center, half) = match last {
        "running_var" => (1.0, 0.5),
        "running_mean" => (0.0, 0.1),
        "weight" if is_norm => (1.0, 0.1),
        "bias" => (0.0, 0.02),
        _ => {
            let fan_in: usize = if shape.len() > 1 {
                shape[1..].iter().product()
            } else {
                1
            };
            (0.0, 1.0 / (fan_in.max(1) as f32).sqrt())
        }
    };
    (0..n).map(|_| center + half * next()).collect()
}

/// A safetensors image of the model of `cfg` with the pseudo-random weights of
/// [`Lseg::random`], stored as `dtype`, with the config in the metadata (benchmarks of
/// load time and memory; nothing is downloaded).
pub fn random_safetensors(cfg: &LsegConfig, dtype: Precision) -> Result<Vec<u8>> {
    model_safetensors(cfg, dtype, random_values)
}

/// A safetensors image of every tensor the model of `cfg` reads, with `values(key, shape)`,
/// stored as `dtype`, the config in the metadata.
pub(crate) fn model_safetensors(
    cfg: &LsegConfig,
    dtype: Precision,
    mut values: impl FnMut(&str, &[usize]) -> Vec<f32>,
) -> Result<Vec<u8>> {
    let specs = Lseg::tensor_specs(cfg)?;
    let conv = |v: Vec<f32>| -> Vec<u8> {
        match dtype {
            Precision::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Precision::F16 => v
                .iter()
                .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
                .collect(),
            Precision::BF16 => v
                .iter()
                .flat_map(|x| half::bf16::from_f32(*x).to_le_bytes())
                .collect(),
        }
    };
    let st_dtype = match dtype {
        Precision::F32 => StDtype::F32,
        Precision::F16 => StDtype::F16,
        Precision::BF16 => StDtype::BF16,
    };
    let bytes: Vec<Vec<u8>> = specs.iter().map(|(k, s)| conv(values(k, s))).collect();
    let views = specs
        .iter()
        .zip(&bytes)
        .map(|((k, s), b)| {
            safetensors::tensor::TensorView::new(st_dtype, s.clone(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| Error::InvalidWeights(e.to_string()))
        })
        .collect::<Result<Vec<_>>>()?;
    let meta = std::collections::HashMap::from([(CONFIG_METADATA_KEY.to_string(), cfg.to_json())]);
    safetensors::serialize(views, Some(meta)).map_err(|e| Error::InvalidWeights(e.to_string()))
}
