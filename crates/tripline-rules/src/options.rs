//! Non-payload rule options: flow, flowbits, xbits, threshold,
//! detection_filter, and the header tests (dsize, ttl, flags, ...).
//! Payload options live in `payload.rs`; the rule assembly in `rule.rs`.

use crate::payload::parse_int;

/// A numeric comparison as used by dsize, ttl, itype, bsize, urilen, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// `N` or `=N`
    Eq(u64),
    /// `!N`
    Ne(u64),
    /// `<N`
    Lt(u64),
    /// `>N`
    Gt(u64),
    /// `<=N`
    Le(u64),
    /// `>=N`
    Ge(u64),
    /// `N<>M` or `N-M`: strictly between (Suricata's range semantics).
    Between(u64, u64),
}

impl Cmp {
    /// Parses `N`, `=N`, `!N`, `<N`, `>N`, `<=N`, `>=N`, `N<>M`, `N-M`.
    pub fn parse(s: &str) -> Result<Cmp, String> {
        let s = s.trim();
        let num = |t: &str| {
            parse_int(t)
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| format!("{:?} is not a number", t.trim()))
        };
        if let Some((a, b)) = s.split_once("<>").or_else(|| {
            // `N-M`, but not a leading minus
            s.get(1..)
                .and_then(|r| r.find('-'))
                .map(|i| (&s[..i + 1], &s[i + 2..]))
        }) {
            let (lo, hi) = (num(a)?, num(b)?);
            if lo >= hi {
                return Err(format!("empty range {s:?}"));
            }
            return Ok(Cmp::Between(lo, hi));
        }
        Ok(if let Some(r) = s.strip_prefix("<=") {
            Cmp::Le(num(r)?)
        } else if let Some(r) = s.strip_prefix(">=") {
            Cmp::Ge(num(r)?)
        } else if let Some(r) = s.strip_prefix('<') {
            Cmp::Lt(num(r)?)
        } else if let Some(r) = s.strip_prefix('>') {
            Cmp::Gt(num(r)?)
        } else if let Some(r) = s.strip_prefix('!') {
            Cmp::Ne(num(r)?)
        } else if let Some(r) = s.strip_prefix('=') {
            Cmp::Eq(num(r)?)
        } else {
            Cmp::Eq(num(s)?)
        })
    }

    /// True when `v` satisfies the comparison.
    pub fn matches(self, v: u64) -> bool {
        match self {
            Cmp::Eq(n) => v == n,
            Cmp::Ne(n) => v != n,
            Cmp::Lt(n) => v < n,
            Cmp::Gt(n) => v > n,
            Cmp::Le(n) => v <= n,
            Cmp::Ge(n) => v >= n,
            Cmp::Between(lo, hi) => v > lo && v < hi,
        }
    }
}

/// `flow:` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flow {
    /// `established`
    pub established: bool,
    /// `not_established`
    pub not_established: bool,
    /// `stateless`
    pub stateless: bool,
    /// `to_server` / `from_client`
    pub to_server: bool,
    /// `to_client` / `from_server`
    pub to_client: bool,
    /// `only_stream`
    pub only_stream: bool,
    /// `no_stream`
    pub no_stream: bool,
    /// `only_frag`
    pub only_frag: bool,
    /// `no_frag`
    pub no_frag: bool,
}

impl Flow {
    /// Parses a comma-separated `flow:` value.
    pub fn parse(v: &str) -> Result<Flow, String> {
        let mut f = Flow::default();
        for item in v.split(',').map(str::trim) {
            match item {
                "established" => f.established = true,
                "not_established" => f.not_established = true,
                "stateless" => f.stateless = true,
                "to_server" | "from_client" => f.to_server = true,
                "to_client" | "from_server" => f.to_client = true,
                "only_stream" => f.only_stream = true,
                "no_stream" => f.no_stream = true,
                "only_frag" => f.only_frag = true,
                "no_frag" => f.no_frag = true,
                other => return Err(format!("unknown flow option {other:?}")),
            }
        }
        if f.to_server && f.to_client {
            return Err("flow cannot be both to_server and to_client".to_string());
        }
        if f.established && f.not_established {
            return Err("flow cannot be both established and not_established".to_string());
        }
        Ok(f)
    }
}

