//! The DNS name cache: which name a client had just resolved when it
//! connected to an address.
//!
//! It learns address → name from DNS answers (dnsmasq log records and DNS
//! response packets alike, both arrive as [`DnsLog`]s): for each A/AAAA
//! answer, the name the client *asked for* (a CNAME chain
//! `video.example.com → files.example.net → 10.99.2.3` names the address
//! `video.example.com`, and the chain is kept), when it was answered, and
//! until when the answer is valid (its TTL, or [`DnsCacheConfig::default_ttl`]
//! for dnsmasq logs, which carry none).
//!
//! # Time-ordered history, looked up at the connection's start
//!
//! Answers are kept as history: per (client, address) the last few distinct
//! names with their answer time and expiry, and per address the same across
//! all clients. A connection is named by [`DnsCache::lookup`] with its own
//! start time: only answers given *before* the connection started, and still
//! within TTL plus [`DnsCacheConfig::grace`] then, count. Among those the
//! latest answer to the same client wins; failing that (when
//! [`DnsCacheConfig::any_client_fallback`] is on) the latest answer to any
//! client. Everything valid at that time is returned as candidates.
//!
//! Because the lookup uses the connection's start time rather than the time
//! it is asked, naming a flow when its record is emitted (at its end) gives
//! exactly the name a lookup on its first packet would have given; and when
//! inputs are read one file after another (a whole day of dnsmasq log, then
//! the day's firewall log), answers that arrive *after* a connection never
//! name it. Repeated answers of the same name whose validity overlaps are
//! merged into one interval, so a busy client's history is not flushed by
//! its own refreshes.
//!
//! # Bounds
//!
//! Both indexes are [`LruMap`]s with configured caps (least recently used
//! entries evicted, counted in [`DnsCacheMetrics`]); each history holds at
//! most [`PAIR_HISTORY`] or [`ADDRESS_HISTORY`] names (the oldest answer is
//! dropped, counted); a kept CNAME chain has at most [`MAX_CHAIN`] links.

use crate::lru::LruMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tripline_core::{DnsData, DnsEvent, DnsLog, Timestamp};

/// Distinct names remembered per (client, address).
pub const PAIR_HISTORY: usize = 4;
/// Distinct names remembered per address across all clients (CDN addresses
/// serve many names).
pub const ADDRESS_HISTORY: usize = 8;
/// Most links of a CNAME chain kept (the question name first).
pub const MAX_CHAIN: usize = 8;

/// DNS cache settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsCacheConfig {
    /// Validity of an answer whose TTL is unknown (dnsmasq logs). Default 300 s.
    pub default_ttl: Duration,
    /// How long past its TTL an answer still names a connection (clients and
    /// resolvers round; a connection may start just after expiry). Default 2 s.
    pub grace: Duration,
    /// Most (client, address) histories kept. Default 262,144.
    pub max_pairs: usize,
    /// Most address histories (any client) kept. Default 131,072.
    pub max_addresses: usize,
    /// When the connecting client itself never resolved the address, name
    /// the connection from another client's answer. Default on (a dual-stack
    /// host resolves over IPv4 and connects over IPv6; a browser asks through
    /// a DNS-over-HTTPS proxy on the same network).
    pub any_client_fallback: bool,
}

impl Default for DnsCacheConfig {
    fn default() -> Self {
        DnsCacheConfig {
            default_ttl: Duration::from_secs(300),
            grace: Duration::from_secs(2),
            max_pairs: 262_144,
            max_addresses: 131_072,
            any_client_fallback: true,
        }
    }
}

/// Counters of the DNS cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsCacheMetrics {
    /// DNS answer records (reply, cached, config, hosts) learned from.
    pub answers: u64,
    /// Address answers recorded (one per A/AAAA record).
    pub addresses: u64,
    /// Address answers that were blocks (sinkhole addresses).
    pub blocked_addresses: u64,
    /// Connection lookups.
    pub lookups: u64,
    /// Lookups named from the same client's answer.
    pub named_same_client: u64,
    /// Lookups named from another client's answer.
    pub named_other_client: u64,
    /// Lookups with no valid preceding answer ("direct").
    pub direct: u64,
    /// (client, address) histories evicted because the cap was reached.
    pub pairs_evicted: u64,
    /// Address histories evicted because the cap was reached.
    pub addresses_evicted: u64,
    /// Older names dropped from a full history.
    pub history_dropped: u64,
    /// CNAME chains cut at [`MAX_CHAIN`] links.
    pub chains_truncated: u64,
}

