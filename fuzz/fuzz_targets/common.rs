//! Shared by the fuzz targets: the tiny model, status checks.
#![allow(dead_code)]

use std::sync::OnceLock;

use capi::*;

/// The repository's tiny model (7.7 MB, f16 with its configuration).
pub const TINY: &[u8] = include_bytes!("../../examples/data/tiny-random-vit16.safetensors");

/// Statuses a call may return on bad input; `LSEG_ERR_INTERNAL` (a caught panic) is a bug.
pub fn expected(s: lseg_status) {
    assert_ne!(
        s,
        lseg_status::LSEG_ERR_INTERNAL,
        "internal error: {}",
        last_error()
    );
}

pub fn last_error() -> String {
    unsafe { std::ffi::CStr::from_ptr(lseg_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// The tiny model, loaded once per process (its handle is a plain id: shareable).
pub fn model() -> usize {
    static M: OnceLock<usize> = OnceLock::new();
    *M.get_or_init(|| {
        let mut p = lseg_model_params_default();
        p.weights_data = TINY.as_ptr().cast();
        p.weights_size = TINY.len();
        let mut m = std::ptr::null_mut();
        let s = unsafe { lseg_create(&p, &mut m) };
        assert_eq!(s, lseg_status::LSEG_OK, "{}", last_error());
        m as usize
    })
}

/// A label set of the tiny model ("grass", "sky"), once per process.
pub fn labels() -> usize {
    static L: OnceLock<usize> = OnceLock::new();
    *L.get_or_init(|| {
        let names = [c"grass".as_ptr(), c"sky".as_ptr()];
        let mut l = std::ptr::null_mut();
        let s = unsafe { lseg_encode_labels(model() as *const _, names.as_ptr(), 2, &mut l) };
        assert_eq!(s, lseg_status::LSEG_OK, "{}", last_error());
        l as usize
    })
}

/// A file path of this process for targets that read files.
pub fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("lseg-fuzz-{}-{name}", std::process::id()))
}
