//! Noise control: decides, for each alert on one channel, whether people
//! hear about it now, in the next digest, or not at all.
//!
//! * One notification per source per episode (an episode ends after
//!   `episode_gap` seconds without an alert from the source); after that,
//!   only when the source's level rises.
//! * At most `per_source_per_hour` notifications per source and
//!   `global_per_hour` per channel in any sliding hour; what passes the
//!   episode rule but not a rate limit goes into the digest.
//! * Quiet hours: what would be sent goes into the digest, which is sent
//!   when the quiet hours end.
//! * Time is the alert's timestamp, never the wall clock, so a replayed
//!   capture is judged as it was live.
//!
//! Per-source state is capped at `max_sources`; the source that alerted
//! least recently is forgotten first (counted in [`NoiseStats::evicted`]).

use super::digest::DigestBuilder;
use super::notice::{DigestNotice, NoticeKind, alert_level};
use super::{NoiseConfig, NotifyError};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::str::FromStr;
use tripline_core::{Alert, Timestamp};

const NS: i64 = 1_000_000_000;
const HOUR: i64 = 3600 * NS;

/// What to do with one alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Notify now.
    Send(NoticeKind),
    /// Fold into the digest, for this reason (`source_rate`,
    /// `global_rate`, `quiet_hours`).
    Digest(&'static str),
    /// Drop, for this reason (`min_severity`, `episode`).
    Suppress(&'static str),
}

/// Counters of one channel's noise control.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoiseStats {
    /// Sources whose state was forgotten to stay under `max_sources`.
    pub evicted: u64,
    /// Sources remembered now.
    pub sources: u64,
}

/// Quiet hours as minutes of the local day, `[start, end)`, wrapping midnight
/// when `end <= start`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuietHours {
    start: u32,
    end: u32,
    tz: chrono_tz::Tz,
}

impl QuietHours {
    /// Parses `"HH:MM-HH:MM"` in time zone `tz` (IANA name; `None`: UTC).
    pub fn parse(spec: &str, tz: Option<&str>) -> Result<QuietHours, NotifyError> {
        let bad = || NotifyError::Config(format!("quiet_hours {spec:?}: expected \"HH:MM-HH:MM\""));
        let (a, b) = spec.split_once('-').ok_or_else(bad)?;
        let minute = |s: &str| -> Option<u32> {
            let (h, m) = s.trim().split_once(':')?;
            let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
            // Lazily: a huge hour must not overflow before it is refused.
            (h < 24 && m < 60).then(|| h * 60 + m)
        };
        let (start, end) = (minute(a).ok_or_else(bad)?, minute(b).ok_or_else(bad)?);
        if start == end {
            return Err(bad());
        }
        let tz = match tz {
            None => chrono_tz::UTC,
            Some(name) => chrono_tz::Tz::from_str(name).map_err(|_| {
                NotifyError::Config(format!("timezone {name:?} is not an IANA zone"))
            })?,
        };
        Ok(QuietHours { start, end, tz })
    }

    /// Local minute of the day and second of the minute at `t`.
    fn local(&self, t: Timestamp) -> (u32, u32) {
        use chrono::Timelike;
        let utc = chrono::DateTime::from_timestamp(t.secs(), 0).unwrap_or_default();
        let local = utc.with_timezone(&self.tz);
        (local.hour() * 60 + local.minute(), local.second())
    }

    /// True when `t` falls in the quiet hours.
    pub fn contains(&self, t: Timestamp) -> bool {
        let (m, _) = self.local(t);
        if self.start < self.end {
            (self.start..self.end).contains(&m)
        } else {
            m >= self.start || m < self.end
        }
    }

    /// When the quiet hours that contain `t` end (`t` itself when outside them).
    pub fn end_after(&self, t: Timestamp) -> Timestamp {
        if !self.contains(t) {
            return t;
        }
        let (m, s) = self.local(t);
        let minutes = (i64::from(self.end) - i64::from(m)).rem_euclid(1440);
        Timestamp(t.secs() * NS + (minutes * 60 - i64::from(s)) * NS)
    }
}

