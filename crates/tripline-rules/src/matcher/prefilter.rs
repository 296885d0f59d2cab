//! Which rules to verify for a packet, cheaply.
//!
//! Rules are grouped by protocol class (TCP, UDP, ICMP, other IP) and by the
//! address zones of the packet (source and destination inside or outside
//! the rules' home set, see [`super::address_set::Zones`]): a rule sits in
//! every group whose packets it could match, and a packet consults one
//! group. Within a group:
//! * rules with a fast pattern sit behind one multi-pattern scan per
//!   (buffer, transforms) ([`super::anchor_scan`]): a pattern found in the
//!   buffer makes its rules candidates;
//! * header-only rules (no buffer tests) sit in a header index: by source
//!   or destination address when the rule names specific prefixes (the IP
//!   reputation lists), else by destination port, else in a short list
//!   checked for every packet;
//! * the few rules with buffer tests but no usable fast pattern (only pcre,
//!   only negated contents) are candidates for every packet with that buffer.
//!
//! The scans are case-insensitive (a superset): verification decides.

use super::anchor_scan::AnchorScan;
use crate::buffer::{Buffer, Transform};
use crate::header::{AddressSpec, FlowDirection, PortSpec, Protocol};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use tripline_core::Cidr;

/// Protocol classes packets are sorted into.
pub(crate) const CLASSES: usize = 4;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The class of an IP protocol number.
pub(crate) fn class_of(proto: u8) -> usize {
    match proto {
        6 => 0,
        17 => 1,
        1 | 58 => 2,
        _ => 3,
    }
}

/// The classes a rule protocol can match.
pub(crate) fn classes_for(p: Protocol) -> &'static [usize] {
    match p {
        Protocol::Ip => &[0, 1, 2, 3],
        Protocol::Tcp | Protocol::TcpPkt | Protocol::TcpStream => &[0],
        Protocol::Udp => &[1],
        Protocol::Icmp => &[2],
        Protocol::App(crate::header::AppProto::Dns) => &[0, 1],
        Protocol::App(_) => &[0],
    }
}

/// Prefixes of a set that is a plain union of prefixes (no negation), or
/// `None`.
fn positive_prefixes(spec: &AddressSpec, out: &mut Vec<Cidr>) -> bool {
    match spec {
        AddressSpec::Cidr(c) => {
            out.push(*c);
            true
        }
        AddressSpec::List(items) => items.iter().all(|i| positive_prefixes(i, out)),
        AddressSpec::Any | AddressSpec::Not(_) => false,
    }
}

/// Ports of a small positive port set (at most `max`), or `None`.
fn positive_ports(spec: &PortSpec, out: &mut Vec<u16>, max: usize) -> bool {
    match spec {
        PortSpec::Range(lo, hi) => {
            if usize::from(hi - lo) + out.len() >= max {
                return false;
            }
            out.extend(*lo..=*hi);
            true
        }
        PortSpec::List(items) => items.iter().all(|i| positive_ports(i, out, max)),
        PortSpec::Any | PortSpec::Not(_) => false,
    }
}

/// Rules by the prefixes they name, looked up per distinct prefix length.
#[derive(Debug, Default)]
pub(crate) struct IpIndex {
    map: FastMap<(IpAddr, u8), Vec<u32>>,
    v4_lens: Vec<u8>,
    v6_lens: Vec<u8>,
}

impl IpIndex {
    fn insert(&mut self, c: Cidr, rule: u32) {
        let lens = if c.addr().is_ipv4() {
            &mut self.v4_lens
        } else {
            &mut self.v6_lens
        };
        if !lens.contains(&c.prefix_len()) {
            lens.push(c.prefix_len());
        }
        let list = self.map.entry((c.addr(), c.prefix_len())).or_default();
        if list.last() != Some(&rule) {
            list.push(rule);
        }
    }

    fn lookup(&self, ip: IpAddr, out: &mut Vec<u32>) {
        if self.map.is_empty() {
            return;
        }
        let lens = if ip.is_ipv4() {
            &self.v4_lens
        } else {
            &self.v6_lens
        };
        for &len in lens {
            if let Some(c) = Cidr::new(ip, len)
                && let Some(rules) = self.map.get(&(c.addr(), len))
            {
                out.extend_from_slice(rules);
            }
        }
    }
}

/// Header-only rules of one protocol class.
#[derive(Debug, Default)]
pub(crate) struct HeaderIndex {
    by_src: IpIndex,
    by_dst: IpIndex,
    by_dport: FastMap<u16, Vec<u32>>,
    by_sport: FastMap<u16, Vec<u32>>,
    rest: Vec<u32>,
}

/// Most ports a rule may list to be indexed by port.
const MAX_INDEXED_PORTS: usize = 64;

