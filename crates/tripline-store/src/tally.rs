//! The counted things `status` and source profiles share: ports, scan
//! types, detectors and alert summaries, and the queries that produce them
//! for the whole store or for one source address.

use crate::store::{from_sql_u64, sql_u64};
use crate::{Store, StoreError};
use rusqlite::{ToSql, params};
use std::net::IpAddr;
use tripline_core::Timestamp;

/// `details` when it is valid JSON, else an empty object, so one damaged
/// row does not fail a whole report (`json_each` raises on bad JSON).
const DETAILS: &str = "CASE WHEN json_valid(a.details) THEN a.details ELSE '{}' END";

/// The IP protocols whose "port" is a port (TCP, UDP, SCTP).
const PORT_PROTOCOLS: &str = "(6, 17, 132)";

/// A destination port and how much it was contacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortCount {
    /// The destination port.
    pub port: u16,
    /// IP protocol number (6 TCP, 17 UDP, 132 SCTP).
    pub protocol: u8,
    /// Distinct addresses on the other side: sources in the store-wide
    /// status, targets in one source's profile.
    pub addresses: u64,
    /// Connections to the port.
    pub connections: u64,
}

/// How often a scan type was named in scan alerts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScanTypeCount {
    /// The scan type as the scan detector names it (`SYN`, `FIN`, `XMAS`...).
    pub scan_type: String,
    /// Scan alerts that named it.
    pub alerts: u64,
    /// Distinct sources of those alerts.
    pub sources: u64,
}

/// Alerts raised by one detector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectorCount {
    /// The detector (`scan`, `tripwire`, `connwatch`, `signature`...).
    pub detector: String,
    /// Its alerts.
    pub alerts: u64,
}

/// One alert, as a report line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSummary {
    /// Row id.
    pub id: i64,
    /// When it happened.
    pub ts: Timestamp,
    /// The detector that raised it.
    pub detector: String,
    /// Generator id.
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Severity (1 = high).
    pub severity: u8,
    /// Source address.
    pub src: Option<IpAddr>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// Destination port.
    pub dport: Option<u16>,
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// The message (from the network in part: escape before printing).
    pub msg: String,
}

/// Clamps a stored integer into a narrower unsigned type (out-of-range
/// values, which the store never writes, read as zero).
pub(crate) fn narrow<T: TryFrom<i64> + Default>(v: i64) -> T {
    T::try_from(v).unwrap_or_default()
}

/// The `WHERE` restriction on `a.src` for an optional source, and its
/// parameter.
fn by_source(src: Option<&str>) -> (&'static str, Option<&str>) {
    match src {
        Some(s) => ("a.src = ?1", Some(s)),
        None => ("?1 IS NULL", None),
    }
}

impl Store {
    /// Parses an address column, naming the table when it does not decode.
    pub(crate) fn addr_column(
        &self,
        table: &'static str,
        text: &str,
    ) -> Result<IpAddr, StoreError> {
        text.parse()
            .map_err(|_| self.corrupt(table, -1, format!("{text:?} is not an address")))
    }

