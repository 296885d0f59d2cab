//! What a SYN or SYN+ACK shows p0f: TTL, IP option length, MSS, window and
//! scale, option layout and quirks, computed from the shared [`Header`]
//! (a captured packet or a netfilter line with `OPT (...)`).

use crate::osfp::fp_file::Direction;
use crate::osfp::signature::{OptionLayout, Quirks, opt};
use tripline_core::{Header, TcpFlags};

/// The IPv4 header without options, and the TCP header without options.
const MIN_IP4: u16 = 20;
/// The IPv6 fixed header.
const MIN_IP6: u16 = 40;
/// The TCP header without options.
const MIN_TCP: u16 = 20;

/// A packet's p0f signature (no wildcards).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observed {
    /// SYN (request) or SYN+ACK (response).
    pub direction: Direction,
    /// 4 or 6.
    pub ip_version: u8,
    /// TTL or hop limit as seen.
    pub ttl: u8,
    /// IPv4 option bytes.
    pub ip_opt_len: u8,
    /// MSS option value (0 when absent).
    pub mss: u16,
    /// Window size.
    pub window: u16,
    /// Window scale option value (0 when absent).
    pub wscale: u8,
    /// Option kinds in order.
    pub layout: OptionLayout,
    /// Bytes after EOL.
    pub eol_pad: u8,
    /// Quirks.
    pub quirks: Quirks,
    /// True when the segment carries data.
    pub payload: bool,
    /// Own timestamp (0 when absent).
    pub ts1: u32,
    /// IP plus TCP header length.
    pub tot_hdr: u16,
}

impl Observed {
    /// The signature of a SYN or SYN+ACK; `None` for anything else.
    /// Flags are judged like p0f: among SYN, ACK, FIN and RST exactly SYN
    /// (request) or SYN+ACK (response). `payload_len` is the TCP payload
    /// length; pass `None` to derive it from the IP total length (firewall
    /// lines).
    pub fn from_header(h: &Header, payload_len: Option<usize>) -> Option<Observed> {
        let tcp = h.tcp()?;
        let kind = tcp.flags.0 & (TcpFlags::SYN | TcpFlags::ACK | TcpFlags::FIN | TcpFlags::RST);
        let direction = if kind == TcpFlags::SYN {
            Direction::Request
        } else if kind == TcpFlags::SYN | TcpFlags::ACK {
            Direction::Response
        } else {
            return None;
        };
        let mut q = 0u32;
        let ip = &h.ip;
        let (ip_hdr, ip_opt_len) = if ip.version == 6 {
            if ip.flow_label != 0 {
                q |= Quirks::FLOW;
            }
            (MIN_IP6, 0u8)
        } else {
            if ip.reserved_bit {
                q |= Quirks::NZ_MBZ;
            }
            if ip.df {
                q |= Quirks::DF;
                if ip.id != 0 {
                    q |= Quirks::NZ_ID;
                }
            } else if ip.id == 0 {
                q |= Quirks::ZERO_ID;
            }
            let olen = ip.options.as_bytes().len() as u8;
            (MIN_IP4 + olen as u16, olen)
        };
        if ip.tos & 0x03 != 0 {
            q |= Quirks::ECN;
        }
        if tcp.flags.any(TcpFlags::ECE | TcpFlags::CWR) || tcp.reserved != 0 {
            q |= Quirks::ECN;
        }
        if tcp.seq == Some(0) {
            q |= Quirks::ZERO_SEQ;
        }
        if tcp.flags.has(TcpFlags::ACK) {
            if tcp.ack == Some(0) {
                q |= Quirks::ZERO_ACK;
            }
        } else if tcp.ack.is_some_and(|a| a != 0) {
            q |= Quirks::NZ_ACK;
        }
        if tcp.flags.has(TcpFlags::URG) {
            q |= Quirks::URG;
        } else if tcp.urgp != 0 {
            q |= Quirks::NZ_URG;
        }
        if tcp.flags.has(TcpFlags::PSH) {
            q |= Quirks::PUSH;
        }
        let opts = tcp.options.as_bytes();
        let parsed = parse_options(opts, direction == Direction::Request);
        q |= parsed.quirks;
        let tcp_hdr = MIN_TCP + opts.len() as u16;
        let tot_hdr = ip_hdr + tcp_hdr;
        let payload = match payload_len {
            Some(n) => n > 0,
            None => ip.total_len > tot_hdr,
        };
        Some(Observed {
            direction,
            ip_version: ip.version,
            ttl: ip.ttl,
            ip_opt_len,
            mss: parsed.mss,
            window: tcp.window,
            wscale: parsed.wscale,
            layout: parsed.layout,
            eol_pad: parsed.eol_pad,
            quirks: Quirks(q),
            payload,
            ts1: parsed.ts1,
            tot_hdr,
        })
    }
}

