//! netfilter LOG messages (iptables, ip6tables, nftables `log`, ufw, Shorewall).
//!
//! The kernel writes `PREFIX` then `IN= OUT= [PHYSIN= PHYSOUT=] MAC= SRC= DST=
//! LEN= ...` (see `net/netfilter/nf_log_syslog.c`). The IPv4 part is `TOS=
//! PREC= TTL= ID= [CE] [DF] [MF] [FRAG:n] [OPT (hex)]`, the IPv6 part `TC=
//! HOPLIMIT= FLOWLBL= [OPT ( ... )]...` (one `OPT ( )` per extension header),
//! then `PROTO=` and the transport: TCP `SPT= DPT= [SEQ= ACK=] WINDOW= RES=
//! flags URGP= [OPT (hex)]`, UDP/UDPLITE `SPT= DPT= LEN=`, ICMP/ICMPv6 `TYPE=
//! CODE= [ID= SEQ=] [PARAMETER=|POINTER=|GATEWAY=] [[inner packet]] [MTU=]`,
//! AH/ESP `SPI=`, or `INCOMPLETE [n bytes]`; finally `UID= GID=` and `MARK=`.
//! The same keys mean different things before and after `PROTO=` (`LEN`, `ID`,
//! `SEQ`, `OPT`), so the parser tracks which side it is on.
//!
//! Parsing borrows from the message and does not allocate.

use super::LineError;
use std::net::{IpAddr, Ipv4Addr};
use tripline_core::{
    FirewallLog, Header, IcmpFields, IpFields, OptionBytes, Record, TcpFields, TcpFlags, Timestamp,
    Transport, UdpFields, ip_proto,
};

/// Everything a netfilter LOG message says, borrowed from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetfilterFields<'a> {
    /// The log prefix (text before `IN=`), trimmed: `DROP`, `[UFW BLOCK]`, ...
    pub prefix: &'a str,
    /// `IN=` (empty for locally generated packets).
    pub in_iface: &'a str,
    /// `OUT=` (empty for packets to this host).
    pub out_iface: &'a str,
    /// `PHYSIN=` of bridged packets, else empty.
    pub physin: &'a str,
    /// `PHYSOUT=` of bridged packets, else empty.
    pub physout: &'a str,
    /// `MAC=` as logged (destination:source:ethertype), possibly empty.
    pub mac: &'a str,
    /// The header fields, in tripline's one header model.
    pub header: Header,
    /// `INCOMPLETE [n bytes]`: the transport header was cut short.
    pub incomplete: Option<u16>,
    /// Number of IPv6 extension headers logged (`OPT ( ... )` groups); nine
    /// empty ones are the Topera scanner's mark.
    pub ipv6_ext_headers: u8,
    /// The inner packet of an ICMP error (`[SRC=... DST=... ]`), without the
    /// brackets, else empty.
    pub embedded: &'a str,
    /// `MTU=` of ICMP "fragmentation needed" / ICMPv6 "packet too big".
    pub icmp_mtu: Option<u16>,
    /// `GATEWAY=` of ICMP redirects.
    pub icmp_gateway: Option<Ipv4Addr>,
    /// `SPI=` of AH/ESP.
    pub spi: Option<u32>,
    /// `UID=` of the local socket (`--log-uid`).
    pub uid: Option<u32>,
    /// `GID=` of the local socket.
    pub gid: Option<u32>,
    /// `MARK=` (packet mark), when non-zero.
    pub mark: Option<u32>,
}

impl<'a> NetfilterFields<'a> {
    /// The record for this message, logged at `ts` by `host`.
    pub fn to_record(&self, ts: Timestamp, host: &'a str) -> Record<'a> {
        Record::Firewall(FirewallLog {
            ts,
            header: self.header,
            prefix: self.prefix,
            in_iface: self.in_iface,
            out_iface: self.out_iface,
            mac: self.mac,
            host,
        })
    }

    /// `MAC=` decoded as (destination, source, ethertype) for Ethernet.
    pub fn ethernet(&self) -> Option<([u8; 6], [u8; 6], u16)> {
        let b = self.mac.as_bytes();
        if b.len() != 14 * 3 - 1 {
            return None;
        }
        let mut bytes = [0u8; 14];
        for (i, out) in bytes.iter_mut().enumerate() {
            if i > 0 && b[i * 3 - 1] != b':' {
                return None;
            }
            *out = hex_byte(b[i * 3], b[i * 3 + 1])?;
        }
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&bytes[..6]);
        src.copy_from_slice(&bytes[6..12]);
        Some((dst, src, u16::from_be_bytes([bytes[12], bytes[13]])))
    }
}

