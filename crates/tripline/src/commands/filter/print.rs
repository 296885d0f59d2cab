//! One line per packet, the way `tcpdump -nn -r FILE` prints it.
//!
//! The common subset is printed field for field as tcpdump 4.99 does:
//! the time of day, the family (`IP`, `IP6`, `ARP`), addresses and ports,
//! TCP flags, sequence and acknowledgement numbers (relative within a
//! conversation after its first packet with ACK, like tcpdump; absolute
//! with `-S`), window, urgent pointer, options and payload length; the UDP
//! length; the usual ICMP and ICMPv6 messages; ARP requests and replies;
//! IPv4 fragments (`[|tcp]`, `ip-proto-N`).
//!
//! What differs from tcpdump: times are UTC (tcpdump uses the local zone;
//! run it with `TZ=UTC` to compare); application protocols are not decoded
//! (tcpdump adds DNS, NTP, SNMP, HTTP, SSH... after the length; we stop at
//! `UDP, length N` or the TCP `length N`); rarer ICMP messages print as
//! `type-#N`; non-IP, non-ARP frames print as `ethertype 0xNNNN`.

use std::fmt::Write as _;
use std::net::IpAddr;
use tripline_core::{Header, Timestamp, Transport, ip_proto};
use tripline_detect::lru::LruMap;
use tripline_ingest::capture::link::linktype;
use tripline_ingest::capture::{DecodedFrame, FrameError, decode_frame};

/// Conversations whose initial sequence numbers are remembered.
pub const MAX_CONVERSATIONS: usize = 65_536;

/// A TCP conversation in tcpdump's collating order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Conversation {
    src: IpAddr,
    dst: IpAddr,
    ports: u32,
}

/// Formats packets as tcpdump lines; keeps the per-conversation initial
/// sequence numbers (bounded, least recently used evicted).
pub struct TcpdumpPrinter {
    absolute: bool,
    initial: LruMap<Conversation, (u32, u32)>,
    line: String,
}

impl TcpdumpPrinter {
    /// A printer; `absolute_seq` prints raw sequence numbers (tcpdump `-S`).
    pub fn new(absolute_seq: bool) -> Self {
        TcpdumpPrinter {
            absolute: absolute_seq,
            initial: LruMap::new(MAX_CONVERSATIONS),
            line: String::with_capacity(256),
        }
    }

    /// Conversations forgotten to stay under the cap.
    pub fn evicted(&self) -> u64 {
        self.initial.evicted()
    }

    /// The line for one frame captured with `linktype` (no newline). The
    /// returned text lives until the next call.
    pub fn line(&mut self, ts: Timestamp, linktype: u32, frame: &[u8]) -> &str {
        self.line.clear();
        let mut out = std::mem::take(&mut self.line);
        out.push_str(&ts.time_string());
        out.push(' ');
        match decode_frame(linktype, frame) {
            Ok(d) => self.ip_line(&mut out, &d),
            Err(FrameError::Link(e)) => non_ip(&mut out, linktype, frame, &e),
            Err(FrameError::Ip(e)) => {
                let _ = write!(out, "IP [bad header: {e}], length {}", frame.len());
            }
        }
        self.line = out;
        &self.line
    }

