//! The per-flow table of the reassembler: both directions of each flow,
//! least-recently-used eviction under a flow cap and a memory cap.
//!
//! Flows live in a slab linked into one recency list by index, with a hash
//! index from the caller's key to the slot, so lookups and evictions are O(1)
//! and slots (with their buffers' capacity) are reused.

use super::app::AppState;
use super::config::{ReassemblyConfig, ReassemblyStats};
use super::half::HalfStream;
use super::{Direction, Segment, StreamChunk};
use std::collections::HashMap;
use std::hash::Hash;
use tripline_core::{TcpFlags, Timestamp};

/// The index hasher: foldhash, seeded per process (keys come from traffic).
type IndexHasher = foldhash::fast::RandomState;

const NIL: u32 = u32::MAX;

/// Fixed cost counted per flow besides its buffers (slot, index entry).
const FLOW_OVERHEAD: usize = std::mem::size_of::<TcpStream>() + 64;

/// Both directions of one TCP connection.
#[derive(Debug, Default)]
pub struct TcpStream {
    halves: [HalfStream; 2],
    app: AppState,
    last_seen: Timestamp,
    /// Memory last accounted for this flow.
    accounted: usize,
}

impl TcpStream {
    /// One direction.
    pub fn half(&self, dir: Direction) -> &HalfStream {
        &self.halves[dir.index()]
    }

    /// One direction, mutable (to consume bytes).
    pub fn half_mut(&mut self, dir: Direction) -> &mut HalfStream {
        &mut self.halves[dir.index()]
    }

    /// In-order bytes of `dir` not consumed by the application parser yet.
    pub fn unconsumed(&self, dir: Direction) -> &[u8] {
        self.halves[dir.index()].unconsumed()
    }

    /// Marks `n` bytes of `dir` as consumed by the application parser.
    pub fn consume(&mut self, dir: Direction, n: usize) {
        self.halves[dir.index()].consume(n);
    }

    /// The input ended with `dir` still open (end of a capture): the
    /// direction counts as closed, so the parsers complete what they hold.
    pub fn end_of_input(&mut self, dir: Direction) {
        self.halves[dir.index()].close();
    }

    /// True when both directions are closed.
    pub fn is_closed(&self) -> bool {
        self.halves[0].is_closed() && self.halves[1].is_closed()
    }

    /// The application-layer state of the flow.
    pub fn app(&self) -> &AppState {
        &self.app
    }

    /// The application-layer state, mutable (for [`AppLayer`](super::AppLayer)).
    pub fn app_mut(&mut self) -> &mut AppState {
        &mut self.app
    }

    /// Time of the last segment.
    pub fn last_seen(&self) -> Timestamp {
        self.last_seen
    }

    fn memory(&self) -> usize {
        FLOW_OVERHEAD + self.halves[0].memory() + self.halves[1].memory()
    }

    fn reset(&mut self) {
        self.halves[0].reset();
        self.halves[1].reset();
        self.app = AppState::default();
    }
}

struct Slot<K> {
    key: Option<K>,
    stream: TcpStream,
    prev: u32,
    next: u32,
}

/// Bounded TCP reassembly for many flows; see the module documentation.
pub struct Reassembler<K> {
    config: ReassemblyConfig,
    index: HashMap<K, u32, IndexHasher>,
    slots: Vec<Slot<K>>,
    free: Vec<u32>,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    memory: usize,
    stats: ReassemblyStats,
}

