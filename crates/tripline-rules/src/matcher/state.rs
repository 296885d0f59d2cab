//! Match state that outlives one packet: flowbits (per flow, held by the
//! caller's flow tracking), xbits (per host or host pair) and threshold /
//! detection_filter counters. All of it is bounded.

use crate::options::{BitOp, Threshold, ThresholdKind, Track};
use std::collections::HashMap;
use std::net::IpAddr;
use tripline_core::Timestamp;

/// Most flowbits one flow can hold; further sets are dropped (and counted).
pub const MAX_FLOWBITS: usize = 64;

/// Rules whose fast pattern a stream scan found, remembered while the
/// pattern can still be inside a later packet's look-back window.
pub(crate) const MAX_STREAM_RECENT: usize = 64;

/// A rule found by a stream scan of one direction, until the look-back of a
/// later chunk starts at or after `until` (the end of the scanned bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StreamRecent {
    rule: u32,
    to_server: bool,
    until: u64,
}

/// The per-flow state of the matcher: the flowbits set on the flow, and
/// which rules recent stream scans found. The caller keeps one per flow and
/// hands it to every inspection of that flow's packets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FlowBits {
    bits: Vec<u16>,
    recent: Vec<StreamRecent>,
    /// Per direction (to client, to server): when more rules were found
    /// than [`MAX_STREAM_RECENT`], whole look-back windows are scanned again
    /// until chunks start at or after this offset.
    rescan_until: [u64; 2],
}

impl FlowBits {
    /// True when bit `id` is set.
    pub fn is_set(&self, id: u16) -> bool {
        self.bits.contains(&id)
    }

    /// Applies a set/unset/toggle; returns false when a set was dropped
    /// because the flow holds [`MAX_FLOWBITS`] already.
    pub(crate) fn apply(&mut self, op: BitOp, id: u16) -> bool {
        let pos = self.bits.iter().position(|b| *b == id);
        match (op, pos) {
            (BitOp::Set, None) | (BitOp::Toggle, None) => {
                if self.bits.len() >= MAX_FLOWBITS {
                    return false;
                }
                self.bits.push(id);
            }
            (BitOp::Unset, Some(p)) | (BitOp::Toggle, Some(p)) => {
                self.bits.swap_remove(p);
            }
            _ => {}
        }
        true
    }

    /// Number of bits set.
    pub fn len(&self) -> usize {
        self.bits.len()
    }

    /// True when the look-back of a chunk of this direction starting at
    /// `chunk_start` must be scanned whole (rules were not remembered).
    pub(crate) fn stream_rescan(&self, to_server: bool, chunk_start: u64) -> bool {
        chunk_start < self.rescan_until[usize::from(to_server)]
    }

    /// Remembers that a stream scan of this direction ending at `until`
    /// found `rule`.
    pub(crate) fn remember_stream(&mut self, to_server: bool, rule: u32, until: u64) {
        if let Some(r) = self
            .recent
            .iter_mut()
            .find(|r| r.rule == rule && r.to_server == to_server)
        {
            r.until = r.until.max(until);
            return;
        }
        if self.recent.len() >= MAX_STREAM_RECENT {
            let d = usize::from(to_server);
            self.rescan_until[d] = self.rescan_until[d].max(until);
            return;
        }
        self.recent.push(StreamRecent {
            rule,
            to_server,
            until,
        });
    }

    /// Adds the remembered rules of this direction whose pattern can still
    /// be inside a chunk starting at `chunk_start`, forgetting the others.
    pub(crate) fn recent_stream(&mut self, to_server: bool, chunk_start: u64, out: &mut Vec<u32>) {
        self.recent
            .retain(|r| r.to_server != to_server || chunk_start < r.until);
        out.extend(
            self.recent
                .iter()
                .filter(|r| r.to_server == to_server)
                .map(|r| r.rule),
        );
    }

    /// True when no bit is set.
    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }
}

