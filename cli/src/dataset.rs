//! Segmentation data sets on disk (`lseg eval`, `lseg train`): the ADE20K layout and a
//! generic folder layout, their label files and masks, checked with clear errors.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use lseg::metrics::IGNORE;

use crate::Failure;

/// Data set layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataLayout {
    /// ADEChallengeData2016: images/ + annotations/, 0 = unlabeled, class k = value k.
    Ade20k,
    /// images/ + masks/ + labels.txt, class index per pixel, an ignore index.
    Folder,
}

/// Which split of an ADE20K-style data set (its `training` / `validation` subfolders).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// `training`.
    Training,
    /// `validation`.
    Validation,
}

impl Split {
    fn folder(self) -> &'static str {
        match self {
            Self::Training => "training",
            Self::Validation => "validation",
        }
    }
}

/// Where a data set is and how to read it.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// The data set directory (see `--layout`).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Class k = line k; official `*_objectInfo150.txt` files are read as the official code
    /// reads them (last comma-separated name, first `;` synonym). Default for the folder
    /// layout: DIR/labels.txt.
    #[arg(long, value_name = "FILE")]
    pub labels_file: Option<PathBuf>,
    /// ade20k: DIR/images/*.jpg and DIR/annotations/*.png (or their `training` /
    /// `validation` subfolders), mask value 0 unlabeled, k = class k. folder: DIR/images/* and
    /// DIR/masks/*.png, mask value = class index, `--ignore-index` unlabeled.
    #[arg(long, value_enum, default_value_t = DataLayout::Ade20k)]
    pub layout: DataLayout,
    /// Mask value of unlabeled pixels (default: 0 for ade20k, 255 for folder).
    #[arg(long, value_name = "N")]
    pub ignore_index: Option<u16>,
}

/// An opened data set: its labels and its (image, mask) pairs, sorted by name.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Class k's label.
    pub labels: Vec<String>,
    /// The samples.
    pub samples: Vec<Sample>,
    rule: MaskRule,
}

impl DataArgs {
    /// Open the data set (`split` of an ADE20K layout; the folder layout has one).
    pub fn open(&self, split: Split) -> Result<Dataset, Failure> {
        self.open_dir(&self.data, split)
    }

    /// Open another directory of the same layout, labels and ignore index.
    pub fn open_dir(&self, dir: &Path, split: Split) -> Result<Dataset, Failure> {
        let (images, masks, rule) = match self.layout {
            DataLayout::Ade20k => (
                split_dir(dir, "images", split),
                split_dir(dir, "annotations", split),
                MaskRule {
                    ignore: self.ignore_index.unwrap_or(0),
                    shift: 1,
                },
            ),
            DataLayout::Folder => (
                dir.join("images"),
                dir.join("masks"),
                MaskRule {
                    ignore: self.ignore_index.unwrap_or(255),
                    shift: 0,
                },
            ),
        };
        let labels_file = match (&self.labels_file, self.layout) {
            (Some(f), _) => f.clone(),
            (None, DataLayout::Folder) => self.data.join("labels.txt"),
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
        Ok(Dataset {
            labels,
            samples: samples(&images, &masks)?,
            rule,
        })
    }
}

impl Dataset {
    /// The classes of a sample's mask ([`IGNORE`] unlabeled), checked against the image
    /// size and the label count.
    pub fn read_mask(&self, path: &Path, size: (u32, u32)) -> Result<Vec<u16>, Failure> {
        read_mask_with(path, size, self.rule, self.labels.len())
    }
}

/// One image and its ground-truth mask.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The image file.
    pub image: PathBuf,
    /// Its mask file.
    pub mask: PathBuf,
}

/// How mask values become classes: `value - shift`, `ignore` unlabeled.
#[derive(Debug, Clone, Copy)]
struct MaskRule {
    ignore: u16,
    shift: u16,
}

/// `dir/name/<split>` where that exists (ADEChallengeData2016's `training` and
/// `validation`), else `dir/name`.
fn split_dir(dir: &Path, name: &str, split: Split) -> PathBuf {
    let d = dir.join(name);
    let v = d.join(split.folder());
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
fn read_mask_with(
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
