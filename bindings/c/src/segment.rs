//! `lseg_segment`: protocol parameters, caller-allocated outputs.

use std::sync::Arc;

use lseg_core::{Mode, MultiScale, Segmentation};

use crate::args::params_arg;
use crate::enums::{lseg_mode, lseg_status};
use crate::error::{CResult, at, in_field, internal, invalid, too_small};
use crate::image::image_arg;
use crate::labels::{Labels, labels_arg};
use crate::model::{Model, model_arg};
use crate::panic::guard;
use crate::types::{
    lseg_image, lseg_labels, lseg_model, lseg_segment_outputs, lseg_segment_params,
};

/// A C resize target: 0 means the input size.
pub(crate) fn side(v: u32) -> Option<usize> {
    (v != 0).then_some(v as usize)
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

/// The library's protocol of the parameters, validated by the library.
fn mode_of(p: &lseg_segment_params) -> CResult<Mode> {
    let mode = match lseg_mode::decode(p.mode, "params->mode")? {
        lseg_mode::Single => Mode::Single { size: side(p.size) },
        lseg_mode::MultiScale => {
            let flip = match p.flip {
                0 => false,
                1 => true,
                f => return Err(invalid(format!("`params->flip` is {f}, must be 0 or 1"))),
            };
            // The count is checked before the array is read.
            let scales = match (p.scales.is_null(), p.n_scales) {
                (true, 0) => MultiScale::default().scales,
                (false, n) if (1..=MultiScale::MAX_SCALES).contains(&n) => {
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
                        "`params->n_scales` is {n}, must be 1..={}",
                        MultiScale::MAX_SCALES
                    )));
                }
            };
            Mode::MultiScale(MultiScale {
                base_size: p.base_size as usize,
                crop_size: p.crop_size as usize,
                scales,
                flip,
            })
        }
    };
    mode.validate().map_err(in_field("params"))?;
    Ok(mode)
}

/// Caller-allocated outputs checked against an image of `hw` pixels and `n` labels; `what`
/// names them in errors.
fn outputs_arg(
    outputs: *const lseg_segment_outputs,
    what: &str,
    hw: usize,
    n: usize,
) -> CResult<lseg_segment_outputs> {
    let o = unsafe { params_arg(outputs, what)? };
    if o.label_map.is_null() && o.scores.is_null() && o.confidence.is_null() {
        return Err(invalid(format!(
            "`{what}` requests nothing: set label_map, scores or confidence"
        )));
    }
    let nhw = hw
        .checked_mul(n)
        .ok_or_else(|| invalid("scores size overflows size_t"))?;
    if !o.label_map.is_null() && o.label_map_len < hw {
        return Err(too_small(
            &format!("{what}->label_map"),
            hw,
            o.label_map_len,
        ));
    }
    if !o.scores.is_null() && o.scores_len < nhw {
        return Err(too_small(&format!("{what}->scores"), nhw, o.scores_len));
    }
    if !o.confidence.is_null() && o.confidence_len < hw {
        return Err(too_small(
            &format!("{what}->confidence"),
            hw,
            o.confidence_len,
        ));
    }
    Ok(o)
}

/// Write what `o` requests of `seg` (checked by [`outputs_arg`]).
fn write_outputs(seg: &Segmentation, o: &lseg_segment_outputs, n: usize) -> CResult<()> {
    let (h, w) = seg.size();
    let (hw, nhw) = (h * w, h * w * n);
    let labels_out = (!o.label_map.is_null()).then(|| seg.label_map());
    let scores_out = (!o.scores.is_null()).then(|| seg.scores_vec());
    let conf_out = (!o.confidence.is_null()).then(|| seg.confidence());
    for (v, n) in [
        (labels_out.as_ref().map(Vec::len), hw),
        (scores_out.as_ref().map(Vec::len), nhw),
        (conf_out.as_ref().map(Vec::len), hw),
    ] {
        if v.is_some_and(|v| v != n) {
            return Err(internal(format!("output has {v:?} elements, expected {n}")));
        }
    }
    // SAFETY: sizes checked by `outputs_arg` and above.
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
}