/// True when `msg` has the `IN=... OUT=` shape of a netfilter LOG message.
pub fn looks_like_netfilter(msg: &str) -> bool {
    find_in(msg.as_bytes()).is_some()
}

/// Where `IN=` starts: the first `IN=` whose value is followed by ` OUT=`
/// (a prefix may itself contain `IN=`).
fn find_in(b: &[u8]) -> Option<usize> {
    // The prefix is short (at most 29 bytes in iptables), so a plain scan.
    let mut at = 0;
    while at + 3 <= b.len() {
        if b[at] == b'I' && b[at + 1] == b'N' && b[at + 2] == b'=' {
            let mut value_end = at + 3;
            while value_end < b.len() && b[value_end] != b' ' {
                value_end += 1;
            }
            if b[value_end..].starts_with(b" OUT=") {
                return Some(at);
            }
        }
        at += 1;
    }
    None
}

/// Which part of the message a key belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Ip,
    Transport,
}

/// Parses a netfilter LOG message (the text after the syslog envelope).
///
/// `Err(LineError::NotRecognised)` when there is no `IN=... OUT=`;
/// `Err(LineError::BadField)` when a field is malformed or a mandatory one
/// (`SRC`, `DST`, `LEN`, `TTL`/`HOPLIMIT`, `PROTO`, the ports...) is missing.
pub fn parse(msg: &str) -> Result<NetfilterFields<'_>, LineError> {
    let b = msg.as_bytes();
    let start = find_in(b).ok_or(LineError::NotRecognised)?;
    let mut f = NetfilterFields {
        prefix: msg[..start].trim(),
        in_iface: "",
        out_iface: "",
        physin: "",
        physout: "",
        mac: "",
        header: Header::default(),
        incomplete: None,
        ipv6_ext_headers: 0,
        embedded: "",
        icmp_mtu: None,
        icmp_gateway: None,
        spi: None,
        uid: None,
        gid: None,
        mark: None,
    };
    let mut ip = IpFields::default();
    let mut tcp = TcpFields::default();
    let mut icmp = IcmpFields::default();
    let mut udp_len = None;
    let (mut src, mut dst, mut proto) = (None, None, None);
    let (mut spt, mut dpt, mut len, mut ttl, mut window, mut urgp) =
        (None, None, None, None, None, None);
    let mut icmp_type = None;
    let mut tcp_seq = None;
    let mut side = Side::Ip;
    let mut named_proto = false;
    let mut pos = start;
    while pos < b.len() {
        if b[pos] == b' ' {
            pos += 1;
            continue;
        }
        // Tokens are short: a plain loop beats memchr's set-up here.
        let mut end = pos;
        let mut eq = None;
        while end < b.len() && b[end] != b' ' {
            if b[end] == b'=' && eq.is_none() {
                eq = Some(end - pos);
            }
            end += 1;
        }
        let tok = &msg[pos..end];
        let mut next = end;
        if tok.starts_with('[') && side == Side::Transport {
            let (inner, after) =
                bracketed(msg, pos).ok_or(LineError::bad("[", "inner packet not closed"))?;
            f.embedded = inner.trim();
            pos = after;
            continue;
        }
        match eq {
            Some(eq) => {
                let (key, val) = (&tok[..eq], &tok[eq + 1..]);
                match (side, key) {
                    (Side::Ip, "IN") => f.in_iface = val,
                    (Side::Ip, "OUT") => f.out_iface = val,
                    (Side::Ip, "PHYSIN") => f.physin = val,
                    (Side::Ip, "PHYSOUT") => f.physout = val,
                    (Side::Ip, "MAC") => f.mac = val,
                    (Side::Ip, "SRC") => src = Some(addr(val, "SRC")?),
                    (Side::Ip, "DST") => dst = Some(addr(val, "DST")?),
                    (Side::Ip, "LEN") => len = Some(dec::<u16>(val, "LEN")?),
                    (Side::Ip, "TOS") => ip.tos |= hex(val, "TOS")? as u8,
                    (Side::Ip, "PREC") => ip.tos |= hex(val, "PREC")? as u8,
                    (Side::Ip, "TC") => ip.tos = dec::<u8>(val, "TC")?,
                    (Side::Ip, "TTL") => ttl = Some(dec::<u8>(val, "TTL")?),
                    (Side::Ip, "HOPLIMIT") => ttl = Some(dec::<u8>(val, "HOPLIMIT")?),
                    (Side::Ip, "FLOWLBL") => ip.flow_label = dec::<u32>(val, "FLOWLBL")?,
                    (Side::Ip, "ID") => ip.id = dec::<u16>(val, "ID")? as u32,
                    (Side::Ip, "PROTO") => {
                        proto = Some(protocol(val)?);
                        named_proto = !val.as_bytes()[0].is_ascii_digit();
                        side = Side::Transport;
                    }
                    (Side::Transport, "SPT") => spt = Some(dec::<u16>(val, "SPT")?),
                    (Side::Transport, "DPT") => dpt = Some(dec::<u16>(val, "DPT")?),
                    (Side::Transport, "LEN") => udp_len = Some(dec::<u16>(val, "LEN")?),
                    (Side::Transport, "SEQ") if is_icmp(proto) => {
                        icmp.seq = Some(dec::<u16>(val, "SEQ")?)
                    }
                    (Side::Transport, "SEQ") => tcp_seq = Some(dec::<u32>(val, "SEQ")?),
                    (Side::Transport, "ACK") => tcp.ack = Some(dec::<u32>(val, "ACK")?),
                    (Side::Transport, "WINDOW") => window = Some(dec::<u16>(val, "WINDOW")?),
                    (Side::Transport, "RES") => tcp.reserved = (hex(val, "RES")? >> 2) as u8,
                    (Side::Transport, "URGP") => urgp = Some(dec::<u16>(val, "URGP")?),
                    (Side::Transport, "TYPE") => icmp_type = Some(dec::<u8>(val, "TYPE")?),
                    (Side::Transport, "CODE") => icmp.code = dec::<u8>(val, "CODE")?,
                    (Side::Transport, "ID") => icmp.id = Some(dec::<u16>(val, "ID")?),
                    (Side::Transport, "MTU") => f.icmp_mtu = Some(dec::<u16>(val, "MTU")?),
                    (Side::Transport, "GATEWAY") => {
                        f.icmp_gateway = Some(
                            val.parse()
                                .map_err(|_| LineError::bad("GATEWAY", "not an IPv4 address"))?,
                        )
                    }
                    (Side::Transport, "SPI") => f.spi = Some(hex(val, "SPI")? as u32),
                    (Side::Transport, "UID") => f.uid = Some(dec::<u32>(val, "UID")?),
                    (Side::Transport, "GID") => f.gid = Some(dec::<u32>(val, "GID")?),
                    (Side::Transport, "MARK") => f.mark = Some(hex(val, "MARK")? as u32),
                    // PARAMETER=, POINTER=, and keys of newer kernels: not needed.
                    _ => {}
                }
            }
            None => match tok {
                "CE" => ip.reserved_bit = true,
                "DF" => ip.df = true,
                "MF" => ip.mf = true,
                "CWR" => tcp.flags.0 |= TcpFlags::CWR,
                "ECE" => tcp.flags.0 |= TcpFlags::ECE,
                "URG" => tcp.flags.0 |= TcpFlags::URG,
                "ACK" => tcp.flags.0 |= TcpFlags::ACK,
                "PSH" => tcp.flags.0 |= TcpFlags::PSH,
                "RST" => tcp.flags.0 |= TcpFlags::RST,
                "SYN" => tcp.flags.0 |= TcpFlags::SYN,
                "FIN" => tcp.flags.0 |= TcpFlags::FIN,
                "OPT" => {
                    let (inner, after) =
                        parenthesised(msg, end).ok_or(LineError::bad("OPT", "no (...)"))?;
                    next = after;
                    match side {
                        Side::Ip if src.is_some_and(|a: IpAddr| a.is_ipv6()) => {
                            f.ipv6_ext_headers = f.ipv6_ext_headers.saturating_add(1);
                            ipv6_ext_header(inner, &mut ip)?;
                        }
                        Side::Ip => ip.options = hex_options(inner, "OPT")?,
                        Side::Transport => tcp.options = hex_options(inner, "OPT")?,
                    }
                }
                "INCOMPLETE" => {
                    let (n, after) =
                        bracketed(msg, end).ok_or(LineError::bad("INCOMPLETE", "no [n bytes]"))?;
                    let n = n
                        .strip_suffix(" bytes")
                        .ok_or(LineError::bad("INCOMPLETE", "no [n bytes]"))?;
                    f.incomplete = Some(dec::<u16>(n, "INCOMPLETE")?);
                    next = after;
                }
                _ if tok.starts_with("FRAG:") && side == Side::Ip => {
                    ip.frag_offset = dec::<u16>(&tok[5..], "FRAG")?
                        .checked_mul(8)
                        .ok_or(LineError::bad("FRAG", "too large"))?;
                }
                _ => return Err(LineError::bad("token", "unexpected word")),
            },
        }
        pos = next;
    }
    let src = src.ok_or(LineError::bad("SRC", "missing"))?;
    let dst = dst.ok_or(LineError::bad("DST", "missing"))?;
    if src.is_ipv6() != dst.is_ipv6() {
        return Err(LineError::bad("DST", "address family differs from SRC"));
    }
    let protocol = proto.ok_or(LineError::bad("PROTO", "missing"))?;
    ip.version = if src.is_ipv6() { 6 } else { 4 };
    ip.total_len = len.ok_or(LineError::bad("LEN", "missing"))?;
    ip.ttl = ttl.ok_or(LineError::bad(
        if src.is_ipv6() { "HOPLIMIT" } else { "TTL" },
        "missing",
    ))?;
    ip.fragmented |= ip.frag_offset > 0 || ip.mf;
    let first_fragment = ip.frag_offset == 0;
    let transport = match (protocol, spt) {
        (ip_proto::TCP, Some(sport)) => {
            tcp.sport = sport;
            tcp.dport = dpt.ok_or(LineError::bad("DPT", "missing"))?;
            tcp.window = window.ok_or(LineError::bad("WINDOW", "missing"))?;
            tcp.urgp = urgp.ok_or(LineError::bad("URGP", "missing"))?;
            tcp.seq = tcp_seq;
            Transport::Tcp(tcp)
        }
        (ip_proto::UDP | UDPLITE, Some(sport)) => Transport::Udp(UdpFields {
            sport,
            dport: dpt.ok_or(LineError::bad("DPT", "missing"))?,
            len: udp_len.ok_or(LineError::bad("LEN", "missing"))?,
        }),
        (ip_proto::ICMP | ip_proto::ICMPV6, _) if icmp_type.is_some() => {
            icmp.icmp_type = icmp_type.unwrap_or_default();
            Transport::Icmp(icmp)
        }
        // The kernel names the protocol only when it dumps its header: a named
        // protocol without its fields is a cut line (unless a fragment or
        // INCOMPLETE). `PROTO=58` in IPv4 is just a number.
        (ip_proto::TCP | ip_proto::UDP | UDPLITE | ip_proto::ICMP | ip_proto::ICMPV6, None)
            if named_proto && first_fragment && f.incomplete.is_none() && icmp_type.is_none() =>
        {
            return Err(LineError::bad("PROTO", "transport fields missing"));
        }
        _ => Transport::Other,
    };
    f.header = Header {
        src,
        dst,
        protocol,
        ip,
        transport,
    };
    Ok(f)
}

