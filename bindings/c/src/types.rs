//! The C structs of `include/lseg.h`: opaque handles, parameters and outputs. Enum-valued
//! fields are `uint32_t` (an out-of-range value in a Rust enum would be undefined
//! behaviour); they are decoded with the `decode` functions of [`crate::enums`].

use std::ffi::{c_char, c_void};

/// A loaded model (opaque). Thread-safe: share one between threads.
pub struct lseg_model {
    _private: [u8; 0],
}

/// An encoded label set (opaque). Immutable and thread-safe.
pub struct lseg_labels {
    _private: [u8; 0],
}

/// Parameters of `lseg_create`. Initialise with `lseg_model_params_default()`, then set the
/// weights source (exactly one of `weights_path` and `weights_data`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lseg_model_params {
    /// `sizeof(lseg_model_params)`; set by `lseg_model_params_default()`.
    pub struct_size: u32,
    /// One of `LSEG_BACKEND_*` (default `LSEG_BACKEND_DEFAULT`).
    pub backend: u32,
    /// CUDA device index for `LSEG_BACKEND_TCH_CUDA`; must be 0 otherwise.
    pub device_index: u32,
    /// Weight and compute dtype, one of `LSEG_DTYPE_*` (default f32). Logits are float32.
    pub dtype: u32,
    /// CPU threads, 0 = library default (all cores). Process-wide: the pure-Rust backends'
    /// pool is sized once, at its first use; later values are ignored.
    pub n_threads: u32,
    /// Path of a `.safetensors` file (UTF-8), or NULL. The file stays memory-mapped while
    /// the model lives (the token-embedding rows are read from it on demand): replace it by
    /// renaming a new file over it, never by truncating or rewriting it in place.
    pub weights_path: *const c_char,
    /// A safetensors image in memory, or NULL. Only read during `lseg_create`.
    pub weights_data: *const c_void,
    /// Size of `weights_data` in bytes.
    pub weights_size: usize,
    /// Model configuration as JSON, or NULL to read it from the file's metadata
    /// (`lseg_config`) or infer it from the tensor shapes.
    pub config_json: *const c_char,
}

/// A borrowed 8-bit image: `height` rows, `stride` bytes apart, each starting with `width`
/// pixels. Never written by lseg.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lseg_image {
    /// Pixel bytes; at least `stride * (height - 1) + width * channels` readable bytes.
    pub data: *const u8,
    /// Width in pixels, 1..=16384.
    pub width: u32,
    /// Height in pixels, 1..=16384.
    pub height: u32,
    /// Bytes from one row to the next; 0 = tightly packed (`width * channels`).
    pub stride: usize,
    /// One of `LSEG_PIXEL_FORMAT_*`.
    pub format: u32,
}

/// Progress callback: `done` of `total` network passes are finished. Return false to cancel
/// (the call then returns `LSEG_ERR_CANCELLED`). Called on the thread that called lseg.
pub type lseg_progress_fn =
    Option<unsafe extern "C" fn(done: usize, total: usize, user_data: *mut c_void) -> bool>;

/// Parameters of `lseg_segment`. Initialise with `lseg_segment_params_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lseg_segment_params {
    /// `sizeof(lseg_segment_params)`.
    pub struct_size: u32,
    /// `LSEG_MODE_SINGLE` (default) or `LSEG_MODE_MULTI_SCALE`.
    pub mode: u32,
    /// Single-scale: long side the image is resized to (default 480), 0 = input size.
    pub size: u32,
    /// Multi-scale: long side at scale 1.0 (default 520).
    pub base_size: u32,
    /// Multi-scale: sliding-window size, a multiple of 32 (default 480).
    pub crop_size: u32,
    /// Multi-scale: 1 adds the horizontally flipped pass (default), 0 does not.
    pub flip: u32,
    /// Multi-scale: scales (finite, > 0), or NULL for the official
    /// {0.5, 0.75, 1.0, 1.25, 1.5, 1.75}.
    pub scales: *const f64,
    /// Number of `scales` (0 with NULL `scales`), at most 64.
    pub n_scales: usize,
    /// Optional progress/abort callback.
    pub progress: lseg_progress_fn,
    /// Passed to `progress`.
    pub user_data: *mut c_void,
}

/// Caller-allocated outputs of `lseg_segment`, all at the input resolution and row-major.
/// Each is optional (NULL); at least one must be given. Lengths count elements.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lseg_segment_outputs {
    /// `sizeof(lseg_segment_outputs)`.
    pub struct_size: u32,
    /// Label index per pixel: `width * height` elements.
    pub label_map: *mut u16,
    /// Elements available at `label_map`.
    pub label_map_len: usize,
    /// Per-label scores (logits), `count * height * width` elements, label-major.
    pub scores: *mut f32,
    /// Elements available at `scores`.
    pub scores_len: usize,
    /// Softmax probability of the chosen label per pixel: `width * height` elements.
    pub confidence: *mut f32,
    /// Elements available at `confidence`.
    pub confidence_len: usize,
}

/// Parameters of `lseg_embed`. Initialise with `lseg_embed_params_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct lseg_embed_params {
    /// `sizeof(lseg_embed_params)`.
    pub struct_size: u32,
    /// Long side the image is resized to (default 480), 0 = input size.
    pub size: u32,
    /// One of `LSEG_EMBED_NORM_*` (default L2).
    pub norm: u32,
    /// One of `LSEG_EMBED_RESOLUTION_*` (default native).
    pub resolution: u32,
    /// Output element type: `LSEG_DTYPE_F32` (default) or `LSEG_DTYPE_F16`.
    pub dtype: u32,
    /// One of `LSEG_LAYOUT_*` (default CHW).
    pub layout: u32,
}
