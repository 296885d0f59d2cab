//! Limits of the stream reassembler and the counters it keeps.

/// Caps of the reassembler. Every one bounds memory; what goes over a cap is
/// dropped and counted in [`ReassemblyStats`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReassemblyConfig {
    /// Bytes reassembled per direction; later bytes are dropped (Suricata's
    /// `stream.reassembly.depth`, 1 MiB by default).
    pub depth: u64,
    /// Out-of-order bytes buffered per direction, measured from the next
    /// expected byte: a segment reaching further is dropped.
    pub max_out_of_order: usize,
    /// In-order bytes kept per direction for the application parser; when it
    /// falls further behind, the oldest bytes are skipped.
    pub max_unconsumed: usize,
    /// Bytes before the new data handed to the matcher with it, so content
    /// spanning segment boundaries still matches.
    pub window: usize,
    /// Heap bytes for all flows together; over it the least recently used
    /// flows are evicted.
    pub memcap: usize,
    /// Flows tracked at once; over it the least recently used is evicted.
    pub max_flows: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            depth: 1 << 20,
            max_out_of_order: 256 * 1024,
            max_unconsumed: 256 * 1024,
            window: 2048,
            memcap: 64 << 20,
            max_flows: 65_536,
        }
    }
}

/// What the reassembler did, for metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments offered.
    pub segments: u64,
    /// Payload bytes delivered in order.
    pub delivered_bytes: u64,
    /// Flows created.
    pub flows_created: u64,
    /// Flows evicted to stay under `max_flows` or `memcap`.
    pub flows_evicted: u64,
    /// Flows reset by a new SYN with another sequence number (port reuse).
    pub flows_restarted: u64,
    /// Directions picked up without their SYN.
    pub midstream_pickups: u64,
    /// Segments whose bytes had all been delivered already.
    pub retransmissions: u64,
    /// Segments overlapping bytes already received (first received wins).
    pub overlaps: u64,
    /// Overlaps whose bytes differ from the ones received first (an evasion
    /// attempt or a broken stack).
    pub overlap_mismatches: u64,
    /// Segments that arrived ahead of a gap.
    pub out_of_order_segments: u64,
    /// Bytes dropped because they lay beyond `max_out_of_order`.
    pub out_of_order_dropped_bytes: u64,
    /// Gaps skipped: bytes the peer acknowledged but the capture lost, with
    /// data after them (the stream continues after the gap).
    pub gaps_skipped: u64,
    /// Bytes missing in those gaps.
    pub gap_bytes: u64,
    /// Directions that reached `depth`.
    pub depth_reached: u64,
    /// Bytes dropped beyond `depth`.
    pub depth_dropped_bytes: u64,
    /// Bytes skipped because the application parser fell behind by more
    /// than `max_unconsumed`.
    pub unconsumed_dropped_bytes: u64,
    /// Payload bytes that came after the direction closed (FIN or RST).
    pub after_close_bytes: u64,
}
