//! Inspection buffers (sticky buffers and legacy content modifiers) and
//! the transforms that can be applied to them.

/// The data a content, pcre or byte_* match looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Buffer {
    /// The packet payload or reassembled stream (`pkt_data`, the default).
    Packet,
    /// `http.uri` / `http_uri` (normalized).
    HttpUri,
    /// `http.uri.raw` / `http_raw_uri`.
    HttpUriRaw,
    /// `http.method` / `http_method`.
    HttpMethod,
    /// `http.host` / `http_host` (normalized, lowercase).
    HttpHost,
    /// `http.host.raw` / `http_raw_host`.
    HttpHostRaw,
    /// `http.user_agent` / `http_user_agent`.
    HttpUserAgent,
    /// `http.header` / `http_header` (all headers, normalized).
    HttpHeader,
    /// `http.header.raw` / `http_raw_header`.
    HttpHeaderRaw,
    /// `http.header_names`.
    HttpHeaderNames,
    /// `http.cookie` / `http_cookie`.
    HttpCookie,
    /// `http.content_type`.
    HttpContentType,
    /// `http.content_len`.
    HttpContentLen,
    /// `http.referer`.
    HttpReferer,
    /// `http.accept`.
    HttpAccept,
    /// `http.accept_enc`.
    HttpAcceptEnc,
    /// `http.accept_lang`.
    HttpAcceptLang,
    /// `http.connection`.
    HttpConnection,
    /// `http.location`.
    HttpLocation,
    /// `http.server`.
    HttpServer,
    /// `http.protocol`.
    HttpProtocol,
    /// `http.start` (request or response line plus headers).
    HttpStart,
    /// `http.request_line`.
    HttpRequestLine,
    /// `http.request_body` / `http_client_body`.
    HttpRequestBody,
    /// `http.stat_code` / `http_stat_code`.
    HttpStatCode,
    /// `http.stat_msg` / `http_stat_msg`.
    HttpStatMsg,
    /// `http.response_line`.
    HttpResponseLine,
    /// `http.response_body` / `http_server_body`.
    HttpResponseBody,
    /// `file.data` / `file_data` (HTTP response body for tripline).
    FileData,
    /// `dns.query` / `dns_query`.
    DnsQuery,
    /// `tls.sni` / `tls_sni`.
    TlsSni,
}

impl Buffer {
    /// Number of buffers (the length of an array indexed by [`Buffer::index`]).
    pub const COUNT: usize = Buffer::TlsSni as usize + 1;

