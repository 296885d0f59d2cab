//! Renders [`KernelRule`]s as an `iptables-restore` script (IPv4, filter
//! table, chain `TRIPLINE_RULES`).
//!
//! Contents become `-m string --algo bm` matches (`--hex-string` when the
//! bytes are not plain text, `--icase` for nocase). The string match counts
//! offsets from the IP header, whose size (and the TCP header's) varies, so
//! an offset/depth becomes a `--from`/`--to` window widened by the header
//! sizes: such a rule is marked loosened. A rule that must drop, or that
//! excludes several addresses, gets a chain of its own (`TLR_<sid>...`):
//! the exclusions `RETURN`, then `LOG` and `DROP`.

use super::model::{AddrMatch, Family, KernelRule, PortMatch, Proto, cmp_bounds};
use super::nft::log_prefix;
use std::fmt::Write as _;
use tripline_rules::options::Cmp;

/// The chain translated rules live in (jump to it from INPUT/FORWARD).
pub const IPTABLES_RULES_CHAIN: &str = "TRIPLINE_RULES";

/// Longest pattern the kernel's string match takes.
const MAX_STRING: usize = 128;

/// One translated rule: chain declarations and `-A` lines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Chains this rule needs declared (besides `TRIPLINE_RULES`).
    pub chains: Vec<String>,
    /// The `-A` lines.
    pub lines: Vec<String>,
    /// The translation matches more than the signature.
    pub loosened: bool,
}

fn cidrs(l: &[tripline_core::Cidr]) -> String {
    l.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn ports(l: &[(u16, u16)]) -> String {
    l.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}:{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn port_match(m: &mut String, dir: &str, p: &PortMatch) -> Result<(), &'static str> {
    let weight = |l: &[(u16, u16)]| {
        l.iter()
            .map(|(a, b)| if a == b { 1 } else { 2 })
            .sum::<usize>()
    };
    if let Some(pos) = &p.any_of {
        if weight(pos) > 15 {
            return Err("port list longer than multiport takes (15)");
        }
        let _ = write!(m, " -m multiport --{dir}s {}", ports(pos));
    }
    if !p.none_of.is_empty() {
        if weight(&p.none_of) > 15 {
            return Err("port list longer than multiport takes (15)");
        }
        let _ = write!(m, " -m multiport ! --{dir}s {}", ports(&p.none_of));
    }
    Ok(())
}

/// The u32 range text for `c` within `0..=max`, shifted by `add`.
fn u32_range(c: Cmp, max: u64, add: u64) -> Result<String, &'static str> {
    match cmp_bounds(c, max) {
        Some((lo, hi)) => Ok(format!("{}:{}", lo + add, hi + add)),
        None => Err("!= comparison (iptables u32 tests ranges)"),
    }
}

fn flag_names(bits: u8) -> String {
    let names = [
        (0x01, "FIN"),
        (0x02, "SYN"),
        (0x04, "RST"),
        (0x08, "PSH"),
        (0x10, "ACK"),
        (0x20, "URG"),
    ];
    let v: Vec<&str> = names
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, n)| *n)
        .collect();
    if v.is_empty() {
        "NONE".into()
    } else {
        v.join(",")
    }
}

fn printable(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || b" ._/:=?&%+~,;@-()[]{}<>*!#$^'".contains(b))
}

/// The `--string`/`--hex-string` argument: plain when every byte is
/// plain text, else text with `|hex|` runs. iptables refuses an argument of
/// 128 characters or more (before decoding the hex), whence the error.
fn string_arg(bytes: &[u8]) -> Result<String, &'static str> {
    let arg = if printable(bytes) {
        format!("--string \"{}\"", String::from_utf8_lossy(bytes))
    } else {
        let mut s = String::from("--hex-string \"");
        let mut in_hex = false;
        for b in bytes {
            let plain = b.is_ascii_alphanumeric() || b"._/:=?&%+~,;@-".contains(b);
            if plain == in_hex {
                s.push('|');
                in_hex = !in_hex;
            }
            if plain {
                s.push(*b as char);
            } else {
                let _ = write!(s, "{b:02x}");
            }
        }
        if in_hex {
            s.push('|');
        }
        s.push('"');
        s
    };
    let inner = arg.len() - arg.find('"').unwrap_or(0) - 2;
    if inner >= MAX_STRING {
        return Err("content too long for the iptables string match (127 characters)");
    }
    Ok(arg)
}

