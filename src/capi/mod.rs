//! The stable C ABI (`include/lseg.h`, generated from this module by cbindgen).
//!
//! Every entry point catches panics, checks every pointer and value it is given, writes its
//! outputs only on success, and on failure returns a status and sets a thread-local message
//! ([`lseg_last_error`]). Handles are opaque ids looked up in a table: a freed, foreign or
//! garbage handle is reported as `LSEG_ERR_INVALID_ARGUMENT`, never dereferenced, and a call
//! that races with a free keeps its object alive until it returns.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

mod util;

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex};

use crate::backend::{Backend, Precision};
use crate::config::LsegConfig;
use crate::eval::{
    EmbedNorm, EmbedOptions, EmbedResolution, ImageView, MAX_IMAGE_SIDE, Mode, MultiScale,
    PixelFormat, resized_size,
};
use crate::model::{LabelSet, LoadOptions, Lseg};
use util::{CResult, Fail, Table, guard, invalid, out_arg, params_arg, query, str_arg, write_out};

// LSEG_VERSION_MAJOR / _MINOR / _PATCH / _STRING are written into the header from the
// crate version by tools/header-check (cbindgen cannot export string constants).

/// Version of the binary interface; changes only on incompatible changes (it is the
/// number in the shared library's soname, `liblseg.so.1`).
pub const LSEG_ABI_VERSION: u32 = 1;
/// `lseg_encode_labels_ex` flag: cut labels over 77 tokens (as `clip.tokenize(truncate=True)`)
/// instead of failing.
pub const LSEG_LABELS_TRUNCATE: u32 = 1;

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

struct Model {
    id: usize,
    model: Lseg,
}

struct Labels {
    model_id: usize,
    set: LabelSet,
    embeddings: Vec<f32>,
    dim: usize,
}

static MODELS: Table<Model> = Table::new();
static LABELS: Table<Labels> = Table::new();
/// Buffers of images decoded by `lseg_image_load`, by data address.
static IMAGES: Mutex<Option<HashMap<usize, Box<[u8]>>>> = Mutex::new(None);

fn model_arg(p: *const lseg_model) -> CResult<Arc<Model>> {
    if p.is_null() {
        return Err(invalid("`model` is NULL"));
    }
    MODELS.get(p as usize).ok_or_else(|| {
        invalid(format!(
            "`model` {p:p} is not a live model handle (freed, or not made by lseg_create)"
        ))
    })
}

fn labels_arg(p: *const lseg_labels) -> CResult<Arc<Labels>> {
    if p.is_null() {
        return Err(invalid("`labels` is NULL"));
    }
    LABELS.get(p as usize).ok_or_else(|| {
        invalid(format!(
            "`labels` {p:p} is not a live labels handle (freed, or not made by \
             lseg_encode_labels)"
        ))
    })
}

fn format_arg(v: u32, what: &str) -> CResult<PixelFormat> {
    Ok(match v {
        0 => PixelFormat::Rgb8,
        1 => PixelFormat::Bgr8,
        2 => PixelFormat::Rgba8,
        3 => PixelFormat::Bgra8,
        4 => PixelFormat::Gray8,
        _ => {
            return Err(invalid(format!(
                "`{what}` is {v}, not one of LSEG_PIXEL_FORMAT_* (0..=4)"
            )));
        }
    })
}

fn side_arg(v: u32, what: &str) -> CResult<Option<usize>> {
    match v as usize {
        0 => Ok(None),
        s if s <= MAX_IMAGE_SIDE => Ok(Some(s)),
        s => Err(invalid(format!(
            "`{what}` is {s}, the maximum is {MAX_IMAGE_SIDE}"
        ))),
    }
}

