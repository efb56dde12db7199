//! The stable C ABI of lseg (`include/lseg.h`, generated from this crate by cbindgen): one
//! file per C object, over the `lseg` Rust library only.
//!
//! Every entry point catches panics ([`panic`]), checks every pointer and value it is given,
//! writes its outputs only on success, and on failure returns a status and sets a
//! thread-local message ([`error::lseg_last_error`]). Handles are opaque ids looked up in a
//! table ([`handle`]): a freed, foreign or garbage handle is reported as
//! `LSEG_ERR_INVALID_ARGUMENT`, never dereferenced, and a call that races with a free keeps
//! its object alive until it returns. The rules on values (sizes, scales, labels) are the
//! library's: this layer decodes C values and calls them.
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

use std::ffi::c_char;

// LSEG_VERSION_MAJOR / _MINOR / _PATCH / _STRING are written into the header from the
// crate version by header-check (cbindgen cannot export string constants).

/// Version of the binary interface; changes only on incompatible changes (it is the
/// number in the shared library's soname, `liblseg.so.1`).
pub const LSEG_ABI_VERSION: u32 = 1;
/// `lseg_encode_labels_ex` flag: cut labels over 77 tokens (as `clip.tokenize(truncate=True)`)
/// instead of failing.
pub const LSEG_LABELS_TRUNCATE: u32 = 1;
/// The largest image width and height accepted (larger images are
/// `LSEG_ERR_INVALID_ARGUMENT`).
pub const LSEG_MAX_IMAGE_SIDE: u32 = 16384;
/// Most labels in one set (more are `LSEG_ERR_LABEL`).
pub const LSEG_MAX_LABELS: u32 = 65535;
/// Longest label in UTF-8 bytes (longer ones are `LSEG_ERR_LABEL`, even when truncating).
pub const LSEG_MAX_LABEL_BYTES: u32 = 4096;
/// Most multi-scale scales (`n_scales`; more are `LSEG_ERR_INVALID_ARGUMENT`).
pub const LSEG_MAX_SCALES: u32 = 64;
/// Largest weights file or buffer in bytes, 8 GiB (larger ones are `LSEG_ERR_INVALID_WEIGHTS`).
pub const LSEG_MAX_WEIGHTS_BYTES: u64 = 8_589_934_592;

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

// The modules in header order: cbindgen emits items in the order it meets them, so this
// order is the order of include/lseg.h (the blank lines keep rustfmt from sorting them).
pub mod enums;

pub mod types;

pub mod error;

pub mod model;

pub mod labels;

pub mod segment;

pub mod embed;

pub mod image;

mod args;
mod handle;
mod panic;

pub use embed::*;
pub use enums::*;
pub use error::{lseg_last_error, lseg_status_name};
pub use image::*;
pub use labels::*;
pub use model::*;
pub use segment::*;
pub use types::*;

// The Rust-side tests share the library's test helpers (`tests/common`), which name the
// library `lseg`.
#[cfg(test)]
extern crate lseg_core as lseg;
#[cfg(test)]
mod tests;
