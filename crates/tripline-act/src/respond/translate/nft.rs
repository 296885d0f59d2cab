//! Renders [`KernelRule`]s as nftables rules in table `inet tripline_rules`.
//!
//! nftables has no string match: a content is expressible only at a fixed
//! payload offset, as raw payload comparisons on the inner header (`@ih`,
//! the transport payload), at most 16 bytes per comparison.

use super::model::{AddrMatch, Family, KernelRule, PortMatch, Proto, cmp_bounds};
use std::fmt::Write as _;
use tripline_rules::options::Cmp;

/// The table translated rules load into.
pub const NFT_RULES_TABLE: &str = "tripline_rules";

/// The script prologue: table, hooked chains and the `sigs` chain, emptied.
pub fn prologue() -> String {
    format!(
        "add table inet {t}\n\
         flush table inet {t}\n\
         add chain inet {t} input {{ type filter hook input priority filter - 5; policy accept; }}\n\
         add chain inet {t} forward {{ type filter hook forward priority filter - 5; policy accept; }}\n\
         add chain inet {t} sigs\n\
         add rule inet {t} input jump sigs\n\
         add rule inet {t} forward jump sigs\n",
        t = NFT_RULES_TABLE
    )
}

fn cmp(c: Cmp, max: u64) -> Result<String, &'static str> {
    if let Cmp::Ne(n) = c {
        return Ok(format!("!= {n}"));
    }
    match cmp_bounds(c, max) {
        Some((lo, hi)) if lo == hi => Ok(lo.to_string()),
        Some((lo, hi)) => Ok(format!("{lo}-{hi}")),
        None => Err("comparison that matches nothing"),
    }
}