unsafe fn image_arg<'a>(p: *const lseg_image) -> CResult<ImageView<'a>> {
    if p.is_null() {
        return Err(invalid("`image` is NULL"));
    }
    // SAFETY: non-NULL, points to an lseg_image (contract).
    let img = unsafe { p.read_unaligned() };
    let format = format_arg(img.format, "image->format")?;
    let (w, h) = (img.width as usize, img.height as usize);
    if w == 0 || h == 0 {
        return Err(invalid(format!("image size {w}x{h} is empty")));
    }
    if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(invalid(format!(
            "image size {w}x{h} exceeds the maximum side {MAX_IMAGE_SIDE}"
        )));
    }
    let row = w * format.channels();
    let stride = if img.stride == 0 { row } else { img.stride };
    if stride < row {
        return Err(invalid(format!(
            "`image->stride` {stride} is smaller than a row ({w} pixels x {} bytes = {row})",
            format.channels()
        )));
    }
    let len = stride
        .checked_mul(h - 1)
        .and_then(|v| v.checked_add(row))
        .filter(|&v| v <= isize::MAX as usize)
        .ok_or_else(|| invalid(format!("`image->stride` {stride} is too large")))?;
    if img.data.is_null() {
        return Err(invalid("`image->data` is NULL"));
    }
    // SAFETY: the caller guarantees `len` readable bytes (documented formula).
    let data = unsafe { std::slice::from_raw_parts(img.data, len) };
    let view = ImageView {
        data,
        width: w,
        height: h,
        stride,
        format,
    };
    view.validate()?;
    Ok(view)
}

/// Version of the library, e.g. `"0.1.0"` (static string).
#[unsafe(no_mangle)]
pub extern "C" fn lseg_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Binary-interface version of the library (compare with `LSEG_ABI_VERSION`).
#[unsafe(no_mangle)]
pub extern "C" fn lseg_abi_version() -> u32 {
    LSEG_ABI_VERSION
}

/// Name of a status, e.g. `"LSEG_ERR_BUFFER_TOO_SMALL"` (static string; unknown values give
/// `"LSEG_UNKNOWN_STATUS"`).
#[unsafe(no_mangle)]
pub extern "C" fn lseg_status_name(status: i32) -> *const c_char {
    use lseg_status::*;
    let all = [
        (LSEG_OK, c"LSEG_OK"),
        (LSEG_ERR_INVALID_ARGUMENT, c"LSEG_ERR_INVALID_ARGUMENT"),
        (LSEG_ERR_BUFFER_TOO_SMALL, c"LSEG_ERR_BUFFER_TOO_SMALL"),
        (LSEG_ERR_IO, c"LSEG_ERR_IO"),
        (LSEG_ERR_INVALID_WEIGHTS, c"LSEG_ERR_INVALID_WEIGHTS"),
        (LSEG_ERR_MISSING_TENSOR, c"LSEG_ERR_MISSING_TENSOR"),
        (LSEG_ERR_SHAPE_MISMATCH, c"LSEG_ERR_SHAPE_MISMATCH"),
        (LSEG_ERR_UNSUPPORTED_DTYPE, c"LSEG_ERR_UNSUPPORTED_DTYPE"),
        (LSEG_ERR_CONFIG, c"LSEG_ERR_CONFIG"),
        (LSEG_ERR_LABEL, c"LSEG_ERR_LABEL"),
        (
            LSEG_ERR_BACKEND_UNAVAILABLE,
            c"LSEG_ERR_BACKEND_UNAVAILABLE",
        ),
        (LSEG_ERR_TOKENIZER, c"LSEG_ERR_TOKENIZER"),
        (LSEG_ERR_CANCELLED, c"LSEG_ERR_CANCELLED"),
        (LSEG_ERR_IMAGE_DECODE, c"LSEG_ERR_IMAGE_DECODE"),
        (LSEG_ERR_INTERNAL, c"LSEG_ERR_INTERNAL"),
    ];
    all.iter()
        .find(|(s, _)| *s as i32 == status)
        .map_or(c"LSEG_UNKNOWN_STATUS".as_ptr(), |(_, n)| n.as_ptr())
}

/// Message of the last failed call on this thread ("" if the last call succeeded). Valid
/// until the next lseg call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_last_error() -> *const c_char {
    util::last_error_ptr()
}

fn backend_of(backend: u32, device_index: u32) -> CResult<Option<Backend>> {
    let b = match backend {
        0 => None,
        1 => Some(Backend::Flex),
        2 => Some(Backend::Ndarray),
        3 => Some(Backend::TchCpu),
        4 => Some(Backend::TchCuda(device_index as usize)),
        _ => {
            return Err(invalid(format!(
                "`backend` is {backend}, not one of LSEG_BACKEND_* (0..=4)"
            )));
        }
    };
    if device_index != 0 && backend != 4 {
        return Err(invalid(format!(
            "`device_index` is {device_index}; it must be 0 unless backend is \
             LSEG_BACKEND_TCH_CUDA"
        )));
    }
    Ok(b)
}

