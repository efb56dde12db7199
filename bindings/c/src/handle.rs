//! Opaque handles: ids in tables of live objects, never dereferenced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::error::{CResult, invalid};

/// A table of live handles. A handle is an opaque, never dereferenced address-sized id, so a
/// freed, foreign or garbage handle is detected instead of being used, and a call that
/// races with a free keeps its object alive until it returns.
pub(crate) struct Table<T> {
    map: Mutex<Option<HashMap<usize, Arc<T>>>>,
    /// The handle's kind and argument name (`model`, `labels`).
    kind: &'static str,
    /// The functions that make and free such handles (for the messages).
    made_by: &'static str,
    freed_by: &'static str,
}

/// Handle ids are shared by every table, so a model handle is never a valid labels handle.
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

impl<T> Table<T> {
    pub const fn new(kind: &'static str, made_by: &'static str, freed_by: &'static str) -> Self {
        Self {
            map: Mutex::new(None),
            kind,
            made_by,
            freed_by,
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
    fn remove(&self, id: usize) -> Option<Arc<T>> {
        self.lock().as_mut().and_then(|m| m.remove(&id))
    }

    /// The live object of a handle argument; NULL and stale handles are errors.
    pub fn arg<H>(&self, p: *const H) -> CResult<Arc<T>> {
        let kind = self.kind;
        if p.is_null() {
            return Err(invalid(format!("`{kind}` is NULL")));
        }
        self.get(p as usize).ok_or_else(|| {
            invalid(format!(
                "`{kind}` {p:p} is not a live {kind} handle (freed, or not made by {})",
                self.made_by
            ))
        })
    }

    /// Free a handle: NULL is a no-op; a stale or foreign handle is reported and ignored.
    /// Calls still using the object keep it alive until they return.
    pub fn free<H>(&self, p: *mut H) -> CResult {
        if !p.is_null() && self.remove(p as usize).is_none() {
            return Err(invalid(format!(
                "{}: {p:p} is not a live {} handle (freed twice?); ignored",
                self.freed_by, self.kind
            )));
        }
        Ok(())
    }
}