    fn ip_line(&mut self, out: &mut String, d: &DecodedFrame<'_>) {
        let h = &d.header;
        let v6 = h.ip.version == 6;
        out.push_str(if v6 { "IP6 " } else { "IP " });
        let ihl = if v6 {
            40
        } else {
            (d.ip.first().copied().unwrap_or(0x45) & 0x0f) as usize * 4
        };
        // Bytes between the IP header start and the transport payload, when
        // the payload lies inside the packet (it may be an empty stand-in).
        let payload_at = offset_in(d.ip, d.payload);
        let ip_len = h.ip.total_len as usize;
        if !v6 && h.ip.frag_offset != 0 {
            let _ = write!(out, "{} > {}: ip-proto-{}", h.src, h.dst, h.protocol);
            return;
        }
        match h.transport {
            Transport::Tcp(t) => {
                let hdr = 20 + t.options.as_bytes().len();
                let start = payload_at.map_or(ihl, |p| p.saturating_sub(hdr));
                let len = ip_len.saturating_sub(start + hdr);
                let _ = write!(out, "{}.{} > {}.{}: ", h.src, t.sport, h.dst, t.dport);
                self.tcp(out, h, &t, len as u32);
            }
            Transport::Udp(u) => {
                let _ = write!(
                    out,
                    "{}.{} > {}.{}: UDP, length {}",
                    h.src,
                    u.sport,
                    h.dst,
                    u.dport,
                    u.len.saturating_sub(8)
                );
            }
            Transport::Icmp(i) => {
                let start = payload_at.map_or(ihl, |p| p.saturating_sub(8));
                let len = ip_len.saturating_sub(start);
                let _ = write!(out, "{} > {}: ", h.src, h.dst);
                // A short message (a first fragment) still has id and sequence.
                let mut i = i;
                if let Some(raw) = d.ip.get(start..start + 8)
                    && i.id.is_none()
                {
                    i.id = Some(u16::from_be_bytes([raw[4], raw[5]]));
                    i.seq = Some(u16::from_be_bytes([raw[6], raw[7]]));
                }
                if v6 {
                    icmp6(out, i.icmp_type, i.code, i.id, i.seq, d.payload, len);
                } else {
                    icmp4(out, &i, d.payload, len);
                }
            }
            Transport::Other => {
                let transport = d.ip.get(ihl..).unwrap_or(&[]);
                if h.ip.mf
                    && matches!(h.protocol, ip_proto::TCP | ip_proto::UDP)
                    && transport.len() >= 4
                {
                    let sport = u16::from_be_bytes([transport[0], transport[1]]);
                    let dport = u16::from_be_bytes([transport[2], transport[3]]);
                    let name = ip_proto::name(h.protocol).unwrap_or("tcp");
                    let _ = write!(out, "{}.{sport} > {}.{dport}:  [|{name}]", h.src, h.dst);
                } else {
                    let len = ip_len.saturating_sub(ihl);
                    let _ = write!(out, "{} > {}: ip-proto-{} {len}", h.src, h.dst, h.protocol);
                }
            }
        }
    }

    fn tcp(&mut self, out: &mut String, h: &Header, t: &tripline_core::TcpFields, len: u32) {
        let flags = t.flags.0;
        out.push_str("Flags [");
        if flags == 0 {
            out.push_str("none");
        }
        for (bit, c) in [
            (0x01, 'F'),
            (0x02, 'S'),
            (0x04, 'R'),
            (0x08, 'P'),
            (0x10, '.'),
            (0x20, 'U'),
            (0x40, 'E'),
            (0x80, 'W'),
        ] {
            if flags & bit != 0 {
                out.push(c);
            }
        }
        out.push(']');
        let mut seq = t.seq.unwrap_or(0);
        let mut ack = t.ack.unwrap_or(0);
        // SACK edges are printed relative too, to the peer's initial number.
        let mut sack_base = 0u32;
        if !self.absolute && flags & 0x10 != 0 {
            let rev = t.sport > t.dport
                || (t.sport == t.dport && addr_bytes(&h.src) > addr_bytes(&h.dst));
            let key = if rev {
                Conversation {
                    src: h.dst,
                    dst: h.src,
                    ports: (t.dport as u32) << 16 | t.sport as u32,
                }
            } else {
                Conversation {
                    src: h.src,
                    dst: h.dst,
                    ports: (t.sport as u32) << 16 | t.dport as u32,
                }
            };
            let known = self.initial.get_mut(&key).map(|v| *v);
            let (iseq, iack) = match known {
                Some((iseq, iack)) if flags & 0x02 == 0 => {
                    if rev {
                        seq = seq.wrapping_sub(iack);
                        ack = ack.wrapping_sub(iseq);
                    } else {
                        seq = seq.wrapping_sub(iseq);
                        ack = ack.wrapping_sub(iack);
                    }
                    (iseq, iack)
                }
                _ => {
                    let v = if rev {
                        (ack.wrapping_sub(1), seq)
                    } else {
                        (seq, ack.wrapping_sub(1))
                    };
                    *self.initial.get_or_insert_with(&key, || v) = v;
                    v
                }
            };
            sack_base = if rev { iseq } else { iack };
        }
        if len > 0 || flags & 0x07 != 0 {
            let _ = write!(out, ", seq {seq}");
            if len > 0 {
                let _ = write!(out, ":{}", seq.wrapping_add(len));
            }
        }
        if flags & 0x10 != 0 {
            let _ = write!(out, ", ack {ack}");
        }
        let _ = write!(out, ", win {}", t.window);
        if flags & 0x20 != 0 {
            let _ = write!(out, ", urg {}", t.urgp);
        }
        let opts = t.options.as_bytes();
        if !opts.is_empty() {
            out.push_str(", options [");
            tcp_options(out, opts, sack_base);
            out.push(']');
        }
        let _ = write!(out, ", length {len}");
    }
}

