//! One direction of a TCP connection: sequence tracking, in-order delivery,
//! out-of-order buffering and the retained bytes the matcher and the
//! application parsers read.
//!
//! Sequence numbers are turned into 64-bit stream offsets (offset 0 is the
//! first byte after the SYN, or the first byte seen when the stream was
//! picked up mid-way), so 32-bit wraparound is handled in one place:
//! [`HalfStream::offset_of`] unwraps a sequence number relative to the next
//! expected byte.

use super::config::{ReassemblyConfig, ReassemblyStats};

/// Bytes of dead prefix in `data` tolerated before it is compacted away, so
/// the memmove is amortized over many segments.
const COMPACT_SLACK: usize = 16 * 1024;

/// Reassembly state of one direction.
#[derive(Debug, Default)]
pub struct HalfStream {
    /// True once the initial sequence number is known (SYN or mid-stream).
    started: bool,
    /// True when the SYN of this direction was seen.
    syn_seen: bool,
    /// The sequence number of stream offset 0.
    base_seq: u32,
    /// Stream offset of the next expected in-order byte.
    next: u64,
    /// In-order bytes `[data_start, next)`: the matcher's look-back window
    /// and whatever the application parser has not consumed yet.
    data: Vec<u8>,
    /// Stream offset of `data[0]`.
    data_start: u64,
    /// Stream offset up to which the application parser has consumed.
    consumed: u64,
    /// Out-of-order bytes, `ahead[i]` is stream offset `next + i`.
    ahead: Vec<u8>,
    /// Filled ranges of `ahead`, sorted, disjoint and not touching.
    filled: Vec<(u32, u32)>,
    /// Stream offset of the FIN, once seen.
    fin_at: Option<u64>,
    /// True after RST, or once every byte up to the FIN was delivered.
    closed: bool,
    /// True once the depth limit cut this direction off.
    depth_reached: bool,
    /// The last acknowledgement number the peer sent (our next byte, as the
    /// peer sees it): used to place a mid-stream pickup.
    peer_ack: Option<u32>,
}

/// What a segment did to a direction, for the caller's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Accepted {
    /// Stream offset where the newly in-order bytes start.
    pub new_from: u64,
    /// Number of newly in-order bytes.
    pub new_len: usize,
    /// True when a RST was honoured (it closes the peer's direction too).
    pub reset: bool,
    /// True when the payload's bytes are in the stream: delivered, buffered
    /// out of order, or already there (a retransmission). False when they
    /// were dropped (beyond the depth or the out-of-order limit, after the
    /// direction closed) or there were none.
    pub taken: bool,
}

impl HalfStream {
    /// True once the direction has a known starting sequence number.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// True when the SYN of this direction was seen.
    pub fn syn_seen(&self) -> bool {
        self.syn_seen
    }

    /// True after a RST or once everything up to the FIN was delivered.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// True once the depth limit cut this direction off.
    pub fn depth_reached(&self) -> bool {
        self.depth_reached
    }

    /// Stream offset of the next expected in-order byte (= bytes delivered).
    pub fn delivered(&self) -> u64 {
        self.next
    }

    /// Bytes buffered out of order.
    pub fn pending_out_of_order(&self) -> usize {
        self.filled.iter().map(|&(s, e)| (e - s) as usize).sum()
    }

