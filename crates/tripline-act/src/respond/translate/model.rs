//! A signature reduced to what a kernel firewall can test, or the reason
//! it cannot be.
//!
//! Addresses and ports become per-family positive and negated sets; header
//! tests become comparisons; contents become byte strings with an optional
//! fixed position. Anything whose meaning a firewall cannot reproduce makes
//! the whole rule untranslatable, with one reason, so the report can say
//! why. Where the firewall rule matches differently from the signature (a
//! content whose distance to the previous one is dropped, a buffer length
//! test left out: it matches more; an HTTP buffer searched as raw bytes:
//! more, or less when the body is compressed) the rule is marked
//! `loosened`.

use tripline_core::Cidr;
use tripline_rules::options::{BitOp, BitsMode, Cmp, HeaderTest};
use tripline_rules::payload::Value;
use tripline_rules::{AddressSpec, Buffer, Detection, PortSpec, Protocol, Rule, Transform};

/// IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Addresses of one side, for one family.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AddrMatch {
    /// Must be in one of these (`None`: any).
    pub any_of: Option<Vec<Cidr>>,
    /// Must be in none of these.
    pub none_of: Vec<Cidr>,
}

/// Ports of one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PortMatch {
    /// Must be in one of these inclusive ranges (`None`: any).
    pub any_of: Option<Vec<(u16, u16)>>,
    /// Must be in none of these.
    pub none_of: Vec<(u16, u16)>,
}

impl PortMatch {
    /// True when no port is tested.
    pub fn is_any(&self) -> bool {
        self.any_of.is_none() && self.none_of.is_empty()
    }
}

/// Transport protocol of a translated rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// Any IP protocol.
    Any,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP (ICMPv6 for IPv6).
    Icmp,
}

/// A byte string to find in the packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentMatch {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Case-insensitive.
    pub nocase: bool,
    /// Must be absent.
    pub negated: bool,
    /// Exactly at this payload offset (`Some` only when the signature
    /// fixes the position: offset with depth equal to the length, or
    /// startswith).
    pub at: Option<u32>,
    /// Within payload bytes `[from, to)` when the signature bounds it.
    pub window: Option<(u32, u32)>,
}

/// TCP flags test: `flags & mask == bits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagsMatch {
    /// Bits compared.
    pub mask: u8,
    /// Their required values.
    pub bits: u8,
}

/// Connection tracking requirements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowMatch {
    /// Established (or not established when `Some(false)`).
    pub established: Option<bool>,
    /// Direction: `Some(true)` original (to_server), `Some(false)` reply.
    pub to_server: Option<bool>,
}

/// One signature, one family, as a firewall sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRule {
    /// Signature id.
    pub sid: u32,
    /// Generator id.
    pub gid: u32,
    /// The message (for a comment).
    pub msg: String,
    /// IPv4 or IPv6.
    pub family: Family,
    /// Protocol.
    pub proto: Proto,
    /// Source addresses.
    pub src: AddrMatch,
    /// Destination addresses.
    pub dst: AddrMatch,
    /// Source ports (TCP/UDP).
    pub sport: PortMatch,
    /// Destination ports.
    pub dport: PortMatch,
    /// TCP flags.
    pub flags: Option<FlagsMatch>,
    /// TTL / hop limit comparisons.
    pub ttl: Vec<Cmp>,
    /// TOS byte comparisons.
    pub tos: Vec<Cmp>,
    /// IP identification.
    pub ip_id: Option<u16>,
    /// Payload size comparisons (dsize).
    pub dsize: Vec<Cmp>,
    /// ICMP type comparisons.
    pub itype: Vec<Cmp>,
    /// ICMP code comparisons.
    pub icode: Vec<Cmp>,
    /// Connection tracking.
    pub flow: FlowMatch,
    /// Contents, in rule order.
    pub contents: Vec<ContentMatch>,
    /// The firewall rule matches more than the signature.
    pub loosened: bool,
}

