//! Errors of the storage traits.

/// Why one sample was not appended. The scraper counts rejections by kind, so
/// these mirror Prometheus's sentinel errors one to one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    /// The sample is older than the newest sample of its series.
    #[error("out of order sample")]
    OutOfOrder,
    /// Same timestamp as the newest sample of its series, different value.
    #[error("duplicate sample for timestamp")]
    Duplicate,
    /// Older than the oldest time the head still accepts.
    #[error("out of bounds")]
    OutOfBounds,
    /// Older than the out-of-order window allows.
    #[error("too old sample")]
    TooOld,
    /// Creating the series would exceed the configured series limit.
    #[error("series limit of {limit} reached")]
    SeriesLimit {
        /// The limit in force.
        limit: usize,
    },
    /// The label set is invalid (empty, empty name, duplicate names…).
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    /// Any other storage failure.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A storage operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StorageError {
    /// An I/O error (the message includes the path where known).
    #[error("i/o error: {0}")]
    Io(String),
    /// Data on disk failed a check; names the file and the offset.
    #[error("corruption in {file} at offset {offset}: {message}")]
    Corruption {
        /// File path.
        file: String,
        /// Byte offset of the damaged record or section.
        offset: u64,
        /// What failed.
        message: String,
    },
    /// The storage is closed or shutting down.
    #[error("storage closed")]
    Closed,
    /// The query would touch more than allowed.
    #[error("{0}")]
    Limit(String),
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

impl From<std::io::Error> for StorageError {
    fn from(e: std::io::Error) -> Self {
        StorageError::Io(e.to_string())
    }
}
