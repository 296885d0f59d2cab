//! Alerts for the report site and the live UI: pages of alerts matching
//! a filter (time range, address, port, rule, severity), one alert in
//! full with its acknowledgement, and acknowledging.

use crate::report_queries::TimeRange;
use crate::store::{from_sql_u64, sql_u64};
use crate::tally::narrow;
use crate::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use tripline_core::Timestamp;

/// An alert row as the web pages list it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRow {
    /// Row id.
    pub id: i64,
    /// When.
    pub ts: Timestamp,
    /// Detector name.
    pub detector: String,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Revision.
    pub rev: u32,
    /// Severity (1 = high).
    pub severity: u8,
    /// Message (may carry network text: escape).
    pub msg: String,
    /// Category.
    pub category: String,
    /// Source address (canonical text).
    pub src: Option<String>,
    /// Source port.
    pub sport: Option<u16>,
    /// Destination address (canonical text).
    pub dst: Option<String>,
    /// Destination port.
    pub dport: Option<u16>,
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// Community ID.
    pub community_id: Option<String>,
    /// Detector-specific details, JSON text (hostile: escape).
    pub details: String,
    /// When an analyst acknowledged it, and who.
    pub acked: Option<(Timestamp, String)>,
}

/// Which alerts a page asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertQuery {
    /// Time range.
    pub range: TimeRange,
    /// Only this exact address as source or destination (CIDR filtering is
    /// done by the caller on the rows).
    pub addr: Option<String>,
    /// Only this destination port.
    pub port: Option<u16>,
    /// Only this detector or this signature id (digits).
    pub rule: Option<String>,
    /// Only this severity or worse (1 = high only).
    pub max_severity: Option<u8>,
    /// Rows to skip (pagination).
    pub offset: usize,
    /// Rows to return.
    pub limit: usize,
}

impl AlertQuery {
    /// Every alert in `range`, first page of `limit`.
    pub fn in_range(range: TimeRange, limit: usize) -> AlertQuery {
        AlertQuery {
            range,
            addr: None,
            port: None,
            rule: None,
            max_severity: None,
            offset: 0,
            limit,
        }
    }
}

type RawAlert = (
    i64,
    i64,
    String,
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    Option<i64>,
    Option<String>,
);

const ALERT_COLUMNS: &str = "a.id, a.ts_ns, a.detector, a.gid, a.sid, a.rev, a.severity, a.msg, \
     a.category, a.src, a.sport, a.dst, a.dport, a.protocol, a.community_id, a.details, \
     k.ts_ns, k.who";

fn raw_alert(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawAlert> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
        r.get(11)?,
        r.get(12)?,
        r.get(13)?,
        r.get(14)?,
        r.get(15)?,
        r.get(16)?,
        r.get(17)?,
    ))
}

fn alert_row(raw: RawAlert) -> AlertRow {
    let (id, ts, detector, gid, sid, rev, sev, msg, category, src, sport, dst, dport, proto) = (
        raw.0, raw.1, raw.2, raw.3, raw.4, raw.5, raw.6, raw.7, raw.8, raw.9, raw.10, raw.11,
        raw.12, raw.13,
    );
    AlertRow {
        id,
        ts: Timestamp(ts),
        detector,
        gid: narrow(gid),
        sid: narrow(sid),
        rev: narrow(rev),
        severity: narrow(sev),
        msg,
        category,
        src,
        sport: sport.map(narrow),
        dst,
        dport: dport.map(narrow),
        protocol: proto.map(narrow),
        community_id: raw.14,
        details: raw.15,
        acked: raw.16.map(|t| (Timestamp(t), raw.17.unwrap_or_default())),
    }
}

impl Store {
    /// Alerts matching `q`, oldest first, and how many match in all.
    pub fn alerts_page(&self, q: &AlertQuery) -> Result<(Vec<AlertRow>, u64), StoreError> {
        let rule_sid = q.rule.as_deref().and_then(|r| r.parse::<i64>().ok());
        let rule_detector = q.rule.as_deref().filter(|_| rule_sid.is_none());
        let cond = "a.ts_ns >= ?1 AND a.ts_ns < ?2 \
             AND (?3 IS NULL OR a.src = ?3 OR a.dst = ?3) \
             AND (?4 IS NULL OR a.dport = ?4) \
             AND (?5 IS NULL OR a.sid = ?5) AND (?6 IS NULL OR a.detector = ?6) \
             AND (?7 IS NULL OR a.severity <= ?7)";
        let p = params![
            q.range.from,
            q.range.to,
            q.addr,
            q.port,
            rule_sid,
            rule_detector,
            q.max_severity
        ];
        let total: i64 = self
            .conn
            .prepare_cached(&format!("SELECT count(*) FROM alerts a WHERE {cond}"))
            .and_then(|mut s| s.query_row(p, |r| r.get(0)))
            .map_err(self.sql_err("counting alerts"))?;
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN alert_acks k ON k.alert_id = a.id \
             WHERE {cond} ORDER BY a.ts_ns, a.id LIMIT ?8 OFFSET ?9"
        );
        let rows: Vec<RawAlert> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(
                    params![
                        q.range.from,
                        q.range.to,
                        q.addr,
                        q.port,
                        rule_sid,
                        rule_detector,
                        q.max_severity,
                        sql_u64(q.limit as u64),
                        sql_u64(q.offset as u64)
                    ],
                    raw_alert,
                )?
                .collect()
            })
            .map_err(self.sql_err("reading alerts"))?;
        Ok((
            rows.into_iter().map(alert_row).collect(),
            from_sql_u64(total),
        ))
    }

    /// One alert in full, `None` when there is no such id.
    pub fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts a LEFT JOIN alert_acks k ON k.alert_id = a.id \
             WHERE a.id = ?1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([id], raw_alert).optional())
            .map(|r| r.map(alert_row))
            .map_err(self.sql_err("reading an alert"))
    }

    /// Ids of every alert in `range`, oldest first, at most `limit`.
    pub fn alert_ids(&self, range: TimeRange, limit: usize) -> Result<Vec<i64>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT id FROM alerts WHERE ts_ns >= ?1 AND ts_ns < ?2 ORDER BY ts_ns, id LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(
                    params![range.from, range.to, sql_u64(limit as u64)],
                    |r| r.get(0),
                )?
                .collect()
            })
            .map_err(self.sql_err("listing alert ids"))
    }

    /// Records that an analyst acknowledged alert `id` (again: updates who
    /// and when). False when there is no such alert.
    pub fn acknowledge_alert(
        &self,
        id: i64,
        ts: Timestamp,
        who: &str,
        note: &str,
    ) -> Result<bool, StoreError> {
        let n = self
            .conn
            .prepare_cached(
                "INSERT INTO alert_acks (alert_id, ts_ns, who, note) \
                 SELECT id, ?2, ?3, ?4 FROM alerts WHERE id = ?1 \
                 ON CONFLICT(alert_id) DO UPDATE SET ts_ns = excluded.ts_ns, who = excluded.who, \
                 note = excluded.note",
            )
            .and_then(|mut s| s.execute(params![id, ts.0, who, note]))
            .map_err(self.sql_err("acknowledging an alert"))?;
        Ok(n > 0)
    }
}