/// Flattens an address spec into (positives or any, negatives).
fn flatten_addr(
    spec: &AddressSpec,
    negate: bool,
    pos: &mut Option<Vec<Cidr>>,
    neg: &mut Vec<Cidr>,
) -> Result<(), &'static str> {
    match (spec, negate) {
        (AddressSpec::Any, false) => Ok(()),
        (AddressSpec::Any, true) => Err("address set matches nothing"),
        (AddressSpec::Cidr(c), false) => {
            pos.get_or_insert_with(Vec::new).push(*c);
            Ok(())
        }
        (AddressSpec::Cidr(c), true) => {
            neg.push(*c);
            Ok(())
        }
        (AddressSpec::Not(inner), n) => flatten_addr(inner, !n, pos, neg),
        (AddressSpec::List(items), false) => {
            for i in items {
                flatten_addr(i, false, pos, neg)?;
            }
            Ok(())
        }
        (AddressSpec::List(items), true) => {
            let mut inner_pos = None;
            let mut inner_neg = Vec::new();
            for i in items {
                flatten_addr(i, false, &mut inner_pos, &mut inner_neg)?;
            }
            if !inner_neg.is_empty() {
                return Err("nested address negation");
            }
            match inner_pos {
                Some(p) => {
                    neg.extend(p);
                    Ok(())
                }
                None => Err("address set matches nothing"),
            }
        }
    }
}

fn flatten_ports(
    spec: &PortSpec,
    negate: bool,
    pos: &mut Option<Vec<(u16, u16)>>,
    neg: &mut Vec<(u16, u16)>,
) -> Result<(), &'static str> {
    match (spec, negate) {
        (PortSpec::Any, false) => Ok(()),
        (PortSpec::Any, true) => Err("port set matches nothing"),
        (PortSpec::Range(a, b), false) => {
            pos.get_or_insert_with(Vec::new).push((*a, *b));
            Ok(())
        }
        (PortSpec::Range(a, b), true) => {
            neg.push((*a, *b));
            Ok(())
        }
        (PortSpec::Not(inner), n) => flatten_ports(inner, !n, pos, neg),
        (PortSpec::List(items), false) => {
            for i in items {
                flatten_ports(i, false, pos, neg)?;
            }
            Ok(())
        }
        (PortSpec::List(items), true) => {
            let mut inner_pos = None;
            let mut inner_neg = Vec::new();
            for i in items {
                flatten_ports(i, false, &mut inner_pos, &mut inner_neg)?;
            }
            match (inner_pos, inner_neg.is_empty()) {
                (Some(p), true) => {
                    neg.extend(p);
                    Ok(())
                }
                _ => Err("nested port negation"),
            }
        }
    }
}

/// Keeps only the prefixes of `family`, dropping those inside another
/// (nftables refuses overlapping intervals in a set).
fn of_family(list: &[Cidr], family: Family) -> Vec<Cidr> {
    let fam: Vec<Cidr> = list
        .iter()
        .copied()
        .filter(|c| c.addr().is_ipv4() == (family == Family::V4))
        .collect();
    let mut out: Vec<Cidr> = Vec::new();
    for (i, c) in fam.iter().enumerate() {
        let covered = fam.iter().enumerate().any(|(j, o)| {
            j != i
                && o.contains(c.addr())
                && (o.prefix_len() < c.prefix_len() || (o.prefix_len() == c.prefix_len() && j < i))
        });
        if !covered {
            out.push(*c);
        }
    }
    out
}

/// The address match of one side for one family; `None` when the side
/// admits no address of that family.
fn side(spec: &AddressSpec, family: Family) -> Result<Option<AddrMatch>, &'static str> {
    let mut pos = None;
    let mut neg = Vec::new();
    flatten_addr(spec, false, &mut pos, &mut neg)?;
    let any_of = match pos {
        None => None,
        Some(p) => {
            let f = of_family(&p, family);
            if f.is_empty() {
                return Ok(None);
            }
            Some(f)
        }
    };
    Ok(Some(AddrMatch {
        any_of,
        none_of: of_family(&neg, family),
    }))
}

fn ports(spec: &PortSpec) -> Result<PortMatch, &'static str> {
    let mut pos = None;
    let mut neg = Vec::new();
    flatten_ports(spec, false, &mut pos, &mut neg)?;
    Ok(PortMatch {
        any_of: pos,
        none_of: neg,
    })
}

