//! How much half-precision compute changes the segmentation: segments one synthetic image
//! with float32 and with a half-precision compute dtype and reports the share of pixels whose
//! label is the same and the largest logit difference (`benches/run.sh` runs it).
//!
//! `cargo run --release --example precision_agreement -- WEIGHTS BACKEND DTYPE [SIZE]`
use lseg::{ImageView, LoadOptions, Lseg, Mode, PixelFormat};

fn main() -> lseg::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        eprintln!("usage: precision_agreement WEIGHTS BACKEND DTYPE [SIZE]");
        std::process::exit(2);
    }
    let backend = a[1].parse()?;
    let size: usize = a.get(3).and_then(|s| s.parse().ok()).unwrap_or(480);
    let labels = [
        "dog",
        "grass",
        "other",
        "a red car",
        "sky",
        "building",
        "road",
        "tree",
    ];
    // A synthetic image with structure at several scales.
    let pixels: Vec<u8> = (0..size * size)
        .flat_map(|i| {
            let (y, x) = ((i / size) as f32, (i % size) as f32);
            let v = |f: f32, p: f32| (127.5 + 127.5 * (f * x + p * y).sin()) as u8;
            [v(0.03, 0.011), v(0.007, 0.05), v(0.021, -0.017)]
        })
        .collect();
    let image = ImageView::packed(&pixels, size, size, PixelFormat::Rgb8)?;
    let mode = Mode::Single { size: Some(size) };
    let run = |precision| -> lseg::Result<(Vec<u16>, Vec<f32>)> {
        let opts = LoadOptions {
            backend: Some(backend),
            precision,
            config: None,
        };
        let model = Lseg::load(&a[0], &opts)?;
        let set = model.encode_labels(&labels)?;
        let seg = model.segment(&image, &set, &mode, None)?;
        Ok((seg.label_map(), seg.scores_vec()))
    };
    let (map32, s32) = run(lseg::Precision::F32)?;
    let (maph, sh) = run(a[2].parse()?)?;
    let same = map32.iter().zip(&maph).filter(|(x, y)| x == y).count();
    let max_abs = s32
        .iter()
        .zip(&sh)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    let max_mag = s32.iter().map(|x| x.abs()).fold(0f32, f32::max);
    println!(
        "{} {} vs f32, {size}x{size}, {} labels: label agreement {:.2}%, max |logit diff| {max_abs:.3e} \
         (logits up to {max_mag:.2})",
        a[1],
        a[2],
        labels.len(),
        100.0 * same as f64 / map32.len() as f64
    );
    Ok(())
}
