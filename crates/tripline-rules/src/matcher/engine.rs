//! The signature matcher: compiled rules, the prefilter, and per-packet
//! inspection with flowbits, xbits, thresholds and pass rules.

use super::address_set::{AddressSet, ZONE_PAIRS, Zones};
use super::compile::{CompileError, CompiledDetections, compile_detections};
use super::context::Inspect;
use super::cross_flow::{CrossFlow, CrossRule, Pending, XbitOp};
use super::header_match::{endpoints_match, flow_matches, header_test_matches, protocol_matches};
use super::inspect::ListRun;
use super::prefilter::{
    CLASSES, FastPatternEntry, Group, GroupBuilder, PortCache, ScanScratch, class_of, classes_for,
};
use super::state::FlowBits;
use super::stream_use::{StreamUse, stream_use_of};
use super::traffic::TrafficTag;
use super::transform::apply_transforms;
use crate::buffer::{Buffer, Transform};
use crate::header::{Action, Protocol, RuleHeader};
use crate::options::{BitOp, Flow, HeaderTest};
use crate::rule::{Detection, Rule};
use std::collections::HashMap;
use std::sync::Arc;

/// Bounds of the matcher's cross-packet state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatcherLimits {
    /// Threshold/detection_filter windows kept.
    pub max_threshold_windows: usize,
    /// xbits kept.
    pub max_xbits: usize,
}

impl Default for MatcherLimits {
    fn default() -> Self {
        MatcherLimits {
            max_threshold_windows: 100_000,
            max_xbits: 100_000,
        }
    }
}

/// A rule that matched a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in the slice given to [`SignatureMatcher::new`].
    pub rule: usize,
    /// In deferred mode, a match that cross-flow state (xbits,
    /// thresholds) still has to decide: settle it with
    /// [`CrossFlow::settle`], which says how many alerts it raises.
    /// `None`: the match alerts once.
    pub pending: Option<Pending>,
    /// The match was on the reassembled stream data of the packet's
    /// direction (raw stream inspection), not on the packet alone nor on
    /// an application buffer (Suricata's alert `stream` flag). With
    /// several hits (stream and packet), the first alert is the stream's.
    pub stream: bool,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatcherStats {
    /// Packets inspected.
    pub packets: u64,
    /// Rules verified after the prefilter chose them.
    pub candidates: u64,
    /// Candidates (before de-duplication) from the header index.
    pub header_candidates: u64,
    /// Candidates (before de-duplication) from fast-pattern hits.
    pub pattern_candidates: u64,
    /// Candidates (before de-duplication) without a usable fast pattern.
    pub always_candidates: u64,
    /// Bytes the fast-pattern scans read (payloads, stream chunks and
    /// application buffers, once per scan).
    pub scanned_bytes: u64,
    /// Rules that matched (before thresholds and noalert).
    pub matches: u64,
    /// Matches that raised an alert.
    pub alerts: u64,
    /// Matches suppressed by threshold / detection_filter.
    pub thresholded: u64,
    /// Packets whose alerts a matching `pass` rule cancelled.
    pub passed: u64,
    /// Flowbit sets dropped because the flow held the maximum.
    pub flowbits_dropped: u64,
}

impl MatcherStats {
    /// Adds another matcher's counters (parallel workers).
    pub fn add(&mut self, o: &MatcherStats) {
        self.packets += o.packets;
        self.candidates += o.candidates;
        self.header_candidates += o.header_candidates;
        self.pattern_candidates += o.pattern_candidates;
        self.always_candidates += o.always_candidates;
        self.scanned_bytes += o.scanned_bytes;
        self.matches += o.matches;
        self.alerts += o.alerts;
        self.thresholded += o.thresholded;
        self.passed += o.passed;
        self.flowbits_dropped += o.flowbits_dropped;
    }
}

struct FlowbitOp {
    op: BitOp,
    ids: Vec<u16>,
    any: bool,
}

