//! HTTP/1.x requests and responses from a reassembled TCP stream, exposing
//! the buffers Suricata's rules inspect (`http.method`, `http.uri`,
//! `http.uri.raw`, `http.host`, `http.user_agent`, `http.header`,
//! `http.header_names`, `http.cookie`, `http.content_type`,
//! `http.request_line`, `http.request_body`, `http.stat_code`,
//! `http.stat_msg`, `http.response_line`, `http.response_body`/`file.data`).
//!
//! The parsers are incremental: given the unconsumed bytes of one direction
//! they return [`Parsed::Incomplete`] until a whole message head (and the
//! body, or as much of it as the cap keeps) is there, then
//! [`Parsed::Complete`] with the number of bytes consumed, so pipelined
//! messages are parsed one after the other. Raw buffers borrow the input;
//! normalized and decoded buffers (URI, host, header, body) are written
//! into a caller-provided [`HttpScratch`] that is reused from message to
//! message, so nothing is allocated per message once it has grown.
//!
//! A body longer than its cap is cut: the message completes with the first
//! `cap` bytes and a [`BodyReader`] in `body_rest` that skips the remainder
//! as it arrives. When the server closes its side, a response is complete
//! with whatever part of its head and body arrived (Suricata inspects what
//! it got). Bodies with a `Content-Encoding` of gzip or deflate are
//! decompressed (see [`decompress`]); the body buffers hold the decoded
//! bytes, `body_raw` what was on the wire once the chunk framing is gone.
//! Normalization rules are in [`uri`]; header merging in `headers`.

mod body;
pub mod decompress;
mod head;
mod headers;
pub mod uri;

pub use body::{BodyFraming, BodyProgress, BodyReader};
pub use decompress::{BodyDecoding, DecodeError, DecompressLimits};

use decompress::{Codings, Decoder};
use head::{find_head, head_cut_by_close, status_line_start, three_parts};

use headers::Field;

/// Why bytes are not a valid HTTP/1.x message. Offsets are into the buffer
/// given to the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The start line is not an HTTP request or status line.
    #[error("not HTTP at byte {offset}")]
    NotHttp {
        /// Where the start line begins.
        offset: usize,
    },
    /// A field that breaks the grammar.
    #[error("malformed HTTP {what} at byte {offset}")]
    Malformed {
        /// Where the field is.
        offset: usize,
        /// Which field.
        what: &'static str,
    },
    /// Something over a cap (head size, field count, line length).
    #[error("HTTP {what} too large at byte {offset}")]
    TooLarge {
        /// Where it starts.
        offset: usize,
        /// What is too large.
        what: &'static str,
    },
}

/// Result of an incremental parse.
#[derive(Debug)]
pub enum Parsed<T> {
    /// More bytes are needed; nothing was consumed.
    Incomplete,
    /// A whole message.
    Complete(T),
}

/// Caps of the HTTP parsers (Suricata's defaults where it has them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Longest message head (start line and fields).
    pub max_head: usize,
    /// Most header fields per message.
    pub max_fields: usize,
    /// Request body bytes kept (`request-body-limit`, 100 KiB).
    pub request_body: usize,
    /// Response body bytes kept (`response-body-limit`, 100 KiB); the cap
    /// holds for the body as sent and for the decompressed body alike.
    pub response_body: usize,
    /// Bounds of body decompression.
    pub decompress: DecompressLimits,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head: 64 * 1024,
            max_fields: 256,
            request_body: 100 * 1024,
            response_body: 100 * 1024,
            decompress: DecompressLimits::default(),
        }
    }
}

/// Reusable buffers for the normalized and decoded views of a message.
#[derive(Debug, Default)]
pub struct HttpScratch {
    fields: Vec<Field>,
    uri: Vec<u8>,
    host: Vec<u8>,
    header: Vec<u8>,
    header_names: Vec<u8>,
    body: Vec<u8>,
    decoded: Vec<u8>,
    decoder: Decoder,
}

impl HttpScratch {
    /// Undoes the content codings of the body just read; the decoded body
    /// is then in `decoded`.
    fn decode_body(
        &mut self,
        codings: &Codings,
        limits: &DecompressLimits,
        cap: usize,
    ) -> BodyDecoding {
        if codings.is_empty() {
            return BodyDecoding::default();
        }
        self.decoder
            .decode(codings, limits, &self.body, &mut self.decoded, cap)
    }

