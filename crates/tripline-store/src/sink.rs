//! Bulk writing: records go into transactions of N rows through cached
//! prepared statements.

use crate::rows::{self, AddrText};
use crate::schema;
use crate::{InputId, Store, StoreError};
use std::collections::BTreeMap;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, ErrorKind, InputError};

/// Rows per transaction unless configured otherwise.
pub const DEFAULT_BATCH_ROWS: usize = 10_000;

/// Damage messages kept per input unless configured otherwise (all are
/// counted by kind).
pub const DEFAULT_ERROR_CAP: u64 = 1_000;

/// What a [`StoreSink`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Connection rows.
    pub connections: u64,
    /// DNS rows (answers not counted separately).
    pub dns: u64,
    /// Auth rows.
    pub auth: u64,
    /// Alert rows.
    pub alerts: u64,
    /// Damage reports seen.
    pub errors: u64,
    /// Damage messages stored (at most the cap).
    pub errors_kept: u64,
    /// Damage reports seen, by kind.
    pub errors_by_kind: BTreeMap<ErrorKind, u64>,
}

/// Writes records of one input into the store in batches.
///
/// Each call inserts its row at once inside an open transaction, which is
/// committed every `batch_rows` rows and by [`StoreSink::finish`]; nothing is
/// buffered in memory. Dropping the sink without `finish` commits the rows
/// written so far but does not store the per-kind error counts.
pub struct StoreSink<'s> {
    store: &'s mut Store,
    input: Option<InputId>,
    batch_rows: usize,
    pending: usize,
    in_tx: bool,
    error_cap: u64,
    deferred_indexes: bool,
    text: AddrText,
    counts: RowCounts,
}

impl<'s> StoreSink<'s> {
    /// A sink whose rows belong to `input` (`None`: rows not tied to an
    /// input; damage reports are then counted but not stored).
    pub fn new(store: &'s mut Store, input: Option<InputId>) -> Self {
        StoreSink {
            store,
            input,
            batch_rows: DEFAULT_BATCH_ROWS,
            pending: 0,
            in_tx: false,
            error_cap: DEFAULT_ERROR_CAP,
            deferred_indexes: false,
            text: AddrText::default(),
            counts: RowCounts::default(),
        }
    }

    /// Sets the rows per transaction (at least 1).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// Sets how many damage messages are stored for the input.
    pub fn with_error_cap(mut self, cap: u64) -> Self {
        self.error_cap = cap;
        self
    }

    /// Bulk-load mode: drops the connection indexes now and rebuilds them in
    /// [`StoreSink::finish`] (or on drop, or at the next [`Store::open`] if
    /// the process dies). Inserting without the five indexes and sorting them
    /// afterwards is about twice as fast, but the rebuild covers the whole
    /// table: use it when the load is large compared with what is already
    /// stored (a first ingest, a big capture into a small database). Queries
    /// from other processes run without the indexes meanwhile.
    pub fn with_deferred_indexes(mut self) -> Result<Self, StoreError> {
        self.flush()?;
        schema::drop_connection_indexes(&self.store.conn)
            .map_err(|e| self.store.sql_error("dropping connection indexes", e))?;
        self.deferred_indexes = true;
        Ok(self)
    }

    fn rebuild_indexes(&mut self) -> Result<(), StoreError> {
        if self.deferred_indexes {
            schema::ensure_connection_indexes(&self.store.conn)
                .map_err(|e| self.store.sql_error("rebuilding connection indexes", e))?;
            self.deferred_indexes = false;
        }
        Ok(())
    }

    /// What has been written so far.
    pub fn counts(&self) -> &RowCounts {
        &self.counts
    }

    fn input_id(&self) -> Option<i64> {
        self.input.map(|i| i.0)
    }

    fn before_row(&mut self) -> Result<(), StoreError> {
        if !self.in_tx {
            self.store
                .conn
                .execute_batch("BEGIN")
                .map_err(|e| self.store.sql_error("starting transaction", e))?;
            self.in_tx = true;
        }
        Ok(())
    }

    fn after_row(&mut self) -> Result<(), StoreError> {
        self.pending += 1;
        if self.pending >= self.batch_rows {
            self.flush()?;
        }
        Ok(())
    }

    /// Stores one connection.
    pub fn connection(&mut self, c: &Connection) -> Result<(), StoreError> {
        self.before_row()?;
        rows::insert_connection(&self.store.conn, self.input_id(), c, &mut self.text)
            .map_err(|e| self.store.sql_error("inserting connection", e))?;
        self.counts.connections += 1;
        self.after_row()
    }