impl HeaderIndex {
    /// Files a rule under its most selective key: specific destination
    /// ports, else specific source ports, else narrow address prefixes
    /// (the reputation lists), else the list checked for every packet.
    fn insert(&mut self, rule: u32, h: &crate::header::RuleHeader) {
        if h.direction == FlowDirection::OneWay {
            let mut ports = Vec::new();
            if positive_ports(&h.dst_ports, &mut ports, MAX_INDEXED_PORTS) {
                ports.sort_unstable();
                ports.dedup();
                for p in ports {
                    self.by_dport.entry(p).or_default().push(rule);
                }
                return;
            }
            ports.clear();
            if positive_ports(&h.src_ports, &mut ports, MAX_INDEXED_PORTS) {
                ports.sort_unstable();
                ports.dedup();
                for p in ports {
                    self.by_sport.entry(p).or_default().push(rule);
                }
                return;
            }
            let (mut src, mut dst) = (Vec::new(), Vec::new());
            let narrow = |v: &[Cidr]| {
                !v.is_empty()
                    && v.iter()
                        .all(|c| c.prefix_len() >= if c.addr().is_ipv4() { 16 } else { 48 })
            };
            let src_ok = positive_prefixes(&h.src, &mut src) && narrow(&src);
            let dst_ok = positive_prefixes(&h.dst, &mut dst) && narrow(&dst);
            // Of two narrow sides, index the one with more (so rarer) prefixes.
            if src_ok && (!dst_ok || src.len() >= dst.len()) {
                src.iter().for_each(|c| self.by_src.insert(*c, rule));
                return;
            }
            if dst_ok {
                dst.iter().for_each(|c| self.by_dst.insert(*c, rule));
                return;
            }
        }
        self.rest.push(rule);
    }

    fn candidates(&self, src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>, out: &mut Vec<u32>) {
        self.by_src.lookup(src, out);
        self.by_dst.lookup(dst, out);
        if let Some((sport, dport)) = ports {
            if let Some(rules) = self.by_dport.get(&dport) {
                out.extend_from_slice(rules);
            }
            if let Some(rules) = self.by_sport.get(&sport) {
                out.extend_from_slice(rules);
            }
        }
        out.extend_from_slice(&self.rest);
    }
}

/// Which patterns one scan already reported, so a pattern that occurs a
/// thousand times adds its rules once.
#[derive(Debug, Default)]
pub(crate) struct ScanScratch {
    seen: Vec<u64>,
    hits: Vec<u32>,
}

/// One scan over the fast patterns of one (buffer, transforms).
#[derive(Debug)]
pub(crate) struct PatternIndex {
    pub buffer: Buffer,
    pub transforms: Vec<Transform>,
    scan: AnchorScan,
    rules_of: Vec<Vec<u32>>,
    /// The longest pattern, in bytes.
    max_len: usize,
}

/// A buffer with the transforms applied to it.
type BufferKey = (Buffer, Vec<Transform>);

/// A fast pattern to index, with the ports its rule admits.
#[derive(Clone)]
pub(crate) struct FastPatternEntry {
    pub rule: u32,
    pub buffer: Buffer,
    pub transforms: Vec<Transform>,
    pub bytes: Vec<u8>,
    pub src_ports: PortSpec,
    pub dst_ports: PortSpec,
    /// A `<>` rule: the ports may match either way round.
    pub both_ways: bool,
}

impl FastPatternEntry {
    /// True when the rule admits a packet between these ports (`None`: a
    /// packet without ports, which only port-`any` rules admit).
    fn admits(&self, ports: Option<(u16, u16)>) -> bool {
        match ports {
            None => self.src_ports.is_any() && self.dst_ports.is_any(),
            Some((s, d)) => {
                (self.src_ports.contains(s) && self.dst_ports.contains(d))
                    || (self.both_ways && self.src_ports.contains(d) && self.dst_ports.contains(s))
            }
        }
    }
}

/// One index per distinct (buffer, transforms) of `entries`.
fn build_indices<'a>(entries: impl Iterator<Item = &'a FastPatternEntry>) -> Vec<PatternIndex> {
    let mut by_key: Vec<(BufferKey, Vec<&FastPatternEntry>)> = Vec::new();
    for e in entries {
        match by_key
            .iter_mut()
            .find(|(k, _)| k.0 == e.buffer && k.1 == e.transforms)
        {
            Some((_, v)) => v.push(e),
            None => by_key.push(((e.buffer, e.transforms.clone()), vec![e])),
        }
    }
    by_key
        .into_iter()
        .map(|((buffer, transforms), entries)| {
            // One pattern per distinct (lowercased) byte string.
            let mut ids: HashMap<Vec<u8>, usize> = HashMap::new();
            let mut pats: Vec<Vec<u8>> = Vec::new();
            let mut rules_of: Vec<Vec<u32>> = Vec::new();
            for e in entries {
                let key = e.bytes.to_ascii_lowercase();
                let id = *ids.entry(key.clone()).or_insert_with(|| {
                    pats.push(key);
                    rules_of.push(Vec::new());
                    pats.len() - 1
                });
                if rules_of[id].last() != Some(&e.rule) {
                    rules_of[id].push(e.rule);
                }
            }
            PatternIndex {
                buffer,
                transforms,
                max_len: pats.iter().map(Vec::len).max().unwrap_or(0),
                scan: AnchorScan::new(&pats),
                rules_of,
            }
        })
        .collect()
}

