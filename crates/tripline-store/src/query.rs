//! The read side the CLI summary and reports need.

use crate::rows::{CONNECTION_COLUMNS, connection_from_row};
use crate::store::{from_sql_u64, sql_u64};
use crate::{InputId, Store, StoreError};
use rusqlite::params;
use std::net::IpAddr;
use tripline_core::{Connection, Timestamp};

/// Row counts per table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableCounts {
    /// Connections.
    pub connections: u64,
    /// DNS records.
    pub dns: u64,
    /// Auth events.
    pub auth: u64,
    /// Alerts.
    pub alerts: u64,
    /// Stored damage messages.
    pub input_errors: u64,
}

/// How to rank talkers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TalkerOrder {
    /// Most connections originated first.
    Connections,
    /// Most bytes (both directions of the connections it originated) first.
    Bytes,
}

/// One originator and its totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Talker {
    /// The originating address.
    pub addr: IpAddr,
    /// Connections it originated.
    pub connections: u64,
    /// Bytes of those connections, both directions.
    pub bytes: u64,
}

/// A connection read back, with where it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredConnection {
    /// Row id.
    pub id: i64,
    /// The input it came from, if tied to one.
    pub input: Option<InputId>,
    /// The connection.
    pub conn: Connection,
}

impl Store {
    /// Row counts for one input, or for the whole database.
    pub fn counts(&self, input: Option<InputId>) -> Result<TableCounts, StoreError> {
        let one = |table: &str| -> Result<u64, StoreError> {
            let counted = match input {
                Some(id) => self
                    .conn
                    .prepare_cached(&format!("SELECT count(*) FROM {table} WHERE input_id = ?1"))
                    .and_then(|mut s| s.query_row([id.0], |r| r.get::<_, i64>(0))),
                None => self
                    .conn
                    .prepare_cached(&format!("SELECT count(*) FROM {table}"))
                    .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0))),
            };
            counted
                .map(from_sql_u64)
                .map_err(self.sql_err("counting rows"))
        };
        Ok(TableCounts {
            connections: one("connections")?,
            dns: one("dns")?,
            auth: one("auth")?,
            alerts: one("alerts")?,
            input_errors: one("input_errors")?,
        })
    }

    /// The `limit` busiest originators, for one input or overall.
    pub fn top_talkers(
        &self,
        order: TalkerOrder,
        limit: usize,
        input: Option<InputId>,
    ) -> Result<Vec<Talker>, StoreError> {
        let order_by = match order {
            TalkerOrder::Connections => "n DESC, bytes DESC, src",
            TalkerOrder::Bytes => "bytes DESC, n DESC, src",
        };
        let sql = format!(
            "SELECT src, count(*) AS n, total(orig_bytes) + total(resp_bytes) AS bytes FROM connections \
             WHERE ?1 IS NULL OR input_id = ?1 GROUP BY src ORDER BY {order_by} LIMIT ?2"
        );
        let rows: Vec<(String, i64, f64)> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![input.map(|i| i.0), sql_u64(limit as u64)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("top talkers"))?;
        rows.into_iter()
            .map(|(src, n, bytes)| {
                let addr = src.parse().map_err(|_| {
                    self.corrupt("connections", -1, format!("src {src:?} is not an address"))
                })?;
                // total() sums in floating point (no integer overflow); byte
                // totals stay far below 2^53 in practice.
                Ok(Talker {
                    addr,
                    connections: from_sql_u64(n),
                    bytes: bytes.max(0.0) as u64,
                })
            })
            .collect()
    }

    /// Connections that started in `[from, to)`, oldest first, at most `limit`.
    pub fn connections_between(
        &self,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<StoredConnection>, StoreError> {
        let sql = format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE start_ns >= ?1 AND start_ns < ?2 \
             ORDER BY start_ns, id LIMIT ?3"
        );
        let rows = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(
                    params![from.0, to.0, sql_u64(limit as u64)],
                    connection_from_row,
                )?
                .collect()
            })
            .map_err(self.sql_err("reading connections"))?;
        let rows: Vec<_> = rows;
        rows.into_iter()
            .map(|r| r.map_err(|bad| self.corrupt("connections", bad.rowid, bad.detail)))
            .collect()
    }

    /// Names whose answers included `addr` (most recent first, at most
    /// `limit`): what a connection's peer was looked up as.
    pub fn names_for_address(&self, addr: IpAddr, limit: usize) -> Result<Vec<String>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT d.name FROM dns_answers a JOIN dns d ON d.id = a.dns_id \
                 WHERE a.kind = 'addr' AND a.data = ?1 GROUP BY d.name ORDER BY max(d.ts_ns) DESC LIMIT ?2",
            )
            .and_then(|mut s| s.query_map(params![addr.to_string(), sql_u64(limit as u64)], |r| r.get(0))?.collect())
            .map_err(self.sql_err("looking up names for address"))
    }
}
