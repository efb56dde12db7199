//! Images from Python: numpy `uint8` arrays `(H, W)`, `(H, W, 1|3|4)` with any strides, and
//! PIL images. Row-strided arrays (crops, padded rows) are read in place; other layouts are
//! copied once into packed rows.

use lseg::{ImageView, PixelFormat};
use numpy::{
    PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArray,
    PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::errors::argument;

/// The pixels of one image, held for the duration of a call.
pub(crate) struct Frame<'py> {
    /// Keeps a borrowed array alive (and borrowed) while `view` points into it.
    _array: Option<PyReadonlyArrayDyn<'py, u8>>,
    /// A packed copy when the array's layout could not be read in place.
    _owned: Option<Vec<u8>>,
    data: *const u8,
    len: usize,
    width: usize,
    height: usize,
    stride: usize,
    format: PixelFormat,
}

impl<'py> Frame<'py> {
    /// Read `image` (numpy array or PIL image); `bgr` says that 3/4-channel arrays are in
    /// B, G, R order (OpenCV).
    pub(crate) fn extract(image: &Bound<'py, PyAny>, bgr: bool) -> PyResult<Self> {
        let py = image.py();
        let array = if image.cast::<PyUntypedArray>().is_ok() {
            image.clone()
        } else if image.hasattr("mode")? && image.hasattr("convert")? {
            if bgr {
                return Err(argument(
                    "bgr=True applies to numpy arrays; PIL images are RGB",
                ));
            }
            let mode: String = image.getattr("mode")?.extract()?;
            let img = match mode.as_str() {
                "RGB" | "RGBA" | "L" => image.clone(),
                _ => image.call_method1("convert", ("RGB",))?,
            };
            py.import("numpy")?.call_method1("asarray", (img,))?
        } else {
            return Err(argument(format!(
                "image must be a numpy.ndarray of uint8, (H, W) or (H, W, 1|3|4), or a PIL \
                 image; got {}",
                image.get_type().name()?
            )));
        };
        let untyped = array.cast::<PyUntypedArray>()?;
        let dtype = untyped.dtype();
        if !dtype.is_equiv_to(&numpy::dtype::<u8>(py)) {
            return Err(argument(format!(
                "image dtype is {}, expected uint8",
                dtype.str()?
            )));
        }
        let shape = untyped.shape().to_vec();
        let (height, width, channels) = match shape[..] {
            [h, w] => (h, w, 1),
            [h, w, c] if matches!(c, 1 | 3 | 4) => (h, w, c),
            _ => {
                return Err(argument(format!(
                    "image shape is {shape:?}, expected (H, W) or (H, W, C) with C in 1, 3, 4"
                )));
            }
        };
        let format = match (channels, bgr) {
            (1, _) => PixelFormat::Gray8,
            (3, false) => PixelFormat::Rgb8,
            (3, true) => PixelFormat::Bgr8,
            (4, false) => PixelFormat::Rgba8,
            (_, _) => PixelFormat::Bgra8,
        };
        lseg::image::check_image_size(width, height).map_err(crate::errors::to_py)?;
        let array: PyReadonlyArrayDyn<'py, u8> = array
            .cast::<PyArrayDyn<u8>>()?
            .try_readonly()
            .map_err(|e| argument(format!("image array cannot be read: {e}")))?;
        let strides = array.strides().to_vec();
        let row = width * channels;
        // Rows of packed pixels at a positive row stride: read in place.
        let pixel_packed = match strides[..] {
            [_, sx] => sx == 1,
            [_, sx, sc] => sc == 1 && sx == channels as isize,
            _ => false,
        };
        if pixel_packed && strides[0] >= row as isize {
            let stride = strides[0] as usize;
            let len = (height - 1) * stride + row;
            let data = array.data() as *const u8;
            return Ok(Self {
                _array: Some(array),
                _owned: None,
                data,
                len,
                width,
                height,
                stride,
                format,
            });
        }
        let owned: Vec<u8> = array.as_array().iter().copied().collect();
        Ok(Self {
            data: owned.as_ptr(),
            len: owned.len(),
            _owned: Some(owned),
            _array: None,
            width,
            height,
            stride: row,
            format,
        })
    }

    /// The library's view of the pixels (checked by the library).
    pub(crate) fn view(&self) -> PyResult<ImageView<'_>> {
        // SAFETY: `data..data+len` lies inside the array or the vector held by `self`.
        let data = unsafe { std::slice::from_raw_parts(self.data, self.len) };
        ImageView::new(data, self.width, self.height, self.stride, self.format)
            .map_err(crate::errors::to_py)
    }
}
