//! The `blocks` table: every block and unblock tripline made, with its
//! reason, backend and expiry, so `tripline blocks` can show the history and
//! an operator can see why an address was cut off. (The web report reads
//! the same table through `Store::blocks_for`.)

use crate::error::StoreError;
use crate::store::Store;
use rusqlite::params;
use std::net::IpAddr;
use tripline_core::Timestamp;

/// Block or unblock.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockAction {
    /// The address was put into the block set.
    Block,
    /// The address was taken out of the block set.
    Unblock,
}

impl BlockAction {
    /// The word stored in the `action` column.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockAction::Block => "block",
            BlockAction::Unblock => "unblock",
        }
    }

    fn parse(s: &str) -> Option<BlockAction> {
        match s {
            "block" => Some(BlockAction::Block),
            "unblock" => Some(BlockAction::Unblock),
            _ => None,
        }
    }
}

/// One row of the `blocks` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRecord {
    /// When it was done.
    pub ts: Timestamp,
    /// Block or unblock.
    pub action: BlockAction,
    /// The address.
    pub address: IpAddr,
    /// When the block ends by itself (`None`: permanent, or an unblock).
    pub expires: Option<Timestamp>,
    /// The firewall backend used (`nft`, `ipset`).
    pub backend: String,
    /// True when tripline decided on its own (automatic response).
    pub automatic: bool,
    /// Why: the operator's text or the alert that caused it.
    pub reason: String,
}

impl Store {
    /// Records one block or unblock; returns its row id.
    pub fn record_block(&self, row: &BlockRecord) -> Result<i64, StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO blocks (ts_ns, action, address, expires_ns, backend, automatic, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    row.ts.0,
                    row.action.as_str(),
                    row.address.to_canonical().to_string(),
                    row.expires.map(|t| t.0),
                    row.backend,
                    row.automatic,
                    row.reason,
                ])
            })
            .map_err(|e| self.sql_error("recording a block", e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The most recent `limit` blocks and unblocks, newest first; only those
    /// of `address` when given.
    pub fn recent_blocks(
        &self,
        address: Option<IpAddr>,
        limit: usize,
    ) -> Result<Vec<BlockRecord>, StoreError> {
        let err = self.sql_err("reading blocks");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, ts_ns, action, address, expires_ns, backend, automatic, reason
                 FROM blocks WHERE (?1 IS NULL OR address = ?1)
                 ORDER BY ts_ns DESC, id DESC LIMIT ?2",
            )
            .map_err(&err)?;
        let addr = address.map(|a| a.to_canonical().to_string());
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(params![addr, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, bool>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, ts, action, address, expires, backend, automatic, reason) =
                row.map_err(&err)?;
            let action = BlockAction::parse(&action)
                .ok_or_else(|| self.corrupt("blocks", id, format!("unknown action {action:?}")))?;
            let address = address
                .parse()
                .map_err(|_| self.corrupt("blocks", id, format!("bad address {address:?}")))?;
            out.push(BlockRecord {
                ts: Timestamp(ts),
                action,
                address,
                expires: expires.map(Timestamp),
                backend,
                automatic,
                reason,
            });
        }
        Ok(out)
    }

    /// The block of `address` in force at `now` according to this table:
    /// its newest row when that is a block that has not expired, else `None`
    /// (never blocked, unblocked since, or timed out).
    pub fn block_state(
        &self,
        address: IpAddr,
        now: Timestamp,
    ) -> Result<Option<BlockRecord>, StoreError> {
        let newest = self.recent_blocks(Some(address), 1)?.into_iter().next();
        Ok(newest.filter(|r| {
            r.action == BlockAction::Block && r.expires.is_none_or(|until| until > now)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_newest_first_and_filter_by_address() {
        let store = Store::open_in_memory().unwrap();
        let a: IpAddr = "203.0.113.9".parse().unwrap();
        let b: IpAddr = "2001:db8::7".parse().unwrap();
        let row = |ts, action, address, automatic| BlockRecord {
            ts: Timestamp(ts),
            action,
            address,
            expires: (action == BlockAction::Block).then_some(Timestamp(ts + 600)),
            backend: "nft".into(),
            automatic,
            reason: format!("test {ts}"),
        };
        store
            .record_block(&row(1, BlockAction::Block, a, true))
            .unwrap();
        store
            .record_block(&row(2, BlockAction::Block, b, false))
            .unwrap();
        store
            .record_block(&row(3, BlockAction::Unblock, a, false))
            .unwrap();
        let all = store.recent_blocks(None, 10).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0], row(3, BlockAction::Unblock, a, false));
        assert_eq!(all[2], row(1, BlockAction::Block, a, true));
        let only_b = store.recent_blocks(Some(b), 10).unwrap();
        assert_eq!(only_b, vec![row(2, BlockAction::Block, b, false)]);
        assert_eq!(store.recent_blocks(None, 1).unwrap().len(), 1);
        // IPv4-mapped IPv6 is stored as the IPv4 address it is.
        let mapped: IpAddr = "::ffff:203.0.113.9".parse().unwrap();
        assert_eq!(store.recent_blocks(Some(mapped), 10).unwrap().len(), 2);
    }

    #[test]
    fn block_state_follows_the_newest_row_and_expiry() {
        let store = Store::open_in_memory().unwrap();
        let a: IpAddr = "198.51.100.4".parse().unwrap();
        let rec = |ts, action, expires: Option<i64>| BlockRecord {
            ts: Timestamp(ts),
            action,
            address: a,
            expires: expires.map(Timestamp),
            backend: "nft".into(),
            automatic: false,
            reason: "web UI".into(),
        };
        assert_eq!(store.block_state(a, Timestamp(5)).unwrap(), None);
        let timed = rec(10, BlockAction::Block, Some(100));
        store.record_block(&timed).unwrap();
        assert_eq!(store.block_state(a, Timestamp(50)).unwrap(), Some(timed));
        // Timed out in the kernel: no longer in force.
        assert_eq!(store.block_state(a, Timestamp(100)).unwrap(), None);
        store
            .record_block(&rec(20, BlockAction::Unblock, None))
            .unwrap();
        assert_eq!(store.block_state(a, Timestamp(50)).unwrap(), None);
        let permanent = rec(30, BlockAction::Block, None);
        store.record_block(&permanent).unwrap();
        assert_eq!(
            store.block_state(a, Timestamp(i64::MAX)).unwrap(),
            Some(permanent)
        );
        let other: IpAddr = "198.51.100.5".parse().unwrap();
        assert_eq!(store.block_state(other, Timestamp(50)).unwrap(), None);
    }
}
