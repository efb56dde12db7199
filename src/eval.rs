//! Pre-processing and the evaluation protocols: images in, per-label scores at the input
//! resolution out.
//!
//! * Pre-processing is the official one: RGB, `/255`, mean = std = 0.5. Padding uses the
//!   normalised value of black (-1). Resizing is bilinear with align_corners=True, as the
//!   official evaluator's `up_kwargs`.
//! * [`Mode::Single`]: resize the long side to `size`, pad bottom/right to a multiple of 32,
//!   run once, crop, resize the scores back to the input size.
//! * [`Mode::MultiScale`]: `LSeg_MultiEvalModule.forward` (additional_utils/models.py):
//!   scales, sliding windows with stride 2/3 of the crop, flip summed, windows averaged,
//!   scales summed.

use burn::tensor::activation::softmax;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::model::{LabelSet, Lseg};

/// Layout of the pixels of an 8-bit image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// R, G, B.
    Rgb8,
    /// B, G, R (OpenCV, ROS `bgr8`).
    Bgr8,
    /// R, G, B, A (Unity).
    Rgba8,
    /// B, G, R, A.
    Bgra8,
    /// One grey channel.
    Gray8,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            Self::Rgb8 | Self::Bgr8 => 3,
            Self::Rgba8 | Self::Bgra8 => 4,
            Self::Gray8 => 1,
        }
    }

    /// Offsets of R, G and B inside a pixel.
    fn rgb_offsets(self) -> [usize; 3] {
        match self {
            Self::Rgb8 | Self::Rgba8 => [0, 1, 2],
            Self::Bgr8 | Self::Bgra8 => [2, 1, 0],
            Self::Gray8 => [0, 0, 0],
        }
    }
}

/// A borrowed 8-bit image: `height` rows of `stride` bytes, each starting with `width` pixels.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    /// Pixel bytes.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Bytes from one row to the next (at least `width * channels`).
    pub stride: usize,
    /// Pixel layout.
    pub format: PixelFormat,
}

/// Largest accepted image side, to keep allocations bounded.
pub const MAX_IMAGE_SIDE: usize = 16384;

impl<'a> ImageView<'a> {
    /// A tightly packed image (`stride = width * channels`).
    pub fn packed(data: &'a [u8], width: usize, height: usize, format: PixelFormat) -> Self {
        Self {
            data,
            width,
            height,
            stride: width * format.channels(),
            format,
        }
    }

    /// Validate sizes against the buffer.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.width == 0 || self.height == 0 {
            return bad(format!(
                "image size {}x{} is empty",
                self.width, self.height
            ));
        }
        if self.width > MAX_IMAGE_SIDE || self.height > MAX_IMAGE_SIDE {
            return bad(format!(
                "image size {}x{} exceeds the maximum side {MAX_IMAGE_SIDE}",
                self.width, self.height
            ));
        }
        let row = self.width * self.format.channels();
        if self.stride < row {
            return bad(format!(
                "stride {} is smaller than a row ({} pixels x {} bytes = {row})",
                self.stride,
                self.width,
                self.format.channels()
            ));
        }
        let need = self.stride * (self.height - 1) + row;
        if self.data.len() < need {
            return bad(format!(
                "image buffer holds {} bytes, {}x{} with stride {} needs {need}",
                self.data.len(),
                self.width,
                self.height,
                self.stride
            ));
        }
        Ok(())
    }

    /// Normalised `[1, 3, H, W]` float32 tensor: `(v / 255 - 0.5) / 0.5`.
    pub fn to_tensor(&self, device: &Device) -> Result<Tensor<4>> {
        self.validate()?;
        let (w, h) = (self.width, self.height);
        let ch = self.format.channels();
        let off = self.format.rgb_offsets();
        let mut out = vec![0f32; 3 * h * w];
        for y in 0..h {
            let row = &self.data[y * self.stride..y * self.stride + w * ch];
            for x in 0..w {
                for c in 0..3 {
                    let v = row[x * ch + off[c]] as f32 / 255.0;
                    out[c * h * w + y * w + x] = (v - 0.5) / 0.5;
                }
            }
        }
        Ok(Tensor::from_data(
            TensorData::new(out, [1, 3, h, w]),
            device,
        ))
    }
}

/// Options of the official multi-scale evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiScale {
    /// Long side at scale 1.0 (520 in the official ADE20K evaluation).
    pub base_size: usize,
    /// Sliding-window size (480).
    pub crop_size: usize,
    /// Scales (0.5, 0.75, 1.0, 1.25, 1.5, 1.75).
    pub scales: Vec<f64>,
    /// Add the horizontally flipped prediction.
    pub flip: bool,
}

