//! Borrowed 8-bit images: pixel layouts, the checked [`ImageView`] and its conversion into the
//! network's normalised input (the official pre-processing: RGB, `/255`, mean = std = 0.5).

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};

/// Largest accepted image side (and resize target), to keep allocations bounded.
pub const MAX_IMAGE_SIDE: usize = 16384;

/// Check an image size: both sides in `1..=MAX_IMAGE_SIDE`.
pub fn check_image_size(width: usize, height: usize) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(Error::InvalidInput(format!(
            "image size {width}x{height} is empty"
        )));
    }
    if width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(Error::InvalidInput(format!(
            "image size {width}x{height} exceeds the maximum side {MAX_IMAGE_SIDE}"
        )));
    }
    Ok(())
}

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
/// Made only by the checked constructors, so its sizes always fit its buffer.
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
}

impl<'a> ImageView<'a> {
    /// An image of `height` rows `stride` bytes apart. Errors for an empty size, a side over
    /// [`MAX_IMAGE_SIDE`], a stride shorter than a row, and a buffer shorter than
    /// [`Self::byte_len`].
    pub fn new(
        data: &'a [u8],
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<Self> {
        let need = Self::byte_len(width, height, stride, format)?;
        if data.len() < need {
            return Err(Error::InvalidInput(format!(
                "image buffer holds {} bytes, {width}x{height} with stride {stride} needs {need}",
                data.len()
            )));
        }
        Ok(Self {
            data,
            width,
            height,
            stride,
            format,
        })
    }

    /// A tightly packed image (`stride = width * channels`).
    pub fn packed(
        data: &'a [u8],
        width: usize,
        height: usize,
        format: PixelFormat,
    ) -> Result<Self> {
        Self::new(
            data,
            width,
            height,
            width.saturating_mul(format.channels()),
            format,
        )
    }

    /// Bytes an image of this geometry reads: `stride * (height - 1) + width * channels`,
    /// checked (sizes within `1..=MAX_IMAGE_SIDE`, `stride` at least a row, no overflow).
    pub fn byte_len(
        width: usize,
        height: usize,
        stride: usize,
        format: PixelFormat,
    ) -> Result<usize> {
        let bad = |m: String| Err(Error::InvalidInput(m));
        check_image_size(width, height)?;
        let row = width * format.channels();
        if stride < row {
            return bad(format!(
                "stride {stride} is smaller than a row ({width} pixels x {} bytes = {row})",
                format.channels()
            ));
        }
        match stride
            .checked_mul(height - 1)
            .and_then(|v| v.checked_add(row))
            .filter(|&v| v <= isize::MAX as usize)
        {
            Some(n) => Ok(n),
            None => bad(format!("stride {stride} is too large")),
        }
    }

    /// Pixel bytes.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Bytes from one row to the next.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Pixel layout.
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The network input: a `[1, 3, H, W]` float32 tensor of `(v / 255 - 0.5) / 0.5`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<4> {
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
        Tensor::from_data(TensorData::new(out, [1, 3, h, w]), device)
    }
}