/// Whether a backend (`LSEG_BACKEND_*`) is compiled into this library. `LSEG_BACKEND_DEFAULT`
/// is true when any backend is. Being compiled in does not mean a CUDA device exists.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_backend_is_compiled(backend: u32) -> bool {
    query(false, || {
        Ok(match backend_of(backend, 0)? {
            None => !Backend::compiled().is_empty(),
            Some(b) => b.is_compiled(),
        })
    })
}

/// Number of CUDA devices libtorch sees (0 without the libtorch backend).
#[unsafe(no_mangle)]
pub extern "C" fn lseg_cuda_device_count() -> u32 {
    query(0, || {
        #[cfg(feature = "tch")]
        let n = crate::tch_support::cuda_device_count() as u32;
        #[cfg(not(feature = "tch"))]
        let n = 0;
        Ok(n)
    })
}

/// Default model parameters: default backend, device 0, f32, default threads, no weights.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_model_params_default() -> lseg_model_params {
    lseg_model_params {
        struct_size: std::mem::size_of::<lseg_model_params>() as u32,
        backend: lseg_backend::Default as u32,
        device_index: 0,
        dtype: lseg_dtype::F32 as u32,
        n_threads: 0,
        weights_path: std::ptr::null(),
        weights_data: std::ptr::null(),
        weights_size: 0,
        config_json: std::ptr::null(),
    }
}

/// Load a model. On success `*out_model` receives a handle to free with `lseg_free`; on
/// failure `*out_model` is not written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_create(
    params: *const lseg_model_params,
    out_model: *mut *mut lseg_model,
) -> lseg_status {
    guard(|| {
        let p = unsafe { params_arg(params, "params")? };
        out_arg(out_model, "out_model")?;
        let backend = backend_of(p.backend, p.device_index)?;
        let precision = match p.dtype {
            0 => Precision::F32,
            1 => Precision::F16,
            2 => Precision::BF16,
            d => {
                return Err(invalid(format!(
                    "`params->dtype` is {d}, not one of LSEG_DTYPE_* (0..=2)"
                )));
            }
        };
        if p.n_threads > 4096 {
            return Err(invalid(format!(
                "`params->n_threads` is {}, at most 4096",
                p.n_threads
            )));
        }
        let config = if p.config_json.is_null() {
            None
        } else {
            let json = unsafe { str_arg(p.config_json, "params->config_json")? };
            Some(LsegConfig::from_json(json)?)
        };
        if let Some(b) = backend
            && !b.is_compiled()
        {
            b.device()?; // the clear "not compiled in" error
        }
        if p.n_threads > 0 {
            crate::backend::set_num_threads(p.n_threads as usize);
        }
        let opts = LoadOptions {
            backend,
            precision,
            config,
        };
        let model = match (p.weights_path.is_null(), p.weights_data.is_null()) {
            (false, true) => {
                if p.weights_size != 0 {
                    return Err(invalid(
                        "`params->weights_size` must be 0 when loading from `weights_path`",
                    ));
                }
                let path = unsafe { str_arg(p.weights_path, "params->weights_path")? };
                Lseg::load(path, &opts)?
            }
            (true, false) => {
                if p.weights_size == 0 || p.weights_size > isize::MAX as usize {
                    return Err(invalid(format!(
                        "`params->weights_size` is {}, not a valid buffer size",
                        p.weights_size
                    )));
                }
                // SAFETY: the caller guarantees `weights_size` readable bytes.
                let bytes = unsafe {
                    std::slice::from_raw_parts(p.weights_data as *const u8, p.weights_size)
                };
                Lseg::load_bytes(bytes, &opts)?
            }
            (true, true) => {
                return Err(invalid(
                    "no weights: set `params->weights_path` or `params->weights_data`",
                ));
            }
            (false, false) => {
                return Err(invalid(
                    "both `params->weights_path` and `params->weights_data` are set; set one",
                ));
            }
        };
        let id = MODELS.insert_with(|id| Model { id, model });
        unsafe { write_out(out_model, id as *mut lseg_model) };
        Ok(())
    })
}

/// Free a model. NULL is a no-op. Freeing a handle twice (or a foreign pointer) is detected
/// and ignored (`lseg_last_error` says so). Labels encoded by the model stay valid (and
/// usable only with it). Calls still running on other threads finish normally: the model is
/// released when the last of them returns.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_free(model: *mut lseg_model) {
    query((), || {
        if !model.is_null() && MODELS.remove(model as usize).is_none() {
            return Err(invalid(format!(
                "lseg_free: {model:p} is not a live model handle (freed twice?); ignored"
            )));
        }
        Ok(())
    })
}

