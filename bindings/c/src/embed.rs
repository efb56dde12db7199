//! `lseg_embed`: dense pixel embeddings into a caller buffer (f32 or f16, CHW or HWC).

use std::ffi::c_void;

use lseg_core::EmbedOptions;

use crate::args::{out_arg, params_arg, write_out};
use crate::enums::{lseg_dtype, lseg_embed_norm, lseg_embed_resolution, lseg_layout, lseg_status};
use crate::error::{CResult, Fail, in_field, internal, invalid};
use crate::image::image_arg;
use crate::model::{Model, model_arg};
use crate::panic::guard;
use crate::segment::side;
use crate::types::{lseg_embed_params, lseg_image, lseg_model};

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

/// What `lseg_embed` computes and writes for an image size.
struct EmbedPlan {
    opts: EmbedOptions,
    half: bool,
    layout: lseg_layout,
    dim: usize,
    h: usize,
    w: usize,
}

impl EmbedPlan {
    unsafe fn new(
        m: &Model,
        width: usize,
        height: usize,
        params: *const lseg_embed_params,
    ) -> CResult<Self> {
        let p = if params.is_null() {
            lseg_embed_params_default()
        } else {
            unsafe { params_arg(params, "params")? }
        };
        let opts = EmbedOptions {
            size: side(p.size),
            norm: lseg_embed_norm::decode(p.norm, "params->norm")?.into(),
            resolution: lseg_embed_resolution::decode(p.resolution, "params->resolution")?.into(),
        };
        let half = match lseg_dtype::decode(p.dtype, "params->dtype")? {
            lseg_dtype::F32 => false,
            lseg_dtype::F16 => true,
            lseg_dtype::Bf16 => {
                return Err(invalid(format!(
                    "`params->dtype` is {}: embeddings are LSEG_DTYPE_F32 (0) or LSEG_DTYPE_F16 \
                     (1)",
                    p.dtype
                )));
            }
        };
        let layout = lseg_layout::decode(p.layout, "params->layout")?;
        opts.validate().map_err(in_field("params"))?;
        let (h, w) = opts.grid(height, width)?;
        Ok(Self {
            opts,
            half,
            layout,
            dim: m.model.embed_dim(),
            h,
            w,
        })
    }

    fn bytes(&self) -> CResult<usize> {
        self.dim
            .checked_mul(self.h * self.w)
            .and_then(|v| v.checked_mul(if self.half { 2 } else { 4 }))
            .ok_or_else(|| invalid("embedding size overflows size_t"))
    }
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
        let plan = unsafe { EmbedPlan::new(&m, width as usize, height as usize, params)? };
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
        let plan = unsafe { EmbedPlan::new(&m, view.width(), view.height(), params)? };
        out_arg(out, "out")?;
        let bytes = plan.bytes()?;
        if out_size < bytes {
            return Err(Fail::new(
                lseg_status::LSEG_ERR_BUFFER_TOO_SMALL,
                format!("`out` holds {out_size} bytes, {bytes} are needed"),
            ));
        }
        let e = m
            .model
            .embed_pixels(&view, &plan.opts, plan.layout.into())?;
        if (e.dim, e.height, e.width) != (plan.dim, plan.h, plan.w) {
            return Err(internal(format!(
                "embedding shape {:?}, expected {:?}",
                (e.dim, e.height, e.width),
                (plan.dim, plan.h, plan.w)
            )));
        }
        // SAFETY: `out` holds `out_size >= bytes` bytes.
        unsafe {
            if plan.half {
                let h = e.to_f16();
                std::ptr::copy_nonoverlapping(h.as_ptr() as *const u8, out as *mut u8, bytes);
            } else {
                std::ptr::copy_nonoverlapping(e.data.as_ptr() as *const u8, out as *mut u8, bytes);
            }
        }
        Ok(())
    })
}
