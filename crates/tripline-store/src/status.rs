//! The store-wide overview behind `tripline status` (psad `-S`): the most
//! dangerous sources, the most contacted ports, scan types, alerts by
//! detector and signature, and the latest alerts.

use crate::store::{from_sql_u64, sql_u64};
use crate::tally::narrow;
use crate::{
    AlertSummary, DetectorCount, PortCount, ScanTypeCount, Store, StoreError, TableCounts,
};
use rusqlite::params;
use std::net::IpAddr;
use tripline_core::Timestamp;

/// A source ranked by how dangerous its scanning became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceDanger {
    /// The source address.
    pub addr: IpAddr,
    /// Highest danger level in its scan alerts (0: alerts, but no scan).
    pub max_danger_level: u8,
    /// All its alerts, of every detector.
    pub alerts: u64,
    /// Its latest alert.
    pub last_seen: Timestamp,
}

/// Alerts of one signature (gid, sid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureCount {
    /// The detector.
    pub detector: String,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// The latest alert's message (from the network in part: escape it).
    pub msg: String,
    /// Alerts.
    pub alerts: u64,
    /// Distinct sources.
    pub sources: u64,
}

/// What `tripline status` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReport {
    /// Rows per table.
    pub counts: TableCounts,
    /// Sources by highest danger level, then number of alerts.
    pub top_sources_by_danger: Vec<SourceDanger>,
    /// Ports contacted by connections not originated from the home
    /// network (every direction but `outbound`), most connections first;
    /// `addresses` counts distinct sources.
    pub top_ports: Vec<PortCount>,
    /// Scan types named in scan alerts, most frequent first.
    pub scan_types: Vec<ScanTypeCount>,
    /// Alerts per detector.
    pub alerts_by_detector: Vec<DetectorCount>,
    /// Alerts per signature, most first.
    pub top_signatures: Vec<SignatureCount>,
    /// The latest alerts, newest first.
    pub recent_alerts: Vec<AlertSummary>,
}

impl Store {
    /// The overview, with at most `limit` entries in each ranked list.
    pub fn status(&self, limit: usize) -> Result<StatusReport, StoreError> {
        Ok(StatusReport {
            counts: self.counts(None)?,
            top_sources_by_danger: self.top_sources_by_danger(limit)?,
            top_ports: self.port_counts("direction <> ?1", "src", &"outbound", limit)?,
            scan_types: self.scan_type_counts(None)?,
            alerts_by_detector: self.detector_counts(None)?,
            top_signatures: self.top_signatures(limit)?,
            recent_alerts: self.recent_alerts(None, limit)?,
        })
    }

    fn top_sources_by_danger(&self, limit: usize) -> Result<Vec<SourceDanger>, StoreError> {
        let rows: Vec<(String, i64, i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT a.src, max(CASE WHEN a.detector = 'scan' AND json_valid(a.details) \
                 THEN coalesce(CAST(json_extract(a.details, '$.danger_level') AS INTEGER), 0) \
                 ELSE 0 END) AS dl, count(*) AS n, max(a.ts_ns) AS last \
                 FROM alerts a WHERE a.src IS NOT NULL GROUP BY a.src \
                 ORDER BY dl DESC, n DESC, last DESC, a.src LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map([sql_u64(limit as u64)], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("ranking sources by danger level"))?;
        rows.into_iter()
            .map(|(src, dl, n, last)| {
                Ok(SourceDanger {
                    addr: self.addr_column("alerts", &src)?,
                    max_danger_level: narrow(dl),
                    alerts: from_sql_u64(n),
                    last_seen: Timestamp(last),
                })
            })
            .collect()
    }

    fn top_signatures(&self, limit: usize) -> Result<Vec<SignatureCount>, StoreError> {
        // SQLite takes bare columns (`msg`) from the row holding max(ts_ns).
        self.conn
            .prepare_cached(
                "SELECT detector, gid, sid, msg, max(ts_ns), count(*), count(DISTINCT src) \
                 FROM alerts GROUP BY detector, gid, sid ORDER BY 6 DESC, 2, 3 LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map(params![sql_u64(limit as u64)], |r| {
                    Ok(SignatureCount {
                        detector: r.get(0)?,
                        gid: narrow(r.get::<_, i64>(1)?),
                        sid: narrow(r.get::<_, i64>(2)?),
                        msg: r.get(3)?,
                        alerts: from_sql_u64(r.get(5)?),
                        sources: from_sql_u64(r.get(6)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("counting alerts by signature"))
    }
}
