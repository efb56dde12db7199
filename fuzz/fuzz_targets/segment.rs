//! Arbitrary image descriptors and parameters for `lseg_segment` and `lseg_embed_shape`: sizes,
//! strides, pixel formats (valid and not), modes, sizes, scales, output buffer lengths. The
//! pixel buffer always holds what the descriptor says it reads (the C contract).
#![no_main]
use libfuzzer_sys::fuzz_target;
mod common;
use capi::*;

fuzz_target!(|data: &[u8]| {
    if data.len() < 12 {
        return;
    }
    let (h, px) = data.split_at(12);
    let width = u32::from(h[0] % 48);
    let height = u32::from(h[1] % 48);
    let format = u32::from(h[2] % 6); // 5 is not a format
    let channels = [3usize, 3, 4, 4, 1, 3][format as usize];
    let row = width as usize * channels;
    let stride = if h[3] & 0x80 != 0 {
        0
    } else {
        row + usize::from(h[3] & 0x7f)
    }
    .saturating_sub(usize::from(h[4] % 4));
    let mut params = lseg_segment_params_default();
    params.size = u32::from(h[5] % 80);
    let scales = [0.5 + f64::from(h[8]) / 128.0, f64::from(h[9]) / 64.0];
    if h[6] & 1 == 1 {
        params.mode = 1;
        params.base_size = u32::from(h[7] % 96);
        params.crop_size = 32 * u32::from(h[7] % 3);
        params.flip = u32::from(h[6] >> 1 & 1);
        params.scales = scales.as_ptr();
        params.n_scales = usize::from(h[6] >> 2 & 1) + 1;
    }
    // The bytes the descriptor reads (stride 0: tightly packed), from the input (zero-padded).
    let pitch = if stride == 0 { row } else { stride };
    let need = if height == 0 {
        0
    } else {
        pitch * (height as usize - 1) + row
    };
    let mut pixels = px.to_vec();
    pixels.resize(need.max(1), 0);
    let image = lseg_image {
        data: pixels.as_ptr(),
        width,
        height,
        stride,
        format,
    };
    let hw = (width * height) as usize;
    let shrink = usize::from(h[10] % 3); // 0: exact, else too small
    let mut map = vec![0u16; hw.saturating_sub(shrink)];
    let mut conf = vec![0f32; hw];
    let mut out = lseg_segment_outputs_default();
    out.label_map = map.as_mut_ptr();
    out.label_map_len = map.len();
    if h[11] & 1 == 1 {
        out.confidence = conf.as_mut_ptr();
        out.confidence_len = conf.len();
    }
    let s = unsafe {
        lseg_segment(
            common::model() as *const _,
            common::labels() as *const _,
            &image,
            &params,
            &out,
        )
    };
    common::expected(s);
    if s == lseg_status::LSEG_OK {
        assert!(map.iter().all(|&l| l < 2));
    }
    let mut e = lseg_embed_params_default();
    e.size = params.size;
    let (mut d, mut eh, mut ew, mut b) = (0, 0, 0, 0);
    common::expected(unsafe {
        lseg_embed_shape(
            common::model() as *const _,
            width,
            height,
            &e,
            &mut d,
            &mut eh,
            &mut ew,
            &mut b,
        )
    });
});
