//! The digest: alerts held back by rate limits and quiet hours, counted per
//! source so one message can tell what was not sent one by one.

use super::notice::{DigestNotice, DigestSource};
use super::text::{MAX_FIELD_CHARS, one_line};
use std::collections::HashMap;
use std::net::IpAddr;
use tripline_core::{Alert, Timestamp};

/// Collects held-back alerts until the digest is taken.
///
/// At most `max_tracked` sources are counted one by one; alerts from further
/// sources are counted together (`untracked_alerts`), so memory stays bounded
/// during a storm.
#[derive(Debug)]
pub struct DigestBuilder {
    listed: usize,
    max_tracked: usize,
    by_source: HashMap<Option<IpAddr>, DigestSource>,
    alerts: u64,
    quiet_hours: u64,
    untracked_alerts: u64,
    since: Option<Timestamp>,
    until: Option<Timestamp>,
}

impl DigestBuilder {
    /// A builder that lists `listed` sources and tracks at most `max_tracked`.
    pub fn new(listed: usize, max_tracked: usize) -> Self {
        DigestBuilder {
            listed,
            max_tracked: max_tracked.max(1),
            by_source: HashMap::new(),
            alerts: 0,
            quiet_hours: 0,
            untracked_alerts: 0,
            since: None,
            until: None,
        }
    }

    /// Alerts held back so far.
    pub fn len(&self) -> u64 {
        self.alerts
    }

    /// True when nothing is held back.
    pub fn is_empty(&self) -> bool {
        self.alerts == 0
    }

    /// Adds one held-back alert of level `level`; `quiet` when quiet hours held it.
    pub fn add(&mut self, a: &Alert, level: u8, quiet: bool) {
        self.alerts += 1;
        self.quiet_hours += u64::from(quiet);
        self.since = Some(self.since.map_or(a.ts, |s| s.min(a.ts)));
        self.until = Some(self.until.map_or(a.ts, |u| u.max(a.ts)));
        if let Some(entry) = self.by_source.get_mut(&a.src) {
            entry.alerts += 1;
            entry.max_level = entry.max_level.max(level);
        } else if self.by_source.len() < self.max_tracked {
            self.by_source.insert(
                a.src,
                DigestSource {
                    src: a.src,
                    alerts: 1,
                    max_level: level,
                    first_msg: one_line(&a.msg, MAX_FIELD_CHARS),
                },
            );
        } else {
            self.untracked_alerts += 1;
        }
    }

    /// The digest of everything held back, emptying the builder; `None`
    /// when nothing was.
    pub fn take(&mut self) -> Option<DigestNotice> {
        if self.alerts == 0 {
            return None;
        }
        let mut sources: Vec<DigestSource> = self.by_source.drain().map(|(_, s)| s).collect();
        sources.sort_by(|a, b| {
            b.alerts
                .cmp(&a.alerts)
                .then(b.max_level.cmp(&a.max_level))
                .then(a.src.cmp(&b.src))
        });
        let more = sources.len().saturating_sub(self.listed) as u64;
        sources.truncate(self.listed);
        let d = DigestNotice {
            since: self.since.unwrap_or(Timestamp::ZERO),
            until: self.until.unwrap_or(Timestamp::ZERO),
            alerts: self.alerts,
            quiet_hours: self.quiet_hours,
            sources,
            more_sources: more,
            untracked_alerts: self.untracked_alerts,
        };
        self.alerts = 0;
        self.quiet_hours = 0;
        self.untracked_alerts = 0;
        self.since = None;
        self.until = None;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::Severity;

    fn alert(ts: i64, src: &str) -> Alert {
        Alert {
            src: Some(src.parse().unwrap()),
            ..Alert::new(
                Timestamp(ts),
                "scan",
                1,
                1,
                "scan\nwith newline",
                Severity::LOW,
            )
        }
    }

    #[test]
    fn ranks_sources_and_bounds_what_it_tracks() {
        let mut d = DigestBuilder::new(2, 3);
        assert!(d.take().is_none());
        for (i, src) in [
            "192.0.2.1",
            "192.0.2.2",
            "192.0.2.2",
            "192.0.2.3",
            "192.0.2.3",
            "192.0.2.3",
            "192.0.2.4",
        ]
        .iter()
        .enumerate()
        {
            d.add(&alert(i as i64, src), 2, i == 0);
        }
        assert_eq!(d.len(), 7);
        let n = d.take().unwrap();
        assert_eq!(n.alerts, 7);
        assert_eq!(n.quiet_hours, 1);
        assert_eq!(
            n.untracked_alerts, 1,
            "the fourth source is counted, not tracked"
        );
        assert_eq!(n.sources.len(), 2);
        assert_eq!(n.sources[0].src, Some("192.0.2.3".parse().unwrap()));
        assert_eq!(n.sources[0].alerts, 3);
        assert_eq!(n.more_sources, 1);
        assert!(!n.sources[0].first_msg.contains('\n'));
        assert_eq!((n.since, n.until), (Timestamp(0), Timestamp(6)));
        assert!(d.is_empty() && d.take().is_none());
    }
}
