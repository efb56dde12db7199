//! The CPU kernels lseg's vendored burn-flex adds (vendor/burn-flex/PATCH.md), through burn's
//! public API on the flex backend, against f64 references computed here: exp, erf and GELU
//! (vectorised), and attention at the ViT's shapes (blocked naive path, vectorised softmax),
//! with and without a mask. The vendored crate's own unit tests run in `.ci/run` too.
#![cfg(feature = "flex")]

use lseg::burn::tensor::activation::gelu;
use lseg::burn::tensor::module::attention;
use lseg::burn::tensor::ops::AttentionModuleOptions;
use lseg::burn::tensor::{Bool, Device, Tensor, TensorData};

fn device() -> Device {
    Device::flex()
}

/// Deterministic values in `[-amp, amp]`.
fn values(n: usize, seed: u64, amp: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * amp
        })
        .collect()
}

fn host(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn exp_erf_gelu_match_f64() {
    let xs = values(300_001, 1, 9.0);
    let t = || Tensor::<1>::from_data(TensorData::new(xs.clone(), [xs.len()]), &device());
    let exp = host(t().exp());
    let erf = host(t().erf());
    let gelu_ = host(gelu(t()));
    for (i, &x) in xs.iter().enumerate() {
        let x64 = x as f64;
        let e = x64.exp();
        assert!(
            (exp[i] as f64 - e).abs() <= 3e-7 * e,
            "exp({x}) = {}, expected {e}",
            exp[i]
        );
        let r = libm::erf(x64);
        assert!(
            (erf[i] as f64 - r).abs() <= 4e-7,
            "erf({x}) = {}, expected {r}",
            erf[i]
        );
        let g = 0.5 * x64 * (1.0 + libm::erf(x64 / 2f64.sqrt()));
        let tol = 4e-7 * (1.0 + x64.abs());
        assert!(
            (gelu_[i] as f64 - g).abs() <= tol,
            "gelu({x}) = {}, expected {g}",
            gelu_[i]
        );
    }
    // A strided view (the transposed path) gives the same values as the contiguous tensor.
    let m = Tensor::<2>::from_data(TensorData::new(xs[..600].to_vec(), [20, 30]), &device());
    let via_t = gelu(m.clone().transpose())
        .transpose()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    assert_eq!(via_t, gelu(m).into_data().try_to_vec::<f32>().unwrap());
}

/// softmax(q k^T * scale + masked) v in f64, `[heads, seq, dim]` row-major.
fn attention_f64(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    heads: usize,
    seq: usize,
    dim: usize,
    masked: impl Fn(usize, usize) -> bool,
) -> Vec<f64> {
    let scale = 1.0 / (dim as f64).sqrt();
    let mut out = vec![0.0; heads * seq * dim];
    let mut s = vec![0.0f64; seq];
    for h in 0..heads {
        let at = |x: &[f32], i: usize, d: usize| x[(h * seq + i) * dim + d] as f64;
        for i in 0..seq {
            for (j, sj) in s.iter_mut().enumerate() {
                *sj = if masked(i, j) {
                    f64::NEG_INFINITY
                } else {
                    (0..dim).map(|d| at(q, i, d) * at(k, j, d)).sum::<f64>() * scale
                };
            }
            let m = s.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = s.iter().map(|x| (x - m).exp()).sum();
            for d in 0..dim {
                let o: f64 = s
                    .iter()
                    .enumerate()
                    .map(|(j, x)| (x - m).exp() * at(v, j, d))
                    .sum();
                out[(h * seq + i) * dim + d] = o / z;
            }
        }
    }
    out
}

fn check_attention(heads: usize, seq: usize, dim: usize, with_mask: bool) {
    let n = heads * seq * dim;
    let (q, k, v) = (values(n, 2, 2.0), values(n, 3, 2.0), values(n, 4, 1.0));
    let t = |x: &Vec<f32>| {
        Tensor::<4>::from_data(TensorData::new(x.clone(), [1, heads, seq, dim]), &device())
    };
    // Mask a band of keys for every query (true = masked), never a whole row.
    let masked = |i: usize, j: usize| with_mask && j % 7 == (i % 5);
    let mask = with_mask.then(|| {
        let m: Vec<bool> = (0..seq * seq).map(|p| masked(p / seq, p % seq)).collect();
        Tensor::<4, Bool>::from_data(TensorData::new(m, [1, 1, seq, seq]), &device())
    });
    let got = attention(
        t(&q),
        t(&k),
        t(&v),
        mask,
        None,
        AttentionModuleOptions::default(),
    );
    let got = got.into_data().try_to_vec::<f32>().unwrap();
    let want = attention_f64(&q, &k, &v, heads, seq, dim, masked);
    let worst = got
        .iter()
        .zip(&want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .fold(0.0, f64::max);
    assert!(
        worst <= 2e-6,
        "attention {heads}x{seq}x{dim} mask {with_mask}: max error {worst}"
    );
}

#[test]
fn attention_matches_f64_at_vit_shapes() {
    // ViT-B/32 at 480 (226 tokens: one block), ViT-L/16 at 480 (901 tokens: blocks of 290
    // query rows and a partial last one), and a long sequence that still runs blocked.
    check_attention(2, 226, 64, false);
    check_attention(2, 901, 64, false);
    check_attention(1, 901, 64, true);
    check_attention(1, 2000, 32, false);
}
