//! Per-source scan state in bounded memory.
//!
//! A [`ScanTracker`] keeps one [`SourceScan`] per probing source: packets,
//! distinct hosts, and two kinds of sub-state — per destination host (ports
//! and protocols touched: port scans) and per probed target such as tcp/143
//! or ICMP echo (hosts touched: sweeps). Sources live in a least-recently-seen
//! list; the oldest are evicted when the source cap or the memory budget is
//! exceeded, and a source silent for the scan timeout starts afresh (psad's
//! `SCAN_TIMEOUT`). Every eviction is counted.

use super::classify::{Probe, ScanTypes};
use super::sets::{HostSet, Inserted, PortSet, host_key};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;
use tripline_core::{Timestamp, ip_proto};

/// Size limits of the tracker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackerLimits {
    /// Most sources tracked at once.
    pub max_sources: usize,
    /// Approximate memory budget for all scan state, in bytes.
    pub max_bytes: usize,
    /// Destination hosts with their own port sets, per source.
    pub max_targets: usize,
    /// Probed targets (port, ICMP type) with their own host sets, per source.
    pub max_sweeps: usize,
    /// Host keys stored per source and per sweep (beyond: counted only).
    pub max_hosts: usize,
    /// A source silent this long starts a new window.
    pub scan_timeout: Duration,
}

/// An alerted scan episode: what was last reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Episode {
    /// Episode number, unique per detector run.
    pub id: u64,
    /// Types in the last alert.
    pub alerted_types: ScanTypes,
    /// Danger level in the last alert.
    pub alerted_level: u8,
}

/// What one source did to one destination host.
#[derive(Clone, Debug)]
pub struct TargetScan {
    /// The destination.
    pub dst: IpAddr,
    /// First and last probe.
    pub first_seen: Timestamp,
    /// Last probe.
    pub last_seen: Timestamp,
    /// Probes to this host.
    pub packets: u64,
    /// TCP ports probed.
    pub tcp: PortSet,
    /// UDP ports probed.
    pub udp: PortSet,
    /// Other IP protocols probed (not TCP, UDP, ICMP).
    pub protocols: PortSet,
    /// ICMP request types sent.
    pub icmp_types: PortSet,
    /// Probe types seen.
    pub types: ScanTypes,
    /// SYN-ACKs answered with a bare RST (half-open).
    pub half_open: u32,
    /// SYN-ACKs answered with ACK (handshake completed).
    pub completed: u32,
    /// Set once reported.
    pub episode: Option<Episode>,
}

impl TargetScan {
    fn new(dst: IpAddr, ts: Timestamp) -> Self {
        TargetScan {
            dst,
            first_seen: ts,
            last_seen: ts,
            packets: 0,
            tcp: PortSet::default(),
            udp: PortSet::default(),
            protocols: PortSet::default(),
            icmp_types: PortSet::default(),
            types: ScanTypes::default(),
            half_open: 0,
            completed: 0,
            episode: None,
        }
    }

    fn heap_bytes(&self) -> usize {
        self.tcp.heap_bytes()
            + self.udp.heap_bytes()
            + self.protocols.heap_bytes()
            + self.icmp_types.heap_bytes()
    }

    fn bitmaps(&self) -> usize {
        [&self.tcp, &self.udp, &self.protocols, &self.icmp_types]
            .iter()
            .filter(|s| s.has_bitmap())
            .count()
    }

    /// The types to report: SYN probes are named CONNECT when handshakes
    /// completed, SYN when they were reset half-open or the outcome is
    /// unknown (firewall logs); both when both happened.
    pub fn reported_types(&self) -> ScanTypes {
        let mut t = self.types.0;
        if t & ScanTypes::SYN != 0 && self.completed > 0 {
            t |= ScanTypes::CONNECT;
            if self.half_open == 0 {
                t &= !ScanTypes::SYN;
            }
        }
        ScanTypes(t)
    }
}

/// What one source did with one probed target (tcp/143, ICMP echo...).
#[derive(Clone, Debug)]
pub struct SweepScan {
    /// [`Probe::sweep_key`]: protocol and port / ICMP type.
    pub key: u32,
    /// First probe.
    pub first_seen: Timestamp,
    /// Last probe.
    pub last_seen: Timestamp,
    /// Probes.
    pub packets: u64,
    /// Distinct hosts probed.
    pub hosts: HostSet,
    /// Up to 16 of those hosts, in order of first contact (for alerts).
    pub sample: Vec<IpAddr>,
    /// When the most recent new hosts were first contacted (ring).
    pub recent: [Timestamp; RECENT],
    /// Probe types seen.
    pub types: ScanTypes,
    /// Set once reported.
    pub episode: Option<Episode>,
}