/// Most port classes' pattern sets a group keeps built; past it the cache
/// is emptied and sets are rebuilt as packets need them.
const MAX_PORT_SETS: usize = 256;

/// The pattern indices of a port class pair, shared by the pairs that
/// admit the same patterns.
type SharedIndices = Arc<Vec<PatternIndex>>;

/// The payload fast patterns of a group, split by the packet's ports as
/// Suricata's port groups do: a packet between ports 80 and 41000 scans
/// only the patterns of rules admitting those ports. Ports are sorted into
/// classes (the intervals between every port boundary any rule names, so
/// every rule admits all or none of a class); the index of a (source class,
/// destination class) pair is built the first time a packet needs it (in a
/// [`PortCache`], one per matcher copy), and shared by every pair that
/// admits the same patterns (most ephemeral client ports do).
#[derive(Debug, Default)]
pub(crate) struct PortSplit {
    bounds: Vec<u16>,
    entries: Vec<FastPatternEntry>,
}

/// The indices a [`PortSplit`] built so far, bounded by [`MAX_PORT_SETS`].
#[derive(Debug, Default)]
pub(crate) struct PortCache {
    by_class: FastMap<(u32, u32), SharedIndices>,
    /// The built indices by the entries they admit.
    by_entries: FastMap<Vec<u32>, SharedIndices>,
    /// The last ports asked for and their indices (packets of one flow
    /// come in runs).
    last: Option<(Option<(u16, u16)>, SharedIndices)>,
    /// Times the cache was emptied because it held [`MAX_PORT_SETS`].
    pub evictions: u64,
}

impl std::fmt::Debug for FastPatternEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastPatternEntry")
            .field("rule", &self.rule)
            .field("buffer", &self.buffer)
            .finish_non_exhaustive()
    }
}

fn port_bounds(spec: &PortSpec, out: &mut Vec<u16>) {
    match spec {
        PortSpec::Any => {}
        PortSpec::Range(lo, hi) => {
            out.push(*lo);
            if let Some(next) = hi.checked_add(1) {
                out.push(next);
            }
        }
        PortSpec::List(items) => items.iter().for_each(|i| port_bounds(i, out)),
        PortSpec::Not(inner) => port_bounds(inner, out),
    }
}

impl PortSplit {
    fn new(entries: Vec<FastPatternEntry>) -> Self {
        let mut bounds = vec![0u16];
        for e in &entries {
            port_bounds(&e.src_ports, &mut bounds);
            port_bounds(&e.dst_ports, &mut bounds);
        }
        bounds.sort_unstable();
        bounds.dedup();
        PortSplit { bounds, entries }
    }

    /// The class of a port: the index of its interval.
    fn class(&self, port: u16) -> u32 {
        (self.bounds.partition_point(|&b| b <= port) - 1) as u32
    }

