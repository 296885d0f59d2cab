//! DNS wire-format messages (RFC 1035) into `DnsLog` records.
//!
//! [`parse_message`] validates the header, the first question and walks the
//! answer section once; the result borrows the payload (zero copy) and names
//! are decoded only when displayed. Hostile input is expected: compression
//! pointers must point strictly backwards (so a pointer loop cannot exist),
//! names are capped at 255 wire bytes, the number of answers walked is capped
//! at [`MAX_ANSWERS`], and names are printed with dig's escaping (`\DDD` for
//! non-printable bytes, `\.` for a dot inside a label).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tripline_core::{DnsAnswer, DnsData, DnsEvent, DnsLog, DnsOrigin, Timestamp};

/// At most this many answer records are walked; the rest are ignored.
pub const MAX_ANSWERS: usize = 64;

/// The fixed header length.
const HEADER_LEN: usize = 12;
/// Longest name on the wire (RFC 1035 2.3.4).
const MAX_NAME_WIRE_LEN: usize = 255;
/// Most compression pointers followed in one name.
const MAX_POINTERS: u8 = 64;

/// Why a DNS message did not parse. Offsets are into the DNS message (after
/// the TCP length prefix, if any).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnsError {
    /// The message ends before a field that should be there.
    #[error("DNS message truncated at byte {offset}")]
    Truncated {
        /// Where the missing field starts.
        offset: usize,
    },
    /// A label type other than a plain label or a compression pointer.
    #[error("unsupported DNS label type 0x{byte:02x} at byte {offset}")]
    BadLabel {
        /// Where the label starts.
        offset: usize,
        /// The length byte.
        byte: u8,
    },
    /// A compression pointer that does not point strictly backwards.
    #[error("DNS compression pointer at byte {offset} points forward or loops (to {target})")]
    BadPointer {
        /// Where the pointer is.
        offset: usize,
        /// Where it points.
        target: usize,
    },
    /// A name longer than 255 bytes on the wire.
    #[error("DNS name at byte {offset} is longer than 255 bytes")]
    NameTooLong {
        /// Where the name starts.
        offset: usize,
    },
}

/// The header flag bits besides QR, opcode and rcode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsFlags {
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated (the answer did not fit; the client retries over TCP).
    pub tc: bool,
    /// Recursion desired.
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// Authentic data (DNSSEC).
    pub ad: bool,
    /// Checking disabled (DNSSEC).
    pub cd: bool,
}

/// A domain name inside a message, decoded lazily when displayed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DnsName<'a> {
    msg: &'a [u8],
    offset: usize,
}

impl<'a> DnsName<'a> {
    /// Validates the name at `offset` and returns it with the offset just past
    /// its wire form (after the terminating zero or the first pointer).
    fn parse(msg: &'a [u8], offset: usize) -> Result<(DnsName<'a>, usize), DnsError> {
        let mut pos = offset;
        let mut end = None;
        let mut wire_len = 0usize;
        // Every pointer must go strictly below the start of the label run it
        // jumps from, so the walk terminates after at most msg.len() steps.
        let mut floor = offset;
        let mut jumps = 0u8;
        loop {
            let len = *msg.get(pos).ok_or(DnsError::Truncated { offset: pos })?;
            match len & 0xC0 {
                0x00 => {
                    wire_len += len as usize + 1;
                    if wire_len > MAX_NAME_WIRE_LEN {
                        return Err(DnsError::NameTooLong { offset });
                    }
                    if len == 0 {
                        let after = end.unwrap_or(pos + 1);
                        return Ok((DnsName { msg, offset }, after));
                    }
                    let next = pos + 1 + len as usize;
                    if next > msg.len() {
                        return Err(DnsError::Truncated { offset: pos });
                    }
                    pos = next;
                }
                0xC0 => {
                    let lo = *msg
                        .get(pos + 1)
                        .ok_or(DnsError::Truncated { offset: pos })?;
                    let target = (((len & 0x3F) as usize) << 8) | lo as usize;
                    jumps += 1;
                    if target >= floor || jumps > MAX_POINTERS {
                        return Err(DnsError::BadPointer {
                            offset: pos,
                            target,
                        });
                    }
                    end.get_or_insert(pos + 2);
                    floor = target;
                    pos = target;
                }
                _ => {
                    return Err(DnsError::BadLabel {
                        offset: pos,
                        byte: len,
                    });
                }
            }
        }
    }

