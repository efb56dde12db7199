//! `lseg.Segmentation`: per-label scores at the input resolution; the label map, the
//! confidence and the scores are computed from them on first access (GIL released).

use std::sync::OnceLock;

use numpy::{IntoPyArray, PyArray2, PyArray3};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::labels::Labels;
use crate::model::{array2, array3};

/// The result of :meth:`Model.segment`.
#[pyclass(frozen, module = "lseg")]
pub(crate) struct Segmentation {
    seg: lseg::Segmentation,
    labels: Py<Labels>,
    /// The argmax, computed once: the source of `label_map` and `shares()` (the numpy array
    /// is the caller's to modify).
    argmax: OnceLock<Vec<u16>>,
    label_map: PyOnceLock<Py<PyArray2<u16>>>,
    scores: PyOnceLock<Py<PyArray3<f32>>>,
    confidence: PyOnceLock<Py<PyArray2<f32>>>,
}

impl Segmentation {
    pub(crate) fn new(seg: lseg::Segmentation, labels: Py<Labels>) -> Self {
        Self {
            seg,
            labels,
            argmax: OnceLock::new(),
            label_map: PyOnceLock::new(),
            scores: PyOnceLock::new(),
            confidence: PyOnceLock::new(),
        }
    }

    fn hw(&self) -> (usize, usize) {
        self.seg.size()
    }

    fn argmax(&self, py: Python<'_>) -> &[u16] {
        if let Some(v) = self.argmax.get() {
            return v;
        }
        let v = py.detach(|| self.seg.label_map());
        self.argmax.get_or_init(|| v)
    }
}

#[pymethods]
impl Segmentation {
    /// Image height.
    #[getter]
    fn height(&self) -> usize {
        self.hw().0
    }

    /// Image width.
    #[getter]
    fn width(&self) -> usize {
        self.hw().1
    }

    /// The labels (the ``Labels`` the image was segmented with).
    #[getter]
    fn labels(&self, py: Python<'_>) -> Py<Labels> {
        self.labels.clone_ref(py)
    }

    /// Label index per pixel ``(H, W)`` uint16 (argmax of the scores).
    #[getter]
    fn label_map<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u16>>> {
        let a = self.label_map.get_or_try_init(py, || {
            let v = self.argmax(py).to_vec();
            PyResult::Ok(array2(self.hw(), v)?.into_pyarray(py).unbind())
        })?;
        Ok(a.bind(py).clone())
    }

    /// Scores ``(N, H, W)`` float32: LSeg's logits at the input resolution (multi-scale:
    /// summed over scales and flips).
    #[getter]
    fn scores<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray3<f32>>> {
        let a = self.scores.get_or_try_init(py, || {
            let v = py.detach(|| self.seg.scores_vec());
            let (h, w) = self.hw();
            let n = v.len() / (h * w);
            PyResult::Ok(array3((n, h, w), v)?.into_pyarray(py).unbind())
        })?;
        Ok(a.bind(py).clone())
    }

    /// Softmax probability of the winning label per pixel ``(H, W)`` float32.
    #[getter]
    fn confidence<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let a = self.confidence.get_or_try_init(py, || {
            let v = py.detach(|| self.seg.confidence());
            PyResult::Ok(array2(self.hw(), v)?.into_pyarray(py).unbind())
        })?;
        Ok(a.bind(py).clone())
    }

    /// Share of the image of each label in percent (rounded to 0.01, summing to 100), as
    /// ``{label: percent}`` in label order.
    fn shares<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let names = self.labels.get().set.labels();
        let shares = lseg::percent_shares(self.argmax(py), names.len());
        let d = PyDict::new(py);
        for (name, s) in names.iter().zip(shares) {
            d.set_item(name, s)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let (h, w) = self.hw();
        format!(
            "lseg.Segmentation({w}x{h}, {} labels)",
            self.labels.get().set.len()
        )
    }
}
