//! Starting weights for a run from scratch: a preset's pseudo-random weights at PyTorch's
//! default scale (`U(+-1/sqrt(fan_in))`, BatchNorm and norm gains near 1), with pre-trained
//! parts (a timm ViT, the CLIP text tower) put over them from their own files.

use std::collections::BTreeMap;
use std::path::Path;

use crate::backend::Precision;
use crate::config::LsegConfig;
use crate::error::{Error, Result};
use crate::testing::{model_safetensors, random_values};
use crate::weights::WeightFile;

/// Where a pre-trained part's keys go in the model: the timm ViT's `blocks.0...` under
/// [`VIT_PREFIX`], CLIP's `transformer...` under [`CLIP_PREFIX`]. Keys already carrying the
/// prefix are taken as they are.
pub const VIT_PREFIX: &str = "pretrained.model.";
/// See [`VIT_PREFIX`].
pub const CLIP_PREFIX: &str = "clip_pretrained.";

/// A safetensors image (float32, config in the metadata) of the model of `cfg`: random
/// weights, then the tensors of each `(prefix, file)` whose key (under `prefix`) the model
/// reads. Returns the image and how many tensors each file supplied. A file that supplies
/// nothing, or a tensor of another shape than the model's, is an error naming the key.
pub fn initial_weights(
    cfg: &LsegConfig,
    pretrained: &[(&str, &Path)],
) -> Result<(Vec<u8>, Vec<usize>)> {
    let mut over: BTreeMap<String, Vec<f32>> = BTreeMap::new();
    let specs: BTreeMap<String, Vec<usize>> =
        crate::model::Lseg::tensor_specs(cfg)?.into_iter().collect();
    let mut counts = Vec::new();
    for (prefix, path) in pretrained {
        let file = WeightFile::open(path)?;
        let w = file.parse()?;
        let mut n = 0;
        for info in w.tensors() {
            if !matches!(info.dtype.as_str(), "F32" | "F16" | "BF16") {
                continue;
            }
            let key = if info.key.starts_with(prefix) {
                info.key.clone()
            } else {
                format!("{prefix}{}", info.key)
            };
            let Some(shape) = specs.get(&key) else {
                continue;
            };
            if *shape != info.shape {
                return Err(Error::ShapeMismatch {
                    key: format!("{key} (from {})", path.display()),
                    expected: shape.clone(),
                    found: info.shape,
                });
            }
            over.insert(key, w.read_f32(&info.key)?.0);
            n += 1;
        }
        if n == 0 {
            return Err(Error::InvalidWeights(format!(
                "{} has no tensor the model reads under `{prefix}`",
                path.display()
            )));
        }
        counts.push(n);
    }
    let image = model_safetensors(cfg, Precision::F32, |key, shape| {
        over.remove(key)
            .unwrap_or_else(|| random_values(key, shape))
    })?;
    Ok((image, counts))
}
