//! Runs the application parsers (HTTP/1.x, TLS ClientHello) over the
//! reassembled bytes of a flow, as they become in order.
//!
//! The protocol is recognised from the first bytes, whatever the port: a
//! TLS handshake record from the client, an HTTP request line from the
//! client, or an HTTP status line from the server (a flow picked up
//! mid-way). Parsed messages are handed to a callback as [`AppEvent`]s with
//! the buffers the signature matcher inspects; consumed bytes are released
//! from the stream. Streams of other protocols are consumed as they come, so
//! only the matcher's look-back window is kept for them.

use super::{Direction, TcpStream};
use tripline_ingest::app::http::{
    self, BodyReader, HttpError, HttpLimits, HttpRequest, HttpResponse, HttpScratch, Parsed,
    ResponseContext,
};
use tripline_ingest::app::tls::{self, ClientHello, TlsError};

/// Pipelined requests whose method is remembered for response framing.
const MAX_PENDING: u32 = 64;

/// The application protocol of a flow, once recognised.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AppProto {
    /// Not enough bytes yet.
    #[default]
    Unknown,
    /// HTTP/1.x.
    Http,
    /// TLS.
    Tls,
    /// Anything else (or a parser gave up on the flow).
    Other,
}

/// Per-flow application-layer state, kept in the [`TcpStream`].
#[derive(Clone, Debug, Default)]
pub struct AppState {
    proto: AppProto,
    /// Per direction: a body still being skipped after its cap.
    skipping: [Option<BodyReader>; 2],
    /// Per direction: the parser gave up (error), bytes are only consumed.
    failed: [bool; 2],
    /// Pending requests, oldest in bit 0: 1 = HEAD.
    pending_head: u64,
    pending: u32,
}

impl AppState {
    /// The recognised protocol.
    pub fn proto(&self) -> AppProto {
        self.proto
    }
}

/// A parser error, with the direction and stream offset it happened at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppError {
    /// HTTP parse error; its offset is relative to `stream_offset`.
    Http(HttpError),
    /// TLS parse error; its offset is relative to `stream_offset` (or to
    /// the handshake message for `Malformed`).
    Tls(TlsError),
}

/// What the application parsers found.
#[derive(Debug)]
pub enum AppEvent<'a> {
    /// A complete HTTP request (body cut at the cap).
    HttpRequest(&'a HttpRequest<'a>),
    /// A complete HTTP response.
    HttpResponse(&'a HttpResponse<'a>),
    /// The TLS ClientHello.
    TlsClientHello(&'a ClientHello<'a>),
    /// A parser gave up on this direction of the flow.
    Error {
        /// Direction of the bad bytes.
        direction: Direction,
        /// Stream offset of the message the error is in.
        stream_offset: u64,
        /// The error.
        error: AppError,
    },
}

/// Counters of the application layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AppStats {
    /// HTTP requests parsed.
    pub http_requests: u64,
    /// HTTP responses parsed.
    pub http_responses: u64,
    /// TLS ClientHellos parsed.
    pub tls_client_hellos: u64,
    /// HTTP parse errors (the direction is then only consumed).
    pub http_errors: u64,
    /// TLS parse errors.
    pub tls_errors: u64,
    /// Decoded body bytes skipped past the caps.
    pub body_bytes_skipped: u64,
    /// Bodies whose content coding was undone (gzip, deflate).
    pub bodies_decoded: u64,
    /// Bodies with a coding layer that did not decode and was passed
    /// through as it was.
    pub bodies_not_compressed: u64,
    /// Bodies whose compressed stream broke midway (the part decoded kept).
    pub bodies_corrupt: u64,
    /// Bodies stopped as decompression bombs (size or ratio cap).
    pub bodies_bomb: u64,
    /// Bodies with more coding layers than the limit (the rest not undone).
    pub bodies_layers_skipped: u64,
    /// Decoded bodies cut at the body cap.
    pub bodies_truncated: u64,
}

