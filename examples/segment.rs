//! The Rust API in a few lines: load weights, encode labels once, segment an image, print
//! the label shares. Without an image path it segments a synthetic gradient image, which makes
//! it the workload of the peak-memory measurement (`benches/run.sh`).
//!
//! `cargo run --release --example segment -- WEIGHTS [--backend flex|ndarray|tch|cuda:N]
//!  [--dtype f32|f16|bf16] [--size N] [--multiscale] [--width W --height H] [LABEL...]`
use lseg::{ImageView, LoadOptions, Lseg, Mode, MultiScale, PixelFormat};

fn main() -> lseg::Result<()> {
    let mut args = std::env::args().skip(1);
    let weights = args
        .next()
        .expect("usage: segment WEIGHTS [options] [LABEL...]");
    let mut opts = LoadOptions::default();
    let (mut w, mut h, mut size) = (480usize, 480usize, 480usize);
    let mut labels = Vec::new();
    let mut multiscale = false;
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("option value");
        match a.as_str() {
            "--backend" => opts.backend = Some(val().parse()?),
            "--dtype" => opts.precision = val().parse()?,
            "--size" => size = val().parse().expect("--size N"),
            "--width" => w = val().parse().expect("--width W"),
            "--height" => h = val().parse().expect("--height H"),
            "--multiscale" => multiscale = true,
            _ => labels.push(a),
        }
    }
    if labels.is_empty() {
        labels = ["dog", "grass", "other", "a red car", "sky"]
            .map(String::from)
            .to_vec();
    }
    let t = std::time::Instant::now();
    let model = Lseg::load(&weights, &opts)?;
    eprintln!(
        "loaded {} on {} ({}) in {:.2?}",
        weights,
        model.backend(),
        model.precision(),
        t.elapsed()
    );
    let label_set = model.encode_labels(&labels)?;
    let pixels: Vec<u8> = (0..w * h * 3)
        .map(|i| ((i / 3) % w * 255 / w) as u8)
        .collect();
    let image = ImageView::packed(&pixels, w, h, PixelFormat::Rgb8)?;
    let t = std::time::Instant::now();
    let mode = if multiscale {
        Mode::MultiScale(MultiScale::default())
    } else {
        Mode::Single { size: Some(size) }
    };
    let seg = model.segment(&image, &label_set, &mode, None)?;
    let map = seg.label_map();
    eprintln!("segmented {w}x{h} in {:.2?}", t.elapsed());
    for (i, l) in labels.iter().enumerate() {
        let n = map.iter().filter(|&&v| v as usize == i).count();
        println!("{l:>20}: {:5.1}%", 100.0 * n as f64 / map.len() as f64);
    }
    Ok(())
}
