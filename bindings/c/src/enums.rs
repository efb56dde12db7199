//! The C enums of `include/lseg.h` and their decoding from the `uint32_t` fields C callers
//! fill: one [`c_enum!`] declaration per enum gives `TryFrom`, the error message naming the
//! field and the valid range, and the conversion into the library's type.

use std::ffi::CStr;

use lseg_core::{Backend, EmbedLayout, EmbedNorm, EmbedResolution, PixelFormat, Precision};

use crate::error::{CResult, invalid};

/// Implements, for a fieldless `#[repr]` C enum: `ALL` (every variant, in declaration order),
/// `name()` (the variant's identifier as a C string), `TryFrom<repr>` (`Err` gives the value
/// back) and `decode(value, field)`, whose error names the field and the enum's constants.
/// A variant left out of the list is a compile error.
macro_rules! c_enum {
    ($ty:ident: $repr:ty, $constants:literal, [$($variant:ident),+ $(,)?]) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The variant's Rust identifier, NUL-terminated.
            #[allow(dead_code)]
            pub fn name(self) -> &'static CStr {
                match self {
                    $(Self::$variant => {
                        CStr::from_bytes_with_nul(concat!(stringify!($variant), "\0").as_bytes())
                            .expect("no NUL inside an identifier")
                    })+
                }
            }

            /// Decode the value of a C field (`field` names it in the error).
            #[allow(dead_code)]
            pub(crate) fn decode(v: $repr, field: &str) -> CResult<Self> {
                Self::try_from(v).map_err(|v| {
                    let (lo, hi) = (Self::ALL[0] as $repr, Self::ALL[Self::ALL.len() - 1] as $repr);
                    invalid(format!("`{field}` is {v}, not one of {} ({lo}..={hi})", $constants))
                })
            }
        }

        impl TryFrom<$repr> for $ty {
            type Error = $repr;
            fn try_from(v: $repr) -> Result<Self, $repr> {
                Self::ALL.iter().copied().find(|x| *x as $repr == v).ok_or(v)
            }
        }
    };
}

/// Status returned by every fallible call. `LSEG_OK` is 0; on any other value
/// `lseg_last_error()` describes the failure.
/// cbindgen:prefix-with-name=false
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_status {
    /// Success.
    LSEG_OK = 0,
    /// A NULL pointer, an out-of-range value, an unusable image or parameter, a stale or
    /// freed handle.
    LSEG_ERR_INVALID_ARGUMENT = 1,
    /// A caller-allocated output buffer is smaller than the documented size. Nothing was
    /// written.
    LSEG_ERR_BUFFER_TOO_SMALL = 2,
    /// A file could not be opened or read.
    LSEG_ERR_IO = 3,
    /// The weights are not a valid safetensors file.
    LSEG_ERR_INVALID_WEIGHTS = 4,
    /// A tensor the model needs is missing from the weights.
    LSEG_ERR_MISSING_TENSOR = 5,
    /// A tensor has another shape than the configuration requires.
    LSEG_ERR_SHAPE_MISMATCH = 6,
    /// A tensor is stored in a dtype lseg cannot read.
    LSEG_ERR_UNSUPPORTED_DTYPE = 7,
    /// The model configuration is invalid or cannot be inferred from the weights.
    LSEG_ERR_CONFIG = 8,
    /// A label is unusable: empty list, empty label, invalid UTF-8, over 77 tokens, too many
    /// labels.
    LSEG_ERR_LABEL = 9,
    /// The backend or dtype is not compiled in or not usable on this machine.
    LSEG_ERR_BACKEND_UNAVAILABLE = 10,
    /// The tokenizer failed.
    LSEG_ERR_TOKENIZER = 11,
    /// The progress callback returned false. Nothing was written.
    LSEG_ERR_CANCELLED = 12,
    /// An image file could not be decoded.
    LSEG_ERR_IMAGE_DECODE = 13,
    /// A bug in lseg (a caught panic); the message has the detail.
    LSEG_ERR_INTERNAL = 14,
}

/// Compute backend (`lseg_model_params.backend`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_backend {
    /// The first compiled in of flex, ndarray, libtorch CPU.
    Default = 0,
    /// burn-flex: pure-Rust CPU, f32/f16/bf16.
    Flex = 1,
    /// burn-ndarray: pure-Rust CPU, f32 only.
    Ndarray = 2,
    /// libtorch on the CPU.
    TchCpu = 3,
    /// libtorch on CUDA device `device_index`.
    TchCuda = 4,
}

/// Weight/compute dtype (`lseg_model_params.dtype`) or output dtype (`lseg_embed_params.dtype`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_dtype {
    /// float32.
    F32 = 0,
    /// float16 (IEEE half).
    F16 = 1,
    /// bfloat16 (compute only: flex and libtorch backends).
    Bf16 = 2,
}

/// Pixel layout of an 8-bit image (`lseg_image.format`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_pixel_format {
    /// R, G, B.
    Rgb8 = 0,
    /// B, G, R (OpenCV, ROS `bgr8`).
    Bgr8 = 1,
    /// R, G, B, A (Unity `RGBA32`); alpha is ignored.
    Rgba8 = 2,
    /// B, G, R, A; alpha is ignored.
    Bgra8 = 3,
    /// One grey channel.
    Gray8 = 4,
}

/// Evaluation protocol (`lseg_segment_params.mode`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_mode {
    /// Long side resized to `size`, padded to a multiple of 32, one pass.
    Single = 0,
    /// The official multi-scale + flip sliding-window protocol.
    MultiScale = 1,
}