impl AppStats {
    /// Adds another parser's counters (parallel workers).
    pub fn add(&mut self, o: &AppStats) {
        self.http_requests += o.http_requests;
        self.http_responses += o.http_responses;
        self.tls_client_hellos += o.tls_client_hellos;
        self.http_errors += o.http_errors;
        self.tls_errors += o.tls_errors;
        self.body_bytes_skipped += o.body_bytes_skipped;
        self.bodies_decoded += o.bodies_decoded;
        self.bodies_not_compressed += o.bodies_not_compressed;
        self.bodies_corrupt += o.bodies_corrupt;
        self.bodies_bomb += o.bodies_bomb;
        self.bodies_layers_skipped += o.bodies_layers_skipped;
        self.bodies_truncated += o.bodies_truncated;
    }

    /// Counts what decoding one body did.
    fn body(&mut self, d: &tripline_ingest::app::http::BodyDecoding) {
        use tripline_ingest::app::http::DecodeError;
        self.bodies_decoded += u64::from(d.layers > 0);
        self.bodies_layers_skipped += u64::from(d.skipped_layers > 0);
        self.bodies_truncated += u64::from(d.truncated);
        match d.error {
            Some(DecodeError::NotCompressed { .. }) => self.bodies_not_compressed += 1,
            Some(DecodeError::Corrupt { .. }) => self.bodies_corrupt += 1,
            Some(DecodeError::Bomb { .. }) => self.bodies_bomb += 1,
            None => {}
        }
    }
}

/// The application parsers with their reusable buffers.
#[derive(Debug, Default)]
pub struct AppLayer {
    limits: HttpLimits,
    scratch: HttpScratch,
    tls_scratch: Vec<u8>,
    stats: AppStats,
}

