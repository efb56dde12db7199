//! Throughput of `Lseg::segment_batch` (single scale) for batches of 1, 4 and 8 images:
//! `cargo run --release --example time_batch -- vitb32 480 3 [flex|tch]` (preset, image side,
//! timed calls per batch size after a warm-up call, backend; 2 threads or `LSEG_THREADS`).
//! Prints one JSON line per batch size with images per second.
use std::time::Instant;

use lseg::{ImageView, LoadOptions, Lseg, LsegConfig, Mode, PixelFormat};

fn main() -> lseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.into());
    let preset = arg(0, "vitb32");
    let side: usize = arg(1, "480").parse().expect("side");
    let reps: usize = arg(2, "3").parse().expect("reps");
    let backend: lseg::Backend = arg(3, "flex").parse()?;
    let threads = std::env::var("LSEG_THREADS").map_or(2, |t| t.parse().expect("threads"));
    lseg::set_num_threads(threads);
    let opts = LoadOptions {
        backend: Some(backend),
        ..Default::default()
    };
    let model = Lseg::random(&LsegConfig::preset(&preset)?, &opts)?;
    let labels = model.encode_labels(&["dog", "grass", "sky", "building", "other"])?;
    let pictures: Vec<Vec<u8>> = (0..8)
        .map(|k| {
            (0..side * side * 3)
                .map(|i| ((i * (k + 3)) % 253) as u8)
                .collect()
        })
        .collect();
    let mode = Mode::Single { size: Some(side) };
    for n in [1usize, 4, 8] {
        let views: Vec<ImageView> = pictures[..n]
            .iter()
            .map(|p| ImageView::packed(p, side, side, PixelFormat::Rgb8))
            .collect::<lseg::Result<_>>()?;
        model.segment_batch(&views, &labels, &mode, None)?;
        let mut rates = Vec::new();
        for _ in 0..reps {
            let t = Instant::now();
            model.segment_batch(&views, &labels, &mode, None)?;
            rates.push(n as f64 / t.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{{\"mode\": \"segment_batch\", \"backend\": \"{backend}\", \"model\": \"{preset}\", \
             \"side\": {side}, \"batch\": {n}, \"threads\": {threads}, \"images_per_s\": {rates:?}, \
             \"median_images_per_s\": {}}}",
            rates[rates.len() / 2]
        );
    }
    Ok(())
}
