//! The allow list: which connections are fine and are not reported.
//!
//! A rule names what it requires; every field it leaves out matches
//! anything. In TOML (`[[connwatch.allow]]`):
//!
//! ```toml
//! [[connwatch.allow]]
//! ours = "192.168.1.0/24"     # our address or prefix
//! our_port = 0                # absent (or 0) = any
//! theirs = "2001:db8::/32"    # their address or prefix
//! their_port = 443            # ICMP: the ICMP type
//! domain = "*.example.com"    # exact name, `*.suffix` (the suffix and every name under it), or `*`
//! proto = "tcp"               # tcp, udp, icmp (ICMP and ICMPv6) or any
//! direction = "out"           # in (they called us), out (we called them) or any
//! note = "why this is fine"
//! ```
//!
//! A rule is judged against one connection at a time, with the DNS name
//! that connection itself carries (its asked name and every link of the
//! CNAME chain). So an allowed connection never makes the connections it
//! causes allowed: a page allowed on 443 still shows its trackers and CDNs,
//! which were looked up under their own names. A rule with a `domain` other
//! than `*` never matches a "direct" connection (one with no name).

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Arc;
use tripline_core::{Cidr, Direction, ip_proto};

/// A domain pattern: exact, `*.suffix`, or `*`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum DomainPattern {
    /// `*`: any name, and no name.
    #[default]
    Any,
    /// One name (lower case, no trailing dot).
    Exact(String),
    /// `*.example.com`: `example.com` and every name under it; holds
    /// `example.com`.
    Suffix(String),
}

/// Why a domain pattern did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainPatternError(pub String);

impl fmt::Display for DomainPatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid domain pattern {:?} (expected a name, `*.example.com` or `*`)",
            self.0
        )
    }
}

impl std::error::Error for DomainPatternError {}

impl FromStr for DomainPattern {
    type Err = DomainPatternError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t.strip_suffix('.').unwrap_or(t).to_ascii_lowercase();
        let bad = |n: &str| {
            n.is_empty()
                || n.len() > 253
                || n.contains('*')
                || n.starts_with('.')
                || n.contains("..")
                || n.bytes()
                    .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        };
        if t == "*" {
            Ok(DomainPattern::Any)
        } else if let Some(rest) = t.strip_prefix("*.") {
            if bad(rest) {
                return Err(DomainPatternError(s.to_string()));
            }
            Ok(DomainPattern::Suffix(rest.to_string()))
        } else if bad(&t) {
            Err(DomainPatternError(s.to_string()))
        } else {
            Ok(DomainPattern::Exact(t))
        }
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DomainPattern::Any => f.write_str("*"),
            DomainPattern::Exact(n) => f.write_str(n),
            DomainPattern::Suffix(n) => write!(f, "*.{n}"),
        }
    }
}

impl<'de> Deserialize<'de> for DomainPattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl DomainPattern {
    /// True when `name` (any case, trailing dot allowed) matches.
    pub fn matches(&self, name: &str) -> bool {
        let n = name.trim_end_matches('.');
        match self {
            DomainPattern::Any => true,
            DomainPattern::Exact(e) => n.eq_ignore_ascii_case(e),
            DomainPattern::Suffix(s) => {
                n.eq_ignore_ascii_case(s)
                    || (n.len() > s.len()
                        && n.as_bytes()[n.len() - s.len() - 1] == b'.'
                        && n[n.len() - s.len()..].eq_ignore_ascii_case(s))
            }
        }
    }

    /// True when a connection with this name (or none) matches.
    pub fn matches_opt(&self, name: Option<&str>) -> bool {
        match name {
            None => *self == DomainPattern::Any,
            Some(n) => self.matches(n),
        }
    }
}

/// The protocol a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtoMatch {
    /// Any protocol.
    #[default]
    Any,
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP or ICMPv6; the port fields are the ICMP type.
    Icmp,
}

impl ProtoMatch {
    /// True when the IP protocol number matches.
    pub fn matches(self, protocol: u8) -> bool {
        match self {
            ProtoMatch::Any => true,
            ProtoMatch::Tcp => protocol == ip_proto::TCP,
            ProtoMatch::Udp => protocol == ip_proto::UDP,
            ProtoMatch::Icmp => protocol == ip_proto::ICMP || protocol == ip_proto::ICMPV6,
        }
    }

    /// The TOML word.
    pub fn as_str(self) -> &'static str {
        match self {
            ProtoMatch::Any => "any",
            ProtoMatch::Tcp => "tcp",
            ProtoMatch::Udp => "udp",
            ProtoMatch::Icmp => "icmp",
        }
    }
}

/// Which way a rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DirectionMatch {
    /// Both ways.
    #[default]
    Any,
    /// They called us.
    In,
    /// We called them.
    Out,
}

impl DirectionMatch {
    /// The TOML word.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectionMatch::Any => "any",
            DirectionMatch::In => "in",
            DirectionMatch::Out => "out",
        }
    }
}