struct CompiledRule {
    source: usize,
    stream_use: StreamUse,
    header: RuleHeader,
    /// The header's source and destination addresses as range sets.
    src_set: AddressSet,
    dst_set: AddressSet,
    pass: bool,
    flow: Flow,
    header_tests: Vec<HeaderTest>,
    detections: CompiledDetections,
    flowbits: Vec<FlowbitOp>,
    noalert: bool,
    /// Reads or writes xbits or thresholds (see [`CrossFlow`]).
    cross_flow: bool,
    /// IP-only: matched on the first packet of each flow direction only.
    ip_only: bool,
    /// Inspects an application buffer (or names an application protocol
    /// and tests nothing else): evaluated on transactions too (the others
    /// on packets only).
    app_rule: bool,
}

/// Compiled rules ready to match packets; see the module documentation.
pub struct SignatureMatcher {
    /// The compiled rules, shared by the copies of parallel workers.
    rules: Arc<Vec<CompiledRule>>,
    /// Prefilter groups, by protocol class × zone pair (shared).
    groups: Arc<Vec<Group>>,
    /// Per group, the payload pattern indices built so far (each copy its
    /// own).
    port_caches: Vec<PortCache>,
    zones: Arc<Zones>,
    /// xbits and thresholds, with each compiled rule's options for them.
    cross: CrossFlow,
    /// Report cross-flow matches as [`Pending`] instead of deciding them.
    defer: bool,
    stamps: Vec<u32>,
    scratch: ScanScratch,
    generation: u32,
    candidates: Vec<u32>,
    transformed: TransformCache,
    stats: MatcherStats,
    /// Flowbits with a traffic prefix (usually none), in id order.
    traffic: Arc<Vec<TrafficTag>>,
}

/// How a rule matched one packet: the number of alerts and whether the
/// first was on the stream data.
#[derive(Clone, Copy, Debug, Default)]
struct Hits {
    count: u32,
    on_stream: bool,
}

/// Evaluation order, after Suricata's: pass rules first (so they can
/// cancel the packet's alerts); then "IP-only" rules (addresses and any
/// ports, nothing else to test, flowbits only written), which Suricata
/// runs in a separate engine before a packet's other rules; then, by
/// flowbits, rules that test and set them, rules that only set them,
/// rules that only test them, the rest; then file order.
fn order_key(r: &Rule) -> (u8, u8, u8) {
    let pass = u8::from(r.header.action != Action::Pass);
    let sets = r
        .flowbits
        .iter()
        .any(|f| matches!(f.op, BitOp::Set | BitOp::Unset | BitOp::Toggle));
    let tests = r
        .flowbits
        .iter()
        .any(|f| matches!(f.op, BitOp::IsSet | BitOp::IsNotSet));
    let flowbits = match (sets, tests) {
        (true, true) => 0,
        (true, false) => 1,
        (false, true) => 2,
        (false, false) => 3,
    };
    (pass, u8::from(!is_ip_only(r)), flowbits)
}

/// Suricata's "IP-only" rules: nothing to test beyond addresses and
/// protocol (any ports, no payload, header or flow tests, flowbits only
/// written). Suricata runs them in their own engine, first, once per flow
/// direction.
fn is_ip_only(r: &Rule) -> bool {
    r.detections.is_empty()
        && r.header_tests.is_empty()
        && r.flow == Flow::default()
        && r.header.src_ports.is_any()
        && r.header.dst_ports.is_any()
        && !matches!(r.header.protocol, Protocol::App(_))
        && r.xbits.is_empty()
        && r.flowbits
            .iter()
            .all(|f| !matches!(f.op, BitOp::IsSet | BitOp::IsNotSet))
}