/// The key a per-host counter or bit is kept under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TrackKey {
    One(IpAddr),
    Pair(IpAddr, IpAddr),
    Rule,
}

pub(crate) fn track_key(track: Track, src: IpAddr, dst: IpAddr) -> TrackKey {
    match track {
        Track::BySrc => TrackKey::One(src),
        Track::ByDst => TrackKey::One(dst),
        Track::ByBoth => TrackKey::Pair(src, dst),
        Track::ByRule => TrackKey::Rule,
    }
}

/// Bounded map with whole-map pruning of expired entries when full.
#[derive(Debug)]
struct Bounded<K, V> {
    map: HashMap<K, V>,
    cap: usize,
    dropped: u64,
}

impl<K: std::hash::Hash + Eq, V> Bounded<K, V> {
    fn new(cap: usize) -> Self {
        Bounded {
            map: HashMap::new(),
            cap,
            dropped: 0,
        }
    }

    /// Makes room for one more entry by removing entries `expired` says are
    /// stale; false when the map is still full.
    fn make_room(&mut self, expired: impl Fn(&V) -> bool) -> bool {
        if self.map.len() < self.cap {
            return true;
        }
        self.map.retain(|_, v| !expired(v));
        if self.map.len() < self.cap {
            return true;
        }
        self.dropped += 1;
        false
    }
}

/// One threshold window.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Timestamp,
    count: u32,
    alerted: bool,
    seconds: u32,
}

impl Window {
    fn expired(&self, now: Timestamp) -> bool {
        now.0.saturating_sub(self.start.0) >= i64::from(self.seconds) * 1_000_000_000
    }
}

/// Threshold and detection_filter counters, per rule and tracked host.
#[derive(Debug)]
pub(crate) struct Thresholds {
    windows: Bounded<(u32, bool, TrackKey), Window>,
}

impl Thresholds {
    pub(crate) fn new(cap: usize) -> Self {
        Thresholds {
            windows: Bounded::new(cap),
        }
    }

