//! Opaque handles: ids in tables of live objects, never dereferenced.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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
