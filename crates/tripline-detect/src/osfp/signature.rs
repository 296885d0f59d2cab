//! One p0f v3 TCP signature: `ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass`.
//!
//! The same type describes a signature read from `p0f.fp` (with wildcards)
//! and, through [`crate::osfp::observed`], what a SYN or SYN+ACK shows.

use std::fmt;

/// TCP option kinds p0f names in option layouts.
pub mod opt {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No-operation.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WS: u8 = 3;
    /// SACK permitted.
    pub const SOK: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TS: u8 = 8;
}

/// Most options p0f keeps in a layout (its `MAX_TCP_OPT`).
pub const MAX_OPTIONS: usize = 24;

/// The quirks p0f tracks, one bit each, in p0f's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Quirks(pub u32);

impl Quirks {
    /// `df`: don't fragment set.
    pub const DF: u32 = 1 << 0;
    /// `id+`: DF set but IP ID non-zero.
    pub const NZ_ID: u32 = 1 << 1;
    /// `id-`: DF clear but IP ID zero.
    pub const ZERO_ID: u32 = 1 << 2;
    /// `ecn`: explicit congestion notification support.
    pub const ECN: u32 = 1 << 3;
    /// `0+`: the IPv4 "must be zero" bit set.
    pub const NZ_MBZ: u32 = 1 << 4;
    /// `flow`: non-zero IPv6 flow label.
    pub const FLOW: u32 = 1 << 5;
    /// `seq-`: sequence number zero.
    pub const ZERO_SEQ: u32 = 1 << 6;
    /// `ack+`: ACK number non-zero without the ACK flag.
    pub const NZ_ACK: u32 = 1 << 7;
    /// `ack-`: ACK flag with a zero ACK number.
    pub const ZERO_ACK: u32 = 1 << 8;
    /// `uptr+`: urgent pointer non-zero without the URG flag.
    pub const NZ_URG: u32 = 1 << 9;
    /// `urgf+`: URG flag.
    pub const URG: u32 = 1 << 10;
    /// `pushf+`: PUSH flag.
    pub const PUSH: u32 = 1 << 11;
    /// `ts1-`: own timestamp zero.
    pub const ZERO_TS1: u32 = 1 << 12;
    /// `ts2+`: peer timestamp non-zero on an initial SYN.
    pub const NZ_TS2: u32 = 1 << 13;
    /// `opt+`: non-zero data in the option padding after EOL.
    pub const OPT_EOL_NZ: u32 = 1 << 14;
    /// `exws`: window scale above 14.
    pub const EXWS: u32 = 1 << 15;
    /// `bad`: malformed options.
    pub const OPT_BAD: u32 = 1 << 16;

    /// Names in `p0f.fp` and p0f's `raw_sig`, in p0f's order.
    pub const NAMES: [(&'static str, u32); 17] = [
        ("df", Self::DF),
        ("id+", Self::NZ_ID),
        ("id-", Self::ZERO_ID),
        ("ecn", Self::ECN),
        ("0+", Self::NZ_MBZ),
        ("flow", Self::FLOW),
        ("seq-", Self::ZERO_SEQ),
        ("ack+", Self::NZ_ACK),
        ("ack-", Self::ZERO_ACK),
        ("uptr+", Self::NZ_URG),
        ("urgf+", Self::URG),
        ("pushf+", Self::PUSH),
        ("ts1-", Self::ZERO_TS1),
        ("ts2+", Self::NZ_TS2),
        ("opt+", Self::OPT_EOL_NZ),
        ("exws", Self::EXWS),
        ("bad", Self::OPT_BAD),
    ];

    /// True when every bit of `mask` is set.
    pub fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }
}

impl fmt::Display for Quirks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, bit) in Self::NAMES {
            if self.0 & bit != 0 {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// The order of TCP option kinds, inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct OptionLayout {
    len: u8,
    kinds: [u8; MAX_OPTIONS],
}

impl OptionLayout {
    /// Appends a kind; false when the layout is full.
    pub fn push(&mut self, kind: u8) -> bool {
        if self.len as usize >= MAX_OPTIONS {
            return false;
        }
        self.kinds[self.len as usize] = kind;
        self.len += 1;
        true
    }

    /// The kinds in order.
    pub fn kinds(&self) -> &[u8] {
        &self.kinds[..self.len as usize]
    }
}

/// `eol+N`, `nop`, `mss`, ... as in `p0f.fp` (the EOL padding comes from the
/// signature, so it is written as `eol` here).
impl fmt::Debug for OptionLayout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, k) in self.kinds().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match *k {
                opt::EOL => f.write_str("eol")?,
                opt::NOP => f.write_str("nop")?,
                opt::MSS => f.write_str("mss")?,
                opt::WS => f.write_str("ws")?,
                opt::SOK => f.write_str("sok")?,
                opt::SACK => f.write_str("sack")?,
                opt::TS => f.write_str("ts")?,
                other => write!(f, "?{other}")?,
            }
        }
        Ok(())
    }
}

