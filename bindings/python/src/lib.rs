//! `lseg._lseg`: the Python extension module of the `lseg` wheel (PyO3 over the Rust crate).
//! The package `lseg` (python/lseg) re-exports these classes; the exceptions are Python
//! classes of `lseg._errors`, raised from here by status class.
#![deny(missing_docs)]

mod errors;
mod image;
mod labels;
mod model;
mod progress;
mod segmentation;

use pyo3::prelude::*;

/// Names of the backends compiled into this build (`"flex"` in the wheel).
#[pyfunction]
fn compiled_backends() -> Vec<String> {
    lseg::Backend::compiled()
        .iter()
        .map(|b| b.to_string())
        .collect()
}

/// The colour `(r, g, b)` lseg draws label index `label` with (the CLI's pictures, the ROS
/// nodes' colour images): the same for every label set and run.
#[pyfunction]
fn label_color(label: u32) -> (u8, u8, u8) {
    let [r, g, b] = lseg::palette::colour(label as usize);
    (r, g, b)
}

/// The extension module.
#[pymodule]
fn _lseg(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_LABELS", lseg::limits::MAX_LABELS)?;
    m.add("MAX_LABEL_BYTES", lseg::limits::MAX_LABEL_BYTES)?;
    m.add("MAX_IMAGE_SIDE", lseg::limits::MAX_IMAGE_SIDE)?;
    m.add("MAX_SCALES", lseg::limits::MAX_SCALES)?;
    m.add("MAX_WEIGHTS_BYTES", lseg::limits::MAX_WEIGHTS_BYTES)?;
    m.add_function(wrap_pyfunction!(compiled_backends, m)?)?;
    m.add_function(wrap_pyfunction!(label_color, m)?)?;
    m.add_class::<model::Model>()?;
    m.add_class::<labels::Labels>()?;
    m.add_class::<segmentation::Segmentation>()?;
    Ok(())
}