/// Pixel-embedding dimension of a model (512 for the released weights); 0 for an invalid
/// handle.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_model_embed_dim(model: *const lseg_model) -> usize {
    query(0, || Ok(model_arg(model)?.model.embed_dim()))
}

/// Largest label count of a label set (the label map is uint16).
const MAX_LABELS: usize = 65535;

/// Encode `count` UTF-8 labels once, for any number of `lseg_segment` calls with this model.
/// Same as `lseg_encode_labels_ex` with flags 0. On success `*out_labels` receives a handle to
/// free with `lseg_labels_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_encode_labels(
    model: *const lseg_model,
    labels: *const *const c_char,
    count: usize,
    out_labels: *mut *mut lseg_labels,
) -> lseg_status {
    unsafe { lseg_encode_labels_ex(model, labels, count, 0, out_labels) }
}

/// `lseg_encode_labels` with flags (`LSEG_LABELS_TRUNCATE`). Errors: `count` 0 or over 65535,
/// a NULL, empty, whitespace-only or non-UTF-8 label, a label over 77 tokens (unless
/// truncating).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_encode_labels_ex(
    model: *const lseg_model,
    labels: *const *const c_char,
    count: usize,
    flags: u32,
    out_labels: *mut *mut lseg_labels,
) -> lseg_status {
    guard(|| {
        let m = model_arg(model)?;
        out_arg(out_labels, "out_labels")?;
        if flags & !LSEG_LABELS_TRUNCATE != 0 {
            return Err(invalid(format!(
                "`flags` {flags:#x} has unknown bits (only LSEG_LABELS_TRUNCATE)"
            )));
        }
        let label_err = |m: String| Fail::new(lseg_status::LSEG_ERR_LABEL, m);
        if count == 0 {
            return Err(label_err("the label list is empty (`count` is 0)".into()));
        }
        if count > MAX_LABELS {
            return Err(label_err(format!(
                "`count` is {count}, at most {MAX_LABELS} labels"
            )));
        }
        if labels.is_null() {
            return Err(invalid("`labels` is NULL"));
        }
        // SAFETY: the caller passes `count` string pointers.
        let ptrs = unsafe { std::slice::from_raw_parts(labels, count) };
        let mut strs = Vec::with_capacity(count);
        for (i, &p) in ptrs.iter().enumerate() {
            if p.is_null() {
                return Err(invalid(format!("`labels[{i}]` is NULL")));
            }
            let s = unsafe { str_arg(p, &format!("labels[{i}]")) }.map_err(|f| label_err(f.msg))?;
            strs.push(s);
        }
        let set = m
            .model
            .encode_labels_with(&strs, flags & LSEG_LABELS_TRUNCATE != 0)?;
        let embeddings = set.to_vec();
        let dim = embeddings.len() / set.len();
        let id = LABELS.insert_with(|_| Labels {
            model_id: m.id,
            set,
            embeddings,
            dim,
        });
        unsafe { write_out(out_labels, id as *mut lseg_labels) };
        Ok(())
    })
}

/// Free a label set. NULL is a no-op; a double free is detected and ignored.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_labels_free(labels: *mut lseg_labels) {
    query((), || {
        if !labels.is_null() && LABELS.remove(labels as usize).is_none() {
            return Err(invalid(format!(
                "lseg_labels_free: {labels:p} is not a live labels handle (freed twice?); \
                 ignored"
            )));
        }
        Ok(())
    })
}

/// Number of labels in a set; 0 for an invalid handle.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_labels_count(labels: *const lseg_labels) -> usize {
    query(0, || Ok(labels_arg(labels)?.set.len()))
}

/// Text-embedding dimension of a set (the model's `lseg_model_embed_dim`); 0 for an invalid
/// handle.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_labels_dim(labels: *const lseg_labels) -> usize {
    query(0, || Ok(labels_arg(labels)?.dim))
}