impl SignatureMatcher {
    /// Compiles `rules`. Rules the matcher cannot run are left out and
    /// returned with their index and reason.
    pub fn new(rules: &[Rule], limits: MatcherLimits) -> (Self, Vec<(usize, CompileError)>) {
        let mut refused = Vec::new();
        let mut names: HashMap<String, u16> = HashMap::new();
        let mut id_of = |n: &str| -> u16 {
            let next = names.len() as u16;
            *names.entry(n.to_string()).or_insert(next)
        };
        let mut order: Vec<usize> = (0..rules.len()).collect();
        order.sort_by_key(|&i| (order_key(&rules[i]), i));
        let sets: Vec<(AddressSet, AddressSet)> = rules
            .iter()
            .map(|r| {
                (
                    AddressSet::compile(&r.header.src),
                    AddressSet::compile(&r.header.dst),
                )
            })
            .collect();
        let zones = Zones::from_sides(sets.iter().flat_map(|(s, d)| [s, d]));
        let mut compiled = Vec::with_capacity(rules.len());
        let mut cross = Vec::with_capacity(rules.len());
        let mut builder = GroupBuilder::new(CLASSES * ZONE_PAIRS);
        for i in order {
            let r = &rules[i];
            let (src_set, dst_set) = sets[i].clone();
            let detections = match compile_detections(r) {
                Ok(d) => d,
                Err(e) => {
                    refused.push((i, e));
                    continue;
                }
            };
            let idx = compiled.len() as u32;
            let pairs = zones.pairs_for(
                &src_set,
                &dst_set,
                r.header.direction == crate::header::FlowDirection::Both,
            );
            let groups: Vec<usize> = classes_for(r.header.protocol)
                .iter()
                .flat_map(|c| pairs.iter().map(move |p| c * ZONE_PAIRS + p))
                .collect();
            if detections.lists.is_empty() {
                builder.header_only(&groups, idx, &r.header);
            } else {
                match usable_fast_pattern(r) {
                    Some(e) => builder.fast_pattern(&groups, FastPatternEntry { rule: idx, ..e }),
                    None => builder.always(&groups, detections.lists[0].buffer, idx),
                }
            }
            let cross_rule = CrossRule {
                xbits: r
                    .xbits
                    .iter()
                    .map(|x| XbitOp {
                        op: x.op,
                        id: id_of(&format!("xbit:{}", x.name)),
                        track: x.track,
                        expire_secs: x.expire.unwrap_or(3600),
                    })
                    .collect(),
                threshold: r.threshold,
                detection_filter: r.detection_filter,
                silent: r.noalert || r.header.action == Action::Pass,
            };
            // A payload rule with an application protocol in its header
            // (`alert http ... content:"GET"`) inspects packets, as in
            // Suricata; one with no test at all also the transactions.
            let app_rule = detections.lists.iter().any(|l| l.buffer != Buffer::Packet)
                || (matches!(r.header.protocol, Protocol::App(_)) && detections.lists.is_empty());
            compiled.push(CompiledRule {
                source: i,
                stream_use: stream_use_of(r, &detections),
                header: r.header.clone(),
                src_set,
                dst_set,
                pass: r.header.action == Action::Pass,
                flow: r.flow,
                header_tests: r.header_tests.clone(),
                detections,
                flowbits: r
                    .flowbits
                    .iter()
                    .map(|f| FlowbitOp {
                        op: f.op,
                        ids: f.names.iter().map(|n| id_of(n)).collect(),
                        any: f.any,
                    })
                    .collect(),
                noalert: r.noalert,
                cross_flow: cross_rule.is_cross_flow(),
                ip_only: is_ip_only(r),
                app_rule,
            });
            cross.push(cross_rule);
        }
        let groups = builder.build();
        let n = compiled.len();
        let mut traffic: Vec<TrafficTag> = names
            .iter()
            .filter_map(|(name, &id)| TrafficTag::of(id, name))
            .collect();
        traffic.sort_by_key(|t| t.id);
        (
            SignatureMatcher {
                rules: Arc::new(compiled),
                port_caches: groups.iter().map(|_| PortCache::default()).collect(),
                groups: Arc::new(groups),
                zones: Arc::new(zones),
                cross: CrossFlow::new(cross, limits.max_threshold_windows, limits.max_xbits),
                defer: false,
                stamps: vec![0; n],
                scratch: ScanScratch::default(),
                generation: 0,
                candidates: Vec::new(),
                transformed: Vec::new(),
                stats: MatcherStats::default(),
                traffic: Arc::new(traffic),
            },
            refused,
        )
    }

