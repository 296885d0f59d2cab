//! Connection records: what the flow table and firewall logs reduce to.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// Which way a connection crosses the home network boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// From outside to a home address.
    Inbound,
    /// From a home address to outside.
    Outbound,
    /// Between two home addresses.
    Internal,
    /// Between two outside addresses (or no home network configured).
    External,
}

impl Direction {
    /// The lower-case name used in CSV and EVE.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
            Direction::External => "external",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Zeek's `conn_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    REJ,
    /// Established, close attempt by originator seen (no reply from responder).
    S2,
    /// Established, close attempt by responder seen (no reply from originator).
    S3,
    /// Established, originator aborted (sent a RST).
    RSTO,
    /// Responder sent a RST.
    RSTR,
    /// Originator sent a SYN followed by a RST, never saw a SYN-ACK.
    RSTOS0,
    /// Responder sent a SYN-ACK followed by a RST, never saw a SYN from the originator.
    RSTRH,
    /// Originator sent a SYN followed by a FIN, never saw a SYN-ACK ("half open").
    SH,
    /// Responder sent a SYN-ACK followed by a FIN, never saw a SYN from the originator.
    SHR,
    /// No SYN seen, just midstream traffic (or not TCP).
    OTH,
}

impl ConnState {
    /// The Zeek name (`S0`, `SF`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::REJ => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::RSTO => "RSTO",
            ConnState::RSTR => "RSTR",
            ConnState::RSTOS0 => "RSTOS0",
            ConnState::RSTRH => "RSTRH",
            ConnState::SH => "SH",
            ConnState::SHR => "SHR",
            ConnState::OTH => "OTH",
        }
    }

    /// Parses a Zeek name.
    pub fn parse(s: &str) -> Option<ConnState> {
        Some(match s {
            "S0" => ConnState::S0,
            "S1" => ConnState::S1,
            "SF" => ConnState::SF,
            "REJ" => ConnState::REJ,
            "S2" => ConnState::S2,
            "S3" => ConnState::S3,
            "RSTO" => ConnState::RSTO,
            "RSTR" => ConnState::RSTR,
            "RSTOS0" => ConnState::RSTOS0,
            "RSTRH" => ConnState::RSTRH,
            "SH" => ConnState::SH,
            "SHR" => ConnState::SHR,
            "OTH" => ConnState::OTH,
            _ => return None,
        })
    }
}

impl fmt::Display for ConnState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a connection record was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ConnOrigin {
    /// Built by the flow table from packets.
    Capture,
    /// One logged NEW packet or attempt in a firewall log.
    Firewall {
        /// The LOG prefix (`NEW`, `DROP`, `[UFW BLOCK]`).
        prefix: String,
        /// `IN=` interface.
        in_iface: String,
        /// `OUT=` interface.
        out_iface: String,
    },
}

/// One connection (a flow, or a firewall-logged attempt).
///
/// "Originator" is the side that sent the first packet seen (for TCP, the
/// SYN when one was seen); "responder" is the other side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    /// First packet.
    pub start: Timestamp,
    /// Last packet.
    pub end: Timestamp,
    /// Originator address.
    pub src: IpAddr,
    /// Originator port (ICMP: type).
    pub sport: u16,
    /// Responder address.
    pub dst: IpAddr,
    /// Responder port (ICMP: code).
    pub dport: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// Packets from the originator.
    pub orig_packets: u64,
    /// IP bytes from the originator.
    pub orig_bytes: u64,
    /// Packets from the responder.
    pub resp_packets: u64,
    /// IP bytes from the responder.
    pub resp_bytes: u64,
    /// Zeek connection state.
    pub state: ConnState,
    /// Zeek history letters (`ShADadFf`...), at most a few dozen.
    pub history: String,
    /// Community ID v1 (`1:base64`).
    pub community_id: String,
    /// Direction from the configured home networks.
    pub direction: Direction,
    /// Capture or firewall log.
    pub origin: ConnOrigin,
}

impl Connection {
    /// Duration in seconds.
    pub fn duration(&self) -> f64 {
        self.end.seconds_since(self.start)
    }
}
