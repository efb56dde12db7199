//! Time training steps of a preset with pseudo-random weights of the real shapes (the
//! `lseg train` step: training-mode forward, cross-entropy, backward, SGD update), next to
//! `benches/pytorch_baseline.py --bench-train`:
//! `cargo run --release --features train --example time_train_step -- vitb32 384 2 150 3`
//! (preset, crop size, batch, labels, timed steps; one warm-up step first; the backend from
//! `LSEG_TRAIN_BACKEND`, default flex, 2 threads or `LSEG_THREADS`). Prints JSON.
use std::time::Instant;

use lseg::train::{Batch, Optimizer, Schedule, TrainOptions, Trainer};
use lseg::{LoadOptions, LsegConfig, Precision};

fn main() -> lseg::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: &str| args.get(i).cloned().unwrap_or(default.into());
    let preset = arg(0, "vitb32");
    let size: usize = arg(1, "384").parse().expect("size");
    let batch: usize = arg(2, "2").parse().expect("batch");
    let n_labels: usize = arg(3, "150").parse().expect("labels");
    let reps: usize = arg(4, "3").parse().expect("steps");
    let backend: lseg::Backend = std::env::var("LSEG_TRAIN_BACKEND")
        .unwrap_or("flex".into())
        .parse()?;
    let threads = std::env::var("LSEG_THREADS").map_or(2, |t| t.parse().expect("threads"));
    lseg::set_num_threads(threads);
    let cfg = LsegConfig::preset(&preset)?;
    let dir = tempfile::tempdir().expect("temporary directory");
    let weights = dir.path().join("random.safetensors");
    let bytes = lseg::testing::random_safetensors(&cfg, Precision::F32)?;
    std::fs::write(&weights, bytes).map_err(|source| lseg::Error::Io {
        path: weights.clone(),
        source,
    })?;
    let labels: Vec<String> = (0..n_labels).map(|i| format!("class number {i}")).collect();
    let options = TrainOptions {
        optimizer: Optimizer::SGD,
        lr: 0.01,
        decoder_lr_factor: 10.0,
        weight_decay: 1e-4,
        schedule: Schedule::Constant,
    };
    let load = LoadOptions {
        backend: Some(backend),
        config: Some(cfg),
        ..Default::default()
    };
    let mut trainer = Trainer::new(&weights, &labels, options, &load)?;
    let pixels = size * size;
    let images: Vec<f32> = (0..batch * 3 * pixels)
        .map(|i| ((i * 7919) % 2001) as f32 / 1000.0 - 1.0)
        .collect();
    let targets: Vec<u16> = (0..batch * pixels)
        .map(|i| ((i / 37) % n_labels) as u16)
        .collect();
    let batch = Batch::new(images, targets, [batch, size, size])?;
    let mut times = Vec::new();
    for i in 0..=reps {
        let t = Instant::now();
        trainer.step(std::slice::from_ref(&batch))?;
        if i > 0 {
            times.push(t.elapsed().as_secs_f64());
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    println!(
        "{{\"mode\": \"train_step\", \"backend\": \"{backend}\", \"model\": \"{preset}\", \
         \"size\": {size}, \"batch\": {}, \"labels\": {n_labels}, \"threads\": {threads}, \
         \"step_s\": {times:?}, \"median_s\": {}}}",
        batch.len(),
        sorted[sorted.len() / 2]
    );
    Ok(())
}
