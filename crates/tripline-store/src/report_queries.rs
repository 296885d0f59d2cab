//! The read side of the report site and the live web UI: counts per hour,
//! time series for charts, the rows of one hour (alerts, talkers,
//! destinations, blocked lookups, port sweeps, links), one alert in full,
//! and the analyst's acknowledgements.
//!
//! Every list takes a `limit` so a page never holds more than it can show;
//! counts come from `GROUP BY` on the indexed time columns.

use crate::store::{from_sql_u64, sql_u64};
use crate::tally::narrow;
use crate::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use tripline_core::Timestamp;

/// Nanoseconds in one hour: the report's unit of time.
pub const HOUR_NS: i64 = 3_600_000_000_000;

/// A half-open time range `[from, to)` in nanoseconds since the epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeRange {
    /// First nanosecond included.
    pub from: i64,
    /// First nanosecond excluded.
    pub to: i64,
}

impl TimeRange {
    /// The hour that starts at `hour_start` (nanoseconds, a multiple of
    /// [`HOUR_NS`]).
    pub fn hour(hour_start: i64) -> TimeRange {
        TimeRange {
            from: hour_start,
            to: hour_start.saturating_add(HOUR_NS),
        }
    }

    /// Everything.
    pub const ALL: TimeRange = TimeRange {
        from: i64::MIN,
        to: i64::MAX,
    };
}

/// What happened in one hour.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HourCounts {
    /// Start of the hour, nanoseconds since the epoch.
    pub hour_start: i64,
    /// Alerts of severity 1, 2 and 3-or-lower.
    pub alerts_by_severity: [u64; 3],
    /// Connections that started in the hour.
    pub connections: u64,
    /// Scan alerts (`scan` detector).
    pub scans: u64,
    /// New destinations (`connwatch` alerts).
    pub new_destinations: u64,
}

impl HourCounts {
    /// Alerts of every severity.
    pub fn alerts(&self) -> u64 {
        self.alerts_by_severity.iter().sum()
    }
}

/// Connections in one time bucket, by direction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DirectionCounts {
    /// Start of the bucket (ns).
    pub bucket_start: i64,
    /// `inbound` connections.
    pub inbound: u64,
    /// `outbound` connections.
    pub outbound: u64,
    /// `internal` connections.
    pub internal: u64,
    /// Any other direction (`external`, unknown).
    pub other: u64,
}

/// An address and how many connections it had in a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrCount {
    /// The address (canonical text).
    pub addr: String,
    /// A DNS name that answered with it, when one is stored (hostile).
    pub name: Option<String>,
    /// Connections.
    pub connections: u64,
    /// Bytes, both directions.
    pub bytes: u64,
}

/// Packets one source sent to one destination port: a port-sweep dot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepPoint {
    /// Source address.
    pub src: String,
    /// Destination port.
    pub dport: u16,
    /// Packets the source sent to that port.
    pub packets: u64,
}

/// Connections from one source to one destination port: a link-graph edge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEdge {
    /// Source address.
    pub src: String,
    /// Destination address.
    pub dst: String,
    /// Destination port.
    pub dport: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Connections.
    pub connections: u64,
}

/// A DNS lookup that the resolver blocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedLookup {
    /// When.
    pub ts: Timestamp,
    /// The asking client, when logged.
    pub client: Option<String>,
    /// The name (hostile).
    pub name: String,
    /// Query type.
    pub qtype: String,
}

/// A block or unblock of an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockRow {
    /// When.
    pub ts: Timestamp,
    /// `block` or `unblock`.
    pub action: String,
    /// Backend that enforced it.
    pub backend: String,
    /// When it expires, if it does.
    pub expires: Option<Timestamp>,
    /// Raised by a detector (true) or an analyst.
    pub automatic: bool,
    /// Why.
    pub reason: String,
}