fn addr(out: &mut String, fam: &str, dir: &str, m: &AddrMatch) {
    let set = |l: &[tripline_core::Cidr]| {
        l.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(p) = &m.any_of {
        let _ = write!(out, " {fam} {dir} {{ {} }}", set(p));
    }
    if !m.none_of.is_empty() {
        let _ = write!(out, " {fam} {dir} != {{ {} }}", set(&m.none_of));
    }
}

fn port(out: &mut String, proto: &str, dir: &str, m: &PortMatch) {
    let set = |l: &[(u16, u16)]| {
        l.iter()
            .map(|(a, b)| {
                if a == b {
                    a.to_string()
                } else {
                    format!("{a}-{b}")
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(p) = &m.any_of {
        let _ = write!(out, " {proto} {dir} {{ {} }}", set(p));
    }
    if !m.none_of.is_empty() {
        let _ = write!(out, " {proto} {dir} != {{ {} }}", set(&m.none_of));
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(2 + bytes.len() * 2);
    s.push_str("0x");
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A comment text nft accepts: no quotes or backslashes, at most 120 bytes.
pub fn comment(text: &str) -> String {
    let mut s: String = text
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '\''
            } else {
                c
            }
        })
        .collect();
    if s.len() > 120 {
        let mut cut = 120;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

/// The log prefix naming the signature: `tripline sid:N ` (gid shown when
/// not 1), well under the 127-byte nftables and 29-byte iptables limits.
pub fn log_prefix(gid: u32, sid: u32) -> String {
    if gid == 1 {
        format!("tripline sid:{sid} ")
    } else {
        format!("tripline {gid}:{sid} ")
    }
}

/// One `add rule` line for `r`, or why nftables cannot express it.
pub fn render(r: &KernelRule, drop: bool) -> Result<String, &'static str> {
    let v4 = r.family == Family::V4;
    let (fam, l4) = if v4 {
        ("ip", "icmp")
    } else {
        ("ip6", "ipv6-icmp")
    };
    let mut m = String::new();
    let _ = write!(m, " meta nfproto {}", if v4 { "ipv4" } else { "ipv6" });
    let proto_word = match r.proto {
        Proto::Any => None,
        Proto::Tcp => Some("tcp"),
        Proto::Udp => Some("udp"),
        Proto::Icmp => Some(l4),
    };
    if let Some(p) = proto_word {
        let _ = write!(m, " meta l4proto {p}");
    }
    addr(&mut m, fam, "saddr", &r.src);
    addr(&mut m, fam, "daddr", &r.dst);
    if let Some(p @ ("tcp" | "udp")) = proto_word {
        port(&mut m, p, "sport", &r.sport);
        port(&mut m, p, "dport", &r.dport);
    }
    if let Some(f) = r.flags {
        let _ = write!(m, " tcp flags & 0x{:02x} == 0x{:02x}", f.mask, f.bits);
    }
    for c in &r.ttl {
        let _ = write!(
            m,
            " {} {}",
            if v4 { "ip ttl" } else { "ip6 hoplimit" },
            cmp(*c, 255)?
        );
    }
    for c in &r.tos {
        let field = if v4 { "@nh,8,8" } else { "@nh,4,8" };
        let _ = write!(m, " {field} {}", cmp(*c, 255)?);
    }
    if let Some(id) = r.ip_id {
        if !v4 {
            return Err("id on IPv6");
        }
        let _ = write!(m, " ip id {id}");
    }
    for c in &r.dsize {
        if r.proto != Proto::Udp {
            return Err("dsize on TCP/ICMP (nftables cannot compute the payload length)");
        }
        let shifted = match *c {
            Cmp::Eq(n) => Cmp::Eq(n + 8),
            Cmp::Ne(n) => Cmp::Ne(n + 8),
            Cmp::Lt(n) => Cmp::Lt(n + 8),
            Cmp::Gt(n) => Cmp::Gt(n + 8),
            Cmp::Le(n) => Cmp::Le(n + 8),
            Cmp::Ge(n) => Cmp::Ge(n + 8),
            Cmp::Between(a, b) => Cmp::Between(a + 8, b + 8),
        };
        let _ = write!(m, " udp length {}", cmp(shifted, 65535)?);
    }
    let icmp = if v4 { "icmp" } else { "icmpv6" };
    for c in &r.itype {
        let _ = write!(m, " {icmp} type {}", cmp(*c, 255)?);
    }
    for c in &r.icode {
        let _ = write!(m, " {icmp} code {}", cmp(*c, 255)?);
    }
    match r.flow.established {
        Some(true) => m.push_str(" ct state established"),
        Some(false) => m.push_str(" ct state != established"),
        None => {}
    }
    match r.flow.to_server {
        Some(true) => m.push_str(" ct direction original"),
        Some(false) => m.push_str(" ct direction reply"),
        None => {}
    }
    if !r.contents.is_empty() && !matches!(r.proto, Proto::Tcp | Proto::Udp) {
        return Err(
            "content on a non-TCP/UDP rule (nftables finds the payload only behind TCP and UDP)",
        );
    }
    for c in &r.contents {
        let Some(at) = c.at else {
            return Err("content not at a fixed offset (nftables has no string match)");
        };
        if c.nocase && c.bytes.iter().any(u8::is_ascii_alphabetic) {
            return Err("nocase content (nftables compares exact bytes)");
        }
        if c.negated && c.bytes.len() > 16 {
            return Err("negated content longer than 16 bytes");
        }
        for (i, chunk) in c.bytes.chunks(16).enumerate() {
            let bit = (u64::from(at) + 16 * i as u64) * 8;
            let op = if c.negated { "!= " } else { "" };
            let _ = write!(m, " @ih,{bit},{} {op}{}", chunk.len() * 8, hex(chunk));
        }
    }
    Ok(format!(
        "add rule inet {NFT_RULES_TABLE} sigs{m} counter log prefix \"{}\"{} comment \"{}\"\n",
        log_prefix(r.gid, r.sid),
        if drop { " drop" } else { "" },
        comment(&format!("sid {} {}", r.sid, r.msg))
    ))
}