/// What is remembered about one source.
#[derive(Debug)]
struct SourceState {
    episode_start: i64,
    last_alert: i64,
    /// Level of the last notification (sent or digested) in this episode; 0: none yet.
    notified_level: u8,
    alerts: u64,
    /// Times of notifications sent in the last hour (at most the limit).
    sends: VecDeque<i64>,
    tick: u64,
}

/// One channel's noise control (see the module documentation).
pub struct NoiseControl {
    cfg: NoiseConfig,
    min_severity: u8,
    quiet: Option<QuietHours>,
    table: SourceTable,
    global_sends: VecDeque<i64>,
    digest: DigestBuilder,
    digest_due: Option<i64>,
}

/// Per-source states, capped, least recently alerting evicted first.
struct SourceTable {
    sources: HashMap<Option<IpAddr>, SourceState>,
    /// Least recently alerting first.
    recency: BTreeMap<u64, Option<IpAddr>>,
    tick: u64,
    max: usize,
    evicted: u64,
}

/// The episode a decision was made in: for the notice's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpisodeInfo {
    /// When it began.
    pub start: Timestamp,
    /// Alerts in it so far.
    pub alerts: u64,
    /// The alert's level.
    pub level: u8,
}

impl NoiseControl {
    /// Noise control with `cfg`, passing alerts of severity `min_severity`
    /// or more severe (1 is the most severe).
    pub fn new(cfg: &NoiseConfig, min_severity: u8) -> Result<NoiseControl, NotifyError> {
        let quiet = cfg
            .quiet_hours
            .as_deref()
            .map(|q| QuietHours::parse(q, cfg.timezone.as_deref()))
            .transpose()?;
        if cfg.timezone.is_some() && quiet.is_none() {
            QuietHours::parse("00:00-00:01", cfg.timezone.as_deref())?;
        }
        let mut cfg = cfg.clone();
        cfg.max_sources = cfg.max_sources.max(1);
        cfg.per_source_per_hour = cfg.per_source_per_hour.clamp(1, 10_000);
        cfg.global_per_hour = cfg.global_per_hour.clamp(1, 1_000_000);
        cfg.digest_interval = cfg.digest_interval.max(1);
        Ok(NoiseControl {
            digest: DigestBuilder::new(cfg.digest_sources, cfg.max_sources),
            cfg: cfg.clone(),
            min_severity,
            quiet,
            table: SourceTable {
                sources: HashMap::new(),
                recency: BTreeMap::new(),
                tick: 0,
                max: cfg.max_sources,
                evicted: 0,
            },
            global_sends: VecDeque::new(),
            digest_due: None,
        })
    }

    /// Counters so far.
    pub fn stats(&self) -> NoiseStats {
        NoiseStats {
            sources: self.table.sources.len() as u64,
            evicted: self.table.evicted,
        }
    }

    /// Decides what happens to `a`; digested alerts are added to the
    /// pending digest. Returns the decision and the source's episode.
    pub fn decide(&mut self, a: &Alert) -> (Decision, EpisodeInfo) {
        let t = a.ts.0;
        let level = alert_level(a);
        if a.severity.0 > self.min_severity {
            let info = EpisodeInfo {
                start: a.ts,
                alerts: 1,
                level,
            };
            return (Decision::Suppress("min_severity"), info);
        }
        let gap = self.cfg.episode_gap as i64 * NS;
        let st = self.table.touch(a.src, t, gap);
        st.alerts += 1;
        let info = EpisodeInfo {
            start: Timestamp(st.episode_start),
            alerts: st.alerts,
            level,
        };
        if !self.cfg.enabled {
            return (Decision::Send(NoticeKind::Every), info);
        }
        let kind = if st.notified_level == 0 {
            NoticeKind::First
        } else if level > st.notified_level {
            NoticeKind::Rise {
                previous: st.notified_level,
            }
        } else {
            return (Decision::Suppress("episode"), info);
        };
        // From here on the source counts as told, now or in the digest.
        st.notified_level = level;
        let reason = if self.quiet.is_some_and(|q| q.contains(a.ts)) {
            Some("quiet_hours")
        } else {
            while st.sends.front().is_some_and(|&s| s <= t - HOUR) {
                st.sends.pop_front();
            }
            while self.global_sends.front().is_some_and(|&s| s <= t - HOUR) {
                self.global_sends.pop_front();
            }
            if st.sends.len() >= self.cfg.per_source_per_hour as usize {
                Some("source_rate")
            } else if self.global_sends.len() >= self.cfg.global_per_hour as usize {
                Some("global_rate")
            } else {
                st.sends.push_back(t);
                self.global_sends.push_back(t);
                None
            }
        };
        match reason {
            None => (Decision::Send(kind), info),
            Some(reason) => {
                self.digest.add(a, level, reason == "quiet_hours");
                if self.digest_due.is_none() {
                    self.digest_due = Some(t + self.cfg.digest_interval as i64 * NS);
                }
                (Decision::Digest(reason), info)
            }
        }
    }

