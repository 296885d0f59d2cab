//! One source address's profile, built from the stored rows: when it was
//! seen, how dangerous its scans became and when, what it touched, what it
//! was looked up as, its OS guess, its alerts and its logins.
//!
//! Nothing is kept per source beyond the rows themselves: the profile is a
//! handful of indexed queries (`connections.src`, `alerts.src`,
//! `auth.src`, `dns_answers.data`) run when asked.

use crate::store::{from_sql_u64, sql_u64};
use crate::tally::narrow;
use crate::{AlertSummary, DetectorCount, PortCount, ScanTypeCount, Store, StoreError};
use rusqlite::params;
use std::net::IpAddr;
use tripline_core::Timestamp;

/// Most danger level steps a profile keeps (the earliest ones; the rest
/// are counted in [`SourceProfile::danger_steps_dropped`]).
pub const MAX_DANGER_STEPS: usize = 256;

/// The scan danger level reached at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DangerStep {
    /// The scan alert's time.
    pub ts: Timestamp,
    /// The danger level it reported (1-5).
    pub level: u8,
}

/// A host the source contacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostCount {
    /// The destination address.
    pub addr: IpAddr,
    /// Connections the source originated to it.
    pub connections: u64,
}

/// A passive OS guess for the source (from `osfp` alerts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsGuess {
    /// p0f's label, e.g. `Linux 3.11 and newer`.
    pub os: String,
    /// Alerts that named it.
    pub alerts: u64,
    /// The latest of them.
    pub last_seen: Timestamp,
}

/// Logins tried from the source with one user name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCount {
    /// The user name (from the network: escape before printing).
    pub user: String,
    /// Failed attempts.
    pub failures: u64,
    /// Accepted logins.
    pub successes: u64,
}

/// Auth log events from the source.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuthSummary {
    /// Failed authentications (`Failed password`, `Failed publickey`...).
    pub failures: u64,
    /// Accepted logins.
    pub successes: u64,
    /// `Invalid user` events.
    pub invalid_users: u64,
    /// Events of every kind, by kind (`failed`, `accepted`, ...).
    pub by_event: Vec<(String, u64)>,
    /// The user names tried, most failures first.
    pub users: Vec<UserCount>,
}

/// Everything the store knows about one source address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceProfile {
    /// The address.
    pub addr: IpAddr,
    /// Earliest connection, alert or auth event with it as the source.
    pub first_seen: Timestamp,
    /// Latest of them (connection ends count).
    pub last_seen: Timestamp,
    /// Highest scan danger level reached (0: no scan alert).
    pub max_danger_level: u8,
    /// The danger level of its scan alerts in time order, consecutive
    /// repeats collapsed: how the scanning escalated.
    pub danger_history: Vec<DangerStep>,
    /// Steps beyond [`MAX_DANGER_STEPS`] left out.
    pub danger_steps_dropped: u64,
    /// Scan types named in its scan alerts.
    pub scan_types: Vec<ScanTypeCount>,
    /// Connections it originated.
    pub connections: u64,
    /// Distinct (port, protocol) pairs it contacted (TCP, UDP, SCTP).
    pub ports_touched: u64,
    /// The most contacted of them (`addresses`: distinct targets).
    pub top_ports: Vec<PortCount>,
    /// Distinct hosts it contacted.
    pub hosts_touched: u64,
    /// The most contacted of them.
    pub top_hosts: Vec<HostCount>,
    /// DNS names whose answers included the address, most recent first.
    pub dns_names: Vec<String>,
    /// Passive OS guesses, most frequent first.
    pub os_guesses: Vec<OsGuess>,
    /// Alerts with it as the source.
    pub alerts: u64,
    /// Those alerts by detector.
    pub alerts_by_detector: Vec<DetectorCount>,
    /// Its most recent alerts, newest first.
    pub recent_alerts: Vec<AlertSummary>,
    /// Its auth log events.
    pub auth: AuthSummary,
}

impl Store {
    /// The profile of `addr`, with at most `limit` entries in each top list
    /// (ports, hosts, names, OS guesses, users, recent alerts); `None` when
    /// no connection, alert or auth event has it as the source.
    pub fn profile(&self, addr: IpAddr, limit: usize) -> Result<Option<SourceProfile>, StoreError> {
        let src = addr.to_string();
        let Some((first_seen, last_seen)) = self.seen_range(&src)? else {
            return Ok(None);
        };
        let (danger_history, danger_steps_dropped, max_danger_level) = self.danger_history(&src)?;
        let alerts_by_detector = self.detector_counts(Some(&src))?;
        Ok(Some(SourceProfile {
            addr,
            first_seen,
            last_seen,
            max_danger_level,
            danger_history,
            danger_steps_dropped,
            scan_types: self.scan_type_counts(Some(&src))?,
            connections: self
                .count_where("SELECT count(*) FROM connections WHERE src = ?1", &src)?,
            ports_touched: self.distinct_ports("src = ?1", &src)?,
            top_ports: self.port_counts("src = ?1", "dst", &src, limit)?,
            hosts_touched: self.count_where(
                "SELECT count(DISTINCT dst) FROM connections WHERE src = ?1",
                &src,
            )?,
            top_hosts: self.top_hosts(&src, limit)?,
            dns_names: self.names_for_address(addr, limit)?,
            os_guesses: self.os_guesses(&src, limit)?,
            alerts: alerts_by_detector.iter().map(|d| d.alerts).sum(),
            alerts_by_detector,
            recent_alerts: self.recent_alerts(Some(&src), limit)?,
            auth: self.auth_summary(&src, limit)?,
        }))
    }