/// A resolved name as a connection carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameInfo {
    /// The name the client asked for (lower case).
    pub name: Arc<str>,
    /// The CNAME chain from the asked name to the owner of the address
    /// record, both included (one element when there was no CNAME).
    pub chain: Box<[Arc<str>]>,
    /// The resolver answered with a block (sinkhole address).
    pub blocked: bool,
}

/// Whose answer named the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameScope {
    /// The connecting client's own lookup.
    SameClient,
    /// Another client's lookup (fallback).
    OtherClient,
}

impl NameScope {
    /// `same_client` or `other_client`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameScope::SameClient => "same_client",
            NameScope::OtherClient => "other_client",
        }
    }
}

#[derive(Clone, Debug)]
struct Sighting {
    /// First answer of this validity interval.
    first_at: Timestamp,
    /// Latest answer merged into it.
    last_at: Timestamp,
    /// Valid until (latest answer + TTL).
    expires: Timestamp,
    client: Option<IpAddr>,
    info: Arc<NameInfo>,
}

impl Sighting {
    fn valid_at(&self, at: Timestamp, grace: i64) -> bool {
        self.first_at <= at && at <= self.expires.add_nanos(grace)
    }

    /// The time of the latest answer known to precede `at`.
    fn rank_at(&self, at: Timestamp) -> Timestamp {
        if self.last_at <= at {
            self.last_at
        } else {
            self.first_at
        }
    }
}

/// A bounded list of recent answers for one key.
#[derive(Clone, Debug, Default)]
struct History {
    items: Vec<Sighting>,
}

impl History {
    /// Records `s`; returns true when an older answer was dropped to make room.
    fn record(&mut self, s: Sighting, cap: usize) -> bool {
        if let Some(x) = self.items.iter_mut().find(|x| {
            x.client == s.client
                && x.info.name == s.info.name
                && x.info.blocked == s.info.blocked
                && s.first_at <= x.expires
                && s.first_at >= x.first_at
        }) {
            x.last_at = x.last_at.max(s.last_at);
            x.expires = x.expires.max(s.expires);
            x.info = s.info;
            return false;
        }
        if self.items.len() < cap {
            if self.items.capacity() == 0 {
                self.items.reserve_exact(cap);
            }
            self.items.push(s);
            return false;
        }
        if let Some(oldest) = self.items.iter_mut().min_by_key(|x| x.last_at) {
            *oldest = s;
        }
        true
    }

    /// The latest valid answer at `at` (ties: the one recorded later).
    fn best(&self, at: Timestamp, grace: i64) -> Option<&Sighting> {
        let mut best: Option<&Sighting> = None;
        for s in self.items.iter().filter(|s| s.valid_at(at, grace)) {
            if best.is_none_or(|b| s.rank_at(at) >= b.rank_at(at)) {
                best = Some(s);
            }
        }
        best
    }
}

/// The name chosen for a connection.
#[derive(Clone, Copy, Debug)]
pub struct NameMatch<'a> {
    /// The name and its chain.
    pub info: &'a NameInfo,
    /// Whose lookup it was.
    pub scope: NameScope,
    /// When that answer was given (the latest one before the connection).
    pub answered_at: Timestamp,
    /// The client that was answered, when known.
    pub client: Option<IpAddr>,
}

/// What the cache knows about one connection's responder address.
#[derive(Clone, Copy, Debug)]
pub struct NameLookup<'a> {
    best: Option<NameMatch<'a>>,
    own: Option<&'a History>,
    any: Option<&'a History>,
    at: Timestamp,
    grace: i64,
}

