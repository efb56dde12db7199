//! `lseg eval`: pixel accuracy and mIoU of the model on a segmentation data set, as the
//! official evaluator computes them (`lseg::metrics`).

use std::time::Instant;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use lseg::metrics::{Scores, SegmentationMetric};
use lseg::{ImageView, LabelSet, Lseg, Mode, PixelFormat};

use crate::Failure;
use crate::common::{ModelArgs, ProtocolArgs};
use crate::dataset::{DataArgs, Dataset, Sample, Split};

/// Score the model on a data set: pixAcc and mIoU as the official evaluator computes them.
///
/// The label maps scored are the ones `lseg segment` writes with the same protocol options.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Which classes the reported mIoU averages: all (the official evaluator: a class absent
    /// from predictions and ground truth counts as 0) or present (only classes that occur).
    #[arg(long, value_enum, default_value_t = MiouClasses::All)]
    pub miou_classes: MiouClasses,
    /// Score only the first N images (sorted by name).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// The classes an mIoU averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MiouClasses {
    /// Every class (the official evaluator).
    All,
    /// The classes present in predictions or ground truth.
    Present,
}

/// Run `lseg eval`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let data = args.data.open(Split::Validation)?;
    let labels = data.labels.clone();
    let mut list = data.samples.clone();
    if let Some(n) = args.limit {
        list.truncate(n);
    }
    let mode = args.protocol.mode()?;
    let model = args.model.load()?;
    let label_set = model.encode_labels(&labels)?;
    let start = Instant::now();
    let scores = score(
        &model,
        &label_set,
        &list,
        &data,
        &mode,
        !args.quiet && !args.json,
        args.miou_classes,
    )?;
    let seconds = start.elapsed().as_secs_f64();
    crate::emit(&if args.json {
        json(&scores, &labels, args, seconds)
    } else {
        table(&scores, &labels, args, seconds)
    });
    Ok(())
}

/// Score `model` on `list` (label maps as `lseg segment` writes them with `mode`), with a
/// progress bar when `progress`.
pub fn score(
    model: &Lseg,
    label_set: &LabelSet,
    list: &[Sample],
    data: &Dataset,
    mode: &Mode,
    progress: bool,
    classes: MiouClasses,
) -> Result<Scores, Failure> {
    let mut metric = SegmentationMetric::new(label_set.len());
    let bar = progress.then(|| {
        let b = ProgressBar::new(list.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} images  {msg}")
                .expect("template"),
        );
        b
    });
    for s in list {
        let img = image::open(&s.image)
            .map_err(|e| Failure(format!("{}: not a readable image: {e}", s.image.display())))?
            .to_rgb8();
        let (w, h) = img.dimensions();
        let truth = data.read_mask(&s.mask, (w, h))?;
        let view = ImageView::packed(img.as_raw(), w as usize, h as usize, PixelFormat::Rgb8)?;
        let map = model.segment(&view, label_set, mode, None)?.label_map();
        metric
            .update(&map, &truth)
            .map_err(|e| Failure(format!("{}: {e}", s.image.display())))?;
        if let Some(b) = &bar {
            let sc = metric.scores();
            b.set_message(format!(
                "pixAcc {:.4}  mIoU {:.4}",
                sc.pix_acc,
                miou(&sc, classes)
            ));
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(metric.scores())
}

/// The mIoU of the chosen classes.
pub fn miou(s: &Scores, which: MiouClasses) -> f64 {
    match which {
        MiouClasses::All => s.miou,
        MiouClasses::Present => s.miou_present,
    }
}

fn json(s: &Scores, labels: &[String], args: &Args, seconds: f64) -> String {
    serde_json::json!({
        "pixAcc": s.pix_acc,
        "mIoU": miou(s, args.miou_classes),
        "mIoU_all": s.miou,
        "mIoU_present": s.miou_present,
        "miou_classes": format!("{:?}", args.miou_classes).to_lowercase(),
        "per_class_iou": s.per_class_iou,
        "labels": labels,
        "images": s.images,
        "mode": format!("{:?}", args.protocol.mode).to_lowercase(),
        "seconds": seconds,
    })
    .to_string()
        + "\n"
}

fn table(s: &Scores, labels: &[String], args: &Args, seconds: f64) -> String {
    let w = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 40);
    let mut out = format!("{:<w$}  IoU\n", "class");
    for (l, v) in labels.iter().zip(&s.per_class_iou) {
        out += &format!("{:<w$}  {v:.4}\n", l);
    }
    let present = s.per_class_iou.len() - s.per_class_iou.iter().filter(|&&v| v == 0.0).count();
    out += &format!(
        "\n{} images, {} classes, {:?} mode, {seconds:.1} s\npixAcc {:.4}  mIoU {:.4} ({})  \
         [mIoU over all classes {:.4}, over present classes {:.4}; {present} classes with IoU > 0]\n",
        s.images,
        labels.len(),
        args.protocol.mode,
        s.pix_acc,
        miou(s, args.miou_classes),
        format!("{:?}", args.miou_classes).to_lowercase(),
        s.miou,
        s.miou_present,
    );
    out
}