impl Default for MultiScale {
    fn default() -> Self {
        Self {
            base_size: 520,
            crop_size: 480,
            scales: vec![0.5, 0.75, 1.0, 1.25, 1.5, 1.75],
            flip: true,
        }
    }
}

/// How an image of any size becomes network inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Long side resized to `size` (`None`: keep the input size), padded to a multiple of 32.
    Single {
        /// Long side in pixels; `None` runs at the input size.
        size: Option<usize>,
    },
    /// The official multi-scale + flip sliding-window protocol.
    MultiScale(MultiScale),
}

impl Default for Mode {
    fn default() -> Self {
        Self::Single { size: Some(480) }
    }
}

/// Progress callback: `(done, total)` network passes; return `false` to cancel.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

fn bilinear_ac(x: Tensor<4>, h: usize, w: usize) -> Tensor<4> {
    let [_, _, ih, iw] = x.dims();
    if (ih, iw) == (h, w) {
        return x;
    }
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(true)
            .with_output_size([h, w]),
    )
}

/// Pad bottom/right to at least `min_h x min_w` (and to multiples of `multiple`) with `value`.
fn pad_to(x: Tensor<4>, min_h: usize, min_w: usize, multiple: usize, value: f32) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let up = |v: usize| v.div_ceil(multiple) * multiple;
    let (ph, pw) = (up(h.max(min_h)), up(w.max(min_w)));
    if (ph, pw) == (h, w) {
        return x;
    }
    let device = x.device();
    let canvas = Tensor::<4>::full([b, c, ph, pw], value, &device);
    canvas.slice_assign([0..b, 0..c, 0..h, 0..w], x)
}

fn crop(x: Tensor<4>, h0: usize, h1: usize, w0: usize, w1: usize) -> Tensor<4> {
    let [b, c, _, _] = x.dims();
    x.slice([0..b, 0..c, h0..h1, w0..w1])
}

/// Padding value: the normalised value of black, `-mean/std`.
pub const PAD_VALUE: f32 = -1.0;

impl Lseg {
    /// Count of network passes a mode needs for an `h x w` image (for progress reporting).
    pub fn passes(&self, mode: &Mode, h: usize, w: usize) -> usize {
        match mode {
            Mode::Single { .. } => 1,
            Mode::MultiScale(ms) => {
                let per = if ms.flip { 2 } else { 1 };
                ms.scales
                    .iter()
                    .map(|&s| {
                        let g = ms_geometry(ms, s, h, w);
                        g.grids.0 * g.grids.1 * per
                    })
                    .sum()
            }
        }
    }