    /// The labels, raw bytes, in order (the name was validated at parse time).
    pub fn labels(&self) -> LabelIter<'a> {
        LabelIter {
            msg: self.msg,
            pos: self.offset,
        }
    }

    /// True for the root name.
    pub fn is_root(&self) -> bool {
        self.labels().next().is_none()
    }

    /// Writes the name with dig's escaping into `out` (no trailing dot; the
    /// root is `.`).
    pub fn write_escaped(&self, out: &mut impl fmt::Write) -> fmt::Result {
        let mut first = true;
        for label in self.labels() {
            if !first {
                out.write_char('.')?;
            }
            first = false;
            for &b in label {
                match b {
                    b'.' | b'\\' | b'"' | b';' | b'(' | b')' | b'@' | b'$' => {
                        out.write_char('\\')?;
                        out.write_char(b as char)?;
                    }
                    0x21..=0x7E => out.write_char(b as char)?,
                    _ => write!(out, "\\{b:03}")?,
                }
            }
        }
        if first {
            out.write_char('.')?;
        }
        Ok(())
    }
}

/// Presentation form with dig's escaping, e.g. `www.example.com`.
impl fmt::Display for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_escaped(f)
    }
}

impl fmt::Debug for DnsName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsName({self})")
    }
}

/// Iterator over the raw labels of a validated [`DnsName`].
pub struct LabelIter<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for LabelIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        // The name was validated, but stay defensive: a bounded number of
        // steps and `get` everywhere, so this can never panic or spin.
        for _ in 0..=MAX_NAME_WIRE_LEN + MAX_POINTERS as usize {
            let len = *self.msg.get(self.pos)?;
            match len & 0xC0 {
                0x00 if len == 0 => return None,
                0x00 => {
                    let label = self.msg.get(self.pos + 1..self.pos + 1 + len as usize)?;
                    self.pos += 1 + len as usize;
                    return Some(label);
                }
                0xC0 => {
                    let lo = *self.msg.get(self.pos + 1)?;
                    self.pos = (((len & 0x3F) as usize) << 8) | lo as usize;
                }
                _ => return None,
            }
        }
        None
    }
}

/// The first entry of the question section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsQuestion<'a> {
    /// The name asked about.
    pub name: DnsName<'a>,
    /// The query type (1 = A, 28 = AAAA, ...).
    pub qtype: u16,
    /// The query class (1 = IN).
    pub qclass: u16,
}

/// The data of one answer record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordData<'a> {
    /// An A or AAAA address.
    Addr(IpAddr),
    /// A name (CNAME, PTR, NS, DNAME target).
    Name(DnsName<'a>),
    /// Anything else, raw.
    Raw(&'a [u8]),
}

/// One resource record of the answer section.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceRecord<'a> {
    /// The owner name.
    pub name: DnsName<'a>,
    /// The record type.
    pub rtype: u16,
    /// The class.
    pub class: u16,
    /// Time to live in seconds.
    pub ttl: u32,
    /// The decoded data.
    pub data: RecordData<'a>,
}

/// A parsed DNS message, borrowing the payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsMessage<'a> {
    msg: &'a [u8],
    /// Transaction id.
    pub id: u16,
    /// True for a response.
    pub qr: bool,
    /// Opcode (0 = QUERY).
    pub opcode: u8,
    /// Response code (the 4 header bits; EDNS extended codes are not merged).
    pub rcode: u8,
    /// The other flag bits.
    pub flags: DnsFlags,
    /// QDCOUNT as sent.
    pub qdcount: u16,
    /// ANCOUNT as sent.
    pub ancount: u16,
    /// NSCOUNT as sent.
    pub nscount: u16,
    /// ARCOUNT as sent.
    pub arcount: u16,
    /// The first question, when QDCOUNT > 0.
    pub question: Option<DnsQuestion<'a>>,
    answers_at: usize,
    answers_ok: usize,
    /// Why the answer section stopped early, if it did (the records before
    /// the damage are still returned by [`DnsMessage::answers`]).
    pub answers_error: Option<DnsError>,
}

fn be16(msg: &[u8], at: usize) -> Result<u16, DnsError> {
    match msg.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]])),
        None => Err(DnsError::Truncated { offset: at }),
    }
}

