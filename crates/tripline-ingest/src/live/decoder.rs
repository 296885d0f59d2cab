//! The frame decoder a live capture hands each captured frame to.

use std::fmt;
use tripline_core::{ErrorKind, Record, Timestamp};

/// Turns one captured link-layer frame into records.
///
/// Live capture only reads frames; decoding (link layers, IP, transport,
/// defragmentation) belongs to the capture decoder, which implements this
/// trait. Keeping it a parameter lets live capture build and be tested on its
/// own, and lets a caller plug in any decoder with the same contract.
pub trait FrameDecoder {
    /// Decodes `frame` (captured bytes, possibly cut short by the snap length;
    /// `wire_len` is its length on the wire) of link type `linktype` (a
    /// `LINKTYPE_*` / DLT value such as 1 for Ethernet), captured at `ts`.
    ///
    /// Calls `emit` once per record the frame yields: none for a frame that is
    /// fine but of no interest (ARP, a fragment held for reassembly), several
    /// when a frame completes more than one thing. Records may borrow from
    /// `frame` or from the decoder (a reassembled datagram) for the length of
    /// the call. Returns an error for a frame that does not decode; live
    /// capture counts it, reports it and carries on.
    fn decode<'a>(
        &mut self,
        linktype: i32,
        ts: Timestamp,
        frame: &'a [u8],
        wire_len: u32,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> Result<(), FrameError>;
}

/// Why a frame did not decode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    /// The kind of damage, used as the error counter name.
    pub kind: ErrorKind,
    /// A human explanation (no raw bytes).
    pub message: String,
}

impl FrameError {
    /// Builds a frame error.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        FrameError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for FrameError {}