    /// Logits of a normalised image at its own resolution, any size, by `mode`:
    /// `[1, 3, H, W]` to `[1, N, H, W]`.
    pub fn scores(
        &self,
        image: Tensor<4>,
        labels: &LabelSet,
        mode: &Mode,
        mut progress: Option<Progress>,
    ) -> Result<Tensor<4>> {
        let [b, c, h, w] = image.dims();
        if b != 1 || c != 3 || h == 0 || w == 0 {
            return Err(Error::InvalidInput(format!(
                "image tensor must be [1, 3, H, W] with H, W > 0, got {:?}",
                image.dims()
            )));
        }
        let image = image.to_device(self.device());
        let total = self.passes(mode, h, w);
        let mut done = 0;
        let mut tick = |n: usize| -> Result<()> {
            done += n;
            let keep_going = match progress.as_mut() {
                Some(p) => p(done, total),
                None => true,
            };
            if keep_going {
                Ok(())
            } else {
                Err(Error::Cancelled)
            }
        };
        let m = self.config().size_multiple();
        match mode {
            Mode::Single { size } => {
                let (rh, rw) = resized_size(h, w, *size)?;
                let x = pad_to(bilinear_ac(image, rh, rw), 0, 0, m, PAD_VALUE);
                let out = self.forward(x, labels)?;
                tick(1)?;
                Ok(bilinear_ac(crop(out, 0, rh, 0, rw), h, w))
            }
            Mode::MultiScale(ms) => {
                if ms.crop_size == 0 || ms.crop_size % m != 0 {
                    return Err(Error::InvalidInput(format!(
                        "crop size {} must be a positive multiple of {m}",
                        ms.crop_size
                    )));
                }
                if ms.scales.is_empty() || ms.scales.iter().any(|s| s.is_nan() || *s <= 0.0) {
                    return Err(Error::InvalidInput("scales must be positive".into()));
                }
                let n = labels.len();
                let device = self.device().clone();
                let mut scores = Tensor::<4>::zeros([1, n, h, w], &device);
                let crop_size = ms.crop_size;
                for &scale in &ms.scales {
                    let g = ms_geometry(ms, scale, h, w);
                    let cur = bilinear_ac(image.clone(), g.height, g.width);
                    let outputs = if g.long <= crop_size {
                        let pad = pad_to(cur, crop_size, crop_size, 1, PAD_VALUE);
                        let out = self.infer_flip(pad, labels, ms.flip)?;
                        tick(if ms.flip { 2 } else { 1 })?;
                        crop(out, 0, g.height, 0, g.width)
                    } else {
                        let pad = if g.short < crop_size {
                            pad_to(cur, crop_size, crop_size, 1, PAD_VALUE)
                        } else {
                            cur
                        };
                        let [_, _, ph, pw] = pad.dims();
                        let mut acc = Tensor::<4>::zeros([1, n, ph, pw], &device);
                        let mut count = vec![0f32; ph * pw];
                        for idh in 0..g.grids.0 {
                            for idw in 0..g.grids.1 {
                                let h0 = idh * g.stride;
                                let w0 = idw * g.stride;
                                let h1 = (h0 + crop_size).min(ph);
                                let w1 = (w0 + crop_size).min(pw);
                                let win = pad_to(
                                    crop(pad.clone(), h0, h1, w0, w1),
                                    crop_size,
                                    crop_size,
                                    1,
                                    PAD_VALUE,
                                );
                                let out = self.infer_flip(win, labels, ms.flip)?;
                                tick(if ms.flip { 2 } else { 1 })?;
                                let region = [0..1, 0..n, h0..h1, w0..w1];
                                let cur = acc.clone().slice(region.clone());
                                acc = acc
                                    .slice_assign(region, cur + crop(out, 0, h1 - h0, 0, w1 - w0));
                                for y in h0..h1 {
                                    for v in &mut count[y * pw + w0..y * pw + w1] {
                                        *v += 1.0;
                                    }
                                }
                            }
                        }
                        let count =
                            Tensor::<4>::from_data(TensorData::new(count, [1, 1, ph, pw]), &device);
                        crop(acc / count, 0, g.height, 0, g.width)
                    };
                    scores = scores + bilinear_ac(outputs, h, w);
                }
                Ok(scores)
            }
        }
    }

    /// `module_inference`: `f(x) + flip(f(flip(x)))`.
    fn infer_flip(&self, x: Tensor<4>, labels: &LabelSet, flip: bool) -> Result<Tensor<4>> {
        if !flip {
            return self.forward(x, labels);
        }
        let both = Tensor::cat(vec![x.clone(), x.flip([3])], 0);
        let out = self.forward(both, labels)?;
        let [_, n, h, w] = out.dims();
        let a = out.clone().slice([0..1, 0..n, 0..h, 0..w]);
        let b = out.slice([1..2, 0..n, 0..h, 0..w]).flip([3]);
        Ok(a + b)
    }

    /// Segment an 8-bit image: scores at the input resolution, then per-pixel label and
    /// confidence (softmax probability of the chosen label).
    pub fn segment(
        &self,
        image: &ImageView,
        labels: &LabelSet,
        mode: &Mode,
        progress: Option<Progress>,
    ) -> Result<Segmentation> {
        let x = image.to_tensor(self.device())?;
        let scores = self.scores(x, labels, mode, progress)?;
        Ok(Segmentation::from_scores(scores))
    }
}

/// Normalisation of exported pixel embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbedNorm {
    /// The raw output of `scratch.head1`.
    Raw,
    /// L2-normalised per pixel (cosine-similarity ready).
    #[default]
    L2,
    /// L2-normalised and multiplied by 1/0.07: a dot product with L2-normalised text
    /// embeddings gives LSeg's logits.
    L2Scaled,
}

/// Resolution of exported pixel embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbedResolution {
    /// The network's own grid: half the (resized) input, `ceil(h/2) x ceil(w/2)`.
    #[default]
    Native,
    /// Bilinearly resized (align_corners=True) to the input image size.
    Input,
}

/// Options of [`Lseg::embed_image`].
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedOptions {
    /// Long side the image is resized to before the network (`None`: input size).
    pub size: Option<usize>,
    /// Normalisation.
    pub norm: EmbedNorm,
    /// Output grid.
    pub resolution: EmbedResolution,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        Self {
            size: Some(480),
            norm: EmbedNorm::L2,
            resolution: EmbedResolution::Native,
        }
    }
}