/// Copy the L2-normalised text embeddings, row-major `count x dim` floats, into `out`
/// (`out_len` elements, at least `count * dim`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_labels_embeddings(
    labels: *const lseg_labels,
    out: *mut f32,
    out_len: usize,
) -> lseg_status {
    guard(|| {
        let l = labels_arg(labels)?;
        out_arg(out, "out")?;
        let n = l.embeddings.len();
        if out_len < n {
            return Err(too_small("out", n, out_len));
        }
        // SAFETY: `out` holds `out_len >= n` floats.
        unsafe { std::ptr::copy_nonoverlapping(l.embeddings.as_ptr(), out, n) };
        Ok(())
    })
}

fn too_small(what: &str, need: usize, got: usize) -> Fail {
    Fail::new(
        lseg_status::LSEG_ERR_BUFFER_TOO_SMALL,
        format!("`{what}` holds {got} elements, {need} are needed"),
    )
}

/// Default segmentation parameters: single-scale at 480; multi-scale fields hold the official
/// protocol (520 / 480 / flip / the six official scales); no callback.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_segment_params_default() -> lseg_segment_params {
    lseg_segment_params {
        struct_size: std::mem::size_of::<lseg_segment_params>() as u32,
        mode: lseg_mode::Single as u32,
        size: 480,
        base_size: 520,
        crop_size: 480,
        flip: 1,
        scales: std::ptr::null(),
        n_scales: 0,
        progress: None,
        user_data: std::ptr::null_mut(),
    }
}

/// Empty outputs (all NULL) with `struct_size` set.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_segment_outputs_default() -> lseg_segment_outputs {
    lseg_segment_outputs {
        struct_size: std::mem::size_of::<lseg_segment_outputs>() as u32,
        label_map: std::ptr::null_mut(),
        label_map_len: 0,
        scores: std::ptr::null_mut(),
        scores_len: 0,
        confidence: std::ptr::null_mut(),
        confidence_len: 0,
    }
}

fn mode_of(p: &lseg_segment_params) -> CResult<Mode> {
    match p.mode {
        0 => Ok(Mode::Single {
            size: side_arg(p.size, "params->size")?,
        }),
        1 => {
            let base = p.base_size as usize;
            if base == 0 || base > MAX_IMAGE_SIDE {
                return Err(invalid(format!(
                    "`params->base_size` is {base}, must be 1..={MAX_IMAGE_SIDE}"
                )));
            }
            let crop = p.crop_size as usize;
            if crop == 0 || !crop.is_multiple_of(32) || crop > MAX_IMAGE_SIDE {
                return Err(invalid(format!(
                    "`params->crop_size` is {crop}, must be a positive multiple of 32 up to \
                     {MAX_IMAGE_SIDE}"
                )));
            }
            let flip = match p.flip {
                0 => false,
                1 => true,
                f => return Err(invalid(format!("`params->flip` is {f}, must be 0 or 1"))),
            };
            let scales = match (p.scales.is_null(), p.n_scales) {
                (true, 0) => MultiScale::default().scales,
                (false, n @ 1..=64) => {
                    // SAFETY: the caller passes `n_scales` doubles.
                    unsafe { std::slice::from_raw_parts(p.scales, n) }.to_vec()
                }
                (true, n) => {
                    return Err(invalid(format!(
                        "`params->scales` is NULL but `n_scales` is {n}"
                    )));
                }
                (false, n) => {
                    return Err(invalid(format!(
                        "`params->n_scales` is {n}, must be 1..=64"
                    )));
                }
            };
            for (i, &s) in scales.iter().enumerate() {
                if !(s.is_finite() && s > 0.0 && (base as f64 * s).ceil() <= MAX_IMAGE_SIDE as f64)
                {
                    return Err(invalid(format!(
                        "`params->scales[{i}]` is {s}: must be finite, > 0, and \
                         base_size * scale <= {MAX_IMAGE_SIDE}"
                    )));
                }
            }
            Ok(Mode::MultiScale(MultiScale {
                base_size: base,
                crop_size: crop,
                scales,
                flip,
            }))
        }
        m => Err(invalid(format!(
            "`params->mode` is {m}, not one of LSEG_MODE_* (0..=1)"
        ))),
    }
}