/// What a flowbits/xbits keyword does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitOp {
    /// Set the bit.
    Set,
    /// Clear the bit.
    Unset,
    /// Flip the bit.
    Toggle,
    /// Match if set.
    IsSet,
    /// Match if not set.
    IsNotSet,
}

impl BitOp {
    fn parse(s: &str) -> Option<BitOp> {
        Some(match s {
            "set" => BitOp::Set,
            "unset" => BitOp::Unset,
            "toggle" => BitOp::Toggle,
            "isset" => BitOp::IsSet,
            "isnotset" => BitOp::IsNotSet,
            _ => return None,
        })
    }
}

/// `flowbits:op,name` (`name` may be `a|b` for "any of" or `a&b` for "all of").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flowbit {
    /// The operation.
    pub op: BitOp,
    /// The bit names.
    pub names: Vec<String>,
    /// True for `a|b` (any), false for one name or `a&b` (all).
    pub any: bool,
}

/// Parsed `flowbits` value: a bit operation, or `noalert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowbitsOption {
    /// `flowbits:noalert`
    NoAlert,
    /// A bit operation.
    Bit(Flowbit),
}

impl FlowbitsOption {
    /// Parses the value of `flowbits`.
    pub fn parse(v: &str) -> Result<FlowbitsOption, String> {
        let v = v.trim();
        if v == "noalert" {
            return Ok(FlowbitsOption::NoAlert);
        }
        let (op, names) = v
            .split_once(',')
            .ok_or_else(|| format!("flowbits {v:?} needs an operation and a name"))?;
        let op = BitOp::parse(op.trim())
            .ok_or_else(|| format!("unknown flowbits operation {:?}", op.trim()))?;
        let names = names.trim();
        let any = names.contains('|');
        if any && names.contains('&') {
            return Err("flowbits cannot mix '|' and '&'".to_string());
        }
        if (any || names.contains('&')) && !matches!(op, BitOp::IsSet | BitOp::IsNotSet) {
            return Err("only isset/isnotset take several flowbits".to_string());
        }
        let names: Vec<String> = names
            .split(['|', '&'])
            .map(|n| n.trim().to_string())
            .collect();
        if names
            .iter()
            .any(|n| n.is_empty() || n.contains(char::is_whitespace))
        {
            return Err(format!("bad flowbit name in {v:?}"));
        }
        Ok(FlowbitsOption::Bit(Flowbit { op, names, any }))
    }
}

/// Whose counter a threshold or xbit keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// Per source address.
    BySrc,
    /// Per destination address.
    ByDst,
    /// Per source+destination pair.
    ByBoth,
    /// One counter for the rule.
    ByRule,
}

impl Track {
    fn parse(s: &str) -> Option<Track> {
        Some(match s {
            "by_src" | "ip_src" => Track::BySrc,
            "by_dst" | "ip_dst" => Track::ByDst,
            "by_both" | "ip_pair" => Track::ByBoth,
            "by_rule" => Track::ByRule,
            _ => return None,
        })
    }
}

/// `xbits:op,name,track ip_src|ip_dst|ip_pair[,expire N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Xbit {
    /// The operation.
    pub op: BitOp,
    /// The bit name.
    pub name: String,
    /// Which host (pair) carries the bit.
    pub track: Track,
    /// Seconds until a set bit expires.
    pub expire: Option<u32>,
}