/// Where `inner` starts inside `outer`, if it lies within it.
fn offset_in(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let start = outer.as_ptr() as usize;
    let at = inner.as_ptr() as usize;
    (at >= start && at + inner.len() <= start + outer.len()).then(|| at - start)
}

fn addr_bytes(a: &IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v) => {
            let mut b = [0u8; 16];
            b[..4].copy_from_slice(&v.octets());
            b
        }
        IpAddr::V6(v) => v.octets(),
    }
}

/// TCP options in tcpdump's words: `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`.
fn tcp_options(out: &mut String, mut o: &[u8], sack_base: u32) {
    let mut first = true;
    while let Some(&kind) = o.first() {
        if !first {
            out.push(',');
        }
        first = false;
        if kind == 0 || kind == 1 {
            out.push_str(if kind == 0 { "eol" } else { "nop" });
            o = &o[1..];
            if kind == 0 {
                return;
            }
            continue;
        }
        let len = o.get(1).copied().unwrap_or(0) as usize;
        let name = match kind {
            2 => "mss",
            3 => "wscale",
            4 => "sackOK",
            5 => "sack",
            8 => "TS",
            19 => "md5",
            28 => "utm",
            29 => "tcp-ao",
            30 => "mptcp",
            34 => "tfo",
            _ => "",
        };
        if name.is_empty() {
            let _ = write!(out, "unknown-{kind}");
        } else {
            out.push_str(name);
        }
        if len < 2 || len > o.len() {
            out.push_str("[bad opt]");
            return;
        }
        let data = &o[2..len];
        match (kind, data.len()) {
            (2, 2) => {
                let _ = write!(out, " {}", u16::from_be_bytes([data[0], data[1]]));
            }
            (3, 1) => {
                let _ = write!(out, " {}", data[0]);
            }
            (4, 0) => {}
            (8, 8) => {
                let _ = write!(out, " val {} ecr {}", be32(&data[..4]), be32(&data[4..]));
            }
            (5, n) if n % 8 == 0 => {
                let _ = write!(out, " {} ", n / 8);
                for edge in data.chunks_exact(8) {
                    let _ = write!(
                        out,
                        "{{{}:{}}}",
                        be32(&edge[..4]).wrapping_sub(sack_base),
                        be32(&edge[4..]).wrapping_sub(sack_base)
                    );
                }
            }
            (5, _) => out.push_str(" invalid sack"),
            _ if !data.is_empty() => {
                out.push_str(" 0x");
                for b in data {
                    let _ = write!(out, "{b:02x}");
                }
            }
            _ => {}
        }
        o = &o[len..];
    }
}

fn be32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