fn be32(msg: &[u8], at: usize) -> Result<u32, DnsError> {
    match msg.get(at..at + 4) {
        Some(b) => Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]])),
        None => Err(DnsError::Truncated { offset: at }),
    }
}

/// Skips the question entry at `pos` and returns what it holds.
fn parse_question(msg: &[u8], pos: usize) -> Result<(DnsQuestion<'_>, usize), DnsError> {
    let (name, pos) = DnsName::parse(msg, pos)?;
    let qtype = be16(msg, pos)?;
    let qclass = be16(msg, pos + 2)?;
    Ok((
        DnsQuestion {
            name,
            qtype,
            qclass,
        },
        pos + 4,
    ))
}

/// Parses one resource record at `pos`; returns it and the offset after it.
fn parse_record(msg: &[u8], pos: usize) -> Result<(ResourceRecord<'_>, usize), DnsError> {
    let (name, pos) = DnsName::parse(msg, pos)?;
    let rtype = be16(msg, pos)?;
    let class = be16(msg, pos + 2)?;
    let ttl = be32(msg, pos + 4)?;
    let rdlen = be16(msg, pos + 8)? as usize;
    let start = pos + 10;
    let rdata = msg
        .get(start..start + rdlen)
        .ok_or(DnsError::Truncated { offset: start })?;
    let data = match (rtype, rdlen) {
        (1, 4) => RecordData::Addr(IpAddr::V4(Ipv4Addr::new(
            rdata[0], rdata[1], rdata[2], rdata[3],
        ))),
        (28, 16) => {
            let mut a = [0u8; 16];
            a.copy_from_slice(rdata);
            RecordData::Addr(IpAddr::V6(Ipv6Addr::from(a)))
        }
        // CNAME, PTR, NS, DNAME: the name must lie inside the rdata.
        (5 | 12 | 2 | 39, _) => {
            let (target, after) = DnsName::parse(msg, start)?;
            if after > start + rdlen {
                return Err(DnsError::Truncated { offset: start });
            }
            RecordData::Name(target)
        }
        _ => RecordData::Raw(rdata),
    };
    Ok((
        ResourceRecord {
            name,
            rtype,
            class,
            ttl,
            data,
        },
        start + rdlen,
    ))
}

/// Parses a DNS message (UDP payload, or TCP after the length prefix).
///
/// The header and the first question must be intact; the answer section is
/// read up to the first damaged record (see [`DnsMessage::answers_error`]).
pub fn parse_message(payload: &[u8]) -> Result<DnsMessage<'_>, DnsError> {
    let msg = payload;
    if msg.len() < HEADER_LEN {
        return Err(DnsError::Truncated { offset: msg.len() });
    }
    let id = be16(msg, 0)?;
    let (b2, b3) = (msg[2], msg[3]);
    let qdcount = be16(msg, 4)?;
    let ancount = be16(msg, 6)?;
    let nscount = be16(msg, 8)?;
    let arcount = be16(msg, 10)?;
    let mut pos = HEADER_LEN;
    let mut question = None;
    for i in 0..qdcount {
        // Only the first question is kept; the others (rare, usually
        // hostile) are validated up to a small bound so answers can be found.
        if i >= 4 {
            return Err(DnsError::Truncated { offset: pos });
        }
        let (q, next) = parse_question(msg, pos)?;
        question.get_or_insert(q);
        pos = next;
    }
    let answers_at = pos;
    let mut answers_ok = 0;
    let mut answers_error = None;
    for _ in 0..(ancount as usize).min(MAX_ANSWERS) {
        match parse_record(msg, pos) {
            Ok((_, next)) => {
                answers_ok += 1;
                pos = next;
            }
            Err(e) => {
                answers_error = Some(e);
                break;
            }
        }
    }
    Ok(DnsMessage {
        msg,
        id,
        qr: b2 & 0x80 != 0,
        opcode: (b2 >> 3) & 0x0F,
        rcode: b3 & 0x0F,
        flags: DnsFlags {
            aa: b2 & 0x04 != 0,
            tc: b2 & 0x02 != 0,
            rd: b2 & 0x01 != 0,
            ra: b3 & 0x80 != 0,
            ad: b3 & 0x20 != 0,
            cd: b3 & 0x10 != 0,
        },
        qdcount,
        ancount,
        nscount,
        arcount,
        question,
        answers_at,
        answers_ok,
        answers_error,
    })
}

