//! IPv4 and IPv6 fragment reassembly.
//!
//! What a capture source emits for fragmented traffic:
//!
//! * every fragment is still its own `Record::Packet`, with
//!   `header.ip.fragmented = true` and, for fragments other than the first,
//!   `Transport::Other` (their transport header is in the first fragment),
//!   so scan detection sees fragmented scans (`nmap -f`) fragment by fragment;
//! * when the last missing piece of a datagram arrives, one extra
//!   `Record::Packet` follows it: its header is decoded from the whole
//!   reassembled datagram (ports, flags, options as the receiving host would
//!   see them), `header.ip.fragmented = true`, `ip.mf = false`,
//!   `ip.frag_offset = 0`, and its payload borrows the reassembly buffer.
//!
//! Datagrams are keyed by (source, destination, protocol, identification).
//! Overlapping fragments are resolved first-received-wins (the bytes already
//! buffered are kept) and reported as [`DefragEvent::Overlap`]. State is
//! bounded: a cap on buffered bytes (default 16 MiB), on datagrams in
//! progress, on fragments per datagram, and a timeout in capture time
//! (default 30 s); anything given up is reported as [`DefragEvent::Dropped`].
//! The reassembly buffers are the only allocation, and only for fragments.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tripline_core::Timestamp;

/// Largest reassembled IP payload (the IPv4 total length and IPv6 payload
/// length fields are 16 bits).
const MAX_PAYLOAD: u32 = 65_535;
/// Largest unfragmentable IPv6 header chain kept from a first fragment.
const MAX_PREFIX: usize = 1024;

/// Limits of the reassembly table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Total bytes buffered across all datagrams in progress.
    pub max_bytes: usize,
    /// Datagrams in progress at once.
    pub max_datagrams: usize,
    /// Fragments accepted for one datagram.
    pub max_fragments: u32,
    /// Capture-time nanoseconds a datagram may stay incomplete.
    pub timeout_ns: i64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_bytes: 16 << 20,
            max_datagrams: 8192,
            max_fragments: 1024,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// Identifies one datagram being reassembled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FragmentKey {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// IPv4 protocol, or the next header named by the IPv6 fragment header.
    pub protocol: u8,
    /// IPv4 identification or IPv6 fragment identification.
    pub id: u32,
}

/// Why a datagram was given up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DropReason {
    /// Still incomplete after the timeout.
    Timeout,
    /// Evicted to stay under the buffered-bytes cap.
    MemoryCap,
    /// Evicted to stay under the datagram-count cap.
    CountCap,
    /// More fragments than the per-datagram cap.
    TooManyFragments,
    /// Fragments reach beyond 65535 bytes of payload.
    TooLong,
    /// A fragment was cut short by the snap length, so it cannot be reassembled.
    Snapped,
    /// The input ended with the datagram incomplete.
    EndOfInput,
}

impl DropReason {
    /// A short human explanation.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Timeout => "incomplete after the reassembly timeout",
            DropReason::MemoryCap => "evicted by the reassembly memory cap",
            DropReason::CountCap => "evicted by the cap on datagrams in reassembly",
            DropReason::TooManyFragments => "more fragments than the per-datagram cap",
            DropReason::TooLong => "fragments extend beyond 65535 bytes",
            DropReason::Snapped => "fragment cut short by the snap length",
            DropReason::EndOfInput => "incomplete at the end of the input",
        }
    }
}

/// Something the caller should report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefragEvent {
    /// A fragment overlapped bytes already received (the old bytes were kept).
    Overlap {
        /// The datagram.
        key: FragmentKey,
        /// Byte offset of the new fragment.
        offset: u32,
        /// Its length.
        len: u32,
        /// Bytes of it that were already covered.
        overlapping: u32,
    },
    /// A datagram was given up.
    Dropped {
        /// The datagram.
        key: FragmentKey,
        /// Why.
        reason: DropReason,
        /// Fragments that had been received for it.
        fragments: u32,
    },
}

/// Counters of the reassembly table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefragStats {
    /// Fragments offered.
    pub fragments: u64,
    /// Datagrams completed.
    pub reassembled: u64,
    /// Overlapping fragments seen.
    pub overlaps: u64,
    /// Datagrams given up.
    pub dropped: u64,
    /// Bytes buffered right now.
    pub buffered_bytes: usize,
}

