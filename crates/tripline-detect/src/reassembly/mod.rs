//! Bounded TCP stream reassembly for content matching and the application
//! parsers (HTTP, TLS).
//!
//! The [`Reassembler`] keeps both directions of each flow, keyed by whatever
//! flow key the caller uses (a 5-tuple, a flow id). Each segment is offered
//! with its direction, sequence number, flags and payload; the reassembler
//! hands back the bytes that became in order, preceded by a bounded window of
//! the bytes before them ([`StreamChunk`]), so a pattern spanning two
//! segments is still found. The unconsumed in-order bytes of a direction stay
//! available to an incremental parser ([`TcpStream::unconsumed`] /
//! [`TcpStream::consume`]).
//!
//! Policy, after Suricata's stream engine:
//! * a SYN fixes the initial sequence number; a direction seen without its
//!   SYN is picked up mid-stream (at the peer's acknowledgement number when
//!   known, else at the first data segment);
//! * out-of-order segments wait, up to `max_out_of_order` bytes ahead; a
//!   gap the peer acknowledged (the capture lost it) is skipped once data
//!   after it is there, and nothing is matched across it;
//! * overlaps: the bytes received first win, and overlaps whose bytes differ
//!   are counted separately; segments wholly delivered before are
//!   retransmissions and ignored;
//! * each direction stops at `depth` bytes (1 MiB by default);
//! * FIN closes a direction once every byte before it is in, RST closes
//!   both; a new SYN with another sequence number restarts the flow;
//! * a global `memcap` and `max_flows` evict the least recently used flows.
//!
//! Everything over a cap is dropped and counted in [`ReassemblyStats`].
//!
//! [`AppLayer`] runs the HTTP/1.x and TLS ClientHello parsers over the
//! reassembled bytes of each flow and hands their buffers to a callback.
//!
//! ```text
//! let chunk = reassembler.segment(&key, &segment);   // match chunk.bytes (window + new)
//! if !chunk.is_empty() || chunk.closed {
//!     let stream = reassembler.stream_mut(&key).unwrap();
//!     app.parse(stream, segment.direction, &mut |event| { /* http.*, tls.sni */ });
//!     if stream.is_closed() { reassembler.remove(&key); }
//! }
//! ```

mod app;
mod config;
mod half;
mod table;

pub use app::{AppError, AppEvent, AppLayer, AppProto, AppState, AppStats};
pub use config::{ReassemblyConfig, ReassemblyStats};
pub use half::HalfStream;
pub use table::{Reassembler, TcpStream};

use tripline_core::{TcpFlags, Timestamp};

/// Which way a segment travels, as the caller's flow key defines it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client (the side that sent the SYN) to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

impl Direction {
    /// 0 for [`Direction::ToServer`], 1 for [`Direction::ToClient`].
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ToServer => Direction::ToClient,
            Direction::ToClient => Direction::ToServer,
        }
    }
}

/// One TCP segment as the reassembler needs it; borrows the packet payload.
#[derive(Clone, Copy, Debug)]
pub struct Segment<'a> {
    /// Direction within the flow.
    pub direction: Direction,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number, when the ACK flag is set.
    pub ack: Option<u32>,
    /// TCP flags.
    pub flags: TcpFlags,
    /// The TCP payload.
    pub payload: &'a [u8],
    /// Capture time.
    pub ts: Timestamp,
}

/// Bytes that became in order with a segment, borrowed from the stream.
#[derive(Clone, Copy, Debug)]
pub struct StreamChunk<'a> {
    /// Direction they travel.
    pub direction: Direction,
    /// Stream offset of `bytes[0]` (0 is the first byte after the SYN).
    pub offset: u64,
    /// The look-back window followed by the new bytes.
    pub bytes: &'a [u8],
    /// Index in `bytes` where the new bytes start.
    pub new_from: usize,
    /// True when this direction is closed (FIN reached, or RST).
    pub closed: bool,
    /// True when the segment's payload is in the stream (delivered now,
    /// buffered out of order, or delivered before): a raw stream inspection
    /// covers it, so the packet need not be inspected on its own.
    pub taken: bool,
}

impl<'a> StreamChunk<'a> {
    /// The newly in-order bytes.
    pub fn new_bytes(&self) -> &'a [u8] {
        &self.bytes[self.new_from..]
    }

    /// The bytes before them that are still retained (at most the window).
    pub fn context(&self) -> &'a [u8] {
        &self.bytes[..self.new_from]
    }

    /// True when no new bytes came in order.
    pub fn is_empty(&self) -> bool {
        self.new_from == self.bytes.len()
    }
}
