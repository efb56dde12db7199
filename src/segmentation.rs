//! The result of [`Lseg::segment`](crate::Lseg::segment): scores, label map, confidence.

use burn::tensor::activation::softmax;
use burn::tensor::{Int, Tensor};

/// Per-label scores of one image at its input resolution, and what follows from them.
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Logits `[1, N, H, W]` at the input resolution (multi-scale: summed over scales/flip).
    pub scores: Tensor<4>,
}

impl Segmentation {
    /// Wrap scores `[1, N, H, W]`.
    pub fn from_scores(scores: Tensor<4>) -> Self {
        Self { scores }
    }

    /// Image size `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        let [_, _, h, w] = self.scores.dims();
        (h, w)
    }

    /// Per-pixel label index (argmax over labels), row-major `H x W`.
    pub fn label_map(&self) -> Vec<u16> {
        let [_, n, h, w] = self.scores.dims();
        let idx: Tensor<4, Int> = self.scores.clone().argmax(1);
        let data = idx.reshape([h * w]).to_data().convert::<i64>();
        let v: Vec<i64> = data.try_to_vec().expect("int data");
        v.into_iter()
            .map(|i| i.clamp(0, n as i64 - 1) as u16)
            .collect()
    }

    /// Scores as a row-major `N x H x W` vector.
    pub fn scores_vec(&self) -> Vec<f32> {
        self.scores
            .to_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("f32 data")
    }

    /// Per-pixel softmax probability of the winning label, row-major `H x W`.
    pub fn confidence(&self) -> Vec<f32> {
        let [_, _, h, w] = self.scores.dims();
        let p = softmax(self.scores.clone(), 1).max_dim(1);
        p.reshape([h * w])
            .to_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("f32 data")
    }
}

/// Pixel shares of each of `n` labels in a label map, in percent, rounded to 0.01 so that
/// they add up to exactly 100 (largest remainders get the missing hundredths).
pub fn percent_shares(map: &[u16], n: usize) -> Vec<f64> {
    let mut counts = vec![0u64; n];
    for &l in map {
        counts[l as usize] += 1;
    }
    let total = map.len().max(1) as u64;
    let mut q: Vec<u64> = counts.iter().map(|c| c * 10_000 / total).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(counts[i] * 10_000 % total));
    let missing = 10_000 - q.iter().sum::<u64>();
    for &i in order.iter().take(missing as usize) {
        q[i] += 1;
    }
    q.iter().map(|&v| v as f64 / 100.0).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_100() {
        let map = [0u16, 1, 1, 2, 2, 2, 0];
        let s = percent_shares(&map, 4);
        assert_eq!((s.iter().sum::<f64>() * 100.0).round(), 10_000.0);
        assert_eq!(s[3], 0.0);
        assert_eq!(s[2], 42.86);
    }
}