/// New-host arrival times kept per sweep: the largest allowed
/// `sweep_min_hosts`.
pub const RECENT: usize = 8;
/// Hosts listed in a sweep's sample.
pub const SAMPLE: usize = 16;

impl SweepScan {
    /// The protocol of the swept target.
    pub fn protocol(&self) -> u8 {
        (self.key >> 16) as u8
    }

    /// The port, ICMP type or protocol number swept.
    pub fn target(&self) -> u16 {
        self.key as u16
    }

    /// True when at least `n` (≤ [`RECENT`]) distinct hosts were first
    /// contacted within `window` ending at the latest one.
    pub fn burst(&self, n: usize, window: Duration) -> bool {
        let n = n.clamp(1, RECENT);
        if (self.hosts.len() as usize) < n {
            return false;
        }
        let count = self.hosts.len() as usize;
        let newest = self.recent[(count - 1) % RECENT];
        let nth = self.recent[(count - n) % RECENT];
        newest.0 - nth.0 <= window.as_nanos() as i64
    }

    fn heap_bytes(&self) -> usize {
        self.hosts.heap_bytes() + self.sample.capacity() * std::mem::size_of::<IpAddr>()
    }
}

/// Everything known about one source within its window.
#[derive(Clone, Debug)]
pub struct SourceScan {
    /// The source address.
    pub addr: IpAddr,
    /// Start of the current window.
    pub first_seen: Timestamp,
    /// Latest probe.
    pub last_seen: Timestamp,
    /// Probes in the window.
    pub packets: u64,
    /// Distinct hosts probed.
    pub hosts: HostSet,
    /// Per destination host.
    pub targets: Vec<TargetScan>,
    /// Per probed target.
    pub sweeps: Vec<SweepScan>,
    /// Destination hosts or sweep targets not tracked because of the caps.
    pub untracked: u64,
    /// The `auto_dl` level pinned for this source, if any.
    pub fixed_level: Option<u8>,
    heap: usize,
}

impl SourceScan {
    fn new(addr: IpAddr, ts: Timestamp, fixed_level: Option<u8>) -> Self {
        SourceScan {
            addr,
            first_seen: ts,
            last_seen: ts,
            packets: 0,
            hosts: HostSet::default(),
            targets: Vec::new(),
            sweeps: Vec::new(),
            untracked: 0,
            fixed_level,
            heap: 0,
        }
    }

    fn compute_heap(&self) -> usize {
        self.hosts.heap_bytes()
            + self.targets.capacity() * std::mem::size_of::<TargetScan>()
            + self.sweeps.capacity() * std::mem::size_of::<SweepScan>()
            + self
                .targets
                .iter()
                .map(TargetScan::heap_bytes)
                .sum::<usize>()
            + self.sweeps.iter().map(SweepScan::heap_bytes).sum::<usize>()
    }

    fn bitmaps(&self) -> usize {
        self.targets.iter().map(TargetScan::bitmaps).sum()
    }
}

/// Counters of the tracker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackerMetrics {
    /// Sources currently tracked.
    pub sources: u64,
    /// Sources created.
    pub sources_created: u64,
    /// Sources evicted because of the source cap or the memory budget.
    pub sources_evicted: u64,
    /// Sources whose window expired (silent for the scan timeout).
    pub sources_expired: u64,
    /// Hosts or sweep targets not tracked because of per-source caps.
    pub untracked: u64,
    /// Approximate bytes of scan state now.
    pub bytes: u64,
    /// Highest value of `bytes` seen.
    pub peak_bytes: u64,
}

const NIL: u32 = u32::MAX;

struct Slot {
    state: SourceScan,
    prev: u32,
    next: u32,
}

/// Fixed cost of one tracked source besides its heap: the slot and the map
/// entry (key, index, control byte, load-factor slack).
pub const SOURCE_OVERHEAD: usize = std::mem::size_of::<Slot>() + 48;

/// Where a probe landed in a source's state.
#[derive(Clone, Copy, Debug)]
pub struct Touched {
    /// Index into [`SourceScan::targets`], if tracked.
    pub target: Option<usize>,
    /// Index into [`SourceScan::sweeps`], if tracked.
    pub sweep: Option<usize>,
}

/// The bounded per-source table; see the module documentation.
pub struct ScanTracker {
    limits: TrackerLimits,
    map: HashMap<IpAddr, u32, foldhash::fast::FixedState>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    bitmaps: usize,
    metrics: TrackerMetrics,
}

