//! tripline outputs that keep: the embedded SQLite store, Suricata EVE JSON,
//! and the compact CSV / JSON-lines connection records of `tripline reduce`.
//!
//! * [`Store`] opens the database (schema versioned by `PRAGMA user_version`,
//!   migrated in order), records inputs with their content hash so a file is
//!   not ingested twice, writes records in batched transactions through
//!   [`StoreSink`], keeps follow-mode [`Checkpoint`]s and answers the
//!   summary queries.
//! * [`EveWriter`] writes `flow`, `dns` and `alert` events that validate
//!   against Suricata's EVE schema.
//! * [`ConnCsvWriter`], [`ConnJsonWriter`] and [`SplitByProtocol`] write
//!   connection records compactly.

mod blocks;
mod checkpoint;
mod error;
mod eve;
mod eve_dns;
mod hash;
mod inputs;
mod notifications;
mod profile;
mod query;
mod reduce;
mod report_alerts;
mod report_digest;
mod report_queries;
#[cfg(test)]
mod report_tests;
mod rows;
mod schema;
mod seen;
mod sink;
mod split;
mod status;
mod store;
mod tally;

pub use blocks::{BlockAction, BlockRecord};
pub use checkpoint::Checkpoint;
pub use error::StoreError;
pub use eve::{EveOptions, EveWriter, eve_proto, flow_id};
pub use hash::{hash_file, hash_reader};
pub use inputs::{InputId, InputRow, InputStats, NewInput, StoredInputError};
pub use notifications::{
    AlertRef, MAX_NOTIFICATION_DETAIL, NotificationCount, NotificationOutcome, NotificationRow,
};
pub use profile::{
    AuthSummary, DangerStep, HostCount, MAX_DANGER_STEPS, OsGuess, SourceProfile, UserCount,
};
pub use query::{StoredConnection, TableCounts, Talker, TalkerOrder};
pub use reduce::{CSV_HEADER, ConnCsvWriter, ConnJsonWriter};
pub use report_alerts::{AlertQuery, AlertRow};
pub use report_digest::{ConnDigest, DIGEST_MAX_KEYS, DigestLimits};
pub use report_queries::{
    AddrCount, BlockRow, BlockedLookup, DirectionCounts, HOUR_NS, HourCounts, LinkEdge, SweepPoint,
    TimeRange,
};
pub use schema::SCHEMA_VERSION;
pub use seen::SeenRow;
pub use sink::{DEFAULT_BATCH_ROWS, DEFAULT_ERROR_CAP, RowCounts, StoreSink};
pub use split::{SplitByProtocol, SplitCounts, SplitFormat};
pub use status::{SignatureCount, SourceDanger, StatusReport};
pub use store::{Store, default_path_from};
pub use tally::{AlertSummary, DetectorCount, PortCount, ScanTypeCount};