    /// The pending digest when it is due at alert time `now` (quiet hours
    /// postpone it to their end).
    pub fn due_digest(&mut self, now: Timestamp) -> Option<DigestNotice> {
        let due = self.digest_due?;
        if now.0 < due {
            return None;
        }
        if let Some(q) = self.quiet.filter(|q| q.contains(now)) {
            self.digest_due = Some(q.end_after(now).0);
            return None;
        }
        self.digest_due = None;
        self.digest.take()
    }

    /// The pending digest whatever the time (end of a run).
    pub fn flush_digest(&mut self) -> Option<DigestNotice> {
        self.digest_due = None;
        self.digest.take()
    }
}

impl SourceTable {
    /// The source's state, starting a new episode after the gap; evicts the
    /// least recently alerting source when full.
    fn touch(&mut self, src: Option<IpAddr>, t: i64, gap: i64) -> &mut SourceState {
        self.tick += 1;
        let tick = self.tick;
        if !self.sources.contains_key(&src)
            && self.sources.len() >= self.max
            && let Some((_, old)) = self.recency.pop_first()
        {
            self.sources.remove(&old);
            self.evicted += 1;
        }
        let st = self.sources.entry(src).or_insert_with(|| SourceState {
            episode_start: t,
            last_alert: t,
            notified_level: 0,
            alerts: 0,
            sends: VecDeque::new(),
            tick,
        });
        if t - st.last_alert > gap {
            st.episode_start = t;
            st.notified_level = 0;
            st.alerts = 0;
        }
        st.last_alert = st.last_alert.max(t);
        self.recency.remove(&st.tick);
        st.tick = tick;
        self.recency.insert(tick, src);
        st
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tripline_core::Severity;

    fn alert(secs: i64, src: &str, level: u64) -> Alert {
        let mut details = serde_json::Map::new();
        details.insert("danger_level".into(), json!(level));
        Alert {
            src: Some(src.parse().unwrap()),
            details,
            ..Alert::new(Timestamp(secs * NS), "scan", 1, 1, "scan", Severity::MEDIUM)
        }
    }

    #[test]
    fn one_per_episode_then_only_rises() {
        let mut n = NoiseControl::new(&NoiseConfig::default(), 3).unwrap();
        let d = |n: &mut NoiseControl, s, l| n.decide(&alert(s, "198.51.100.1", l)).0;
        assert_eq!(d(&mut n, 0, 1), Decision::Send(NoticeKind::First));
        assert_eq!(d(&mut n, 10, 1), Decision::Suppress("episode"));
        assert_eq!(
            d(&mut n, 20, 3),
            Decision::Send(NoticeKind::Rise { previous: 1 })
        );
        assert_eq!(d(&mut n, 30, 2), Decision::Suppress("episode"));
        // A gap longer than an hour starts a new episode.
        assert_eq!(d(&mut n, 30 + 3601, 1), Decision::Send(NoticeKind::First));
    }

    #[test]
    fn rate_limits_digest_the_rest() {
        let cfg = NoiseConfig {
            per_source_per_hour: 2,
            global_per_hour: 3,
            ..NoiseConfig::default()
        };
        let mut n = NoiseControl::new(&cfg, 3).unwrap();
        let src = "198.51.100.2";
        assert!(matches!(n.decide(&alert(0, src, 1)).0, Decision::Send(_)));
        assert!(matches!(n.decide(&alert(1, src, 2)).0, Decision::Send(_)));
        assert_eq!(
            n.decide(&alert(2, src, 3)).0,
            Decision::Digest("source_rate")
        );
        assert!(matches!(
            n.decide(&alert(3, "198.51.100.3", 1)).0,
            Decision::Send(_)
        ));
        assert_eq!(
            n.decide(&alert(4, "198.51.100.4", 1)).0,
            Decision::Digest("global_rate")
        );
        assert_eq!(
            n.due_digest(Timestamp(5 * NS)),
            None,
            "not due before the interval"
        );
        let digest = n
            .due_digest(Timestamp(3602 * NS))
            .expect("due after an hour");
        assert_eq!(digest.alerts, 2);
        // The window slides: an hour later sending is allowed again.
        assert!(matches!(
            n.decide(&alert(3700, "198.51.100.5", 1)).0,
            Decision::Send(_)
        ));
    }

    #[test]
    fn min_severity_and_disabled_noise_control() {
        let mut n = NoiseControl::new(&NoiseConfig::default(), 1).unwrap();
        assert_eq!(
            n.decide(&alert(0, "198.51.100.1", 5)).0,
            Decision::Suppress("min_severity")
        );
        let off = NoiseConfig {
            enabled: false,
            ..NoiseConfig::default()
        };
        let mut n = NoiseControl::new(&off, 3).unwrap();
        for s in 0..10 {
            assert_eq!(
                n.decide(&alert(s, "198.51.100.1", 1)).0,
                Decision::Send(NoticeKind::Every)
            );
        }
    }

    #[test]
    fn quiet_hours_batch_into_a_digest_sent_when_they_end() {
        let cfg = NoiseConfig {
            quiet_hours: Some("22:00-07:00".into()),
            digest_interval: 60,
            ..NoiseConfig::default()
        };
        let mut n = NoiseControl::new(&cfg, 3).unwrap();
        let day = 1_700_006_400; // a midnight UTC
        let at = |h: i64, m: i64| day + h * 3600 + m * 60;
        assert_eq!(
            n.decide(&alert(at(23, 0), "198.51.100.1", 2)).0,
            Decision::Digest("quiet_hours")
        );
        assert_eq!(
            n.decide(&alert(at(23, 5), "198.51.100.9", 2)).0,
            Decision::Digest("quiet_hours")
        );
        assert_eq!(
            n.due_digest(Timestamp(at(23, 30) * NS)),
            None,
            "postponed to 07:00"
        );
        assert_eq!(
            n.due_digest(Timestamp(at(30, 59) * NS)),
            None,
            "06:59 next day"
        );
        let d = n
            .due_digest(Timestamp(at(31, 0) * NS))
            .expect("sent at 07:00");
        assert_eq!((d.alerts, d.quiet_hours, d.sources.len()), (2, 2, 2));
        assert!(matches!(
            n.decide(&alert(at(31, 1), "198.51.100.3", 2)).0,
            Decision::Send(_)
        ));
    }

    #[test]
    fn quiet_hours_parse_and_zone() {
        assert!(QuietHours::parse("25:00-07:00", None).is_err());
        assert!(QuietHours::parse("22:00", None).is_err());
        assert!(
            QuietHours::parse("4294967295:00-07:00", None).is_err(),
            "found by fuzzing"
        );
        assert!(QuietHours::parse("22:00-07:00", Some("Mars/Base")).is_err());
        let q = QuietHours::parse("09:00-17:00", Some("Europe/Paris")).unwrap();
        // 2023-11-14 08:30 UTC is 09:30 in Paris.
        assert!(q.contains(Timestamp(1_699_950_600 * NS)));
        assert_eq!(
            q.end_after(Timestamp(1_699_950_600 * NS)),
            Timestamp((1_699_950_600 + 27_000) * NS)
        );
    }

    #[test]
    fn source_state_is_bounded_and_evictions_counted() {
        let cfg = NoiseConfig {
            max_sources: 100,
            ..NoiseConfig::default()
        };
        let mut n = NoiseControl::new(&cfg, 3).unwrap();
        for i in 0..1000u32 {
            let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            n.decide(&alert(i64::from(i), &ip, 1));
        }
        let s = n.stats();
        assert_eq!((s.sources, s.evicted), (100, 900));
    }
}