/// Segment an image with an encoded label set. Outputs are caller-allocated, at the input
/// resolution: `label_map` and `confidence` need `width * height` elements, `scores`
/// `count * width * height`. `params` NULL means `lseg_segment_params_default()`. The
/// buffers are checked before any work and written only on success.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_segment(
    model: *const lseg_model,
    labels: *const lseg_labels,
    image: *const lseg_image,
    params: *const lseg_segment_params,
    outputs: *const lseg_segment_outputs,
) -> lseg_status {
    guard(|| {
        let m = model_arg(model)?;
        let l = labels_arg(labels)?;
        if l.model_id != m.id {
            return Err(invalid(
                "`labels` was encoded by another model; encode them with this model",
            ));
        }
        let view = unsafe { image_arg(image)? };
        let p = if params.is_null() {
            lseg_segment_params_default()
        } else {
            unsafe { params_arg(params, "params")? }
        };
        let mode = mode_of(&p)?;
        let o = unsafe { params_arg(outputs, "outputs")? };
        if o.label_map.is_null() && o.scores.is_null() && o.confidence.is_null() {
            return Err(invalid(
                "`outputs` requests nothing: set label_map, scores or confidence",
            ));
        }
        let hw = view.width * view.height;
        let nhw = hw
            .checked_mul(l.set.len())
            .ok_or_else(|| invalid("scores size overflows size_t"))?;
        if !o.label_map.is_null() && o.label_map_len < hw {
            return Err(too_small("outputs->label_map", hw, o.label_map_len));
        }
        if !o.scores.is_null() && o.scores_len < nhw {
            return Err(too_small("outputs->scores", nhw, o.scores_len));
        }
        if !o.confidence.is_null() && o.confidence_len < hw {
            return Err(too_small("outputs->confidence", hw, o.confidence_len));
        }
        let mut cb = |done: usize, total: usize| -> bool {
            match p.progress {
                // SAFETY: the caller's callback, with the caller's user_data.
                Some(f) => unsafe { f(done, total, p.user_data) },
                None => true,
            }
        };
        let seg = m.model.segment(&view, &l.set, &mode, Some(&mut cb))?;
        let labels_out = (!o.label_map.is_null()).then(|| seg.label_map());
        let scores_out = (!o.scores.is_null()).then(|| seg.scores_vec());
        let conf_out = (!o.confidence.is_null()).then(|| seg.confidence());
        for (v, n) in [(labels_out.as_ref().map(Vec::len), hw)]
            .into_iter()
            .chain([(scores_out.as_ref().map(Vec::len), nhw)])
            .chain([(conf_out.as_ref().map(Vec::len), hw)])
        {
            if v.is_some_and(|v| v != n) {
                return Err(Fail::new(
                    lseg_status::LSEG_ERR_INTERNAL,
                    format!("output has {v:?} elements, expected {n}"),
                ));
            }
        }
        // SAFETY: sizes checked above.
        unsafe {
            if let Some(v) = labels_out {
                std::ptr::copy_nonoverlapping(v.as_ptr(), o.label_map, hw);
            }
            if let Some(v) = scores_out {
                std::ptr::copy_nonoverlapping(v.as_ptr(), o.scores, nhw);
            }
            if let Some(v) = conf_out {
                std::ptr::copy_nonoverlapping(v.as_ptr(), o.confidence, hw);
            }
        }
        Ok(())
    })
}

/// Default embedding parameters: long side 480, L2, native resolution, f32, CHW.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_embed_params_default() -> lseg_embed_params {
    lseg_embed_params {
        struct_size: std::mem::size_of::<lseg_embed_params>() as u32,
        size: 480,
        norm: lseg_embed_norm::L2 as u32,
        resolution: lseg_embed_resolution::Native as u32,
        dtype: lseg_dtype::F32 as u32,
        layout: lseg_layout::Chw as u32,
    }
}

struct EmbedPlan {
    opts: EmbedOptions,
    half: bool,
    hwc: bool,
    dim: usize,
    h: usize,
    w: usize,
}

impl EmbedPlan {
    fn bytes(&self) -> CResult<usize> {
        self.dim
            .checked_mul(self.h * self.w)
            .and_then(|v| v.checked_mul(if self.half { 2 } else { 4 }))
            .ok_or_else(|| invalid("embedding size overflows size_t"))
    }
}