    /// Heap bytes held by this direction.
    pub fn memory(&self) -> usize {
        self.data.capacity()
            + self.ahead.capacity()
            + self.filled.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    /// In-order bytes the application parser has not consumed yet.
    pub fn unconsumed(&self) -> &[u8] {
        let from = (self.consumed - self.data_start) as usize;
        &self.data[from..]
    }

    /// Stream offset of the first unconsumed byte.
    pub fn consumed_offset(&self) -> u64 {
        self.consumed
    }

    /// Marks `n` more bytes as consumed by the application parser (clamped
    /// to what is there).
    pub fn consume(&mut self, n: usize) {
        self.consumed = (self.consumed + n as u64).min(self.next);
    }

    /// The retained in-order bytes from `from` (clamped to what is kept).
    pub fn retained_from(&self, from: u64) -> (u64, &[u8]) {
        let from = from.clamp(self.data_start, self.next);
        (from, &self.data[(from - self.data_start) as usize..])
    }

    /// Records the acknowledgement number the peer sent.
    pub(super) fn note_peer_ack(&mut self, ack: u32) {
        self.peer_ack = Some(ack);
    }

    /// Closes the direction (the peer sent a RST).
    pub(super) fn close(&mut self) {
        self.closed = true;
    }

    /// Starts the direction at a SYN with sequence number `isn`.
    pub(super) fn start_at_syn(&mut self, isn: u32) {
        self.reset();
        self.started = true;
        self.syn_seen = true;
        self.base_seq = isn.wrapping_add(1);
    }

    /// The sequence number of the SYN, when it was seen.
    pub fn isn(&self) -> Option<u32> {
        self.syn_seen.then(|| self.base_seq.wrapping_sub(1))
    }

    /// Forgets everything but the buffers' capacity.
    pub(super) fn reset(&mut self) {
        let mut data = std::mem::take(&mut self.data);
        let mut ahead = std::mem::take(&mut self.ahead);
        let mut filled = std::mem::take(&mut self.filled);
        data.clear();
        ahead.clear();
        filled.clear();
        *self = HalfStream {
            data,
            ahead,
            filled,
            ..HalfStream::default()
        };
    }

    /// Starts mid-stream for a data segment at `seq` when no SYN was seen:
    /// at the peer's acknowledgement number when it is a little before
    /// `seq` (so bytes that arrive late are not lost), else at `seq`.
    fn start_mid_stream(&mut self, seq: u32, max_ahead: usize) {
        self.started = true;
        self.base_seq = match self.peer_ack {
            Some(ack) if (seq.wrapping_sub(ack) as usize) <= max_ahead => ack,
            _ => seq,
        };
    }

    /// Unwraps a 32-bit sequence number into a stream offset near `next`;
    /// negative when it lies before offset 0.
    pub(super) fn offset_of(&self, seq: u32) -> i64 {
        let next_seq = self.base_seq.wrapping_add(self.next as u32);
        self.next as i64 + seq.wrapping_sub(next_seq) as i32 as i64
    }

    /// Takes a segment's payload (and FIN/RST) into the stream. Returns the
    /// newly in-order range, if any.
    pub(super) fn accept(
        &mut self,
        seq: u32,
        payload: &[u8],
        fin: bool,
        rst: bool,
        config: &ReassemblyConfig,
        stats: &mut ReassemblyStats,
    ) -> Accepted {
        // Trim first, so the window before the new bytes is still retained
        // when the caller reads them.
        self.trim(config, stats);
        let mut before = self.next;
        if self.closed {
            if !payload.is_empty() {
                stats.after_close_bytes += payload.len() as u64;
            }
            return Accepted {
                new_from: before,
                new_len: 0,
                reset: false,
                taken: false,
            };
        }
        if !self.started {
            if payload.is_empty() {
                // A bare FIN or RST from a side that never sent data.
                self.closed = fin || rst;
                return Accepted {
                    new_from: before,
                    new_len: 0,
                    reset: rst,
                    taken: false,
                };
            }
            self.start_mid_stream(seq, config.max_out_of_order);
            stats.midstream_pickups += 1;
        }
        let offset = self.offset_of(seq);
        // A RST is honoured only near the expected sequence number, so a
        // blind reset cannot cut inspection short.
        let window = config.max_out_of_order.max(65_535) as i64;
        let rst = rst && (offset - self.next as i64).abs() <= window;
        if rst && payload.is_empty() && !fin {
            self.closed = true;
            return Accepted {
                new_from: before,
                new_len: 0,
                reset: true,
                taken: false,
            };
        }
        let data_at = (!payload.is_empty() || fin).then_some(offset);
        if let Some(resumed) = self.skip_acked_gap(data_at, config, stats) {
            before = resumed;
        }
        let taken = !payload.is_empty() && self.take_payload(offset, payload, config, stats);
        if fin {
            let end = offset + payload.len() as i64;
            if end >= 0 && self.fin_at.is_none() {
                self.fin_at = Some(end as u64);
            }
        }
        if let Some(f) = self.fin_at
            && (self.next >= f || (self.depth_reached && f >= config.depth))
        {
            self.closed = true;
        }
        if rst {
            self.closed = true;
        }
        Accepted {
            new_from: before,
            new_len: (self.next - before) as usize,
            reset: rst,
            taken,
        }
    }

    /// Skips a gap the capture lost: when the peer acknowledged bytes up to
    /// or past the data buffered out of order after the gap, the missing
    /// bytes will not come, so the stream continues after them (`data_at`
    /// is where the segment being taken starts, if it has data or a FIN). The retained bytes before the gap are dropped,
    /// so nothing is matched across it. Returns the stream offset the
    /// stream resumes at when a gap was skipped.
    fn skip_acked_gap(
        &mut self,
        data_at: Option<i64>,
        config: &ReassemblyConfig,
        stats: &mut ReassemblyStats,
    ) -> Option<u64> {
        let acked = self.offset_of(self.peer_ack?);
        let next = self.next as i64;
        let buffered = self.filled.first().map(|&(s, _)| next + i64::from(s));
        // Only once data waits behind the hole (so a segment reordered in
        // the capture after its ACK still fills it), and not when this
        // segment starts in the hole or before it.
        let buffered = buffered?;
        let after = data_at.map_or(buffered, |d| buffered.min(d));
        if after <= next || acked < after || after as u64 >= config.depth {
            return None;
        }
        let gap = (after - next) as usize;
        stats.gaps_skipped += 1;
        stats.gap_bytes += gap as u64;
        let unconsumed = self.next - self.consumed;
        stats.unconsumed_dropped_bytes += unconsumed;
        self.data.clear();
        self.next = after as u64;
        self.data_start = self.next;
        self.consumed = self.next;
        if !self.filled.is_empty() {
            self.ahead.drain(..gap.min(self.ahead.len()));
            for r in &mut self.filled {
                r.0 -= gap as u32;
                r.1 -= gap as u32;
            }
        }
        self.drain_ahead();
        Some(after as u64)
    }

    /// Takes the payload at stream offset `offset`; false when its bytes
    /// were dropped (see [`Accepted::taken`]).
    fn take_payload(
        &mut self,
        offset: i64,
        payload: &[u8],
        config: &ReassemblyConfig,
        stats: &mut ReassemblyStats,
    ) -> bool {
        let end = offset + payload.len() as i64;
        if end <= self.next as i64 {
            stats.retransmissions += 1;
            self.compare_delivered(offset, payload, stats);
            return true;
        }
        let mut payload = payload;
        let mut offset = offset;
        if offset < self.next as i64 {
            // Starts in data already delivered: first-received wins.
            let cut = (self.next as i64 - offset) as usize;
            stats.overlaps += 1;
            self.compare_delivered(offset, &payload[..cut], stats);
            payload = &payload[cut..];
            offset = self.next as i64;
        }
        let offset = offset as u64;
        // Depth: nothing at or beyond `depth` is kept.
        if offset + payload.len() as u64 > config.depth {
            let keep = config.depth.saturating_sub(offset) as usize;
            stats.depth_dropped_bytes += (payload.len() - keep) as u64;
            if !self.depth_reached {
                self.depth_reached = true;
                stats.depth_reached += 1;
            }
            payload = &payload[..keep];
            if payload.is_empty() {
                return false;
            }
        }
        let rel = offset - self.next;
        if rel == 0 && self.filled.is_empty() {
            self.data.extend_from_slice(payload);
            self.next += payload.len() as u64;
            return true;
        }
        if rel as usize + payload.len() > config.max_out_of_order {
            stats.out_of_order_dropped_bytes += payload.len() as u64;
            return false;
        }
        if rel > 0 {
            stats.out_of_order_segments += 1;
        }
        self.store_ahead(rel as usize, payload, stats);
        self.drain_ahead();
        true
    }

    /// Compares a resent piece with the bytes delivered before, when they
    /// are still retained, and counts a mismatch.
    fn compare_delivered(&self, offset: i64, bytes: &[u8], stats: &mut ReassemblyStats) {
        let lo = offset.max(self.data_start as i64);
        let hi = (offset + bytes.len() as i64).min(self.next as i64);
        if lo >= hi {
            return;
        }
        let old = &self.data
            [(lo as u64 - self.data_start) as usize..(hi as u64 - self.data_start) as usize];
        let new = &bytes[(lo - offset) as usize..(hi - offset) as usize];
        if old != new {
            stats.overlap_mismatches += 1;
        }
    }

    /// Writes `payload` at `rel` into `ahead`, keeping bytes already there
    /// (first received wins) and counting overlaps.
    fn store_ahead(&mut self, rel: usize, payload: &[u8], stats: &mut ReassemblyStats) {
        let end = rel + payload.len();
        if self.ahead.len() < end {
            self.ahead.resize(end, 0);
        }
        let (s, e) = (rel as u32, end as u32);
        // Copy only the gaps between already-filled ranges.
        let mut cursor = s;
        let mut overlapped = false;
        let mut mismatch = false;
        for &(fs, fe) in &self.filled {
            if fe <= cursor || fs >= e {
                continue;
            }
            if fs > cursor {
                let (a, b) = (cursor as usize, fs as usize);
                self.ahead[a..b].copy_from_slice(&payload[a - rel..b - rel]);
            }
            let (a, b) = (fs.max(s) as usize, fe.min(e) as usize);
            overlapped = true;
            if self.ahead[a..b] != payload[a - rel..b - rel] {
                mismatch = true;
            }
            cursor = fe.max(cursor);
        }
        if cursor < e {
            let (a, b) = (cursor as usize, e as usize);
            self.ahead[a..b].copy_from_slice(&payload[a - rel..b - rel]);
        }
        if overlapped {
            stats.overlaps += 1;
        }
        if mismatch {
            stats.overlap_mismatches += 1;
        }
        self.add_filled(s, e);
    }

    /// Adds `[s, e)` to the filled ranges, merging neighbours.
    fn add_filled(&mut self, s: u32, e: u32) {
        let first = self.filled.partition_point(|&(_, fe)| fe < s);
        let mut last = first;
        let (mut ns, mut ne) = (s, e);
        while last < self.filled.len() && self.filled[last].0 <= e {
            ns = ns.min(self.filled[last].0);
            ne = ne.max(self.filled[last].1);
            last += 1;
        }
        self.filled.splice(first..last, std::iter::once((ns, ne)));
    }

    /// Moves the contiguous prefix of `ahead` (if it starts at 0) into the
    /// in-order data.
    fn drain_ahead(&mut self) {
        let Some(&(0, n)) = self.filled.first() else {
            return;
        };
        let n = n as usize;
        self.data.extend_from_slice(&self.ahead[..n]);
        self.next += n as u64;
        self.filled.remove(0);
        if self.filled.is_empty() {
            self.ahead.clear();
        } else {
            self.ahead.drain(..n);
            for r in &mut self.filled {
                r.0 -= n as u32;
                r.1 -= n as u32;
            }
        }
    }

    /// Drops what neither the look-back window nor the application parser
    /// needs any more; bounds the unconsumed bytes.
    fn trim(&mut self, config: &ReassemblyConfig, stats: &mut ReassemblyStats) {
        let unconsumed = self.next - self.consumed;
        if unconsumed > config.max_unconsumed as u64 {
            let drop = unconsumed - config.max_unconsumed as u64;
            stats.unconsumed_dropped_bytes += drop;
            self.consumed += drop;
        }
        let keep_from = self
            .consumed
            .min(self.next.saturating_sub(config.window as u64))
            .max(self.data_start);
        let dead = (keep_from - self.data_start) as usize;
        if dead > COMPACT_SLACK.max(config.window) || (dead > 0 && dead == self.data.len()) {
            self.data.drain(..dead);
            self.data_start = keep_from;
            if self.data.capacity() > 4 * self.data.len().max(COMPACT_SLACK) {
                self.data.shrink_to(2 * self.data.len().max(COMPACT_SLACK));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ReassemblyConfig {
        ReassemblyConfig {
            window: 4,
            ..ReassemblyConfig::default()
        }
    }

    #[test]
    fn offsets_unwrap_across_the_wrap() {
        let mut h = HalfStream::default();
        h.start_at_syn(u32::MAX - 2);
        assert_eq!(h.offset_of(u32::MAX - 1), 0);
        assert_eq!(h.offset_of(u32::MAX), 1);
        assert_eq!(h.offset_of(0), 2);
        assert_eq!(h.offset_of(u32::MAX - 2), -1);
    }

    #[test]
    fn filled_ranges_merge() {
        let mut h = HalfStream::default();
        h.add_filled(10, 20);
        h.add_filled(30, 40);
        h.add_filled(20, 30);
        assert_eq!(h.filled, vec![(10, 40)]);
        h.add_filled(0, 5);
        h.add_filled(45, 50);
        h.add_filled(3, 47);
        assert_eq!(h.filled, vec![(0, 50)]);
    }

    #[test]
    fn acknowledged_gap_is_skipped_once_data_follows() {
        let c = ReassemblyConfig::default();
        let mut st = ReassemblyStats::default();
        let mut h = HalfStream::default();
        h.start_at_syn(99);
        h.accept(100, b"abc", false, false, &c, &mut st);
        // Bytes 3..6 are lost; 6..9 wait out of order.
        let a = h.accept(106, b"ghi", false, false, &c, &mut st);
        assert_eq!((a.new_len, a.taken), (0, true));
        // Without an acknowledgement past the hole nothing moves.
        h.note_peer_ack(103);
        let a = h.accept(109, b"jk", false, false, &c, &mut st);
        assert_eq!(a.new_len, 0);
        // The peer acknowledged everything: the hole is skipped, and the
        // bytes before it are not kept (nothing matches across the gap).
        h.note_peer_ack(111);
        let a = h.accept(111, b"lm", false, false, &c, &mut st);
        assert_eq!((a.new_from, a.new_len), (6, 7));
        assert_eq!(h.retained_from(0), (6, &b"ghijklm"[..]));
        assert_eq!((st.gaps_skipped, st.gap_bytes), (1, 3));
    }

    #[test]
    fn late_segment_after_its_ack_fills_the_hole() {
        let c = ReassemblyConfig::default();
        let mut st = ReassemblyStats::default();
        let mut h = HalfStream::default();
        h.start_at_syn(99);
        h.accept(103, b"def", false, false, &c, &mut st);
        h.note_peer_ack(106);
        let a = h.accept(100, b"abc", false, false, &c, &mut st);
        assert_eq!((a.new_from, a.new_len), (0, 6));
        assert_eq!(st.gaps_skipped, 0);
    }

    #[test]
    fn window_is_kept_and_old_bytes_dropped() {
        let c = cfg();
        let mut st = ReassemblyStats::default();
        let mut h = HalfStream::default();
        h.start_at_syn(99);
        h.accept(100, b"abcdef", false, false, &c, &mut st);
        h.consume(6);
        let (from, kept) = h.retained_from(0);
        assert_eq!((from, kept), (0, &b"abcdef"[..]));
        // Compaction is amortized, but the window is always there.
        let big = vec![b'x'; 40_000];
        h.accept(106, &big, false, false, &c, &mut st);
        h.consume(big.len());
        h.accept(106 + big.len() as u32, b"yz", false, false, &c, &mut st);
        let (from, kept) = h.retained_from(0);
        assert!(from > 0);
        assert!(kept.ends_with(b"xxxxyz"));
        assert!(h.data.len() < 20_000);
    }
}