/// ICMP messages in tcpdump's words; `rest` is what follows the 8-byte header.
fn icmp4(out: &mut String, i: &tripline_core::IcmpFields, rest: &[u8], len: usize) {
    let id = i.id.unwrap_or(0);
    let seq = i.seq.unwrap_or(0);
    match (i.icmp_type, i.code) {
        (0, _) => {
            let _ = write!(out, "ICMP echo reply, id {id}, seq {seq}");
        }
        (8, _) => {
            let _ = write!(out, "ICMP echo request, id {id}, seq {seq}");
        }
        (3, code) => {
            out.push_str("ICMP ");
            unreachable(out, code, rest);
        }
        (11, 0) => out.push_str("ICMP time exceeded in-transit"),
        (11, _) => out.push_str("ICMP ip reassembly time exceeded"),
        (13, _) => {
            let _ = write!(out, "ICMP time stamp query id {id} seq {seq}");
        }
        (14, _) => {
            let _ = write!(out, "ICMP time stamp reply id {id} seq {seq}: ");
            let stamp = |k: usize| rest.get(k * 4..k * 4 + 4).map(be32);
            match (stamp(0), stamp(1), stamp(2)) {
                (Some(o), Some(r), Some(x)) => {
                    let _ = write!(
                        out,
                        "org {}, recv {}, xmit {}",
                        ms_of_day(o),
                        ms_of_day(r),
                        ms_of_day(x)
                    );
                }
                _ => out.push_str("[|icmp]"),
            }
        }
        (17, _) => out.push_str("ICMP address mask request"),
        (18, _) => match rest.get(..4) {
            Some(m) => {
                let _ = write!(out, "ICMP address mask is 0x{:08x}", be32(m));
            }
            None => out.push_str("ICMP address mask reply"),
        },
        (t, _) => {
            let _ = write!(out, "ICMP type-#{t}");
        }
    }
    let _ = write!(out, ", length {len}");
}

/// `host X unreachable`, `X udp port N unreachable`... from the quoted header.
fn unreachable(out: &mut String, code: u8, quoted: &[u8]) {
    let ihl = (quoted.first().copied().unwrap_or(0) & 0x0f) as usize * 4;
    let dst = quoted
        .get(16..20)
        .map(|b| std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]));
    let proto = quoted.get(9).copied();
    let port = quoted
        .get(ihl + 2..ihl + 4)
        .map(|b| u16::from_be_bytes([b[0], b[1]]));
    match (code, dst) {
        (0, Some(d)) => {
            let _ = write!(out, "net {d} unreachable");
        }
        (1, Some(d)) => {
            let _ = write!(out, "host {d} unreachable");
        }
        (2, Some(d)) => {
            let _ = write!(out, "{d} protocol {} unreachable", proto.unwrap_or(0));
        }
        (3, Some(d)) => match (proto, port) {
            (Some(ip_proto::TCP), Some(p)) => {
                let _ = write!(out, "{d} tcp port {p} unreachable");
            }
            (Some(ip_proto::UDP), Some(p)) => {
                let _ = write!(out, "{d} udp port {p} unreachable");
            }
            (Some(pr), _) => {
                let _ = write!(out, "{d} port, protocol {pr} unreachable");
            }
            (None, _) => out.push_str("port unreachable"),
        },
        (_, Some(d)) => {
            let _ = write!(out, "{d} unreachable - code {code}");
        }
        (_, None) => {
            let _ = write!(out, "unreachable - code {code}");
        }
    }
}

