//! Automatic blocking: an alert in, maybe a block out.
//!
//! A source is blocked when its danger level reaches
//! `min_danger_level` or a rule tagged `block` fires (and `on_rule_block`),
//! for the duration configured for that level (the longer of the two when
//! both apply). The [`Safeguard`](super::Safeguard) has the last word. A
//! source already blocked for at least as long is left alone; a higher
//! danger level extends its block. What was decided and why is counted.

use super::blocker::{Blocker, expiry};
use super::config::RespondConfig;
use super::duration::BlockDuration;
use super::evidence::Evidence;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use tripline_core::{Alert, Timestamp};
use tripline_store::BlockRecord;

/// What the automatic responder did, by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoBlockMetrics {
    /// Alerts looked at.
    pub alerts: u64,
    /// New blocks.
    pub blocked: u64,
    /// Blocks extended because the danger level rose.
    pub extended: u64,
    /// Alerts about sources already blocked long enough.
    pub already_blocked: u64,
    /// Alerts that did not ask for a block (level too low, no `block` tag, no source).
    pub not_asked: u64,
    /// Refusals by the safety rules, by [`Refusal::kind`](super::Refusal::kind).
    pub refused: BTreeMap<&'static str, u64>,
    /// Blocks the firewall failed to apply.
    pub failed: u64,
}

#[derive(Clone, Copy, Debug)]
struct Active {
    duration: BlockDuration,
    until: Option<Timestamp>,
}

/// The automatic responder: decides on each alert and blocks through a
/// [`Blocker`].
pub struct AutoBlocker {
    config: RespondConfig,
    blocker: Blocker,
    /// Sources blocked by this responder whose block has not ended; never
    /// more than `max_total` entries (the safeguard's cap).
    active: HashMap<IpAddr, Active>,
    metrics: AutoBlockMetrics,
    last_error: Option<String>,
}

impl AutoBlocker {
    /// A responder with `config` acting through `blocker`.
    pub fn new(config: RespondConfig, blocker: Blocker) -> Self {
        AutoBlocker {
            config,
            blocker,
            active: HashMap::new(),
            metrics: AutoBlockMetrics::default(),
            last_error: None,
        }
    }

    /// The counters so far.
    pub fn metrics(&self) -> &AutoBlockMetrics {
        &self.metrics
    }

    /// The last firewall error, if any block failed.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The duration this alert asks for, or `None` when it asks for no block.
    pub fn wanted(&self, evidence: &Evidence) -> Option<BlockDuration> {
        let by_level = evidence
            .danger_level
            .filter(|l| *l >= self.config.min_danger_level)
            .map(|l| self.config.duration_for_level(l));
        let by_rule =
            (self.config.on_rule_block && evidence.rule_block).then_some(self.config.rule_duration);
        by_level.into_iter().chain(by_rule).max()
    }

    /// Looks at one alert at wall-clock time `now`; returns the block made,
    /// for the store.
    pub fn on_alert(&mut self, alert: &Alert, now: Timestamp) -> Option<BlockRecord> {
        self.metrics.alerts += 1;
        let Some(src) = alert.src.map(|a| a.to_canonical()) else {
            self.metrics.not_asked += 1;
            return None;
        };
        let evidence = Evidence::from_alert(alert);
        let Some(duration) = self.wanted(&evidence) else {
            self.metrics.not_asked += 1;
            return None;
        };
        self.active.retain(|_, a| a.until.is_none_or(|u| u > now));
        let extending = match self.active.get(&src) {
            Some(a) if a.duration >= duration => {
                self.metrics.already_blocked += 1;
                return None;
            }
            Some(_) => true,
            None => false,
        };
        let others = self.active.len() - usize::from(extending);
        if let Err(refusal) = self
            .blocker
            .safeguard_mut()
            .admit_automatic(src, &evidence, others, now)
        {
            tracing::info!("respond: not blocking {src}: {refusal}");
            *self.metrics.refused.entry(refusal.kind()).or_default() += 1;
            return None;
        }
        let reason = format!(
            "automatic: [{}:{}:{}] {}{}",
            alert.gid,
            alert.sid,
            alert.rev,
            alert.msg,
            evidence
                .danger_level
                .map(|l| format!(" (danger level {l})"))
                .unwrap_or_default()
        );
        match self.blocker.apply(src, duration, true, &reason, now) {
            Ok(record) => {
                self.active.insert(
                    src,
                    Active {
                        duration,
                        until: expiry(now, duration),
                    },
                );
                if extending {
                    self.metrics.extended += 1;
                } else {
                    self.metrics.blocked += 1;
                }
                tracing::warn!("respond: blocked {src} for {duration}: {reason}");
                Some(record)
            }
            Err(e) => {
                self.metrics.failed += 1;
                tracing::warn!("respond: blocking {src} failed: {e}");
                self.last_error = Some(e.to_string());
                None
            }
        }
    }
}
