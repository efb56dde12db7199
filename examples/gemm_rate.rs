//! Developer tool: the matmul rate of a backend at the ViT's GEMM shapes and at 2048^3; in
//! f32 it is the "GEMM limit" the performance numbers are compared with (forward GFLOP / this
//! rate). `cargo run --release --example gemm_rate -- [flex|tch|ndarray] [THREADS] [f32|f16|bf16]`
use std::time::Instant;

use lseg::Backend;
use lseg::Precision;
use lseg::burn::tensor::{Tensor, TensorData};

fn main() -> lseg::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let backend: Backend = a.first().map(String::as_str).unwrap_or("flex").parse()?;
    let threads = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(2);
    let precision: Precision = a.get(2).map(String::as_str).unwrap_or("f32").parse()?;
    let dtype = precision.dtype();
    lseg::set_num_threads(threads);
    let device = backend.device()?;
    // (m, k, n): ViT-L/16 at 480x480 (901 tokens): qkv, MLP in, MLP out; then a square one.
    for (m, k, n) in [
        (901, 1024, 3072),
        (901, 1024, 4096),
        (901, 4096, 1024),
        (2048, 2048, 2048),
    ] {
        let x = |r: usize, c: usize| {
            let v: Vec<f32> = (0..r * c)
                .map(|i| ((i % 89) as f32 - 44.0) / 64.0)
                .collect();
            Tensor::<2>::from_data(TensorData::new(v, [r, c]), &device).cast(dtype)
        };
        let (l, r) = (x(m, k), x(k, n));
        let _ = l.clone().matmul(r.clone()).into_data();
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            let _ = l.clone().matmul(r.clone()).into_data();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let gflop = 2.0 * (m * k * n) as f64 / 1e9;
        println!(
            "{backend:?} {precision:?} {threads} threads  {m}x{k}x{n}: {:7.1} GFLOP/s (best of 5)",
            gflop / best
        );
    }
    Ok(())
}
