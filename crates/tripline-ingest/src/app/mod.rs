//! Application-layer parsers for payloads (DNS).

pub mod dns;
