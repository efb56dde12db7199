//! `lseg train`: fine-tune the image encoder on a segmentation data set with the official
//! recipe (`lseg::train`), the official augmentation (`augment`), checkpoints that every
//! lseg front end loads, validation with `lseg eval`'s scores, resume.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use lseg::train::{
    Batch, CLIP_PREFIX, Optimizer, Schedule, TrainOptions, Trainer, VIT_PREFIX, initial_weights,
};
use lseg::{Backend, LoadOptions, Mode};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::augment::Augment;
use crate::common::Size;
use crate::dataset::{DataArgs, Dataset, Split};
use crate::eval::{MiouClasses, miou, score};
use crate::{Failure, parse_config};

/// Fine-tune the image encoder (the text tower stays frozen) on a data set.
///
/// Defaults are the official recipe: SGD momentum 0.9, weight decay 1e-4, lr = base-lr / 16 x
/// images per step with the decoder at 10x, poly decay (power 0.9) per epoch, pixel-wise
/// cross-entropy on the logits (cosine / 0.07), random scale 0.5-2.0 of --base-size, crop
/// --crop-size, flip.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Starting weights (`.safetensors`: official weights converted by `lseg convert`, or a
    /// checkpoint of `lseg train`).
    #[arg(
        long,
        short = 'w',
        value_name = "FILE",
        required_unless_present_any = ["resume", "init"]
    )]
    pub weights: Option<PathBuf>,
    /// Start from scratch instead: random weights of a configuration (a preset, `vitl16` or
    /// `vitb32`, or a JSON file) at PyTorch's default scale, written to DIR/init.safetensors.
    #[arg(long, value_name = "PRESET|FILE", conflicts_with_all = ["weights", "resume"])]
    pub init: Option<String>,
    /// With --init: a pre-trained timm ViT (`.safetensors`, keys `blocks.0...` or
    /// `pretrained.model.blocks.0...`) for the backbone.
    #[arg(long, value_name = "FILE", requires = "init")]
    pub vit: Option<PathBuf>,
    /// With --init: the CLIP text tower (`.safetensors`, keys `transformer...` or
    /// `clip_pretrained.transformer...`); without it the labels are embedded by a random text
    /// tower.
    #[arg(long, value_name = "FILE", requires = "init")]
    pub clip: Option<PathBuf>,
    /// Model configuration for weights that neither store one nor allow inferring it.
    #[arg(long, value_name = "PRESET|FILE")]
    pub config: Option<String>,
    /// Compute backend (training computes in f32).
    #[arg(long, value_name = "flex|ndarray|tch|cuda|cuda:N")]
    pub backend: Option<Backend>,
    /// CPU threads.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub data: DataArgs,
    /// Directory of the checkpoints: `step-NNNNNN.safetensors` (weights, loadable by `lseg
    /// segment` and every binding) and `step-NNNNNN.state.safetensors` (optimizer state).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Epochs (passes over the data set; a partial last step is dropped).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub epochs: u64,
    /// Stop after this many optimizer steps (the schedule still spans --epochs).
    #[arg(long, value_name = "N")]
    pub max_steps: Option<u64>,
    /// Images per forward pass.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub batch_size: usize,
    /// Forward passes per optimizer step (gradient accumulation).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub accumulate: usize,
    /// Optimizer.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd)]
    pub optimizer: OptimizerArg,
    /// Base learning rate: the backbone's is base-lr / 16 x images per step.
    #[arg(long, default_value_t = 0.004, value_name = "LR")]
    pub base_lr: f64,
    /// Factor of the decoder's (`scratch.*`) learning rate.
    #[arg(long, default_value_t = 10.0, value_name = "F")]
    pub decoder_lr_factor: f64,
    /// Weight decay (SGD: L2 added to the gradient; AdamW: decoupled).
    #[arg(long, default_value_t = 1e-4, value_name = "WD")]
    pub weight_decay: f64,
    /// Learning-rate schedule.
    #[arg(long, value_enum, default_value_t = ScheduleArg::PolyEpoch)]
    pub schedule: ScheduleArg,
    /// Augmentation: long side at scale 1.0.
    #[arg(long, default_value_t = 520, value_name = "N")]
    pub base_size: u32,
    /// Augmentation: square crop side (a multiple of 32).
    #[arg(long, default_value_t = 480, value_name = "N")]
    pub crop_size: u32,
    /// No random flip, scale or crop: images and masks resized to --crop-size.
    #[arg(long)]
    pub no_augment: bool,
    /// Seed of the data order and the augmentation (a run is deterministic on the CPU).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Save a checkpoint every N steps (and always after the last one).
    #[arg(long, value_name = "N")]
    pub save_every: Option<u64>,
    /// Score on the validation set every N steps (and after the last one).
    #[arg(long, value_name = "N")]
    pub val_every: Option<u64>,
    /// Validation data set (same layout and labels); default: DIR's `validation` split.
    #[arg(long, value_name = "DIR")]
    pub val_data: Option<PathBuf>,
    /// Validate on the first N images only.
    #[arg(long, value_name = "N")]
    pub val_limit: Option<usize>,
    /// Validation: long side the images are resized to, as `lseg eval --size`.
    #[arg(long, default_value = "480", value_name = "N|native")]
    pub val_size: Size,
    /// Continue from a checkpoint of `lseg train` (its `.state.safetensors` beside it),
    /// with the same data, seed and options: the run continues as if never stopped.
    #[arg(long, value_name = "FILE")]
    pub resume: Option<PathBuf>,
    /// One JSON object per line on stdout: every step, validation and checkpoint.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `--optimizer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// SGD, momentum 0.9 (the official recipe).
    Sgd,
    /// AdamW, betas (0.9, 0.999), eps 1e-8.
    Adamw,
}