    /// The body to inspect: decoded when it had a content coding.
    fn inspected_body(&self, codings: &Codings) -> &[u8] {
        if codings.is_empty() {
            &self.body
        } else {
            &self.decoded
        }
    }

    /// The head of a message whose fields were parsed into this scratch
    /// from `buf[block.0..block.1]`; `cookie` names its cookie field.
    fn message_head<'a>(
        &'a self,
        buf: &'a [u8],
        protocol: &'a [u8],
        block: (usize, usize),
        cookie: &[u8],
    ) -> MessageHead<'a> {
        MessageHead {
            protocol,
            cookie: headers::find(buf, &self.fields, cookie),
            content_type: headers::find(buf, &self.fields, b"content-type"),
            header: &self.header,
            header_names: &self.header_names,
            header_raw: &buf[block.0..block.1],
        }
    }
}

/// What a request and a response share: the protocol and the header block
/// as the inspection buffers see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageHead<'a> {
    /// `http.protocol`, e.g. `HTTP/1.1`.
    pub protocol: &'a [u8],
    /// `http.cookie`: the Cookie field of a request, Set-Cookie of a
    /// response.
    pub cookie: Option<&'a [u8]>,
    /// `http.content_type`.
    pub content_type: Option<&'a [u8]>,
    /// `http.header`: every field but the cookie one as `Name: value\r\n`.
    pub header: &'a [u8],
    /// `http.header_names`: `\r\nName1\r\nName2\r\n\r\n`.
    pub header_names: &'a [u8],
    /// `http.header.raw`: the field lines as sent.
    pub header_raw: &'a [u8],
}

/// One parsed request.
#[derive(Debug)]
pub struct HttpRequest<'a> {
    /// `http.request_line`: the request line without its line ending.
    pub request_line: &'a [u8],
    /// `http.method`.
    pub method: &'a [u8],
    /// `http.uri.raw`: the request target as sent.
    pub uri_raw: &'a [u8],
    /// `http.uri`: the normalized target (see [`uri`]).
    pub uri: &'a [u8],
    /// Protocol and header block.
    pub head: MessageHead<'a>,
    /// `http.host`: normalized host of an absolute target, else of the Host
    /// field; `None` when neither is there.
    pub host: Option<&'a [u8]>,
    /// `http.host.raw`: the Host field as sent.
    pub host_raw: Option<&'a [u8]>,
    /// `http.user_agent`.
    pub user_agent: Option<&'a [u8]>,
    /// `http.request_body`: the body without chunk framing and content
    /// coding, at most the cap.
    pub body: &'a [u8],
    /// The body without chunk framing, before decompression.
    pub body_raw: &'a [u8],
    /// What decompression did.
    pub body_decoding: BodyDecoding,
    /// Lines in the head that were not fields (skipped).
    pub invalid_lines: u32,
    /// Bytes of the input this message took.
    pub consumed: usize,
    /// Set when the body goes on past what was consumed (it was cut at the
    /// cap): feed the following bytes to it before the next message.
    pub body_rest: Option<BodyReader>,
}

/// One parsed response.
#[derive(Debug)]
pub struct HttpResponse<'a> {
    /// `http.response_line`: the status line without its line ending.
    pub response_line: &'a [u8],
    /// Protocol and header block.
    pub head: MessageHead<'a>,
    /// `http.stat_code` as sent (normally three digits; may be empty or
    /// odd in a broken status line, which is still parsed like libhtp).
    pub stat_code: &'a [u8],
    /// The status code as a number; 0 when `stat_code` is not a number
    /// from 100 to 999.
    pub status: u16,
    /// `http.stat_msg` (may be empty).
    pub stat_msg: &'a [u8],
    /// `http.response_body` / `file.data`: the body without chunk framing
    /// and content coding, at most the cap.
    pub body: &'a [u8],
    /// The body without chunk framing, before decompression.
    pub body_raw: &'a [u8],
    /// What decompression did.
    pub body_decoding: BodyDecoding,
    /// Lines in the head that were not fields (skipped).
    pub invalid_lines: u32,
    /// Bytes of the input this message took.
    pub consumed: usize,
    /// Set when the body goes on past what was consumed.
    pub body_rest: Option<BodyReader>,
}

