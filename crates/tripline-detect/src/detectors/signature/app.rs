//! Application transactions for signatures: TCP segments go through the
//! bounded reassembler ([`crate::reassembly`]); HTTP requests and responses
//! and TLS ClientHellos parsed from the streams become sets of inspection
//! buffers (`http.uri`, `http.host`, `tls.sni`, `file.data`, ...), each
//! inspected once, as Suricata inspects a transaction. The same reassembled
//! bytes feed the raw stream inspection of payload rules ([`StreamPosition`]).

mod transactions;

use super::flows::FlowKey;
use crate::reassembly::{
    AppEvent, AppLayer, AppProto as StreamProto, Direction, Reassembler, ReassemblyConfig, Segment,
};
use transactions::FlowTransactions;
pub(crate) use transactions::RequestFields;
use tripline_core::{Header, Timestamp};
use tripline_ingest::app::http::MessageHead;
use tripline_rules::Buffer;
use tripline_rules::header::AppProto;
use tripline_rules::matcher::Buffers;
use tripline_rules::matcher::context::StreamData;

/// One application transaction's buffers, handed to the inspector.
pub(crate) struct Transaction<'a> {
    /// HTTP or TLS.
    pub proto: AppProto,
    /// Client to server (a request, a ClientHello) or back (a response).
    pub to_server: bool,
    /// The buffers.
    pub buffers: Buffers<'a>,
    /// The transaction's number in its flow, from 0 (Suricata's `tx_id`):
    /// an HTTP request and its response share one; a TLS flow has one.
    pub tx_id: u64,
    /// For a response: the fields of the request it answers, when
    /// remembered ([`transactions`]).
    pub request: Option<&'a RequestFields>,
}

/// Where one segment left its direction's stream: the bytes that became in
/// order with it and the overlap before them, as stream offsets, so they can
/// be read back after the application parsers ran.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamPosition {
    direction: Direction,
    /// Stream offset of the first overlap byte.
    from: u64,
    /// Stream offset of the first new byte.
    new_at: u64,
    /// The segment's payload is in the stream.
    taken: bool,
}

/// Reassembly and application parsing for the signature detector.
pub(crate) struct AppInspect {
    streams: Reassembler<FlowKey>,
    parsers: AppLayer,
    /// Run the HTTP/TLS parsers; off when no rule needs the application
    /// layer (streams are then reassembled for raw inspection only and
    /// their bytes released as soon as they are in order).
    parse_app: bool,
    /// Per flow, the transactions numbered so far (bounded like the
    /// reassembler's flows, least recently used evicted first).
    txs: crate::lru::LruMap<FlowKey, FlowTransactions>,
}

impl AppInspect {
    pub(crate) fn new(
        config: ReassemblyConfig,
        http: tripline_ingest::app::http::HttpLimits,
        parse_app: bool,
    ) -> Self {
        AppInspect {
            txs: crate::lru::LruMap::new(config.max_flows.max(1)),
            streams: Reassembler::new(config),
            parsers: AppLayer::new(http),
            parse_app,
        }
    }

    /// Application-layer counters.
    pub(crate) fn stats(&self) -> crate::reassembly::AppStats {
        *self.parsers.stats()
    }

    /// The application protocol detected on the flow so far.
    pub(crate) fn proto(&self, key: &FlowKey) -> Option<AppProto> {
        if !self.parse_app {
            return None;
        }
        match self.streams.stream(key)?.app().proto() {
            StreamProto::Http => Some(AppProto::Http),
            StreamProto::Tls => Some(AppProto::Tls),
            _ => None,
        }
    }