impl Xbit {
    /// Parses the value of `xbits`.
    pub fn parse(v: &str) -> Result<Xbit, String> {
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.len() < 3 {
            return Err("xbits needs operation, name, track".to_string());
        }
        let op = BitOp::parse(parts[0])
            .ok_or_else(|| format!("unknown xbits operation {:?}", parts[0]))?;
        let track = parts[2]
            .strip_prefix("track")
            .map(str::trim)
            .and_then(Track::parse)
            .ok_or_else(|| format!("bad xbits track {:?}", parts[2]))?;
        let mut expire = None;
        for p in &parts[3..] {
            let n = p
                .strip_prefix("expire")
                .and_then(|n| n.trim().parse().ok())
                .ok_or_else(|| format!("unknown xbits option {p:?}"))?;
            expire = Some(n);
        }
        Ok(Xbit {
            op,
            name: parts[1].to_string(),
            track,
            expire,
        })
    }
}

/// The kind of `threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdKind {
    /// Alert on the first `count` matches per period.
    Limit,
    /// Alert every `count`-th match per period.
    Threshold,
    /// Alert once per period after `count` matches.
    Both,
}

/// `threshold` (with a kind) or `detection_filter` (without).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    /// `None` for detection_filter.
    pub kind: Option<ThresholdKind>,
    /// Whose counter.
    pub track: Track,
    /// Matches.
    pub count: u32,
    /// Period length.
    pub seconds: u32,
}

impl Threshold {
    /// Parses `type T, track X, count N, seconds S` (`type` required iff `threshold`).
    pub fn parse(v: &str, is_detection_filter: bool) -> Result<Threshold, String> {
        let (mut kind, mut track, mut count, mut seconds) = (None, None, None, None);
        for item in v.split(',').map(str::trim) {
            let (k, val) = item
                .split_once(char::is_whitespace)
                .map(|(k, v)| (k, v.trim()))
                .ok_or_else(|| format!("bad threshold item {item:?}"))?;
            match k {
                "type" if !is_detection_filter => {
                    kind = Some(match val {
                        "limit" => ThresholdKind::Limit,
                        "threshold" => ThresholdKind::Threshold,
                        "both" => ThresholdKind::Both,
                        other => return Err(format!("unknown threshold type {other:?}")),
                    })
                }
                "track" => {
                    track = Some(Track::parse(val).ok_or_else(|| format!("unknown track {val:?}"))?)
                }
                "count" => count = Some(val.parse().map_err(|_| format!("bad count {val:?}"))?),
                "seconds" => {
                    seconds = Some(val.parse().map_err(|_| format!("bad seconds {val:?}"))?)
                }
                other => return Err(format!("unknown threshold item {other:?}")),
            }
        }
        if kind.is_none() && !is_detection_filter {
            return Err("threshold needs a type".to_string());
        }
        Ok(Threshold {
            kind,
            track: track.ok_or("threshold needs track")?,
            count: count.ok_or("threshold needs count")?,
            seconds: seconds.ok_or("threshold needs seconds")?,
        })
    }
}

/// How `flags`/`fragbits` compare the listed bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitsMode {
    /// Exactly these bits (after the mask).
    Exact,
    /// `+`: these bits and possibly others.
    All,
    /// `*`: any of these bits.
    Any,
    /// `!`: not these bits.
    Not,
}

/// A test on packet header fields; these work on firewall logs too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderTest {
    /// Payload size.
    Dsize(Cmp),
    /// IP time to live.
    Ttl(Cmp),
    /// IP type of service (`!` allowed).
    Tos(Cmp),
    /// IP identification.
    Id(u16),
    /// An IP option is present (`rr`, `lsrr`, ..., `any`).
    Ipopts(String),
    /// IP fragment bits M D R: bits (M=0x20 D=0x40 R=0x80 of the flags byte).
    Fragbits {
        /// The bits.
        bits: u8,
        /// How to compare.
        mode: BitsMode,
    },
    /// Source address equals destination address.
    SameIp,
    /// IP protocol number.
    IpProto(Cmp),
    /// ICMP type.
    Itype(Cmp),
    /// ICMP code.
    Icode(Cmp),
    /// ICMP echo identifier.
    IcmpId(u16),
    /// ICMP echo sequence.
    IcmpSeq(u16),
    /// TCP flags (bits as in the TCP header: FIN=0x01 ... CWR=0x80).
    Flags {
        /// The bits.
        bits: u8,
        /// How to compare.
        mode: BitsMode,
        /// Bits to ignore.
        mask: u8,
    },
    /// Bytes seen on the stream by one side.
    StreamSize {
        /// `server`, `client`, `both` or `either`.
        side: String,
        /// Comparison.
        cmp: Cmp,
    },
}

