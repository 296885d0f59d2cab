//! The `inputs` table: one row per ingested file or live source, with its
//! content hash (re-ingest detection), counters and damage.

use crate::rows::{insert_input_error, location_from_parts};
use crate::store::{from_sql_u64, now, sql_u64};
use crate::{Store, StoreError};
use rusqlite::{OptionalExtension, Row, params};
use std::collections::BTreeMap;
use tripline_core::{ErrorKind, InputError, Location, Timestamp};

/// The row id of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InputId(pub i64);

/// What is known about an input when its ingest starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewInput<'a> {
    /// The path as given (`-` for stdin, the interface name for live capture).
    pub path: &'a str,
    /// Size in bytes, when it is a file.
    pub size: Option<u64>,
    /// Content hash from [`crate::hash_file`], when it is a file.
    pub hash: Option<&'a str>,
    /// Detected format (`pcap`, `pcapng`, `log`, `live`).
    pub format: &'a str,
}

/// Counters for an input when its ingest ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputStats {
    /// Time of the first record.
    pub first_ts: Option<Timestamp>,
    /// Time of the last record.
    pub last_ts: Option<Timestamp>,
    /// Frames, blocks or lines read.
    pub units: u64,
    /// Records produced.
    pub records: u64,
    /// Units that were fine but not of interest.
    pub skipped: u64,
    /// Damaged units, all kinds together.
    pub errors: u64,
}

/// One row of `inputs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRow {
    /// Row id.
    pub id: InputId,
    /// The path as given.
    pub path: String,
    /// Size in bytes, when a file.
    pub size: Option<u64>,
    /// Content hash, when a file.
    pub hash: Option<String>,
    /// Detected format.
    pub format: String,
    /// Counters (all zero until the ingest finished).
    pub stats: InputStats,
    /// When the ingest started (wall clock).
    pub started_at: Timestamp,
    /// When it finished; `None` for an interrupted or still running ingest.
    pub finished_at: Option<Timestamp>,
}

/// One stored damage message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredInputError {
    /// The input it belongs to.
    pub input: InputId,
    /// Where in the input.
    pub location: Location,
    /// The [`ErrorKind`] name (`truncated`, `bad_line`...).
    pub kind: String,
    /// The message.
    pub message: String,
}

const INPUT_COLUMNS: &str = "id, path, size, hash, format, first_ts, last_ts, units, records, skipped, errors, \
    started_at, finished_at";

fn input_from_row(row: &Row<'_>) -> rusqlite::Result<InputRow> {
    Ok(InputRow {
        id: InputId(row.get(0)?),
        path: row.get(1)?,
        size: row.get::<_, Option<i64>>(2)?.map(from_sql_u64),
        hash: row.get(3)?,
        format: row.get(4)?,
        stats: InputStats {
            first_ts: row.get::<_, Option<i64>>(5)?.map(Timestamp),
            last_ts: row.get::<_, Option<i64>>(6)?.map(Timestamp),
            units: from_sql_u64(row.get(7)?),
            records: from_sql_u64(row.get(8)?),
            skipped: from_sql_u64(row.get(9)?),
            errors: from_sql_u64(row.get(10)?),
        },
        started_at: Timestamp(row.get(11)?),
        finished_at: row.get::<_, Option<i64>>(12)?.map(Timestamp),
    })
}

