//! Errors as Python exceptions: one class per status class, defined in `lseg/_errors.py` (so
//! that they can also derive from `ValueError`), looked up once.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

/// The Python exception classes of `lseg._errors`.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// A bad argument: shape, dtype, stride, range, option string.
    Argument,
    /// Unreadable or unusable weights or configuration.
    Weights,
    /// An unusable label or label list.
    Label,
    /// The backend or dtype is not compiled in or not usable.
    Backend,
    /// A progress callback returned False.
    Cancelled,
}

impl Kind {
    fn class_name(self) -> &'static str {
        match self {
            Self::Argument => "ArgumentError",
            Self::Weights => "WeightsError",
            Self::Label => "LabelError",
            Self::Backend => "BackendUnavailableError",
            Self::Cancelled => "CancelledError",
        }
    }

    /// The exception, with `message`.
    pub(crate) fn err(self, message: impl Into<String>) -> PyErr {
        let message = message.into();
        Python::attach(|py| match class(py, self) {
            Ok(cls) => PyErr::from_type(cls, message),
            Err(e) => e,
        })
    }
}

fn class(py: Python<'_>, kind: Kind) -> PyResult<Bound<'_, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let m = MODULE.get_or_try_init(py, || py.import("lseg._errors").map(Bound::unbind))?;
    Ok(m.bind(py)
        .getattr(kind.class_name())?
        .cast_into::<PyType>()?)
}

/// A bad argument.
pub(crate) fn argument(message: impl Into<String>) -> PyErr {
    Kind::Argument.err(message)
}

/// The Python exception of a library error; the message is the library's.
pub(crate) fn to_py(e: lseg::Error) -> PyErr {
    use lseg::Error as E;
    let kind = match &e {
        E::Io { .. }
        | E::InvalidWeights(_)
        | E::MissingTensor { .. }
        | E::ShapeMismatch { .. }
        | E::UnsupportedDtype { .. }
        | E::Config(_) => Kind::Weights,
        E::Label(_) | E::Tokenizer(_) => Kind::Label,
        E::InvalidInput(_) => Kind::Argument,
        E::Backend(_) => Kind::Backend,
        E::Cancelled => Kind::Cancelled,
    };
    kind.err(e.to_string())
}

/// `Result` of the library into `PyResult`.
pub(crate) trait IntoPy<T> {
    /// The library error as its Python exception.
    fn py_err(self) -> PyResult<T>;
}

impl<T> IntoPy<T> for lseg::Result<T> {
    fn py_err(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
