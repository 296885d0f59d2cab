//! The cheap part of a rule: protocol, addresses, ports, direction, `flow`
//! and the header-field tests. These need no payload, so they run on
//! firewall log records as well as packets.

use super::address_set::AddressSet;
use super::context::Inspect;
use crate::header::{FlowDirection, Protocol, RuleHeader};
use crate::options::{BitsMode, Flow, HeaderTest};
use tripline_core::Transport;

/// True when the rule's protocol admits the packet.
pub(crate) fn protocol_matches(p: Protocol, i: &Inspect<'_>) -> bool {
    let proto = i.header.protocol;
    match p {
        Protocol::Ip => true,
        Protocol::Tcp => proto == 6,
        Protocol::TcpPkt => proto == 6 && !i.flow.stream,
        Protocol::TcpStream => proto == 6 && i.flow.stream,
        Protocol::Udp => proto == 17,
        Protocol::Icmp => proto == 1 || proto == 58,
        Protocol::App(a) => i.app_proto == Some(a),
    }
}

fn ports(i: &Inspect<'_>) -> Option<(u16, u16)> {
    match i.header.transport {
        Transport::Tcp(t) => Some((t.sport, t.dport)),
        Transport::Udp(u) => Some((u.sport, u.dport)),
        _ => None,
    }
}

/// True when addresses and ports match in the rule's direction (either
/// way for `<>`). Port specs other than `any` need a TCP/UDP packet.
/// `src_set` and `dst_set` are the header's address specs compiled.
pub(crate) fn endpoints_match(
    h: &RuleHeader,
    src_set: &AddressSet,
    dst_set: &AddressSet,
    i: &Inspect<'_>,
) -> bool {
    let hdr = i.header;
    let one_way = |src, dst, sp: Option<u16>, dp: Option<u16>| {
        (h.src_ports.is_any() || sp.is_some_and(|p| h.src_ports.contains(p)))
            && (h.dst_ports.is_any() || dp.is_some_and(|p| h.dst_ports.contains(p)))
            && src_set.contains(src)
            && dst_set.contains(dst)
    };
    let (sp, dp) = match ports(i) {
        Some((s, d)) => (Some(s), Some(d)),
        None => (None, None),
    };
    one_way(hdr.src, hdr.dst, sp, dp)
        || (h.direction == FlowDirection::Both && one_way(hdr.dst, hdr.src, dp, sp))
}

/// True when the packet's flow state satisfies `flow:`.
pub(crate) fn flow_matches(f: &Flow, i: &Inspect<'_>) -> bool {
    if f.established && !i.flow.established {
        return false;
    }
    if f.not_established && i.flow.established {
        return false;
    }
    if f.to_server && !i.flow.to_server {
        return false;
    }
    if f.to_client && i.flow.to_server {
        return false;
    }
    if f.only_stream && !i.flow.stream {
        return false;
    }
    if f.no_stream && i.flow.stream {
        return false;
    }
    if f.only_frag && !i.flow.reassembled_fragment {
        return false;
    }
    if f.no_frag && i.flow.reassembled_fragment {
        return false;
    }
    true
}

fn bits_match(value: u8, bits: u8, mode: BitsMode, mask: u8) -> bool {
    let v = value & !mask;
    match mode {
        BitsMode::Exact => v == bits,
        BitsMode::All => v & bits == bits,
        BitsMode::Any => v & bits != 0,
        BitsMode::Not => v & bits == 0,
    }
}

/// IP option types by the names `ipopts` uses.
fn ip_option_type(name: &str) -> Option<u8> {
    Some(match name {
        "eol" => 0,
        "nop" => 1,
        "rr" => 7,
        "ts" => 68,
        "sec" => 130,
        "lsrr" | "lsrre" => 131,
        "esec" => 133,
        "satid" => 136,
        "ssrr" => 137,
        _ => return None,
    })
}

fn has_ip_option(opts: &[u8], name: &str) -> bool {
    if name == "any" {
        return !opts.is_empty();
    }
    let Some(want) = ip_option_type(name) else {
        return false;
    };
    let mut i = 0;
    while i < opts.len() {
        let t = opts[i];
        if t == want {
            return true;
        }
        i += match t {
            0 => return false,
            1 => 1,
            _ => match opts.get(i + 1) {
                Some(&l) if l >= 2 => usize::from(l),
                _ => return false,
            },
        };
    }
    false
}

/// True when one header test passes.
pub(crate) fn header_test_matches(t: &HeaderTest, i: &Inspect<'_>) -> bool {
    let h = i.header;
    let icmp = match h.transport {
        Transport::Icmp(c) => Some(c),
        _ => None,
    };
    match t {
        HeaderTest::Dsize(c) => c.matches(i.payload_len as u64),
        HeaderTest::Ttl(c) => c.matches(u64::from(h.ip.ttl)),
        HeaderTest::Tos(c) => c.matches(u64::from(h.ip.tos)),
        HeaderTest::Id(id) => h.ip.version == 4 && h.ip.id == u32::from(*id),
        HeaderTest::Ipopts(name) => has_ip_option(h.ip.options.as_bytes(), name),
        HeaderTest::Fragbits { bits, mode } => {
            let value = (u8::from(h.ip.mf) << 5)
                | (u8::from(h.ip.df) << 6)
                | (u8::from(h.ip.reserved_bit) << 7);
            bits_match(value, *bits, *mode, 0)
        }
        HeaderTest::SameIp => h.src == h.dst,
        HeaderTest::IpProto(c) => c.matches(u64::from(h.protocol)),
        HeaderTest::Itype(c) => icmp.is_some_and(|x| c.matches(u64::from(x.icmp_type))),
        HeaderTest::Icode(c) => icmp.is_some_and(|x| c.matches(u64::from(x.code))),
        HeaderTest::IcmpId(id) => icmp.is_some_and(|x| x.id == Some(*id)),
        HeaderTest::IcmpSeq(seq) => icmp.is_some_and(|x| x.seq == Some(*seq)),
        HeaderTest::Flags { bits, mode, mask } => match h.transport {
            Transport::Tcp(t) => bits_match(t.flags.0, *bits, *mode, *mask),
            _ => false,
        },
        HeaderTest::StreamSize { side, cmp } => {
            let (c, s) = (i.flow.client_bytes, i.flow.server_bytes);
            match side.as_str() {
                "client" => cmp.matches(c),
                "server" => cmp.matches(s),
                "both" => cmp.matches(c) && cmp.matches(s),
                _ => cmp.matches(c) || cmp.matches(s),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_options_walk() {
        // NOP, RR(len 7), EOL
        let opts = [1, 7, 7, 4, 0, 0, 0, 0, 0];
        assert!(has_ip_option(&opts, "rr"));
        assert!(has_ip_option(&opts, "nop"));
        assert!(!has_ip_option(&opts, "lsrr"));
        assert!(has_ip_option(&opts, "any"));
        assert!(!has_ip_option(&[], "any"));
        // a zero length never loops forever
        assert!(!has_ip_option(&[130, 0, 7], "rr"));
    }

    #[test]
    fn bits_modes() {
        assert!(bits_match(0x12, 0x12, BitsMode::Exact, 0));
        assert!(!bits_match(0x12, 0x02, BitsMode::Exact, 0));
        assert!(bits_match(0x12, 0x02, BitsMode::All, 0));
        assert!(bits_match(0x12, 0x03, BitsMode::Any, 0));
        assert!(bits_match(0x12, 0x01, BitsMode::Not, 0));
        assert!(bits_match(0xd2, 0x12, BitsMode::Exact, 0xc0));
    }
}