impl HttpResponse<'_> {
    /// True for a 1xx interim response: the final one is still to come.
    pub fn is_interim(&self) -> bool {
        (100..200).contains(&self.status)
    }
}

/// What the response parser needs to know about the exchange.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResponseContext {
    /// The request was HEAD: the response has no body whatever it says.
    pub head_request: bool,
    /// The server side of the stream has closed: a body delimited by the
    /// close is complete.
    pub stream_closed: bool,
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses one request from the start of `buf`.
pub fn parse_request<'a>(
    buf: &'a [u8],
    scratch: &'a mut HttpScratch,
    limits: &HttpLimits,
) -> Result<Parsed<HttpRequest<'a>>, HttpError> {
    parse_request_in(buf, scratch, limits, RequestContext::default())
}

/// What the request parser needs to know about the stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The client side of the stream has closed: a request is complete
    /// with whatever part of its head (once the request line ended) and
    /// body arrived, as Suricata inspects the request line and fields it
    /// got before the close.
    pub stream_closed: bool,
}

/// Parses one request from the start of `buf`, knowing whether the stream
/// closed.
pub fn parse_request_in<'a>(
    buf: &'a [u8],
    scratch: &'a mut HttpScratch,
    limits: &HttpLimits,
    ctx: RequestContext,
) -> Result<Parsed<HttpRequest<'a>>, HttpError> {
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let head = match find_head(buf, 0, limits.max_head)? {
        Some(head) => head,
        None if ctx.stream_closed && memchr::memchr(b'\n', &buf[skip..]).is_some() => {
            head_cut_by_close(buf, skip)
        }
        None => {
            if buf.len() - skip >= 16 && !looks_like_request(&buf[skip..]) {
                return Err(HttpError::NotHttp { offset: skip });
            }
            return Ok(Parsed::Incomplete);
        }
    };
    let line = &buf[head.start..head.start_line_end];
    let not_http = HttpError::NotHttp { offset: head.start };
    let (method, target, protocol) = three_parts(line).ok_or(not_http)?;
    if method.is_empty()
        || !method.iter().all(|&b| is_token(b))
        || target.is_empty()
        || !protocol.starts_with(b"HTTP/")
    {
        return Err(not_http);
    }
    let invalid_lines =
        headers::parse_fields(buf, head.block, &mut scratch.fields, limits.max_fields)?;
    let fields = &scratch.fields;
    headers::build_buffers(
        buf,
        fields,
        b"cookie",
        &mut scratch.header,
        &mut scratch.header_names,
    );
    uri::normalize_uri(target, &mut scratch.uri);
    let host_raw = headers::find(buf, fields, b"host");
    let host = uri::uri_authority_host(target).or(host_raw);
    if let Some(h) = host {
        uri::normalize_host(h, &mut scratch.host);
    }
    let framing = if headers::is_chunked(buf, fields) {
        BodyFraming::Chunked
    } else {
        match headers::content_length(buf, fields) {
            Ok(Some(n)) => BodyFraming::Length(n),
            Ok(None) => BodyFraming::None,
            Err(offset) => {
                return Err(HttpError::Malformed {
                    offset,
                    what: "Content-Length",
                });
            }
        }
    };
    let Some((consumed, body_rest)) = read_body(
        buf,
        head.body,
        BodyReader::new(framing),
        &mut scratch.body,
        limits.request_body,
        ctx.stream_closed,
    )?
    else {
        return Ok(Parsed::Incomplete);
    };
    let codings = Codings::from_fields(buf, &scratch.fields);
    let body_decoding = scratch.decode_body(&codings, &limits.decompress, limits.request_body);
    let s: &'a HttpScratch = scratch;
    Ok(Parsed::Complete(HttpRequest {
        request_line: line,
        method,
        uri_raw: target,
        uri: &s.uri,
        head: s.message_head(buf, protocol, head.block, b"cookie"),
        host: host.map(|_| &s.host[..]),
        host_raw,
        user_agent: headers::find(buf, &s.fields, b"user-agent"),
        body: s.inspected_body(&codings),
        body_raw: &s.body,
        body_decoding,
        invalid_lines,
        consumed,
        body_rest,
    }))
}