impl Store {
    /// Records that an ingest of `input` starts now; rows written for it
    /// carry the returned id.
    pub fn begin_input(&self, input: &NewInput<'_>) -> Result<InputId, StoreError> {
        self.conn
            .prepare_cached("INSERT INTO inputs (path, size, hash, format, started_at) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.insert(params![input.path, input.size.map(sql_u64), input.hash, input.format, now().0]))
            .map(InputId)
            .map_err(self.sql_err("recording input"))
    }

    /// Records the final counters of an input and marks it finished.
    pub fn finish_input(&self, id: InputId, stats: &InputStats) -> Result<(), StoreError> {
        let changed = self
            .conn
            .prepare_cached(
                "UPDATE inputs SET first_ts = ?2, last_ts = ?3, units = ?4, records = ?5, skipped = ?6, \
                 errors = ?7, finished_at = ?8 WHERE id = ?1",
            )
            .and_then(|mut s| {
                s.execute(params![
                    id.0,
                    stats.first_ts.map(|t| t.0),
                    stats.last_ts.map(|t| t.0),
                    sql_u64(stats.units),
                    sql_u64(stats.records),
                    sql_u64(stats.skipped),
                    sql_u64(stats.errors),
                    now().0,
                ])
            })
            .map_err(self.sql_err("finishing input"))?;
        if changed == 0 {
            return Err(self.corrupt("inputs", id.0, "no such input"));
        }
        Ok(())
    }

    /// The most recent input with this content hash, finished ones first, so
    /// the caller can skip re-ingesting the same file (unless forced).
    pub fn find_input_by_hash(&self, hash: &str) -> Result<Option<InputRow>, StoreError> {
        let sql = format!(
            "SELECT {INPUT_COLUMNS} FROM inputs WHERE hash = ?1 ORDER BY finished_at IS NULL, id DESC LIMIT 1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([hash], input_from_row).optional())
            .map_err(self.sql_err("looking up input by hash"))
    }

    /// One input by id.
    pub fn input(&self, id: InputId) -> Result<Option<InputRow>, StoreError> {
        let sql = format!("SELECT {INPUT_COLUMNS} FROM inputs WHERE id = ?1");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id.0], input_from_row).optional())
            .map_err(self.sql_err("reading input"))
    }

    /// Every input, oldest first.
    pub fn list_inputs(&self) -> Result<Vec<InputRow>, StoreError> {
        let sql = format!("SELECT {INPUT_COLUMNS} FROM inputs ORDER BY id");
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_map([], input_from_row)?.collect())
            .map_err(self.sql_err("listing inputs"))
    }

    /// Deletes an input and every row that came from it (for `--force`
    /// re-ingests that replace the earlier run).
    pub fn delete_input(&mut self, id: InputId) -> Result<bool, StoreError> {
        let err = self.sql_err("deleting input");
        let tx = self.conn.transaction().map_err(&err)?;
        // Foreign keys cascade to connections, dns (and its answers), auth,
        // alerts, input_errors and error_counts.
        let n = tx
            .execute("DELETE FROM inputs WHERE id = ?1", [id.0])
            .map_err(&err)?;
        tx.commit().map_err(&err)?;
        Ok(n > 0)
    }

    /// Stores one damage message of an input (callers cap how many; see
    /// [`crate::StoreSink`]).
    pub fn add_input_error(&self, id: InputId, err: &InputError) -> Result<(), StoreError> {
        insert_input_error(&self.conn, id.0, err).map_err(self.sql_err("storing input error"))
    }

    /// Adds per-kind damage counts to an input's totals.
    pub fn add_error_counts(
        &self,
        id: InputId,
        counts: &BTreeMap<ErrorKind, u64>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "INSERT INTO error_counts (input_id, kind, count) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (input_id, kind) DO UPDATE SET count = count + excluded.count",
            )
            .map_err(self.sql_err("storing error counts"))?;
        for (kind, n) in counts {
            stmt.execute(params![id.0, kind.as_str(), sql_u64(*n)])
                .map_err(self.sql_err("storing error counts"))?;
        }
        Ok(())
    }

    /// Damage counts of an input by kind name.
    pub fn error_counts(&self, id: InputId) -> Result<BTreeMap<String, u64>, StoreError> {
        self.conn
            .prepare_cached("SELECT kind, count FROM error_counts WHERE input_id = ?1")
            .and_then(|mut s| {
                s.query_map([id.0], |r| Ok((r.get(0)?, from_sql_u64(r.get(1)?))))?
                    .collect()
            })
            .map_err(self.sql_err("reading error counts"))
    }

    /// The first `limit` stored damage messages of an input, in input order.
    pub fn input_errors(
        &self,
        id: InputId,
        limit: usize,
    ) -> Result<Vec<StoredInputError>, StoreError> {
        let rows: Vec<(i64, String, Option<i64>, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT id, location_kind, location_value, kind, message FROM input_errors \
                 WHERE input_id = ?1 ORDER BY id LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![id.0, sql_u64(limit as u64)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("reading input errors"))?;
        rows.into_iter()
            .map(|(rowid, lk, lv, kind, message)| {
                let location = location_from_parts(&lk, lv).ok_or_else(|| {
                    self.corrupt("input_errors", rowid, format!("bad location {lk:?} {lv:?}"))
                })?;
                Ok(StoredInputError {
                    input: id,
                    location,
                    kind,
                    message,
                })
            })
            .collect()
    }
}
