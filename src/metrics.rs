//! The paper's segmentation metrics, as the official evaluator computes them
//! (PyTorch-Encoding's `SegmentationMetric`, used by lang-seg's `test_lseg.py`): totals over the
//! whole data set, then pixel accuracy = correct labelled pixels / labelled pixels and per-class
//! IoU = intersection / (eps + union), mIoU = the mean over all classes (a class absent from
//! both predictions and ground truth counts as 0).

use crate::error::{Error, Result};

/// Ground-truth value of a pixel that is not scored (ADE20K's 0 "unlabeled", a folder data
/// set's ignore index).
pub const IGNORE: u16 = u16::MAX;

/// `np.spacing(1)`: the evaluator's guard against division by zero.
pub const EPS: f64 = f64::EPSILON;

/// Running totals of one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentationMetric {
    correct: u64,
    labelled: u64,
    intersection: Vec<u64>,
    union: Vec<u64>,
    images: usize,
}

/// The scores so far.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// Correct labelled pixels / labelled pixels.
    pub pix_acc: f64,
    /// Mean IoU over all classes (absent classes count as 0).
    pub miou: f64,
    /// Mean IoU over the classes present in the predictions or the ground truth.
    pub miou_present: f64,
    /// IoU per class, in label order.
    pub per_class_iou: Vec<f64>,
    /// Images scored.
    pub images: usize,
}

impl SegmentationMetric {
    /// Totals for `classes` classes (at least 1).
    pub fn new(classes: usize) -> Self {
        Self {
            correct: 0,
            labelled: 0,
            intersection: vec![0; classes],
            union: vec![0; classes],
            images: 0,
        }
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.union.len()
    }

    /// Add one image: `predicted` class per pixel, `truth` class per pixel or [`IGNORE`].
    /// Errors for different lengths and class indices out of range.
    pub fn update(&mut self, predicted: &[u16], truth: &[u16]) -> Result<()> {
        if predicted.len() != truth.len() {
            return Err(Error::InvalidInput(format!(
                "prediction has {} pixels, ground truth {}",
                predicted.len(),
                truth.len()
            )));
        }
        let n = self.classes();
        let mut pred_area = vec![0u64; n];
        let mut true_area = vec![0u64; n];
        let mut inter = vec![0u64; n];
        let (mut correct, mut labelled) = (0u64, 0u64);
        for (&p, &t) in predicted.iter().zip(truth) {
            if t == IGNORE {
                continue;
            }
            let (pi, ti) = (p as usize, t as usize);
            if ti >= n {
                return Err(Error::InvalidInput(format!(
                    "ground-truth class {t} is beyond the {n} labels"
                )));
            }
            if pi >= n {
                return Err(Error::InvalidInput(format!(
                    "predicted class {p} is beyond the {n} labels"
                )));
            }
            labelled += 1;
            true_area[ti] += 1;
            pred_area[pi] += 1;
            if pi == ti {
                correct += 1;
                inter[pi] += 1;
            }
        }
        self.correct += correct;
        self.labelled += labelled;
        for k in 0..n {
            self.intersection[k] += inter[k];
            self.union[k] += pred_area[k] + true_area[k] - inter[k];
        }
        self.images += 1;
        Ok(())
    }

