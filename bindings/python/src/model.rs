//! `lseg.Model`: a loaded network; labels, segmentation and embeddings. Every compute call
//! releases the GIL, so threads sharing one model run in parallel.

use std::path::PathBuf;
use std::sync::Arc;

use lseg::{
    Backend, EmbedLayout, EmbedNorm, EmbedOptions, EmbedResolution, LoadOptions, Lseg, LsegConfig,
    Mode, MultiScale, Precision,
};
use numpy::IntoPyArray;
use numpy::ndarray::{Array2, Array3};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::errors::{IntoPy, argument};
use crate::image::Frame;
use crate::labels::Labels;
use crate::progress::Progress;
use crate::segmentation::Segmentation;

/// An LSeg network loaded from a `.safetensors` file (official key names; Lightning `net.`
/// prefixes accepted). Thread-safe: share one model between threads.
///
/// Args:
///     path: the weights file.
///     backend: ``"flex"`` (pure-Rust CPU, the wheel's backend); others where compiled in.
///     dtype: weight and compute precision, ``"f32"``, ``"f16"`` or ``"bf16"``.
///     threads: CPU threads of the process-wide pool; only the first model's value counts.
///     config: the model configuration (dict or JSON string) when the file's metadata and
///         the tensor shapes do not determine it.
#[pyclass(frozen, module = "lseg")]
pub(crate) struct Model {
    pub(crate) inner: Arc<Lseg>,
}

fn load_options(
    backend: &str,
    dtype: &str,
    threads: Option<usize>,
    config: Option<&Bound<'_, PyAny>>,
) -> PyResult<LoadOptions> {
    // An unknown name is a bad argument; a known but absent backend fails at load time.
    let unknown = |e| match e {
        lseg::Error::Backend(m) => argument(m),
        e => crate::errors::to_py(e),
    };
    let backend: Backend = backend.parse().map_err(unknown)?;
    let precision: Precision = dtype.parse().map_err(unknown)?;
    if let Some(n) = threads {
        if n == 0 {
            return Err(argument("threads must be at least 1 (None: all cores)"));
        }
        lseg::set_num_threads(n);
    }
    let config = match config {
        None => None,
        Some(c) if c.is_none() => None,
        Some(c) => {
            let json: String = if c.cast::<PyString>().is_ok() {
                c.extract()?
            } else if c.cast::<PyDict>().is_ok() {
                c.py()
                    .import("json")?
                    .call_method1("dumps", (c,))?
                    .extract()?
            } else {
                return Err(argument("config must be a dict, a JSON string or None"));
            };
            Some(LsegConfig::from_json(&json).py_err()?)
        }
    };
    Ok(LoadOptions {
        backend: Some(backend),
        precision,
        config,
    })
}

fn mode_of(
    mode: &str,
    size: Option<usize>,
    flip: bool,
    base_size: usize,
    crop_size: usize,
    scales: Option<Vec<f64>>,
) -> PyResult<Mode> {
    let mode = match mode {
        "single" => Mode::Single { size },
        "multiscale" | "multi-scale" => Mode::MultiScale(MultiScale {
            base_size,
            crop_size,
            scales: scales.unwrap_or_else(|| MultiScale::default().scales),
            flip,
        }),
        m => {
            return Err(argument(format!(
                "mode is {m:?}, expected \"single\" or \"multiscale\""
            )));
        }
    };
    mode.validate().py_err()?;
    Ok(mode)
}

/// A label list argument: a sequence of strings, or one comma-separated string.
fn label_list(labels: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if labels.cast::<PyString>().is_ok() {
        return Ok(lseg::labels::split_list(&labels.extract::<String>()?));
    }
    labels
        .extract::<Vec<String>>()
        .map_err(|_| argument("labels must be a list of str (or one comma-separated str)"))
}

fn choice<T: Copy>(what: &str, value: &str, options: &[(&str, T)]) -> PyResult<T> {
    options
        .iter()
        .find(|(name, _)| *name == value)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<String> = options.iter().map(|(n, _)| format!("{n:?}")).collect();
            argument(format!(
                "{what} is {value:?}, expected one of {}",
                names.join(", ")
            ))
        })
}