fn u16_value(v: &str) -> Result<u16, String> {
    parse_int(v)
        .and_then(|n| u16::try_from(n).ok())
        .ok_or_else(|| format!("{:?} is not a number 0-65535", v.trim()))
}

fn tcp_flag_bits(s: &str) -> Result<u8, String> {
    let mut bits = 0u8;
    for c in s.chars() {
        bits |= match c {
            'F' | 'f' => 0x01,
            'S' | 's' => 0x02,
            'R' | 'r' => 0x04,
            'P' | 'p' => 0x08,
            'A' | 'a' => 0x10,
            'U' | 'u' => 0x20,
            'E' | 'e' | '2' => 0x40,
            'C' | 'c' | '1' => 0x80,
            '0' => 0,
            other => return Err(format!("unknown TCP flag '{other}'")),
        };
    }
    Ok(bits)
}

fn bits_mode(s: &str) -> (BitsMode, &str) {
    let s = s.trim();
    match s.chars().next() {
        Some('+') => (BitsMode::All, &s[1..]),
        Some('*') => (BitsMode::Any, &s[1..]),
        Some('!') => (BitsMode::Not, &s[1..]),
        _ => (BitsMode::Exact, s),
    }
}

impl HeaderTest {
    /// Parses a header-test keyword; `None` when `keyword` is not one.
    pub fn parse(keyword: &str, value: Option<&str>) -> Option<Result<HeaderTest, String>> {
        let v = value.unwrap_or("");
        let r = match keyword {
            "dsize" => Cmp::parse(v).map(HeaderTest::Dsize),
            "ttl" => Cmp::parse(v).map(HeaderTest::Ttl),
            "tos" => Cmp::parse(v).map(HeaderTest::Tos),
            "id" => u16_value(v).map(HeaderTest::Id),
            "icmp_id" => u16_value(v).map(HeaderTest::IcmpId),
            "icmp_seq" => u16_value(v).map(HeaderTest::IcmpSeq),
            "itype" => Cmp::parse(v).map(HeaderTest::Itype),
            "icode" => Cmp::parse(v).map(HeaderTest::Icode),
            "sameip" => Ok(HeaderTest::SameIp),
            "ipopts" => match v.trim() {
                o @ ("rr" | "eol" | "nop" | "ts" | "sec" | "esec" | "lsrr" | "lsrre" | "ssrr"
                | "satid" | "any") => Ok(HeaderTest::Ipopts(o.to_string())),
                other => Err(format!("unknown IP option {other:?}")),
            },
            "ip_proto" => {
                let t = v.trim();
                let (prefix, name) = t
                    .find(|c: char| c.is_ascii_alphanumeric())
                    .map(|i| t.split_at(i))
                    .unwrap_or((t, ""));
                let num = match name.to_ascii_lowercase().as_str() {
                    "icmp" => Some(1),
                    "igmp" => Some(2),
                    "tcp" => Some(6),
                    "udp" => Some(17),
                    "ipv6" => Some(41),
                    "gre" => Some(47),
                    "esp" => Some(50),
                    "ah" => Some(51),
                    "ipv6-icmp" | "icmpv6" => Some(58),
                    "sctp" => Some(132),
                    _ => None,
                };
                match num {
                    Some(n) => Cmp::parse(&format!("{prefix}{n}")).map(HeaderTest::IpProto),
                    None => Cmp::parse(t).map(HeaderTest::IpProto),
                }
            }
            "flags" => {
                let (spec, mask) = match v.split_once(',') {
                    Some((s, m)) => (s, Some(m)),
                    None => (v, None),
                };
                let (mode, letters) = bits_mode(spec);
                tcp_flag_bits(letters.trim()).and_then(|bits| {
                    let mask = match mask {
                        Some(m) => tcp_flag_bits(m.trim())?,
                        None => 0,
                    };
                    Ok(HeaderTest::Flags { bits, mode, mask })
                })
            }
            "fragbits" => {
                let (mode, letters) = bits_mode(v);
                let mut bits = 0u8;
                let mut err = None;
                for c in letters.trim().chars() {
                    match c.to_ascii_uppercase() {
                        'M' => bits |= 0x20,
                        'D' => bits |= 0x40,
                        'R' => bits |= 0x80,
                        other => err = Some(format!("unknown fragment bit '{other}'")),
                    }
                }
                match err {
                    Some(e) => Err(e),
                    None => Ok(HeaderTest::Fragbits { bits, mode }),
                }
            }
            "stream_size" => {
                let parts: Vec<&str> = v.split(',').map(str::trim).collect();
                match parts.as_slice() {
                    [side @ ("server" | "client" | "both" | "either"), op, n] => {
                        Cmp::parse(&format!("{}{n}", if *op == "=" { "" } else { op })).map(|cmp| {
                            HeaderTest::StreamSize {
                                side: side.to_string(),
                                cmp,
                            }
                        })
                    }
                    _ => Err(format!("bad stream_size {v:?}")),
                }
            }
            _ => return None,
        };
        Some(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert_eq!(Cmp::parse("300<>400"), Ok(Cmp::Between(300, 400)));
        assert_eq!(Cmp::parse("1-5"), Ok(Cmp::Between(1, 5)));
        assert_eq!(Cmp::parse(">= 10"), Ok(Cmp::Ge(10)));
        assert_eq!(Cmp::parse("!0x10"), Ok(Cmp::Ne(16)));
        assert!(Cmp::parse("5<>5").is_err());
        assert!(Cmp::Between(1, 5).matches(4) && !Cmp::Between(1, 5).matches(5));
    }

    #[test]
    fn flags_and_bits() {
        assert_eq!(
            HeaderTest::parse("flags", Some("S,CE")),
            Some(Ok(HeaderTest::Flags {
                bits: 0x02,
                mode: BitsMode::Exact,
                mask: 0xc0
            }))
        );
        assert_eq!(
            HeaderTest::parse("flags", Some("+SA")),
            Some(Ok(HeaderTest::Flags {
                bits: 0x12,
                mode: BitsMode::All,
                mask: 0
            }))
        );
        assert_eq!(
            HeaderTest::parse("ip_proto", Some("!tcp")),
            Some(Ok(HeaderTest::IpProto(Cmp::Ne(6))))
        );
        assert!(matches!(
            HeaderTest::parse("flags", Some("SX")),
            Some(Err(_))
        ));
        assert_eq!(HeaderTest::parse("content", None), None);
    }

    #[test]
    fn bits_thresholds_flow() {
        assert_eq!(
            FlowbitsOption::parse("isset,a|b"),
            Ok(FlowbitsOption::Bit(Flowbit {
                op: BitOp::IsSet,
                names: vec!["a".into(), "b".into()],
                any: true
            }))
        );
        assert!(FlowbitsOption::parse("set,a|b").is_err());
        let t = Threshold::parse("type limit, track by_src, count 1, seconds 60", false).unwrap();
        assert_eq!(
            (t.kind, t.track, t.count, t.seconds),
            (Some(ThresholdKind::Limit), Track::BySrc, 1, 60)
        );
        assert!(Threshold::parse("track by_src, count 1, seconds 60", false).is_err());
        assert!(Threshold::parse("track by_src, count 5, seconds 60", true).is_ok());
        let x = Xbit::parse("set,scan,track ip_src,expire 30").unwrap();
        assert_eq!((x.track, x.expire), (Track::BySrc, Some(30)));
        assert!(Flow::parse("to_server,established").unwrap().to_server);
        assert!(Flow::parse("to_server,to_client").is_err());
    }
}
