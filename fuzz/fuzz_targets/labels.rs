//! Arbitrary bytes as labels through the C ABI: the CLIP tokenizer's clean-up and BPE, UTF-8
//! checks, the 77-token limit, truncation (first byte: flags), the text encoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;
use capi::*;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    // Labels are the NUL-separated parts (at most 16).
    let parts: Vec<Vec<u8>> = rest
        .split(|&b| b == 0)
        .take(16)
        .map(|p| p.iter().copied().chain([0]).collect())
        .collect();
    let ptrs: Vec<*const std::ffi::c_char> = parts.iter().map(|p| p.as_ptr().cast()).collect();
    let mut l = std::ptr::null_mut();
    let s = unsafe {
        lseg_encode_labels_ex(
            common::model() as *const _,
            ptrs.as_ptr(),
            ptrs.len(),
            u32::from(flags & 3),
            &mut l,
        )
    };
    common::expected(s);
    if s == lseg_status::LSEG_OK {
        assert_eq!(lseg_labels_count(l), ptrs.len());
        lseg_labels_free(l);
    }
});
