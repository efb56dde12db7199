//! The panic boundary: every entry point runs its body through [`guard`] or [`query`], so no
//! panic crosses into C and the thread-local message is set or cleared on every call.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::enums::lseg_status;
use crate::error::{CResult, set_last_error};

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
