//! The `bruteforce` detector: password guessing seen in auth logs (sshd).
//!
//! Three things are told apart:
//! * **guessing from one source**: at least `max_failures` failed logins from
//!   one address against one service on one host within `find_time`
//!   (fail2ban's sshd jail defaults: 5 in 600 s). The alert says how many
//!   distinct user names were tried and how many of them do not exist.
//! * **distributed guessing**: at least `distributed_min_sources` different
//!   addresses failing for the same user on the same service and host within
//!   `find_time` (each may stay under the per-source threshold).
//! * **break-in**: a successful login from a source that had at least
//!   `break_in_min_failures` failures within `find_time` before it — its own
//!   high-severity alert. A legitimate user's occasional typo (one failure,
//!   then success) stays below every threshold.
//!
//! A failure is a `Failed ...` line, or an `Invalid user` line that is not
//! followed by a `Failed ... for invalid user` line of the same sshd process
//! (one attempt is counted once). `Too many authentication failures`
//! disconnects (sshd logs each twice; one per sshd process is counted; PAM's
//! `N more authentication failures` summary is not a disconnect) go into the
//! details, not the failure count.
//!
//! Each guessing run is an *episode*: one alert when it crosses the
//! threshold, one more each time its failure count reaches the next step
//! (×4), never one per line. An episode ends when its source has been quiet
//! for `find_time`. State is bounded: sources and accounts live in LRU maps
//! with caps, user names and sources per entry are capped; evictions are
//! counted in [`BruteforceMetrics`].
//!
//! Alert ids: gid [`GID`]; sid [`SID_GUESSING`], [`SID_DISTRIBUTED`],
//! [`SID_BREAK_IN`]; rev 1.

use crate::detectors::{DetectContext, Detector};
use crate::engine::EngineOutput;
use crate::lru::LruMap;
use serde_json::{Map, Value, json};
use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::time::Duration;
use tripline_core::{Alert, AuthEvent, AuthLog, Record, Severity, Timestamp, ip_proto};

/// Generator id of the bruteforce detector's alerts.
pub const GID: u32 = 2003;
/// sid of password guessing from one source.
pub const SID_GUESSING: u32 = 1;
/// sid of many sources failing for one account.
pub const SID_DISTRIBUTED: u32 = 2;
/// sid of a successful login after guessing from the same source.
pub const SID_BREAK_IN: u32 = 3;

/// Each escalation alert needs this many times the previous failure count.
const ESCALATION_FACTOR: u32 = 4;

/// Settings of the bruteforce detector (`[bruteforce]` in the configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BruteforceConfig {
    /// Run the detector.
    pub enabled: bool,
    /// Failures from one source within `find_time` that make guessing
    /// (fail2ban `maxretry`).
    pub max_failures: u32,
    /// The sliding window (fail2ban `findtime`); also the quiet time that
    /// ends an episode.
    pub find_time: Duration,
    /// Distinct sources failing for one account within `find_time` that
    /// make distributed guessing.
    pub distributed_min_sources: u32,
    /// Failures from a source within `find_time` before a success that make
    /// the success a break-in.
    pub break_in_min_failures: u32,
    /// Most (source, service, host) entries tracked; least recent evicted.
    pub max_sources: usize,
    /// Most (user, service, host) entries tracked; least recent evicted.
    pub max_accounts: usize,
    /// Distinct user names remembered per source episode.
    pub max_users_per_source: usize,
    /// Failure times remembered per source (at least `max_failures`).
    pub max_failure_times: usize,
    /// Sources remembered per account.
    pub max_sources_per_account: usize,
}

impl Default for BruteforceConfig {
    fn default() -> Self {
        BruteforceConfig {
            enabled: true,
            max_failures: 5,
            find_time: Duration::from_secs(600),
            distributed_min_sources: 5,
            break_in_min_failures: 5,
            max_sources: 100_000,
            max_accounts: 50_000,
            max_users_per_source: 32,
            max_failure_times: 256,
            max_sources_per_account: 64,
        }
    }
}

/// Counters of the bruteforce detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BruteforceMetrics {
    /// Auth records seen.
    pub records: u64,
    /// Records counted as failed attempts.
    pub failures: u64,
    /// Successful logins seen.
    pub successes: u64,
    /// Guessing episodes alerted (threshold crossed).
    pub episodes: u64,
    /// Escalation alerts.
    pub escalations: u64,
    /// Distributed-guessing alerts.
    pub distributed: u64,
    /// Break-in alerts.
    pub break_ins: u64,
    /// Source entries evicted because the source map was full.
    pub sources_evicted: u64,
    /// Account entries evicted because the account map was full.
    pub accounts_evicted: u64,
    /// User names not remembered because a source's list was full.
    pub users_dropped: u64,
}