/// The model and a label set it encoded.
fn model_and_labels(
    model: *const lseg_model,
    labels: *const lseg_labels,
) -> CResult<(Arc<Model>, Arc<Labels>)> {
    let m = model_arg(model)?;
    let l = labels_arg(labels)?;
    if l.model_id != m.id {
        return Err(invalid(
            "`labels` was encoded by another model; encode them with this model",
        ));
    }
    Ok((m, l))
}

/// The caller's progress callback of `p` as a closure (always `true` without one).
fn progress_of(p: &lseg_segment_params) -> impl FnMut(usize, usize) -> bool + '_ {
    move |done, total| match p.progress {
        // SAFETY: the caller's callback, with the caller's user_data.
        Some(f) => unsafe { f(done, total, p.user_data) },
        None => true,
    }
}

/// The parameters (NULL: the defaults) and their protocol.
fn params_of(params: *const lseg_segment_params) -> CResult<(lseg_segment_params, Mode)> {
    let p = if params.is_null() {
        lseg_segment_params_default()
    } else {
        unsafe { params_arg(params, "params")? }
    };
    let mode = mode_of(&p)?;
    Ok((p, mode))
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
        let (m, l) = model_and_labels(model, labels)?;
        let view = unsafe { image_arg(image)? };
        let (p, mode) = params_of(params)?;
        let o = outputs_arg(
            outputs,
            "outputs",
            view.width() * view.height(),
            l.set.len(),
        )?;
        let mut cb = progress_of(&p);
        let seg = m.model.segment(&view, &l.set, &mode, Some(&mut cb))?;
        write_outputs(&seg, &o, l.set.len())
    })
}

/// Segment `n_images` images (of any sizes) with one label set in one call: `images` and
/// `outputs` are arrays of `n_images` elements, `outputs[i]` sized for `images[i]` as for
/// `lseg_segment`. Single-scale images of the same network input size run through the
/// network together (up to 8 per pass); the results are `lseg_segment`'s for each image (to
/// float rounding). Everything is checked before any work; the outputs are written only when
/// every image succeeded. The progress callback counts network passes over the whole batch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_segment_batch(
    model: *const lseg_model,
    labels: *const lseg_labels,
    images: *const lseg_image,
    n_images: usize,
    params: *const lseg_segment_params,
    outputs: *const lseg_segment_outputs,
) -> lseg_status {
    guard(|| {
        let (m, l) = model_and_labels(model, labels)?;
        if n_images == 0 {
            return Err(invalid("`n_images` is 0"));
        }
        if images.is_null() || outputs.is_null() {
            return Err(invalid("`images` or `outputs` is NULL"));
        }
        let (p, mode) = params_of(params)?;
        let mut views = Vec::with_capacity(n_images);
        let mut outs = Vec::with_capacity(n_images);
        for i in 0..n_images {
            // SAFETY: the caller passes `n_images` images and outputs.
            let view = unsafe { image_arg(images.add(i)) }.map_err(at("images", i))?;
            let hw = view.width() * view.height();
            let what = format!("outputs[{i}]");
            outs.push(outputs_arg(
                unsafe { outputs.add(i) },
                &what,
                hw,
                l.set.len(),
            )?);
            views.push(view);
        }
        let mut cb = progress_of(&p);
        let segs = m
            .model
            .segment_batch(&views, &l.set, &mode, Some(&mut cb))?;
        for (seg, o) in segs.iter().zip(&outs) {
            write_outputs(seg, o, l.set.len())?;
        }
        Ok(())
    })
}

/// The colour lseg draws label index `label` with, for colour label maps and overlays (the
/// CLI's pictures, the ROS nodes' colour images): `rgb` receives 3 bytes, R, G, B. The same
/// for every label set and every run.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn lseg_label_color(label: u32, rgb: *mut u8) -> lseg_status {
    guard(|| {
        if rgb.is_null() {
            return Err(invalid("`rgb` is NULL"));
        }
        let c = lseg_core::palette::colour(label as usize);
        // SAFETY: non-NULL; the caller provides 3 writable bytes (contract).
        unsafe { std::ptr::copy_nonoverlapping(c.as_ptr(), rgb, 3) };
        Ok(())
    })
}