    /// Scan types named in scan alerts (of one source, or all), most
    /// frequent first.
    pub(crate) fn scan_type_counts(
        &self,
        src: Option<&str>,
    ) -> Result<Vec<ScanTypeCount>, StoreError> {
        let (cond, p) = by_source(src);
        let sql = format!(
            "SELECT j.value, count(*), count(DISTINCT a.src) FROM alerts a, \
             json_each({DETAILS}, '$.scan_types') j \
             WHERE {cond} AND a.detector = 'scan' AND j.type = 'text' \
             GROUP BY j.value ORDER BY 2 DESC, 1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map([p], |r| {
                    Ok(ScanTypeCount {
                        scan_type: r.get(0)?,
                        alerts: from_sql_u64(r.get(1)?),
                        sources: from_sql_u64(r.get(2)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("counting scan types"))
    }

    /// Alerts per detector (of one source, or all), most first.
    pub(crate) fn detector_counts(
        &self,
        src: Option<&str>,
    ) -> Result<Vec<DetectorCount>, StoreError> {
        let (cond, p) = by_source(src);
        let sql = format!(
            "SELECT a.detector, count(*) FROM alerts a WHERE {cond} \
             GROUP BY a.detector ORDER BY 2 DESC, 1"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map([p], |r| {
                    Ok(DetectorCount {
                        detector: r.get(0)?,
                        alerts: from_sql_u64(r.get(1)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("counting alerts by detector"))
    }

    /// The `limit` most recent alerts (of one source, or all), newest first.
    pub(crate) fn recent_alerts(
        &self,
        src: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AlertSummary>, StoreError> {
        let (cond, p) = by_source(src);
        let sql = format!(
            "SELECT a.id, a.ts_ns, a.detector, a.gid, a.sid, a.severity, a.src, a.dst, a.dport, \
             a.protocol, a.msg FROM alerts a WHERE {cond} ORDER BY a.ts_ns DESC, a.id DESC LIMIT ?2"
        );
        type Raw = (
            i64,
            i64,
            String,
            i64,
            i64,
            i64,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            String,
        );
        let rows: Vec<Raw> = self
            .conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![p, sql_u64(limit as u64)], |r| {
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
                    ))
                })?
                .collect()
            })
            .map_err(self.sql_err("reading recent alerts"))?;
        rows.into_iter()
            .map(
                |(id, ts, detector, gid, sid, sev, src, dst, dport, proto, msg)| {
                    let addr = |t: Option<String>| -> Result<Option<IpAddr>, StoreError> {
                        t.map(|t| {
                            t.parse().map_err(|_| {
                                self.corrupt("alerts", id, format!("{t:?} is not an address"))
                            })
                        })
                        .transpose()
                    };
                    Ok(AlertSummary {
                        id,
                        ts: Timestamp(ts),
                        detector,
                        gid: narrow(gid),
                        sid: narrow(sid),
                        severity: narrow(sev),
                        src: addr(src)?,
                        dst: addr(dst)?,
                        dport: dport.map(narrow),
                        protocol: proto.map(narrow),
                        msg,
                    })
                },
            )
            .collect()
    }

    /// Destination ports ranked by connections (ties: more distinct peers),
    /// at most `limit`. `sql_where` restricts `connections`; `peer` is the
    /// column counted as the other side.
    pub(crate) fn port_counts(
        &self,
        sql_where: &str,
        peer: &str,
        param: &dyn ToSql,
        limit: usize,
    ) -> Result<Vec<PortCount>, StoreError> {
        let sql = format!(
            "SELECT dport, protocol, count(DISTINCT {peer}), count(*) FROM connections \
             WHERE {sql_where} AND protocol IN {PORT_PROTOCOLS} \
             GROUP BY dport, protocol ORDER BY 4 DESC, 3 DESC, dport, protocol LIMIT ?2"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![param, sql_u64(limit as u64)], |r| {
                    Ok(PortCount {
                        port: narrow(r.get::<_, i64>(0)?),
                        protocol: narrow(r.get::<_, i64>(1)?),
                        addresses: from_sql_u64(r.get(2)?),
                        connections: from_sql_u64(r.get(3)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("counting ports"))
    }

    /// How many distinct (port, protocol) pairs match `sql_where`.
    pub(crate) fn distinct_ports(
        &self,
        sql_where: &str,
        param: &dyn ToSql,
    ) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT count(*) FROM (SELECT 1 FROM connections WHERE {sql_where} \
             AND protocol IN {PORT_PROTOCOLS} GROUP BY dport, protocol)"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| s.query_row([param], |r| r.get(0)))
            .map(from_sql_u64)
            .map_err(self.sql_err("counting distinct ports"))
    }
}