/// What p0f takes from the option bytes.
#[derive(Default)]
struct ParsedOptions {
    layout: OptionLayout,
    eol_pad: u8,
    mss: u16,
    wscale: u8,
    ts1: u32,
    quirks: u32,
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Walks the options the way p0f does: records each kind, notes wrong
/// lengths (`bad`), padding after EOL (`eol+N`, `opt+`), `exws`, `ts1-`
/// and `ts2+` (on an initial SYN only), and stops where it cannot go on.
fn parse_options(opts: &[u8], initial_syn: bool) -> ParsedOptions {
    let mut r = ParsedOptions::default();
    let end = opts.len();
    let mut i = 0usize;
    while i < end {
        let kind = opts[i];
        i += 1;
        if !r.layout.push(kind) {
            // p0f stops collecting at its option cap; what is left is "bad".
            i -= 1;
            break;
        }
        let left = end - i;
        match kind {
            opt::EOL => {
                r.eol_pad = left.min(255) as u8;
                if opts[i..].iter().any(|&b| b != 0) {
                    r.quirks |= Quirks::OPT_EOL_NZ;
                }
                i = end;
            }
            opt::NOP => {}
            opt::MSS => {
                if left < 3 {
                    break;
                }
                if opts[i] != 4 {
                    r.quirks |= Quirks::OPT_BAD;
                }
                r.mss = be16(&opts[i + 1..]);
                i += 3;
            }
            opt::WS => {
                if left < 2 {
                    break;
                }
                if opts[i] != 3 {
                    r.quirks |= Quirks::OPT_BAD;
                }
                r.wscale = opts[i + 1];
                if r.wscale > 14 {
                    r.quirks |= Quirks::EXWS;
                }
                i += 2;
            }
            opt::SOK => {
                if left < 1 {
                    break;
                }
                if opts[i] != 2 {
                    r.quirks |= Quirks::OPT_BAD;
                }
                i += 1;
            }
            opt::SACK => {
                if left == 0 {
                    break;
                }
                let len = opts[i] as usize;
                if !(10..=34).contains(&len) || len - 1 > left {
                    break;
                }
                i += len - 1;
            }
            opt::TS => {
                if left < 9 {
                    break;
                }
                if opts[i] != 10 {
                    r.quirks |= Quirks::OPT_BAD;
                }
                r.ts1 = be32(&opts[i + 1..]);
                if r.ts1 == 0 {
                    r.quirks |= Quirks::ZERO_TS1;
                }
                if initial_syn && be32(&opts[i + 5..]) != 0 {
                    r.quirks |= Quirks::NZ_TS2;
                }
                i += 9;
            }
            _ => {
                if left == 0 {
                    break;
                }
                let len = opts[i] as usize;
                if !(2..=40).contains(&len) || len - 1 > left {
                    break;
                }
                i += len - 1;
            }
        }
    }
    if i != end {
        r.quirks |= Quirks::OPT_BAD;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use tripline_core::{IpFields, OptionBytes, TcpFields, Transport, ip_proto};

    fn syn(opts: &[u8], flags: u8, df: bool, id: u32) -> Header {
        Header {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            protocol: ip_proto::TCP,
            ip: IpFields {
                ttl: 57,
                df,
                id,
                total_len: 40 + opts.len() as u16,
                ..Default::default()
            },
            transport: Transport::Tcp(TcpFields {
                window: 64240,
                flags: TcpFlags(flags),
                seq: Some(7),
                ack: Some(0),
                options: OptionBytes::new(opts).unwrap(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn linux_syn() {
        let raw = [
            2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        let o = Observed::from_header(&syn(&raw, TcpFlags::SYN, true, 99), None).unwrap();
        assert_eq!(o.direction, Direction::Request);
        assert_eq!((o.mss, o.wscale, o.ts1), (1460, 7, 1));
        assert_eq!(o.layout.kinds(), &[2, 4, 8, 1, 3]);
        assert_eq!(o.quirks.to_string(), "df,id+");
        assert!(!o.payload);
        assert_eq!(o.tot_hdr, 60);
    }

    #[test]
    fn quirks_and_bad_options() {
        // EOL followed by non-zero padding; ZERO_ID without DF; URG flag.
        let o = Observed::from_header(
            &syn(
                &[2, 4, 5, 180, 0, 0, 7, 0],
                TcpFlags::SYN | TcpFlags::URG,
                false,
                0,
            ),
            Some(3),
        )
        .unwrap();
        assert_eq!(o.layout.kinds(), &[2, 0]);
        assert_eq!(o.eol_pad, 3);
        assert_eq!(o.quirks.to_string(), "id-,urgf+,opt+");
        assert!(o.payload);
        // Truncated MSS, wscale 15.
        let o =
            Observed::from_header(&syn(&[3, 3, 15, 2, 4], TcpFlags::SYN, true, 0), None).unwrap();
        assert_eq!(o.quirks.to_string(), "df,exws,bad");
        // SYN+ACK with zero ACK number; RST-carrying packets are not fingerprinted.
        let o =
            Observed::from_header(&syn(&[], TcpFlags::SYN | TcpFlags::ACK, true, 1), None).unwrap();
        assert_eq!(o.direction, Direction::Response);
        assert!(o.quirks.has(Quirks::ZERO_ACK));
        assert!(
            Observed::from_header(&syn(&[], TcpFlags::SYN | TcpFlags::RST, true, 1), None)
                .is_none()
        );
    }
}
