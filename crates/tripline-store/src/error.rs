//! The store's typed error: every message names the database file.

use std::path::PathBuf;
use thiserror::Error;

/// Something went wrong with the database at `path`.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database file (or its directory) could not be created or opened.
    #[error("{path}: cannot open database: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// Creating the database's parent directory failed.
    #[error("{path}: cannot create directory for database: {source}")]
    CreateDir {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database was written by a newer tripline.
    #[error(
        "{path}: database schema version {found} is newer than this tripline supports ({supported}); \
         upgrade tripline or use another database file"
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// Applying a schema migration failed.
    #[error("{path}: migrating schema to version {version} failed: {source}")]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The version being installed.
        version: i64,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A statement failed.
    #[error("{path}: {context}: {source}")]
    Sql {
        /// The database file.
        path: PathBuf,
        /// What the store was doing (`inserting connections`, `top talkers`...).
        context: &'static str,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// A stored value does not decode (edited by hand, or a bug).
    #[error("{path}: table {table}, row {rowid}: {detail}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The table.
        table: &'static str,
        /// The row id.
        rowid: i64,
        /// What is wrong with it.
        detail: String,
    },
}
