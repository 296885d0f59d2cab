//! The versioned schema: ordered migrations keyed by `PRAGMA user_version`.
//!
//! Each migration moves the database from version `n - 1` to `n` inside one
//! transaction. Migrations are append-only: a released migration is never
//! edited, a change to the schema is a new migration at the end.
//!
//! Design choices:
//! * Timestamps are `INTEGER` nanoseconds since the epoch (what
//!   [`tripline_core::Timestamp`] holds), so ranges are plain integer
//!   comparisons on an index.
//! * Addresses are `TEXT` in the canonical form `std::net::IpAddr` prints
//!   (dotted IPv4, compressed IPv6). Every query the CLI and the reports
//!   run is an equality, a `GROUP BY` or a display, and the text form keeps
//!   the database readable with the plain `sqlite3` shell. A sortable
//!   16-byte key for CIDR range scans would add a column and an index to
//!   the hottest table for a query nothing asks for yet; it can come as a
//!   later migration.
//! * DNS answers live in a child table (`dns_answers`), not a JSON column:
//!   "which names resolved to this address" is the question connection
//!   naming and reports ask, and it needs an index on the answer data.
//! * Alert details are JSON text: they differ per detector and are only
//!   ever displayed whole.
//! * Counters are `u64` in Rust and `INTEGER` (i64) in SQLite; values beyond
//!   `i64::MAX` are stored saturated (no real counter gets there).

use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// One schema step.
pub(crate) struct Migration {
    /// The `user_version` after this step.
    pub version: i64,
    /// The SQL that performs it.
    pub sql: &'static str,
}

/// Version 1: inputs, their errors, and the four record tables.
const V1: &str = "
CREATE TABLE inputs (
    id          INTEGER PRIMARY KEY,
    path        TEXT NOT NULL,
    size        INTEGER,
    hash        TEXT,
    format      TEXT NOT NULL,
    first_ts    INTEGER,
    last_ts     INTEGER,
    units       INTEGER NOT NULL DEFAULT 0,
    records     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    errors      INTEGER NOT NULL DEFAULT 0,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX inputs_hash ON inputs(hash);

CREATE TABLE input_errors (
    id             INTEGER PRIMARY KEY,
    input_id       INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
    location_kind  TEXT NOT NULL CHECK (location_kind IN ('offset', 'line', 'file')),
    location_value INTEGER,
    kind           TEXT NOT NULL,
    message        TEXT NOT NULL
);
CREATE INDEX input_errors_input ON input_errors(input_id);

CREATE TABLE error_counts (
    input_id INTEGER NOT NULL REFERENCES inputs(id) ON DELETE CASCADE,
    kind     TEXT NOT NULL,
    count    INTEGER NOT NULL,
    PRIMARY KEY (input_id, kind)
) WITHOUT ROWID;

CREATE TABLE connections (
    id           INTEGER PRIMARY KEY,
    input_id     INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    start_ns     INTEGER NOT NULL,
    end_ns       INTEGER NOT NULL,
    src          TEXT NOT NULL,
    sport        INTEGER NOT NULL,
    dst          TEXT NOT NULL,
    dport        INTEGER NOT NULL,
    protocol     INTEGER NOT NULL,
    orig_packets INTEGER NOT NULL,
    orig_bytes   INTEGER NOT NULL,
    resp_packets INTEGER NOT NULL,
    resp_bytes   INTEGER NOT NULL,
    state        TEXT NOT NULL,
    history      TEXT NOT NULL,
    community_id TEXT NOT NULL,
    direction    TEXT NOT NULL,
    origin       TEXT NOT NULL CHECK (origin IN ('capture', 'firewall')),
    fw_prefix    TEXT,
    fw_in        TEXT,
    fw_out       TEXT
);
CREATE INDEX connections_start ON connections(start_ns);
CREATE INDEX connections_src ON connections(src);
CREATE INDEX connections_dst ON connections(dst);
CREATE INDEX connections_dport ON connections(dport);
CREATE INDEX connections_input ON connections(input_id);

CREATE TABLE dns (
    id          INTEGER PRIMARY KEY,
    input_id    INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    ts_ns       INTEGER NOT NULL,
    origin      TEXT NOT NULL,
    event       TEXT NOT NULL,
    client      TEXT,
    server      TEXT,
    txid        INTEGER,
    name        TEXT NOT NULL,
    qtype       TEXT NOT NULL,
    rcode       TEXT,
    from_config INTEGER NOT NULL,
    blocked     INTEGER NOT NULL
);
CREATE INDEX dns_ts ON dns(ts_ns);
CREATE INDEX dns_client ON dns(client);
CREATE INDEX dns_name ON dns(name);
CREATE INDEX dns_input ON dns(input_id);

CREATE TABLE dns_answers (
    dns_id INTEGER NOT NULL REFERENCES dns(id) ON DELETE CASCADE,
    pos    INTEGER NOT NULL,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('addr', 'cname', 'nxdomain', 'nodata', 'other')),
    data   TEXT,
    ttl    INTEGER,
    PRIMARY KEY (dns_id, pos)
) WITHOUT ROWID;
CREATE INDEX dns_answers_data ON dns_answers(data);