/// A `dns.query` content as it appears in the DNS wire format: every
/// label after a dot is preceded by its length (the part before the first
/// dot is the tail of a label, followed directly by the next length byte).
fn dns_wire(text: &[u8], endswith: bool) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 2);
    let mut parts = text.split(|b| *b == b'.');
    out.extend_from_slice(parts.next()?);
    for label in parts {
        if label.is_empty() || label.len() > 63 {
            return None;
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    if endswith {
        out.push(0);
    }
    (!out.is_empty()).then_some(out)
}

fn lit(v: &Option<Value>) -> Result<Option<u32>, &'static str> {
    match v {
        None => Ok(None),
        Some(Value::Num(n)) => u32::try_from(*n)
            .map(Some)
            .map_err(|_| "content offset out of range"),
        Some(Value::Var(_)) => Err("content position from byte_extract"),
    }
}

/// Reduces `rule` to per-family firewall rules, or says why it cannot be.
pub fn kernel_rules(rule: &Rule) -> Result<Vec<KernelRule>, &'static str> {
    let h = &rule.header;
    if rule.noalert {
        return Err("noalert (flowbits setter)");
    }
    if rule
        .flowbits
        .iter()
        .any(|f| matches!(f.op, BitOp::IsSet | BitOp::IsNotSet))
    {
        return Err("flowbits isset/isnotset (needs state across packets)");
    }
    if !rule.xbits.is_empty() {
        return Err("xbits");
    }
    if rule.detection_filter.is_some() {
        return Err("detection_filter (counts matches)");
    }
    let mut loosened = false;
    let proto = match h.protocol {
        Protocol::Ip => Proto::Any,
        Protocol::Tcp | Protocol::TcpPkt | Protocol::TcpStream => Proto::Tcp,
        Protocol::Udp => Proto::Udp,
        Protocol::Icmp => Proto::Icmp,
        Protocol::App(tripline_rules::AppProto::Http | tripline_rules::AppProto::Tls) => Proto::Tcp,
        Protocol::App(tripline_rules::AppProto::Dns) => Proto::Udp,
    };
    let mut base = KernelRule {
        sid: rule.sid,
        gid: rule.gid,
        msg: rule.msg.clone(),
        family: Family::V4,
        proto,
        src: AddrMatch::default(),
        dst: AddrMatch::default(),
        sport: ports(&h.src_ports)?,
        dport: ports(&h.dst_ports)?,
        flags: None,
        ttl: Vec::new(),
        tos: Vec::new(),
        ip_id: None,
        dsize: Vec::new(),
        itype: Vec::new(),
        icode: Vec::new(),
        flow: FlowMatch::default(),
        contents: Vec::new(),
        loosened: false,
    };
    let has_ports = matches!(proto, Proto::Tcp | Proto::Udp);
    let any_port = base.sport.is_any() && base.dport.is_any();
    if !has_ports && !any_port {
        return Err("ports on a protocol without ports");
    }
    for t in &rule.header_tests {
        match t {
            HeaderTest::Dsize(c) => base.dsize.push(*c),
            HeaderTest::Ttl(c) => base.ttl.push(*c),
            HeaderTest::Tos(c) => base.tos.push(*c),
            HeaderTest::Id(id) => base.ip_id = Some(*id),
            HeaderTest::Itype(c) => base.itype.push(*c),
            HeaderTest::Icode(c) => base.icode.push(*c),
            HeaderTest::Flags { bits, mode, mask } => {
                if proto != Proto::Tcp {
                    return Err("flags on a non-TCP rule");
                }
                let keep = !mask;
                base.flags = Some(match mode {
                    BitsMode::Exact => FlagsMatch {
                        mask: keep,
                        bits: *bits & keep,
                    },
                    BitsMode::All => FlagsMatch {
                        mask: *bits,
                        bits: *bits,
                    },
                    BitsMode::Not => FlagsMatch {
                        mask: *bits,
                        bits: 0,
                    },
                    BitsMode::Any => return Err("flags:* (any of several flags)"),
                });
            }
            HeaderTest::Ipopts(_) => return Err("ipopts"),
            HeaderTest::Fragbits { .. } => return Err("fragbits"),
            HeaderTest::SameIp => return Err("sameip"),
            HeaderTest::IpProto(_) => return Err("ip_proto"),
            HeaderTest::IcmpId(_) | HeaderTest::IcmpSeq(_) => return Err("icmp_id/icmp_seq"),
            HeaderTest::StreamSize { .. } => return Err("stream_size (needs stream state)"),
        }
    }
    if (!base.itype.is_empty() || !base.icode.is_empty()) && proto != Proto::Icmp {
        return Err("itype/icode on a non-ICMP rule");
    }
    let f = &rule.flow;
    if f.only_frag {
        return Err("flow:only_frag");
    }
    if f.established {
        base.flow.established = Some(true);
    } else if f.not_established {
        base.flow.established = Some(false);
    }
    if f.to_server {
        base.flow.to_server = Some(true);
    } else if f.to_client {
        base.flow.to_server = Some(false);
    }
    let mut prev_pos: Option<u32> = None;
    for d in &rule.detections {
        let c = match d {
            Detection::Content(c) => c,
            Detection::Pcre(_) => return Err("pcre"),
            Detection::ByteTest(_) => return Err("byte_test"),
            Detection::ByteJump(_) => return Err("byte_jump"),
            Detection::ByteExtract(_) => return Err("byte_extract"),
            // Length and presence tests on application buffers are left
            // out: the firewall rule then matches more.
            Detection::IsDataAt(_) | Detection::Bsize { .. } | Detection::Urilen { .. } => {
                loosened = true;
                continue;
            }
        };
        let dns = c.buffer == Buffer::DnsQuery;
        let mut nocase = c.nocase;
        for t in &c.transforms {
            match t {
                // The content is written lower case: a case-insensitive
                // search finds what the lowered buffer would.
                Transform::ToLowercase => nocase = true,
                // dns.query keeps the dot as a label boundary; elsewhere
                // the name is searched without it (matches more).
                Transform::DotPrefix => loosened |= !dns,
                _ => return Err("content transform"),
            }
        }
        let bytes = if dns {
            let mut text = c.pattern.clone();
            if c.transforms.contains(&Transform::DotPrefix) && text.first() != Some(&b'.') {
                text.insert(0, b'.');
            }
            // A trailing dot: the next label's length is unknown, so the
            // search stops before it.
            if text.last() == Some(&b'.') {
                text.pop();
                loosened = true;
            }
            loosened |= c.is_relative() || c.offset.is_some() || c.depth.is_some();
            dns_wire(&text, c.endswith).ok_or("dns.query content with an empty label")?
        } else {
            let p = &c.pattern;
            match p.first() {
                Some(b'.') if c.transforms.contains(&Transform::DotPrefix) && p.len() > 1 => {
                    p[1..].to_vec()
                }
                _ => p.clone(),
            }
        };
        if bytes.is_empty() {
            return Err("empty content");
        }
        let (at, window) = match c.buffer {
            Buffer::Packet => {
                let offset = lit(&c.offset)?;
                let depth = lit(&c.depth)?;
                if c.is_relative() {
                    // Position relative to the previous match: searched
                    // after the previous fixed position if there is one.
                    loosened = true;
                    lit(&c.distance)?;
                    lit(&c.within)?;
                    (None, prev_pos.map(|p| (p, u32::MAX)))
                } else if c.startswith {
                    (Some(0), None)
                } else {
                    let len = bytes.len() as u32;
                    let off = offset.unwrap_or(0);
                    match depth {
                        Some(d) if d == len => (Some(off), None),
                        Some(d) => (None, Some((off, off.saturating_add(d.max(len))))),
                        None if off > 0 => (None, Some((off, u32::MAX))),
                        None => (None, None),
                    }
                }
            }
            Buffer::DnsQuery | Buffer::TlsSni => (None, None),
            // HTTP buffers are searched as raw bytes: the request line and
            // headers appear verbatim (normalization aside), bodies when
            // not chunked or compressed; either way an approximation.
            _ => {
                loosened = true;
                (None, None)
            }
        };
        if c.endswith && c.buffer == Buffer::Packet {
            loosened = true;
        }
        prev_pos = at.map(|a| a + bytes.len() as u32).or(prev_pos);
        base.contents.push(ContentMatch {
            bytes,
            nocase,
            negated: c.negated,
            at,
            window,
        });
    }
    base.loosened = loosened;
    let mut out = Vec::new();
    let both = h.direction == tripline_rules::FlowDirection::Both;
    for family in [Family::V4, Family::V6] {
        let (Some(src), Some(dst)) = (side(&h.src, family)?, side(&h.dst, family)?) else {
            continue;
        };
        let mut r = base.clone();
        r.family = family;
        r.src = src;
        r.dst = dst;
        if both {
            let mut rev = r.clone();
            std::mem::swap(&mut rev.src, &mut rev.dst);
            std::mem::swap(&mut rev.sport, &mut rev.dport);
            rev.flow.to_server = rev.flow.to_server.map(|t| !t);
            out.push(r);
            out.push(rev);
        } else {
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err("address sets match no address");
    }
    Ok(out)
}

