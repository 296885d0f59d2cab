//! The bounded table of live flows that turns packets into connection records.
//!
//! Flows are keyed by the canonical 5-tuple (protocol, and the two
//! (address, port) endpoints in sorted order, ICMP types mapped to "ports"
//! as Community ID does, so an echo request and its reply are one flow).
//! Time is the capture's time: the table's clock is the latest record
//! timestamp it was given, never the wall clock.
//!
//! Expiry is amortised O(1): flows sit in one intrusive list per timeout
//! class (TCP, UDP, ICMP, other, and TCP flows whose FIN/RST exchange is
//! over), each list ordered by last activity to within one second (a flow
//! is moved to its list's tail at most once a second, which saves cache
//! misses), so only list heads are ever checked; expiry may therefore come
//! up to a second late. When the table is full the least recently seen flow
//! (to within that second) is emitted and counted as evicted. A flow older than the active timeout is
//! emitted on its next packet and continues with fresh counters, as
//! NetFlow exporters do.
//!
//! Default timeouts follow Zeek: TCP 5 min idle (`tcp_inactivity_timeout`),
//! UDP, ICMP and other protocols 1 min, 5 s after a TCP FIN/RST exchange
//! (`tcp_close_delay`/`tcp_reset_delay`); long-lived flows are reported
//! every hour (NetFlow's usual active timeout is 30 min to 1 h).

use crate::community_id::{CommunityId, icmp_port_equivalents};
use crate::conn_state::ConnTracker;
use std::collections::HashMap;

/// The flow index hasher: foldhash is several times faster than SipHash on
/// 5-tuples and, seeded per process, still resists crafted-key flooding
/// (attackers choose the 5-tuples of spoofed packets).
type FlowHasher = foldhash::fast::RandomState;
use std::net::IpAddr;
use std::time::Duration;
use tripline_core::{
    ConnOrigin, Connection, Header, HomeNets, TcpFlags, Timestamp, Transport, ip_proto,
};

/// Flow table limits and timeouts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowConfig {
    /// Most flows kept at once; beyond it the least recently seen is evicted.
    pub max_flows: usize,
    /// Idle time after which a TCP flow is emitted (Zeek: 5 min).
    pub tcp_idle_timeout: Duration,
    /// Idle time after which a UDP flow is emitted (Zeek: 1 min).
    pub udp_idle_timeout: Duration,
    /// Idle time after which an ICMP/ICMPv6 flow is emitted (Zeek: 1 min).
    pub icmp_idle_timeout: Duration,
    /// Idle time for any other protocol (Zeek: 1 min).
    pub other_idle_timeout: Duration,
    /// A flow this old is emitted on its next packet and continues with
    /// fresh counters (1 h).
    pub active_timeout: Duration,
    /// How long a TCP flow lingers after its FIN/RST exchange, to collect
    /// the last ACKs and retransmissions (Zeek: 5 s).
    pub tcp_close_linger: Duration,
    /// Community ID seed (0 unless every tool in the shop uses another).
    pub community_id_seed: u16,
}

impl Default for FlowConfig {
    fn default() -> Self {
        FlowConfig {
            max_flows: 262_144,
            tcp_idle_timeout: Duration::from_secs(300),
            udp_idle_timeout: Duration::from_secs(60),
            icmp_idle_timeout: Duration::from_secs(60),
            other_idle_timeout: Duration::from_secs(60),
            active_timeout: Duration::from_secs(3600),
            tcp_close_linger: Duration::from_secs(5),
            community_id_seed: 0,
        }
    }
}

/// Flow table counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowMetrics {
    /// Flows in the table now.
    pub active: u64,
    /// Flows created.
    pub created: u64,
    /// Flows emitted because they went idle, closed, or their 5-tuple was
    /// reused by a new SYN.
    pub expired: u64,
    /// Flows emitted early because the table was full.
    pub evicted: u64,
    /// Interim records of long-lived flows (active timeout).
    pub active_timeouts: u64,
    /// Connection records emitted in total (including `flush_all`).
    pub emitted: u64,
}

/// The canonical 5-tuple: endpoints in sorted order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct FlowKey {
    lo: (IpAddr, u16),
    hi: (IpAddr, u16),
    protocol: u8,
}

