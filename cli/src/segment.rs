//! `lseg segment`: images and labels in; label pictures, overlays, shares and arrays out.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::ValueEnum;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use lseg::{
    EmbedLayout, EmbedNorm, EmbedOptions, EmbedResolution, ImageView, LabelSet, Lseg, Mode,
    PixelFormat, percent_shares,
};

use crate::common::{ModelArgs, ProtocolArgs};
use crate::{Failure, npy, render};

/// Segment images with free-form labels.
///
/// For each IMAGE writes `<stem>.labels.png` (a colour per label) and `<stem>.overlay.png`
/// (the image blended with the colours, with a legend) to the output directory, and prints
/// each label's share of the pixels.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Comma-separated labels, e.g. "dog, grass, other".
    #[arg(
        long,
        short = 'l',
        value_name = "LIST",
        required_unless_present = "labels_file",
        conflicts_with = "labels_file"
    )]
    pub labels: Option<String>,
    /// File with one label per line (blank lines and lines starting with `#` are skipped).
    #[arg(long, value_name = "FILE")]
    pub labels_file: Option<PathBuf>,
    /// Images (PNG or JPEG). A bad image is reported and skipped; the exit status is then 1.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<PathBuf>,
    /// Output directory for the pictures.
    #[arg(long, short = 'o', default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub protocol: ProtocolArgs,
    /// Truncate labels longer than CLIP's 77 tokens instead of failing.
    #[arg(long)]
    pub truncate: bool,
    /// Overlay opacity of the label colours, 0 to 1.
    #[arg(long, default_value_t = 0.5, value_name = "A")]
    pub alpha: f32,
    /// Also write `<stem>.index.png`: the label index of each pixel as a grey level
    /// (8-bit, 16-bit above 256 labels).
    #[arg(long)]
    pub index: bool,
    /// Write the scores: float32 `[labels, H, W]`, the logits at the input resolution before
    /// the argmax. With several images, `{stem}` in the name is replaced by the image's
    /// stem, or the stem is added before the extension.
    #[arg(long, value_name = "FILE.npy")]
    pub scores: Option<PathBuf>,
    /// Write the pixel embeddings: float32 `[512, h, w]` from one pass at `--size`. Several
    /// images: as `--scores`.
    #[arg(long, value_name = "FILE.npy")]
    pub embeddings: Option<PathBuf>,
    /// Normalisation of `--embeddings`: raw (`scratch.head1` output), l2 (unit length per
    /// pixel), l2-scaled (unit length times 1/0.07: a dot product with the unit text
    /// embeddings gives the logits).
    #[arg(long, value_enum, default_value_t = NormArg::L2)]
    pub embed_norm: NormArg,
    /// Grid of `--embeddings`: native (the network's, half the resized input) or input (resized
    /// to the image size).
    #[arg(long, value_enum, default_value_t = ResArg::Native)]
    pub embed_resolution: ResArg,
    /// Print one JSON object per image instead of the table.
    #[arg(long)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Embedding normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NormArg {
    /// Raw.
    Raw,
    /// Unit length.
    L2,
    /// Unit length times 1/0.07.
    L2Scaled,
}

/// Embedding grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResArg {
    /// The network's grid.
    Native,
    /// The input image size.
    Input,
}

/// The labels of `--labels` or `--labels-file`.
fn read_labels(args: &Args) -> Result<Vec<String>, Failure> {
    if let Some(path) = &args.labels_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure(format!("cannot read labels file {}: {e}", path.display())))?;
        let labels = lseg::labels::parse_lines(&text);
        if labels.is_empty() {
            return Err(Failure(format!("no labels in {}", path.display())));
        }
        return Ok(labels);
    }
    let list = args.labels.as_deref().unwrap_or_default();
    let labels = lseg::labels::split_list(list);
    if labels.iter().all(String::is_empty) {
        return Err(Failure("no labels given (--labels is empty)".into()));
    }
    if let Some(i) = labels.iter().position(String::is_empty) {
        return Err(Failure(format!(
            "label {} of --labels \"{list}\" is empty",
            i + 1
        )));
    }
    Ok(labels)
}

