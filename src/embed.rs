//! Dense pixel embeddings of an 8-bit image (VLMaps, OpenScene, ConceptFusion style feature
//! fusion): normalisation and output grid.

use burn::tensor::{DType, Tensor};

use crate::error::{Error, Result};
use crate::head::LOGIT_SCALE;
use crate::image::{ImageView, check_image_size};
use crate::model::Lseg;
use crate::nn::{l2_normalize, resize_bilinear};
use crate::protocol::{SingleInput, check_size, crop, resized_size, run_grouped};

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

/// Memory order of embeddings exported as a flat buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbedLayout {
    /// Channel-major `[D][h][w]` (PyTorch order).
    #[default]
    Chw,
    /// Pixel-major `[h][w][D]`: one contiguous vector per pixel.
    Hwc,
}

/// Dense pixel embeddings of one image as a flat float32 buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelEmbeddings {
    /// Embedding dimension `D`.
    pub dim: usize,
    /// Grid height `h`.
    pub height: usize,
    /// Grid width `w`.
    pub width: usize,
    /// Order of `data`.
    pub layout: EmbedLayout,
    /// `D * h * w` values in `layout` order.
    pub data: Vec<f32>,
}

impl PixelEmbeddings {
    /// The values of a `[1, D, h, w]` tensor in `layout` order.
    pub fn from_tensor(t: Tensor<4>, layout: EmbedLayout) -> Result<Self> {
        let [b, dim, height, width] = t.dims();
        if b != 1 {
            return Err(Error::InvalidInput(format!(
                "embeddings of one image expected, got a batch of {b}"
            )));
        }
        let chw: Vec<f32> = t
            .to_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| Error::InvalidInput(format!("embedding data: {e:?}")))?;
        let data = match layout {
            EmbedLayout::Chw => chw,
            EmbedLayout::Hwc => {
                let hw = height * width;
                let mut v = vec![0f32; chw.len()];
                for (c, plane) in chw.chunks_exact(hw.max(1)).enumerate() {
                    for (i, &x) in plane.iter().enumerate() {
                        v[i * dim + c] = x;
                    }
                }
                v
            }
        };
        Ok(Self {
            dim,
            height,
            width,
            layout,
            data,
        })
    }

    /// The values rounded to float16 (IEEE half, round to nearest even).
    pub fn to_f16(&self) -> Vec<half::f16> {
        self.data.iter().map(|&x| half::f16::from_f32(x)).collect()
    }
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

impl EmbedOptions {
    /// Check the options (the resize target, see [`check_size`]).
    pub fn validate(&self) -> Result<()> {
        check_size(self.size)
    }

    /// Grid `(height, width)` of the embeddings of a `height x width` image.
    pub fn grid(&self, height: usize, width: usize) -> Result<(usize, usize)> {
        check_image_size(width, height)?;
        let (rh, rw) = resized_size(height, width, self.size)?;
        Ok(match self.resolution {
            EmbedResolution::Native => (rh.div_ceil(2), rw.div_ceil(2)),
            EmbedResolution::Input => (height, width),
        })
    }
}

/// One image's embeddings from the network's `[1, D, H/2, W/2]`: float32, the padding
/// cropped off, normalised and resized as `opts` asks.
fn finish_embedding(e: Tensor<4>, input: &SingleInput, opts: &EmbedOptions) -> Tensor<4> {
    let (rh, rw) = input.resized;
    let e = crop(e.cast(DType::F32), 0, rh.div_ceil(2), 0, rw.div_ceil(2));
    let e = match opts.norm {
        EmbedNorm::Raw => e,
        EmbedNorm::L2 => l2_normalize(e, 1),
        EmbedNorm::L2Scaled => l2_normalize(e, 1) * LOGIT_SCALE,
    };
    match opts.resolution {
        EmbedResolution::Native => e,
        EmbedResolution::Input => resize_bilinear(e, input.original.0, input.original.1),
    }
}

impl Lseg {
    /// Dense pixel embeddings of an 8-bit image, `[1, D, h, w]` float32, `(h, w)` as
    /// [`EmbedOptions::grid`].
    pub fn embed_image(&self, image: &ImageView, opts: &EmbedOptions) -> Result<Tensor<4>> {
        opts.validate()?;
        let input = SingleInput::new(image.to_tensor(self.device()), opts.size)?;
        let e = self.embed(input.x.clone())?;
        Ok(finish_embedding(e, &input, opts))
    }

    /// Dense pixel embeddings of several images in one call: the images whose network inputs
    /// have the same size run together, up to [`MAX_BATCH`](crate::protocol::MAX_BATCH) per
    /// pass. Each result is [`Lseg::embed_image`]'s for that image (to float rounding).
    pub fn embed_batch(&self, images: &[ImageView], opts: &EmbedOptions) -> Result<Vec<Tensor<4>>> {
        opts.validate()?;
        let inputs = images
            .iter()
            .map(|im| SingleInput::new(im.to_tensor(self.device()), opts.size))
            .collect::<Result<Vec<_>>>()?;
        run_grouped(
            &inputs,
            |x| self.embed(x),
            |i, e| Ok(finish_embedding(e, &inputs[i], opts)),
            |_| true,
        )
    }

    /// [`Lseg::embed_image`] as a flat buffer in `layout` order.
    pub fn embed_pixels(
        &self,
        image: &ImageView,
        opts: &EmbedOptions,
        layout: EmbedLayout,
    ) -> Result<PixelEmbeddings> {
        PixelEmbeddings::from_tensor(self.embed_image(image, opts)?, layout)
    }
}
