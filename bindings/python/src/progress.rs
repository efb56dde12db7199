//! The library's progress callback in Python: honours Ctrl-C (signals are checked at every
//! step, with or without a user callback) and calls `progress(done, total)` with the GIL
//! held. A callback that returns `False` cancels; one that raises cancels and its exception
//! is re-raised when the call returns.

use std::sync::Mutex;

use pyo3::prelude::*;

use crate::errors::to_py;

/// Progress of one compute call, shared with the thread that runs it.
pub(crate) struct Progress {
    callback: Option<Py<PyAny>>,
    /// The first exception raised by a signal handler or the callback.
    error: Mutex<Option<PyErr>>,
}

impl Progress {
    /// A bridge to `callback` (None: only signals are checked).
    pub(crate) fn new(callback: Option<Bound<'_, PyAny>>) -> PyResult<Self> {
        if let Some(cb) = &callback
            && !cb.is_callable()
        {
            return Err(crate::errors::argument(format!(
                "progress must be a callable (done, total) -> bool | None, got {}",
                cb.get_type().name()?
            )));
        }
        Ok(Self {
            callback: callback.map(Bound::unbind),
            error: Mutex::new(None),
        })
    }

    /// One step: `false` stops the computation.
    pub(crate) fn step(&self, done: usize, total: usize) -> bool {
        Python::attach(|py| {
            let r = py.check_signals().and_then(|()| match &self.callback {
                None => Ok(true),
                Some(cb) => {
                    let v = cb.call1(py, (done, total))?;
                    let v = v.bind(py);
                    Ok(v.is_none() || v.is_truthy()?)
                }
            });
            r.unwrap_or_else(|e| {
                self.error.lock().unwrap().get_or_insert(e);
                false
            })
        })
    }

    /// The call's outcome as Python sees it: the pending exception of a signal handler or the
    /// callback wins over the library's `Cancelled`.
    pub(crate) fn finish<T>(self, r: lseg::Result<T>) -> PyResult<T> {
        match (r, self.error.into_inner().unwrap()) {
            (Ok(v), _) => Ok(v),
            (Err(lseg::Error::Cancelled), Some(e)) => Err(e),
            (Err(e), _) => Err(to_py(e)),
        }
    }
}