impl Model {
    fn labels_for(&self, py: Python<'_>, labels: &Bound<'_, PyAny>) -> PyResult<Py<Labels>> {
        if let Ok(l) = labels.cast::<Labels>() {
            if !Arc::ptr_eq(&l.get().model, &self.inner) {
                return Err(argument(
                    "labels were encoded by another model; encode them with this model",
                ));
            }
            return Ok(l.clone().unbind());
        }
        let l = self.encode(py, label_list(labels)?, false)?;
        Py::new(py, l)
    }

    fn encode(&self, py: Python<'_>, names: Vec<String>, truncate: bool) -> PyResult<Labels> {
        let model = &self.inner;
        let set = py
            .detach(|| model.encode_labels_with(&names, truncate))
            .py_err()?;
        Ok(Labels {
            set,
            model: self.inner.clone(),
        })
    }
}

#[pymethods]
impl Model {
    #[new]
    #[pyo3(signature = (path, backend = "flex", dtype = "f32", threads = None, config = None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        backend: &str,
        dtype: &str,
        threads: Option<usize>,
        config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = load_options(backend, dtype, threads, config)?;
        let m = py.detach(|| Lseg::load(&path, &opts)).py_err()?;
        Ok(Self { inner: Arc::new(m) })
    }

    /// A model from a safetensors file's bytes (same options as the constructor).
    #[staticmethod]
    #[pyo3(signature = (data, backend = "flex", dtype = "f32", threads = None, config = None))]
    fn from_bytes(
        py: Python<'_>,
        data: &Bound<'_, PyBytes>,
        backend: &str,
        dtype: &str,
        threads: Option<usize>,
        config: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let opts = load_options(backend, dtype, threads, config)?;
        let bytes = data.as_bytes();
        let m = py.detach(|| Lseg::load_bytes(bytes, &opts)).py_err()?;
        Ok(Self { inner: Arc::new(m) })
    }

    /// Dimension D of the text and pixel embeddings (512 for the official models).
    #[getter]
    fn embed_dim(&self) -> usize {
        self.inner.embed_dim()
    }

    /// The model configuration as a dict (the JSON of ``lseg info``).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        py.import("json")?
            .call_method1("loads", (self.inner.config().to_json(),))
    }

    /// The backend the model runs on (``"flex"``, ``"ndarray"``, ``"tch"``, ``"cuda:N"``).
    #[getter]
    fn backend(&self) -> String {
        self.inner.backend().to_string()
    }

    /// Weight and compute precision (``"f32"``, ``"f16"``, ``"bf16"``).
    #[getter]
    fn dtype(&self) -> String {
        self.inner.precision().to_string()
    }

    fn __repr__(&self) -> String {
        format!(
            "lseg.Model(backend={:?}, dtype={:?}, embed_dim={})",
            self.backend(),
            self.dtype(),
            self.embed_dim()
        )
    }

    /// Encode labels with the frozen CLIP text tower: a reusable, L2-normalised label set.
    ///
    /// Args:
    ///     labels: a list of free-form labels (or one comma-separated string).
    ///     truncate: cut labels over 77 tokens instead of raising ``LabelError``.
    #[pyo3(signature = (labels, truncate = false))]
    fn encode_labels(
        &self,
        py: Python<'_>,
        labels: &Bound<'_, PyAny>,
        truncate: bool,
    ) -> PyResult<Labels> {
        self.encode(py, label_list(labels)?, truncate)
    }

    /// Segment an image with a label set.
    ///
    /// Args:
    ///     image: ``numpy.ndarray`` uint8 ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA, ``(H, W)``
    ///         grey (any strides), or a PIL image.
    ///     labels: ``Labels`` from :meth:`encode_labels`, or a list of str (encoded per call).
    ///     size: single-scale long side (``None``: the image's own size).
    ///     mode: ``"single"`` or ``"multiscale"`` (the official multi-scale + flip protocol).
    ///     flip, base_size, crop_size, scales: multi-scale parameters (official defaults;
    ///         ``scales=None``: 0.75, 1.0, 1.25, 1.5, 1.75, 2.0).
    ///     bgr: 3/4-channel arrays are B, G, R(, A) (OpenCV).
    ///     progress: ``callable(done, total)`` after every network pass; returning False
    ///         cancels (``CancelledError``). Ctrl-C cancels too.
    ///
    /// Returns:
    ///     ``Segmentation`` at the input resolution.
    #[pyo3(signature = (image, labels, *, size = Some(480), mode = "single", flip = true,
        base_size = 520, crop_size = 480, scales = None, bgr = false, progress = None),
        text_signature = "(self, /, image, labels, *, size=480, mode='single', flip=True, \
        base_size=520, crop_size=480, scales=None, bgr=False, progress=None)")]
    #[allow(clippy::too_many_arguments)]
    fn segment(
        &self,
        py: Python<'_>,
        image: &Bound<'_, PyAny>,
        labels: &Bound<'_, PyAny>,
        size: Option<usize>,
        mode: &str,
        flip: bool,
        base_size: usize,
        crop_size: usize,
        scales: Option<Vec<f64>>,
        bgr: bool,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Segmentation> {
        let mode = mode_of(mode, size, flip, base_size, crop_size, scales)?;
        let labels = self.labels_for(py, labels)?;
        let frame = Frame::extract(image, bgr)?;
        let view = frame.view()?;
        let progress = Progress::new(progress)?;
        let (model, set) = (&self.inner, &labels.get().set);
        let r = py.detach(|| {
            let mut step = |done, total| progress.step(done, total);
            model.segment(&view, set, &mode, Some(&mut step))
        });
        let seg = progress.finish(r)?;
        Ok(Segmentation::new(seg, labels))
    }

    /// Segment several images with one label set in one call.
    ///
    /// Args:
    ///     images: a sequence of images, each as for :meth:`segment` (any sizes).
    ///     labels, size, mode, flip, base_size, crop_size, scales, bgr: as for :meth:`segment`.
    ///     progress: ``callable(done, total)`` over the network passes of the whole batch.
    ///
    /// Single-scale images of the same network input size run through the network together
    /// (up to 8 per pass); each result is :meth:`segment`'s for that image.
    ///
    /// Returns:
    ///     a list of ``Segmentation``, one per image, in order.
    #[pyo3(signature = (images, labels, *, size = Some(480), mode = "single", flip = true,
        base_size = 520, crop_size = 480, scales = None, bgr = false, progress = None),
        text_signature = "(self, /, images, labels, *, size=480, mode='single', flip=True, \
        base_size=520, crop_size=480, scales=None, bgr=False, progress=None)")]
    #[allow(clippy::too_many_arguments)]
    fn segment_batch(
        &self,
        py: Python<'_>,
        images: Vec<Bound<'_, PyAny>>,
        labels: &Bound<'_, PyAny>,
        size: Option<usize>,
        mode: &str,
        flip: bool,
        base_size: usize,
        crop_size: usize,
        scales: Option<Vec<f64>>,
        bgr: bool,
        progress: Option<Bound<'_, PyAny>>,
    ) -> PyResult<Vec<Segmentation>> {
        let mode = mode_of(mode, size, flip, base_size, crop_size, scales)?;
        let labels = self.labels_for(py, labels)?;
        let frames = images
            .iter()
            .map(|im| Frame::extract(im, bgr))
            .collect::<PyResult<Vec<_>>>()?;
        let views = frames
            .iter()
            .map(|f| f.view())
            .collect::<PyResult<Vec<_>>>()?;
        let progress = Progress::new(progress)?;
        let (model, set) = (&self.inner, &labels.get().set);
        let r = py.detach(|| {
            let mut step = |done, total| progress.step(done, total);
            model.segment_batch(&views, set, &mode, Some(&mut step))
        });
        let segs = progress.finish(r)?;
        Ok(segs
            .into_iter()
            .map(|seg| Segmentation::new(seg, labels.clone_ref(py)))
            .collect())
    }

    /// Dense pixel embeddings (VLMaps / OpenScene / ConceptFusion style feature fusion).
    ///
    /// Args:
    ///     image: as for :meth:`segment`.
    ///     size: long side the image is resized to before the network (``None``: its own).
    ///     norm: ``"raw"`` head output, ``"l2"`` per pixel, or ``"l2-scaled"`` (times
    ///         1/0.07: a dot product with ``Labels.embeddings`` gives LSeg's logits).
    ///     resolution: ``"native"`` grid (half the resized image, rounded up) or ``"input"``
    ///         (bilinear to the image size).
    ///     dtype: ``"f32"`` or ``"f16"``.
    ///     layout: ``"chw"`` ``(D, h, w)`` or ``"hwc"`` ``(h, w, D)``.
    ///     bgr: as for :meth:`segment`.
    #[pyo3(signature = (image, *, size = Some(480), norm = "l2", resolution = "native",
        dtype = "f32", layout = "chw", bgr = false),
        text_signature = "(self, /, image, *, size=480, norm='l2', resolution='native', \
        dtype='f32', layout='chw', bgr=False)")]
    #[allow(clippy::too_many_arguments)]
    fn embed<'py>(
        &self,
        py: Python<'py>,
        image: &Bound<'py, PyAny>,
        size: Option<usize>,
        norm: &str,
        resolution: &str,
        dtype: &str,
        layout: &str,
        bgr: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let opts = embed_options(size, norm, resolution)?;
        let half = choice("dtype", dtype, &[("f32", false), ("f16", true)])?;
        let layout = choice(
            "layout",
            layout,
            &[("chw", EmbedLayout::Chw), ("hwc", EmbedLayout::Hwc)],
        )?;
        let frame = Frame::extract(image, bgr)?;
        let view = frame.view()?;
        let model = &self.inner;
        let e = py
            .detach(|| model.embed_pixels(&view, &opts, layout))
            .py_err()?;
        let shape = match layout {
            EmbedLayout::Chw => (e.dim, e.height, e.width),
            EmbedLayout::Hwc => (e.height, e.width, e.dim),
        };
        Ok(if half {
            let v = py.detach(|| e.to_f16());
            array3(shape, v)?.into_pyarray(py).into_any()
        } else {
            array3(shape, e.data)?.into_pyarray(py).into_any()
        })
    }

    /// Grid ``(height, width)`` of :meth:`embed` for an image of ``height x width``.
    #[pyo3(signature = (height, width, *, size = Some(480), resolution = "native"),
        text_signature = "(self, /, height, width, *, size=480, resolution='native')")]
    fn embed_grid(
        &self,
        height: usize,
        width: usize,
        size: Option<usize>,
        resolution: &str,
    ) -> PyResult<(usize, usize)> {
        let opts = embed_options(size, "l2", resolution)?;
        opts.grid(height, width).py_err()
    }
}

/// Validated embedding options from the Python option strings.
fn embed_options(size: Option<usize>, norm: &str, resolution: &str) -> PyResult<EmbedOptions> {
    let opts = EmbedOptions {
        size,
        norm: choice(
            "norm",
            norm,
            &[
                ("raw", EmbedNorm::Raw),
                ("l2", EmbedNorm::L2),
                ("l2-scaled", EmbedNorm::L2Scaled),
            ],
        )?,
        resolution: choice(
            "resolution",
            resolution,
            &[
                ("native", EmbedResolution::Native),
                ("input", EmbedResolution::Input),
            ],
        )?,
    };
    opts.validate().py_err()?;
    Ok(opts)
}

/// A flat row-major vector as a 3-D array.
pub(crate) fn array3<T>(shape: (usize, usize, usize), v: Vec<T>) -> PyResult<Array3<T>> {
    Array3::from_shape_vec(shape, v).map_err(|x| argument(x.to_string()))
}

/// A flat row-major vector as a 2-D array.
pub(crate) fn array2<T>(shape: (usize, usize), v: Vec<T>) -> PyResult<Array2<T>> {
    Array2::from_shape_vec(shape, v).map_err(|x| argument(x.to_string()))
}