    /// Counts one match of rule `rule` and says whether it may alert.
    /// `filter` is true for detection_filter (alert only after `count`
    /// matches in the period), false for threshold.
    pub(crate) fn allow(
        &mut self,
        rule: u32,
        filter: bool,
        t: &Threshold,
        key: TrackKey,
        now: Timestamp,
    ) -> bool {
        let k = (rule, filter, key);
        if !self.windows.map.contains_key(&k)
            && !self.windows.make_room(|w: &Window| w.expired(now))
        {
            // No room to count: let the alert through rather than lose it.
            return true;
        }
        let w = self.windows.map.entry(k).or_insert(Window {
            start: now,
            count: 0,
            alerted: false,
            seconds: t.seconds,
        });
        if w.expired(now) {
            *w = Window {
                start: now,
                count: 0,
                alerted: false,
                seconds: t.seconds,
            };
        }
        w.count = w.count.saturating_add(1);
        if filter {
            return w.count > t.count;
        }
        match t.kind.unwrap_or(ThresholdKind::Limit) {
            ThresholdKind::Limit => w.count <= t.count,
            ThresholdKind::Threshold => t.count > 0 && w.count.is_multiple_of(t.count),
            ThresholdKind::Both => {
                if w.count >= t.count && !w.alerted {
                    w.alerted = true;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// Windows dropped because the table was full.
    pub(crate) fn dropped(&self) -> u64 {
        self.windows.dropped
    }
}

/// xbits: named bits on hosts or host pairs, with an expiry.
#[derive(Debug)]
pub(crate) struct XBits {
    bits: Bounded<(u16, TrackKey), Timestamp>,
}

impl XBits {
    pub(crate) fn new(cap: usize) -> Self {
        XBits {
            bits: Bounded::new(cap),
        }
    }

    pub(crate) fn is_set(&self, id: u16, key: TrackKey, now: Timestamp) -> bool {
        self.bits.map.get(&(id, key)).is_some_and(|exp| *exp > now)
    }

    pub(crate) fn apply(
        &mut self,
        op: BitOp,
        id: u16,
        key: TrackKey,
        expire: Timestamp,
        now: Timestamp,
    ) {
        let set = self.is_set(id, key, now);
        match (op, set) {
            (BitOp::Set, _) | (BitOp::Toggle, false)
                if self.bits.map.contains_key(&(id, key)) || self.bits.make_room(|e| *e <= now) =>
            {
                self.bits.map.insert((id, key), expire);
            }
            (BitOp::Unset, _) | (BitOp::Toggle, true) => {
                self.bits.map.remove(&(id, key));
            }
            _ => {}
        }
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.bits.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn stream_recent_rules_expire_and_overflow_to_a_rescan() {
        let mut f = FlowBits::default();
        f.remember_stream(true, 7, 100);
        f.remember_stream(false, 8, 100);
        let mut out = Vec::new();
        f.recent_stream(true, 99, &mut out);
        assert_eq!(out, vec![7]);
        out.clear();
        f.recent_stream(true, 100, &mut out);
        assert!(
            out.is_empty(),
            "a chunk starting at the end no longer holds it"
        );
        f.recent_stream(false, 50, &mut out);
        assert_eq!(out, vec![8], "the other direction keeps its own");
        for rule in 0..(MAX_STREAM_RECENT as u32 + 1) {
            f.remember_stream(true, 1000 + rule, 500);
        }
        assert!(f.stream_rescan(true, 499) && !f.stream_rescan(true, 500));
        assert!(!f.stream_rescan(false, 0));
    }

    fn ts(s: u64) -> Timestamp {
        Timestamp(s as i64 * 1_000_000_000)
    }

    fn t(kind: Option<ThresholdKind>, count: u32, seconds: u32) -> Threshold {
        Threshold {
            kind,
            track: Track::BySrc,
            count,
            seconds,
        }
    }

    #[test]
    fn threshold_kinds() {
        let key = TrackKey::One(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let mut th = Thresholds::new(10);
        let limit = t(Some(ThresholdKind::Limit), 2, 60);
        let got: Vec<bool> = (0..4)
            .map(|i| th.allow(1, false, &limit, key, ts(i)))
            .collect();
        assert_eq!(got, [true, true, false, false]);
        assert!(th.allow(1, false, &limit, key, ts(61)), "a new period");
        let every = t(Some(ThresholdKind::Threshold), 3, 60);
        let got: Vec<bool> = (0..6)
            .map(|i| th.allow(2, false, &every, key, ts(i)))
            .collect();
        assert_eq!(got, [false, false, true, false, false, true]);
        let both = t(Some(ThresholdKind::Both), 2, 60);
        let got: Vec<bool> = (0..4)
            .map(|i| th.allow(3, false, &both, key, ts(i)))
            .collect();
        assert_eq!(got, [false, true, false, false]);
        let df = t(None, 2, 60);
        let got: Vec<bool> = (0..4).map(|i| th.allow(4, true, &df, key, ts(i))).collect();
        assert_eq!(got, [false, false, true, true]);
    }

    #[test]
    fn thresholds_are_bounded() {
        let mut th = Thresholds::new(4);
        let limit = t(Some(ThresholdKind::Limit), 1, 60);
        for i in 0..100u32 {
            let key = TrackKey::One(IpAddr::V4(Ipv4Addr::from(i)));
            assert!(th.allow(1, false, &limit, key, ts(1)));
        }
        assert!(th.windows.map.len() <= 4);
        assert_eq!(th.dropped(), 96);
    }

    #[test]
    fn flowbits_capped_and_toggled() {
        let mut f = FlowBits::default();
        for i in 0..MAX_FLOWBITS as u16 {
            assert!(f.apply(BitOp::Set, i));
        }
        assert!(!f.apply(BitOp::Set, 999));
        assert!(f.apply(BitOp::Toggle, 3));
        assert!(!f.is_set(3));
        assert!(f.apply(BitOp::Toggle, 3));
        assert!(f.is_set(3));
    }
}