impl<'a> NameLookup<'a> {
    /// No name: no lookup preceded the connection (or it was not looked up).
    pub fn direct() -> NameLookup<'static> {
        NameLookup {
            best: None,
            own: None,
            any: None,
            at: Timestamp::ZERO,
            grace: 0,
        }
    }

    /// The chosen name, if any.
    pub fn best(&self) -> Option<&NameMatch<'a>> {
        self.best.as_ref()
    }

    /// The chosen name as text.
    pub fn name(&self) -> Option<&'a str> {
        self.best.map(|m| &*m.info.name)
    }

    /// True when no name applies.
    pub fn is_direct(&self) -> bool {
        self.best.is_none()
    }

    /// Every distinct name valid for the address at the connection's start,
    /// the chosen one first, then the client's own, then other clients'.
    pub fn candidates(&self) -> impl Iterator<Item = &'a NameInfo> + '_ {
        let own = self.own.map(|h| h.items.as_slice()).unwrap_or(&[]);
        let any = self.any.map(|h| h.items.as_slice()).unwrap_or(&[]);
        let valid = move |s: &&'a Sighting| s.valid_at(self.at, self.grace);
        let all = own.iter().filter(valid).chain(any.iter().filter(valid));
        let first = self.best.map(|m| m.info);
        first.into_iter().chain(
            all.enumerate()
                .filter(move |(i, s)| {
                    if first.is_some_and(|f| f.name == s.info.name) {
                        return false;
                    }
                    // Skip names an earlier candidate already gave.
                    own.iter()
                        .filter(valid)
                        .chain(any.iter().filter(valid))
                        .take(*i)
                        .all(|e| e.info.name != s.info.name)
                })
                .map(|(_, s)| &*s.info),
        )
    }
}

/// The cache; see the module documentation.
pub struct DnsCache {
    config: DnsCacheConfig,
    pairs: LruMap<(IpAddr, IpAddr), History>,
    addrs: LruMap<IpAddr, History>,
    metrics: DnsCacheMetrics,
}

