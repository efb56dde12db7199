//! lseg benchmarks: full-size models with pseudo-random weights of the real shapes
//! (nothing downloaded). Run with `bash benches/run.sh` (it also runs the PyTorch baseline
//! and the memory measurements) or directly:
//!
//! `cargo bench --bench lseg --features tch -- [FILTER]`
//!
//! Environment: `LSEG_BENCH_BACKENDS` (default: every backend compiled in, e.g. `flex,tch`),
//! `LSEG_BENCH_MODELS` (default `vitl16,vitb32`), `LSEG_BENCH_PRECISIONS` (default `f32`,
//! e.g. `f32,bf16`; flex half precisions only with `LSEG_BENCH_FLEX_HALF=1`), `LSEG_BENCH_THREADS`
//! (default 2), `LSEG_BENCH_MULTISCALE=1` (adds the multi-scale segment).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lseg::burn::tensor::{Tensor, TensorData};
use lseg::{Backend, LoadOptions, Lseg, LsegConfig, Mode, MultiScale, Precision};

fn list<T: std::str::FromStr>(var: &str, default: &str) -> Vec<T> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .ok()
                .unwrap_or_else(|| panic!("bad {var} entry {s}"))
        })
        .collect()
}

fn backends() -> Vec<Backend> {
    let default: Vec<String> = Backend::compiled().iter().map(|b| b.to_string()).collect();
    list("LSEG_BENCH_BACKENDS", &default.join(","))
}

/// A smooth synthetic RGB image.
fn image(h: usize, w: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(h * w * 3);
    for y in 0..h {
        for x in 0..w {
            v.push((x * 255 / w) as u8);
            v.push((y * 255 / h) as u8);
            v.push(((x + y) * 127 / (w + h)) as u8);
        }
    }
    v
}

fn size_of(model: &str) -> usize {
    if model == "vitb32" { 384 } else { 480 }
}

fn bench(c: &mut Criterion) {
    let threads: usize = std::env::var("LSEG_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    lseg::set_num_threads(threads);
    let models: Vec<String> = list("LSEG_BENCH_MODELS", "vitl16,vitb32");
    let precisions: Vec<String> = list("LSEG_BENCH_PRECISIONS", "f32");
    let five = ["dog", "grass", "other", "a red car", "sky"];
    let dir = tempfile::tempdir().unwrap();
    for name in &models {
        let cfg = LsegConfig::preset(name).unwrap();
        // Load time of the f32 safetensors file (warm page cache).
        let path = dir.path().join(format!("{name}.safetensors"));
        std::fs::write(
            &path,
            lseg::testing::random_safetensors(&cfg, Precision::F32).unwrap(),
        )
        .unwrap();
        for backend in backends() {
            for p in &precisions {
                let precision: Precision = p.parse().unwrap();
                // flex computes f16/bf16 without native CPU instructions (slower than f32):
                // measured only on request.
                let flex_half = backend == Backend::Flex && precision != Precision::F32;
                if !backend.supports(precision)
                    || (flex_half && std::env::var("LSEG_BENCH_FLEX_HALF").is_err())
                {
                    continue;
                }
                let opts = LoadOptions {
                    backend: Some(backend),
                    precision,
                    config: None,
                };
                let tag = format!("{name}/{backend}/{precision}");
                let mut g = c.benchmark_group(&tag);
                g.sample_size(10)
                    .warm_up_time(Duration::from_millis(500))
                    .measurement_time(Duration::from_secs(5));
                g.bench_function("load", |b| {
                    b.iter(|| black_box(Lseg::load(&path, &opts).unwrap()))
                });
                let model = Lseg::load(&path, &opts).unwrap();
                if precision == Precision::F32 {
                    g.bench_function("text_5_labels", |b| {
                        b.iter(|| black_box(model.encode_labels(&five).unwrap()))
                    });
                    g.bench_function("text_150_ade20k", |b| {
                        b.iter(|| black_box(model.encode_labels(&lseg::labels::ADE20K).unwrap()))
                    });
                }
                let labels = model.encode_labels(&five).unwrap();
                let s = size_of(name);
                let x: Vec<f32> = (0..3 * s * s)
                    .map(|i| ((i % 97) as f32 / 48.5) - 1.0)
                    .collect();
                let x = Tensor::<4>::from_data(TensorData::new(x, [1, 3, s, s]), model.device());
                g.bench_function(format!("embed_{s}x{s}"), |b| {
                    b.iter(|| {
                        let e = model.embed(x.clone()).unwrap();
                        black_box(e.into_data())
                    })
                });
                let img = image(s, s);
                let view = lseg::ImageView::packed(&img, s, s, lseg::PixelFormat::Rgb8).unwrap();
                let single = Mode::Single { size: Some(s) };
                g.bench_function(format!("segment_single_{s}x{s}"), |b| {
                    b.iter(|| {
                        let seg = model.segment(&view, &labels, &single, None).unwrap();
                        black_box(seg.label_map())
                    })
                });
                if std::env::var("LSEG_BENCH_MULTISCALE").is_ok_and(|v| v == "1") {
                    let img = image(360, 480);
                    let view =
                        lseg::ImageView::packed(&img, 480, 360, lseg::PixelFormat::Rgb8).unwrap();
                    let ms = Mode::MultiScale(MultiScale::default());
                    g.sample_size(10).measurement_time(Duration::from_secs(1));
                    g.bench_function("segment_multiscale_360x480", |b| {
                        b.iter(|| {
                            let seg = model.segment(&view, &labels, &ms, None).unwrap();
                            black_box(seg.label_map())
                        })
                    });
                }
                g.finish();
            }
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