/// Resized size `(h, w)` for a long side `size` (`None`: unchanged), as the official evaluator.
pub fn resized_size(h: usize, w: usize, size: Option<usize>) -> Result<(usize, usize)> {
    let (rh, rw) = match size {
        None => (h, w),
        Some(0) => return Err(Error::InvalidInput("size must be positive".into())),
        Some(s) => {
            if h > w {
                (s, ((w as f64 * s as f64 / h as f64) + 0.5) as usize)
            } else {
                (((h as f64 * s as f64 / w as f64) + 0.5) as usize, s)
            }
        }
    };
    Ok((rh.max(1), rw.max(1)))
}

impl Lseg {
    /// Dense pixel embeddings of an 8-bit image, `[1, D, h, w]` float32 (VLMaps, OpenScene,
    /// ConceptFusion style feature fusion).
    pub fn embed_image(&self, image: &ImageView, opts: &EmbedOptions) -> Result<Tensor<4>> {
        let x = image.to_tensor(self.device())?;
        let [_, _, h, w] = x.dims();
        let (rh, rw) = resized_size(h, w, opts.size)?;
        let m = self.config().size_multiple();
        let x = pad_to(bilinear_ac(x, rh, rw), 0, 0, m, PAD_VALUE);
        let e = self.embed(x)?.cast(burn::tensor::DType::F32);
        let e = crop(e, 0, rh.div_ceil(2), 0, rw.div_ceil(2));
        let e = match opts.norm {
            EmbedNorm::Raw => e,
            EmbedNorm::L2 => crate::head::l2_normalize(e, 1),
            EmbedNorm::L2Scaled => crate::head::l2_normalize(e, 1) * crate::head::LOGIT_SCALE,
        };
        Ok(match opts.resolution {
            EmbedResolution::Native => e,
            EmbedResolution::Input => bilinear_ac(e, h, w),
        })
    }
}

struct Geometry {
    height: usize,
    width: usize,
    long: usize,
    short: usize,
    stride: usize,
    grids: (usize, usize),
}

fn ms_geometry(ms: &MultiScale, scale: f64, h: usize, w: usize) -> Geometry {
    let long = (ms.base_size as f64 * scale).ceil() as usize;
    let (height, width, short) = if h > w {
        let wd = (w as f64 * long as f64 / h as f64 + 0.5) as usize;
        (long, wd, wd)
    } else {
        let ht = (h as f64 * long as f64 / w as f64 + 0.5) as usize;
        (ht, long, ht)
    };
    let (height, width) = (height.max(1), width.max(1));
    let crop = ms.crop_size;
    let stride = ((crop as f64 * 2.0 / 3.0) as usize).max(1);
    let grids = if long <= crop {
        (1, 1)
    } else {
        let (ph, pw) = if short < crop {
            (height.max(crop), width.max(crop))
        } else {
            (height, width)
        };
        let g = |p: usize| (p.saturating_sub(crop)).div_ceil(stride) + 1;
        (g(ph), g(pw))
    };
    Geometry {
        height,
        width,
        long,
        short,
        stride,
        grids,
    }
}

/// The result of [`Lseg::segment`].
#[derive(Debug, Clone)]
pub struct Segmentation {
    /// Logits `[1, N, H, W]` at the input resolution (multi-scale: summed over scales/flip).
    pub scores: Tensor<4>,
}

impl Segmentation {
    /// Wrap scores `[1, N, H, W]`.
    pub fn from_scores(scores: Tensor<4>) -> Self {
        Self { scores }
    }

    /// Image size `(height, width)`.
    pub fn size(&self) -> (usize, usize) {
        let [_, _, h, w] = self.scores.dims();
        (h, w)
    }

    /// Per-pixel label index (argmax over labels), row-major `H x W`.
    pub fn label_map(&self) -> Vec<u16> {
        let [_, n, h, w] = self.scores.dims();
        let idx: Tensor<4, Int> = self.scores.clone().argmax(1);
        let data = idx.reshape([h * w]).to_data().convert::<i64>();
        let v: Vec<i64> = data.try_to_vec().expect("int data");
        v.into_iter()
            .map(|i| i.clamp(0, n as i64 - 1) as u16)
            .collect()
    }

    /// Scores as a row-major `N x H x W` vector.
    pub fn scores_vec(&self) -> Vec<f32> {
        self.scores
            .to_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("f32 data")
    }

    /// Per-pixel softmax probability of the winning label, row-major `H x W`.
    pub fn confidence(&self) -> Vec<f32> {
        let [_, _, h, w] = self.scores.dims();
        let p = softmax(self.scores.clone(), 1).max_dim(1);
        p.reshape([h * w])
            .to_data()
            .convert::<f32>()
            .try_to_vec()
            .expect("f32 data")
    }
}
