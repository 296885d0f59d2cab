//! connwatch's "seen" memory in the store (schema version 3): which
//! (device, kind, destination, port, protocol) combinations were already
//! reported, with first/last time and a count, so the next run alerts only
//! on what is new and `triage` can list the most frequent first.
//!
//! The engine keeps the memory in RAM during a run; the command loads it
//! with [`Store::load_seen`] before the first record and adds the run's
//! counts with [`Store::save_seen`] after the last one.

use crate::store::{from_sql_u64, sql_u64};
use crate::{Store, StoreError};
use rusqlite::params;
use tripline_core::Timestamp;

/// Version 3 of the schema: the `connwatch_seen` table.
pub(crate) const V3: &str = "
CREATE TABLE connwatch_seen (
    device     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    peer       TEXT NOT NULL,
    port       INTEGER NOT NULL,
    protocol   INTEGER NOT NULL,
    first_ns   INTEGER NOT NULL,
    last_ns    INTEGER NOT NULL,
    count      INTEGER NOT NULL,
    PRIMARY KEY (device, kind, peer, port, protocol)
) WITHOUT ROWID;
CREATE INDEX connwatch_seen_last ON connwatch_seen(last_ns);
";

/// One stored combination, in the store's text form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenRow {
    /// The home device's address.
    pub device: String,
    /// `outbound`, `inbound` or `blocked_lookup`.
    pub kind: String,
    /// Destination name, or address (inbound: the caller's address).
    pub peer: String,
    /// The service port (ICMP: type; lookups: 53).
    pub port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// First time seen.
    pub first_seen: Timestamp,
    /// Latest time seen.
    pub last_seen: Timestamp,
    /// How many times (saving adds to the stored count).
    pub count: u64,
}

impl Store {
    /// The most recently seen `limit` combinations, most recent first.
    pub fn load_seen(&self, limit: usize) -> Result<Vec<SeenRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.conn
            .prepare_cached(
                "SELECT device, kind, peer, port, protocol, first_ns, last_ns, count \
                 FROM connwatch_seen ORDER BY last_ns DESC LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map([limit], |r| {
                    Ok(SeenRow {
                        device: r.get(0)?,
                        kind: r.get(1)?,
                        peer: r.get(2)?,
                        port: u16::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                        protocol: u8::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                        first_seen: Timestamp(r.get(5)?),
                        last_seen: Timestamp(r.get(6)?),
                        count: from_sql_u64(r.get(7)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("loading connwatch memory"))
    }

    /// Adds `rows` in one transaction: new combinations are inserted,
    /// known ones get the earlier first time, the later last time and the
    /// sum of the counts. Returns the number of rows written.
    pub fn save_seen(&mut self, rows: &[SeenRow]) -> Result<usize, StoreError> {
        let err = self.sql_err("saving connwatch memory");
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut st = tx
                .prepare_cached(
                    "INSERT INTO connwatch_seen (device, kind, peer, port, protocol, first_ns, last_ns, count) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
                     ON CONFLICT (device, kind, peer, port, protocol) DO UPDATE SET \
                     first_ns = min(first_ns, excluded.first_ns), \
                     last_ns = max(last_ns, excluded.last_ns), \
                     count = count + excluded.count",
                )
                .map_err(&err)?;
            for r in rows {
                st.execute(params![
                    r.device,
                    r.kind,
                    r.peer,
                    r.port,
                    r.protocol,
                    r.first_seen.0,
                    r.last_seen.0,
                    sql_u64(r.count)
                ])
                .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(rows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(peer: &str, t: i64, count: u64) -> SeenRow {
        SeenRow {
            device: "10.99.1.2".into(),
            kind: "outbound".into(),
            peer: peer.into(),
            port: 443,
            protocol: 6,
            first_seen: Timestamp(t),
            last_seen: Timestamp(t),
            count,
        }
    }

    #[test]
    fn save_adds_and_load_returns_most_recent_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        {
            let mut s = Store::open(&path).unwrap();
            assert_eq!(
                s.save_seen(&[row("www.example.com", 10, 2), row("10.99.2.7", 20, 1)])
                    .unwrap(),
                2
            );
        }
        let mut s = Store::open(&path).unwrap();
        s.save_seen(&[row("www.example.com", 30, 5)]).unwrap();
        let rows = s.load_seen(10).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].peer, "www.example.com");
        assert_eq!(
            (rows[0].first_seen, rows[0].last_seen, rows[0].count),
            (Timestamp(10), Timestamp(30), 7)
        );
        assert_eq!(s.load_seen(1).unwrap().len(), 1);
    }
}
