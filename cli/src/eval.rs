//! `lseg eval`: pixel accuracy and mIoU of the model on a segmentation data set, as the
//! official evaluator computes them (`lseg::metrics`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use lseg::metrics::{IGNORE, Scores, SegmentationMetric};
use lseg::{ImageView, PixelFormat};

use crate::Failure;
use crate::common::{ModelArgs, ProtocolArgs};

/// Score the model on a data set: pixAcc and mIoU as the official evaluator computes them.
///
/// The label maps scored are the ones `lseg segment` writes with the same protocol options.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The data set directory (see `--layout`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Class k = line k; official `*_objectInfo150.txt` files are read as the official code
    /// reads them (last comma-separated name, first `;` synonym). Default for the folder
    /// layout: DIR/labels.txt.
    #[arg(long, value_name = "FILE")]
    pub labels_file: Option<PathBuf>,
    /// ade20k: DIR/images/*.jpg and DIR/annotations/*.png (or their `validation`
    /// subfolders), mask value 0 unlabeled, k = class k. folder: DIR/images/* and
    /// DIR/masks/*.png, mask value = class index, `--ignore-index` unlabeled.
    #[arg(long, value_enum, default_value_t = DataLayout::Ade20k)]
    pub layout: DataLayout,
    /// Mask value of unlabeled pixels (default: 0 for ade20k, 255 for folder).
    #[arg(long, value_name = "N")]
    pub ignore_index: Option<u16>,
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

/// Data set layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataLayout {
    /// ADEChallengeData2016: images/ + annotations/, 0 = unlabeled, class k = value k.
    Ade20k,
    /// images/ + masks/ + labels.txt, class index per pixel, an ignore index.
    Folder,
}

/// The classes an mIoU averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MiouClasses {
    /// Every class (the official evaluator).
    All,
    /// The classes present in predictions or ground truth.
    Present,
}

/// One image and its ground-truth mask.
#[derive(Debug)]
struct Sample {
    image: PathBuf,
    mask: PathBuf,
}

/// How mask values become classes: `value - shift`, `ignore` unlabeled.
#[derive(Debug, Clone, Copy)]
struct MaskRule {
    ignore: u16,
    shift: u16,
}

/// `dir/name`, or `dir/name/validation` where that exists (ADEChallengeData2016's split).
fn split_dir(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join(name);
    let v = d.join("validation");
    if v.is_dir() { v } else { d }
}

/// The images of `images` (PNG/JPEG, sorted) with their masks `<stem>.png` in `masks`.
fn samples(images: &Path, masks: &Path) -> Result<Vec<Sample>, Failure> {
    let read = |d: &Path| {
        std::fs::read_dir(d).map_err(|e| Failure(format!("cannot read {}: {e}", d.display())))
    };
    read(masks)?;
    let mut out = Vec::new();
    for entry in read(images)? {
        let path = entry?.path();
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !matches!(ext.as_str(), "jpg" | "jpeg" | "png") {
            continue;
        }
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let mask = masks.join(format!("{stem}.png"));
        if !mask.is_file() {
            return Err(Failure(format!(
                "no mask for {} (expected {})",
                path.display(),
                mask.display()
            )));
        }
        out.push(Sample { image: path, mask });
    }
    if out.is_empty() {
        return Err(Failure(format!(
            "no images (PNG/JPEG) in {}",
            images.display()
        )));
    }
    out.sort_by(|a, b| a.image.cmp(&b.image));
    Ok(out)
}