/// How a signature constrains the window size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WindowSize {
    /// `*`: any window.
    Any,
    /// A fixed value.
    Exact(u16),
    /// `%N`: a multiple of N.
    Modulo(u16),
    /// `mss*N`: N times the MSS.
    MssMultiple(u16),
    /// `mtu*N`: N times the MTU.
    MtuMultiple(u16),
}

/// The payload class: whether the packet carries data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadClass {
    /// `*`: either.
    Any,
    /// `0`: no payload.
    Empty,
    /// `+`: some payload.
    NonEmpty,
}

/// A signature line from `p0f.fp`, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// IP version 4 or 6; `None` for `*`.
    pub ip_version: Option<u8>,
    /// Initial TTL, with any `+dist` hint already added (p0f's `ittl`).
    pub ittl: u8,
    /// `64-`: the tool picks random TTLs; match any TTL up to `ittl`.
    pub bad_ttl: bool,
    /// Length of IPv4 options.
    pub ip_opt_len: u8,
    /// MSS; `None` for `*`.
    pub mss: Option<u16>,
    /// Window size rule.
    pub window: WindowSize,
    /// Window scale; `None` for `*`.
    pub wscale: Option<u8>,
    /// Option layout.
    pub layout: OptionLayout,
    /// Bytes after an EOL option (`eol+N`).
    pub eol_pad: u8,
    /// Quirks.
    pub quirks: Quirks,
    /// Payload class.
    pub payload: PayloadClass,
}

/// Splits `s` at the first `sep`, or `None`.
fn cut(s: &str, sep: char) -> Option<(&str, &str)> {
    s.split_once(sep)
}

/// A decimal number in `lo..=hi`.
fn number(s: &str, lo: u32, hi: u32, what: &str) -> Result<u32, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what}: expected a number, found {s:?}"));
    }
    match s.parse::<u32>() {
        Ok(v) if (lo..=hi).contains(&v) => Ok(v),
        _ => Err(format!("{what}: {s} is outside {lo}..={hi}")),
    }
}

impl Signature {
    /// Parses the value of a `sig =` line of a `[tcp:*]` section.
    pub fn parse(s: &str) -> Result<Signature, String> {
        let fields: Vec<&str> = s.trim().split(':').collect();
        if fields.len() != 8 {
            return Err(format!(
                "expected 8 ':'-separated fields (ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass), found {}",
                fields.len()
            ));
        }
        let ip_version = match fields[0] {
            "4" => Some(4),
            "6" => Some(6),
            "*" => None,
            v => return Err(format!("IP version must be 4, 6 or *, found {v:?}")),
        };
        let (ittl, bad_ttl) = parse_ttl(fields[1])?;
        let ip_opt_len = number(fields[2], 0, 255, "IP option length")? as u8;
        let mss = match fields[3] {
            "*" => None,
            m => Some(number(m, 0, 65535, "MSS")? as u16),
        };
        let (win, scale) = cut(fields[4], ',')
            .ok_or_else(|| format!("window field {:?} lacks ',scale'", fields[4]))?;
        let window = parse_window(win)?;
        let wscale = match scale {
            "*" => None,
            w => Some(number(w, 0, 255, "window scale")? as u8),
        };
        let (layout, eol_pad) = parse_layout(fields[5])?;
        let quirks = parse_quirks(fields[6], ip_version)?;
        let payload = match fields[7] {
            "*" => PayloadClass::Any,
            "0" => PayloadClass::Empty,
            "+" => PayloadClass::NonEmpty,
            p => return Err(format!("payload class must be 0, + or *, found {p:?}")),
        };
        Ok(Signature {
            ip_version,
            ittl,
            bad_ttl,
            ip_opt_len,
            mss,
            window,
            wscale,
            layout,
            eol_pad,
            quirks,
            payload,
        })
    }
}

/// `64`, `64+14` (TTL plus distance seen), `64-` (random TTL).
fn parse_ttl(s: &str) -> Result<(u8, bool), String> {
    if let Some(base) = s.strip_suffix('-') {
        return Ok((number(base, 1, 255, "initial TTL")? as u8, true));
    }
    if let Some((base, dist)) = cut(s, '+') {
        let base = number(base, 1, 255, "initial TTL")?;
        let dist = number(dist, 0, 255, "TTL distance")?;
        if base + dist > 255 {
            return Err(format!("initial TTL {base}+{dist} exceeds 255"));
        }
        return Ok(((base + dist) as u8, false));
    }
    Ok((number(s, 1, 255, "initial TTL")? as u8, false))
}

/// `*`, `%N`, `mss*N`, `mtu*N` or a number.
fn parse_window(s: &str) -> Result<WindowSize, String> {
    if s == "*" {
        return Ok(WindowSize::Any);
    }
    if let Some(m) = s.strip_prefix('%') {
        return Ok(WindowSize::Modulo(
            number(m, 2, 65535, "window modulo")? as u16
        ));
    }
    if let Some(m) = s.strip_prefix("mss*") {
        return Ok(WindowSize::MssMultiple(
            number(m, 1, 1000, "MSS multiplier")? as u16,
        ));
    }
    if let Some(m) = s.strip_prefix("mtu*") {
        return Ok(WindowSize::MtuMultiple(
            number(m, 1, 1000, "MTU multiplier")? as u16,
        ));
    }
    Ok(WindowSize::Exact(number(s, 0, 65535, "window size")? as u16))
}

