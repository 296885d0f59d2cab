//! Opening the database: location, connection settings, schema.

use crate::StoreError;
use crate::schema::{self, MIGRATIONS};
use rusqlite::Connection;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tripline_core::Timestamp;

/// How long a writer waits for another process's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache per connection in KiB: large enough that the indexes of a
/// multi-million-row ingest stay in memory while they are appended to.
const CACHE_KIB: i64 = 64 * 1024;

/// WAL pages (4 KiB each) between automatic checkpoints.
const WAL_CHECKPOINT_PAGES: i64 = 16 * 1024;

/// Prepared statements kept per connection (the inserts and common queries).
const STATEMENT_CACHE: usize = 64;

/// The embedded SQLite store: ingested inputs, connections, DNS, auth
/// events, alerts and follow-mode checkpoints.
pub struct Store {
    pub(crate) conn: Connection,
    pub(crate) path: PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating it and its parent directories if needed) the database
    /// at `path` and brings its schema up to date.
    ///
    /// The file is put in WAL mode with `synchronous=NORMAL` (a crash can lose
    /// the last transactions, never corrupt the file), foreign keys on, and a
    /// busy timeout so a reader in another process does not fail a writer.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Self::setup(conn, path.to_path_buf(), true)
    }

    /// A private database in memory (tests, `--no-store` runs that still want
    /// queries).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Self::setup(conn, path, false)
    }

    fn setup(mut conn: Connection, path: PathBuf, wal: bool) -> Result<Store, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        if wal {
            // journal_mode answers with the mode it ended up in. Switching
            // needs an exclusive lock, for which SQLite does not always call
            // the busy handler: when another process is creating the same
            // database, retry for a bounded time.
            let mut attempts = 0;
            loop {
                match conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| {
                    row.get::<_, String>(0)
                }) {
                    Ok(_) => break,
                    Err(rusqlite::Error::SqliteFailure(e, _))
                        if e.code == rusqlite::ErrorCode::DatabaseBusy && attempts < 250 =>
                    {
                        attempts += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(e) => return Err(open_err(e)),
                }
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB)
            .map_err(open_err)?;
        if wal {
            // Checkpoint less often than every 1000 pages: a bulk ingest
            // rewrites the same index pages many times, and each checkpoint
            // syncs. Truncate the WAL back afterwards so it does not stay big.
            conn.pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
                .map_err(open_err)?;
            conn.pragma_update(None, "journal_size_limit", WAL_CHECKPOINT_PAGES * 4096)
                .map_err(open_err)?;
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open_err)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        schema::migrate(&mut conn, &path, MIGRATIONS)?;
        schema::ensure_connection_indexes(&conn).map_err(|source| StoreError::Sql {
            path: path.clone(),
            context: "restoring connection indexes",
            source,
        })?;
        Ok(Store { conn, path })
    }

    /// Where the database lives unless configured otherwise:
    /// `$XDG_DATA_HOME/tripline/tripline.db`, else
    /// `~/.local/share/tripline/tripline.db`, else `./tripline.db`.
    pub fn default_path() -> PathBuf {
        default_path_from(std::env::var_os("XDG_DATA_HOME"), std::env::var_os("HOME"))
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A marker that changes whenever the database changes: SQLite's
    /// `PRAGMA data_version` (bumped by commits of other connections, e.g.
    /// a running `tripline analyze`) and this connection's own change count.
    /// Cheap (no table read), for live pages polling for new data.
    pub fn change_marker(&self) -> Result<(i64, u64), StoreError> {
        let v = self
            .conn
            .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0))
            .map_err(self.sql_err("reading data_version"))?;
        Ok((v, self.conn.total_changes()))
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        schema::user_version(&self.conn, &self.path)
    }

    /// Wraps a SQLite error with the database path and what was being done
    /// (clones the path up front: for per-operation use, not per row).
    pub(crate) fn sql_err(
        &self,
        context: &'static str,
    ) -> impl Fn(rusqlite::Error) -> StoreError + use<> {
        let path = self.path.clone();
        move |source| StoreError::Sql {
            path: path.clone(),
            context,
            source,
        }
    }

    /// The same error built lazily, for per-row paths.
    pub(crate) fn sql_error(&self, context: &'static str, source: rusqlite::Error) -> StoreError {
        StoreError::Sql {
            path: self.path.clone(),
            context,
            source,
        }
    }

    /// A decoding failure in `table` at `rowid`.
    pub(crate) fn corrupt(
        &self,
        table: &'static str,
        rowid: i64,
        detail: impl Into<String>,
    ) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            table,
            rowid,
            detail: detail.into(),
        }
    }
}

/// The XDG rule of [`Store::default_path`], on explicit values.
pub fn default_path_from(xdg_data_home: Option<OsString>, home: Option<OsString>) -> PathBuf {
    // The XDG spec says relative values are invalid and must be ignored.
    let base = xdg_data_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            home.map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".local").join("share"))
        });
    match base {
        Some(b) => b.join("tripline").join("tripline.db"),
        None => PathBuf::from("tripline.db"),
    }
}

/// Converts a counter to SQLite's signed integer, saturating.
pub(crate) fn sql_u64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Converts a stored integer back to a counter (negative values, which the
/// store never writes, read as zero).
pub(crate) fn from_sql_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The wall clock now, for `started_at`/`updated_at` columns.
pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_follows_xdg() {
        assert_eq!(
            default_path_from(Some("/x/data".into()), Some("/home/u".into())),
            PathBuf::from("/x/data/tripline/tripline.db")
        );
        assert_eq!(
            default_path_from(Some("relative".into()), Some("/home/u".into())),
            PathBuf::from("/home/u/.local/share/tripline/tripline.db")
        );
        assert_eq!(
            default_path_from(None, Some("/home/u".into())),
            PathBuf::from("/home/u/.local/share/tripline/tripline.db")
        );
        assert_eq!(default_path_from(None, None), PathBuf::from("tripline.db"));
    }

    #[test]
    fn open_creates_parent_dirs_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/t.db");
        let store = Store::open(&path).unwrap();
        assert!(path.exists());
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store
            .conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        assert_eq!(store.schema_version().unwrap(), schema::SCHEMA_VERSION);
    }

    #[test]
    fn refuses_newer_database_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", schema::SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::TooNew { found, .. } if found == schema::SCHEMA_VERSION + 1)
        );
        let msg = err.to_string();
        assert!(msg.contains("new.db") && msg.contains("newer"), "{msg}");
    }

    #[test]
    fn change_marker_moves_on_writes_of_either_connection() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let reader = Store::open(&path).unwrap();
        let writer = Store::open(&path).unwrap();
        let row = crate::BlockRecord {
            ts: tripline_core::Timestamp(1),
            action: crate::BlockAction::Block,
            address: "192.0.2.1".parse().unwrap(),
            expires: None,
            backend: "nft".into(),
            automatic: false,
            reason: "test".into(),
        };
        let m0 = reader.change_marker().unwrap();
        assert_eq!(reader.change_marker().unwrap(), m0, "no write, no change");
        writer.record_block(&row).unwrap();
        let m1 = reader.change_marker().unwrap();
        assert_ne!(m1, m0, "another connection's commit");
        reader.record_block(&row).unwrap();
        assert_ne!(reader.change_marker().unwrap(), m1, "its own write");
    }

    #[test]
    fn counters_saturate() {
        assert_eq!(sql_u64(u64::MAX), i64::MAX);
        assert_eq!(sql_u64(5), 5);
        assert_eq!(from_sql_u64(-3), 0);
    }
}
