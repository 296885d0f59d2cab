//! What the matcher looks at: one packet (or logged packet) with its flow
//! context and the application buffers the caller parsed for it.

use crate::buffer::Buffer;
use crate::header::AppProto;
use tripline_core::{Header, Timestamp};

/// The inspection buffers available for one packet, indexed by [`Buffer`].
/// Buffers the caller did not fill are absent, and rules that need them do
/// not match.
#[derive(Clone, Copy, Debug, Default)]
pub struct Buffers<'a> {
    slots: [Option<&'a [u8]>; Buffer::COUNT],
}

impl<'a> Buffers<'a> {
    /// No buffers.
    pub fn new() -> Self {
        Buffers {
            slots: [None; Buffer::COUNT],
        }
    }

    /// Makes `data` the content of `buffer`.
    pub fn set(&mut self, buffer: Buffer, data: &'a [u8]) {
        self.slots[buffer.index()] = Some(data);
    }

    /// The content of `buffer`, when present.
    pub fn get(&self, buffer: Buffer) -> Option<&'a [u8]> {
        self.slots[buffer.index()]
    }

    /// True when no application buffer (anything but the payload) is set.
    pub fn has_app(&self) -> bool {
        self.slots
            .iter()
            .enumerate()
            .any(|(i, s)| i != Buffer::Packet.index() && s.is_some())
    }
}

/// Where a packet stands in its flow, as the caller's flow tracking sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowContext {
    /// The packet travels from the flow's initiator (client) to the responder.
    pub to_server: bool,
    /// The flow is established: a completed TCP handshake (or one picked up
    /// mid-stream when that is allowed), or UDP/ICMP seen both ways.
    pub established: bool,
    /// The payload is reassembled stream data rather than one packet.
    pub stream: bool,
    /// The packet was reassembled from IP fragments.
    pub reassembled_fragment: bool,
    /// Bytes the client and the server have sent so far (for `stream_size`).
    pub client_bytes: u64,
    /// See `client_bytes`.
    pub server_bytes: u64,
    /// Not the first packet of its flow direction, or not a packet (an
    /// application transaction): Suricata evaluates IP-only rules (no
    /// tests beyond addresses, any ports) once per flow direction, so
    /// they are skipped here.
    pub repeat: bool,
}

/// The reassembled stream data of a TCP packet's direction, for Suricata's
/// raw stream inspection of payload rules: the bytes that became in order
/// with this packet, preceded by an overlap of bytes inspected before (so a
/// pattern spanning the boundary is found). A rule matches the stream only
/// when its match reaches into the new bytes, so the same stream bytes do
/// not alert twice.
#[derive(Clone, Copy, Debug, Default)]
pub struct StreamData<'a> {
    /// The overlap followed by the new bytes.
    pub bytes: &'a [u8],
    /// Stream offset of `bytes[0]` (bytes of this direction before it).
    pub offset: u64,
    /// Index in `bytes` where the new bytes start.
    pub new_from: usize,
    /// The packet's payload went into the stream (in order, or buffered
    /// out of order, or a retransmission of bytes already there): payload
    /// rules inspect it there rather than in the packet, unless they also
    /// ask for packets (`offset`/`depth`, `stream_size`).
    pub payload_in_stream: bool,
}

impl StreamData<'_> {
    /// True when bytes came in order with this packet.
    pub fn has_new(&self) -> bool {
        self.new_from < self.bytes.len()
    }
}

/// One packet as the matcher inspects it.
#[derive(Clone, Copy, Debug)]
pub struct Inspect<'a> {
    /// Packet time (thresholds and xbits use it, not the wall clock).
    pub ts: Timestamp,
    /// IP and transport header fields.
    pub header: &'a Header,
    /// Payload length as `dsize` sees it (for log records: derived from the
    /// logged lengths; for packets: the payload's length).
    pub payload_len: usize,
    /// Flow context.
    pub flow: FlowContext,
    /// The application protocol detected on the flow, if any.
    pub app_proto: Option<AppProto>,
    /// Buffers, including [`Buffer::Packet`] for the payload.
    pub buffers: Buffers<'a>,
    /// Only header fields are known (a firewall log line): rules that
    /// inspect any buffer are not considered.
    pub header_only: bool,
    /// The reassembled stream of the packet's direction, when the caller
    /// tracks it (established TCP flows); `None` inspects the packet alone.
    pub stream: Option<StreamData<'a>>,
    /// An application transaction rather than a packet: only rules that
    /// inspect an application buffer or protocol are evaluated (the others
    /// saw the packet itself).
    pub transaction: bool,
}

impl<'a> Inspect<'a> {
    /// A packet with `payload` and no application buffers.
    pub fn packet(ts: Timestamp, header: &'a Header, payload: &'a [u8], flow: FlowContext) -> Self {
        let mut buffers = Buffers::new();
        buffers.set(Buffer::Packet, payload);
        Inspect {
            ts,
            header,
            payload_len: payload.len(),
            flow,
            app_proto: None,
            buffers,
            header_only: false,
            stream: None,
            transaction: false,
        }
    }

    /// An application transaction (an HTTP request or response, a TLS
    /// ClientHello) with its `buffers`, completed by the packet carrying
    /// `payload` (empty when the input's end completed it): rules that
    /// mix payload and application buffers see both, as in Suricata.
    pub fn transaction(
        ts: Timestamp,
        header: &'a Header,
        payload: &'a [u8],
        flow: FlowContext,
        app_proto: AppProto,
        buffers: Buffers<'a>,
    ) -> Self {
        let mut i = Inspect::packet(ts, header, payload, flow);
        i.buffers = buffers;
        i.buffers.set(Buffer::Packet, payload);
        i.app_proto = Some(app_proto);
        i.transaction = true;
        i
    }

    /// A logged packet: header fields only.
    pub fn header_only(
        ts: Timestamp,
        header: &'a Header,
        payload_len: usize,
        flow: FlowContext,
    ) -> Self {
        Inspect {
            ts,
            header,
            payload_len,
            flow,
            app_proto: None,
            buffers: Buffers::new(),
            header_only: true,
            stream: None,
            transaction: false,
        }
    }
}
