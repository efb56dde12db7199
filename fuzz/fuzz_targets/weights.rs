//! Arbitrary bytes as a weights file: safetensors header and tensor table, configuration
//! inference from shapes or metadata, dtype decoding (`lseg_create` from memory).
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;
use capi::*;

fuzz_target!(|data: &[u8]| {
    let mut p = lseg_model_params_default();
    p.weights_data = data.as_ptr().cast();
    p.weights_size = data.len();
    let mut m = std::ptr::null_mut();
    let s = unsafe { lseg_create(&p, &mut m) };
    common::expected(s);
    if s == lseg_status::LSEG_OK {
        lseg_free(m);
    }
});
