//! The evaluation protocols: an image of any size in, per-label scores at its resolution out.
//!
//! * [`Mode::Single`]: resize the long side to `size` (bilinear, align_corners=True, as the
//!   official evaluator's `up_kwargs`), pad bottom/right to a multiple of 32 with the
//!   normalised value of black (-1), run once, crop, resize the scores back to the input size.
//! * [`Mode::MultiScale`]: `LSeg_MultiEvalModule.forward` (additional_utils/models.py):
//!   scales, sliding windows with stride 2/3 of the crop, flip summed, windows averaged,
//!   scales summed.

use burn::tensor::{Tensor, TensorData};

use crate::error::{Error, Result};
use crate::image::{ImageView, MAX_IMAGE_SIDE};
use crate::model::{LabelSet, Lseg};
use crate::nn::resize_bilinear;
use crate::segmentation::Segmentation;

/// Side multiple of every network input (and of the multi-scale crop).
pub const SIZE_MULTIPLE: usize = 32;

/// Options of the official multi-scale evaluator.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiScale {
    /// Long side at scale 1.0 (520 in the official ADE20K evaluation).
    pub base_size: usize,
    /// Sliding-window size (480), a multiple of 32.
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

impl MultiScale {
    /// Most scales a protocol may have.
    pub const MAX_SCALES: usize = 64;

    /// Check the options: `base_size` in `1..=MAX_IMAGE_SIDE`; `crop_size` a positive
    /// multiple of 32 up to `MAX_IMAGE_SIDE`; 1 to [`Self::MAX_SCALES`] scales, each finite,
    /// positive, with `ceil(base_size * scale) <= MAX_IMAGE_SIDE`.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        if self.base_size == 0 || self.base_size > MAX_IMAGE_SIDE {
            return bad(format!(
                "base_size is {}, must be 1..={MAX_IMAGE_SIDE}",
                self.base_size
            ));
        }
        let crop = self.crop_size;
        if crop == 0 || !crop.is_multiple_of(SIZE_MULTIPLE) || crop > MAX_IMAGE_SIDE {
            return bad(format!(
                "crop_size is {crop}, must be a positive multiple of {SIZE_MULTIPLE} up to \
                 {MAX_IMAGE_SIDE}"
            ));
        }
        if self.scales.is_empty() || self.scales.len() > Self::MAX_SCALES {
            return bad(format!(
                "{} scales given, must be 1..={}",
                self.scales.len(),
                Self::MAX_SCALES
            ));
        }
        for (i, &s) in self.scales.iter().enumerate() {
            let long = (self.base_size as f64 * s).ceil();
            if !(s.is_finite() && s > 0.0 && long <= MAX_IMAGE_SIDE as f64) {
                return bad(format!(
                    "scales[{i}] is {s}: must be finite, > 0, and base_size * scale <= \
                     {MAX_IMAGE_SIDE}"
                ));
            }
        }
        Ok(())
    }
}

/// How an image of any size becomes network inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Long side resized to `size` (`None`: keep the input size), padded to a multiple of 32.
    Single {
        /// Long side in pixels (`1..=MAX_IMAGE_SIDE`); `None` runs at the input size.
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

impl Mode {
    /// Check the options (see [`check_size`] and [`MultiScale::validate`]).
    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Single { size } => check_size(*size),
            Self::MultiScale(ms) => ms.validate(),
        }
    }
}

/// Check a resize target: `None` (keep the input size) or `1..=MAX_IMAGE_SIDE`.
pub fn check_size(size: Option<usize>) -> Result<()> {
    match size {
        Some(s) if s == 0 || s > MAX_IMAGE_SIDE => Err(Error::InvalidInput(format!(
            "size is {s}, must be 1..={MAX_IMAGE_SIDE}"
        ))),
        _ => Ok(()),
    }
}

/// Progress callback: `(done, total)` network passes; return `false` to cancel.
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

