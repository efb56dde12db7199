//! Logging as ROS 2 nodes do it: `[LEVEL] [sec.nanosec] [node]: message` on stderr and, once
//! the node exists, the same record on `/rosout`.

use std::sync::{Arc, OnceLock};

use ros2_client::ros2::LogLevel;
use ros2_client::{NodeLoggingHandle, RosoutRaw};

/// Severity, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Per-frame detail.
    Debug,
    /// Start, summaries.
    Info,
    /// Degraded but working.
    Warn,
    /// A failed request or frame; the node keeps running.
    Error,
    /// The node cannot run.
    Fatal,
}

impl Level {
    /// `debug`, `info`, `warn`, `error` or `fatal` (any case).
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "debug" => Self::Debug,
            "info" => Self::Info,
            "warn" | "warning" => Self::Warn,
            "error" => Self::Error,
            "fatal" => Self::Fatal,
            _ => {
                return Err(format!(
                    "log level `{s}` is not debug, info, warn, error or fatal"
                ));
            }
        })
    }

    fn ros(self) -> LogLevel {
        match self {
            Self::Debug => LogLevel::Debug,
            Self::Info => LogLevel::Info,
            Self::Warn => LogLevel::Warn,
            Self::Error => LogLevel::Error,
            Self::Fatal => LogLevel::Fatal,
        }
    }
}

/// The node's logger; cheap to clone.
#[derive(Clone)]
pub struct Logger {
    name: Arc<str>,
    min: Level,
    rosout: Arc<OnceLock<NodeLoggingHandle>>,
}

impl Logger {
    /// A logger for the node called `name` (as rosout names loggers: `ns.node`), dropping
    /// records below `min`.
    pub fn new(name: &str, min: Level) -> Self {
        Self {
            name: name.into(),
            min,
            rosout: Arc::new(OnceLock::new()),
        }
    }

    /// Also publish on `/rosout` from now on.
    pub fn attach(&self, handle: NodeLoggingHandle) {
        let _ = self.rosout.set(handle);
    }

    /// Whether records of `level` are written.
    pub fn enabled(&self, level: Level) -> bool {
        level >= self.min
    }

    /// Write one record.
    pub fn log(&self, level: Level, msg: &str) {
        if !self.enabled(level) {
            return;
        }
        let t = crate::msg::Time::now();
        eprintln!(
            "[{}] [{}.{:09}] [{}]: {msg}",
            format!("{level:?}").to_uppercase(),
            t.sec,
            t.nanosec,
            self.name
        );
        if let Some(h) = self.rosout.get() {
            h.rosout_raw(
                ros2_client::builtin_interfaces::Time::now(),
                level.ros(),
                &self.name,
                msg,
                file!(),
                "",
                0,
            );
        }
    }

    /// `log(Debug, ..)`.
    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg)
    }
    /// `log(Info, ..)`.
    pub fn info(&self, msg: &str) {
        self.log(Level::Info, msg)
    }
    /// `log(Error, ..)`.
    pub fn error(&self, msg: &str) {
        self.log(Level::Error, msg)
    }
}
