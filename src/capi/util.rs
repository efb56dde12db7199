//! Internals of the C ABI: handle tables, the thread-local last error, panic guards and
//! argument readers. Nothing here is exported to C.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::lseg_status;
use crate::error::Error;

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

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(msg: &str) {
    let c = CString::new(msg.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| *e.borrow_mut() = c);
}

pub(crate) fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|e| e.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Run an entry point body: catch panics, set or clear the last error, return the status.
pub(crate) fn guard(f: impl FnOnce() -> CResult) -> lseg_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => {
            set_last_error("");
            lseg_status::LSEG_OK
        }
        Ok(Err(fail)) => {
            set_last_error(&fail.msg);
            fail.status
        }
        Err(p) => {
            set_last_error(&format!("internal error (panic): {}", panic_message(&*p)));
            lseg_status::LSEG_ERR_INTERNAL
        }
    }
}

/// Run an infallible query: catch panics, return `default` on panic or error (setting the
/// last error then).
pub(crate) fn query<T>(default: T, f: impl FnOnce() -> CResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => v,
        Ok(Err(fail)) => {
            set_last_error(&fail.msg);
            default
        }
        Err(p) => {
            set_last_error(&format!("internal error (panic): {}", panic_message(&*p)));
            default
        }
    }
}

/// A table of live handles. A handle is an opaque, never dereferenced address-sized id, so a
/// freed, foreign or garbage handle is detected instead of being used, and a call that
/// races with a free keeps its object alive until it returns.
pub(crate) struct Table<T> {
    map: Mutex<Option<HashMap<usize, Arc<T>>>>,
}

/// Handle ids are shared by every table, so a model handle is never a valid labels handle.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl<T> Table<T> {
    pub const fn new() -> Self {
        Self {
            map: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<HashMap<usize, Arc<T>>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Store the object made by `f(id)` and return its id (never 0, 16-byte aligned like a
    /// real pointer, never reused).
    pub fn insert_with(&self, f: impl FnOnce(usize) -> T) -> usize {
        let id = 0x1_0000 + 16 * NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let v = Arc::new(f(id));
        self.lock().get_or_insert_with(HashMap::new).insert(id, v);
        id
    }

    /// The live object of an id.
    pub fn get(&self, id: usize) -> Option<Arc<T>> {
        self.lock().as_ref().and_then(|m| m.get(&id).cloned())
    }

    /// Remove an id; `None` if it was not live.
    pub fn remove(&self, id: usize) -> Option<Arc<T>> {
        self.lock().as_mut().and_then(|m| m.remove(&id))
    }
}

/// A NUL-terminated UTF-8 string argument.
pub(crate) unsafe fn str_arg<'a>(p: *const c_char, what: &str) -> CResult<&'a str> {
    if p.is_null() {
        return Err(invalid(format!("`{what}` is NULL")));
    }
    // SAFETY: the caller passes a NUL-terminated string (documented contract).
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str().map_err(|e| {
        invalid(format!(
            "`{what}` is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// A versioned params struct: reads its leading `struct_size` and copies the struct if the
/// size is one this library knows.
pub(crate) unsafe fn params_arg<T: Copy>(p: *const T, what: &str) -> CResult<T> {
    if p.is_null() {
        return Err(invalid(format!("`{what}` is NULL")));
    }
    // SAFETY: every params struct starts with `uint32_t struct_size`.
    let size = unsafe { (p as *const u32).read_unaligned() } as usize;
    if size != std::mem::size_of::<T>() {
        return Err(invalid(format!(
            "`{what}->struct_size` is {size}, this library expects {} (initialise the struct \
             with its lseg_*_default() function, and build against the header of this \
             library version)",
            std::mem::size_of::<T>()
        )));
    }
    // SAFETY: the size matches the struct this library knows.
    Ok(unsafe { p.read_unaligned() })
}

/// Write `v` through an out pointer (checked non-NULL before the work is done).
pub(crate) unsafe fn write_out<T>(p: *mut T, v: T) {
    // SAFETY: checked by the caller.
    unsafe { p.write_unaligned(v) }
}

/// Check an out pointer.
pub(crate) fn out_arg<T>(p: *mut T, what: &str) -> CResult<()> {
    if p.is_null() {
        Err(invalid(format!("`{what}` is NULL")))
    } else {
        Ok(())
    }
}