/// `--schedule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleArg {
    /// (1 - epoch / epochs)^0.9, stepped per epoch (the official LambdaLR).
    PolyEpoch,
    /// (1 - step / steps)^0.9, per optimizer step.
    PolyStep,
    /// Constant.
    Constant,
}

/// The state file of a checkpoint.
pub fn state_path(checkpoint: &Path) -> PathBuf {
    let name = checkpoint
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let stem = name.strip_suffix(".safetensors").unwrap_or(&name);
    checkpoint.with_file_name(format!("{stem}.state.safetensors"))
}

/// The seeded generator of one purpose (`stream`) of the run.
fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Run `lseg train`.
pub fn run(args: &Args) -> Result<(), Failure> {
    if let Some(n) = args.threads {
        lseg::set_num_threads(n.max(1));
    }
    let m = lseg::protocol::SIZE_MULTIPLE as u32;
    if args.crop_size == 0 || !args.crop_size.is_multiple_of(m) {
        return Err(Failure(format!(
            "--crop-size must be a non-zero multiple of {m}, got {}",
            args.crop_size
        )));
    }
    if args.batch_size == 0 || args.accumulate == 0 || args.epochs == 0 {
        return Err(Failure(
            "--batch-size, --accumulate and --epochs must be at least 1".into(),
        ));
    }
    let data = args.data.open(Split::Training)?;
    let per_step = args.batch_size * args.accumulate;
    let steps_per_epoch = (data.samples.len() / per_step) as u64;
    if steps_per_epoch == 0 {
        return Err(Failure(format!(
            "{} training images, fewer than one step of {per_step} (--batch-size x --accumulate)",
            data.samples.len()
        )));
    }
    let schedule_steps = args.epochs * steps_per_epoch;
    let total = args.max_steps.unwrap_or(schedule_steps).min(schedule_steps);
    let options = TrainOptions {
        optimizer: match args.optimizer {
            OptimizerArg::Sgd => Optimizer::SGD,
            OptimizerArg::Adamw => Optimizer::ADAMW,
        },
        lr: args.base_lr / 16.0 * per_step as f64,
        decoder_lr_factor: args.decoder_lr_factor,
        weight_decay: args.weight_decay,
        schedule: match args.schedule {
            ScheduleArg::PolyEpoch => Schedule::PolyEpoch {
                power: 0.9,
                epochs: args.epochs,
                steps_per_epoch,
            },
            ScheduleArg::PolyStep => Schedule::PolyStep {
                power: 0.9,
                steps: schedule_steps,
            },
            ScheduleArg::Constant => Schedule::Constant,
        },
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure(format!("cannot create {}: {e}", args.out.display())))?;
    let load = LoadOptions {
        backend: args.backend,
        config: args.config.as_deref().map(parse_config).transpose()?,
        ..Default::default()
    };
    let mut trainer = match (&args.resume, &args.weights, &args.init) {
        (Some(ckpt), _, _) => {
            let state = state_path(ckpt);
            Trainer::resume(ckpt, &state, &data.labels, options, &load)?
        }
        (None, Some(w), _) => Trainer::new(w, &data.labels, options, &load)?,
        (None, None, Some(init)) => {
            let path = initialise(init, args)?;
            let load = LoadOptions {
                config: None,
                ..load
            };
            Trainer::new(path, &data.labels, options, &load)?
        }
        (None, None, None) => unreachable!("clap requires --weights, --init or --resume"),
    };
    let validation = match args.val_every {
        None => None,
        Some(_) => {
            let dir = args.val_data.as_deref().unwrap_or(&args.data.data);
            let mut v = args.data.open_dir(dir, Split::Validation)?;
            if let Some(n) = args.val_limit {
                v.samples.truncate(n);
            }
            Some(v)
        }
    };
    let augment = Augment {
        base_size: args.base_size,
        crop_size: args.crop_size,
        random: !args.no_augment,
    };
    let bar = (!args.quiet && !args.json).then(|| {
        let b = ProgressBar::new(total);
        b.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} steps  {msg}")
                .expect("template"),
        );
        b.set_position(trainer.step_count().min(total));
        b
    });
    let n = data.samples.len() as u64;
    let mut order: Option<(u64, Vec<usize>)> = None;
    let mut last_checkpoint = None;
    while trainer.step_count() < total {
        let step = trainer.step_count();
        let epoch = step / steps_per_epoch;
        if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let mut o: Vec<usize> = (0..data.samples.len()).collect();
            o.shuffle(&mut rng(args.seed, u64::MAX - epoch));
            order = Some((epoch, o));
        }
        let o = &order.as_ref().expect("order").1;
        let first = (step % steps_per_epoch) as usize * per_step;
        let t0 = Instant::now();
        let batches = (0..args.accumulate)
            .map(|a| {
                let ids = &o[first + a * args.batch_size..first + (a + 1) * args.batch_size];
                load_batch(&data, ids, &augment, |i| {
                    rng(args.seed, epoch * n + i as u64)
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        let stats = trainer.step(&batches)?;
        let seconds = t0.elapsed().as_secs_f64();
        let done = trainer.step_count();
        let images_per_second = per_step as f64 / seconds;
        if args.json {
            emit_json(serde_json::json!({
                "step": done, "epoch": epoch, "loss": stats.loss, "lr": stats.lr,
                "pixel_accuracy": stats.pixel_accuracy, "seconds": seconds,
                "images_per_second": images_per_second,
            }));
        }
        if let Some(b) = &bar {
            b.set_message(format!(
                "loss {:.4}  lr {:.2e}  {images_per_second:.2} img/s",
                stats.loss, stats.lr
            ));
            b.set_position(done);
        }
        let last = done == total;
        let due = |every: Option<u64>| every.is_some_and(|e| e > 0 && done % e == 0);
        if last || due(args.save_every) {
            let ckpt = args.out.join(format!("step-{done:06}.safetensors"));
            trainer.save(&ckpt, state_path(&ckpt))?;
            if args.json {
                emit_json(
                    serde_json::json!({"step": done, "checkpoint": ckpt.display().to_string()}),
                );
            }
            last_checkpoint = Some(ckpt);
        }
        if let Some(v) = &validation
            && (last || due(args.val_every))
        {
            validate(&trainer, v, args, done, bar.as_ref())?;
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if !args.json {
        match &last_checkpoint {
            Some(c) => crate::emit(&format!(
                "{} steps done; checkpoint {}\n",
                trainer.step_count(),
                c.display()
            )),
            None => crate::emit(&format!(
                "nothing to do: the run is already at step {} of {total}\n",
                trainer.step_count()
            )),
        }
    }
    Ok(())
}

/// Write DIR/init.safetensors for `--init` (with `--vit` and `--clip` put over the random
/// weights) and return its path.
fn initialise(init: &str, args: &Args) -> Result<PathBuf, Failure> {
    let cfg = parse_config(init)?;
    let mut parts = Vec::new();
    if let Some(v) = &args.vit {
        parts.push((VIT_PREFIX, v.as_path()));
    }
    if let Some(c) = &args.clip {
        parts.push((CLIP_PREFIX, c.as_path()));
    }
    let (image, counts) = initial_weights(&cfg, &parts)?;
    if args.clip.is_none() {
        eprintln!(
            "warning: no --clip: the labels are embedded by a random text tower (a run only \
             useful for testing)"
        );
    }
    for ((_, path), n) in parts.iter().zip(&counts) {
        if !args.quiet && !args.json {
            eprintln!("{}: {n} tensors", path.display());
        }
    }
    let path = args.out.join("init.safetensors");
    std::fs::write(&path, image)
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// One `--json` line.
fn emit_json(v: serde_json::Value) {
    crate::emit(&format!("{v}\n"));
}

/// Read and augment the samples `ids` into one batch.
fn load_batch(
    data: &Dataset,
    ids: &[usize],
    augment: &Augment,
    rng_of: impl Fn(usize) -> ChaCha8Rng,
) -> Result<Batch, Failure> {
    let (mut images, mut targets) = (Vec::new(), Vec::new());
    for &i in ids {
        let s = &data.samples[i];
        let img = image::open(&s.image)
            .map_err(|e| Failure(format!("{}: not a readable image: {e}", s.image.display())))?
            .to_rgb8();
        let mask = data.read_mask(&s.mask, img.dimensions())?;
        let (v, t) = augment.apply(img, mask, &mut rng_of(i));
        images.extend(v);
        targets.extend(t);
    }
    let c = augment.crop_size as usize;
    Ok(Batch::new(images, targets, [ids.len(), c, c])?)
}

/// Score the current weights on the validation set and report.
fn validate(
    trainer: &Trainer,
    v: &Dataset,
    args: &Args,
    step: u64,
    bar: Option<&ProgressBar>,
) -> Result<(), Failure> {
    let model = trainer.model()?;
    let labels = model.encode_labels(&v.labels)?;
    let size = args.val_size.get();
    lseg::protocol::check_size(size).map_err(|e| Failure(format!("--val-size: {e}")))?;
    let s = score(
        &model,
        &labels,
        &v.samples,
        v,
        &Mode::Single { size },
        false,
        MiouClasses::All,
    )?;
    if args.json {
        emit_json(serde_json::json!({
            "step": step, "val_pixAcc": s.pix_acc, "val_mIoU": miou(&s, MiouClasses::All),
            "val_images": s.images,
        }));
    } else {
        let line = format!(
            "step {step}: validation pixAcc {:.4}  mIoU {:.4} ({} images)",
            s.pix_acc, s.miou, s.images
        );
        match bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }
    Ok(())
}
