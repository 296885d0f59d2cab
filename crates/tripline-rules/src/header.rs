//! The rule header: action, protocol, addresses, ports and direction.
//!
//! Variables are expanded while parsing, so a parsed [`AddressSpec`] or
//! [`PortSpec`] is self-contained and can be matched against a packet or a
//! firewall-log [`tripline_core::Header`] directly.

use crate::vars::Variables;
use std::fmt;
use std::net::IpAddr;
use thiserror::Error;
use tripline_core::Cidr;

/// How deep variables and lists may nest before we call it a loop.
const MAX_DEPTH: u32 = 16;

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Raise an alert.
    Alert,
    /// Let the packet (and flow) through without further inspection.
    Pass,
    /// Drop the packet and alert (inline mode).
    Drop,
    /// Reject: send a reset/unreachable and alert.
    Reject,
    /// Reject towards the source only.
    RejectSrc,
    /// Reject towards the destination only.
    RejectDst,
    /// Reject towards both ends.
    RejectBoth,
}

impl Action {
    /// The action as written in rules and EVE (`alert`, `drop`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Alert => "alert",
            Action::Pass => "pass",
            Action::Drop => "drop",
            Action::Reject => "reject",
            Action::RejectSrc => "rejectsrc",
            Action::RejectDst => "rejectdst",
            Action::RejectBoth => "rejectboth",
        }
    }

    /// Parses an action word.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "alert" => Action::Alert,
            "pass" => Action::Pass,
            "drop" => Action::Drop,
            "reject" => Action::Reject,
            "rejectsrc" => Action::RejectSrc,
            "rejectdst" => Action::RejectDst,
            "rejectboth" => Action::RejectBoth,
            _ => return None,
        })
    }
}

/// The protocol field of a rule header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Any IP packet.
    Ip,
    /// TCP packets and reassembled streams.
    Tcp,
    /// TCP packets only (no stream).
    TcpPkt,
    /// The reassembled TCP stream only.
    TcpStream,
    /// UDP.
    Udp,
    /// ICMP (v4 and v6).
    Icmp,
    /// An application protocol detected on a flow.
    App(AppProto),
}

/// Application protocols a header may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AppProto {
    /// HTTP/1.x (`http`, `http1`).
    Http,
    /// DNS over UDP or TCP.
    Dns,
    /// TLS.
    Tls,
}

impl Protocol {
    /// Parses the protocol word; `Err` carries the word when it is a
    /// protocol Suricata knows but tripline does not inspect.
    pub fn parse(s: &str) -> Result<Protocol, HeaderError> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "ip" | "pkthdr" => Protocol::Ip,
            "tcp" => Protocol::Tcp,
            "tcp-pkt" => Protocol::TcpPkt,
            "tcp-stream" => Protocol::TcpStream,
            "udp" => Protocol::Udp,
            "icmp" | "icmpv4" | "icmpv6" => Protocol::Icmp,
            "http" | "http1" => Protocol::App(AppProto::Http),
            "dns" => Protocol::App(AppProto::Dns),
            "tls" | "ssl" => Protocol::App(AppProto::Tls),
            "ftp" | "ftp-data" | "smtp" | "ssh" | "smb" | "dcerpc" | "dhcp" | "nfs" | "ntp"
            | "krb5" | "snmp" | "sip" | "rdp" | "rfb" | "mqtt" | "http2" | "ike" | "modbus"
            | "dnp3" | "enip" | "imap" | "pop3" | "tftp" | "ikev2" | "quic" | "pgsql"
            | "telnet" | "bittorrent-dht" | "websocket" | "ldap" | "sctp" | "ipv6" | "ipv4" => {
                return Err(HeaderError::UnsupportedProtocol(s.to_string()));
            }
            _ => return Err(HeaderError::UnknownProtocol(s.to_string())),
        })
    }

    /// The protocol as written in rules.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Ip => "ip",
            Protocol::Tcp => "tcp",
            Protocol::TcpPkt => "tcp-pkt",
            Protocol::TcpStream => "tcp-stream",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::App(AppProto::Http) => "http",
            Protocol::App(AppProto::Dns) => "dns",
            Protocol::App(AppProto::Tls) => "tls",
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `->` (one way) or `<>` (either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowDirection {
    /// Source to destination only.
    OneWay,
    /// Either way.
    Both,
}

/// A set of addresses: `any`, a prefix, a list, or a negation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressSpec {
    /// Every address.
    Any,
    /// One prefix (a bare address is a host prefix).
    Cidr(Cidr),
    /// A list: the union of its positive members minus its negated ones
    /// (a list of only negations means "everything except").
    List(Vec<AddressSpec>),
    /// Everything not in the inner set.
    Not(Box<AddressSpec>),
}