/// One fragment as found in an IP packet.
struct FragmentView<'a> {
    key: FragmentKey,
    offset: u32,
    more: bool,
    data: &'a [u8],
    /// Header bytes to rebuild the datagram with (IPv4 header, or the IPv6
    /// header and unfragmentable extension headers without the fragment header).
    prefix: &'a [u8],
    /// IPv6: index in `prefix` of the next-header byte naming the fragment header.
    next_header_at: usize,
    /// Snap length cut the fragment short.
    snapped: bool,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn fragment_view(ip: &[u8]) -> Option<FragmentView<'_>> {
    match ip.first()? >> 4 {
        4 => {
            let ihl = (ip[0] as usize & 0x0f) * 4;
            if ihl < 20 || ip.len() < ihl {
                return None;
            }
            let flags = be16(ip, 6);
            let offset = (flags & 0x1fff) as u32 * 8;
            let more = flags & 0x2000 != 0;
            if offset == 0 && !more {
                return None;
            }
            let total = be16(ip, 2) as usize;
            let end = total.clamp(ihl, ip.len());
            let mut src = [0u8; 4];
            src.copy_from_slice(&ip[12..16]);
            let mut dst = [0u8; 4];
            dst.copy_from_slice(&ip[16..20]);
            let key = FragmentKey {
                src: IpAddr::V4(Ipv4Addr::from(src)),
                dst: IpAddr::V4(Ipv4Addr::from(dst)),
                protocol: ip[9],
                id: be16(ip, 4) as u32,
            };
            let snapped = total > ip.len();
            Some(FragmentView {
                key,
                offset,
                more,
                data: &ip[ihl..end],
                prefix: &ip[..ihl],
                next_header_at: 0,
                snapped,
            })
        }
        6 => {
            if ip.len() < 40 {
                return None;
            }
            let declared = 40 + be16(ip, 4) as usize;
            let mut next = ip[6];
            let mut next_at = 6;
            let mut pos = 40;
            while matches!(next, 0 | 43 | 60) {
                if pos + 2 > ip.len() {
                    return None;
                }
                next_at = pos;
                next = ip[pos];
                pos += (ip[pos + 1] as usize + 1) * 8;
            }
            if next != 44 || pos + 8 > ip.len() || pos > MAX_PREFIX {
                return None;
            }
            let word = be16(ip, pos + 2);
            let offset = (word & 0xfff8) as u32;
            let more = word & 1 != 0;
            if offset == 0 && !more {
                return None; // atomic fragment: nothing to reassemble
            }
            let mut src = [0u8; 16];
            src.copy_from_slice(&ip[8..24]);
            let mut dst = [0u8; 16];
            dst.copy_from_slice(&ip[24..40]);
            let key = FragmentKey {
                src: IpAddr::V6(Ipv6Addr::from(src)),
                dst: IpAddr::V6(Ipv6Addr::from(dst)),
                protocol: ip[pos],
                id: u32::from_be_bytes([ip[pos + 4], ip[pos + 5], ip[pos + 6], ip[pos + 7]]),
            };
            let end = declared.clamp(pos + 8, ip.len());
            let snapped = declared > ip.len();
            let data = &ip[pos + 8..end];
            Some(FragmentView {
                key,
                offset,
                more,
                data,
                prefix: &ip[..pos],
                next_header_at: next_at,
                snapped,
            })
        }
        _ => None,
    }
}

/// A datagram in progress.
struct Partial {
    generation: u64,
    /// Fragment data at its offset in the payload.
    payload: Vec<u8>,
    /// Received byte ranges of the payload, sorted, merged.
    ranges: Vec<(u32, u32)>,
    /// Payload length, once the last fragment is in.
    total: Option<u32>,
    /// Header of the first fragment (empty until it arrives).
    prefix: Vec<u8>,
    /// The fragment header's next-header value (IPv6).
    next_header: u8,
    next_header_at: usize,
    fragments: u32,
}

impl Partial {
    fn buffered(&self) -> usize {
        self.payload.len() + self.prefix.len()
    }

    fn complete(&self) -> bool {
        matches!((self.total, self.ranges.as_slice()), (Some(t), [(0, end)]) if *end == t)
            && !self.prefix.is_empty()
    }
}

/// Reassembles IPv4 and IPv6 datagrams from their fragments; see the module docs.
pub struct Defragmenter {
    config: DefragConfig,
    table: HashMap<FragmentKey, Partial>,
    /// Datagrams in creation order: (creation time, key, generation).
    order: VecDeque<(Timestamp, FragmentKey, u64)>,
    next_generation: u64,
    events: Vec<DefragEvent>,
    stats: DefragStats,
    /// The last reassembled datagram.
    out: Vec<u8>,
}