/// What one source did against one service on one host.
struct SourceAuth {
    /// Failure times within the window, oldest first (capped).
    recent: VecDeque<Timestamp>,
    /// Failures in the current episode.
    failures: u32,
    /// Of which for user names sshd said do not exist.
    invalid: u32,
    /// `Too many authentication failures` disconnects (one per sshd process).
    max_auth_disconnects: u32,
    /// sshd pid of the last disconnect counted (sshd logs it up to three ways).
    disconnect_pid: Option<u32>,
    /// Distinct user names tried in the episode (capped).
    users: Vec<String>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// sshd pid of an `Invalid user` line already counted as an attempt.
    pending_invalid_pid: Option<u32>,
    /// Episode id and the failure count last alerted.
    episode: Option<(u64, u32)>,
}

impl SourceAuth {
    fn new(ts: Timestamp) -> Self {
        SourceAuth {
            recent: VecDeque::new(),
            failures: 0,
            invalid: 0,
            max_auth_disconnects: 0,
            disconnect_pid: None,
            users: Vec::new(),
            first_seen: ts,
            last_seen: ts,
            pending_invalid_pid: None,
            episode: None,
        }
    }

    /// Drops failure times older than the window; a source quiet for a whole
    /// window starts a new episode.
    fn expire(&mut self, ts: Timestamp, window_ns: i64) {
        if ts.0.saturating_sub(self.last_seen.0) > window_ns {
            *self = SourceAuth::new(ts);
            return;
        }
        while self
            .recent
            .front()
            .is_some_and(|t| ts.0.saturating_sub(t.0) > window_ns)
        {
            self.recent.pop_front();
        }
    }
}

/// Sources failing for one account.
struct AccountAuth {
    /// (source, last failure) pairs, capped.
    sources: Vec<(IpAddr, Timestamp)>,
    /// Episode id and the source count last alerted.
    episode: Option<(u64, u32)>,
}

/// The detector; see the module documentation.
pub struct BruteforceDetector {
    config: BruteforceConfig,
    sources: LruMap<(IpAddr, u64), SourceAuth>,
    accounts: LruMap<(u64, u64), AccountAuth>,
    hasher: foldhash::fast::RandomState,
    next_episode: u64,
    metrics: BruteforceMetrics,
}

impl BruteforceDetector {
    /// A detector with `config`.
    pub fn new(config: BruteforceConfig) -> Self {
        BruteforceDetector {
            sources: LruMap::new(config.max_sources),
            accounts: LruMap::new(config.max_accounts),
            hasher: foldhash::fast::RandomState::default(),
            config,
            next_episode: 1,
            metrics: BruteforceMetrics::default(),
        }
    }

    /// Counters so far.
    pub fn metrics(&self) -> BruteforceMetrics {
        BruteforceMetrics {
            sources_evicted: self.sources.evicted(),
            accounts_evicted: self.accounts.evicted(),
            ..self.metrics
        }
    }

    fn hash(&self, parts: &[&str]) -> u64 {
        let mut h = self.hasher.build_hasher();
        for p in parts {
            h.write(p.as_bytes());
            h.write_u8(0xff);
        }
        h.finish()
    }

    fn auth(&mut self, a: &AuthLog, out: &mut dyn EngineOutput) {
        self.metrics.records += 1;
        let Some(src) = a.src else { return };
        let target = self.hash(&[&a.service, &a.host]);
        let window_ns = i64::try_from(self.config.find_time.as_nanos()).unwrap_or(i64::MAX);
        match a.event {
            AuthEvent::Failed => {
                let s = source_entry(&mut self.sources, src, target, a.ts, window_ns);
                let counted = a.invalid_user
                    && s.pending_invalid_pid.is_some()
                    && s.pending_invalid_pid == a.pid;
                s.pending_invalid_pid = None;
                if !counted {
                    self.failure(a, src, target, out);
                }
                self.account_failure(a, src, target, window_ns, out);
            }
            AuthEvent::InvalidUser => {
                self.failure(a, src, target, out);
                if let Some(s) = self.sources.get_mut(&(src, target)) {
                    s.pending_invalid_pid = a.pid;
                }
            }
            AuthEvent::TooManyFailures => {
                let s = source_entry(&mut self.sources, src, target, a.ts, window_ns);
                // PAM's summary also follows a client that gave up by itself.
                let pam_summary = a.method.as_deref() == Some("pam");
                if !pam_summary && (a.pid.is_none() || s.disconnect_pid != a.pid) {
                    s.max_auth_disconnects += 1;
                    s.disconnect_pid = a.pid;
                }
            }
            AuthEvent::Accepted => {
                self.metrics.successes += 1;
                self.success(a, src, target, window_ns, out);
            }
            AuthEvent::ClosedPreauth => {}
        }
    }