impl DnsCache {
    /// An empty cache.
    pub fn new(config: DnsCacheConfig) -> Self {
        DnsCache {
            pairs: LruMap::new(config.max_pairs),
            addrs: LruMap::new(config.max_addresses),
            config,
            metrics: DnsCacheMetrics::default(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &DnsCacheConfig {
        &self.config
    }

    /// Counters so far.
    pub fn metrics(&self) -> DnsCacheMetrics {
        DnsCacheMetrics {
            pairs_evicted: self.pairs.evicted(),
            addresses_evicted: self.addrs.evicted(),
            ..self.metrics
        }
    }

    /// (client, address) histories held.
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }

    /// Approximate heap bytes held by the indexes (names shared by answers
    /// are counted once per answer record, not per address).
    pub fn memory_estimate(&self) -> usize {
        let per_pair = PAIR_HISTORY * std::mem::size_of::<Sighting>();
        let per_addr = ADDRESS_HISTORY * std::mem::size_of::<Sighting>();
        self.pairs.memory_estimate()
            + self.addrs.memory_estimate()
            + self.pairs.len() * per_pair
            + self.addrs.len() * per_addr
    }

    /// Learns from one DNS event; questions and forwards teach nothing.
    pub fn learn(&mut self, d: &DnsLog) {
        if !matches!(
            d.event,
            DnsEvent::Reply | DnsEvent::Cached | DnsEvent::Config | DnsEvent::Hosts
        ) || !names_addresses(&d.qtype, &d.name)
        {
            return;
        }
        self.metrics.answers += 1;
        let mut info: Option<Arc<NameInfo>> = None;
        let mut chain_ttl: Option<u32> = None;
        for a in &d.answers {
            match &a.data {
                DnsData::Cname(_) => {
                    if let Some(t) = a.ttl {
                        chain_ttl = Some(chain_ttl.map_or(t, |c| c.min(t)));
                    }
                }
                DnsData::Addr(addr) => {
                    let info = info.get_or_insert_with(|| self.name_info(d)).clone();
                    let ttl = match (a.ttl, chain_ttl) {
                        (Some(t), Some(c)) => Some(t.min(c)),
                        (t, c) => t.or(c),
                    };
                    let ttl_nanos =
                        ttl.map_or(nanos(self.config.default_ttl), |t| t as i64 * 1_000_000_000);
                    self.record(*addr, d.client, d.ts, d.ts.add_nanos(ttl_nanos), info);
                }
                _ => {}
            }
        }
    }

    fn record(
        &mut self,
        addr: IpAddr,
        client: Option<IpAddr>,
        at: Timestamp,
        expires: Timestamp,
        info: Arc<NameInfo>,
    ) {
        self.metrics.addresses += 1;
        if info.blocked {
            self.metrics.blocked_addresses += 1;
        }
        let s = Sighting {
            first_at: at,
            last_at: at,
            expires,
            client,
            info,
        };
        if let Some(c) = client
            && self
                .pairs
                .get_or_insert_with(&(c, addr), History::default)
                .record(s.clone(), PAIR_HISTORY)
        {
            self.metrics.history_dropped += 1;
        }
        if self
            .addrs
            .get_or_insert_with(&addr, History::default)
            .record(s, ADDRESS_HISTORY)
        {
            self.metrics.history_dropped += 1;
        }
    }

    /// The question name and CNAME chain of an answer record.
    fn name_info(&mut self, d: &DnsLog) -> Arc<NameInfo> {
        let question = if d.name.is_empty() {
            d.answers.first().map_or("", |a| a.name.as_str())
        } else {
            d.name.as_str()
        };
        let mut chain: Vec<Arc<str>> = Vec::with_capacity(2);
        let push = |n: &str, chain: &mut Vec<Arc<str>>| {
            let n = n.trim_end_matches('.');
            if n.is_empty() || chain.last().is_some_and(|l| l.eq_ignore_ascii_case(n)) {
                return true;
            }
            if chain.len() >= MAX_CHAIN {
                return false;
            }
            chain.push(Arc::from(n.to_ascii_lowercase()));
            true
        };
        let mut complete = push(question, &mut chain);
        for a in &d.answers {
            complete &= push(&a.name, &mut chain);
            if let DnsData::Cname(target) = &a.data {
                complete &= push(target, &mut chain);
            }
        }
        if !complete {
            self.metrics.chains_truncated += 1;
        }
        let name = chain.first().cloned().unwrap_or_else(|| Arc::from(""));
        Arc::new(NameInfo {
            name,
            chain: chain.into_boxed_slice(),
            blocked: d.blocked,
        })
    }

    /// The name for a connection from `client` to `addr` that started at
    /// `at`; see the module documentation for the rules.
    pub fn lookup(&mut self, client: IpAddr, addr: IpAddr, at: Timestamp) -> NameLookup<'_> {
        let grace = nanos(self.config.grace);
        let DnsCache {
            config,
            pairs,
            addrs,
            metrics,
        } = self;
        metrics.lookups += 1;
        let own: Option<&History> = pairs.get_mut(&(client, addr)).map(|h| &*h);
        let any: Option<&History> = addrs.get_mut(&addr).map(|h| &*h);
        let mut best = own.and_then(|h| h.best(at, grace)).map(|s| NameMatch {
            info: &s.info,
            scope: NameScope::SameClient,
            answered_at: s.rank_at(at),
            client: s.client,
        });
        if best.is_some() {
            metrics.named_same_client += 1;
        } else if config.any_client_fallback {
            best = any.and_then(|h| h.best(at, grace)).map(|s| NameMatch {
                info: &s.info,
                scope: if s.client == Some(client) {
                    NameScope::SameClient
                } else {
                    NameScope::OtherClient
                },
                answered_at: s.rank_at(at),
                client: s.client,
            });
            match best.map(|b| b.scope) {
                Some(NameScope::SameClient) => metrics.named_same_client += 1,
                Some(NameScope::OtherClient) => metrics.named_other_client += 1,
                None => metrics.direct += 1,
            }
        } else {
            metrics.direct += 1;
        }
        NameLookup {
            best,
            own,
            any,
            at,
            grace,
        }
    }
}

/// True when answers to this question name addresses for connections: A,
/// AAAA, ANY or unknown types, and never reverse (`in-addr.arpa`) lookups.
fn names_addresses(qtype: &str, name: &str) -> bool {
    let reverse = {
        let n = name.trim_end_matches('.').as_bytes();
        n.len() >= 5 && n[n.len() - 5..].eq_ignore_ascii_case(b".arpa")
    };
    !reverse
        && (qtype.is_empty()
            || qtype.eq_ignore_ascii_case("A")
            || qtype.eq_ignore_ascii_case("AAAA")
            || qtype.eq_ignore_ascii_case("ANY"))
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
#[path = "dns_cache_tests.rs"]
mod tests;