/// Renders `r`; `index` tells apart several rules of one sid.
pub fn render(r: &KernelRule, drop: bool, index: usize) -> Result<Rendered, &'static str> {
    if r.family == Family::V6 {
        return Err("IPv6 addresses (iptables is IPv4; use --to nft)");
    }
    let mut loosened = r.loosened;
    let mut m = String::new();
    match r.proto {
        Proto::Any => {}
        Proto::Tcp => m.push_str(" -p tcp"),
        Proto::Udp => m.push_str(" -p udp"),
        Proto::Icmp => m.push_str(" -p icmp"),
    }
    let side = |m: &mut String, flag: &str, a: &AddrMatch| {
        if let Some(p) = &a.any_of {
            let _ = write!(m, " {flag} {}", cidrs(p));
        }
        if a.none_of.len() == 1 {
            let _ = write!(m, " ! {flag} {}", a.none_of[0]);
        }
    };
    side(&mut m, "-s", &r.src);
    side(&mut m, "-d", &r.dst);
    if matches!(r.proto, Proto::Tcp | Proto::Udp) {
        port_match(&mut m, "sport", &r.sport)?;
        port_match(&mut m, "dport", &r.dport)?;
    }
    if let Some(f) = r.flags {
        // iptables knows only the six classic flags; ECE/CWR are left out.
        if f.mask & 0xC0 != 0 {
            loosened = true;
        }
        let _ = write!(
            m,
            " -m tcp --tcp-flags {} {}",
            flag_names(f.mask & 0x3F),
            flag_names(f.bits & 0x3F)
        );
    }
    for c in &r.ttl {
        match *c {
            Cmp::Eq(n) => {
                let _ = write!(m, " -m ttl --ttl-eq {n}");
            }
            Cmp::Ne(n) => {
                let _ = write!(m, " -m ttl ! --ttl-eq {n}");
            }
            c => {
                let (lo, hi) = cmp_bounds(c, 255).ok_or("ttl comparison that matches nothing")?;
                if lo > 0 {
                    let _ = write!(m, " -m ttl --ttl-gt {}", lo - 1);
                }
                if hi < 255 {
                    let _ = write!(m, " -m ttl --ttl-lt {}", hi + 1);
                }
            }
        }
    }
    for c in &r.tos {
        match *c {
            Cmp::Ne(n) => {
                let _ = write!(m, " -m tos ! --tos 0x{n:02x}/0xff");
            }
            c => {
                let _ = write!(m, " -m u32 --u32 \"0>>16&0xFF={}\"", u32_range(c, 255, 0)?);
            }
        }
    }
    if let Some(id) = r.ip_id {
        let _ = write!(m, " -m u32 --u32 \"4>>16={id}\"");
    }
    for c in &r.dsize {
        match r.proto {
            // The UDP length field is the payload length + 8: exact.
            Proto::Udp => {
                let _ = write!(
                    m,
                    " -m u32 --u32 \"0>>22&0x3C@4>>16={}\"",
                    u32_range(*c, 65_507, 8)?
                );
            }
            // TCP/ICMP: the IP total length, widened by the header sizes.
            _ => {
                let (lo, hi) =
                    cmp_bounds(*c, 65_495).ok_or("dsize != (iptables length tests ranges)")?;
                let (hmin, hmax) = if r.proto == Proto::Tcp {
                    (40, 120)
                } else {
                    (28, 68)
                };
                let _ = write!(
                    m,
                    " -m length --length {}:{}",
                    lo + hmin,
                    (hi + hmax).min(65_535)
                );
                loosened = true;
            }
        }
    }
    for c in &r.itype {
        let _ = write!(
            m,
            " -m u32 --u32 \"0>>22&0x3C@0>>24={}\"",
            u32_range(*c, 255, 0)?
        );
    }
    for c in &r.icode {
        let _ = write!(
            m,
            " -m u32 --u32 \"0>>22&0x3C@0>>16&0xFF={}\"",
            u32_range(*c, 255, 0)?
        );
    }
    match (r.flow.established, r.flow.to_server) {
        (None, None) => {}
        (e, d) => {
            m.push_str(" -m conntrack");
            match e {
                Some(true) => m.push_str(" --ctstate ESTABLISHED"),
                Some(false) => m.push_str(" ! --ctstate ESTABLISHED"),
                None => {}
            }
            match d {
                Some(true) => m.push_str(" --ctdir ORIGINAL"),
                Some(false) => m.push_str(" --ctdir REPLY"),
                None => {}
            }
        }
    }
    let (hmin, hmax) = match r.proto {
        Proto::Tcp => (40u64, 120u64),
        Proto::Udp => (28, 68),
        _ => (20, 68),
    };
    for c in &r.contents {
        if c.bytes.len() > MAX_STRING {
            return Err("content longer than 128 bytes (string match limit)");
        }
        m.push_str(" -m string --algo bm");
        let win = match (c.at, c.window) {
            (Some(at), _) => Some((u64::from(at), u64::from(at) + c.bytes.len() as u64)),
            (None, Some((a, b))) => Some((u64::from(a), u64::from(b))),
            (None, None) => None,
        };
        if let Some((a, b)) = win {
            loosened = true;
            let _ = write!(m, " --from {}", (a + hmin).min(65_535));
            if b < u64::from(u32::MAX) {
                let _ = write!(m, " --to {}", (b + hmax).min(65_535));
            }
        }
        if c.nocase {
            m.push_str(" --icase");
        }
        let _ = write!(
            m,
            " {}{}",
            if c.negated { "! " } else { "" },
            string_arg(&c.bytes)?
        );
    }
    let prefix = log_prefix(r.gid, r.sid);
    let log = format!("-j LOG --log-prefix \"{prefix}\" --log-level info");
    let many_neg = r.src.none_of.len() > 1 || r.dst.none_of.len() > 1;
    let mut out = Rendered {
        loosened,
        ..Rendered::default()
    };
    if !drop && !many_neg {
        out.lines
            .push(format!("-A {IPTABLES_RULES_CHAIN}{m} {log}"));
        return Ok(out);
    }
    let chain = format!("TLR_{}_{}_{index}", r.gid, r.sid);
    out.lines
        .push(format!("-A {IPTABLES_RULES_CHAIN}{m} -j {chain}"));
    for (flag, a) in [("-s", &r.src), ("-d", &r.dst)] {
        if a.none_of.len() > 1 {
            for c in &a.none_of {
                out.lines.push(format!("-A {chain} {flag} {c} -j RETURN"));
            }
        }
    }
    out.lines.push(format!("-A {chain} {log}"));
    if drop {
        out.lines.push(format!("-A {chain} -j DROP"));
    }
    out.chains.push(chain);
    Ok(out)
}
