//! Failures of an entry point: the status, the thread-local message behind
//! `lseg_last_error`, and the mapping of the library's errors onto statuses.

use std::cell::RefCell;
use std::ffi::{CString, c_char};

use lseg_core::Error;

use crate::enums::lseg_status;

/// A failed call: the status and the message for `lseg_last_error`.
pub(crate) struct Fail {
    pub status: lseg_status,
    pub msg: String,
}

/// `Result` of an entry point body.
pub(crate) type CResult<T = ()> = std::result::Result<T, Fail>;

impl Fail {
    pub fn new(status: lseg_status, msg: impl Into<String>) -> Self {
        Self {
            status,
            msg: msg.into(),
        }
    }
}

/// `LSEG_ERR_INVALID_ARGUMENT` with a message.
pub(crate) fn invalid(msg: impl Into<String>) -> Fail {
    Fail::new(lseg_status::LSEG_ERR_INVALID_ARGUMENT, msg)
}

/// `LSEG_ERR_BUFFER_TOO_SMALL` for a caller buffer of `got` elements where `need` are needed.
pub(crate) fn too_small(what: &str, need: usize, got: usize) -> Fail {
    Fail::new(
        lseg_status::LSEG_ERR_BUFFER_TOO_SMALL,
        format!("`{what}` holds {got} elements, {need} are needed"),
    )
}

/// `LSEG_ERR_INTERNAL`: a result the library should never produce.
pub(crate) fn internal(msg: impl Into<String>) -> Fail {
    Fail::new(lseg_status::LSEG_ERR_INTERNAL, msg)
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        use lseg_status::*;
        let status = match &e {
            Error::Io { .. } => LSEG_ERR_IO,
            Error::InvalidWeights(_) => LSEG_ERR_INVALID_WEIGHTS,
            Error::MissingTensor { .. } => LSEG_ERR_MISSING_TENSOR,
            Error::ShapeMismatch { .. } => LSEG_ERR_SHAPE_MISMATCH,
            Error::UnsupportedDtype { .. } => LSEG_ERR_UNSUPPORTED_DTYPE,
            Error::Config(_) => LSEG_ERR_CONFIG,
            Error::Label(_) => LSEG_ERR_LABEL,
            Error::InvalidInput(_) => LSEG_ERR_INVALID_ARGUMENT,
            Error::Backend(_) => LSEG_ERR_BACKEND_UNAVAILABLE,
            Error::Tokenizer(_) => LSEG_ERR_TOKENIZER,
            Error::Cancelled => LSEG_ERR_CANCELLED,
        };
        Self::new(status, e.to_string())
    }
}

/// A library error about a C field: the message starts with the field's name.
pub(crate) fn in_field(field: &str) -> impl Fn(Error) -> Fail + '_ {
    move |e| {
        let mut f = Fail::from(e);
        f.msg = format!("`{field}`: {}", f.msg);
        f
    }
}

/// Prefix a failure about an array element with `name[i]: `.
pub(crate) fn at(name: &str, i: usize) -> impl Fn(Fail) -> Fail + '_ {
    move |mut f| {
        f.msg = format!("`{name}[{i}]`: {}", f.msg);
        f
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = c);
}

/// Name of a status, e.g. `"LSEG_ERR_BUFFER_TOO_SMALL"` (static string; unknown values give
/// `"LSEG_UNKNOWN_STATUS"`).
#[unsafe(no_mangle)]
pub extern "C" fn lseg_status_name(status: i32) -> *const c_char {
    lseg_status::try_from(status)
        .map_or(c"LSEG_UNKNOWN_STATUS", lseg_status::name)
        .as_ptr()
}

/// Message of the last failed call on this thread ("" if the last call succeeded). Valid
/// until the next lseg call on this thread.
#[unsafe(no_mangle)]
pub extern "C" fn lseg_last_error() -> *const c_char {
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}