/// Normalisation of pixel embeddings (`lseg_embed_params.norm`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_embed_norm {
    /// The raw head output.
    Raw = 0,
    /// L2-normalised per pixel.
    L2 = 1,
    /// L2-normalised times 1/0.07: the dot product with a text embedding is LSeg's logit.
    L2Scaled = 2,
}

/// Grid of pixel embeddings (`lseg_embed_params.resolution`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_embed_resolution {
    /// The network's grid: `ceil(rh/2) x ceil(rw/2)` for the resized image `rh x rw`.
    Native = 0,
    /// Resized (bilinear, align_corners) to the input image size.
    Input = 1,
}

/// Memory layout of pixel embeddings (`lseg_embed_params.layout`).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lseg_layout {
    /// Channel-major `[dim][height][width]` (PyTorch order).
    Chw = 0,
    /// Pixel-major `[height][width][dim]`: one contiguous vector per pixel.
    Hwc = 1,
}

c_enum!(lseg_status: i32, "LSEG_ERR_*", [
    LSEG_OK,
    LSEG_ERR_INVALID_ARGUMENT,
    LSEG_ERR_BUFFER_TOO_SMALL,
    LSEG_ERR_IO,
    LSEG_ERR_INVALID_WEIGHTS,
    LSEG_ERR_MISSING_TENSOR,
    LSEG_ERR_SHAPE_MISMATCH,
    LSEG_ERR_UNSUPPORTED_DTYPE,
    LSEG_ERR_CONFIG,
    LSEG_ERR_LABEL,
    LSEG_ERR_BACKEND_UNAVAILABLE,
    LSEG_ERR_TOKENIZER,
    LSEG_ERR_CANCELLED,
    LSEG_ERR_IMAGE_DECODE,
    LSEG_ERR_INTERNAL,
]);
c_enum!(lseg_backend: u32, "LSEG_BACKEND_*", [Default, Flex, Ndarray, TchCpu, TchCuda]);
c_enum!(lseg_dtype: u32, "LSEG_DTYPE_*", [F32, F16, Bf16]);
c_enum!(lseg_pixel_format: u32, "LSEG_PIXEL_FORMAT_*", [Rgb8, Bgr8, Rgba8, Bgra8, Gray8]);
c_enum!(lseg_mode: u32, "LSEG_MODE_*", [Single, MultiScale]);
c_enum!(lseg_embed_norm: u32, "LSEG_EMBED_NORM_*", [Raw, L2, L2Scaled]);
c_enum!(lseg_embed_resolution: u32, "LSEG_EMBED_RESOLUTION_*", [Native, Input]);
c_enum!(lseg_layout: u32, "LSEG_LAYOUT_*", [Chw, Hwc]);

impl lseg_backend {
    /// The library's backend (`None`: the build's default) on CUDA device `device_index`,
    /// which must be 0 for every other backend.
    pub(crate) fn to_backend(self, device_index: u32) -> CResult<Option<Backend>> {
        if device_index != 0 && self != Self::TchCuda {
            return Err(invalid(format!(
                "`device_index` is {device_index}; it must be 0 unless backend is \
                 LSEG_BACKEND_TCH_CUDA"
            )));
        }
        Ok(match self {
            Self::Default => None,
            Self::Flex => Some(Backend::Flex),
            Self::Ndarray => Some(Backend::Ndarray),
            Self::TchCpu => Some(Backend::TchCpu),
            Self::TchCuda => Some(Backend::TchCuda(device_index as usize)),
        })
    }
}

impl From<Backend> for lseg_backend {
    fn from(b: Backend) -> Self {
        match b {
            Backend::Flex => Self::Flex,
            Backend::Ndarray => Self::Ndarray,
            Backend::TchCpu => Self::TchCpu,
            Backend::TchCuda(_) => Self::TchCuda,
        }
    }
}

impl From<lseg_dtype> for Precision {
    fn from(d: lseg_dtype) -> Self {
        match d {
            lseg_dtype::F32 => Self::F32,
            lseg_dtype::F16 => Self::F16,
            lseg_dtype::Bf16 => Self::BF16,
        }
    }
}

impl From<lseg_pixel_format> for PixelFormat {
    fn from(f: lseg_pixel_format) -> Self {
        match f {
            lseg_pixel_format::Rgb8 => Self::Rgb8,
            lseg_pixel_format::Bgr8 => Self::Bgr8,
            lseg_pixel_format::Rgba8 => Self::Rgba8,
            lseg_pixel_format::Bgra8 => Self::Bgra8,
            lseg_pixel_format::Gray8 => Self::Gray8,
        }
    }
}

impl From<lseg_embed_norm> for EmbedNorm {
    fn from(n: lseg_embed_norm) -> Self {
        match n {
            lseg_embed_norm::Raw => Self::Raw,
            lseg_embed_norm::L2 => Self::L2,
            lseg_embed_norm::L2Scaled => Self::L2Scaled,
        }
    }
}

impl From<lseg_embed_resolution> for EmbedResolution {
    fn from(r: lseg_embed_resolution) -> Self {
        match r {
            lseg_embed_resolution::Native => Self::Native,
            lseg_embed_resolution::Input => Self::Input,
        }
    }
}

impl From<lseg_layout> for EmbedLayout {
    fn from(l: lseg_layout) -> Self {
        match l {
            lseg_layout::Chw => Self::Chw,
            lseg_layout::Hwc => Self::Hwc,
        }
    }
}