    /// Stores one DNS record with its answers.
    pub fn dns(&mut self, d: &DnsLog) -> Result<(), StoreError> {
        self.before_row()?;
        rows::insert_dns(&self.store.conn, self.input_id(), d, &mut self.text)
            .map_err(|e| self.store.sql_error("inserting dns record", e))?;
        self.counts.dns += 1;
        self.after_row()
    }

    /// Stores one auth event.
    pub fn auth(&mut self, a: &AuthLog) -> Result<(), StoreError> {
        self.before_row()?;
        rows::insert_auth(&self.store.conn, self.input_id(), a, &mut self.text)
            .map_err(|e| self.store.sql_error("inserting auth event", e))?;
        self.counts.auth += 1;
        self.after_row()
    }

    /// Stores one alert.
    pub fn alert(&mut self, a: &Alert) -> Result<(), StoreError> {
        self.before_row()?;
        rows::insert_alert(&self.store.conn, self.input_id(), a, &mut self.text)
            .map_err(|e| self.store.sql_error("inserting alert", e))?;
        self.counts.alerts += 1;
        self.after_row()
    }

    /// Counts one damage report; the first `error_cap` of the input are stored
    /// with their message.
    pub fn error(&mut self, err: &InputError) -> Result<(), StoreError> {
        self.counts.errors += 1;
        *self.counts.errors_by_kind.entry(err.kind).or_default() += 1;
        let Some(input) = self.input else {
            return Ok(());
        };
        if self.counts.errors_kept >= self.error_cap {
            return Ok(());
        }
        self.before_row()?;
        rows::insert_input_error(&self.store.conn, input.0, err)
            .map_err(|e| self.store.sql_error("storing input error", e))?;
        self.counts.errors_kept += 1;
        self.after_row()
    }

    /// Commits the rows written so far.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.in_tx {
            self.store
                .conn
                .execute_batch("COMMIT")
                .map_err(|e| self.store.sql_error("committing", e))?;
            self.in_tx = false;
        }
        self.pending = 0;
        Ok(())
    }

    /// Commits everything, stores the per-kind error counts, and returns
    /// what was written.
    pub fn finish(mut self) -> Result<RowCounts, StoreError> {
        self.flush()?;
        self.rebuild_indexes()?;
        if let Some(input) = self.input {
            self.store
                .add_error_counts(input, &self.counts.errors_by_kind)?;
        }
        Ok(std::mem::take(&mut self.counts))
    }
}

impl Drop for StoreSink<'_> {
    fn drop(&mut self) {
        if self.in_tx {
            // Keep what was written; a failure here leaves SQLite to roll the
            // open transaction back when the connection closes.
            let _ = self.store.conn.execute_batch("COMMIT");
            self.in_tx = false;
        }
        // Failing here, the next `Store::open` rebuilds them.
        let _ = self.rebuild_indexes();
    }
}

impl Store {
    /// Stores a slice of connections in transactions of
    /// [`DEFAULT_BATCH_ROWS`]; returns how many were written.
    pub fn insert_connections(
        &mut self,
        input: Option<InputId>,
        conns: &[Connection],
    ) -> Result<u64, StoreError> {
        let mut sink = StoreSink::new(self, input);
        conns.iter().try_for_each(|c| sink.connection(c))?;
        Ok(sink.finish()?.connections)
    }

    /// Stores a slice of DNS records.
    pub fn insert_dns(
        &mut self,
        input: Option<InputId>,
        records: &[DnsLog],
    ) -> Result<u64, StoreError> {
        let mut sink = StoreSink::new(self, input);
        records.iter().try_for_each(|d| sink.dns(d))?;
        Ok(sink.finish()?.dns)
    }

    /// Stores a slice of auth events.
    pub fn insert_auth(
        &mut self,
        input: Option<InputId>,
        records: &[AuthLog],
    ) -> Result<u64, StoreError> {
        let mut sink = StoreSink::new(self, input);
        records.iter().try_for_each(|a| sink.auth(a))?;
        Ok(sink.finish()?.auth)
    }

    /// Stores a slice of alerts.
    pub fn insert_alerts(
        &mut self,
        input: Option<InputId>,
        alerts: &[Alert],
    ) -> Result<u64, StoreError> {
        let mut sink = StoreSink::new(self, input);
        alerts.iter().try_for_each(|a| sink.alert(a))?;
        Ok(sink.finish()?.alerts)
    }
}