impl AddressSpec {
    /// True when `ip` is in the set.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match self {
            AddressSpec::Any => true,
            AddressSpec::Cidr(c) => c.contains(ip),
            AddressSpec::Not(inner) => !inner.contains(ip),
            AddressSpec::List(items) => list_contains(
                items,
                |i| i.contains(ip),
                |i| match i {
                    AddressSpec::Not(inner) => Some(&**inner),
                    _ => None,
                },
            ),
        }
    }

    /// True for `any`.
    pub fn is_any(&self) -> bool {
        matches!(self, AddressSpec::Any)
    }
}

/// A set of ports: `any`, a range, a list, or a negation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSpec {
    /// Every port.
    Any,
    /// An inclusive range; a single port is `Range(p, p)`.
    Range(u16, u16),
    /// Union of positive members minus negated ones.
    List(Vec<PortSpec>),
    /// Every port not in the inner set.
    Not(Box<PortSpec>),
}

impl PortSpec {
    /// True when `port` is in the set.
    pub fn contains(&self, port: u16) -> bool {
        match self {
            PortSpec::Any => true,
            PortSpec::Range(lo, hi) => (*lo..=*hi).contains(&port),
            PortSpec::Not(inner) => !inner.contains(port),
            PortSpec::List(items) => list_contains(
                items,
                |i| i.contains(port),
                |i| match i {
                    PortSpec::Not(inner) => Some(&**inner),
                    _ => None,
                },
            ),
        }
    }

    /// True for `any`.
    pub fn is_any(&self) -> bool {
        matches!(self, PortSpec::Any)
    }
}

fn list_contains<T>(
    items: &[T],
    contains: impl Fn(&T) -> bool,
    negated: impl Fn(&T) -> Option<&T>,
) -> bool {
    let mut any_positive = false;
    let mut in_positive = false;
    for item in items {
        match negated(item) {
            Some(inner) => {
                if contains(inner) {
                    return false;
                }
            }
            None => {
                any_positive = true;
                in_positive = in_positive || contains(item);
            }
        }
    }
    !any_positive || in_positive
}

/// The parsed header of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHeader {
    /// What to do on a match.
    pub action: Action,
    /// Which packets or application records the rule looks at.
    pub protocol: Protocol,
    /// Source addresses.
    pub src: AddressSpec,
    /// Source ports.
    pub src_ports: PortSpec,
    /// `->` or `<>`.
    pub direction: FlowDirection,
    /// Destination addresses.
    pub dst: AddressSpec,
    /// Destination ports.
    pub dst_ports: PortSpec,
}

/// Why a header did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HeaderError {
    /// Not one of alert/pass/drop/reject....
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// Not a protocol name at all.
    #[error("unknown protocol {0:?}")]
    UnknownProtocol(String),
    /// A protocol Suricata has but tripline does not inspect (rule skipped).
    #[error("unsupported protocol {0:?}")]
    UnsupportedProtocol(String),
    /// Neither `->` nor `<>`.
    #[error("unknown direction {0:?} (expected -> or <>)")]
    UnknownDirection(String),
    /// An address that is not a prefix, list, variable or `any`.
    #[error("bad address {0:?}")]
    BadAddress(String),
    /// A port that is not a number 0-65535, range, list, variable or `any`.
    #[error("bad port {0:?}")]
    BadPort(String),
    /// `$NAME` that is not defined.
    #[error("undefined variable ${0}")]
    UndefinedVariable(String),
    /// Variables or lists nested too deeply (likely a loop).
    #[error("variables or lists nested too deeply in {0:?}")]
    TooDeep(String),
}

/// Parses the action and the six header fields split by the lexer.
pub fn parse_header(
    action: &str,
    fields: &[&str; 6],
    vars: &Variables,
) -> Result<RuleHeader, HeaderError> {
    let action = Action::parse(action).ok_or_else(|| HeaderError::UnknownAction(action.into()))?;
    let protocol = Protocol::parse(fields[0])?;
    let direction = match fields[3] {
        "->" => FlowDirection::OneWay,
        "<>" => FlowDirection::Both,
        other => return Err(HeaderError::UnknownDirection(other.to_string())),
    };
    Ok(RuleHeader {
        action,
        protocol,
        src: parse_address(fields[1], vars)?,
        src_ports: parse_ports(fields[2], vars)?,
        direction,
        dst: parse_address(fields[4], vars)?,
        dst_ports: parse_ports(fields[5], vars)?,
    })
}

/// Parses an address field (`any`, `10.0.0.0/8`, `!$HOME_NET`, `[a,[b,!c]]`).
pub fn parse_address(s: &str, vars: &Variables) -> Result<AddressSpec, HeaderError> {
    address(s.trim(), vars, 0)
}