/// A connection as the allow list sees it: "our" side is the home address.
#[derive(Clone, Copy, Debug)]
pub struct ConnFacts<'a> {
    /// [`Direction::Inbound`] or [`Direction::Outbound`].
    pub direction: Direction,
    /// Our (home) address.
    pub ours: IpAddr,
    /// Our port (ICMP: the type).
    pub our_port: u16,
    /// Their address.
    pub theirs: IpAddr,
    /// Their port (ICMP: the type).
    pub their_port: u16,
    /// IP protocol number.
    pub protocol: u8,
    /// The DNS name the connection carries, if any.
    pub name: Option<&'a str>,
    /// The CNAME chain behind the name (empty when direct).
    pub chain: &'a [Arc<str>],
}

/// One allow rule; absent fields match anything.
#[derive(Clone, Debug, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowRule {
    /// Our address or prefix.
    #[serde(default)]
    pub ours: Option<Cidr>,
    /// Our port (0 = any; ICMP: type).
    #[serde(default)]
    pub our_port: Option<u16>,
    /// Their address or prefix.
    #[serde(default)]
    pub theirs: Option<Cidr>,
    /// Their port (0 = any; ICMP: type).
    #[serde(default)]
    pub their_port: Option<u16>,
    /// Domain pattern (default `*`).
    #[serde(default)]
    pub domain: DomainPattern,
    /// Protocol (default any).
    #[serde(default)]
    pub proto: ProtoMatch,
    /// Direction (default any).
    #[serde(default)]
    pub direction: DirectionMatch,
    /// Free text: why this is allowed.
    #[serde(default)]
    pub note: Option<String>,
}

fn port_ok(rule: Option<u16>, port: u16) -> bool {
    rule.is_none_or(|p| p == 0 || p == port)
}

impl AllowRule {
    /// True when the rule allows the connection.
    pub fn matches(&self, c: &ConnFacts<'_>) -> bool {
        let dir_ok = match self.direction {
            DirectionMatch::Any => true,
            DirectionMatch::In => c.direction == Direction::Inbound,
            DirectionMatch::Out => c.direction == Direction::Outbound,
        };
        dir_ok
            && self.proto.matches(c.protocol)
            && port_ok(self.their_port, c.their_port)
            && port_ok(self.our_port, c.our_port)
            && self.theirs.is_none_or(|n| n.contains(c.theirs))
            && self.ours.is_none_or(|n| n.contains(c.ours))
            && (self.domain.matches_opt(c.name)
                || (c.name.is_some() && c.chain.iter().any(|l| self.domain.matches(l))))
    }

    /// The rule as one TOML `[[connwatch.allow]]` table (fields at their
    /// default are left out).
    pub fn to_toml(&self) -> String {
        let mut s = String::from("[[connwatch.allow]]\n");
        if let Some(n) = &self.note {
            s.push_str(&format!("note = {}\n", toml_string(n)));
        }
        if let Some(c) = self.ours {
            s.push_str(&format!("ours = \"{c}\"\n"));
        }
        if let Some(p) = self.our_port.filter(|p| *p != 0) {
            s.push_str(&format!("our_port = {p}\n"));
        }
        if let Some(c) = self.theirs {
            s.push_str(&format!("theirs = \"{c}\"\n"));
        }
        if let Some(p) = self.their_port.filter(|p| *p != 0) {
            s.push_str(&format!("their_port = {p}\n"));
        }
        if self.domain != DomainPattern::Any {
            s.push_str(&format!(
                "domain = {}\n",
                toml_string(&self.domain.to_string())
            ));
        }
        if self.proto != ProtoMatch::Any {
            s.push_str(&format!("proto = \"{}\"\n", self.proto.as_str()));
        }
        if self.direction != DirectionMatch::Any {
            s.push_str(&format!("direction = \"{}\"\n", self.direction.as_str()));
        }
        s
    }
}

/// A TOML basic string with the escapes TOML requires.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The rules, checked in order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AllowList {
    rules: Vec<AllowRule>,
}

impl AllowList {
    /// From rules.
    pub fn new(rules: Vec<AllowRule>) -> Self {
        AllowList { rules }
    }

    /// The rules.
    pub fn rules(&self) -> &[AllowRule] {
        &self.rules
    }

