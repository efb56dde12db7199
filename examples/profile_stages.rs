//! Developer tool: time the stages of one forward pass on random weights of a preset.
//! `cargo run --release --example profile_stages -- vitl16 flex f32 480`
use std::time::Instant;

use lseg::burn::tensor::{Tensor, TensorData};
use lseg::{LoadOptions, Lseg, LsegConfig};

fn main() -> lseg::Result<()> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let cfg = LsegConfig::preset(a.first().map(String::as_str).unwrap_or("vitl16"))?;
    let opts = LoadOptions {
        backend: Some(a.get(1).map(String::as_str).unwrap_or("flex").parse()?),
        precision: a.get(2).map(String::as_str).unwrap_or("f32").parse()?,
        config: None,
    };
    let s: usize = a.get(3).and_then(|v| v.parse().ok()).unwrap_or(480);
    lseg::set_num_threads(2);
    let model = Lseg::random(&cfg, &opts)?;
    let x: Vec<f32> = (0..3 * s * s)
        .map(|i| ((i % 97) as f32 / 48.5) - 1.0)
        .collect();
    let x = Tensor::<4>::from_data(TensorData::new(x, [1, 3, s, s]), model.device());
    let labels = model.encode_labels(&["dog", "grass", "other", "a red car", "sky"])?;
    for round in 0..2 {
        let t = Instant::now();
        let stages = model.profile(x.clone(), &labels)?;
        let total = t.elapsed().as_secs_f64();
        if round == 1 {
            for (name, secs) in stages {
                println!("{name:>24}: {secs:7.3} s  {:5.1}%", 100.0 * secs / total);
            }
            println!("{:>24}: {total:7.3} s", "total");
        }
    }
    Ok(())
}