/// The (address, port) endpoints as Community ID sees them, source first.
fn endpoints(h: &Header) -> ((IpAddr, u16), (IpAddr, u16)) {
    let (sp, dp) = match h.transport {
        Transport::Tcp(t) => (t.sport, t.dport),
        Transport::Udp(u) => (u.sport, u.dport),
        Transport::Icmp(i) => {
            let (s, d, _) = icmp_port_equivalents(h.protocol, i.icmp_type, i.code);
            (s, d)
        }
        Transport::Other => (0, 0),
    };
    ((h.src, sp), (h.dst, dp))
}

fn key_of(h: &Header) -> FlowKey {
    let (a, b) = endpoints(h);
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    FlowKey {
        lo,
        hi,
        protocol: h.protocol,
    }
}

/// Timeout classes, one list each.
const LIST_TCP: u8 = 0;
const LIST_UDP: u8 = 1;
const LIST_ICMP: u8 = 2;
const LIST_OTHER: u8 = 3;
const LIST_CLOSING: u8 = 4;
const LISTS: usize = 5;
const NIL: u32 = u32::MAX;
/// How stale a flow's list position may get before it is moved (1 s):
/// expiry stays exact, eviction picks a flow idle within 1 s of the least
/// recently seen one.
const RELINK_GRANULARITY: i64 = 1_000_000_000;

fn list_for(protocol: u8) -> u8 {
    match protocol {
        ip_proto::TCP => LIST_TCP,
        ip_proto::UDP => LIST_UDP,
        ip_proto::ICMP | ip_proto::ICMPV6 => LIST_ICMP,
        _ => LIST_OTHER,
    }
}

/// One live flow.
#[derive(Clone, Debug)]
struct Flow {
    key: FlowKey,
    start: Timestamp,
    end: Timestamp,
    /// Table clock at the last packet.
    touched: Timestamp,
    /// `touched` when the flow was last moved to its list's tail: the list
    /// order key, at most [`RELINK_GRANULARITY`] behind `touched`.
    listed: Timestamp,
    /// Originator (address, Community-ID port), to tell directions apart.
    orig: (IpAddr, u16),
    /// Ports as reported (ICMP: type and code of the first packet).
    sport: u16,
    dport: u16,
    resp: IpAddr,
    /// False for non-first fragments and protocols without ports.
    has_ports: bool,
    orig_packets: u64,
    orig_bytes: u64,
    resp_packets: u64,
    resp_bytes: u64,
    tracker: ConnTracker,
}

/// A slab slot: the flow and its links in its timeout list.
struct Slot {
    flow: Flow,
    prev: u32,
    next: u32,
    list: u8,
}