impl AppLayer {
    /// Parsers with these HTTP caps.
    pub fn new(limits: HttpLimits) -> Self {
        AppLayer {
            limits,
            ..AppLayer::default()
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &AppStats {
        &self.stats
    }

    /// Parses what became available in direction `dir` of `stream` and
    /// consumes it; call after each [`Reassembler::segment`](super::Reassembler::segment)
    /// that delivered bytes (or closed the direction).
    pub fn parse(
        &mut self,
        stream: &mut TcpStream,
        dir: Direction,
        on: &mut dyn FnMut(AppEvent<'_>),
    ) {
        let mut state = std::mem::take(stream.app_mut());
        if state.proto == AppProto::Unknown {
            state.proto = detect(stream.unconsumed(dir), dir);
        }
        match state.proto {
            AppProto::Unknown => {}
            AppProto::Http => self.http(&mut state, stream, dir, on),
            AppProto::Tls => {
                if dir == Direction::ToServer
                    && !state.failed[0]
                    && stream.half(dir).consumed_offset() == 0
                {
                    self.tls(&mut state, stream, on);
                } else {
                    let n = stream.unconsumed(dir).len();
                    stream.consume(dir, n);
                }
            }
            AppProto::Other => {
                let n = stream.unconsumed(dir).len();
                stream.consume(dir, n);
            }
        }
        *stream.app_mut() = state;
    }

    fn tls(
        &mut self,
        state: &mut AppState,
        stream: &mut TcpStream,
        on: &mut dyn FnMut(AppEvent<'_>),
    ) {
        let dir = Direction::ToServer;
        let consumed = match tls::parse_client_hello(stream.unconsumed(dir), &mut self.tls_scratch)
        {
            Ok(hello) => {
                self.stats.tls_client_hellos += 1;
                on(AppEvent::TlsClientHello(&hello));
                hello.consumed
            }
            Err(TlsError::Incomplete { needed }) if needed <= tls::MAX_HELLO + 5 * 8 => return,
            Err(e) => {
                self.stats.tls_errors += 1;
                state.failed[0] = true;
                on(AppEvent::Error {
                    direction: dir,
                    stream_offset: 0,
                    error: AppError::Tls(e),
                });
                stream.unconsumed(dir).len()
            }
        };
        stream.consume(dir, consumed);
        // The rest is encrypted: drop it as it comes.
        let n = stream.unconsumed(dir).len();
        stream.consume(dir, n);
    }

    fn http(
        &mut self,
        state: &mut AppState,
        stream: &mut TcpStream,
        dir: Direction,
        on: &mut dyn FnMut(AppEvent<'_>),
    ) {
        let d = dir.index();
        loop {
            if state.failed[d] {
                let n = stream.unconsumed(dir).len();
                stream.consume(dir, n);
                return;
            }
            if let Some(reader) = &mut state.skipping[d] {
                let closed = stream.half(dir).is_closed();
                let input = stream.unconsumed(dir);
                let before = reader.decoded_len();
                match reader.feed(input, 0, &mut Vec::new(), 0) {
                    Ok(p) => {
                        self.stats.body_bytes_skipped += reader.decoded_len() - before;
                        stream.consume(dir, p.consumed);
                        if p.done || (reader.until_close() && closed) {
                            state.skipping[d] = None;
                        } else {
                            return;
                        }
                    }
                    Err(e) => {
                        self.fail(state, stream, dir, e, on);
                        continue;
                    }
                }
            }
            let input = stream.unconsumed(dir);
            if input.is_empty() {
                return;
            }
            let step = if dir == Direction::ToServer {
                let ctx = http::RequestContext {
                    stream_closed: stream.half(dir).is_closed(),
                };
                match http::parse_request_in(input, &mut self.scratch, &self.limits, ctx) {
                    Ok(Parsed::Complete(req)) => {
                        self.stats.http_requests += 1;
                        self.stats.body(&req.body_decoding);
                        on(AppEvent::HttpRequest(&req));
                        if state.pending < MAX_PENDING {
                            let head = req.method.eq_ignore_ascii_case(b"HEAD") as u64;
                            state.pending_head |= head << state.pending;
                            state.pending += 1;
                        }
                        Ok(Some((req.consumed, req.body_rest, req.body.len())))
                    }
                    Ok(Parsed::Incomplete) => Ok(None),
                    Err(e) => Err(e),
                }
            } else {
                let ctx = ResponseContext {
                    head_request: state.pending > 0 && state.pending_head & 1 == 1,
                    stream_closed: stream.half(dir).is_closed(),
                };
                match http::parse_response(input, &mut self.scratch, &self.limits, ctx) {
                    Ok(Parsed::Complete(resp)) => {
                        self.stats.http_responses += 1;
                        self.stats.body(&resp.body_decoding);
                        on(AppEvent::HttpResponse(&resp));
                        if !resp.is_interim() && state.pending > 0 {
                            state.pending -= 1;
                            state.pending_head >>= 1;
                        }
                        Ok(Some((resp.consumed, resp.body_rest, resp.body.len())))
                    }
                    Ok(Parsed::Incomplete) => Ok(None),
                    Err(e) => Err(e),
                }
            };
            match step {
                Ok(Some((consumed, rest, kept))) => {
                    if let Some(r) = &rest {
                        self.stats.body_bytes_skipped += r.decoded_len() - kept as u64;
                    }
                    stream.consume(dir, consumed);
                    state.skipping[d] = rest;
                }
                Ok(None) => return,
                Err(e) => {
                    self.fail(state, stream, dir, e, on);
                }
            }
        }
    }

    fn fail(
        &mut self,
        state: &mut AppState,
        stream: &mut TcpStream,
        dir: Direction,
        e: HttpError,
        on: &mut dyn FnMut(AppEvent<'_>),
    ) {
        self.stats.http_errors += 1;
        state.failed[dir.index()] = true;
        state.skipping[dir.index()] = None;
        on(AppEvent::Error {
            direction: dir,
            stream_offset: stream.half(dir).consumed_offset(),
            error: AppError::Http(e),
        });
    }
}

/// Recognises the protocol from the first bytes of `dir`.
fn detect(first: &[u8], dir: Direction) -> AppProto {
    if first.is_empty() {
        return AppProto::Unknown;
    }
    match dir {
        Direction::ToServer => {
            if first[0] == 22 {
                return match first.get(1) {
                    None => AppProto::Unknown,
                    Some(3) => AppProto::Tls,
                    Some(_) => AppProto::Other,
                };
            }
            if http::looks_like_request(first) {
                AppProto::Http
            } else if first.len() < 32 && first.iter().all(|&b| b.is_ascii_alphabetic()) {
                AppProto::Unknown
            } else {
                AppProto::Other
            }
        }
        Direction::ToClient => {
            if http::looks_like_response(first) && first.len() >= 5 {
                AppProto::Http
            } else if first.len() < 5 && http::looks_like_response(first) {
                AppProto::Unknown
            } else {
                AppProto::Other
            }
        }
    }
}