    /// The scores of the totals so far.
    pub fn scores(&self) -> Scores {
        let per_class_iou: Vec<f64> = self
            .intersection
            .iter()
            .zip(&self.union)
            .map(|(&i, &u)| i as f64 / (EPS + u as f64))
            .collect();
        let present: Vec<f64> = per_class_iou
            .iter()
            .zip(&self.union)
            .filter(|&(_, &u)| u > 0)
            .map(|(&v, _)| v)
            .collect();
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        Scores {
            pix_acc: self.correct as f64 / (EPS + self.labelled as f64),
            miou: mean(&per_class_iou),
            miou_present: mean(&present),
            per_class_iou,
            images: self.images,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The official formula written as PyTorch-Encoding writes it: classes shifted by one,
    /// 0 = ignored, prediction masked by the labelled pixels, `np.histogram(x, bins=n,
    /// range=(1, n))` for the areas.
    fn official(pairs: &[(Vec<u16>, Vec<u16>)], n: usize) -> (f64, Vec<f64>) {
        let hist = |v: &[i64]| {
            let mut h = vec![0i64; n];
            let (lo, hi) = (1.0f64, n as f64);
            for &x in v {
                let x = x as f64;
                if x < lo || x > hi {
                    continue;
                }
                let b = if n == 1 {
                    0
                } else {
                    (((x - lo) / (hi - lo)) * n as f64) as usize
                };
                h[b.min(n - 1)] += 1;
            }
            h
        };
        let (mut correct, mut labelled) = (0i64, 0i64);
        let (mut inter_t, mut union_t) = (vec![0i64; n], vec![0i64; n]);
        for (pred, truth) in pairs {
            let predict: Vec<i64> = pred.iter().map(|&p| p as i64 + 1).collect();
            let target: Vec<i64> = truth
                .iter()
                .map(|&t| if t == IGNORE { 0 } else { t as i64 + 1 })
                .collect();
            labelled += target.iter().filter(|&&t| t > 0).count() as i64;
            correct += predict
                .iter()
                .zip(&target)
                .filter(|&(p, t)| p == t && *t > 0)
                .count() as i64;
            let masked: Vec<i64> = predict
                .iter()
                .zip(&target)
                .map(|(&p, &t)| if t > 0 { p } else { 0 })
                .collect();
            let intersection: Vec<i64> = masked
                .iter()
                .zip(&target)
                .map(|(&p, &t)| if p == t { p } else { 0 })
                .collect();
            let (ai, ap, al) = (hist(&intersection), hist(&masked), hist(&target));
            for k in 0..n {
                inter_t[k] += ai[k];
                union_t[k] += ap[k] + al[k] - ai[k];
            }
        }
        let iou = inter_t
            .iter()
            .zip(&union_t)
            .map(|(&i, &u)| i as f64 / (f64::EPSILON + u as f64))
            .collect();
        (correct as f64 / (f64::EPSILON + labelled as f64), iou)
    }

    fn random_maps(seed: u64, len: usize, n: usize, ignore_every: usize) -> (Vec<u16>, Vec<u16>) {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        // Classes n-1 and n-2 never occur (absent everywhere); the rest are skewed.
        let used = (n.saturating_sub(2)).max(1);
        let pred = (0..len).map(|_| (next() % used as u64) as u16).collect();
        let truth = (0..len)
            .map(|i| {
                if ignore_every > 0 && i % ignore_every == 0 {
                    IGNORE
                } else {
                    ((next() % 7).min(used as u64 - 1)) as u16
                }
            })
            .collect();
        (pred, truth)
    }

    #[test]
    fn equals_the_official_formula_on_random_maps() {
        for (n, images, len, ignore) in [
            (150, 4, 5000, 3),
            (5, 3, 999, 0),
            (2, 2, 64, 2),
            (1, 1, 10, 4),
            (300, 2, 4096, 5),
        ] {
            let pairs: Vec<_> = (0..images)
                .map(|k| random_maps(k as u64 + n as u64, len, n, ignore))
                .collect();
            let mut m = SegmentationMetric::new(n);
            for (p, t) in &pairs {
                m.update(p, t).unwrap();
            }
            let s = m.scores();
            let (acc, iou) = official(&pairs, n);
            assert_eq!(s.pix_acc, acc, "n={n}");
            assert_eq!(s.per_class_iou, iou, "n={n}");
            assert_eq!(s.miou, iou.iter().sum::<f64>() / n as f64);
            assert_eq!(s.images, images);
            if n > 2 {
                assert_eq!(s.per_class_iou[n - 1], 0.0); // absent everywhere: 0, counted
                assert!(s.miou_present > s.miou);
            }
        }
    }

    #[test]
    fn perfect_and_disjoint_predictions_and_errors() {
        let mut m = SegmentationMetric::new(3);
        m.update(&[0, 1, 2, 2], &[0, 1, 2, IGNORE]).unwrap();
        let s = m.scores();
        assert!((s.pix_acc - 1.0).abs() < 1e-12 && (s.miou - 1.0).abs() < 1e-12);
        let mut m = SegmentationMetric::new(2);
        m.update(&[1, 1], &[0, 0]).unwrap();
        assert_eq!(m.scores().pix_acc, 0.0);
        assert_eq!(m.scores().per_class_iou, [0.0, 0.0]);
        let mut m = SegmentationMetric::new(2);
        assert!(
            m.update(&[0], &[0, 1])
                .unwrap_err()
                .to_string()
                .contains("pixels")
        );
        assert!(
            m.update(&[0], &[2])
                .unwrap_err()
                .to_string()
                .contains("beyond")
        );
        assert!(
            m.update(&[5], &[1])
                .unwrap_err()
                .to_string()
                .contains("predicted")
        );
        assert_eq!(m.scores().images, 0); // a failed update adds nothing
        assert_eq!(SegmentationMetric::new(4).scores().pix_acc, 0.0);
    }
}