impl Default for Defragmenter {
    fn default() -> Self {
        Self::new(DefragConfig::default())
    }
}

impl Defragmenter {
    /// An empty table with these limits.
    pub fn new(config: DefragConfig) -> Self {
        Defragmenter {
            config,
            table: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            events: Vec::new(),
            stats: DefragStats::default(),
            out: Vec::new(),
        }
    }

    /// Current counters.
    pub fn stats(&self) -> DefragStats {
        self.stats
    }

    /// Datagrams in progress.
    pub fn pending(&self) -> usize {
        self.table.len()
    }

    /// Takes the events produced since the last call.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, DefragEvent> {
        self.events.drain(..)
    }

    /// Offers an IP packet captured at `now`. Packets that are not fragments
    /// are ignored. Returns the whole reassembled IP datagram (header and
    /// payload) when this fragment completes one; it stays valid until the
    /// next call.
    pub fn push(&mut self, now: Timestamp, ip: &[u8]) -> Option<&[u8]> {
        let view = fragment_view(ip)?;
        self.stats.fragments += 1;
        self.expire(now);
        if view.snapped {
            self.drop_datagram(view.key, DropReason::Snapped);
            return None;
        }
        let len = view.data.len() as u32;
        let end = view.offset + len;
        if end > MAX_PAYLOAD {
            self.drop_datagram(view.key, DropReason::TooLong);
            return None;
        }
        if !self.table.contains_key(&view.key) {
            self.make_room(0, true);
            let generation = self.next_generation;
            self.next_generation += 1;
            self.order.push_back((now, view.key, generation));
            let partial = Partial {
                generation,
                payload: Vec::new(),
                ranges: Vec::new(),
                total: None,
                prefix: Vec::new(),
                next_header: 0,
                next_header_at: 0,
                fragments: 0,
            };
            self.table.insert(view.key, partial);
        }
        let growth = (end as usize)
            .saturating_sub(self.table.get(&view.key).map_or(0, |p| p.payload.len()))
            + if view.offset == 0 {
                view.prefix.len()
            } else {
                0
            };
        self.make_room(growth, false);
        if self.stats.buffered_bytes + growth > self.config.max_bytes {
            self.drop_datagram(view.key, DropReason::MemoryCap);
            return None;
        }
        let partial = self.table.get_mut(&view.key)?;
        partial.fragments += 1;
        if partial.fragments > self.config.max_fragments {
            self.drop_datagram(view.key, DropReason::TooManyFragments);
            return None;
        }
        let before = partial.buffered();
        let overlapping = insert(partial, &view);
        self.stats.buffered_bytes = self.stats.buffered_bytes + partial.buffered() - before;
        if overlapping > 0 {
            self.stats.overlaps += 1;
            self.events.push(DefragEvent::Overlap {
                key: view.key,
                offset: view.offset,
                len,
                overlapping,
            });
        }
        if !partial.complete() {
            return None;
        }
        let done = self.table.remove(&view.key)?;
        self.stats.buffered_bytes -= done.buffered();
        self.stats.reassembled += 1;
        build_datagram(&done, &mut self.out);
        Some(&self.out)
    }

    /// Gives up every datagram still in progress (end of input).
    pub fn finish(&mut self) {
        while let Some((_, key, generation)) = self.order.pop_front() {
            if self
                .table
                .get(&key)
                .is_some_and(|p| p.generation == generation)
            {
                self.drop_datagram(key, DropReason::EndOfInput);
            }
        }
    }

    fn expire(&mut self, now: Timestamp) {
        while let Some(&(created, key, generation)) = self.order.front() {
            let live = self
                .table
                .get(&key)
                .is_some_and(|p| p.generation == generation);
            if live && now.0.saturating_sub(created.0) <= self.config.timeout_ns {
                break;
            }
            self.order.pop_front();
            if live {
                self.drop_datagram(key, DropReason::Timeout);
            }
        }
        // Completed datagrams leave stale entries behind; keep the queue bounded.
        if self.order.len() > 2 * self.table.len() + 64 {
            let table = &self.table;
            self.order
                .retain(|(_, k, g)| table.get(k).is_some_and(|p| p.generation == *g));
        }
    }

    /// Evicts the oldest datagrams until `growth` more bytes (and, when
    /// `new_datagram`, one more datagram) fit under the caps.
    fn make_room(&mut self, growth: usize, new_datagram: bool) {
        loop {
            let over_bytes = self.stats.buffered_bytes + growth > self.config.max_bytes;
            let over_count = new_datagram && self.table.len() >= self.config.max_datagrams;
            if !over_bytes && !over_count {
                return;
            }
            let Some((_, key, generation)) = self.order.pop_front() else {
                return;
            };
            if self
                .table
                .get(&key)
                .is_some_and(|p| p.generation == generation)
            {
                let reason = if over_count {
                    DropReason::CountCap
                } else {
                    DropReason::MemoryCap
                };
                self.drop_datagram(key, reason);
            }
        }
    }

    fn drop_datagram(&mut self, key: FragmentKey, reason: DropReason) {
        if let Some(p) = self.table.remove(&key) {
            self.stats.buffered_bytes -= p.buffered();
            self.stats.dropped += 1;
            self.events.push(DefragEvent::Dropped {
                key,
                reason,
                fragments: p.fragments,
            });
        } else {
            // A lone fragment refused before it was buffered.
            self.stats.dropped += 1;
            self.events.push(DefragEvent::Dropped {
                key,
                reason,
                fragments: 1,
            });
        }
    }
}

