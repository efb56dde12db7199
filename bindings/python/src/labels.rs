//! `lseg.Labels`: an encoded label set, reusable across calls of the model that made it.

use std::sync::Arc;

use lseg::{LabelSet, Lseg};
use numpy::{IntoPyArray, PyArray2};
use pyo3::prelude::*;

use crate::model::array2;

/// Labels encoded by :meth:`Model.encode_labels`: their names and L2-normalised text
/// embeddings. Reuse one set for many images; it belongs to the model that encoded it.
#[pyclass(frozen, module = "lseg")]
pub(crate) struct Labels {
    pub(crate) set: LabelSet,
    pub(crate) model: Arc<Lseg>,
}

#[pymethods]
impl Labels {
    fn __len__(&self) -> usize {
        self.set.len()
    }

    /// The labels, in order (index k of a label map is ``names[k]``).
    #[getter]
    fn names(&self) -> Vec<String> {
        self.set.labels().to_vec()
    }

    /// Text embeddings ``(N, D)`` float32, L2-normalised.
    #[getter]
    fn embeddings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let v = py.detach(|| self.set.to_vec());
        let d = v.len() / self.set.len().max(1);
        Ok(array2((self.set.len(), d), v)?.into_pyarray(py))
    }

    fn __repr__(&self) -> String {
        format!("lseg.Labels({:?})", self.set.labels())
    }
}
