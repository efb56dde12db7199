//! Readers of C arguments: strings, versioned parameter structs, out pointers.

use std::ffi::{CStr, c_char};

use crate::error::{CResult, invalid};

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