/// Copies the bytes of `view` not yet received into `partial`; returns how
/// many of its bytes were already covered (first received wins).
fn insert(partial: &mut Partial, view: &FragmentView<'_>) -> u32 {
    let start = view.offset;
    let mut end = start + view.data.len() as u32;
    let mut overlapping = 0;
    if !view.more {
        match partial.total {
            None if partial.ranges.last().is_none_or(|r| r.1 <= end) => partial.total = Some(end),
            Some(t) if t == end => {}
            // A second, different "last fragment": keep the first answer.
            _ => overlapping += end.saturating_sub(start).max(1),
        }
    }
    if let Some(t) = partial.total
        && end > t
    {
        overlapping += end - t.max(start);
        end = t.max(start);
    }
    if start == 0 && partial.prefix.is_empty() {
        partial.prefix.extend_from_slice(view.prefix);
        partial.next_header = view.key.protocol;
        partial.next_header_at = view.next_header_at;
    }
    if partial.payload.len() < end as usize {
        partial.payload.resize(end as usize, 0);
    }
    // Copy only the gaps between already received ranges.
    let mut cursor = start;
    for &(r0, r1) in &partial.ranges {
        if r1 <= cursor || r0 >= end {
            continue;
        }
        if r0 > cursor {
            copy(partial.payload.as_mut_slice(), view.data, start, cursor, r0);
        }
        overlapping += r1.min(end) - r0.max(cursor);
        cursor = cursor.max(r1);
    }
    if cursor < end {
        copy(
            partial.payload.as_mut_slice(),
            view.data,
            start,
            cursor,
            end,
        );
    }
    if start < end {
        merge(&mut partial.ranges, start, end);
    }
    overlapping
}

fn copy(payload: &mut [u8], data: &[u8], data_start: u32, from: u32, to: u32) {
    let (a, b) = ((from - data_start) as usize, (to - data_start) as usize);
    payload[from as usize..to as usize].copy_from_slice(&data[a..b]);
}

fn merge(ranges: &mut Vec<(u32, u32)>, start: u32, end: u32) {
    let at = ranges.partition_point(|r| r.0 < start);
    ranges.insert(at, (start, end));
    let mut w = 0;
    for i in 1..ranges.len() {
        if ranges[i].0 <= ranges[w].1 {
            ranges[w].1 = ranges[w].1.max(ranges[i].1);
        } else {
            w += 1;
            ranges[w] = ranges[i];
        }
    }
    ranges.truncate(w + 1);
}

/// Writes the whole datagram: the first fragment's header, patched to
/// describe an unfragmented packet, then the payload.
fn build_datagram(p: &Partial, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&p.prefix);
    let payload_len = p.payload.len();
    if p.prefix[0] >> 4 == 4 {
        let total = (out.len() + payload_len).min(u16::MAX as usize) as u16;
        out[2..4].copy_from_slice(&total.to_be_bytes());
        out[6] &= 0xc0; // keep reserved and DF, clear MF and the offset
        out[7] = 0;
        out[10] = 0;
        out[11] = 0;
        let sum = checksum(out);
        out[10..12].copy_from_slice(&sum.to_be_bytes());
    } else {
        out[p.next_header_at] = p.next_header;
        let len = (out.len() - 40 + payload_len).min(u16::MAX as usize) as u16;
        out[4..6].copy_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(&p.payload);
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
