//! The notifier: hands each alert to every configured channel's noise
//! control, queues what should be sent, and keeps the `notifications` rows
//! until the caller writes them to the store.

use super::dispatch::{ChannelWorkers, Job, ProfileSource};
use super::noise::{Decision, NoiseControl};
use super::notice::{AlertNotice, DigestNotice, Notice};
use super::{Channel, NotifyConfig, NotifyError, config};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use tripline_core::{Alert, Timestamp};
use tripline_store::{AlertRef, NotificationOutcome, NotificationRow, Store, StoreError};

/// Rows kept for the store between two [`Notifier::write_rows`]; beyond
/// this they are counted in [`NotifyStats::unrecorded`] and dropped.
pub const MAX_PENDING_ROWS: usize = 250_000;

/// What the notifier did, over all channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NotifyStats {
    /// Notifications delivered (digests included).
    pub sent: u64,
    /// Deliveries that failed.
    pub failed: u64,
    /// Alerts not notified on purpose (episode, minimum severity, full queue).
    pub suppressed: u64,
    /// Alerts folded into a digest.
    pub digested: u64,
    /// Digests delivered.
    pub digests: u64,
    /// Notifications dropped because a channel's queue was full.
    pub queue_full: u64,
    /// Sources forgotten by noise control to stay within its cap.
    pub evicted_sources: u64,
    /// Rows not stored because too many were pending.
    pub unrecorded: u64,
}

/// One channel with its settings.
pub struct ChannelSpec {
    /// The channel.
    pub channel: Arc<dyn Channel>,
    /// Least severe alert passed (1 high .. 3 low).
    pub min_severity: u8,
    /// Deliveries at once.
    pub workers: usize,
}

struct Slot {
    noise: NoiseControl,
    workers: ChannelWorkers,
}

/// Sends alerts to people through the configured channels (see the module
/// documentation of [`super`]).
pub struct Notifier {
    slots: Vec<Slot>,
    outcomes: Receiver<NotificationRow>,
    pending: Vec<NotificationRow>,
    stats: NotifyStats,
    closed: bool,
}

impl Notifier {
    /// The notifier `cfg` describes, looking up source profiles in the store
    /// at `store` (none: notices carry no profile); `None` when no channel
    /// is configured and enabled.
    pub fn from_config(
        cfg: &NotifyConfig,
        store: Option<&Path>,
    ) -> Result<Option<Notifier>, NotifyError> {
        let mut specs = Vec::new();
        if let Some(c) = cfg.email.as_ref().filter(|c| c.enabled) {
            specs.push(ChannelSpec {
                channel: Arc::new(super::email::EmailChannel::new(c)?),
                min_severity: c.min_severity,
                workers: 1,
            });
        }
        if let Some(c) = cfg.syslog.as_ref().filter(|c| c.enabled) {
            specs.push(ChannelSpec {
                channel: Arc::new(super::syslog::SyslogChannel::new(c)?),
                min_severity: c.min_severity,
                workers: 1,
            });
        }
        if let Some(c) = cfg.webhook.as_ref().filter(|c| c.enabled) {
            specs.push(ChannelSpec {
                channel: Arc::new(super::webhook::WebhookChannel::new(c)?),
                min_severity: c.min_severity,
                workers: 1,
            });
        }
        if let Some(c) = cfg.exec.as_ref().filter(|c| c.enabled) {
            specs.push(ChannelSpec {
                channel: Arc::new(super::exec::ExecChannel::new(c)?),
                min_severity: c.min_severity,
                workers: c.concurrency.clamp(1, 64),
            });
        }
        if specs.is_empty() {
            return Ok(None);
        }
        let profiles = store
            .filter(|p| p.as_os_str() != ":memory:")
            .map(|p| ProfileSource {
                path: p.to_path_buf(),
                limit: cfg.profile_limit.unwrap_or(config::DEFAULT_PROFILE_LIMIT),
            });
        let queue = cfg.queue_size.unwrap_or(config::DEFAULT_QUEUE_SIZE);
        Notifier::new(specs, &cfg.noise, queue, profiles.as_ref()).map(Some)
    }

    /// A notifier over `channels`, each with its own noise control (`noise`)
    /// and a queue of `queue` notices.
    pub fn new(
        channels: Vec<ChannelSpec>,
        noise: &config::NoiseConfig,
        queue: usize,
        profiles: Option<&ProfileSource>,
    ) -> Result<Notifier, NotifyError> {
        let (tx, outcomes): (Sender<NotificationRow>, _) = mpsc::channel();
        let mut slots = Vec::with_capacity(channels.len());
        for spec in channels {
            slots.push(Slot {
                noise: NoiseControl::new(noise, spec.min_severity)?,
                workers: ChannelWorkers::start(spec.channel, spec.workers, queue, profiles, &tx)?,
            });
        }
        Ok(Notifier {
            slots,
            outcomes,
            pending: Vec::new(),
            stats: NotifyStats::default(),
            closed: false,
        })
    }

