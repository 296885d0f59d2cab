//! What the notify output did with each alert: the `notifications` table.
//!
//! One row per alert a channel handled — sent, failed, suppressed (and
//! why) or folded into a digest — plus one row per digest delivered, so
//! noise control never hides an alert silently: `sent + failed +
//! suppressed + digested` of a channel's alert rows equals the alerts it saw.

use crate::{Store, StoreError};
use rusqlite::params;
use std::fmt::Write as _;
use std::net::IpAddr;
use tripline_core::Timestamp;

/// What happened to one alert on one channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotificationOutcome {
    /// Delivered to the channel's peer.
    Sent,
    /// Delivery was tried and failed (after the channel's retries).
    Failed,
    /// Not delivered, on purpose (the reason says which rule).
    Suppressed,
    /// Held back and counted in a digest instead.
    Digested,
}

impl NotificationOutcome {
    /// The word stored in the `outcome` column.
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationOutcome::Sent => "sent",
            NotificationOutcome::Failed => "failed",
            NotificationOutcome::Suppressed => "suppressed",
            NotificationOutcome::Digested => "digested",
        }
    }

    /// Parses a stored `outcome` word.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sent" => NotificationOutcome::Sent,
            "failed" => NotificationOutcome::Failed,
            "suppressed" => NotificationOutcome::Suppressed,
            "digested" => NotificationOutcome::Digested,
            _ => return None,
        })
    }
}

/// Which stored alert a notification row is about: its time, signature id
/// and source, the columns the `alerts` row is found by when the row is
/// written (the alert is stored before it is notified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlertRef {
    /// The alert's time.
    pub ts: Timestamp,
    /// Its generator id.
    pub gid: u32,
    /// Its signature id.
    pub sid: u32,
}

/// One row of the `notifications` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationRow {
    /// When it happened, in alert time (the alert's timestamp; for a digest,
    /// the time it was flushed).
    pub ts: Timestamp,
    /// The channel (`email`, `syslog`, `webhook`, `exec`).
    pub channel: &'static str,
    /// The alert it is about (`None` for a digest delivery).
    pub alert: Option<AlertRef>,
    /// The alert's source address.
    pub src: Option<IpAddr>,
    /// What happened.
    pub outcome: NotificationOutcome,
    /// Why (`first`, `rise`, `episode`, `source_rate`, `global_rate`,
    /// `quiet_hours`, `min_severity`, `queue_full`, `digest`, ...).
    pub reason: &'static str,
    /// Free text: the delivery error, the digest size (bounded by the writer).
    pub detail: String,
}

/// Rows per channel and outcome, as [`Store::notification_counts`] returns them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotificationCount {
    /// The channel.
    pub channel: String,
    /// The outcome word.
    pub outcome: String,
    /// The reason.
    pub reason: String,
    /// Rows.
    pub rows: u64,
}

/// The longest `detail` stored, in bytes.
pub const MAX_NOTIFICATION_DETAIL: usize = 512;

fn bounded(s: &str) -> &str {
    if s.len() <= MAX_NOTIFICATION_DETAIL {
        return s;
    }
    let mut end = MAX_NOTIFICATION_DETAIL;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Store {
    /// Writes notification rows in one transaction, linking each to its
    /// stored alert (the latest alert row with the same time, signature and
    /// source; none when the alert was not stored). Returns the rows written.
    pub fn insert_notifications(&mut self, rows: &[NotificationRow]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let err = self.sql_err("storing notifications");
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut find = tx
                .prepare_cached(
                    // The unary `+` keeps the planner on the alerts_ts index: a
                    // storm of one signature makes (gid, sid) useless as a key.
                    "SELECT max(id) FROM alerts WHERE ts_ns = ?1 AND +gid = ?2 AND +sid = ?3 \
                     AND +src IS ?4",
                )
                .map_err(&err)?;
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO notifications (ts_ns, channel, alert_id, src, outcome, reason, detail) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(&err)?;
            let mut src_text = String::new();
            for row in rows {
                src_text.clear();
                if let Some(src) = row.src {
                    // Writing to a String cannot fail.
                    let _ = write!(src_text, "{src}");
                }
                let src = row.src.map(|_| src_text.as_str());
                let alert_id: Option<i64> = match row.alert {
                    Some(a) => find
                        .query_row(params![a.ts.0, a.gid, a.sid, src], |r| r.get(0))
                        .map_err(&err)?,
                    None => None,
                };
                insert
                    .execute(params![
                        row.ts.0,
                        row.channel,
                        alert_id,
                        src,
                        row.outcome.as_str(),
                        row.reason,
                        bounded(&row.detail),
                    ])
                    .map_err(&err)?;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(rows.len() as u64)
    }

    /// Notification rows by channel, outcome and reason (all channels when
    /// `channel` is `None`), in that order.
    pub fn notification_counts(
        &self,
        channel: Option<&str>,
    ) -> Result<Vec<NotificationCount>, StoreError> {
        let err = self.sql_err("counting notifications");
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT channel, outcome, reason, count(*) FROM notifications \
                 WHERE ?1 IS NULL OR channel = ?1 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map([channel], |r| {
                Ok(NotificationCount {
                    channel: r.get(0)?,
                    outcome: r.get(1)?,
                    reason: r.get(2)?,
                    rows: crate::store::from_sql_u64(r.get(3)?),
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::{Alert, Severity};

    fn alert(ts: i64, src: &str) -> Alert {
        Alert {
            src: Some(src.parse().unwrap()),
            ..Alert::new(Timestamp(ts), "scan", 1, 7, "scan", Severity::MEDIUM)
        }
    }

    #[test]
    fn rows_link_to_their_alert_and_are_counted() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .insert_alerts(None, &[alert(5, "192.0.2.1"), alert(6, "192.0.2.2")])
            .unwrap();
        let row = |ts: i64, src: &str, outcome, reason| NotificationRow {
            ts: Timestamp(ts),
            channel: "syslog",
            alert: Some(AlertRef {
                ts: Timestamp(ts),
                gid: 1,
                sid: 7,
            }),
            src: Some(src.parse().unwrap()),
            outcome,
            reason,
            detail: "x".repeat(2000),
        };
        let n = store
            .insert_notifications(&[
                row(5, "192.0.2.1", NotificationOutcome::Sent, "first"),
                row(6, "192.0.2.2", NotificationOutcome::Suppressed, "episode"),
                row(9, "192.0.2.9", NotificationOutcome::Digested, "quiet_hours"),
            ])
            .unwrap();
        assert_eq!(n, 3);
        let linked: Vec<(Option<i64>, i64)> = store
            .conn
            .prepare("SELECT alert_id, length(detail) FROM notifications ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(linked[0].0, Some(1));
        assert_eq!(linked[1].0, Some(2));
        assert_eq!(linked[2].0, None, "no stored alert at ts 9");
        assert!(
            linked
                .iter()
                .all(|(_, len)| *len == MAX_NOTIFICATION_DETAIL as i64)
        );
        let counts = store.notification_counts(Some("syslog")).unwrap();
        assert_eq!(counts.len(), 3);
        assert_eq!(counts[0].outcome, "digested");
        assert!(store.notification_counts(Some("email")).unwrap().is_empty());
        assert_eq!(
            NotificationOutcome::parse("sent"),
            Some(NotificationOutcome::Sent)
        );
        assert_eq!(NotificationOutcome::parse("bogus"), None);
    }
}