    /// One failed attempt from `src`.
    fn failure(&mut self, a: &AuthLog, src: IpAddr, target: u64, out: &mut dyn EngineOutput) {
        self.metrics.failures += 1;
        let window_ns = i64::try_from(self.config.find_time.as_nanos()).unwrap_or(i64::MAX);
        let cap_times = self
            .config
            .max_failure_times
            .max(self.config.max_failures as usize)
            .max(self.config.break_in_min_failures as usize)
            .max(1);
        let max_users = self.config.max_users_per_source;
        let threshold = self.config.max_failures.max(1);
        let mut users_dropped = 0;
        let s = source_entry(&mut self.sources, src, target, a.ts, window_ns);
        if s.recent.len() >= cap_times {
            s.recent.pop_front();
        }
        s.recent.push_back(a.ts);
        s.failures += 1;
        s.last_seen = a.ts;
        if a.invalid_user || a.event == AuthEvent::InvalidUser {
            s.invalid += 1;
        }
        if let Some(user) = a.user.as_deref()
            && !s.users.iter().any(|u| u == user)
        {
            if s.users.len() < max_users {
                s.users.push(user.to_string());
            } else {
                users_dropped += 1;
            }
        }
        self.metrics.users_dropped += users_dropped;
        let in_window = s.recent.len() as u32;
        let reason = match s.episode {
            None if in_window >= threshold => "threshold",
            Some((_, last)) if s.failures >= last.saturating_mul(ESCALATION_FACTOR) => "escalation",
            _ => return,
        };
        let id = match s.episode {
            Some((id, _)) => id,
            None => {
                let id = self.next_episode;
                self.next_episode += 1;
                id
            }
        };
        s.episode = Some((id, s.failures));
        if reason == "threshold" {
            self.metrics.episodes += 1;
        } else {
            self.metrics.escalations += 1;
        }
        let mut d = Map::new();
        d.insert("episode".into(), json!(id));
        d.insert("reason".into(), json!(reason));
        source_details(&mut d, a, s, in_window);
        let msg = format!(
            "BRUTEFORCE {} password guessing by {src} on {}: {} failures, {} user names",
            a.service,
            a.host,
            s.failures,
            s.users.len()
        );
        out.alert(alert(a, SID_GUESSING, Severity::MEDIUM, msg, src, d));
    }

    /// One failure for an account, for distributed guessing.
    fn account_failure(
        &mut self,
        a: &AuthLog,
        src: IpAddr,
        target: u64,
        window_ns: i64,
        out: &mut dyn EngineOutput,
    ) {
        let Some(user) = a.user.as_deref() else {
            return;
        };
        let key = (self.hash(&[user]), target);
        let cap = self.config.max_sources_per_account.max(1);
        let acct = self.accounts.get_or_insert_with(&key, || AccountAuth {
            sources: Vec::new(),
            episode: None,
        });
        acct.sources
            .retain(|(_, t)| a.ts.0.saturating_sub(t.0) <= window_ns);
        if acct.sources.is_empty() {
            acct.episode = None;
        }
        match acct.sources.iter_mut().find(|(s, _)| *s == src) {
            Some(entry) => entry.1 = a.ts,
            None => {
                if acct.sources.len() >= cap {
                    // Forget the source seen longest ago.
                    if let Some(oldest) = (0..acct.sources.len()).min_by_key(|&i| acct.sources[i].1)
                    {
                        acct.sources.swap_remove(oldest);
                    }
                }
                acct.sources.push((src, a.ts));
            }
        }
        let n = acct.sources.len() as u32;
        let min = self.config.distributed_min_sources.max(2);
        let reason = match acct.episode {
            None if n >= min => "threshold",
            Some((_, last)) if n >= last.saturating_mul(2) => "escalation",
            _ => return,
        };
        let id = match acct.episode {
            Some((id, _)) => id,
            None => {
                let id = self.next_episode;
                self.next_episode += 1;
                id
            }
        };
        acct.episode = Some((id, n));
        self.metrics.distributed += 1;
        let mut d = Map::new();
        d.insert("episode".into(), json!(id));
        d.insert("reason".into(), json!(reason));
        d.insert("service".into(), json!(a.service));
        d.insert("host".into(), json!(a.host));
        d.insert("user".into(), json!(user));
        d.insert("sources".into(), json!(n));
        d.insert(
            "source_sample".into(),
            Value::Array(
                acct.sources
                    .iter()
                    .take(16)
                    .map(|(s, _)| json!(s.to_string()))
                    .collect(),
            ),
        );
        let msg = format!(
            "BRUTEFORCE {} distributed guessing of user {user:?} on {}: {n} sources",
            a.service, a.host
        );
        out.alert(alert(a, SID_DISTRIBUTED, Severity::MEDIUM, msg, src, d));
    }