    /// Number of rules the matcher runs.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when no rule runs.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// True when a rule inspects the payload of TCP packets and so wants
    /// the reassembled stream ([`Inspect::stream`]); without one, callers
    /// need not reassemble for raw stream inspection.
    pub fn inspects_stream(&self) -> bool {
        self.rules.iter().any(|r| r.stream_use != StreamUse::Packet)
    }

    /// True when a rule needs the application layer: an application buffer
    /// (`http.uri`, `tls.sni`, ...) or an application protocol in its header.
    pub fn uses_app_layer(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(r.header.protocol, Protocol::App(_))
                || r.detections
                    .lists
                    .iter()
                    .any(|l| l.buffer != Buffer::Packet)
        })
    }

    /// The traffic tags among the flowbits set in `bits` (flowbits named
    /// `traffic/id/NAME` or `traffic/label/NAME`), in flowbit order; empty
    /// and free when no rule names such a flowbit.
    pub fn traffic_tags<'s>(&'s self, bits: &'s FlowBits) -> impl Iterator<Item = &'s TrafficTag> {
        self.traffic.iter().filter(|t| bits.is_set(t.id))
    }

    /// Distinct fast patterns indexed, over all groups and buffers.
    pub fn pattern_count(&self) -> usize {
        self.groups.iter().map(|g| g.pattern_count()).sum()
    }

    /// Counters so far.
    pub fn stats(&self) -> MatcherStats {
        MatcherStats {
            flowbits_dropped: self.stats.flowbits_dropped,
            ..self.stats
        }
    }

    /// Threshold windows and xbits dropped because their tables were full.
    pub fn state_dropped(&self) -> u64 {
        self.cross.dropped()
    }

    /// Deferred mode, for parallel workers that each own a share of the
    /// flows: matches of rules that read or write cross-flow state (xbits,
    /// thresholds) come out as [`Match::pending`] for one
    /// [`CrossFlow`] (see [`SignatureMatcher::cross_flow`]) to settle in
    /// input order. Refused, with the reason, when a rule makes that
    /// inexact: an xbits test on a rule that also writes flowbits or is a
    /// `pass` rule (its per-flow effect would depend on state the worker
    /// does not have).
    pub fn defer_cross_flow(&mut self) -> Result<(), String> {
        for (r, c) in self.rules.iter().zip(0u32..) {
            let writes_flowbits = r
                .flowbits
                .iter()
                .any(|f| matches!(f.op, BitOp::Set | BitOp::Unset | BitOp::Toggle));
            if self.cross.rule(c).tests_xbits() && (writes_flowbits || r.pass) {
                return Err(format!(
                    "rule {} tests xbits and {}",
                    r.source,
                    if r.pass {
                        "is a pass rule"
                    } else {
                        "writes flowbits"
                    }
                ));
            }
        }
        self.defer = true;
        Ok(())
    }

    /// Another matcher over the same compiled rules (shared, not copied:
    /// parallel workers cost one compiled rule set), with its own per-packet
    /// scratch, prefilter caches, counters and empty cross-flow state, in
    /// the same mode.
    pub fn worker_copy(&self) -> SignatureMatcher {
        SignatureMatcher {
            rules: self.rules.clone(),
            groups: self.groups.clone(),
            port_caches: self.groups.iter().map(|_| PortCache::default()).collect(),
            zones: self.zones.clone(),
            cross: self.cross.fresh(),
            defer: self.defer,
            stamps: vec![0; self.rules.len()],
            scratch: ScanScratch::default(),
            generation: 0,
            candidates: Vec::new(),
            transformed: Vec::new(),
            stats: MatcherStats::default(),
            traffic: self.traffic.clone(),
        }
    }

    /// The cross-flow state and rule options; [`CrossFlow::fresh`] gives
    /// the settling side of deferred workers.
    pub fn cross_flow(&self) -> &CrossFlow {
        &self.cross
    }

    /// Inspects one packet; matches that alert are appended to `out` in
    /// rule order. `bits` are the flow's flowbits (a fresh value for
    /// packets without a flow).
    pub fn inspect(&mut self, i: &Inspect<'_>, bits: &mut FlowBits, out: &mut Vec<Match>) {
        self.stats.packets += 1;
        self.collect_candidates(i, bits);
        let first_out = out.len();
        let candidates = std::mem::take(&mut self.candidates);
        let (src, dst, ts) = (i.header.src, i.header.dst, i.ts);
        for &c in &candidates {
            let Hits {
                count: hits,
                on_stream,
            } = self.rule_matches(c, i, bits);
            if hits == 0 {
                continue;
            }
            let r = &self.rules[c as usize];
            for f in &r.flowbits {
                if matches!(f.op, BitOp::Set | BitOp::Unset | BitOp::Toggle) {
                    for id in &f.ids {
                        if !bits.apply(f.op, *id) {
                            self.stats.flowbits_dropped += 1;
                        }
                    }
                }
            }
            if self.defer && r.cross_flow {
                // Decided later by CrossFlow::settle, in input order.
                let pending = Pending {
                    rule: c,
                    hits,
                    src,
                    dst,
                    ts,
                    cancelled: false,
                };
                out.push(Match {
                    rule: r.source,
                    pending: Some(pending),
                    stream: on_stream,
                });
                if r.pass {
                    self.stats.passed += 1;
                    cancel_alerts(out, first_out);
                    break;
                }
                continue;
            }
            self.stats.matches += 1;
            self.cross.apply_xbits(c, src, dst, ts);
            if r.pass {
                self.stats.passed += 1;
                cancel_alerts(out, first_out);
                break;
            }
            if r.noalert {
                continue;
            }
            let source = r.source;
            for k in 0..hits {
                if !r.cross_flow || self.cross.thresholds_allow(c, src, dst, ts) {
                    self.stats.alerts += 1;
                    out.push(Match {
                        rule: source,
                        pending: None,
                        stream: on_stream && k == 0,
                    });
                } else {
                    self.stats.thresholded += 1;
                }
            }
        }
        self.candidates = candidates;
    }

    fn collect_candidates(&mut self, i: &Inspect<'_>, bits: &mut FlowBits) {
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.stamps.iter_mut().for_each(|s| *s = 0);
            self.generation = 1;
        }
        self.candidates.clear();
        // Transformed buffers are computed once per packet, on first use.
        self.transformed.iter_mut().for_each(|(_, v)| v.clear());
        let group_index =
            class_of(i.header.protocol) * ZONE_PAIRS + self.zones.pair(i.header.src, i.header.dst);
        let (Some(group), Some(port_cache)) = (
            self.groups.get(group_index),
            self.port_caches.get_mut(group_index),
        ) else {
            return;
        };
        let ports = match i.header.transport {
            tripline_core::Transport::Tcp(t) => Some((t.sport, t.dport)),
            tripline_core::Transport::Udp(u) => Some((u.sport, u.dport)),
            _ => None,
        };
        group.header_candidates(i.header.src, i.header.dst, ports, &mut self.candidates);
        self.stats.header_candidates += self.candidates.len() as u64;
        if !i.header_only {
            let before = self.candidates.len();
            // Raw stream inspection: the payload patterns also run over the
            // stream's new bytes, and over as much of the look-back before
            // them as a pattern spanning the boundary needs; rules whose
            // pattern an earlier scan of this direction found are kept while
            // it can still be in the look-back (the flow's state remembers
            // them). When the new bytes begin with this packet's payload,
            // scanning the payload again finds nothing more, so it is
            // skipped.
            let stream = i.stream.filter(|s| s.has_new());
            let payload_scanned_in_stream = stream.is_some_and(|s| {
                s.payload_in_stream
                    && i.buffers
                        .get(Buffer::Packet)
                        .is_some_and(|p| s.bytes[s.new_from..].starts_with(p))
            });
            let payload = group.payload.indices(port_cache, ports);
            for p in group.patterns.iter().chain(payload) {
                let raw_payload = p.buffer == Buffer::Packet && p.transforms.is_empty();
                let data = if p.transforms.is_empty() {
                    i.buffers.get(p.buffer)
                } else {
                    i.buffers
                        .get(p.buffer)
                        .map(|raw| transformed(&mut self.transformed, p.buffer, &p.transforms, raw))
                };
                if let Some(data) = data
                    && !(raw_payload && payload_scanned_in_stream)
                {
                    self.stats.scanned_bytes += data.len() as u64;
                    p.candidates(data, &mut self.scratch, &mut self.candidates);
                }
                if let Some(s) = stream
                    && raw_payload
                {
                    let to_server = i.flow.to_server;
                    let look = if bits.stream_rescan(to_server, s.offset) {
                        s.new_from
                    } else {
                        p.max_len().saturating_sub(1).min(s.new_from)
                    };
                    let region = &s.bytes[s.new_from - look..];
                    self.stats.scanned_bytes += region.len() as u64;
                    let found_from = self.candidates.len();
                    p.candidates(region, &mut self.scratch, &mut self.candidates);
                    let until = s.offset + s.bytes.len() as u64;
                    for &r in &self.candidates[found_from..] {
                        bits.remember_stream(to_server, r, until);
                    }
                    bits.recent_stream(to_server, s.offset, &mut self.candidates);
                }
            }
            let after_patterns = self.candidates.len();
            self.stats.pattern_candidates += (after_patterns - before) as u64;
            for &(b, r) in &group.always {
                if i.buffers.get(b).is_some() {
                    self.candidates.push(r);
                }
            }
            self.stats.always_candidates += (self.candidates.len() - after_patterns) as u64;
        }
        let (stamps, generation) = (&mut self.stamps, self.generation);
        self.candidates.retain(|&r| {
            let s = &mut stamps[r as usize];
            let fresh = *s != generation;
            *s = generation;
            fresh
        });
        self.candidates.sort_unstable();
        self.stats.candidates += self.candidates.len() as u64;
    }

    /// How many times the rule matches: against the packet, its stream, or
    /// both, as its [`StreamUse`] says. Rules that also inspect packets
    /// (`StreamThenPacket`) match the stream and the packet separately, as
    /// Suricata's do: its stream inspection runs on the stream bytes, its
    /// packet fallback on each packet, and each alerts (2 at most).
    fn rule_matches(&mut self, c: u32, i: &Inspect<'_>, bits: &FlowBits) -> Hits {
        let Some(stream) = i.stream else {
            return Hits {
                count: u32::from(self.rule_matches_on(c, i, bits, None)),
                on_stream: false,
            };
        };
        let stream_use = self.rules[c as usize].stream_use;
        let mut hits = 0;
        if stream_use != StreamUse::Packet && stream.has_new() {
            let mut on_stream = *i;
            on_stream.flow.stream = true;
            on_stream.buffers.set(Buffer::Packet, stream.bytes);
            if self.rule_matches_on(c, &on_stream, bits, Some(stream.new_from)) {
                hits += 1;
            }
        }
        let on_stream = hits > 0;
        let packet_too = match stream_use {
            StreamUse::Packet | StreamUse::StreamThenPacket => true,
            StreamUse::StreamOnly => false,
            StreamUse::StreamElseUnstreamed => hits == 0 && !stream.payload_in_stream,
        };
        if packet_too && self.rule_matches_on(c, i, bits, None) {
            hits += 1;
        }
        Hits {
            count: hits,
            on_stream,
        }
    }

    /// The rule against `i`; with `reach_past`, a payload match must reach
    /// past that position (stream bytes not inspected before).
    fn rule_matches_on(
        &mut self,
        c: u32,
        i: &Inspect<'_>,
        bits: &FlowBits,
        reach_past: Option<usize>,
    ) -> bool {
        let SignatureMatcher {
            rules,
            transformed: cache,
            cross,
            defer,
            ..
        } = self;
        let r = &rules[c as usize];
        if (r.ip_only && i.flow.repeat) || (i.transaction && !r.app_rule) {
            return false;
        }
        // Cheapest first: address lists last.
        if !protocol_matches(r.header.protocol, i)
            || !flow_matches(&r.flow, i)
            || !r.header_tests.iter().all(|t| header_test_matches(t, i))
            || !endpoints_match(&r.header, &r.src_set, &r.dst_set, i)
        {
            return false;
        }
        for f in &r.flowbits {
            let test = |id: &u16| bits.is_set(*id);
            let ok = match f.op {
                BitOp::IsSet if f.any => f.ids.iter().any(test),
                BitOp::IsSet => f.ids.iter().all(test),
                BitOp::IsNotSet if f.any => f.ids.iter().any(|id| !bits.is_set(*id)),
                BitOp::IsNotSet => f.ids.iter().all(|id| !bits.is_set(*id)),
                _ => true,
            };
            if !ok {
                return false;
            }
        }
        // Deferred: the settling side tests xbits (see CrossFlow).
        if r.cross_flow && !*defer && !cross.xbits_hold(c, i.header.src, i.header.dst, i.ts) {
            return false;
        }
        if i.header_only {
            return r.detections.lists.is_empty();
        }
        for list in &r.detections.lists {
            let Some(raw) = i.buffers.get(list.buffer) else {
                return false;
            };
            let ok = if list.transforms.is_empty() {
                let reach = reach_past.filter(|_| list.buffer == Buffer::Packet);
                ListRun::matches_reaching(list, raw, reach)
            } else {
                let data = transformed(cache, list.buffer, &list.transforms, raw);
                ListRun::matches(list, data)
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

/// A matching `pass` rule cancels the alerts the packet raised so far
/// (from `first`): plain matches go, pending ones stay (their state changes
/// still happen) marked cancelled.
fn cancel_alerts(out: &mut Vec<Match>, first: usize) {
    let mut keep = first;
    for k in first..out.len() {
        if let Some(mut p) = out[k].pending {
            p.cancelled = true;
            out[keep] = Match {
                pending: Some(p),
                ..out[k]
            };
            keep += 1;
        }
    }
    out.truncate(keep);
}

/// Transformed buffers of the current packet, by (buffer, transforms).
type TransformCache = Vec<((Buffer, Vec<Transform>), Vec<u8>)>;

/// The transformed copy of a buffer, computed once per packet.
fn transformed<'c>(
    cache: &'c mut TransformCache,
    buffer: Buffer,
    transforms: &[Transform],
    raw: &[u8],
) -> &'c [u8] {
    let pos = match cache
        .iter()
        .position(|((b, t), _)| *b == buffer && t.as_slice() == transforms)
    {
        Some(p) => p,
        None => {
            cache.push(((buffer, transforms.to_vec()), Vec::new()));
            cache.len() - 1
        }
    };
    let out = &mut cache[pos].1;
    if out.is_empty() && !raw.is_empty() {
        apply_transforms(transforms, raw, out);
    }
    &cache[pos].1
}

/// Fast patterns shorter than this are not indexed (their rules are
/// verified on every packet with the buffer).
const MIN_PREFILTER_LEN: usize = 1;

/// The rule's fast pattern as a prefilter entry, unless it cannot be used
/// (negated content: its absence is what matches).
fn usable_fast_pattern(r: &Rule) -> Option<FastPatternEntry> {
    let fp = r.fast_pattern?;
    let Detection::Content(c) = r.detections.get(fp.detection)? else {
        return None;
    };
    if c.negated {
        return None;
    }
    let start = usize::from(fp.start);
    let end = (start + usize::from(fp.len)).min(c.pattern.len());
    let bytes = c.pattern.get(start..end)?.to_vec();
    if bytes.len() < MIN_PREFILTER_LEN {
        return None;
    }
    Some(FastPatternEntry {
        rule: 0,
        buffer: c.buffer,
        transforms: c.transforms.clone(),
        bytes,
        src_ports: r.header.src_ports.clone(),
        dst_ports: r.header.dst_ports.clone(),
        both_ways: r.header.direction == crate::header::FlowDirection::Both,
    })
}