/// UDP-Lite, which the kernel logs like UDP.
const UDPLITE: u8 = 136;
/// IPsec AH.
const AH: u8 = 51;

fn is_icmp(proto: Option<u8>) -> bool {
    matches!(proto, Some(ip_proto::ICMP | ip_proto::ICMPV6))
}

fn protocol(val: &str) -> Result<u8, LineError> {
    Ok(match val {
        "TCP" => ip_proto::TCP,
        "UDP" => ip_proto::UDP,
        "UDPLITE" => UDPLITE,
        "ICMP" => ip_proto::ICMP,
        "ICMPv6" => ip_proto::ICMPV6,
        "AH" => AH,
        "ESP" => ip_proto::ESP,
        _ => dec::<u8>(val, "PROTO")?,
    })
}

fn addr(val: &str, field: &'static str) -> Result<IpAddr, LineError> {
    val.parse()
        .map_err(|_| LineError::bad(field, "not an IP address"))
}

/// Decimal number, checked against the field's width.
fn dec<T: TryFrom<u64>>(val: &str, field: &'static str) -> Result<T, LineError> {
    let b = val.as_bytes();
    if b.is_empty() || b.len() > 10 {
        return Err(LineError::bad(field, "not a number"));
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return Err(LineError::bad(field, "not a number"));
        }
        v = v * 10 + (c - b'0') as u64;
    }
    T::try_from(v).map_err(|_| LineError::bad(field, "out of range"))
}