CREATE TABLE auth (
    id           INTEGER PRIMARY KEY,
    input_id     INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    ts_ns        INTEGER NOT NULL,
    host         TEXT NOT NULL,
    service      TEXT NOT NULL,
    pid          INTEGER,
    event        TEXT NOT NULL,
    method       TEXT,
    user         TEXT,
    invalid_user INTEGER NOT NULL,
    src          TEXT,
    port         INTEGER
);
CREATE INDEX auth_ts ON auth(ts_ns);
CREATE INDEX auth_src ON auth(src);
CREATE INDEX auth_input ON auth(input_id);

CREATE TABLE alerts (
    id           INTEGER PRIMARY KEY,
    input_id     INTEGER REFERENCES inputs(id) ON DELETE CASCADE,
    ts_ns        INTEGER NOT NULL,
    detector     TEXT NOT NULL,
    gid          INTEGER NOT NULL,
    sid          INTEGER NOT NULL,
    rev          INTEGER NOT NULL,
    msg          TEXT NOT NULL,
    category     TEXT NOT NULL,
    severity     INTEGER NOT NULL,
    src          TEXT,
    sport        INTEGER,
    dst          TEXT,
    dport        INTEGER,
    protocol     INTEGER,
    community_id TEXT,
    details      TEXT NOT NULL
);
CREATE INDEX alerts_ts ON alerts(ts_ns);
CREATE INDEX alerts_src ON alerts(src);
CREATE INDEX alerts_input ON alerts(input_id);
";