unsafe fn embed_plan(
    m: &Model,
    width: usize,
    height: usize,
    params: *const lseg_embed_params,
) -> CResult<EmbedPlan> {
    let p = if params.is_null() {
        lseg_embed_params_default()
    } else {
        unsafe { params_arg(params, "params")? }
    };
    let size = side_arg(p.size, "params->size")?;
    let norm = match p.norm {
        0 => EmbedNorm::Raw,
        1 => EmbedNorm::L2,
        2 => EmbedNorm::L2Scaled,
        v => {
            return Err(invalid(format!(
                "`params->norm` is {v}, not one of LSEG_EMBED_NORM_* (0..=2)"
            )));
        }
    };
    let resolution = match p.resolution {
        0 => EmbedResolution::Native,
        1 => EmbedResolution::Input,
        v => {
            return Err(invalid(format!(
                "`params->resolution` is {v}, not one of LSEG_EMBED_RESOLUTION_* (0..=1)"
            )));
        }
    };
    let half = match p.dtype {
        0 => false,
        1 => true,
        v => {
            return Err(invalid(format!(
                "`params->dtype` is {v}: embeddings are LSEG_DTYPE_F32 (0) or LSEG_DTYPE_F16 (1)"
            )));
        }
    };
    let hwc = match p.layout {
        0 => false,
        1 => true,
        v => {
            return Err(invalid(format!(
                "`params->layout` is {v}, not one of LSEG_LAYOUT_* (0..=1)"
            )));
        }
    };
    if width == 0 || height == 0 || width > MAX_IMAGE_SIDE || height > MAX_IMAGE_SIDE {
        return Err(invalid(format!(
            "image size {width}x{height} must be 1..={MAX_IMAGE_SIDE} on each side"
        )));
    }
    let (h, w) = match resolution {
        EmbedResolution::Input => (height, width),
        EmbedResolution::Native => {
            let (rh, rw) = resized_size(height, width, size)?;
            (rh.div_ceil(2), rw.div_ceil(2))
        }
    };
    Ok(EmbedPlan {
        opts: EmbedOptions {
            size,
            norm,
            resolution,
        },
        half,
        hwc,
        dim: m.model.embed_dim(),
        h,
        w,
    })
}

/// Shape of `lseg_embed`'s output for a `width x height` image: `dim`, grid `height` and
/// `width` and the size in bytes (`dim * height * width * (f16 ? 2 : 4)`). Each out pointer
/// is optional. Native resolution: the image's long side is resized to `size` (the short side
/// scaled and rounded to nearest), then the grid is half of that, rounded up.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn lseg_embed_shape(
    model: *const lseg_model,
    width: u32,
    height: u32,
    params: *const lseg_embed_params,
    out_dim: *mut usize,
    out_height: *mut usize,
    out_width: *mut usize,
    out_bytes: *mut usize,
) -> lseg_status {
    guard(|| {
        let m = model_arg(model)?;
        let plan = unsafe { embed_plan(&m, width as usize, height as usize, params)? };
        let bytes = plan.bytes()?;
        for (p, v) in [
            (out_dim, plan.dim),
            (out_height, plan.h),
            (out_width, plan.w),
            (out_bytes, bytes),
        ] {
            if !p.is_null() {
                unsafe { write_out(p, v) };
            }
        }
        Ok(())
    })
}

/// Dense pixel embeddings of an image into `out` (`out_size` bytes, at least the size given
/// by `lseg_embed_shape`). `params` NULL means `lseg_embed_params_default()`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_embed(
    model: *const lseg_model,
    image: *const lseg_image,
    params: *const lseg_embed_params,
    out: *mut c_void,
    out_size: usize,
) -> lseg_status {
    guard(|| {
        let m = model_arg(model)?;
        let view = unsafe { image_arg(image)? };
        let plan = unsafe { embed_plan(&m, view.width, view.height, params)? };
        out_arg(out, "out")?;
        let bytes = plan.bytes()?;
        if out_size < bytes {
            return Err(Fail::new(
                lseg_status::LSEG_ERR_BUFFER_TOO_SMALL,
                format!("`out` holds {out_size} bytes, {bytes} are needed"),
            ));
        }
        let t = m.model.embed_image(&view, &plan.opts)?;
        let dims = t.dims();
        if dims != [1, plan.dim, plan.h, plan.w] {
            return Err(Fail::new(
                lseg_status::LSEG_ERR_INTERNAL,
                format!(
                    "embedding shape {dims:?}, expected {:?}",
                    [1, plan.dim, plan.h, plan.w]
                ),
            ));
        }
        let v: Vec<f32> = t
            .to_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| Fail::new(lseg_status::LSEG_ERR_INTERNAL, format!("{e:?}")))?;
        let v = if plan.hwc {
            let (d, hw) = (plan.dim, plan.h * plan.w);
            let mut t = vec![0f32; v.len()];
            for c in 0..d {
                for i in 0..hw {
                    t[i * d + c] = v[c * hw + i];
                }
            }
            t
        } else {
            v
        };
        // SAFETY: `out` holds `out_size >= bytes` bytes.
        unsafe {
            if plan.half {
                let h: Vec<u16> = v
                    .iter()
                    .map(|&x| half::f16::from_f32(x).to_bits())
                    .collect();
                std::ptr::copy_nonoverlapping(h.as_ptr() as *const u8, out as *mut u8, bytes);
            } else {
                std::ptr::copy_nonoverlapping(v.as_ptr() as *const u8, out as *mut u8, bytes);
            }
        }
        Ok(())
    })
}