/// `0x..` hexadecimal (TOS, PREC, RES, SPI, MARK).
fn hex(val: &str, field: &'static str) -> Result<u64, LineError> {
    let digits = val
        .strip_prefix("0x")
        .or_else(|| val.strip_prefix("0X"))
        .ok_or(LineError::bad(field, "not 0x hex"))?;
    plain_hex(digits, field)
}

/// Hexadecimal without `0x` (the `ID:0000abcd` of IPv6 fragment headers).
fn plain_hex(digits: &str, field: &'static str) -> Result<u64, LineError> {
    if digits.is_empty() || digits.len() > 8 {
        return Err(LineError::bad(field, "not hex"));
    }
    let mut v = 0u64;
    for &c in digits.as_bytes() {
        v = v << 4 | nibble(c).ok_or(LineError::bad(field, "not hex"))? as u64;
    }
    Ok(v)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_byte(h: u8, l: u8) -> Option<u8> {
    Some(nibble(h)? << 4 | nibble(l)?)
}

/// IPv4 or TCP options as logged (`020405B4...`), at most 40 bytes.
fn hex_options(text: &str, field: &'static str) -> Result<OptionBytes, LineError> {
    let b = text.trim().as_bytes();
    if !b.len().is_multiple_of(2) || b.len() > 80 {
        return Err(LineError::bad(field, "not up to 40 hex bytes"));
    }
    let mut raw = [0u8; 40];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        raw[i] = hex_byte(pair[0], pair[1]).ok_or(LineError::bad(field, "not hex"))?;
    }
    OptionBytes::new(&raw[..b.len() / 2]).ok_or(LineError::bad(field, "longer than 40 bytes"))
}