/// `mss,sok,ts,nop,ws`, `eol+N` last, `?N` for other kinds; may be empty.
fn parse_layout(s: &str) -> Result<(OptionLayout, u8), String> {
    let mut layout = OptionLayout::default();
    let mut eol_pad = 0u8;
    if s.is_empty() {
        return Ok((layout, eol_pad));
    }
    let items: Vec<&str> = s.split(',').collect();
    for (i, item) in items.iter().enumerate() {
        let kind = match *item {
            "nop" => opt::NOP,
            "mss" => opt::MSS,
            "ws" => opt::WS,
            "sok" => opt::SOK,
            "sack" => opt::SACK,
            "ts" => opt::TS,
            other => {
                if let Some(pad) = other.strip_prefix("eol+") {
                    if i + 1 != items.len() {
                        return Err("eol+N must be the last option".to_string());
                    }
                    eol_pad = number(pad, 0, 255, "EOL padding")? as u8;
                    opt::EOL
                } else if let Some(k) = other.strip_prefix('?') {
                    number(k, 0, 255, "option kind")? as u8
                } else {
                    return Err(format!("unknown TCP option {other:?}"));
                }
            }
        };
        if !layout.push(kind) {
            return Err(format!("more than {MAX_OPTIONS} TCP options"));
        }
    }
    Ok((layout, eol_pad))
}

/// A comma-separated quirk list; IPv4-only quirks are refused on `6:`
/// signatures and `flow` on `4:` ones, as p0f does.
fn parse_quirks(s: &str, ip_version: Option<u8>) -> Result<Quirks, String> {
    let mut q = 0u32;
    if s.is_empty() {
        return Ok(Quirks(q));
    }
    for item in s.split(',') {
        let bit = Quirks::NAMES
            .iter()
            .find(|(name, _)| *name == item)
            .map(|(_, bit)| *bit)
            .ok_or_else(|| format!("unknown quirk {item:?}"))?;
        let v4_only = Quirks::DF | Quirks::NZ_ID | Quirks::ZERO_ID | Quirks::NZ_MBZ;
        if ip_version == Some(6) && bit & v4_only != 0 {
            return Err(format!("quirk {item:?} is not valid for IPv6"));
        }
        if ip_version == Some(4) && bit == Quirks::FLOW {
            return Err("quirk \"flow\" is not valid for IPv4".to_string());
        }
        q |= bit;
    }
    Ok(Quirks(q))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form() {
        let s = Signature::parse("*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0").unwrap();
        assert_eq!(s.ip_version, None);
        assert_eq!((s.ittl, s.bad_ttl), (64, false));
        assert_eq!(s.window, WindowSize::MssMultiple(20));
        assert_eq!(s.wscale, Some(10));
        assert_eq!(s.layout.kinds(), &[2, 4, 8, 1, 3]);
        assert_eq!(s.quirks, Quirks(Quirks::DF | Quirks::NZ_ID));
        assert_eq!(s.payload, PayloadClass::Empty);

        let s = Signature::parse("*:64-:0:1460:3,10:ws,nop,mss,sok,nop,nop:ecn,uptr+:0").unwrap();
        assert!(s.bad_ttl);
        assert_eq!(s.quirks.to_string(), "ecn,uptr+");

        let s = Signature::parse("4:128+10:4:*:%8192,*:mss,?30,eol+3:id-:+").unwrap();
        assert_eq!(s.ittl, 138);
        assert_eq!(s.ip_opt_len, 4);
        assert_eq!(s.window, WindowSize::Modulo(8192));
        assert_eq!(s.wscale, None);
        assert_eq!(s.layout.kinds(), &[2, 30, 0]);
        assert_eq!(s.eol_pad, 3);
        assert_eq!(s.payload, PayloadClass::NonEmpty);

        let s = Signature::parse("6:64:0:*:mtu*4,*::flow:*").unwrap();
        assert_eq!(s.window, WindowSize::MtuMultiple(4));
        assert!(s.layout.kinds().is_empty());
        assert_eq!(s.payload, PayloadClass::Any);
    }

    #[test]
    fn refuses_malformed_fields() {
        for bad in [
            "",
            "5:64:0:*:*,*:mss::0",
            "*:0:0:*:*,*:mss::0",
            "*:200+100:0:*:*,*:mss::0",
            "*:64:0:*:*:mss::0",
            "*:64:0:*:mss*0,0:mss::0",
            "*:64:0:*:%1,0:mss::0",
            "*:64:0:*:*,*:mss,eol+1,nop::0",
            "*:64:0:*:*,*:mss,bogus::0",
            "*:64:0:*:*,*:mss:df,nope:0",
            "6:64:0:*:*,*:mss:df:0",
            "4:64:0:*:*,*:mss:flow:0",
            "*:64:0:*:*,*:mss::x",
            "*:64:0:70000:*,*:mss::0",
            "*:64:0:*:*,*:mss::0:extra",
        ] {
            assert!(Signature::parse(bad).is_err(), "{bad}");
        }
    }
}