    /// The stream data at `pos` for raw stream inspection: `overlap` bytes
    /// at most before the new ones.
    pub(crate) fn stream_data(
        &self,
        key: &FlowKey,
        pos: &StreamPosition,
        overlap: usize,
    ) -> StreamData<'_> {
        let none = StreamData {
            bytes: &[],
            offset: 0,
            new_from: 0,
            payload_in_stream: pos.taken,
        };
        let Some(stream) = self.streams.stream(key) else {
            return none;
        };
        let from = pos.from.max(pos.new_at.saturating_sub(overlap as u64));
        let (start, bytes) = stream.half(pos.direction).retained_from(from);
        if start > pos.new_at {
            return none;
        }
        StreamData {
            bytes,
            offset: start,
            new_from: ((pos.new_at - start) as usize).min(bytes.len()),
            payload_in_stream: pos.taken,
        }
    }

    /// Feeds one TCP segment; calls `on_tx` for every transaction it
    /// completes and returns where the segment left its direction's stream.
    pub(crate) fn segment(
        &mut self,
        key: &FlowKey,
        h: &Header,
        payload: &[u8],
        ts: Timestamp,
        to_server: bool,
        on_tx: &mut dyn FnMut(&Transaction<'_>),
    ) -> Option<StreamPosition> {
        let tcp = h.tcp()?;
        let direction = if to_server {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let seg = Segment {
            direction,
            seq: tcp.seq.unwrap_or(0),
            ack: tcp.ack,
            flags: tcp.flags,
            payload,
            ts,
        };
        if tcp.flags.0 & 0x12 == 0x02 && self.parse_app {
            // A new connection on the flow's addresses numbers anew.
            if let Some(txs) = self.txs.get_mut(key) {
                txs.restart();
            }
        }
        let chunk = self.streams.segment(key, &seg);
        let pos = StreamPosition {
            direction,
            from: chunk.offset,
            new_at: chunk.offset + chunk.new_from as u64,
            taken: chunk.taken,
        };
        if chunk.is_empty() && !chunk.closed {
            return Some(pos);
        }
        let stream = self.streams.stream_mut(key)?;
        if !self.parse_app {
            let n = stream.unconsumed(direction).len();
            stream.consume(direction, n);
            return Some(pos);
        }
        let txs = &mut self.txs;
        self.parsers.parse(stream, direction, &mut |ev| {
            if let Some(tx) = transaction(ev) {
                numbered(
                    txs.get_or_insert_with(key, FlowTransactions::default),
                    tx,
                    on_tx,
                );
            }
        });
        Some(pos)
    }

    /// The capture (or live input) ended: every direction still holding
    /// bytes is closed so the parsers complete what they have (a request
    /// whose head never ended, a body cut by the end), as Suricata inspects
    /// a flow's open transactions when the flow ends. Calls `on_tx` with
    /// the flow of each transaction completed.
    pub(crate) fn flush(&mut self, on_tx: &mut dyn FnMut(&FlowKey, &Transaction<'_>)) {
        if !self.parse_app {
            return;
        }
        // In key order, so the output does not depend on hashing.
        let mut keys = self.streams.keys();
        keys.sort_unstable();
        for key in keys {
            for direction in [Direction::ToServer, Direction::ToClient] {
                let Some(stream) = self.streams.stream_mut(&key) else {
                    break;
                };
                if stream.half(direction).is_closed() || stream.unconsumed(direction).is_empty() {
                    continue;
                }
                stream.end_of_input(direction);
                let txs = &mut self.txs;
                self.parsers.parse(stream, direction, &mut |ev| {
                    if let Some(tx) = transaction(ev) {
                        let flow = txs.get_or_insert_with(&key, FlowTransactions::default);
                        numbered(flow, tx, &mut |tx| on_tx(&key, tx));
                    }
                });
            }
        }
    }
}

/// Numbers `tx` in its flow, adds the request a response answers, and
/// hands it to `on_tx`.
fn numbered(
    flow: &mut FlowTransactions,
    mut tx: Transaction<'_>,
    on_tx: &mut dyn FnMut(&Transaction<'_>),
) {
    flow.number(&mut tx);
    let request = if tx.to_server {
        None
    } else {
        flow.request_of(tx.tx_id)
    };
    on_tx(&Transaction { request, ..tx });
}

/// The transaction an application event makes (errors make none).
fn transaction<'a>(ev: AppEvent<'a>) -> Option<Transaction<'a>> {
    let mut b = Buffers::new();
    Some(match ev {
        AppEvent::HttpRequest(r) => {
            b.set(Buffer::HttpMethod, r.method);
            b.set(Buffer::HttpUri, r.uri);
            b.set(Buffer::HttpUriRaw, r.uri_raw);
            b.set(Buffer::HttpRequestLine, r.request_line);
            set_opt(&mut b, Buffer::HttpHost, r.host);
            set_opt(&mut b, Buffer::HttpHostRaw, r.host_raw);
            set_opt(&mut b, Buffer::HttpUserAgent, r.user_agent);
            set_head(&mut b, &r.head);
            if !r.body.is_empty() {
                b.set(Buffer::HttpRequestBody, r.body);
                if is_upload(r.method, r.head.content_type) {
                    b.set(Buffer::FileData, r.body);
                }
            }
            Transaction {
                proto: AppProto::Http,
                to_server: true,
                buffers: b,
                tx_id: 0,
                request: None,
            }
        }
        AppEvent::HttpResponse(r) => {
            b.set(Buffer::HttpStatCode, r.stat_code);
            b.set(Buffer::HttpStatMsg, r.stat_msg);
            b.set(Buffer::HttpResponseLine, r.response_line);
            set_head(&mut b, &r.head);
            if !r.body.is_empty() {
                b.set(Buffer::HttpResponseBody, r.body);
                b.set(Buffer::FileData, r.body);
            }
            Transaction {
                proto: AppProto::Http,
                to_server: false,
                buffers: b,
                tx_id: 0,
                request: None,
            }
        }
        AppEvent::TlsClientHello(hello) => {
            if let Some(sni) = hello.sni {
                b.set(Buffer::TlsSni, sni);
            }
            Transaction {
                proto: AppProto::Tls,
                to_server: true,
                buffers: b,
                tx_id: 0,
                request: None,
            }
        }
        AppEvent::Error { .. } => return None,
    })
}

/// True when Suricata treats a request body as a file (`file.data`): the
/// body of a POST or PUT that is not multipart (multipart bodies carry
/// their files in parts, which are not extracted here).
fn is_upload(method: &[u8], content_type: Option<&[u8]>) -> bool {
    let multipart = content_type
        .is_some_and(|ct| ct.len() >= 10 && ct[..10].eq_ignore_ascii_case(b"multipart/"));
    !multipart && (method.eq_ignore_ascii_case(b"POST") || method.eq_ignore_ascii_case(b"PUT"))
}

/// The buffers of a message head common to requests and responses.
fn set_head<'a>(b: &mut Buffers<'a>, h: &MessageHead<'a>) {
    b.set(Buffer::HttpProtocol, h.protocol);
    b.set(Buffer::HttpHeader, h.header);
    b.set(Buffer::HttpHeaderNames, h.header_names);
    b.set(Buffer::HttpHeaderRaw, h.header_raw);
    set_opt(b, Buffer::HttpCookie, h.cookie);
    set_opt(b, Buffer::HttpContentType, h.content_type);
}

fn set_opt<'a>(b: &mut Buffers<'a>, buffer: Buffer, v: Option<&'a [u8]>) {
    if let Some(v) = v {
        b.set(buffer, v);
    }
}
