//! Frame counters and latency, read by the periodic summary and the diagnostics.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What happened to the frames so far.
#[derive(Default)]
pub struct Stats {
    /// Frames taken from the input topic.
    pub received: AtomicU64,
    /// Frames segmented and published.
    pub processed: AtomicU64,
    /// Frames replaced by a newer one before they were processed, or throttled.
    pub dropped: AtomicU64,
    /// Frames refused (bad encoding, step or size).
    pub rejected: AtomicU64,
    window: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    sum_ms: f64,
    max_ms: f64,
    n: u64,
    last_error: String,
}

/// One summary period.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// Frames processed in the period.
    pub frames: u64,
    /// Mean latency (ms), 0 without frames.
    pub mean_ms: f64,
    /// Max latency (ms).
    pub max_ms: f64,
}

impl Stats {
    /// Count one processed frame that took `ms`.
    pub fn processed(&self, ms: f64) {
        self.processed.fetch_add(1, Ordering::Relaxed);
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        w.sum_ms += ms;
        w.max_ms = w.max_ms.max(ms);
        w.n += 1;
    }

    /// Count one rejected frame and remember why.
    pub fn rejected(&self, why: &str) {
        self.rejected.fetch_add(1, Ordering::Relaxed);
        self.window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_error = why.into();
    }

    /// The period since the last call; starts a new one.
    pub fn take_summary(&self) -> Summary {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        let s = Summary {
            frames: w.n,
            mean_ms: if w.n > 0 { w.sum_ms / w.n as f64 } else { 0.0 },
            max_ms: w.max_ms,
        };
        (w.sum_ms, w.max_ms, w.n) = (0.0, 0.0, 0);
        s
    }

    /// Why the last frame was rejected (empty if none was).
    pub fn last_error(&self) -> String {
        self.window
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last_error
            .clone()
    }

    /// `received, processed, dropped, rejected`.
    pub fn counts(&self) -> [u64; 4] {
        [
            &self.received,
            &self.processed,
            &self.dropped,
            &self.rejected,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}