/// `template` for one of several images: `{stem}` replaced, else `.stem` before the extension.
fn per_image(template: &Path, stem: &str, many: bool) -> PathBuf {
    let s = template.to_string_lossy();
    if s.contains("{stem}") {
        return PathBuf::from(s.replace("{stem}", stem));
    }
    if !many {
        return template.to_path_buf();
    }
    let base = template
        .file_stem()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match template.extension() {
        Some(ext) => format!("{base}.{stem}.{}", ext.to_string_lossy()),
        None => format!("{base}.{stem}"),
    };
    template.with_file_name(name)
}

struct Done {
    width: u32,
    height: u32,
    shares: Vec<f64>,
    files: Vec<PathBuf>,
    seconds: f64,
}

struct Job<'a> {
    args: &'a Args,
    model: &'a Lseg,
    labels: &'a LabelSet,
    mode: &'a Mode,
    many: bool,
}

impl Job<'_> {
    fn save_png(img: &impl SaveImage, path: &Path) -> Result<(), Failure> {
        img.save_png(path)
            .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
    }

    fn process(
        &self,
        path: &Path,
        stem: &str,
        pass_bar: Option<&ProgressBar>,
    ) -> Result<Done, Failure> {
        let start = Instant::now();
        let img = image::ImageReader::open(path)
            .map_err(|e| Failure(format!("cannot read: {e}")))?
            .with_guessed_format()
            .map_err(|e| Failure(format!("cannot read: {e}")))?
            .decode()
            .map_err(|e| Failure(format!("not a readable image: {e}")))?
            .to_rgb8();
        let (w, h) = img.dimensions();
        let view = ImageView::packed(img.as_raw(), w as usize, h as usize, PixelFormat::Rgb8)?;
        let seg = match pass_bar {
            Some(bar) => {
                bar.reset();
                bar.set_length(self.model.passes(self.mode, h as usize, w as usize) as u64);
                let mut tick = |done: usize, total: usize| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                    true
                };
                self.model
                    .segment(&view, self.labels, self.mode, Some(&mut tick))?
            }
            None => self.model.segment(&view, self.labels, self.mode, None)?,
        };
        let map = seg.label_map();
        let shares = percent_shares(&map, self.labels.len());
        let out = &self.args.out;
        let mut files = Vec::new();

        let p = out.join(format!("{stem}.labels.png"));
        Self::save_png(&render::label_image(&map, w, h), &p)?;
        files.push(p);
        let p = out.join(format!("{stem}.overlay.png"));
        let ov = render::overlay(&img, &map, self.args.alpha, self.labels.labels(), &shares);
        Self::save_png(&ov, &p)?;
        files.push(p);
        if self.args.index {
            let p = out.join(format!("{stem}.index.png"));
            if self.labels.len() <= 256 {
                let v: Vec<u8> = map.iter().map(|&l| l as u8).collect();
                let g = image::GrayImage::from_raw(w, h, v).expect("size");
                Self::save_png(&g, &p)?;
            } else {
                let g = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w, h, map.clone())
                    .expect("size");
                Self::save_png(&g, &p)?;
            }
            files.push(p);
        }
        if let Some(t) = &self.args.scores {
            let p = per_image(t, stem, self.many);
            let n = self.labels.len();
            npy::write_f32(&p, &[n, h as usize, w as usize], &seg.scores_vec())?;
            files.push(p);
        }
        if let Some(t) = &self.args.embeddings {
            let opts = EmbedOptions {
                size: self.args.protocol.size.get(),
                norm: match self.args.embed_norm {
                    NormArg::Raw => EmbedNorm::Raw,
                    NormArg::L2 => EmbedNorm::L2,
                    NormArg::L2Scaled => EmbedNorm::L2Scaled,
                },
                resolution: match self.args.embed_resolution {
                    ResArg::Native => EmbedResolution::Native,
                    ResArg::Input => EmbedResolution::Input,
                },
            };
            let e = self.model.embed_pixels(&view, &opts, EmbedLayout::Chw)?;
            let p = per_image(t, stem, self.many);
            npy::write_f32(&p, &[e.dim, e.height, e.width], &e.data)?;
            files.push(p);
        }
        Ok(Done {
            width: w,
            height: h,
            shares,
            files,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    fn report(&self, path: &Path, d: &Done) -> String {
        let labels = self.labels.labels();
        if self.args.json {
            let shares: Vec<serde_json::Value> = labels
                .iter()
                .zip(&d.shares)
                .map(|(l, s)| serde_json::json!({ "label": l, "percent": s }))
                .collect();
            let files: Vec<String> = d.files.iter().map(|f| f.display().to_string()).collect();
            return serde_json::json!({
                "image": path.display().to_string(),
                "width": d.width,
                "height": d.height,
                "shares": shares,
                "files": files,
                "seconds": (d.seconds * 1000.0).round() / 1000.0,
            })
            .to_string();
        }
        let wl = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let mut s = format!(
            "{} ({}x{}, {:.2} s) -> {}",
            path.display(),
            d.width,
            d.height,
            d.seconds,
            d.files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (l, p) in labels.iter().zip(&d.shares) {
            s.push_str(&format!("\n  {l:<wl$}  {p:>6.2}%"));
        }
        s
    }
}

/// PNG writing for the image buffer kinds used here.
trait SaveImage {
    fn save_png(&self, path: &Path) -> image::ImageResult<()>;
}

impl<P, C> SaveImage for image::ImageBuffer<P, C>
where
    P: image::PixelWithColorType,
    [P::Subpixel]: image::EncodableLayout,
    C: std::ops::Deref<Target = [P::Subpixel]>,
{
    fn save_png(&self, path: &Path) -> image::ImageResult<()> {
        self.save_with_format(path, image::ImageFormat::Png)
    }
}

pub fn run(args: &Args) -> Result<ExitCode, Failure> {
    let labels = read_labels(args)?;
    if !(0.0..=1.0).contains(&args.alpha) {
        return Err(Failure(format!(
            "--alpha must be in 0..1, got {}",
            args.alpha
        )));
    }
    let mode = args.protocol.mode()?;
    let model = args.model.load()?;
    let label_set = model.encode_labels_with(&labels, args.truncate)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure(format!("cannot create {}: {e}", args.out.display())))?;

    let many = args.images.len() > 1;
    let multi = MultiProgress::new();
    let show = !args.quiet && !multi.is_hidden();
    let style = |t: &str| ProgressStyle::with_template(t).expect("template");
    let image_bar = (show && many).then(|| {
        let b = multi.add(ProgressBar::new(args.images.len() as u64));
        b.set_style(style(
            "{elapsed_precise} [{bar:30}] {pos}/{len} images  {wide_msg}",
        ));
        b
    });
    let pass_bar = (show && matches!(mode, Mode::MultiScale(_))).then(|| {
        let b = multi.add(ProgressBar::new(0));
        b.set_style(style("{elapsed_precise} [{bar:30}] {pos}/{len} passes"));
        b
    });

    let job = Job {
        args,
        model: &model,
        labels: &label_set,
        mode: &mode,
        many,
    };
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut failed = 0;
    let stdout = std::io::stdout();
    for path in &args.images {
        let base = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let k = used.entry(base.clone()).or_default();
        *k += 1;
        let stem = if *k == 1 { base } else { format!("{base}-{k}") };
        if let Some(b) = &image_bar {
            b.set_message(path.display().to_string());
        }
        let result = job.process(path, &stem, pass_bar.as_ref());
        multi.suspend(|| match &result {
            Ok(done) => {
                // A closed stdout (e.g. `| head`) is not an error of the run.
                let _ = writeln!(stdout.lock(), "{}", job.report(path, done));
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {}", path.display(), e.0);
            }
        });
        if let Some(b) = &image_bar {
            b.inc(1);
        }
    }
    for b in [image_bar, pass_bar].into_iter().flatten() {
        b.finish_and_clear();
    }
    if failed > 0 {
        eprintln!(
            "error: {failed} of {} image{} failed",
            args.images.len(),
            if args.images.len() == 1 { "" } else { "s" }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_image_names() {
        let t = Path::new("a/scores.npy");
        assert_eq!(per_image(t, "x", false), PathBuf::from("a/scores.npy"));
        assert_eq!(per_image(t, "x", true), PathBuf::from("a/scores.x.npy"));
        let t = Path::new("s_{stem}.npy");
        assert_eq!(per_image(t, "x", true), PathBuf::from("s_x.npy"));
    }
}
