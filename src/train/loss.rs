//! The training objective: pixel-wise cross-entropy over the labels' logits (already scaled
//! by 1/0.07), mean over the labelled pixels, as `F.cross_entropy(..., ignore_index)`.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Int, Tensor, TensorData};

use crate::metrics::IGNORE;

/// Mean cross-entropy of `logits` `[B, N, H, W]` against `targets` (`B*H*W` class indices,
/// [`IGNORE`] for unlabelled pixels), and the number of labelled pixels. A batch without a
/// labelled pixel has loss 0 (PyTorch gives NaN there).
pub(crate) fn cross_entropy(logits: Tensor<4>, targets: &[u16]) -> (Tensor<1>, usize) {
    let [b, _, h, w] = logits.dims();
    let device = logits.device();
    let labelled = targets.iter().filter(|&&t| t != IGNORE).count();
    let index: Vec<i64> = targets
        .iter()
        .map(|&t| if t == IGNORE { 0 } else { t as i64 })
        .collect();
    let keep: Vec<f32> = targets
        .iter()
        .map(|&t| (t != IGNORE) as u8 as f32)
        .collect();
    let index = Tensor::<4, Int>::from_ints(TensorData::new(index, [b, 1, h, w]), &device);
    let keep = Tensor::<4>::from_floats(TensorData::new(keep, [b, 1, h, w]), &device);
    let picked = log_softmax(logits, 1).gather(1, index);
    let total = (picked * keep).sum();
    (total * (-1.0 / labelled.max(1) as f64), labelled)
}
