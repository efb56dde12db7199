//! Dense pixel embeddings of an 8-bit image (VLMaps, OpenScene, ConceptFusion style feature
//! fusion): normalisation and output grid.

use burn::tensor::{DType, Tensor};

use crate::error::Result;
use crate::head::LOGIT_SCALE;
use crate::image::{ImageView, check_image_size};
use crate::model::Lseg;
use crate::nn::{l2_normalize, resize_bilinear};
use crate::protocol::{PAD_VALUE, SIZE_MULTIPLE, check_size, crop, pad_to, resized_size};

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

impl Lseg {
    /// Dense pixel embeddings of an 8-bit image, `[1, D, h, w]` float32, `(h, w)` as
    /// [`EmbedOptions::grid`].
    pub fn embed_image(&self, image: &ImageView, opts: &EmbedOptions) -> Result<Tensor<4>> {
        opts.validate()?;
        let x = image.to_tensor(self.device());
        let [_, _, h, w] = x.dims();
        let (rh, rw) = resized_size(h, w, opts.size)?;
        let x = pad_to(resize_bilinear(x, rh, rw), 0, 0, SIZE_MULTIPLE, PAD_VALUE);
        let e = self.embed(x)?.cast(DType::F32);
        let e = crop(e, 0, rh.div_ceil(2), 0, rw.div_ceil(2));
        let e = match opts.norm {
            EmbedNorm::Raw => e,
            EmbedNorm::L2 => l2_normalize(e, 1),
            EmbedNorm::L2Scaled => l2_normalize(e, 1) * LOGIT_SCALE,
        };
        Ok(match opts.resolution {
            EmbedResolution::Native => e,
            EmbedResolution::Input => resize_bilinear(e, h, w),
        })
    }
}
