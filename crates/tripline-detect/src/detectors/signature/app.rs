//! Application transactions for signatures: TCP segments go through the
//! bounded reassembler ([`crate::reassembly`]); HTTP requests and responses
//! and TLS ClientHellos parsed from the streams become sets of inspection
//! buffers (`http.uri`, `http.host`, `tls.sni`, `file.data`, ...), each
//! inspected once, as Suricata inspects a transaction.

use super::flows::FlowKey;
use crate::reassembly::{
    AppEvent, AppLayer, AppProto as StreamProto, Direction, Reassembler, ReassemblyConfig, Segment,
};
use tripline_core::{Header, Timestamp};
use tripline_rules::Buffer;
use tripline_rules::header::AppProto;
use tripline_rules::matcher::Buffers;

/// One application transaction's buffers, handed to the inspector.
pub(crate) struct Transaction<'a> {
    /// HTTP or TLS.
    pub proto: AppProto,
    /// Client to server (a request, a ClientHello) or back (a response).
    pub to_server: bool,
    /// The buffers.
    pub buffers: Buffers<'a>,
}

/// Reassembly and application parsing for the signature detector.
pub(crate) struct AppInspect {
    streams: Reassembler<FlowKey>,
    parsers: AppLayer,
}

impl AppInspect {
    pub(crate) fn new(config: ReassemblyConfig) -> Self {
        AppInspect {
            streams: Reassembler::new(config),
            parsers: AppLayer::default(),
        }
    }

    /// The application protocol detected on the flow so far.
    pub(crate) fn proto(&self, key: &FlowKey) -> Option<AppProto> {
        match self.streams.stream(key)?.app().proto() {
            StreamProto::Http => Some(AppProto::Http),
            StreamProto::Tls => Some(AppProto::Tls),
            _ => None,
        }
    }

    /// Feeds one TCP segment; calls `on_tx` for every transaction it completes.
    pub(crate) fn segment(
        &mut self,
        key: &FlowKey,
        h: &Header,
        payload: &[u8],
        ts: Timestamp,
        to_server: bool,
        on_tx: &mut dyn FnMut(&Transaction<'_>),
    ) {
        let Some(tcp) = h.tcp() else {
            return;
        };
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
        let chunk = self.streams.segment(key, &seg);
        if chunk.is_empty() && !chunk.closed {
            return;
        }
        let Some(stream) = self.streams.stream_mut(key) else {
            return;
        };
        self.parsers.parse(stream, direction, &mut |ev| {
            let mut b = Buffers::new();
            let tx = match ev {
                AppEvent::HttpRequest(r) => {
                    b.set(Buffer::HttpMethod, r.method);
                    b.set(Buffer::HttpUri, r.uri);
                    b.set(Buffer::HttpUriRaw, r.uri_raw);
                    b.set(Buffer::HttpRequestLine, r.request_line);
                    b.set(Buffer::HttpProtocol, r.protocol);
                    b.set(Buffer::HttpHeader, r.header);
                    b.set(Buffer::HttpHeaderNames, r.header_names);
                    b.set(Buffer::HttpHeaderRaw, r.header_raw);
                    set_opt(&mut b, Buffer::HttpHost, r.host);
                    set_opt(&mut b, Buffer::HttpHostRaw, r.host_raw);
                    set_opt(&mut b, Buffer::HttpUserAgent, r.user_agent);
                    set_opt(&mut b, Buffer::HttpCookie, r.cookie);
                    set_opt(&mut b, Buffer::HttpContentType, r.content_type);
                    if !r.body.is_empty() {
                        b.set(Buffer::HttpRequestBody, r.body);
                    }
                    Transaction {
                        proto: AppProto::Http,
                        to_server: true,
                        buffers: b,
                    }
                }
                AppEvent::HttpResponse(r) => {
                    b.set(Buffer::HttpStatCode, r.stat_code);
                    b.set(Buffer::HttpStatMsg, r.stat_msg);
                    b.set(Buffer::HttpResponseLine, r.response_line);
                    b.set(Buffer::HttpProtocol, r.protocol);
                    b.set(Buffer::HttpHeader, r.header);
                    b.set(Buffer::HttpHeaderNames, r.header_names);
                    b.set(Buffer::HttpHeaderRaw, r.header_raw);
                    set_opt(&mut b, Buffer::HttpCookie, r.cookie);
                    set_opt(&mut b, Buffer::HttpContentType, r.content_type);
                    if !r.body.is_empty() {
                        b.set(Buffer::HttpResponseBody, r.body);
                        b.set(Buffer::FileData, r.body);
                    }
                    Transaction {
                        proto: AppProto::Http,
                        to_server: false,
                        buffers: b,
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
                    }
                }
                AppEvent::Error { .. } => return,
            };
            on_tx(&tx);
        });
    }
}

fn set_opt<'a>(b: &mut Buffers<'a>, buffer: Buffer, v: Option<&'a [u8]>) {
    if let Some(v) = v {
        b.set(buffer, v);
    }
}
