//! DNS questions and answers, from dnsmasq logs or from DNS packets.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Where a DNS record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsOrigin {
    /// A dnsmasq `log-queries` line.
    Dnsmasq,
    /// A DNS message in a captured packet.
    Packet,
}

/// What a DNS record says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsEvent {
    /// A client asked (`query[A] name from client`, or a query packet).
    Query,
    /// The resolver forwarded the question upstream.
    Forwarded,
    /// An answer from upstream (`reply`, or a response packet).
    Reply,
    /// An answer from the resolver's cache.
    Cached,
    /// An answer from the resolver's configuration (`config`, `address=/../`).
    Config,
    /// An answer from a hosts file (`/etc/hosts` or `addn-hosts`).
    Hosts,
}

/// The data of one answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DnsData {
    /// An A or AAAA address.
    Addr(IpAddr),
    /// A CNAME target; dnsmasq logs only `<CNAME>`, so the target may be
    /// unknown (empty) there and follows as the next reply line's name.
    Cname(String),
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no record of the asked type.
    NoData,
    /// Anything else, as text (MX, TXT, SRV, PTR...).
    Other(String),
}

/// One answer with its TTL when known (packets carry TTLs, dnsmasq logs don't).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsAnswer {
    /// The owner name of this answer (differs from the question for CNAME chains).
    pub name: String,
    /// The answer data.
    pub data: DnsData,
    /// Time to live in seconds, when known.
    pub ttl: Option<u32>,
}

/// One DNS question or answer event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsLog {
    /// When it was logged or captured.
    pub ts: Timestamp,
    /// dnsmasq log or packet.
    pub origin: DnsOrigin,
    /// Query, reply, cached, config...
    pub event: DnsEvent,
    /// The client that asked, when known (dnsmasq replies are matched to the
    /// query that preceded them).
    pub client: Option<IpAddr>,
    /// The server that answered or was forwarded to, when known.
    pub server: Option<IpAddr>,
    /// DNS transaction id (packets) or dnsmasq serial (`log-queries=extra`).
    pub id: Option<u32>,
    /// The question name, as asked (hostile input: escape before display).
    pub name: String,
    /// The question type (`A`, `AAAA`, `TYPE65`...), empty when unknown.
    pub qtype: String,
    /// Response code name (`NOERROR`, `NXDOMAIN`, ...), when known.
    pub rcode: Option<String>,
    /// The answers, in order (a CNAME chain keeps its links).
    pub answers: Vec<DnsAnswer>,
    /// True when the answer came from the resolver's own configuration.
    pub from_config: bool,
    /// True when the answer is a block (0.0.0.0, `::`, 127.x, or NXDOMAIN from
    /// configuration).
    pub blocked: bool,
}
