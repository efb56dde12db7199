//! Arbitrary bytes as the model configuration JSON (`config_json` of `lseg_create`) over the
//! tiny model's tensors.
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;
use capi::*;

fuzz_target!(|data: &[u8]| {
    let mut json: Vec<u8> = data.iter().copied().filter(|&b| b != 0).collect();
    json.push(0);
    let mut p = lseg_model_params_default();
    p.weights_data = common::TINY.as_ptr().cast();
    p.weights_size = common::TINY.len();
    p.config_json = json.as_ptr().cast();
    let mut m = std::ptr::null_mut();
    let s = unsafe { lseg_create(&p, &mut m) };
    common::expected(s);
    if s == lseg_status::LSEG_OK {
        lseg_free(m);
    }
});