/// The classes of a mask (8- or 16-bit grey PNG), checked against the image size and the
/// label count.
fn read_mask(
    path: &Path,
    size: (u32, u32),
    rule: MaskRule,
    classes: usize,
) -> Result<Vec<u16>, Failure> {
    let img = image::open(path).map_err(|e| Failure(format!("mask {}: {e}", path.display())))?;
    let (w, h) = (img.width(), img.height());
    if (w, h) != size {
        return Err(Failure(format!(
            "mask {} is {w}x{h}, its image {}x{}",
            path.display(),
            size.0,
            size.1
        )));
    }
    let values: Vec<u16> = match img {
        image::DynamicImage::ImageLuma8(m) => m.into_raw().into_iter().map(u16::from).collect(),
        image::DynamicImage::ImageLuma16(m) => m.into_raw(),
        other => {
            return Err(Failure(format!(
                "mask {} is {:?}, expected an 8- or 16-bit grey PNG of class indices",
                path.display(),
                other.color()
            )));
        }
    };
    let mut truth = Vec::with_capacity(values.len());
    for (i, v) in values.into_iter().enumerate() {
        if v == rule.ignore {
            truth.push(IGNORE);
            continue;
        }
        let class = v
            .checked_sub(rule.shift)
            .filter(|&c| (c as usize) < classes);
        match class {
            Some(c) => truth.push(c),
            None => {
                return Err(Failure(format!(
                    "mask {}: value {v} at ({}, {}) is not a class of the {classes} labels{}",
                    path.display(),
                    i % w as usize,
                    i / w as usize,
                    if rule.shift > 0 {
                        " (ade20k: 1..=N, 0 unlabeled)"
                    } else {
                        ""
                    }
                )));
            }
        }
    }
    Ok(truth)
}

/// Run `lseg eval`.
pub fn run(args: &Args) -> Result<(), Failure> {
    let (images, masks, rule) = match args.layout {
        DataLayout::Ade20k => (
            split_dir(&args.data, "images"),
            split_dir(&args.data, "annotations"),
            MaskRule {
                ignore: args.ignore_index.unwrap_or(0),
                shift: 1,
            },
        ),
        DataLayout::Folder => (
            args.data.join("images"),
            args.data.join("masks"),
            MaskRule {
                ignore: args.ignore_index.unwrap_or(255),
                shift: 0,
            },
        ),
    };
    let labels_file = match (&args.labels_file, args.layout) {
        (Some(f), _) => f.clone(),
        (None, DataLayout::Folder) => args.data.join("labels.txt"),
        (None, DataLayout::Ade20k) => {
            return Err(Failure(
                "--labels-file is needed for the ade20k layout".into(),
            ));
        }
    };
    let text = std::fs::read_to_string(&labels_file).map_err(|e| {
        Failure(format!(
            "cannot read labels file {}: {e}",
            labels_file.display()
        ))
    })?;
    let labels = lseg::labels::parse_class_file(&text);
    if labels.is_empty() {
        return Err(Failure(format!("no labels in {}", labels_file.display())));
    }
    let mut list = samples(&images, &masks)?;
    if let Some(n) = args.limit {
        list.truncate(n);
    }
    let mode = args.protocol.mode()?;
    let model = args.model.load()?;
    let label_set = model.encode_labels(&labels)?;
    let mut metric = SegmentationMetric::new(labels.len());
    let bar = (!args.quiet && !args.json).then(|| {
        let b = ProgressBar::new(list.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} images  {msg}")
                .expect("template"),
        );
        b
    });
    let start = Instant::now();
    for s in &list {
        let img = image::open(&s.image)
            .map_err(|e| Failure(format!("{}: not a readable image: {e}", s.image.display())))?
            .to_rgb8();
        let (w, h) = img.dimensions();
        let truth = read_mask(&s.mask, (w, h), rule, labels.len())?;
        let view = ImageView::packed(img.as_raw(), w as usize, h as usize, PixelFormat::Rgb8)?;
        let map = model.segment(&view, &label_set, &mode, None)?.label_map();
        metric
            .update(&map, &truth)
            .map_err(|e| Failure(format!("{}: {e}", s.image.display())))?;
        if let Some(b) = &bar {
            let sc = metric.scores();
            b.set_message(format!(
                "pixAcc {:.4}  mIoU {:.4}",
                sc.pix_acc,
                miou(&sc, args.miou_classes)
            ));
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let scores = metric.scores();
    let seconds = start.elapsed().as_secs_f64();
    crate::emit(&if args.json {
        json(&scores, &labels, args, seconds)
    } else {
        table(&scores, &labels, args, seconds)
    });
    Ok(())
}

fn miou(s: &Scores, which: MiouClasses) -> f64 {
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