/// Parses a DNS-over-TCP segment that starts a message: the 2-byte length
/// prefix, then the message (cut at the prefix length when the segment holds
/// more; no reassembly across segments).
pub fn parse_tcp_message(segment: &[u8]) -> Result<DnsMessage<'_>, DnsError> {
    let len = be16(segment, 0)? as usize;
    let body = &segment[2..];
    parse_message(&body[..len.min(body.len())])
}

impl<'a> DnsMessage<'a> {
    /// The answer records that parsed (at most [`MAX_ANSWERS`]), in order.
    pub fn answers(&self) -> AnswerIter<'a> {
        AnswerIter {
            msg: self.msg,
            pos: self.answers_at,
            left: self.answers_ok,
        }
    }

    /// The response code's name (`NOERROR`, `NXDOMAIN`, `RCODE12`...).
    pub fn rcode_name(&self) -> String {
        rcode_name(self.rcode)
    }

    /// Converts to a [`DnsLog`] (origin `Packet`). `src`/`dst` are the
    /// packet's addresses: the querier is the sender of a query and the
    /// receiver of a response. A response with no answers gets one
    /// `NxDomain` (rcode 3) or `NoData` (rcode 0) answer for the question
    /// name, like dnsmasq's log lines.
    pub fn to_dns_log(&self, ts: Timestamp, src: IpAddr, dst: IpAddr) -> DnsLog {
        let (client, server) = if self.qr { (dst, src) } else { (src, dst) };
        let (name, qtype) = match &self.question {
            Some(q) => (q.name.to_string(), qtype_name(q.qtype)),
            None => (String::new(), String::new()),
        };
        let mut answers = Vec::new();
        if self.qr {
            for rr in self.answers() {
                let data = match rr.data {
                    RecordData::Addr(a) => DnsData::Addr(a),
                    RecordData::Name(n) if rr.rtype == 5 => DnsData::Cname(n.to_string()),
                    RecordData::Name(n) => DnsData::Other(format!("{} {n}", qtype_name(rr.rtype))),
                    RecordData::Raw(_) => DnsData::Other(qtype_name(rr.rtype)),
                };
                answers.push(DnsAnswer {
                    name: rr.name.to_string(),
                    data,
                    ttl: Some(rr.ttl),
                });
            }
            if answers.is_empty() && matches!(self.rcode, 0 | 3) {
                let data = if self.rcode == 3 {
                    DnsData::NxDomain
                } else {
                    DnsData::NoData
                };
                answers.push(DnsAnswer {
                    name: name.clone(),
                    data,
                    ttl: None,
                });
            }
        }
        let blocked = answers.iter().any(|a| match a.data {
            DnsData::Addr(ip) => ip.is_unspecified() || ip.is_loopback(),
            _ => false,
        });
        DnsLog {
            ts,
            origin: DnsOrigin::Packet,
            event: if self.qr {
                DnsEvent::Reply
            } else {
                DnsEvent::Query
            },
            client: Some(client),
            server: Some(server),
            id: Some(self.id as u32),
            name,
            qtype,
            rcode: self.qr.then(|| self.rcode_name()),
            answers,
            from_config: false,
            blocked,
        }
    }
}

/// Iterator over the answer records that parsed.
pub struct AnswerIter<'a> {
    msg: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for AnswerIter<'a> {
    type Item = ResourceRecord<'a>;

    fn next(&mut self) -> Option<ResourceRecord<'a>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (rr, next) = parse_record(self.msg, self.pos).ok()?;
        self.pos = next;
        Some(rr)
    }
}

/// The mnemonic of a record type (`A`, `AAAA`, ...), or `TYPEn` (RFC 3597).
pub fn qtype_name(t: u16) -> String {
    let name = match t {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        39 => "DNAME",
        41 => "OPT",
        43 => "DS",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        251 => "IXFR",
        252 => "AXFR",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{t}"),
    };
    name.to_string()
}

/// The name of a response code (`NOERROR`, `NXDOMAIN`, ...), or `RCODEn`.
pub fn rcode_name(rcode: u8) -> String {
    let name = match rcode {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        _ => return format!("RCODE{rcode}"),
    };
    name.to_string()
}