    /// The index of the first rule that allows the connection.
    pub fn first_match(&self, c: &ConnFacts<'_>) -> Option<usize> {
        self.rules.iter().position(|r| r.matches(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(
        dir: Direction,
        theirs: &str,
        port: u16,
        proto: u8,
        name: Option<&'a str>,
    ) -> ConnFacts<'a> {
        ConnFacts {
            direction: dir,
            ours: "192.168.1.20".parse().unwrap(),
            our_port: 50_000,
            theirs: theirs.parse().unwrap(),
            their_port: port,
            protocol: proto,
            name,
            chain: &[],
        }
    }

    fn rule(toml_text: &str) -> AllowRule {
        #[derive(Deserialize)]
        struct W {
            allow: AllowRule,
        }
        toml::from_str::<W>(toml_text).unwrap().allow
    }

    #[test]
    fn domain_patterns() {
        let s: DomainPattern = "*.Example.com.".parse().unwrap();
        assert!(s.matches("example.com"));
        assert!(s.matches("a.b.EXAMPLE.com"));
        assert!(!s.matches("badexample.com"));
        assert!(!s.matches("example.com.evil"));
        let e: DomainPattern = "www.example.com".parse().unwrap();
        assert!(e.matches("WWW.example.com."));
        assert!(!e.matches("x.www.example.com"));
        assert!(!e.matches_opt(None));
        assert!(DomainPattern::Any.matches_opt(None));
        for bad in ["", "*..", "a*b.com", "a..b", "*.*.com", "a b"] {
            assert!(bad.parse::<DomainPattern>().is_err(), "{bad}");
        }
        assert_eq!(s.to_string(), "*.example.com");
    }

    #[test]
    fn rules_match_fields() {
        let r = rule(
            "[allow]\ntheir_port = 443\nproto = \"tcp\"\ndirection = \"out\"\ndomain = \"*.example.com\"",
        );
        let out = Direction::Outbound;
        assert!(r.matches(&facts(out, "203.0.113.5", 443, 6, Some("www.example.com"))));
        assert!(!r.matches(&facts(out, "203.0.113.5", 80, 6, Some("www.example.com"))));
        assert!(!r.matches(&facts(out, "203.0.113.5", 443, 17, Some("www.example.com"))));
        assert!(!r.matches(&facts(
            Direction::Inbound,
            "203.0.113.5",
            443,
            6,
            Some("www.example.com")
        )));
        assert!(!r.matches(&facts(out, "203.0.113.5", 443, 6, None)));
        assert!(!r.matches(&facts(
            out,
            "203.0.113.5",
            443,
            6,
            Some("tracker.example.org")
        )));
        // A CNAME link matches too.
        let chain: [Arc<str>; 2] = [Arc::from("cdn.example.net"), Arc::from("edge.example.com")];
        let mut f = facts(out, "203.0.113.5", 443, 6, Some("cdn.example.net"));
        f.chain = &chain;
        assert!(r.matches(&f));

        let v6 = rule("[allow]\ntheirs = \"2001:db8::/32\"\nours = \"192.168.1.0/24\"");
        assert!(v6.matches(&facts(out, "2001:db8:5::1", 1, 6, None)));
        assert!(!v6.matches(&facts(out, "2001:db9::1", 1, 6, None)));

        // ICMP: the port field is the type; ICMPv6 counts as icmp.
        let ping = rule("[allow]\nproto = \"icmp\"\ntheir_port = 8");
        assert!(ping.matches(&facts(out, "198.51.100.1", 8, 1, None)));
        assert!(ping.matches(&facts(out, "2001:db8::1", 8, 58, None)));
        assert!(!ping.matches(&facts(out, "198.51.100.1", 3, 1, None)));

        // Port 0 means any, as in the legacy format.
        let any = rule("[allow]\ntheir_port = 0\nour_port = 0");
        assert!(any.matches(&facts(Direction::Inbound, "198.51.100.1", 22, 6, None)));

        let list = AllowList::new(vec![r.clone(), ping.clone()]);
        assert_eq!(
            list.first_match(&facts(out, "198.51.100.1", 8, 1, None)),
            Some(1)
        );
        assert_eq!(
            list.first_match(&facts(out, "198.51.100.1", 9, 1, None)),
            None
        );
    }

    #[test]
    fn bad_rules_are_rejected_and_toml_round_trips() {
        #[derive(Deserialize, Debug)]
        struct W {
            #[allow(dead_code)]
            allow: AllowRule,
        }
        for bad in [
            "[allow]\nproto = \"gre\"",
            "[allow]\ndirection = \"sideways\"",
            "[allow]\ntheirs = \"10.0.0.0/33\"",
            "[allow]\ntheir_port = 70000",
            "[allow]\ndomian = \"x\"",
        ] {
            assert!(toml::from_str::<W>(bad).is_err(), "{bad}");
        }
        let r = rule(
            "[allow]\nnote = \"say \\\"hi\\\"\"\nours = \"10.1.2.3\"\nour_port = 22\ntheirs = \"fd00::/8\"\ntheir_port = 0\ndomain = \"*.x.org\"\nproto = \"udp\"\ndirection = \"in\"",
        );
        let text = r.to_toml().replace("[[connwatch.allow]]", "[allow]");
        assert_eq!(
            rule(&text),
            AllowRule {
                their_port: None,
                ..r.clone()
            }
        );
        assert!(!text.contains("their_port"));
    }
}
