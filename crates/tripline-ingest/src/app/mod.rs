//! Application-layer parsers for payloads and reassembled streams (DNS, HTTP/1.x, TLS ClientHello).

pub mod dns;
pub mod http;
pub mod tls;