/// Version 2: follow-mode checkpoints, and alert lookup by signature.
const V2: &str = "
CREATE TABLE checkpoints (
    path        TEXT PRIMARY KEY,
    inode       INTEGER NOT NULL,
    offset      INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX alerts_signature ON alerts(gid, sid);
";

/// Version 4: what the notify and respond outputs did, and analyst triage.
///
/// * `notifications`: one row per alert a channel handled — sent, failed,
///   suppressed (and why) or folded into a digest — so suppressed
///   notifications stay countable and visible.
/// * `blocks`: every block and unblock with its reason, backend and expiry.
/// * `alert_acks`: alerts an analyst acknowledged (web UI, CLI).
const V4: &str = "
CREATE TABLE notifications (
    id        INTEGER PRIMARY KEY,
    ts_ns     INTEGER NOT NULL,
    channel   TEXT NOT NULL,
    alert_id  INTEGER REFERENCES alerts(id) ON DELETE SET NULL,
    src       TEXT,
    outcome   TEXT NOT NULL,
    reason    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX notifications_ts ON notifications(ts_ns);
CREATE INDEX notifications_outcome ON notifications(channel, outcome);

CREATE TABLE blocks (
    id          INTEGER PRIMARY KEY,
    ts_ns       INTEGER NOT NULL,
    action      TEXT NOT NULL,
    address     TEXT NOT NULL,
    expires_ns  INTEGER,
    backend     TEXT NOT NULL,
    automatic   INTEGER NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX blocks_address ON blocks(address, ts_ns);

CREATE TABLE alert_acks (
    alert_id  INTEGER PRIMARY KEY REFERENCES alerts(id) ON DELETE CASCADE,
    ts_ns     INTEGER NOT NULL,
    who       TEXT NOT NULL,
    note      TEXT NOT NULL DEFAULT ''
);
";

/// Version 5: a covering index for one source's connections. A source
/// page (and `tripline profile`) counts the source's connections, its
/// distinct hosts and ports, its top hosts and ports and its first and
/// last time; with every column those queries read in the index, each is
/// one contiguous index range instead of a table lookup per connection
/// (the report's 2,000 source pages on a million-connection day).
const V5: &str = "
CREATE INDEX connections_src_peer ON connections(src, dst, dport, protocol, start_ns, end_ns);
";

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: V1,
    },
    Migration {
        version: 2,
        sql: V2,
    },
    Migration {
        version: 3,
        sql: crate::seen::V3,
    },
    Migration {
        version: 4,
        sql: V4,
    },
    Migration {
        version: 5,
        sql: V5,
    },
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 5;

/// The secondary indexes of `connections` (name, columns), as versions 1
/// and 5 created them. A deferred-index bulk load drops and rebuilds
/// exactly these.
pub(crate) const CONNECTION_INDEXES: [(&str, &str); 6] = [
    ("connections_start", "start_ns"),
    ("connections_src", "src"),
    ("connections_dst", "dst"),
    ("connections_dport", "dport"),
    ("connections_input", "input_id"),
    (
        "connections_src_peer",
        "src, dst, dport, protocol, start_ns, end_ns",
    ),
];

/// Creates any missing connection index (after a bulk load that was
/// interrupted before it rebuilt them).
pub(crate) fn ensure_connection_indexes(conn: &Connection) -> rusqlite::Result<()> {
    for (name, column) in CONNECTION_INDEXES {
        conn.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS {name} ON connections({column})"
        ))?;
    }
    Ok(())
}

/// Drops the connection indexes for a bulk load.
pub(crate) fn drop_connection_indexes(conn: &Connection) -> rusqlite::Result<()> {
    for (name, _) in CONNECTION_INDEXES {
        conn.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    Ok(())
}

/// Reads `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(|source| StoreError::Sql {
            path: path.to_path_buf(),
            context: "reading schema version",
            source,
        })
}

/// Brings the database up to the last of `migrations`, refusing a database
/// that is newer than all of them.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[Migration],
) -> Result<i64, StoreError> {
    let latest = migrations.last().map_or(0, |m| m.version);
    let found = user_version(conn, path)?;
    if found > latest {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            supported: latest,
        });
    }
    for m in migrations.iter().filter(|m| m.version > found) {
        let wrap = |source| StoreError::Migration {
            path: path.to_path_buf(),
            version: m.version,
            source,
        };
        // Another process (a second tripline started at the same moment)
        // may be migrating too: take the write lock first, then look again.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(wrap)?;
        let now: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(wrap)?;
        if now >= m.version {
            continue;
        }
        tx.execute_batch(m.sql).map_err(wrap)?;
        tx.pragma_update(None, "user_version", m.version)
            .map_err(wrap)?;
        tx.commit().map_err(wrap)?;
    }
    Ok(latest.max(user_version(conn, path)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_end_at_schema_version() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version, i as i64 + 1);
        }
        assert_eq!(MIGRATIONS.last().map(|m| m.version), Some(SCHEMA_VERSION));
    }

    #[test]
    fn connection_index_list_matches_version_1() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Path::new(":memory:"), MIGRATIONS).unwrap();
        let mut listed: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'connections' AND sql IS NOT NULL")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        listed.sort();
        let mut ours: Vec<String> = CONNECTION_INDEXES
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        ours.sort();
        assert_eq!(listed, ours);
    }

    #[test]
    fn failed_migration_leaves_version_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        let bad = [
            Migration {
                version: 1,
                sql: V1,
            },
            Migration {
                version: 2,
                sql: "CREATE TABLE inputs (x);",
            },
        ];
        let err = migrate(&mut conn, Path::new(":memory:"), &bad).unwrap_err();
        assert!(
            matches!(err, StoreError::Migration { version: 2, .. }),
            "{err}"
        );
        assert_eq!(user_version(&conn, Path::new(":memory:")).unwrap(), 1);
    }
}