    /// The indices of the payload patterns whose rules admit these ports,
    /// built into `cache` on first use.
    pub(crate) fn indices<'c>(
        &self,
        cache: &'c mut PortCache,
        ports: Option<(u16, u16)>,
    ) -> &'c [PatternIndex] {
        if self.entries.is_empty() {
            return &[];
        }
        if cache.last.as_ref().is_none_or(|(p, _)| *p != ports) {
            let built = self.lookup(cache, ports);
            cache.last = Some((ports, built));
        }
        cache
            .last
            .as_ref()
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }

    fn lookup(&self, cache: &mut PortCache, ports: Option<(u16, u16)>) -> SharedIndices {
        let key = match ports {
            Some((s, d)) => (self.class(s), self.class(d)),
            None => (u32::MAX, u32::MAX),
        };
        if let Some(b) = cache.by_class.get(&key) {
            return b.clone();
        }
        if cache.by_class.len() >= MAX_PORT_SETS {
            cache.by_class.clear();
            cache.by_entries.clear();
            cache.evictions += 1;
        }
        // Every port of a class behaves as its first one.
        let rep = ports.map(|_| (self.bounds[key.0 as usize], self.bounds[key.1 as usize]));
        let admitted: Vec<u32> = (0u32..)
            .zip(&self.entries)
            .filter(|(_, e)| e.admits(rep))
            .map(|(i, _)| i)
            .collect();
        let built = match cache.by_entries.get(&admitted) {
            Some(b) => b.clone(),
            None => {
                let entries = &self.entries;
                let b = Arc::new(build_indices(
                    admitted.iter().map(|&i| &entries[i as usize]),
                ));
                cache.by_entries.insert(admitted, b.clone());
                b
            }
        };
        cache.by_class.insert(key, built.clone());
        built
    }

    /// Distinct payload fast patterns (over all ports).
    fn len(&self) -> usize {
        let mut seen: Vec<Vec<u8>> = self
            .entries
            .iter()
            .map(|e| e.bytes.to_ascii_lowercase())
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

/// The prefilter of one protocol class and zone pair.
#[derive(Debug, Default)]
pub(crate) struct Group {
    /// Fast patterns in application buffers (one index per buffer).
    pub patterns: Vec<PatternIndex>,
    /// Fast patterns in the packet payload, split by ports.
    pub payload: PortSplit,
    pub header: HeaderIndex,
    /// Rules without a usable fast pattern, by the first buffer they need.
    pub always: Vec<(Buffer, u32)>,
}

/// Builds the groups.
#[derive(Default)]
pub(crate) struct GroupBuilder {
    fast: Vec<Vec<FastPatternEntry>>,
    header: Vec<HeaderIndex>,
    always: Vec<Vec<(Buffer, u32)>>,
}

impl GroupBuilder {
    /// A builder of `groups` groups, numbered from 0.
    pub(crate) fn new(groups: usize) -> Self {
        GroupBuilder {
            fast: (0..groups).map(|_| Vec::new()).collect(),
            header: (0..groups).map(|_| HeaderIndex::default()).collect(),
            always: (0..groups).map(|_| Vec::new()).collect(),
        }
    }

    pub(crate) fn header_only(
        &mut self,
        groups: &[usize],
        rule: u32,
        h: &crate::header::RuleHeader,
    ) {
        for &c in groups {
            self.header[c].insert(rule, h);
        }
    }

    pub(crate) fn fast_pattern(&mut self, groups: &[usize], e: FastPatternEntry) {
        let Some((&first, rest)) = groups.split_first() else {
            return;
        };
        for &c in rest {
            self.fast[c].push(e.clone());
        }
        self.fast[first].push(e);
    }

    pub(crate) fn always(&mut self, groups: &[usize], buffer: Buffer, rule: u32) {
        for &c in groups {
            self.always[c].push((buffer, rule));
        }
    }

    /// Builds the groups.
    pub(crate) fn build(self) -> Vec<Group> {
        self.fast
            .into_iter()
            .zip(self.header)
            .zip(self.always)
            .map(|((fast, header), always)| {
                let (payload, app): (Vec<_>, Vec<_>) =
                    fast.into_iter().partition(|e| e.buffer == Buffer::Packet);
                Group {
                    patterns: build_indices(app.iter()),
                    payload: PortSplit::new(payload),
                    header,
                    always,
                }
            })
            .collect()
    }
}

impl Group {
    /// Adds the header-only candidates for a packet.
    pub(crate) fn header_candidates(
        &self,
        src: IpAddr,
        dst: IpAddr,
        ports: Option<(u16, u16)>,
        out: &mut Vec<u32>,
    ) {
        self.header.candidates(src, dst, ports, out);
    }

    /// Distinct fast patterns indexed.
    pub(crate) fn pattern_count(&self) -> usize {
        self.patterns.iter().map(PatternIndex::len).sum::<usize>() + self.payload.len()
    }
}

impl PatternIndex {
    /// Adds the rules whose fast pattern occurs in `data`, once per
    /// pattern however often it occurs.
    pub(crate) fn candidates(&self, data: &[u8], scratch: &mut ScanScratch, out: &mut Vec<u32>) {
        let words = self.rules_of.len().div_ceil(64);
        if scratch.seen.len() < words {
            scratch.seen.resize(words, 0);
        }
        let ScanScratch { seen, hits } = scratch;
        self.scan.scan(data, |id| {
            let (w, bit) = (id as usize / 64, 1u64 << (id % 64));
            if seen[w] & bit == 0 {
                seen[w] |= bit;
                hits.push(id);
                out.extend_from_slice(&self.rules_of[id as usize]);
            }
        });
        for id in hits.drain(..) {
            seen[id as usize / 64] = 0;
        }
    }

    /// Number of distinct patterns.
    pub(crate) fn len(&self) -> usize {
        self.rules_of.len()
    }

    /// The longest pattern, in bytes: a scan resuming after earlier bytes
    /// needs this many minus one of them again to find patterns spanning
    /// the boundary.
    pub(crate) fn max_len(&self) -> usize {
        self.max_len
    }
}