    /// A successful login: a break-in when guessing from the same source preceded it.
    fn success(
        &mut self,
        a: &AuthLog,
        src: IpAddr,
        target: u64,
        window_ns: i64,
        out: &mut dyn EngineOutput,
    ) {
        let Some(s) = self.sources.get_mut(&(src, target)) else {
            return;
        };
        s.expire(a.ts, window_ns);
        let before = s.recent.len() as u32;
        if before < self.config.break_in_min_failures.max(1) {
            return;
        }
        self.metrics.break_ins += 1;
        let mut d = Map::new();
        if let Some((id, _)) = s.episode {
            d.insert("episode".into(), json!(id));
        }
        d.insert("user".into(), json!(a.user));
        if let Some(m) = &a.method {
            d.insert("method".into(), json!(m));
        }
        source_details(&mut d, a, s, before);
        d.insert(
            "seconds_since_first_failure".into(),
            json!(a.ts.seconds_since(s.first_seen)),
        );
        let msg = format!(
            "BRUTEFORCE {} break-in: {src} logged in as {} on {} after {} failures",
            a.service,
            a.user.as_deref().unwrap_or("?"),
            a.host,
            s.failures
        );
        // A later success needs fresh guessing to alert again.
        s.recent.clear();
        out.alert(alert(a, SID_BREAK_IN, Severity::HIGH, msg, src, d));
    }
}

/// The entry of (source, service+host), expired up to `ts`.
fn source_entry(
    sources: &mut LruMap<(IpAddr, u64), SourceAuth>,
    src: IpAddr,
    target: u64,
    ts: Timestamp,
    window_ns: i64,
) -> &mut SourceAuth {
    let s = sources.get_or_insert_with(&(src, target), || SourceAuth::new(ts));
    s.expire(ts, window_ns);
    s
}

fn source_details(d: &mut Map<String, Value>, a: &AuthLog, s: &SourceAuth, in_window: u32) {
    d.insert("service".into(), json!(a.service));
    d.insert("host".into(), json!(a.host));
    d.insert("failures".into(), json!(s.failures));
    d.insert("failures_in_window".into(), json!(in_window));
    d.insert("invalid_user_failures".into(), json!(s.invalid));
    d.insert("max_auth_disconnects".into(), json!(s.max_auth_disconnects));
    d.insert("user_count".into(), json!(s.users.len()));
    d.insert(
        "users".into(),
        Value::Array(s.users.iter().map(|u| json!(u)).collect()),
    );
    d.insert("first_seen".into(), json!(s.first_seen.to_string()));
    d.insert("last_seen".into(), json!(s.last_seen.to_string()));
}

fn alert(
    a: &AuthLog,
    sid: u32,
    severity: Severity,
    msg: String,
    src: IpAddr,
    details: Map<String, Value>,
) -> Alert {
    Alert {
        ts: a.ts,
        detector: "bruteforce".into(),
        gid: GID,
        sid,
        rev: 1,
        msg,
        category: if sid == SID_BREAK_IN {
            "Successful Administrator Privilege Gain".into()
        } else {
            "Attempted User Privilege Gain".into()
        },
        severity,
        src: Some(src),
        sport: a.port,
        dst: None,
        dport: None,
        protocol: Some(ip_proto::TCP),
        community_id: None,
        details,
    }
}

impl Detector for BruteforceDetector {
    fn name(&self) -> &'static str {
        "bruteforce"
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn on_record(
        &mut self,
        rec: &Record<'_>,
        _ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        if let Record::Auth(a) = rec {
            self.auth(a, out);
        }
    }
}
