//! Which data a payload rule inspects on TCP: the packet, the reassembled
//! stream, or both, after Suricata's rule flags.

use super::compile::CompiledDetections;
use crate::buffer::Buffer;
use crate::header::Protocol;
use crate::options::HeaderTest;
use crate::rule::{Detection, Rule};

/// How a payload rule meets the reassembled TCP stream, after Suricata's
/// rule flags: `flow:no_stream`, `dsize`, `tcp-pkt` inspect packets only;
/// `flow:only_stream`, `tcp-stream` the stream only; other payload rules
/// inspect the stream first and fall back to the packet when its payload
/// did not go into the stream; rules that anchor a content with
/// `offset`/`depth`/`startswith` or test `stream_size` inspect packets too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StreamUse {
    /// Packets only (also every rule that inspects no payload).
    Packet,
    /// The reassembled stream only.
    StreamOnly,
    /// The stream, and the packet as well (each match alerts).
    StreamThenPacket,
    /// The stream, then the packet if its payload is not in the stream.
    StreamElseUnstreamed,
}

/// The stream use of a compiled rule.
pub(crate) fn stream_use_of(r: &Rule, d: &CompiledDetections) -> StreamUse {
    let payload_only = !d.lists.is_empty()
        && d.lists
            .iter()
            .all(|l| l.buffer == Buffer::Packet && l.transforms.is_empty());
    let proto = r.header.protocol;
    let stream_capable = matches!(
        proto,
        Protocol::Ip | Protocol::Tcp | Protocol::TcpStream | Protocol::App(_)
    );
    let dsize = r
        .header_tests
        .iter()
        .any(|t| matches!(t, HeaderTest::Dsize(_)));
    if !payload_only || !stream_capable || r.flow.no_stream || dsize {
        return StreamUse::Packet;
    }
    if proto == Protocol::TcpStream || r.flow.only_stream {
        return StreamUse::StreamOnly;
    }
    let anchored = r.detections.iter().any(|d| {
        matches!(d, Detection::Content(c)
            if c.buffer == Buffer::Packet
                && (c.offset.is_some() || c.depth.is_some() || c.startswith))
    });
    let stream_size = r
        .header_tests
        .iter()
        .any(|t| matches!(t, HeaderTest::StreamSize { .. }));
    if anchored || stream_size {
        StreamUse::StreamThenPacket
    } else {
        StreamUse::StreamElseUnstreamed
    }
}
