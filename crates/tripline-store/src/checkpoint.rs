//! Follow-mode checkpoints: how far into which file a followed log was read.

use crate::store::{from_sql_u64, now, sql_u64};
use crate::{Store, StoreError};
use rusqlite::{OptionalExtension, params};

/// Where reading a followed log stopped, and how to recognise the same file
/// again (inode plus a hash of its first line, so rotation by rename or by
/// truncation is noticed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The followed path.
    pub path: String,
    /// Inode of the file that was being read.
    pub inode: u64,
    /// Byte offset of the next unread byte.
    pub offset: u64,
    /// Hash of the file's first line.
    pub fingerprint: String,
}

impl Store {
    /// Saves (replaces) the checkpoint for `cp.path`.
    pub fn save_checkpoint(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(
                "INSERT INTO checkpoints (path, inode, offset, fingerprint, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (path) DO UPDATE SET inode = excluded.inode, offset = excluded.offset, \
                 fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
            )
            .and_then(|mut s| {
                s.execute(params![cp.path, sql_u64(cp.inode), sql_u64(cp.offset), cp.fingerprint, now().0])
            })
            .map(drop)
            .map_err(self.sql_err("saving checkpoint"))
    }

    /// The saved checkpoint for `path`, if any.
    pub fn load_checkpoint(&self, path: &str) -> Result<Option<Checkpoint>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT path, inode, offset, fingerprint FROM checkpoints WHERE path = ?1",
            )
            .and_then(|mut s| {
                s.query_row([path], |r| {
                    Ok(Checkpoint {
                        path: r.get(0)?,
                        inode: from_sql_u64(r.get(1)?),
                        offset: from_sql_u64(r.get(2)?),
                        fingerprint: r.get(3)?,
                    })
                })
                .optional()
            })
            .map_err(self.sql_err("loading checkpoint"))
    }

    /// Forgets the checkpoint for `path`; returns whether there was one.
    pub fn remove_checkpoint(&self, path: &str) -> Result<bool, StoreError> {
        self.conn
            .execute("DELETE FROM checkpoints WHERE path = ?1", [path])
            .map(|n| n > 0)
            .map_err(self.sql_err("removing checkpoint"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_replace() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cp.db");
        let mut cp = Checkpoint {
            path: "/var/log/kern.log".into(),
            inode: u64::from(u32::MAX) + 7,
            offset: 123_456,
            fingerprint: "da39a3ee".into(),
        };
        {
            let store = Store::open(&db).unwrap();
            assert_eq!(store.load_checkpoint(&cp.path).unwrap(), None);
            store.save_checkpoint(&cp).unwrap();
            cp.offset = 200_000;
            store.save_checkpoint(&cp).unwrap();
        }
        let store = Store::open(&db).unwrap();
        assert_eq!(store.load_checkpoint(&cp.path).unwrap(), Some(cp.clone()));
        assert_eq!(store.load_checkpoint("/var/log/other").unwrap(), None);
        assert!(store.remove_checkpoint(&cp.path).unwrap());
        assert!(!store.remove_checkpoint(&cp.path).unwrap());
    }
}