    /// A dense index, `0..Buffer::COUNT`.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The buffer a sticky-buffer keyword selects (`http.uri`, `file_data`, `pkt_data`...).
    pub fn from_sticky(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "pkt_data" => Buffer::Packet,
            "http.uri" => Buffer::HttpUri,
            "http.uri.raw" => Buffer::HttpUriRaw,
            "http.method" => Buffer::HttpMethod,
            "http.host" => Buffer::HttpHost,
            "http.host.raw" => Buffer::HttpHostRaw,
            "http.user_agent" => Buffer::HttpUserAgent,
            "http.header" => Buffer::HttpHeader,
            "http.header.raw" => Buffer::HttpHeaderRaw,
            "http.header_names" => Buffer::HttpHeaderNames,
            "http.cookie" => Buffer::HttpCookie,
            "http.content_type" | "http_content_type" => Buffer::HttpContentType,
            "http.content_len" | "http_content_len" => Buffer::HttpContentLen,
            "http.referer" | "http_referer" => Buffer::HttpReferer,
            "http.accept" | "http_accept" => Buffer::HttpAccept,
            "http.accept_enc" | "http_accept_enc" => Buffer::HttpAcceptEnc,
            "http.accept_lang" | "http_accept_lang" => Buffer::HttpAcceptLang,
            "http.connection" | "http_connection" => Buffer::HttpConnection,
            "http.location" => Buffer::HttpLocation,
            "http.server" => Buffer::HttpServer,
            "http.protocol" | "http_protocol" => Buffer::HttpProtocol,
            "http.start" | "http_start" => Buffer::HttpStart,
            "http.request_line" | "http_request_line" => Buffer::HttpRequestLine,
            "http.request_body" => Buffer::HttpRequestBody,
            "http.stat_code" => Buffer::HttpStatCode,
            "http.stat_msg" => Buffer::HttpStatMsg,
            "http.response_line" | "http_response_line" => Buffer::HttpResponseLine,
            "http.response_body" => Buffer::HttpResponseBody,
            "file.data" | "file_data" => Buffer::FileData,
            "dns.query" | "dns_query" => Buffer::DnsQuery,
            "tls.sni" | "tls_sni" => Buffer::TlsSni,
            _ => return None,
        })
    }

    /// The buffer a legacy content modifier (`http_uri`, `http_header`, ...)
    /// moves the preceding content to.
    pub fn from_legacy_modifier(keyword: &str) -> Option<Buffer> {
        Some(match keyword {
            "http_uri" => Buffer::HttpUri,
            "http_raw_uri" => Buffer::HttpUriRaw,
            "http_method" => Buffer::HttpMethod,
            "http_host" => Buffer::HttpHost,
            "http_raw_host" => Buffer::HttpHostRaw,
            "http_user_agent" => Buffer::HttpUserAgent,
            "http_header" => Buffer::HttpHeader,
            "http_raw_header" => Buffer::HttpHeaderRaw,
            "http_header_names" => Buffer::HttpHeaderNames,
            "http_cookie" => Buffer::HttpCookie,
            "http_client_body" => Buffer::HttpRequestBody,
            "http_server_body" => Buffer::HttpResponseBody,
            "http_stat_code" => Buffer::HttpStatCode,
            "http_stat_msg" => Buffer::HttpStatMsg,
            _ => return None,
        })
    }

    /// The Suricata sticky-buffer name, as `rules list` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Buffer::Packet => "payload",
            Buffer::HttpUri => "http.uri",
            Buffer::HttpUriRaw => "http.uri.raw",
            Buffer::HttpMethod => "http.method",
            Buffer::HttpHost => "http.host",
            Buffer::HttpHostRaw => "http.host.raw",
            Buffer::HttpUserAgent => "http.user_agent",
            Buffer::HttpHeader => "http.header",
            Buffer::HttpHeaderRaw => "http.header.raw",
            Buffer::HttpHeaderNames => "http.header_names",
            Buffer::HttpCookie => "http.cookie",
            Buffer::HttpContentType => "http.content_type",
            Buffer::HttpContentLen => "http.content_len",
            Buffer::HttpReferer => "http.referer",
            Buffer::HttpAccept => "http.accept",
            Buffer::HttpAcceptEnc => "http.accept_enc",
            Buffer::HttpAcceptLang => "http.accept_lang",
            Buffer::HttpConnection => "http.connection",
            Buffer::HttpLocation => "http.location",
            Buffer::HttpServer => "http.server",
            Buffer::HttpProtocol => "http.protocol",
            Buffer::HttpStart => "http.start",
            Buffer::HttpRequestLine => "http.request_line",
            Buffer::HttpRequestBody => "http.request_body",
            Buffer::HttpStatCode => "http.stat_code",
            Buffer::HttpStatMsg => "http.stat_msg",
            Buffer::HttpResponseLine => "http.response_line",
            Buffer::HttpResponseBody => "http.response_body",
            Buffer::FileData => "file.data",
            Buffer::DnsQuery => "dns.query",
            Buffer::TlsSni => "tls.sni",
        }
    }

    /// True for application-layer buffers (everything except the payload).
    pub fn is_app(self) -> bool {
        self != Buffer::Packet
    }

    /// Priority when choosing a rule's fast pattern (higher wins): as in
    /// Suricata's "fast pattern determination", application buffers rank
    /// above the packet payload, and `http.method` ranks below it.
    pub fn fast_pattern_priority(self) -> u8 {
        match self {
            Buffer::HttpMethod => 1,
            Buffer::Packet => 2,
            _ => 3,
        }
    }
}

/// A transform applied to a sticky buffer before matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// `dotprefix`: prepend a `.` (so `.example.com` matches the domain and its subdomains).
    DotPrefix,
    /// `to_lowercase`.
    ToLowercase,
    /// `strip_whitespace`.
    StripWhitespace,
}

impl Transform {
    /// The transform a keyword names.
    pub fn from_keyword(keyword: &str) -> Option<Transform> {
        Some(match keyword {
            "dotprefix" => Transform::DotPrefix,
            "to_lowercase" => Transform::ToLowercase,
            "strip_whitespace" => Transform::StripWhitespace,
            _ => return None,
        })
    }
}