impl Store {
    /// Counts per hour in `range`, oldest first; hours with nothing are
    /// left out.
    pub fn hour_counts(&self, range: TimeRange) -> Result<Vec<HourCounts>, StoreError> {
        let mut hours: std::collections::BTreeMap<i64, HourCounts> = Default::default();
        let conns: Vec<(i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT start_ns / ?1 AS h, count(*) FROM connections \
                 WHERE start_ns >= ?2 AND start_ns < ?3 GROUP BY h ORDER BY h",
            )
            .and_then(|mut s| {
                s.query_map(params![HOUR_NS, range.from, range.to], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("connections per hour"))?;
        for (h, n) in conns {
            let e = hours.entry(h).or_default();
            e.connections = from_sql_u64(n);
        }
        let alerts: Vec<(i64, i64, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT ts_ns / ?1 AS h, min(max(severity, 1), 3), detector, count(*) FROM alerts \
                 WHERE ts_ns >= ?2 AND ts_ns < ?3 GROUP BY h, 2, detector",
            )
            .and_then(|mut s| {
                s.query_map(params![HOUR_NS, range.from, range.to], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("alerts per hour"))?;
        for (h, sev, detector, n) in alerts {
            let e = hours.entry(h).or_default();
            let n = from_sql_u64(n);
            let slot = usize::try_from(sev - 1).unwrap_or(0).min(2);
            e.alerts_by_severity[slot] += n;
            match detector.as_str() {
                "scan" => e.scans += n,
                "connwatch" => e.new_destinations += n,
                _ => {}
            }
        }
        Ok(hours
            .into_iter()
            .map(|(h, mut c)| {
                c.hour_start = h.saturating_mul(HOUR_NS);
                c
            })
            .collect())
    }

    /// Connections per `bucket_ns` in `range`, by direction, oldest first.
    pub fn connections_by_direction(
        &self,
        range: TimeRange,
        bucket_ns: i64,
    ) -> Result<Vec<DirectionCounts>, StoreError> {
        let bucket_ns = bucket_ns.max(1);
        let rows: Vec<(i64, String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT start_ns / ?3 AS b, direction, count(*) FROM connections \
                 WHERE start_ns >= ?1 AND start_ns < ?2 GROUP BY b, direction ORDER BY b",
            )
            .and_then(|mut s| {
                s.query_map(params![range.from, range.to, bucket_ns], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("connections by direction"))?;
        let mut out: Vec<DirectionCounts> = Vec::new();
        for (b, dir, n) in rows {
            let start = b.saturating_mul(bucket_ns);
            if out.last().is_none_or(|l| l.bucket_start != start) {
                out.push(DirectionCounts {
                    bucket_start: start,
                    ..Default::default()
                });
            }
            if let Some(l) = out.last_mut() {
                let n = from_sql_u64(n);
                match dir.as_str() {
                    "inbound" => l.inbound += n,
                    "outbound" => l.outbound += n,
                    "internal" => l.internal += n,
                    _ => l.other += n,
                }
            }
        }
        Ok(out)
    }

    /// Alerts per `bucket_ns` in `range` by severity (1, 2, 3-or-lower),
    /// as `(bucket start, counts)`, oldest first.
    pub fn alerts_by_severity(
        &self,
        range: TimeRange,
        bucket_ns: i64,
    ) -> Result<Vec<(i64, [u64; 3])>, StoreError> {
        let bucket_ns = bucket_ns.max(1);
        let rows: Vec<(i64, i64, i64)> = self
            .conn
            .prepare_cached(
                "SELECT ts_ns / ?3 AS b, min(max(severity, 1), 3), count(*) FROM alerts \
                 WHERE ts_ns >= ?1 AND ts_ns < ?2 GROUP BY b, 2 ORDER BY b",
            )
            .and_then(|mut s| {
                s.query_map(params![range.from, range.to, bucket_ns], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("alerts by severity"))?;
        let mut out: Vec<(i64, [u64; 3])> = Vec::new();
        for (b, sev, n) in rows {
            let start = b.saturating_mul(bucket_ns);
            if out.last().is_none_or(|l| l.0 != start) {
                out.push((start, [0; 3]));
            }
            if let Some(l) = out.last_mut() {
                l.1[usize::try_from(sev - 1).unwrap_or(0).min(2)] += from_sql_u64(n);
            }
        }
        Ok(out)
    }

    /// The `limit` busiest originators in `range` by connections.
    pub fn talkers_in(&self, range: TimeRange, limit: usize) -> Result<Vec<AddrCount>, StoreError> {
        self.addr_counts("src", range, limit)
    }

    /// The `limit` most contacted destinations in `range`, with a DNS name
    /// that answered with each when one is stored.
    pub fn destinations_in(
        &self,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<AddrCount>, StoreError> {
        let mut rows = self.addr_counts("dst", range, limit)?;
        for r in &mut rows {
            r.name = self.name_for(&r.addr)?;
        }
        Ok(rows)
    }

    fn addr_counts(
        &self,
        column: &'static str,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<AddrCount>, StoreError> {
        let sql = format!(
            "SELECT {column}, count(*) AS n, total(orig_bytes) + total(resp_bytes) FROM connections \
             WHERE start_ns >= ?1 AND start_ns < ?2 GROUP BY {column} ORDER BY n DESC, {column} LIMIT ?3"
        );
        self.conn
            .prepare_cached(&sql)
            .and_then(|mut s| {
                s.query_map(params![range.from, range.to, sql_u64(limit as u64)], |r| {
                    Ok(AddrCount {
                        addr: r.get(0)?,
                        name: None,
                        connections: from_sql_u64(r.get(1)?),
                        bytes: r.get::<_, f64>(2)?.max(0.0) as u64,
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("counting connections per address"))
    }

    /// The most recent DNS name whose answer held `addr`.
    pub fn name_for(&self, addr: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT a.name FROM dns_answers a JOIN dns d ON d.id = a.dns_id \
                 WHERE a.data = ?1 AND a.kind = 'addr' ORDER BY d.ts_ns DESC LIMIT 1",
            )
            .and_then(|mut s| s.query_row([addr], |r| r.get(0)).optional())
            .map_err(self.sql_err("naming an address"))
    }

    /// The `limit` (source, destination port) pairs with the most packets
    /// sent in `range`: the dots of a port-sweep scatter.
    pub fn sweep_points(
        &self,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<SweepPoint>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT src, dport, total(orig_packets) AS p FROM connections \
                 WHERE start_ns >= ?1 AND start_ns < ?2 GROUP BY src, dport \
                 ORDER BY p DESC, src, dport LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(params![range.from, range.to, sql_u64(limit as u64)], |r| {
                    Ok(SweepPoint {
                        src: r.get(0)?,
                        dport: narrow(r.get(1)?),
                        packets: r.get::<_, f64>(2)?.max(0.0) as u64,
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("port sweep points"))
    }

    /// The `limit` busiest (source, destination, port) links in `range`.
    pub fn links_in(&self, range: TimeRange, limit: usize) -> Result<Vec<LinkEdge>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT src, dst, dport, protocol, count(*) AS n FROM connections \
                 WHERE start_ns >= ?1 AND start_ns < ?2 GROUP BY src, dst, dport, protocol \
                 ORDER BY n DESC, src, dst, dport LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(params![range.from, range.to, sql_u64(limit as u64)], |r| {
                    Ok(LinkEdge {
                        src: r.get(0)?,
                        dst: r.get(1)?,
                        dport: narrow(r.get(2)?),
                        protocol: narrow(r.get(3)?),
                        connections: from_sql_u64(r.get(4)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("links"))
    }

    /// Lookups the resolver blocked in `range`, oldest first, at most `limit`.
    pub fn blocked_lookups(
        &self,
        range: TimeRange,
        limit: usize,
    ) -> Result<Vec<BlockedLookup>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT ts_ns, client, name, qtype FROM dns WHERE blocked != 0 \
                 AND ts_ns >= ?1 AND ts_ns < ?2 ORDER BY ts_ns, id LIMIT ?3",
            )
            .and_then(|mut s| {
                s.query_map(params![range.from, range.to, sql_u64(limit as u64)], |r| {
                    Ok(BlockedLookup {
                        ts: Timestamp(r.get(0)?),
                        client: r.get(1)?,
                        name: r.get(2)?,
                        qtype: r.get(3)?,
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("blocked lookups"))
    }

    /// Blocks and unblocks of `addr`, newest first, at most `limit`.
    pub fn blocks_for(&self, addr: &str, limit: usize) -> Result<Vec<BlockRow>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT ts_ns, action, backend, expires_ns, automatic, reason FROM blocks \
                 WHERE address = ?1 ORDER BY ts_ns DESC, id DESC LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![addr, sql_u64(limit as u64)], |r| {
                    Ok(BlockRow {
                        ts: Timestamp(r.get(0)?),
                        action: r.get(1)?,
                        backend: r.get(2)?,
                        expires: r.get::<_, Option<i64>>(3)?.map(Timestamp),
                        automatic: r.get::<_, i64>(4)? != 0,
                        reason: r.get(5)?,
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("reading blocks"))
    }

    /// The nearest hours before and after the hour starting at
    /// `hour_start` that hold a connection or an alert.
    pub fn adjacent_hours(
        &self,
        hour_start: i64,
    ) -> Result<(Option<i64>, Option<i64>), StoreError> {
        let end = hour_start.saturating_add(HOUR_NS);
        let one = |sql: &str, at: i64| -> Result<Option<i64>, StoreError> {
            self.conn
                .prepare_cached(sql)
                .and_then(|mut s| s.query_row([at], |r| r.get::<_, Option<i64>>(0)))
                .map_err(self.sql_err("finding adjacent hours"))
        };
        let before = [
            one(
                "SELECT max(start_ns) FROM connections WHERE start_ns < ?1",
                hour_start,
            )?,
            one("SELECT max(ts_ns) FROM alerts WHERE ts_ns < ?1", hour_start)?,
        ];
        let after = [
            one(
                "SELECT min(start_ns) FROM connections WHERE start_ns >= ?1",
                end,
            )?,
            one("SELECT min(ts_ns) FROM alerts WHERE ts_ns >= ?1", end)?,
        ];
        let floor = |ns: i64| ns.div_euclid(HOUR_NS) * HOUR_NS;
        Ok((
            before.into_iter().flatten().max().map(floor),
            after.into_iter().flatten().min().map(floor),
        ))
    }

    /// Source addresses worth a page: alert sources (most alerts first),
    /// then the busiest originators, at most `limit` in all.
    pub fn report_sources(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT src FROM (SELECT src, count(*) AS a, 0 AS c FROM alerts \
                 WHERE src IS NOT NULL GROUP BY src \
                 UNION ALL SELECT src, 0, count(*) FROM connections GROUP BY src) \
                 GROUP BY src ORDER BY sum(a) DESC, sum(c) DESC, src LIMIT ?1",
            )
            .and_then(|mut s| {
                s.query_map([sql_u64(limit as u64)], |r| r.get(0))?
                    .collect()
            })
            .map_err(self.sql_err("listing sources"))
    }
}

#[cfg(test)]
#[path = "report_queries_tests.rs"]
mod tests;
