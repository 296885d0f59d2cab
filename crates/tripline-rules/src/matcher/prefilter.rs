//! Which rules to verify for a packet, cheaply.
//!
//! Rules are grouped by protocol class (TCP, UDP, ICMP, other IP). Within a
//! group:
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
use tripline_core::Cidr;

/// Protocol classes packets are sorted into.
pub(crate) const CLASSES: usize = 4;

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
    map: HashMap<(IpAddr, u8), Vec<u32>>,
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
    by_dport: HashMap<u16, Vec<u32>>,
    by_sport: HashMap<u16, Vec<u32>>,
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

/// One scan over the fast patterns of one (buffer, transforms).
#[derive(Debug)]
pub(crate) struct PatternIndex {
    pub buffer: Buffer,
    pub transforms: Vec<Transform>,
    scan: AnchorScan,
    rules_of: Vec<Vec<u32>>,
    /// Offset of this index's patterns in the matcher's per-pattern stamps.
    base: usize,
}

/// A buffer with the transforms applied to it.
type BufferKey = (Buffer, Vec<Transform>);

/// A fast pattern to index.
pub(crate) struct FastPatternEntry {
    pub rule: u32,
    pub buffer: Buffer,
    pub transforms: Vec<Transform>,
    pub bytes: Vec<u8>,
}

/// The prefilter of one protocol class.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub patterns: Vec<PatternIndex>,
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
    pub(crate) fn new() -> Self {
        GroupBuilder {
            fast: (0..CLASSES).map(|_| Vec::new()).collect(),
            header: (0..CLASSES).map(|_| HeaderIndex::default()).collect(),
            always: (0..CLASSES).map(|_| Vec::new()).collect(),
        }
    }

    pub(crate) fn header_only(
        &mut self,
        classes: &[usize],
        rule: u32,
        h: &crate::header::RuleHeader,
    ) {
        for &c in classes {
            self.header[c].insert(rule, h);
        }
    }

    pub(crate) fn fast_pattern(&mut self, classes: &[usize], e: FastPatternEntry) {
        for &c in &classes[1..] {
            self.fast[c].push(FastPatternEntry {
                rule: e.rule,
                buffer: e.buffer,
                transforms: e.transforms.clone(),
                bytes: e.bytes.clone(),
            });
        }
        self.fast[classes[0]].push(e);
    }

    pub(crate) fn always(&mut self, classes: &[usize], buffer: Buffer, rule: u32) {
        for &c in classes {
            self.always[c].push((buffer, rule));
        }
    }

    /// Builds the groups; also returns the total number of patterns (the
    /// length of the per-pattern stamp table).
    pub(crate) fn build(self) -> Result<(Vec<Group>, usize), String> {
        let mut groups = Vec::new();
        let mut base = 0usize;
        for ((fast, header), always) in self.fast.into_iter().zip(self.header).zip(self.always) {
            let mut by_key: Vec<(BufferKey, Vec<FastPatternEntry>)> = Vec::new();
            for e in fast {
                match by_key
                    .iter_mut()
                    .find(|(k, _)| k.0 == e.buffer && k.1 == e.transforms)
                {
                    Some((_, v)) => v.push(e),
                    None => by_key.push(((e.buffer, e.transforms.clone()), vec![e])),
                }
            }
            let mut patterns = Vec::new();
            for ((buffer, transforms), entries) in by_key {
                // One automaton pattern per distinct (lowercased) byte string.
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
                let scan = AnchorScan::new(&pats);
                let n = rules_of.len();
                patterns.push(PatternIndex {
                    buffer,
                    transforms,
                    scan,
                    rules_of,
                    base,
                });
                base += n;
            }
            groups.push(Group {
                patterns,
                header,
                always,
            });
        }
        Ok((groups, base))
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
}

impl PatternIndex {
    /// Adds the rules whose fast pattern occurs in `data`, once per
    /// pattern however often it occurs (`stamps` holds the generation in
    /// which each pattern was last seen).
    pub(crate) fn candidates(
        &self,
        data: &[u8],
        stamps: &mut [u32],
        generation: u32,
        out: &mut Vec<u32>,
    ) {
        self.scan.scan(data, |id| {
            let id = id as usize;
            let stamp = &mut stamps[self.base + id];
            if *stamp != generation {
                *stamp = generation;
                out.extend_from_slice(&self.rules_of[id]);
            }
        });
    }

    /// Number of distinct patterns.
    pub(crate) fn len(&self) -> usize {
        self.rules_of.len()
    }
}
