//! Error helpers: every I/O error carries the path it happened on.

use std::path::Path;

use promlite_model::StorageError;

/// An I/O error on `path` as a [`StorageError`].
pub fn io_error(path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Io(format!("{}: {e}", path.display()))
}

/// `map_err` helper: `.map_err(at(&path))`.
pub fn at(path: &Path) -> impl Fn(std::io::Error) -> StorageError + '_ {
    move |e| io_error(path, e)
}