fn images() -> std::sync::MutexGuard<'static, Option<HashMap<usize, Box<[u8]>>>> {
    IMAGES.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decode a PNG or JPEG file into a tightly packed image of the requested `LSEG_PIXEL_FORMAT_*`.
/// On success `*out_image` describes library-owned pixels; release them with
/// `lseg_image_free`. On failure `*out_image` is not written.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_image_load(
    path: *const c_char,
    format: u32,
    out_image: *mut lseg_image,
) -> lseg_status {
    guard(|| {
        let path = unsafe { str_arg(path, "path")? };
        let fmt = format_arg(format, "format")?;
        out_arg(out_image, "out_image")?;
        let img = image::ImageReader::open(path)
            .map_err(|e| Fail::new(lseg_status::LSEG_ERR_IO, format!("cannot read {path}: {e}")))?
            .with_guessed_format()
            .map_err(|e| Fail::new(lseg_status::LSEG_ERR_IO, format!("cannot read {path}: {e}")))?
            .decode()
            .map_err(|e| {
                let status = match e {
                    image::ImageError::IoError(_) => lseg_status::LSEG_ERR_IO,
                    _ => lseg_status::LSEG_ERR_IMAGE_DECODE,
                };
                Fail::new(status, format!("cannot decode {path}: {e}"))
            })?;
        let (w, h) = (img.width(), img.height());
        if w as usize > MAX_IMAGE_SIDE || h as usize > MAX_IMAGE_SIDE {
            return Err(invalid(format!(
                "{path}: image size {w}x{h} exceeds the maximum side {MAX_IMAGE_SIDE}"
            )));
        }
        let mut data: Vec<u8> = match fmt {
            PixelFormat::Rgb8 | PixelFormat::Bgr8 => img.to_rgb8().into_raw(),
            PixelFormat::Rgba8 | PixelFormat::Bgra8 => img.to_rgba8().into_raw(),
            PixelFormat::Gray8 => img.to_luma8().into_raw(),
        };
        let ch = fmt.channels();
        if matches!(fmt, PixelFormat::Bgr8 | PixelFormat::Bgra8) {
            for px in data.chunks_exact_mut(ch) {
                px.swap(0, 2);
            }
        }
        let data = data.into_boxed_slice();
        let ptr = data.as_ptr();
        images()
            .get_or_insert_with(HashMap::new)
            .insert(ptr as usize, data);
        let out = lseg_image {
            data: ptr,
            width: w,
            height: h,
            stride: w as usize * ch,
            format,
        };
        unsafe { write_out(out_image, out) };
        Ok(())
    })
}

/// Release the pixels of an image made by `lseg_image_load` and zero the descriptor. NULL, a
/// zeroed descriptor and a second free are no-ops; a descriptor lseg did not make is left
/// alone (and `lseg_last_error` says so).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_image_free(image: *mut lseg_image) {
    query((), || {
        if image.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL, points to an lseg_image (contract).
        let img = unsafe { image.read_unaligned() };
        if img.data.is_null() {
            return Ok(());
        }
        let removed = images()
            .as_mut()
            .and_then(|m| m.remove(&(img.data as usize)));
        if removed.is_none() {
            return Err(invalid(format!(
                "lseg_image_free: {:p} was not allocated by lseg_image_load; left alone",
                img.data
            )));
        }
        let zero = lseg_image {
            data: std::ptr::null(),
            width: 0,
            height: 0,
            stride: 0,
            format: 0,
        };
        unsafe { write_out(image, zero) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_crate_version() {
        let v = unsafe { std::ffi::CStr::from_ptr(lseg_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }
}
