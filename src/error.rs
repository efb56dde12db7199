//! Error type shared by every part of the library.

use std::path::PathBuf;

/// Everything that can go wrong in lseg. Every variant carries enough context
/// (file, tensor key, argument) to act on the message alone.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        source: std::io::Error,
    },
    /// The weights file is not a valid safetensors file (truncated, corrupt header, ...).
    #[error("invalid weights file: {0}")]
    InvalidWeights(String),
    /// A tensor the model needs is not in the weights file.
    #[error("missing tensor `{key}` in the weights file")]
    MissingTensor {
        /// Official key name (without the Lightning `net.` prefix).
        key: String,
    },
    /// A tensor has another shape than the configuration requires.
    #[error("tensor `{key}` has shape {found:?}, expected {expected:?}")]
    ShapeMismatch {
        /// Official key name.
        key: String,
        /// The shape the configuration requires.
        expected: Vec<usize>,
        /// The shape stored in the file.
        found: Vec<usize>,
    },
    /// A tensor is stored in a dtype lseg cannot read.
    #[error("tensor `{key}` has unsupported dtype {dtype} (supported: F32, F16, BF16)")]
    UnsupportedDtype {
        /// Official key name.
        key: String,
        /// The stored dtype.
        dtype: String,
    },
    /// The model configuration is invalid or cannot be inferred.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A label or label list is unusable (empty, too long, ...).
    #[error("invalid label: {0}")]
    Label(String),
    /// An image or tensor argument is unusable (size, layout, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The requested backend or dtype is not available in this build or on this machine.
    #[error("backend unavailable: {0}")]
    Backend(String),
    /// The tokenizer could not be built or failed.
    #[error("tokenizer error: {0}")]
    Tokenizer(String),
    /// The run was cancelled by a progress callback.
    #[error("cancelled by the caller")]
    Cancelled,
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