impl<K: Hash + Eq + Clone> Reassembler<K> {
    /// An empty reassembler with these caps.
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            config,
            index: HashMap::with_hasher(IndexHasher::default()),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            memory: 0,
            stats: ReassemblyStats::default(),
        }
    }

    /// The caps in force.
    pub fn config(&self) -> &ReassemblyConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Flows tracked now.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no flow is tracked.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Heap bytes accounted for all flows (buffers plus per-flow overhead).
    pub fn memory(&self) -> usize {
        self.memory
    }

    /// The keys of the flows tracked (at most `max_flows`).
    pub fn keys(&self) -> Vec<K> {
        self.index.keys().cloned().collect()
    }

    /// The flow for `key`, if tracked.
    pub fn stream(&self, key: &K) -> Option<&TcpStream> {
        let idx = self.find(key)?;
        Some(&self.slots[idx as usize].stream)
    }

    /// The flow for `key`, mutable (to consume application bytes).
    pub fn stream_mut(&mut self, key: &K) -> Option<&mut TcpStream> {
        let idx = self.find(key)?;
        Some(&mut self.slots[idx as usize].stream)
    }

    /// The slot of `key`: the most recently used one is checked before the
    /// index (callers read the flow they just fed a segment to).
    fn find(&self, key: &K) -> Option<u32> {
        let head = self.slots.get(self.head as usize);
        if head.is_some_and(|s| s.key.as_ref() == Some(key)) {
            return Some(self.head);
        }
        self.index.get(key).copied()
    }

    /// Forgets a flow (closed and fully parsed, or timed out by the caller).
    pub fn remove(&mut self, key: &K) -> bool {
        match self.index.get(key) {
            Some(&idx) => {
                self.release(idx);
                true
            }
            None => false,
        }
    }

    /// Forgets flows idle since before `now - idle_nanos`; returns how many.
    pub fn expire_idle(&mut self, now: Timestamp, idle_nanos: i64) -> usize {
        let mut n = 0;
        while self.tail != NIL {
            let t = self.tail;
            if now.0 - self.slots[t as usize].stream.last_seen.0 <= idle_nanos {
                break;
            }
            self.release(t);
            n += 1;
        }
        n
    }

    /// Takes one segment of flow `key` and returns the bytes that became in
    /// order in its direction (possibly none) with the look-back window.
    pub fn segment(&mut self, key: &K, seg: &Segment<'_>) -> StreamChunk<'_> {
        self.stats.segments += 1;
        let idx = self.slot_for(key);
        let flags = seg.flags;
        let dir = seg.direction.index();
        let slot = &mut self.slots[idx as usize];
        let stream = &mut slot.stream;
        stream.last_seen = seg.ts;
        let mut data_seq = seg.seq;
        if flags.has(TcpFlags::SYN) {
            let half = &stream.halves[dir];
            let same_syn = half.isn() == Some(seg.seq);
            if !same_syn {
                if !flags.has(TcpFlags::ACK) && half.is_started() {
                    // A new connection reusing the 4-tuple.
                    stream.reset();
                    self.stats.flows_restarted += 1;
                } else if flags.has(TcpFlags::ACK) && half.is_started() {
                    stream.halves[dir].reset();
                }
                stream.halves[dir].start_at_syn(seg.seq);
            }
            data_seq = seg.seq.wrapping_add(1);
        }
        if let (true, Some(ack)) = (flags.has(TcpFlags::ACK), seg.ack) {
            stream.halves[1 - dir].note_peer_ack(ack);
        }
        let fin = flags.has(TcpFlags::FIN);
        let rst = flags.has(TcpFlags::RST);
        let acc = stream.halves[dir].accept(
            data_seq,
            seg.payload,
            fin,
            rst,
            &self.config,
            &mut self.stats,
        );
        if acc.reset {
            // RST tears down both directions; the peer's unconsumed bytes
            // remain readable until the flow is removed.
            stream.halves[1 - dir].close();
        }
        self.stats.delivered_bytes += acc.new_len as u64;
        let new_mem = stream.memory();
        let old_mem = std::mem::replace(&mut stream.accounted, new_mem);
        self.memory = self.memory + new_mem - old_mem;
        while self.memory > self.config.memcap && self.tail != idx && self.tail != NIL {
            let t = self.tail;
            self.release(t);
            self.stats.flows_evicted += 1;
        }
        let half = &self.slots[idx as usize].stream.halves[dir];
        let from = acc.new_from.saturating_sub(self.config.window as u64);
        let (offset, bytes) = half.retained_from(from);
        let new_from = (acc.new_from.max(offset) - offset) as usize;
        StreamChunk {
            direction: seg.direction,
            offset,
            bytes,
            new_from: new_from.min(bytes.len()),
            closed: half.is_closed(),
            taken: acc.taken,
        }
    }

    /// The slot for `key`, created (evicting the least recently used flow
    /// when full) if needed, and marked most recently used.
    fn slot_for(&mut self, key: &K) -> u32 {
        if let Some(&idx) = self.index.get(key) {
            self.unlink(idx);
            self.push_front(idx);
            return idx;
        }
        if self.index.len() >= self.config.max_flows.max(1) && self.tail != NIL {
            let t = self.tail;
            self.release(t);
            self.stats.flows_evicted += 1;
        }
        self.stats.flows_created += 1;
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].key = Some(key.clone());
                i
            }
            None => {
                self.slots.push(Slot {
                    key: Some(key.clone()),
                    stream: TcpStream::default(),
                    prev: NIL,
                    next: NIL,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let stream = &mut self.slots[idx as usize].stream;
        stream.accounted = stream.memory();
        self.memory += stream.accounted;
        self.index.insert(key.clone(), idx);
        self.push_front(idx);
        idx
    }

    /// Unlinks and frees a slot and its buffers.
    fn release(&mut self, idx: u32) {
        self.unlink(idx);
        let slot = &mut self.slots[idx as usize];
        if let Some(k) = slot.key.take() {
            self.index.remove(&k);
        }
        // Freed slots give their buffers back: the memcap counts live flows.
        slot.stream.halves = Default::default();
        slot.stream.app = AppState::default();
        self.memory -= slot.stream.accounted;
        slot.stream.accounted = 0;
        self.free.push(idx);
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next)
        };
        if prev != NIL {
            self.slots[prev as usize].next = next;
        } else if self.head == idx {
            self.head = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else if self.tail == idx {
            self.tail = prev;
        }
        let s = &mut self.slots[idx as usize];
        s.prev = NIL;
        s.next = NIL;
    }

    fn push_front(&mut self, idx: u32) {
        let old = self.head;
        {
            let s = &mut self.slots[idx as usize];
            s.prev = NIL;
            s.next = old;
        }
        if old != NIL {
            self.slots[old as usize].prev = idx;
        }
        self.head = idx;
        if self.tail == NIL {
            self.tail = idx;
        }
    }
}
