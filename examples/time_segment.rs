//! Developer tool: steady-state time of `segment` + label map through the Rust API, the
//! baseline of the bindings' overhead benchmarks (bindings/python/benches/overhead.py).
//! `cargo run --release --example time_segment -- WEIGHTS IMAGE.rgb WIDTH HEIGHT SIZE ITERS`
//! (IMAGE.rgb: packed 8-bit RGB). Prints the median and the minimum seconds per call.
use std::time::Instant;

use lseg::{ImageView, LoadOptions, Lseg, Mode, PixelFormat};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 6 {
        return Err("usage: time_segment WEIGHTS IMAGE.rgb WIDTH HEIGHT SIZE ITERS".into());
    }
    let model = Lseg::load(&a[0], &LoadOptions::default())?;
    let pixels = std::fs::read(&a[1])?;
    let (w, h): (usize, usize) = (a[2].parse()?, a[3].parse()?);
    let mode = Mode::Single {
        size: Some(a[4].parse()?),
    };
    let iters: usize = a[5].parse()?;
    let view = ImageView::packed(&pixels, w, h, PixelFormat::Rgb8)?;
    let labels = model.encode_labels(&["floor", "wall", "person", "chair", "other"])?;
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters + 1 {
        let t = Instant::now();
        let seg = model.segment(&view, &labels, &mode, None)?;
        std::hint::black_box(seg.label_map());
        if i > 0 {
            times.push(t.elapsed().as_secs_f64()); // the first call warms up
        }
    }
    times.sort_by(f64::total_cmp);
    println!("median {:.6} min {:.6}", times[times.len() / 2], times[0]);
    Ok(())
}
