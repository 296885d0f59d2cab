//! Errors of the report site and the web UI.

use std::path::PathBuf;

/// What can go wrong writing the report or serving pages.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] tripline_store::StoreError),
    /// Writing a report file failed.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The server could not start (bind, configuration).
    #[error("serve: {0}")]
    Serve(String),
}