/// Resized size `(h, w)` for a long side `size` (`None`: unchanged), as the official
/// evaluator: the short side scaled and rounded to nearest, at least 1.
pub fn resized_size(h: usize, w: usize, size: Option<usize>) -> Result<(usize, usize)> {
    check_size(size)?;
    let (rh, rw) = match size {
        None => (h, w),
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

/// Padding value: the normalised value of black, `-mean/std`.
pub const PAD_VALUE: f32 = -1.0;

/// Pad bottom/right to at least `min_h x min_w` (and to multiples of `multiple`) with `value`.
pub(crate) fn pad_to(
    x: Tensor<4>,
    min_h: usize,
    min_w: usize,
    multiple: usize,
    value: f32,
) -> Tensor<4> {
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

/// Rows `h0..h1` and columns `w0..w1`.
pub(crate) fn crop(x: Tensor<4>, h0: usize, h1: usize, w0: usize, w1: usize) -> Tensor<4> {
    let [b, c, _, _] = x.dims();
    x.slice([0..b, 0..c, h0..h1, w0..w1])
}

/// Single mode's network input for one image: resized (long side `size`) and padded to a
/// multiple of 32, with the sizes to undo it.
pub(crate) struct SingleInput {
    /// The network input `[1, 3, H, W]`.
    pub(crate) x: Tensor<4>,
    /// The resized image's size (the unpadded part of the input).
    pub(crate) resized: (usize, usize),
    /// The image's size.
    pub(crate) original: (usize, usize),
}

impl SingleInput {
    pub(crate) fn new(image: Tensor<4>, size: Option<usize>) -> Result<Self> {
        let [_, _, h, w] = image.dims();
        let (rh, rw) = resized_size(h, w, size)?;
        let x = pad_to(
            resize_bilinear(image, rh, rw),
            0,
            0,
            SIZE_MULTIPLE,
            PAD_VALUE,
        );
        Ok(Self {
            x,
            resized: (rh, rw),
            original: (h, w),
        })
    }

    /// The network input's size.
    fn dims(&self) -> (usize, usize) {
        let [_, _, h, w] = self.x.dims();
        (h, w)
    }

    /// Scores at the image's size from the network output `[1, N, H, W]`: the padding
    /// cropped off, resized back.
    fn scores(&self, out: Tensor<4>) -> Tensor<4> {
        let (rh, rw) = self.resized;
        resize_bilinear(crop(out, 0, rh, 0, rw), self.original.0, self.original.1)
    }
}

/// Most images [`Lseg::segment_batch`] and [`Lseg::embed_batch`] run through the network in
/// one pass.
pub const MAX_BATCH: usize = 8;

/// Run `network` over `inputs` grouped by network input size, up to [`MAX_BATCH`] per pass;
/// `finish(i, out)` makes image `i`'s result from its `[1, ..]` part of a pass's output, and
/// `after(done)` is called after each pass with the images done so far (`false` cancels).
pub(crate) fn run_grouped<T>(
    inputs: &[SingleInput],
    mut network: impl FnMut(Tensor<4>) -> Result<Tensor<4>>,
    mut finish: impl FnMut(usize, Tensor<4>) -> Result<T>,
    mut after: impl FnMut(usize) -> bool,
) -> Result<Vec<T>> {
    let mut groups: std::collections::BTreeMap<(usize, usize), Vec<usize>> = Default::default();
    for (i, input) in inputs.iter().enumerate() {
        groups.entry(input.dims()).or_default().push(i);
    }
    let mut results: Vec<Option<T>> = (0..inputs.len()).map(|_| None).collect();
    let mut done = 0;
    for ids in groups.values() {
        for chunk in ids.chunks(MAX_BATCH) {
            let x = Tensor::cat(chunk.iter().map(|&i| inputs[i].x.clone()).collect(), 0);
            let out = network(x)?;
            for (k, &i) in chunk.iter().enumerate() {
                results[i] = Some(finish(i, out.clone().narrow(0, k, 1))?);
            }
            done += chunk.len();
            if !after(done) {
                return Err(Error::Cancelled);
            }
        }
    }
    Ok(results
        .into_iter()
        .map(|r| r.expect("every input run"))
        .collect())
}

/// The sliding-window layout of one scale of the multi-scale protocol.
struct WindowGrid {
    /// Resized image size.
    height: usize,
    width: usize,
    long: usize,
    short: usize,
    /// Window stride (2/3 of the crop).
    stride: usize,
    /// Windows down and across.
    windows: (usize, usize),
}

impl WindowGrid {
    fn new(ms: &MultiScale, scale: f64, h: usize, w: usize) -> Self {
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
        let windows = if long <= crop {
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
        Self {
            height,
            width,
            long,
            short,
            stride,
            windows,
        }
    }
}

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
                        let g = WindowGrid::new(ms, s, h, w);
                        g.windows.0 * g.windows.1 * per
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
        mode.validate()?;
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
        match mode {
            Mode::Single { size } => {
                let input = SingleInput::new(image, *size)?;
                let out = self.forward(input.x.clone(), labels)?;
                tick(1)?;
                Ok(input.scores(out))
            }
            Mode::MultiScale(ms) => {
                let n = labels.len();
                let device = self.device().clone();
                let mut scores = Tensor::<4>::zeros([1, n, h, w], &device);
                let crop_size = ms.crop_size;
                let per_window = if ms.flip { 2 } else { 1 };
                for &scale in &ms.scales {
                    let g = WindowGrid::new(ms, scale, h, w);
                    let cur = resize_bilinear(image.clone(), g.height, g.width);
                    let outputs = if g.long <= crop_size {
                        let pad = pad_to(cur, crop_size, crop_size, 1, PAD_VALUE);
                        let out = self.infer_flip(pad, labels, ms.flip)?;
                        tick(per_window)?;
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
                        for idh in 0..g.windows.0 {
                            for idw in 0..g.windows.1 {
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
                                tick(per_window)?;
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
                    scores = scores + resize_bilinear(outputs, h, w);
                }
                Ok(scores)
            }
        }
    }

    /// Segment several images (of any sizes) with one label set in one call. Single mode runs
    /// the images whose network inputs have the same size together, up to [`MAX_BATCH`] per
    /// pass; multi-scale runs them one after another. Each result is the one
    /// [`Lseg::segment`] gives for that image (to float rounding: a batched product may sum
    /// in another order). `progress` counts network passes over all images.
    pub fn segment_batch(
        &self,
        images: &[ImageView],
        labels: &LabelSet,
        mode: &Mode,
        mut progress: Option<Progress>,
    ) -> Result<Vec<Segmentation>> {
        mode.validate()?;
        let passes = |im: &ImageView| self.passes(mode, im.height(), im.width());
        let total: usize = images.iter().map(passes).sum();
        let mut report = |d: usize| match progress.as_mut() {
            Some(p) => p(d, total),
            None => true,
        };
        let Mode::Single { size } = mode else {
            let mut out = Vec::with_capacity(images.len());
            let mut done = 0;
            for im in images {
                let offset = done;
                let mut each = |d: usize, _: usize| report(offset + d);
                out.push(self.segment(im, labels, mode, Some(&mut each))?);
                done += passes(im);
            }
            return Ok(out);
        };
        let inputs = images
            .iter()
            .map(|im| SingleInput::new(im.to_tensor(self.device()), *size))
            .collect::<Result<Vec<_>>>()?;
        run_grouped(
            &inputs,
            |x| self.forward(x, labels),
            |i, out| Ok(Segmentation::from_scores(inputs[i].scores(out))),
            report,
        )
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
        mode.validate()?;
        let x = image.to_tensor(self.device());
        let scores = self.scores(x, labels, mode, progress)?;
        Ok(Segmentation::from_scores(scores))
    }
}