fn address(s: &str, vars: &Variables, depth: u32) -> Result<AddressSpec, HeaderError> {
    if depth > MAX_DEPTH {
        return Err(HeaderError::TooDeep(s.to_string()));
    }
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(AddressSpec::Not(Box::new(address(
            rest.trim(),
            vars,
            depth + 1,
        )?)));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| HeaderError::BadAddress(s.to_string()))?;
        let items = split_list(inner).ok_or_else(|| HeaderError::BadAddress(s.to_string()))?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(address(item, vars, depth + 1)?);
        }
        return Ok(AddressSpec::List(out));
    }
    if let Some(name) = s.strip_prefix('$') {
        let value = vars
            .address(name)
            .ok_or_else(|| HeaderError::UndefinedVariable(name.to_string()))?;
        return address(value.trim(), vars, depth + 1);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(AddressSpec::Any);
    }
    if let Some((lo, hi)) = s.split_once('-') {
        return address_range(lo.trim(), hi.trim())
            .ok_or_else(|| HeaderError::BadAddress(s.to_string()));
    }
    s.parse::<Cidr>()
        .map(AddressSpec::Cidr)
        .map_err(|_| HeaderError::BadAddress(s.to_string()))
}

/// An address range `first-last` (both of one family, first ≤ last) as
/// the list of prefixes covering exactly it.
fn address_range(lo: &str, hi: &str) -> Option<AddressSpec> {
    let (lo, hi): (IpAddr, IpAddr) = (lo.parse().ok()?, hi.parse().ok()?);
    let (lo, hi, bits) = match (lo, hi) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u128::from(u32::from(a)), u128::from(u32::from(b)), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return None,
    };
    if lo > hi {
        return None;
    }
    let addr = |v: u128| -> IpAddr {
        if bits == 32 {
            IpAddr::V4(std::net::Ipv4Addr::from(v as u32))
        } else {
            IpAddr::V6(std::net::Ipv6Addr::from(v))
        }
    };
    let mut out = Vec::new();
    let mut cur = lo;
    loop {
        // The largest aligned block starting at `cur` that ends by `hi`.
        let mut size = if cur == 0 {
            bits
        } else {
            cur.trailing_zeros().min(bits)
        };
        let block_end = |size: u32| -> Option<u128> {
            if size >= 128 {
                Some(u128::MAX)
            } else {
                cur.checked_add((1u128 << size) - 1)
            }
        };
        while size > 0 && block_end(size).is_none_or(|e| e > hi) {
            size -= 1;
        }
        out.push(AddressSpec::Cidr(Cidr::new(
            addr(cur),
            (bits - size) as u8,
        )?));
        match block_end(size) {
            Some(end) if end < hi => cur = end + 1,
            _ => break,
        }
    }
    Some(AddressSpec::List(out))
}

/// Parses a port field (`any`, `80`, `1024:`, `:1023`, `!$HTTP_PORTS`, `[80,!81]`).
pub fn parse_ports(s: &str, vars: &Variables) -> Result<PortSpec, HeaderError> {
    ports(s.trim(), vars, 0)
}

fn ports(s: &str, vars: &Variables, depth: u32) -> Result<PortSpec, HeaderError> {
    if depth > MAX_DEPTH {
        return Err(HeaderError::TooDeep(s.to_string()));
    }
    let bad = || HeaderError::BadPort(s.to_string());
    if let Some(rest) = s.strip_prefix('!') {
        return Ok(PortSpec::Not(Box::new(ports(
            rest.trim(),
            vars,
            depth + 1,
        )?)));
    }
    if let Some(inner) = s.strip_prefix('[') {
        let inner = inner.strip_suffix(']').ok_or_else(bad)?;
        let items = split_list(inner).ok_or_else(bad)?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(ports(item, vars, depth + 1)?);
        }
        return Ok(PortSpec::List(out));
    }
    if let Some(name) = s.strip_prefix('$') {
        let value = vars
            .port(name)
            .ok_or_else(|| HeaderError::UndefinedVariable(name.to_string()))?;
        return ports(value.trim(), vars, depth + 1);
    }
    if s.eq_ignore_ascii_case("any") {
        return Ok(PortSpec::Any);
    }
    let num = |t: &str| t.trim().parse::<u16>().map_err(|_| bad());
    match s.split_once(':') {
        Some((lo, hi)) => {
            let lo = if lo.trim().is_empty() { 0 } else { num(lo)? };
            let hi = if hi.trim().is_empty() {
                u16::MAX
            } else {
                num(hi)?
            };
            if lo > hi {
                return Err(bad());
            }
            Ok(PortSpec::Range(lo, hi))
        }
        None => {
            let p = num(s)?;
            Ok(PortSpec::Range(p, p))
        }
    }
}

