//! State that spans flows: xbits (named bits on hosts and host pairs) and
//! threshold / detection_filter counters.
//!
//! Everything else a rule tests lives in one packet or one flow, so rules
//! can be matched by parallel workers that each own a share of the flows.
//! Cross-flow state cannot be split that way: a worker matching in
//! deferred mode ([`super::SignatureMatcher::defer_cross_flow`]) reports
//! such a rule's match as a [`Pending`] instead of deciding it, and one
//! [`CrossFlow`] settles the pending matches of all workers in input
//! order, which gives exactly the decisions one matcher makes alone.

use super::state::{Thresholds, XBits, track_key};
use crate::options::{BitOp, Threshold, Track};
use std::net::IpAddr;
use tripline_core::Timestamp;

/// An xbits operation or test of a rule (names numbered at compile time).
#[derive(Clone, Copy, Debug)]
pub(crate) struct XbitOp {
    pub(crate) op: BitOp,
    pub(crate) id: u16,
    pub(crate) track: Track,
    pub(crate) expire_secs: u32,
}

/// The cross-flow part of one compiled rule.
#[derive(Clone, Debug, Default)]
pub(crate) struct CrossRule {
    pub(crate) xbits: Vec<XbitOp>,
    pub(crate) threshold: Option<Threshold>,
    pub(crate) detection_filter: Option<Threshold>,
    /// `pass` or `noalert`: the rule never alerts itself.
    pub(crate) silent: bool,
}

impl CrossRule {
    /// True when the rule reads or writes cross-flow state.
    pub(crate) fn is_cross_flow(&self) -> bool {
        !self.xbits.is_empty() || self.threshold.is_some() || self.detection_filter.is_some()
    }

    /// True when the rule tests xbits (`isset` / `isnotset`).
    pub(crate) fn tests_xbits(&self) -> bool {
        self.xbits
            .iter()
            .any(|x| matches!(x.op, BitOp::IsSet | BitOp::IsNotSet))
    }
}

/// A match whose outcome depends on cross-flow state, reported by a
/// matcher in deferred mode and decided by [`CrossFlow::settle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The compiled rule.
    pub(crate) rule: u32,
    /// Times the rule matched the packet (stream and packet: at most 2).
    pub(crate) hits: u32,
    pub(crate) src: IpAddr,
    pub(crate) dst: IpAddr,
    pub(crate) ts: Timestamp,
    /// A `pass` rule later in the same packet cancelled the packet's
    /// alerts: the state still changes, nothing alerts.
    pub(crate) cancelled: bool,
}

/// Counters of settled matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SettleStats {
    /// Pending matches whose xbits tests held.
    pub matches: u64,
    /// Alerts they raised.
    pub alerts: u64,
    /// Hits suppressed by threshold / detection_filter.
    pub thresholded: u64,
}

/// xbits and threshold state, with each rule's cross-flow options.
#[derive(Debug)]
pub struct CrossFlow {
    rules: Vec<CrossRule>,
    thresholds: Thresholds,
    xbits: XBits,
    max_windows: usize,
    max_xbits: usize,
    stats: SettleStats,
}

impl CrossFlow {
    pub(crate) fn new(rules: Vec<CrossRule>, max_windows: usize, max_xbits: usize) -> Self {
        CrossFlow {
            rules,
            thresholds: Thresholds::new(max_windows),
            xbits: XBits::new(max_xbits),
            max_windows,
            max_xbits,
            stats: SettleStats::default(),
        }
    }

    /// The same rules with empty state: the settling side of parallel
    /// workers.
    pub fn fresh(&self) -> CrossFlow {
        CrossFlow::new(self.rules.clone(), self.max_windows, self.max_xbits)
    }

    pub(crate) fn rule(&self, c: u32) -> &CrossRule {
        &self.rules[c as usize]
    }

    /// Counters of [`CrossFlow::settle`].
    pub fn stats(&self) -> SettleStats {
        self.stats
    }

    /// Entries dropped because a table was full.
    pub fn dropped(&self) -> u64 {
        self.thresholds.dropped() + self.xbits.dropped()
    }

    /// True when the rule's xbits tests hold for the packet.
    pub(crate) fn xbits_hold(&self, c: u32, src: IpAddr, dst: IpAddr, ts: Timestamp) -> bool {
        self.rules[c as usize].xbits.iter().all(|x| {
            let key = track_key(x.track, src, dst);
            match x.op {
                BitOp::IsSet => self.xbits.is_set(x.id, key, ts),
                BitOp::IsNotSet => !self.xbits.is_set(x.id, key, ts),
                _ => true,
            }
        })
    }

    /// Applies the rule's xbits set/unset/toggle for a match.
    pub(crate) fn apply_xbits(&mut self, c: u32, src: IpAddr, dst: IpAddr, ts: Timestamp) {
        let CrossFlow { rules, xbits, .. } = self;
        for x in &rules[c as usize].xbits {
            if matches!(x.op, BitOp::Set | BitOp::Unset | BitOp::Toggle) {
                let key = track_key(x.track, src, dst);
                let expire = ts.add_nanos(i64::from(x.expire_secs) * 1_000_000_000);
                xbits.apply(x.op, x.id, key, expire, ts);
            }
        }
    }

    /// Counts one hit against the rule's detection_filter and threshold;
    /// true when it may alert.
    pub(crate) fn thresholds_allow(
        &mut self,
        c: u32,
        src: IpAddr,
        dst: IpAddr,
        ts: Timestamp,
    ) -> bool {
        let r = &self.rules[c as usize];
        if let Some(df) = r.detection_filter
            && !self
                .thresholds
                .allow(c, true, &df, track_key(df.track, src, dst), ts)
        {
            return false;
        }
        if let Some(t) = r.threshold
            && !self
                .thresholds
                .allow(c, false, &t, track_key(t.track, src, dst), ts)
        {
            return false;
        }
        true
    }

    /// Decides a pending match: tests and applies its xbits, counts its
    /// hits against the thresholds, and returns how many alerts it raises
    /// (0 when a test fails, the rule is silent, or it was cancelled).
    /// Pending matches must be settled in the order they were reported.
    pub fn settle(&mut self, p: &Pending) -> u32 {
        if !self.xbits_hold(p.rule, p.src, p.dst, p.ts) {
            return 0;
        }
        self.stats.matches += 1;
        self.apply_xbits(p.rule, p.src, p.dst, p.ts);
        if self.rules[p.rule as usize].silent {
            return 0;
        }
        let mut alerts = 0;
        for _ in 0..p.hits {
            if self.thresholds_allow(p.rule, p.src, p.dst, p.ts) {
                alerts += 1;
            } else {
                self.stats.thresholded += 1;
            }
        }
        if p.cancelled {
            return 0;
        }
        self.stats.alerts += u64::from(alerts);
        alerts
    }
}