/// Milliseconds since midnight UTC as `HH:MM:SS.mmm`, like tcpdump.
fn ms_of_day(ms: u32) -> String {
    if ms >= 86_400_000 {
        return "[>24h]".into();
    }
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        s / 3600,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

fn icmp6(
    out: &mut String,
    t: u8,
    code: u8,
    id: Option<u16>,
    seq: Option<u16>,
    rest: &[u8],
    len: usize,
) {
    out.push_str("ICMP6, ");
    let target = rest.get(..16).map(|b| {
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        std::net::Ipv6Addr::from(a)
    });
    match (t, target) {
        (128, _) | (129, _) => {
            let what = if t == 128 { "request" } else { "reply" };
            let _ = write!(
                out,
                "echo {what}, id {}, seq {}",
                id.unwrap_or(0),
                seq.unwrap_or(0)
            );
        }
        (133, _) => out.push_str("router solicitation"),
        (134, _) => out.push_str("router advertisement"),
        (135, Some(a)) => {
            let _ = write!(out, "neighbor solicitation, who has {a}");
        }
        (136, Some(a)) => {
            let _ = write!(out, "neighbor advertisement, tgt is {a}");
        }
        (1, _) => {
            let _ = write!(out, "destination unreachable, code {code}");
        }
        (3, _) => out.push_str("time exceeded"),
        _ => {
            let _ = write!(out, "type-#{t}");
        }
    }
    let _ = write!(out, ", length {len}");
}

/// ARP and other non-IP frames.
fn non_ip(out: &mut String, lt: u32, frame: &[u8], e: &tripline_ingest::capture::link::LinkError) {
    use tripline_ingest::capture::link::LinkError;
    let LinkError::NotIp { protocol } = *e else {
        let _ = write!(out, "[{e}], length {}", frame.len());
        return;
    };
    let body = link_body(lt, frame);
    if protocol == 0x0806
        && let Some(b) = body
        && let Some(line) = arp(b)
    {
        out.push_str(&line);
        return;
    }
    let _ = write!(
        out,
        "ethertype 0x{protocol:04x}, length {}",
        body.map_or(frame.len(), <[u8]>::len)
    );
}

/// The bytes after the link-layer header (and VLAN tags) of a non-IP frame.
fn link_body(lt: u32, frame: &[u8]) -> Option<&[u8]> {
    match lt {
        linktype::ETHERNET => {
            let mut at = 14;
            while matches!(
                frame.get(at - 2..at),
                Some([0x81, 0x00] | [0x88, 0xa8] | [0x91, 0x00])
            ) && at < 14 + 4 * 4
            {
                at += 4;
            }
            frame.get(at..)
        }
        linktype::LINUX_SLL => frame.get(16..),
        linktype::LINUX_SLL2 => frame.get(20..),
        _ => None,
    }
}

/// `ARP, Request who-has A tell B, length 28` / `ARP, Reply A is-at MAC, length 28`.
fn arp(b: &[u8]) -> Option<String> {
    // Ethernet/IPv4 ARP only: hardware 1, protocol 0x0800, sizes 6 and 4.
    if b.get(..6)? != [0, 1, 8, 0, 6, 4] || b.len() < 28 {
        return Some(format!("ARP, length {}", b.len()));
    }
    let op = u16::from_be_bytes([b[6], b[7]]);
    let sha = &b[8..14];
    let spa = std::net::Ipv4Addr::new(b[14], b[15], b[16], b[17]);
    let tpa = std::net::Ipv4Addr::new(b[24], b[25], b[26], b[27]);
    let mac = sha
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    Some(match op {
        1 => format!("ARP, Request who-has {tpa} tell {spa}, length {}", b.len()),
        2 => format!("ARP, Reply {spa} is-at {mac}, length {}", b.len()),
        _ => format!("ARP, op {op}, length {}", b.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syn_prints_like_tcpdump() {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        f.extend_from_slice(&[
            0x45, 0, 0, 44, 0, 1, 0, 0, 64, 6, 0, 0, 10, 99, 2, 66, 10, 99, 1, 3,
        ]);
        f.extend_from_slice(&[
            0x90, 0x06, 0x01, 0xbb, 0xd1, 0x6d, 0x22, 0x00, 0, 0, 0, 0, 0x60, 0x02, 0x04, 0x00, 0,
            0, 0, 0, 2, 4, 5, 180,
        ]);
        let mut p = TcpdumpPrinter::new(false);
        let ts = Timestamp::from_secs_micros(1_795_349_736, 337_571);
        assert_eq!(
            p.line(ts, 1, &f),
            "12:15:36.337571 IP 10.99.2.66.36870 > 10.99.1.3.443: Flags [S], seq 3513590272, win 1024, options [mss 1460], length 0"
        );
    }

    #[test]
    fn arp_request_and_odd_frames() {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0x99, 0, 2, 0, 0x66, 0x08, 0x06]);
        f.extend_from_slice(&[
            0, 1, 8, 0, 6, 4, 0, 1, 2, 0x99, 0, 2, 0, 0x66, 10, 99, 2, 66,
        ]);
        f.extend_from_slice(&[0, 0, 0, 0, 0, 0, 10, 99, 2, 1]);
        let mut p = TcpdumpPrinter::new(false);
        let l = p.line(Timestamp::ZERO, 1, &f).to_string();
        assert_eq!(
            l,
            "00:00:00.000000 ARP, Request who-has 10.99.2.1 tell 10.99.2.66, length 28"
        );
        // Truncated and garbage frames never panic.
        for n in 0..f.len() {
            let _ = p.line(Timestamp::ZERO, 1, &f[..n]);
            let _ = p.line(Timestamp::ZERO, 101, &f[..n]);
        }
        assert_eq!(ms_of_day(44_136_337), "12:15:36.337");
    }
}
