//! Developer tool: the rate of a backend's `conv2d` at the DPT decoder's 3x3 shapes (ViT-L/16,
//! 480x480: the RefineNet residual units at 120/60/30 px, layer1_rn, the stride-2 act_postprocess4),
//! next to the matmul rate of `gemm_rate`; the gap is what im2col, layout changes and copies cost.
//! `cargo run --release --example conv_rate -- [flex|tch|ndarray] [THREADS] [f32|f16|bf16]`
use std::time::Instant;

use lseg::Backend;
use lseg::Precision;
use lseg::burn::tensor::module::conv2d;
use lseg::burn::tensor::ops::ConvOptions;
use lseg::burn::tensor::{Tensor, TensorData};

fn main() -> lseg::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let backend: Backend = a.first().map(String::as_str).unwrap_or("flex").parse()?;
    let threads = a.get(1).and_then(|v| v.parse().ok()).unwrap_or(2);
    let precision: Precision = a.get(2).map(String::as_str).unwrap_or("f32").parse()?;
    let dtype = precision.dtype();
    lseg::set_num_threads(threads);
    let device = backend.device()?;
    // (c_in, c_out, side, stride)
    for (ci, co, side, stride) in [
        (256, 256, 120, 1),
        (256, 256, 60, 1),
        (256, 256, 30, 1),
        (512, 256, 60, 1),
        (1024, 1024, 30, 2),
    ] {
        let t = |shape: [usize; 4]| {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|i| ((i % 89) as f32 - 44.0) / 640.0).collect();
            Tensor::<4>::from_data(TensorData::new(v, shape), &device).cast(dtype)
        };
        let (x, w) = (t([1, ci, side, side]), t([co, ci, 3, 3]));
        let b = Tensor::<1>::zeros([co], &device).cast(dtype);
        let opts = ConvOptions::new([stride, stride], [1, 1], [1, 1], 1);
        let run = || conv2d(x.clone(), w.clone(), Some(b.clone()), opts.clone()).into_data();
        let _ = run();
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let t = Instant::now();
            let _ = run();
            best = best.min(t.elapsed().as_secs_f64());
        }
        let out = side.div_ceil(stride);
        let gflop = 2.0 * (ci * 9 * co * out * out) as f64 / 1e9;
        println!(
            "{backend:?} {precision:?} {threads} threads  conv3x3 {ci}->{co} {side}px s{stride}: {:7.1} GFLOP/s  {:6.2} ms (best of 5)",
            gflop / best,
            best * 1e3
        );
    }
    Ok(())
}