    /// First and last time `src` appears as a source anywhere.
    fn seen_range(&self, src: &str) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        let (first, last): (Option<i64>, Option<i64>) = self
            .conn
            .prepare_cached(
                "SELECT min(t0), max(t1) FROM ( \
                 SELECT min(start_ns) AS t0, max(end_ns) AS t1 FROM connections WHERE src = ?1 \
                 UNION ALL SELECT min(ts_ns), max(ts_ns) FROM alerts WHERE src = ?1 \
                 UNION ALL SELECT min(ts_ns), max(ts_ns) FROM auth WHERE src = ?1)",
            )
            .and_then(|mut s| s.query_row([src], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(self.sql_err("finding when a source was seen"))?;
        Ok(first.zip(last).map(|(f, l)| (Timestamp(f), Timestamp(l))))
    }

    fn count_where(&self, sql: &str, src: &str) -> Result<u64, StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.query_row([src], |r| r.get(0)))
            .map(from_sql_u64)
            .map_err(self.sql_err("counting a source's rows"))
    }

    /// Danger levels of `src`'s scan alerts in time order with repeats
    /// collapsed (capped), the number of steps dropped, and the maximum.
    fn danger_history(&self, src: &str) -> Result<(Vec<DangerStep>, u64, u8), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.ts_ns, CAST(json_extract(a.details, '$.danger_level') AS INTEGER) \
                 FROM alerts a WHERE a.src = ?1 AND a.detector = 'scan' AND json_valid(a.details) \
                 ORDER BY a.ts_ns, a.id",
            )
            .map_err(self.sql_err("reading danger levels"))?;
        let rows = stmt
            .query_map([src], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<i64>>(1)?))
            })
            .map_err(self.sql_err("reading danger levels"))?;
        let (mut steps, mut dropped, mut max) = (Vec::new(), 0u64, 0u8);
        let mut last: Option<u8> = None;
        for row in rows {
            let (ts, level) = row.map_err(self.sql_err("reading danger levels"))?;
            let Some(level) = level.map(narrow::<u8>) else {
                continue;
            };
            max = max.max(level);
            if last == Some(level) {
                continue;
            }
            last = Some(level);
            if steps.len() < MAX_DANGER_STEPS {
                steps.push(DangerStep {
                    ts: Timestamp(ts),
                    level,
                });
            } else {
                dropped += 1;
            }
        }
        Ok((steps, dropped, max))
    }

    fn top_hosts(&self, src: &str, limit: usize) -> Result<Vec<HostCount>, StoreError> {
        let rows: Vec<(String, i64)> = self
            .conn
            .prepare_cached(
                "SELECT dst, count(*) FROM connections WHERE src = ?1 \
                 GROUP BY dst ORDER BY 2 DESC, 1 LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![src, sql_u64(limit as u64)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .map_err(self.sql_err("ranking a source's hosts"))?;
        rows.into_iter()
            .map(|(dst, n)| {
                Ok(HostCount {
                    addr: self.addr_column("connections", &dst)?,
                    connections: from_sql_u64(n),
                })
            })
            .collect()
    }

    fn os_guesses(&self, src: &str, limit: usize) -> Result<Vec<OsGuess>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT json_extract(a.details, '$.os') AS os, count(*), max(a.ts_ns) FROM alerts a \
                 WHERE a.src = ?1 AND a.detector = 'osfp' AND json_valid(a.details) \
                 AND json_type(a.details, '$.os') = 'text' \
                 GROUP BY os ORDER BY 2 DESC, 3 DESC LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![src, sql_u64(limit as u64)], |r| {
                    Ok(OsGuess {
                        os: r.get(0)?,
                        alerts: from_sql_u64(r.get(1)?),
                        last_seen: Timestamp(r.get(2)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("reading OS guesses"))
    }

    fn auth_summary(&self, src: &str, limit: usize) -> Result<AuthSummary, StoreError> {
        let by_event: Vec<(String, u64)> = self
            .conn
            .prepare_cached(
                "SELECT event, count(*) FROM auth WHERE src = ?1 GROUP BY event ORDER BY 2 DESC, 1",
            )
            .and_then(|mut s| {
                s.query_map([src], |r| Ok((r.get(0)?, from_sql_u64(r.get(1)?))))?
                    .collect()
            })
            .map_err(self.sql_err("counting auth events"))?;
        let of = |e: &str| by_event.iter().find(|(k, _)| k == e).map_or(0, |(_, n)| *n);
        let users = self
            .conn
            .prepare_cached(
                "SELECT user, sum(event = 'failed'), sum(event = 'accepted') FROM auth \
                 WHERE src = ?1 AND user IS NOT NULL GROUP BY user ORDER BY 2 DESC, 3 DESC, 1 LIMIT ?2",
            )
            .and_then(|mut s| {
                s.query_map(params![src, sql_u64(limit as u64)], |r| {
                    Ok(UserCount {
                        user: r.get(0)?,
                        failures: from_sql_u64(r.get(1)?),
                        successes: from_sql_u64(r.get(2)?),
                    })
                })?
                .collect()
            })
            .map_err(self.sql_err("counting auth users"))?;
        Ok(AuthSummary {
            failures: of("failed"),
            successes: of("accepted"),
            invalid_users: of("invalid_user"),
            users,
            by_event,
        })
    }
}