/// Integer bounds `[lo, hi]` a comparison allows within `0..=max`, or
/// `None` for `!=` (not one interval).
pub fn cmp_bounds(c: Cmp, max: u64) -> Option<(u64, u64)> {
    Some(match c {
        Cmp::Eq(n) => (n, n),
        Cmp::Ne(_) => return None,
        Cmp::Lt(n) => (0, n.checked_sub(1)?),
        Cmp::Gt(n) => (n.checked_add(1)?, max),
        Cmp::Le(n) => (0, n),
        Cmp::Ge(n) => (n, max),
        Cmp::Between(a, b) => (a + 1, b.checked_sub(1)?),
    })
    .filter(|(lo, hi)| lo <= hi && *lo <= max)
    .map(|(lo, hi)| (lo, hi.min(max)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_rules::{Variables, parse_rule};

    fn rule(text: &str) -> Rule {
        let mut v = Variables::empty();
        v.set_address("HOME_NET", "[10.0.0.0/8,fd00::/8]");
        v.set_address("EXTERNAL_NET", "!$HOME_NET");
        parse_rule(text, &v).unwrap()
    }

    #[test]
    fn dns_names_become_wire_labels() {
        assert_eq!(
            dns_wire(b".duckdns.org", true).unwrap(),
            b"\x07duckdns\x03org\x00"
        );
        assert_eq!(
            dns_wire(b"evil.example", false).unwrap(),
            b"evil\x07example"
        );
        assert!(dns_wire(b"a..b", false).is_none());
    }

    #[test]
    fn external_net_splits_by_family_and_content_positions() {
        let r = rule(
            "alert tcp $EXTERNAL_NET any -> $HOME_NET [80,8080] (msg:\"m\"; flow:established,to_server; \
             content:\"GET\"; offset:0; depth:3; content:\"x\"; distance:0; sid:7; rev:1;)",
        );
        let krs = kernel_rules(&r).unwrap();
        assert_eq!(krs.len(), 2);
        let v4 = &krs[0];
        assert_eq!(v4.family, Family::V4);
        assert_eq!(v4.src.any_of, None);
        assert_eq!(v4.src.none_of, vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(v4.dst.any_of, Some(vec!["10.0.0.0/8".parse().unwrap()]));
        assert_eq!(v4.dport.any_of, Some(vec![(80, 80), (8080, 8080)]));
        assert_eq!(v4.contents[0].at, Some(0));
        assert_eq!(v4.contents[1].window, Some((3, u32::MAX)));
        assert!(v4.loosened, "distance is dropped");
        assert_eq!(krs[1].family, Family::V6);
        let p = rule("alert tcp any any -> any any (msg:\"m\"; pcre:\"/a/\"; sid:8; rev:1;)");
        assert_eq!(kernel_rules(&p), Err("pcre"));
    }

    #[test]
    fn bounds_of_comparisons() {
        assert_eq!(cmp_bounds(Cmp::Lt(5), 255), Some((0, 4)));
        assert_eq!(cmp_bounds(Cmp::Between(1, 3), 255), Some((2, 2)));
        assert_eq!(cmp_bounds(Cmp::Lt(0), 255), None);
        assert_eq!(cmp_bounds(Cmp::Ne(3), 255), None);
        assert_eq!(cmp_bounds(Cmp::Gt(300), 255), None);
    }
}