/// True when the first bytes could start a request line (a token, then a
/// space): a quick "is this HTTP at all" for streams that never complete a
/// head.
pub fn looks_like_request(buf: &[u8]) -> bool {
    let n = buf.iter().take(32).take_while(|&&b| is_token(b)).count();
    n > 0 && matches!(buf.get(n), Some(b' ' | b'\t'))
}

/// True when the first bytes could start a status line.
pub fn looks_like_response(buf: &[u8]) -> bool {
    let n = buf.len().min(5);
    buf[..n].eq_ignore_ascii_case(&b"HTTP/"[..n])
}

/// Parses one response from the start of `buf`.
pub fn parse_response<'a>(
    buf: &'a [u8],
    scratch: &'a mut HttpScratch,
    limits: &HttpLimits,
    ctx: ResponseContext,
) -> Result<Parsed<HttpResponse<'a>>, HttpError> {
    let Some(from) = status_line_start(buf, ctx.stream_closed)? else {
        return Ok(Parsed::Incomplete);
    };
    let mut head = match find_head(buf, from, limits.max_head)? {
        Some(head) => head,
        None if ctx.stream_closed => head_cut_by_close(buf, from),
        None => return Ok(Parsed::Incomplete),
    };
    // A bare CR inside the status line ends it: what follows is a field.
    let (line_end, next) = headers::field_line_end(buf, head.start, head.start_line_end);
    if line_end < head.start_line_end {
        head.start_line_end = line_end;
        head.block.0 = next;
    }
    let line = &buf[head.start..head.start_line_end];
    let (protocol, code, msg) = head::status_parts(line);
    let status = head::status_number(code);
    let invalid_lines =
        headers::parse_fields(buf, head.block, &mut scratch.fields, limits.max_fields)?;
    let fields = &scratch.fields;
    headers::build_buffers(
        buf,
        fields,
        b"set-cookie",
        &mut scratch.header,
        &mut scratch.header_names,
    );
    let chunked = headers::is_chunked(buf, fields);
    let length = headers::content_length(buf, fields);
    // 1xx, 204 and 304 have no body unless they declare one anyway.
    let declared = chunked || matches!(length, Ok(Some(n)) if n > 0);
    let no_body = ctx.head_request
        || ((100..200).contains(&status) || status == 204 || status == 304) && !declared;
    let framing = if no_body {
        BodyFraming::None
    } else if chunked {
        BodyFraming::Chunked
    } else {
        match length {
            Ok(Some(n)) => BodyFraming::Length(n),
            // No usable length: the body ends with the connection.
            Ok(None) | Err(_) => BodyFraming::UntilClose,
        }
    };
    let Some((consumed, body_rest)) = read_body(
        buf,
        head.body,
        BodyReader::for_response(framing),
        &mut scratch.body,
        limits.response_body,
        ctx.stream_closed,
    )?
    else {
        return Ok(Parsed::Incomplete);
    };
    let codings = Codings::from_fields(buf, &scratch.fields);
    let body_decoding = scratch.decode_body(&codings, &limits.decompress, limits.response_body);
    let s: &'a HttpScratch = scratch;
    Ok(Parsed::Complete(HttpResponse {
        response_line: line,
        head: s.message_head(buf, protocol, head.block, b"set-cookie"),
        stat_code: code,
        status,
        stat_msg: msg,
        body: s.inspected_body(&codings),
        body_raw: &s.body,
        body_decoding,
        invalid_lines,
        consumed,
        body_rest,
    }))
}

/// Decodes the body from `buf[from..]`. `Some((consumed, rest))` once the
/// body ended, filled its cap (`rest` then skips what follows) or was cut
/// by the close of the stream (`closed`: all of `buf` is consumed); `None`
/// while more is needed.
fn read_body(
    buf: &[u8],
    from: usize,
    mut reader: BodyReader,
    out: &mut Vec<u8>,
    cap: usize,
    closed: bool,
) -> Result<Option<(usize, Option<BodyReader>)>, HttpError> {
    out.clear();
    let p = reader.feed(&buf[from..], from, out, cap)?;
    let consumed = from + p.consumed;
    if p.done {
        Ok(Some((consumed, None)))
    } else if closed {
        Ok(Some((buf.len(), None)))
    } else if out.len() >= cap {
        Ok(Some((consumed, Some(reader))))
    } else {
        Ok(None)
    }
}
