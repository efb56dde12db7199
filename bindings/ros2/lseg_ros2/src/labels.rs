//! The label set in use: encoded off the image thread, swapped atomically (a frame is
//! segmented with exactly one complete set), versioned, and announced after every change.

use std::sync::{Arc, Mutex, mpsc};

use lseg::{LabelSet, Lseg};

use crate::frame::palette;

/// One encoded label set with its colours; immutable once in use.
#[derive(Debug)]
pub struct ActiveLabels {
    /// The label embeddings (and texts).
    pub set: LabelSet,
    /// Bumped on every change, starting at 1.
    pub version: u32,
    /// One colour per label.
    pub palette: Vec<[u8; 3]>,
}

impl ActiveLabels {
    /// The label texts, in mask order.
    pub fn names(&self) -> &[String] {
        self.set.labels()
    }
}

/// The node's label state, shared by the parameter handler, the `set_labels` service and the
/// worker.
pub struct Labels {
    model: Arc<Lseg>,
    colours: Vec<String>,
    current: Mutex<Arc<ActiveLabels>>,
    /// Serialises encodings, so versions follow the order of the changes.
    encoding: Mutex<u32>,
    announce: Mutex<mpsc::Sender<Arc<ActiveLabels>>>,
}

impl Labels {
    /// The state with `initial` encoded as version 1; announcements go to the returned
    /// receiver (the initial set first).
    pub fn new(
        model: Arc<Lseg>,
        colours: Vec<String>,
        initial: &[String],
    ) -> Result<(Self, mpsc::Receiver<Arc<ActiveLabels>>), String> {
        let first = Arc::new(encode(&model, &colours, initial, 1)?);
        let (tx, rx) = mpsc::channel();
        let _ = tx.send(first.clone());
        let labels = Self {
            model,
            colours,
            current: Mutex::new(first),
            encoding: Mutex::new(1),
            announce: Mutex::new(tx),
        };
        Ok((labels, rx))
    }

    /// The set in use now.
    pub fn current(&self) -> Arc<ActiveLabels> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Encode `names` and make them the set in use; the new version, or why the set was
    /// refused (the previous set stays in use).
    pub fn replace(&self, names: &[String]) -> Result<u32, String> {
        let mut version = self.encoding.lock().unwrap_or_else(|e| e.into_inner());
        let next = Arc::new(encode(&self.model, &self.colours, names, *version + 1)?);
        *version += 1;
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = next.clone();
        let _ = self
            .announce
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .send(next);
        Ok(*version)
    }
}

fn encode(
    model: &Lseg,
    colours: &[String],
    names: &[String],
    version: u32,
) -> Result<ActiveLabels, String> {
    let set = model.encode_labels(names).map_err(|e| e.to_string())?;
    let palette = palette(names.len(), colours)?;
    Ok(ActiveLabels {
        set,
        version,
        palette,
    })
}