/// The flow table; see the module documentation.
pub struct FlowTable {
    config: FlowConfig,
    home_nets: HomeNets,
    community_id: CommunityId,
    timeouts: [i64; LISTS],
    active_timeout: i64,
    map: HashMap<FlowKey, u32, FlowHasher>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    heads: [u32; LISTS],
    tails: [u32; LISTS],
    clock: Timestamp,
    metrics: FlowMetrics,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl FlowTable {
    /// An empty table. `home_nets` gives each connection its direction.
    pub fn new(config: FlowConfig, home_nets: HomeNets) -> Self {
        let timeouts = [
            nanos(config.tcp_idle_timeout),
            nanos(config.udp_idle_timeout),
            nanos(config.icmp_idle_timeout),
            nanos(config.other_idle_timeout),
            nanos(config.tcp_close_linger),
        ];
        FlowTable {
            community_id: CommunityId::new(config.community_id_seed),
            active_timeout: nanos(config.active_timeout),
            timeouts,
            map: HashMap::with_hasher(FlowHasher::default()),
            slots: Vec::new(),
            free: Vec::new(),
            heads: [NIL; LISTS],
            tails: [NIL; LISTS],
            clock: Timestamp::ZERO,
            metrics: FlowMetrics::default(),
            config,
            home_nets,
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &FlowConfig {
        &self.config
    }

    /// Counters so far.
    pub fn metrics(&self) -> FlowMetrics {
        FlowMetrics {
            active: self.map.len() as u64,
            ..self.metrics
        }
    }

    /// Live flows.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when no flow is live.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Approximate heap bytes held: the slot slab plus the hash index
    /// (key, slot number and a control byte per bucket).
    pub fn memory_estimate(&self) -> usize {
        let bucket = size_of::<FlowKey>() + size_of::<u32>() + 1;
        self.slots.capacity() * size_of::<Slot>()
            + self.map.capacity() * bucket
            + self.free.capacity() * size_of::<u32>()
    }

    /// Accounts one packet: `payload_len` is the transport payload length,
    /// `wire_len` the frame length (used for byte counts when the IP total
    /// length is unknown). Flows that expire by then are emitted first.
    pub fn observe(
        &mut self,
        ts: Timestamp,
        header: &Header,
        payload_len: usize,
        wire_len: u32,
        emit: &mut dyn FnMut(Connection),
    ) {
        self.advance(ts, emit);
        let key = key_of(header);
        let ip_bytes = if header.ip.total_len > 0 {
            header.ip.total_len as u64
        } else {
            wire_len as u64
        };
        let idx = match self.map.get(&key) {
            Some(&i) if self.starts_over(i, header) => {
                self.remove(i, emit);
                self.metrics.expired += 1;
                self.insert(key, ts, header, emit)
            }
            Some(&i) => i,
            None => self.insert(key, ts, header, emit),
        };
        let src = endpoints(header).0;
        let start = self.slots[idx as usize].flow.start;
        if ts.0.saturating_sub(start.0) >= self.active_timeout {
            let record = self.connection(idx);
            emit(record);
            self.metrics.active_timeouts += 1;
            self.metrics.emitted += 1;
            let f = &mut self.slots[idx as usize].flow;
            f.start = ts;
            f.orig_packets = 0;
            f.orig_bytes = 0;
            f.resp_packets = 0;
            f.resp_bytes = 0;
        }
        let f = &mut self.slots[idx as usize].flow;
        let from_orig = src == f.orig;
        if from_orig {
            f.orig_packets += 1;
            f.orig_bytes += ip_bytes;
        } else {
            f.resp_packets += 1;
            f.resp_bytes += ip_bytes;
        }
        f.start = f.start.min(ts);
        f.end = f.end.max(ts);
        f.touched = self.clock;
        f.tracker.update(from_orig, header, payload_len);
        let list = if f.tracker.is_finished() {
            LIST_CLOSING
        } else {
            list_for(f.key.protocol)
        };
        // Moving to the tail on every packet costs several cache misses;
        // a flow is re-listed only when it changes list or its list key is
        // a granule old, and `advance` re-lists stale heads it meets.
        let stale = f.touched.0.saturating_sub(f.listed.0) >= RELINK_GRANULARITY;
        if stale || self.slots[idx as usize].list != list {
            self.relink(idx, list);
        }
    }

    /// Moves a flow to the tail of `list`, keyed by its last activity.
    fn relink(&mut self, idx: u32, list: u8) {
        self.unlink(idx);
        let f = &mut self.slots[idx as usize].flow;
        f.listed = f.touched;
        self.link_tail(idx, list);
    }

    /// True when a pure SYN arrives on a flow whose exchange is over: the
    /// 5-tuple is being reused for a new connection.
    fn starts_over(&self, idx: u32, header: &Header) -> bool {
        let pure_syn = header
            .tcp()
            .is_some_and(|t| t.flags.0 & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN);
        pure_syn && self.slots[idx as usize].flow.tracker.is_finished()
    }

    fn insert(
        &mut self,
        key: FlowKey,
        ts: Timestamp,
        header: &Header,
        emit: &mut dyn FnMut(Connection),
    ) -> u32 {
        while self.map.len() >= self.config.max_flows.max(1) {
            let Some(victim) = self.least_recent() else {
                break;
            };
            self.remove(victim, emit);
            self.metrics.evicted += 1;
        }
        let (src, dst) = endpoints(header);
        // A SYN-ACK seen first means its sender is the responder.
        let flipped = header
            .tcp()
            .is_some_and(|t| t.flags.has(TcpFlags::SYN | TcpFlags::ACK));
        let (orig, resp, sport, dport) = if flipped {
            (dst, src.0, header.dport(), header.sport())
        } else {
            (src, dst.0, header.sport(), header.dport())
        };
        let flow = Flow {
            key,
            start: ts,
            end: ts,
            touched: self.clock,
            listed: self.clock,
            orig,
            sport,
            dport,
            resp,
            has_ports: header.transport != Transport::Other,
            orig_packets: 0,
            orig_bytes: 0,
            resp_packets: 0,
            resp_bytes: 0,
            tracker: ConnTracker::new(header.protocol, flipped),
        };
        let slot = Slot {
            flow,
            prev: NIL,
            next: NIL,
            list: LIST_OTHER,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.link_tail(idx, list_for(header.protocol));
        self.map.insert(key, idx);
        self.metrics.created += 1;
        idx
    }

    /// Emits every flow whose timeout has passed by `now` (capture time).
    pub fn advance(&mut self, now: Timestamp, emit: &mut dyn FnMut(Connection)) {
        self.clock = self.clock.max(now);
        for list in 0..LISTS {
            let timeout = self.timeouts[list];
            loop {
                let head = self.heads[list];
                if head == NIL {
                    break;
                }
                let f = &self.slots[head as usize].flow;
                if self.clock.0.saturating_sub(f.listed.0) < timeout {
                    break;
                }
                if self.clock.0.saturating_sub(f.touched.0) < timeout {
                    // Active since it was listed: not expired, re-list it.
                    self.relink(head, list as u8);
                    continue;
                }
                self.remove(head, emit);
                self.metrics.expired += 1;
            }
        }
    }

    /// Emits every live flow (end of input), oldest activity first.
    pub fn flush_all(&mut self, emit: &mut dyn FnMut(Connection)) {
        while let Some(idx) = self.least_recent() {
            self.remove(idx, emit);
        }
    }

    /// The slot with the oldest activity among the list heads.
    fn least_recent(&self) -> Option<u32> {
        self.heads
            .iter()
            .filter(|&&h| h != NIL)
            .min_by_key(|&&h| self.slots[h as usize].flow.listed)
            .copied()
    }

    /// Unlinks, unmaps and emits one flow.
    fn remove(&mut self, idx: u32, emit: &mut dyn FnMut(Connection)) {
        self.unlink(idx);
        let key = self.slots[idx as usize].flow.key;
        self.map.remove(&key);
        self.free.push(idx);
        emit(self.connection(idx));
        self.metrics.emitted += 1;
    }

    /// The connection record of a flow as it stands.
    fn connection(&self, idx: u32) -> Connection {
        let f = &self.slots[idx as usize].flow;
        let (src, dst) = (f.orig.0, f.resp);
        let ports = match f.key.protocol {
            _ if !f.has_ports => None,
            ip_proto::ICMP | ip_proto::ICMPV6 => Some(icmp_port_equivalents(
                f.key.protocol,
                f.sport as u8,
                f.dport as u8,
            )),
            _ => Some((f.sport, f.dport, false)),
        };
        Connection {
            start: f.start,
            end: f.end,
            src,
            sport: f.sport,
            dst,
            dport: f.dport,
            protocol: f.key.protocol,
            orig_packets: f.orig_packets,
            orig_bytes: f.orig_bytes,
            resp_packets: f.resp_packets,
            resp_bytes: f.resp_bytes,
            state: f.tracker.conn_state(),
            history: f.tracker.history().to_string(),
            community_id: self.community_id.compute(src, dst, f.key.protocol, ports),
            direction: self.home_nets.direction(src, dst),
            origin: ConnOrigin::Capture,
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next, list) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next, s.list as usize)
        };
        if prev == NIL {
            self.heads[list] = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tails[list] = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
        let s = &mut self.slots[idx as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn link_tail(&mut self, idx: u32, list: u8) {
        let tail = self.tails[list as usize];
        {
            let s = &mut self.slots[idx as usize];
            s.list = list;
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.heads[list as usize] = idx;
        } else {
            self.slots[tail as usize].next = idx;
        }
        self.tails[list as usize] = idx;
    }
}

#[cfg(test)]
#[path = "flow_table_tests.rs"]
mod tests;