    /// The channels' names.
    pub fn channels(&self) -> Vec<&'static str> {
        self.slots.iter().map(|s| s.workers.name()).collect()
    }

    /// What happened so far (deliveries counted as their outcomes arrive).
    pub fn stats(&self) -> NotifyStats {
        let mut s = self.stats;
        s.evicted_sources = self.slots.iter().map(|x| x.noise.stats().evicted).sum();
        s
    }

    /// Hands one stored alert to every channel. Never blocks on a channel.
    pub fn alert(&mut self, a: &Alert) {
        self.collect_outcomes();
        if self.closed {
            for i in 0..self.slots.len() {
                let name = self.slots[i].workers.name();
                self.record(row(
                    a,
                    name,
                    NotificationOutcome::Suppressed,
                    "stopped",
                    String::new(),
                ));
            }
            return;
        }
        for i in 0..self.slots.len() {
            if let Some(d) = self.slots[i].noise.due_digest(a.ts) {
                self.send_digest(i, d);
            }
            let (decision, ep) = self.slots[i].noise.decide(a);
            let name = self.slots[i].workers.name();
            match decision {
                Decision::Send(kind) => {
                    let notice = Notice::Alert(Box::new(AlertNotice {
                        alert: a.clone(),
                        level: ep.level,
                        kind,
                        episode_alerts: ep.alerts,
                        episode_start: ep.start,
                        profile: None,
                    }));
                    let job = Job {
                        notice,
                        alert: Some(alert_ref(a)),
                        reason: kind.as_str(),
                        detail: String::new(),
                    };
                    self.queue(i, job);
                }
                Decision::Digest(reason) => {
                    self.record(row(
                        a,
                        name,
                        NotificationOutcome::Digested,
                        reason,
                        String::new(),
                    ));
                }
                Decision::Suppress(reason) => {
                    self.record(row(
                        a,
                        name,
                        NotificationOutcome::Suppressed,
                        reason,
                        String::new(),
                    ));
                }
            }
        }
    }

    /// Sends digests that are due at alert time `now` (call it when time
    /// advances without alerts, e.g. from a live source's clock).
    pub fn tick(&mut self, now: Timestamp) {
        self.collect_outcomes();
        if self.closed {
            return;
        }
        for i in 0..self.slots.len() {
            if let Some(d) = self.slots[i].noise.due_digest(now) {
                self.send_digest(i, d);
            }
        }
    }

    /// Ends the run: sends the pending digests, waits for every queued
    /// delivery (each bounded by its channel's timeouts) and collects the
    /// outcomes. Alerts after this are recorded as suppressed (`stopped`).
    pub fn finish(&mut self) -> NotifyStats {
        if !self.closed {
            for i in 0..self.slots.len() {
                if let Some(d) = self.slots[i].noise.flush_digest() {
                    self.send_digest(i, d);
                }
            }
            for s in &mut self.slots {
                s.workers.close();
            }
            self.closed = true;
        }
        self.collect_outcomes();
        self.stats()
    }

    /// Takes the rows waiting for the store.
    pub fn take_rows(&mut self) -> Vec<NotificationRow> {
        self.collect_outcomes();
        std::mem::take(&mut self.pending)
    }

    /// Writes the rows waiting for the store (after the alerts they name
    /// are committed, so each row links to its alert). Returns rows written.
    pub fn write_rows(&mut self, store: &mut Store) -> Result<u64, StoreError> {
        let rows = self.take_rows();
        store.insert_notifications(&rows)
    }

    fn send_digest(&mut self, slot: usize, d: DigestNotice) {
        let detail = format!(
            "{} alerts from {} sources",
            d.alerts,
            d.sources.len() as u64 + d.more_sources
        );
        let job = Job {
            notice: Notice::Digest(d),
            alert: None,
            reason: "digest",
            detail,
        };
        self.queue(slot, job);
    }

    fn queue(&mut self, slot: usize, job: Job) {
        let name = self.slots[slot].workers.name();
        if let Err(job) = self.slots[slot].workers.try_send(job) {
            self.stats.queue_full += 1;
            let detail = match &job.notice {
                Notice::Digest(d) => format!("digest of {} alerts", d.alerts),
                Notice::Alert(_) => String::new(),
            };
            self.record(NotificationRow {
                ts: job.notice.ts(),
                channel: name,
                alert: job.alert,
                src: job.notice.src(),
                outcome: NotificationOutcome::Suppressed,
                reason: "queue_full",
                detail,
            });
        }
    }

    fn collect_outcomes(&mut self) {
        while let Ok(r) = self.outcomes.try_recv() {
            self.record(r);
        }
    }

    fn record(&mut self, r: NotificationRow) {
        match r.outcome {
            NotificationOutcome::Sent if r.reason == "digest" => {
                self.stats.sent += 1;
                self.stats.digests += 1;
            }
            NotificationOutcome::Sent => self.stats.sent += 1,
            NotificationOutcome::Failed => self.stats.failed += 1,
            NotificationOutcome::Suppressed => self.stats.suppressed += 1,
            NotificationOutcome::Digested => self.stats.digested += 1,
        }
        if self.pending.len() < MAX_PENDING_ROWS {
            self.pending.push(r);
        } else {
            self.stats.unrecorded += 1;
        }
    }
}

fn alert_ref(a: &Alert) -> AlertRef {
    AlertRef {
        ts: a.ts,
        gid: a.gid,
        sid: a.sid,
    }
}

fn row(
    a: &Alert,
    channel: &'static str,
    outcome: NotificationOutcome,
    reason: &'static str,
    detail: String,
) -> NotificationRow {
    NotificationRow {
        ts: a.ts,
        channel,
        alert: Some(alert_ref(a)),
        src: a.src,
        outcome,
        reason,
        detail,
    }
}
