//! Arbitrary bytes as an image file for `lseg_image_load` (PNG/JPEG decoding, format
//! conversion); the first byte picks the pixel format (valid and not).
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;
use capi::*;

fuzz_target!(|data: &[u8]| {
    let Some((&f, bytes)) = data.split_first() else {
        return;
    };
    let path = common::scratch("image");
    std::fs::write(&path, bytes).unwrap();
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    let mut img = lseg_image {
        data: std::ptr::null(),
        width: 0,
        height: 0,
        stride: 0,
        format: 0,
    };
    let s = unsafe { lseg_image_load(c.as_ptr(), u32::from(f % 6), &mut img) };
    common::expected(s);
    if s == lseg_status::LSEG_OK {
        assert!(img.width > 0 && img.height > 0 && !img.data.is_null());
        unsafe { lseg_image_free(&mut img) };
    }
});
