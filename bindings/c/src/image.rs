//! `lseg_image`: the borrowed images every call reads, and decoding image files into
//! library-owned pixels (`lseg_image_load` / `lseg_image_free`).

use std::collections::HashMap;
use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

use lseg_core::{ImageView, MAX_IMAGE_SIDE, PixelFormat};

use crate::args::{out_arg, str_arg, write_out};
use crate::enums::{lseg_pixel_format, lseg_status};
use crate::error::{CResult, Fail, in_field, invalid};
use crate::panic::{guard, query};
use crate::types::lseg_image;

/// The library's view of a C image, checked by the library (`stride` 0: tightly packed).
pub(crate) unsafe fn image_arg<'a>(p: *const lseg_image) -> CResult<ImageView<'a>> {
    if p.is_null() {
        return Err(invalid("`image` is NULL"));
    }
    // SAFETY: non-NULL, points to an lseg_image (contract).
    let img = unsafe { p.read_unaligned() };
    let format: PixelFormat = lseg_pixel_format::decode(img.format, "image->format")?.into();
    let (w, h) = (img.width as usize, img.height as usize);
    let stride = match img.stride {
        0 => w * format.channels(),
        s => s,
    };
    let len = ImageView::byte_len(w, h, stride, format).map_err(in_field("image"))?;
    if img.data.is_null() {
        return Err(invalid("`image->data` is NULL"));
    }
    // SAFETY: the caller guarantees `len` readable bytes (the documented formula).
    let data = unsafe { std::slice::from_raw_parts(img.data, len) };
    ImageView::new(data, w, h, stride, format).map_err(in_field("image"))
}

/// Buffers of images decoded by `lseg_image_load`, by data address.
static IMAGES: Mutex<Option<HashMap<usize, Box<[u8]>>>> = Mutex::new(None);

fn images() -> MutexGuard<'static, Option<HashMap<usize, Box<[u8]>>>> {
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
        let fmt: PixelFormat = lseg_pixel_format::decode(format, "format")?.into();
        out_arg(out_image, "out_image")?;
        let io_err = |e: std::io::Error| {
            Fail::new(lseg_status::LSEG_ERR_IO, format!("cannot read {path}: {e}"))
        };
        let img = image::ImageReader::open(path)
            .map_err(io_err)?
            .with_guessed_format()
            .map_err(io_err)?
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