impl ScanTracker {
    /// An empty tracker.
    pub fn new(limits: TrackerLimits) -> Self {
        ScanTracker {
            limits,
            map: HashMap::with_hasher(foldhash::fast::FixedState::with_seed(0x5ca7)),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            bitmaps: 0,
            metrics: TrackerMetrics::default(),
        }
    }

    /// Counters so far.
    pub fn metrics(&self) -> TrackerMetrics {
        self.metrics
    }

    /// The state of `addr`, if tracked.
    pub fn source_mut(&mut self, addr: IpAddr) -> Option<&mut SourceScan> {
        let i = *self.map.get(&addr)?;
        Some(&mut self.slots[i as usize].state)
    }

    /// True when `addr` is tracked.
    pub fn contains(&self, addr: IpAddr) -> bool {
        self.map.contains_key(&addr)
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        if p == NIL {
            self.head = n;
        } else {
            self.slots[p as usize].next = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.slots[n as usize].prev = p;
        }
    }

    fn push_front(&mut self, i: u32) {
        self.slots[i as usize].prev = NIL;
        self.slots[i as usize].next = self.head;
        if self.head != NIL {
            self.slots[self.head as usize].prev = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    fn remove(&mut self, i: u32) {
        self.unlink(i);
        let s = &mut self.slots[i as usize].state;
        self.map.remove(&s.addr);
        self.bitmaps -= s.bitmaps();
        self.metrics.bytes -= (s.heap + SOURCE_OVERHEAD) as u64;
        // Release the heap now; the slot is reused.
        s.targets = Vec::new();
        s.sweeps = Vec::new();
        s.hosts = HostSet::default();
        s.heap = 0;
        self.free.push(i);
        self.metrics.sources -= 1;
    }

    /// Drops sources silent for longer than the scan timeout (oldest first).
    pub fn expire(&mut self, now: Timestamp) {
        let timeout = self.limits.scan_timeout.as_nanos() as i64;
        while self.tail != NIL {
            let last = self.slots[self.tail as usize].state.last_seen;
            if now.0 - last.0 <= timeout {
                break;
            }
            self.remove(self.tail);
            self.metrics.sources_expired += 1;
        }
    }

    fn enforce_limits(&mut self, keep: u32) {
        while (self.metrics.sources as usize > self.limits.max_sources
            || self.metrics.bytes as usize > self.limits.max_bytes)
            && self.tail != NIL
            && self.tail != keep
        {
            self.remove(self.tail);
            self.metrics.sources_evicted += 1;
        }
    }

    /// Records one probe from `src` to `dst`. `fixed_level` is the source's
    /// `auto_dl` level (looked up by the caller only for new sources).
    pub fn observe(
        &mut self,
        ts: Timestamp,
        src: IpAddr,
        dst: IpAddr,
        probe: &Probe,
        fixed_level: impl FnOnce() -> Option<u8>,
    ) -> (&mut SourceScan, Touched) {
        let timeout = self.limits.scan_timeout.as_nanos() as i64;
        let i = match self.map.get(&src) {
            Some(&i) => {
                self.unlink(i);
                self.push_front(i);
                if ts.0 - self.slots[i as usize].state.last_seen.0 > timeout {
                    // A new window: forget the old one.
                    let fixed = self.slots[i as usize].state.fixed_level;
                    let old = std::mem::replace(
                        &mut self.slots[i as usize].state,
                        SourceScan::new(src, ts, fixed),
                    );
                    self.bitmaps -= old.bitmaps();
                    self.metrics.bytes -= old.heap as u64;
                    self.metrics.sources_expired += 1;
                }
                i
            }
            None => {
                let state = SourceScan::new(src, ts, fixed_level());
                let i = match self.free.pop() {
                    Some(i) => {
                        self.slots[i as usize].state = state;
                        i
                    }
                    None => {
                        self.slots.push(Slot {
                            state,
                            prev: NIL,
                            next: NIL,
                        });
                        (self.slots.len() - 1) as u32
                    }
                };
                self.map.insert(src, i);
                self.push_front(i);
                self.metrics.sources += 1;
                self.metrics.sources_created += 1;
                self.metrics.bytes += SOURCE_OVERHEAD as u64;
                i
            }
        };
        let may_grow = self.bitmaps_allowed();
        let limits = &self.limits;
        let s = &mut self.slots[i as usize].state;
        let before_bitmaps = s.bitmaps();
        let before_untracked = s.untracked;
        let (touched, grew) = record(s, limits, ts, dst, probe, may_grow);
        let after_bitmaps = s.bitmaps();
        if grew {
            let heap = s.compute_heap();
            self.metrics.bytes = self.metrics.bytes + heap as u64 - s.heap as u64;
            s.heap = heap;
        }
        self.bitmaps = self.bitmaps + after_bitmaps - before_bitmaps;
        self.metrics.untracked += s.untracked - before_untracked;
        self.enforce_limits(i);
        self.metrics.peak_bytes = self.metrics.peak_bytes.max(self.metrics.bytes);
        (&mut self.slots[i as usize].state, touched)
    }

    /// A bitmap may be allocated while all bitmaps together stay within a
    /// quarter of the memory budget.
    fn bitmaps_allowed(&self) -> bool {
        (self.bitmaps + 1) * super::sets::BITMAP_BYTES <= self.limits.max_bytes / 4
    }
}

/// Updates one source with one probe; returns where it landed and whether
/// any structure grew (so the heap size must be recomputed).
fn record(
    s: &mut SourceScan,
    limits: &TrackerLimits,
    ts: Timestamp,
    dst: IpAddr,
    probe: &Probe,
    may_grow: bool,
) -> (Touched, bool) {
    let timeout = limits.scan_timeout.as_nanos() as i64;
    let mut grew = false;
    s.packets += 1;
    s.last_seen = ts;
    let hkey = host_key(dst);
    if s.hosts.insert(hkey, limits.max_hosts) == Inserted::New {
        grew = true;
    }

    // Per destination host.
    let mut target = s.targets.iter().position(|t| t.dst == dst);
    if target.is_none() {
        if s.targets.len() >= limits.max_targets {
            // Reuse the stalest unreported entry (or one idle past the timeout).
            if let Some(j) = s
                .targets
                .iter()
                .enumerate()
                .filter(|(_, t)| t.episode.is_none() || ts.0 - t.last_seen.0 > timeout)
                .min_by_key(|(_, t)| t.last_seen)
                .map(|(j, _)| j)
            {
                s.targets.swap_remove(j);
            }
        }
        if s.targets.len() < limits.max_targets {
            grow_by_doubling(&mut s.targets);
            s.targets.push(TargetScan::new(dst, ts));
            target = Some(s.targets.len() - 1);
            grew = true;
        } else {
            s.untracked += 1;
        }
    }
    if let Some(j) = target {
        let t = &mut s.targets[j];
        t.packets += 1;
        t.last_seen = ts;
        t.types.0 |= probe.types.0;
        let set = match probe.protocol {
            ip_proto::TCP => &mut t.tcp,
            ip_proto::UDP => &mut t.udp,
            ip_proto::ICMP | ip_proto::ICMPV6 => &mut t.icmp_types,
            _ => &mut t.protocols,
        };
        if set.insert(probe.target, may_grow) == Inserted::New {
            grew = true;
        }
    }

    // Per probed target (sweeps).
    let key = probe.sweep_key();
    let mut sweep = s.sweeps.iter().position(|w| w.key == key);
    if sweep.is_none() {
        if s.sweeps.len() >= limits.max_sweeps
            && let Some(j) = s
                .sweeps
                .iter()
                .enumerate()
                .filter(|(_, w)| w.episode.is_none() || ts.0 - w.last_seen.0 > timeout)
                .min_by_key(|(_, w)| w.last_seen)
                .map(|(j, _)| j)
        {
            s.sweeps.swap_remove(j);
        }
        if s.sweeps.len() < limits.max_sweeps {
            grow_by_doubling(&mut s.sweeps);
            s.sweeps.push(SweepScan {
                key,
                first_seen: ts,
                last_seen: ts,
                packets: 0,
                hosts: HostSet::default(),
                sample: Vec::new(),
                recent: [Timestamp::ZERO; RECENT],
                types: ScanTypes::default(),
                episode: None,
            });
            sweep = Some(s.sweeps.len() - 1);
            grew = true;
        } else {
            s.untracked += 1;
        }
    }
    if let Some(j) = sweep {
        let w = &mut s.sweeps[j];
        w.packets += 1;
        w.last_seen = ts;
        w.types.0 |= probe.types.0;
        if w.hosts.insert(hkey, limits.max_hosts) != Inserted::Known {
            let n = w.hosts.len() as usize;
            w.recent[(n - 1) % RECENT] = ts;
            if w.sample.len() < SAMPLE {
                grow_by_doubling(&mut w.sample);
                w.sample.push(dst);
            }
            grew = true;
        }
    }
    (Touched { target, sweep }, grew)
}

/// Grows a vector 1, 2, 4... instead of Vec's first step of 4 elements:
/// most sources touch one host and one port, and there may be a million.
fn grow_by_doubling<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len().max(1));
    }
}