/// One IPv6 extension header group: `FRAG:n`, `INCOMPLETE` (more fragments),
/// `ID:hex` for a fragment header; `AH SPI=..`, `ESP SPI=..`; empty for
/// hop-by-hop, routing and destination options.
fn ipv6_ext_header(inner: &str, ip: &mut IpFields) -> Result<(), LineError> {
    for word in inner.split_ascii_whitespace() {
        if let Some(off) = word.strip_prefix("FRAG:") {
            ip.frag_offset = dec::<u16>(off, "FRAG")?;
            ip.fragmented = true;
        } else if let Some(id) = word.strip_prefix("ID:") {
            ip.id = plain_hex(id, "ID")? as u32;
        } else if word == "INCOMPLETE" {
            ip.mf = true;
        }
    }
    Ok(())
}

/// The text between `(` and `)` after `OPT` ending at `from`, and where
/// parsing goes on.
fn parenthesised(msg: &str, from: usize) -> Option<(&str, usize)> {
    let b = msg.as_bytes();
    let open = from + b[from..].iter().position(|&c| c != b' ')?;
    if b[open] != b'(' {
        return None;
    }
    let close = open + memchr::memchr(b')', &b[open..])?;
    Some((&msg[open + 1..close], close + 1))
}

/// The text between the `[` at or after `from` and its matching `]`.
fn bracketed(msg: &str, from: usize) -> Option<(&str, usize)> {
    let b = msg.as_bytes();
    let open = from + b[from..].iter().position(|&c| c != b' ')?;
    if b[open] != b'[' {
        return None;
    }
    let mut depth = 0usize;
    for (i, &c) in b[open..].iter().enumerate() {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return Some((&msg[open + 1..open + i], open + i + 1));
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
#[path = "netfilter_tests.rs"]
mod tests;