/// Splits a list body at top-level commas; `None` on unbalanced brackets or empty items.
fn split_list(s: &str) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                out.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return None;
    }
    out.push(s[start..].trim());
    if out.iter().any(|x| x.is_empty()) {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::HomeNets;

    fn vars() -> Variables {
        Variables::suricata_defaults(&HomeNets::parse(&["192.168.1.0/24"]).unwrap())
    }

    #[test]
    fn address_ranges_cover_exactly_their_span() {
        let v = Variables::empty();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let r = parse_address("10.0.0.1-10.0.0.6", &v).unwrap();
        for last in 0..=7u8 {
            let a = ip(&format!("10.0.0.{last}"));
            assert_eq!(r.contains(a), (1..=6).contains(&last), "{a}");
        }
        let r6 = parse_address("[2001:db8::1-2001:db8::ff]", &v).unwrap();
        assert!(r6.contains(ip("2001:db8::1")) && r6.contains(ip("2001:db8::ff")));
        assert!(!r6.contains(ip("2001:db8::")) && !r6.contains(ip("2001:db8::100")));
        let all = parse_address("0.0.0.0-255.255.255.255", &v).unwrap();
        assert_eq!(
            all,
            AddressSpec::List(vec![AddressSpec::Cidr("0.0.0.0/0".parse().unwrap())])
        );
        let all6 = parse_address("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &v).unwrap();
        assert!(all6.contains(ip("::1")) && all6.contains(ip("ffff::")));
        for bad in ["10.0.0.5-10.0.0.1", "10.0.0.1-::1", "10.0.0.1-", "x-y"] {
            assert!(parse_address(bad, &v).is_err(), "{bad}");
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn nested_lists_with_negation() {
        let a = parse_address("[10.0.0.0/8,![10.1.0.0/16,!10.1.2.3],192.0.2.1]", &vars()).unwrap();
        assert!(a.contains(ip("10.2.0.1")));
        assert!(!a.contains(ip("10.1.0.1")));
        assert!(a.contains(ip("10.1.2.3")));
        assert!(a.contains(ip("192.0.2.1")));
        assert!(!a.contains(ip("192.0.2.2")));
    }

    #[test]
    fn variables_expand() {
        let v = vars();
        let ext = parse_address("$EXTERNAL_NET", &v).unwrap();
        assert!(!ext.contains(ip("192.168.1.7")));
        assert!(ext.contains(ip("8.8.8.8")));
        let p = parse_ports("$FILE_DATA_PORTS", &v).unwrap();
        assert!(p.contains(80) && p.contains(110) && p.contains(143) && !p.contains(81));
        let sc = parse_ports("$SHELLCODE_PORTS", &v).unwrap();
        assert!(!sc.contains(80) && sc.contains(81));
        assert_eq!(
            parse_address("$NOPE", &v),
            Err(HeaderError::UndefinedVariable("NOPE".into()))
        );
    }

    #[test]
    fn port_ranges() {
        let v = vars();
        assert_eq!(
            parse_ports("1024:", &v).unwrap(),
            PortSpec::Range(1024, 65535)
        );
        assert_eq!(parse_ports(":1023", &v).unwrap(), PortSpec::Range(0, 1023));
        assert_eq!(parse_ports("80:90", &v).unwrap(), PortSpec::Range(80, 90));
        let l = parse_ports("[1:100,!53]", &v).unwrap();
        assert!(l.contains(52) && !l.contains(53) && !l.contains(101));
        assert_eq!(
            parse_ports("70000", &v),
            Err(HeaderError::BadPort("70000".into()))
        );
        assert_eq!(
            parse_ports("90:80", &v),
            Err(HeaderError::BadPort("90:80".into()))
        );
        assert_eq!(
            parse_ports("[80,]", &v),
            Err(HeaderError::BadPort("[80,]".into()))
        );
    }

    #[test]
    fn variable_loop_is_an_error() {
        let mut v = vars();
        v.set_address("A", "$B");
        v.set_address("B", "[$A]");
        assert!(matches!(
            parse_address("$A", &v),
            Err(HeaderError::TooDeep(_))
        ));
    }

    #[test]
    fn full_header() {
        let h = parse_header(
            "alert",
            &[
                "http",
                "$HOME_NET",
                "any",
                "<>",
                "$EXTERNAL_NET",
                "$HTTP_PORTS",
            ],
            &vars(),
        )
        .unwrap();
        assert_eq!(h.protocol, Protocol::App(AppProto::Http));
        assert_eq!(h.direction, FlowDirection::Both);
        assert_eq!(
            parse_header("alert", &["tcp", "any", "any", "=>", "any", "any"], &vars()),
            Err(HeaderError::UnknownDirection("=>".into()))
        );
    }
}
