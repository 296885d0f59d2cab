//! Packet decoding: IP and transport headers into the shared [`Header`].
//!
//! [`decode_ip`] is a pure function over a borrowed IP packet and
//! [`decode_frame`] adds the link layer, so capture files, live capture and
//! the fuzz targets share one decoder. Both are lax the way tcpdump is: a
//! packet cut short by the snap length still yields every header that is
//! present, and a transport header that is missing or malformed leaves
//! [`Transport::Other`] with the IP payload rather than failing the packet
//! (a scanner's malformed probe is still a packet worth seeing). Only an IP
//! header that cannot be read is an error. Nothing is allocated.

use super::link::{self, LinkError};
use etherparse::{
    Icmpv4Slice, Icmpv6Slice, LaxIpv4Slice, LaxIpv6Slice, TcpHeaderSlice, UdpHeaderSlice, err,
};
use std::net::IpAddr;
use tripline_core::{
    Header, IcmpFields, IpFields, LinkInfo, OptionBytes, TcpFields, TcpFlags, Transport, UdpFields,
    ip_proto,
};

/// Why an IP packet does not decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// No bytes at all.
    Empty,
    /// The version nibble is neither 4 nor 6.
    Version(u8),
    /// The IPv4 header length field is below 5 words.
    Ipv4HeaderLength(u8),
    /// The packet ends inside the IP header.
    Truncated {
        /// `"IPv4"` or `"IPv6"`.
        layer: &'static str,
        /// Bytes the header needs.
        need: usize,
        /// Bytes present.
        have: usize,
    },
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Empty => f.write_str("empty IP packet"),
            DecodeError::Version(v) => write!(f, "IP version {v} is neither 4 nor 6"),
            DecodeError::Ipv4HeaderLength(ihl) => write!(
                f,
                "IPv4 header length {ihl} words is below the minimum of 5"
            ),
            DecodeError::Truncated { layer, need, have } => {
                write!(f, "{layer} header needs {need} bytes, packet has {have}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a link-layer frame yields no decoded packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The link layer: not IP, unsupported link type, or truncated.
    Link(LinkError),
    /// The IP header inside the frame.
    Ip(DecodeError),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Link(e) => e.fmt(f),
            FrameError::Ip(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for FrameError {}

/// A frame decoded down to its transport payload; everything borrows from the frame.
#[derive(Clone, Copy, Debug)]
pub struct DecodedFrame<'a> {
    /// Link-layer facts (`interface` left at 0).
    pub link: LinkInfo,
    /// IP and transport headers.
    pub header: Header,
    /// Transport payload (the IP payload when the transport is `Other`).
    pub payload: &'a [u8],
    /// The whole IP packet, as handed to the defragmenter.
    pub ip: &'a [u8],
}

/// Decodes a frame captured with link type `linktype` (a `LINKTYPE_*` value,
/// see [`link::linktype`]).
pub fn decode_frame(linktype: u32, frame: &[u8]) -> Result<DecodedFrame<'_>, FrameError> {
    let (mut link, ip) = link::link_payload(linktype, frame).map_err(FrameError::Link)?;
    link.linktype = linktype;
    let (header, payload) = decode_ip(ip).map_err(FrameError::Ip)?;
    Ok(DecodedFrame {
        link,
        header,
        payload,
        ip,
    })
}

/// Decodes an IPv4 or IPv6 packet (version from the first nibble) into a
/// [`Header`] and the transport payload, which borrows from `data`.
pub fn decode_ip(data: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    let Some(&first) = data.first() else {
        return Err(DecodeError::Empty);
    };
    match first >> 4 {
        4 => decode_ipv4(data),
        6 => decode_ipv6(data),
        v => Err(DecodeError::Version(v)),
    }
}

fn len_error(layer: &'static str, e: &err::LenError) -> DecodeError {
    DecodeError::Truncated {
        layer,
        need: e.required_len,
        have: e.len,
    }
}

fn decode_ipv4(data: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    use err::ipv4::{HeaderError, HeaderSliceError};
    let (ip, _auth_error) = LaxIpv4Slice::from_slice(data).map_err(|e| match e {
        HeaderSliceError::Len(l) => len_error("IPv4", &l),
        HeaderSliceError::Content(HeaderError::UnexpectedVersion { version_number }) => {
            DecodeError::Version(version_number)
        }
        HeaderSliceError::Content(HeaderError::HeaderLengthSmallerThanHeader { ihl }) => {
            DecodeError::Ipv4HeaderLength(ihl)
        }
    })?;
    let h = ip.header();
    let raw = h.slice();
    let frag_offset = h.fragments_offset().byte_offset();
    let mf = h.more_fragments();
    let fields = IpFields {
        version: 4,
        total_len: h.total_len(),
        tos: raw[1],
        ttl: h.ttl(),
        id: h.identification() as u32,
        df: h.dont_fragment(),
        mf,
        reserved_bit: raw[6] & 0x80 != 0,
        frag_offset,
        fragmented: mf || frag_offset != 0,
        flow_label: 0,
        options: OptionBytes::new(h.options()).unwrap_or_default(),
    };
    let payload = ip.payload();
    let protocol = payload.ip_number.0;
    let (transport, rest) = decode_transport(protocol, false, payload.payload, frag_offset == 0);
    let header = Header {
        src: IpAddr::V4(h.source_addr()),
        dst: IpAddr::V4(h.destination_addr()),
        protocol,
        ip: fields,
        transport,
    };
    Ok((header, rest))
}

fn decode_ipv6(data: &[u8]) -> Result<(Header, &[u8]), DecodeError> {
    use err::ipv6::{HeaderError, HeaderSliceError};
    let (ip, _ext_error) = LaxIpv6Slice::from_slice(data).map_err(|e| match e {
        HeaderSliceError::Len(l) => len_error("IPv6", &l),
        HeaderSliceError::Content(HeaderError::UnexpectedVersion { version_number }) => {
            DecodeError::Version(version_number)
        }
    })?;
    let h = ip.header();
    let payload_len = h.payload_length() as usize;
    // A zero payload length means a jumbogram (or a lie): use what was captured.
    let total = if payload_len == 0 {
        data.len()
    } else {
        40 + payload_len
    };
    let mut fields = IpFields {
        version: 6,
        total_len: total.min(u16::MAX as usize) as u16,
        tos: h.traffic_class(),
        ttl: h.hop_limit(),
        flow_label: h.flow_label().value(),
        ..IpFields::default()
    };
    if let Some(frag) = ipv6_fragment_header(data, h.next_header().0) {
        fields.id = u32::from_be_bytes([frag[4], frag[5], frag[6], frag[7]]);
        let word = u16::from_be_bytes([frag[2], frag[3]]);
        fields.frag_offset = word & 0xfff8;
        fields.mf = word & 1 != 0;
        fields.fragmented = fields.mf || fields.frag_offset != 0;
    }
    let payload = ip.payload();
    let protocol = payload.ip_number.0;
    let first = fields.frag_offset == 0;
    let (transport, rest) = decode_transport(protocol, true, payload.payload, first);
    let header = Header {
        src: IpAddr::V6(h.source_addr()),
        dst: IpAddr::V6(h.destination_addr()),
        protocol,
        ip: fields,
        transport,
    };
    Ok((header, rest))
}

/// The 8-byte IPv6 fragment header, if the extension header chain has one.
///
/// Walked here rather than with etherparse's extension iterator, which reads
/// out of bounds on some truncated chains (found by the `decoder` fuzz target).
fn ipv6_fragment_header(data: &[u8], first: u8) -> Option<&[u8]> {
    let mut next = first;
    let mut pos = 40;
    loop {
        let len = match next {
            44 => return data.get(pos..pos + 8),
            0 | 43 | 60 => (*data.get(pos + 1)? as usize + 1) * 8,
            51 => (*data.get(pos + 1)? as usize + 2) * 4,
            _ => return None,
        };
        next = *data.get(pos)?;
        pos += len;
    }
}

/// ICMP types whose bytes 4..8 are an identifier and a sequence number.
fn icmp_has_id_seq(v6: bool, icmp_type: u8) -> bool {
    if v6 {
        // echo request/reply
        matches!(icmp_type, 128 | 129)
    } else {
        // echo reply/request, timestamp, information, address mask
        matches!(icmp_type, 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18)
    }
}

fn decode_transport(
    protocol: u8,
    v6: bool,
    data: &[u8],
    first_fragment: bool,
) -> (Transport, &[u8]) {
    if !first_fragment {
        return (Transport::Other, data);
    }
    match protocol {
        ip_proto::TCP => match TcpHeaderSlice::from_slice(data) {
            Ok(tcp) => {
                let raw = tcp.slice();
                let fields = TcpFields {
                    sport: tcp.source_port(),
                    dport: tcp.destination_port(),
                    seq: Some(tcp.sequence_number()),
                    ack: Some(tcp.acknowledgment_number()),
                    window: tcp.window_size(),
                    flags: TcpFlags(raw[13]),
                    reserved: raw[12] & 0x0f,
                    urgp: tcp.urgent_pointer(),
                    options: OptionBytes::new(tcp.options()).unwrap_or_default(),
                };
                (Transport::Tcp(fields), &data[raw.len()..])
            }
            Err(_) => (Transport::Other, data),
        },
        ip_proto::UDP => match UdpHeaderSlice::from_slice(data) {
            Ok(udp) => {
                let len = udp.length();
                let mut rest = &data[8..];
                // Trim link-layer padding, never extend past what was captured.
                if len >= 8 && (len as usize - 8) < rest.len() {
                    rest = &rest[..len as usize - 8];
                }
                let fields = UdpFields {
                    sport: udp.source_port(),
                    dport: udp.destination_port(),
                    len,
                };
                (Transport::Udp(fields), rest)
            }
            Err(_) => (Transport::Other, data),
        },
        ip_proto::ICMP if !v6 => match Icmpv4Slice::from_slice(data) {
            Ok(icmp) => {
                let fields = icmp_fields(false, icmp.type_u8(), icmp.code_u8(), icmp.bytes5to8());
                (Transport::Icmp(fields), &data[8..])
            }
            Err(_) => short_icmp(data),
        },
        ip_proto::ICMPV6 if v6 => match Icmpv6Slice::from_slice(data) {
            Ok(icmp) => {
                let fields = icmp_fields(true, icmp.type_u8(), icmp.code_u8(), icmp.bytes5to8());
                (Transport::Icmp(fields), &data[8..])
            }
            Err(_) => short_icmp(data),
        },
        _ => (Transport::Other, data),
    }
}

fn icmp_fields(v6: bool, icmp_type: u8, code: u8, b: [u8; 4]) -> IcmpFields {
    let (id, seq) = if icmp_has_id_seq(v6, icmp_type) {
        (
            Some(u16::from_be_bytes([b[0], b[1]])),
            Some(u16::from_be_bytes([b[2], b[3]])),
        )
    } else {
        (None, None)
    };
    IcmpFields {
        icmp_type,
        code,
        id,
        seq,
    }
}

/// An ICMP message cut short by the snap length: type and code if present.
fn short_icmp(data: &[u8]) -> (Transport, &[u8]) {
    if data.len() >= 2 {
        let fields = IcmpFields {
            icmp_type: data[0],
            code: data[1],
            id: None,
            seq: None,
        };
        (Transport::Icmp(fields), &[])
    } else {
        (Transport::Other, data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // IPv4 SYN 10.0.0.1:40000 -> 10.0.0.2:80, DF, TTL 64, id 0x1234, MSS option.
    const SYN: [u8; 44] = [
        0x45, 0x00, 0x00, 0x2c, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06, 0x00, 0x00, 10, 0, 0, 1, 10, 0,
        0, 2, 0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x02, 0x04, 0x00, 0, 0, 0, 0,
        2, 4, 5, 0xb4,
    ];

    #[test]
    fn decodes_ipv4_syn() {
        let (h, payload) = decode_ip(&SYN).unwrap();
        assert_eq!(h.src.to_string(), "10.0.0.1");
        assert_eq!(
            (h.ip.id, h.ip.df, h.ip.ttl, h.ip.total_len),
            (0x1234, true, 64, 44)
        );
        let tcp = h.tcp().unwrap();
        assert_eq!(
            (tcp.sport, tcp.dport, tcp.seq, tcp.window),
            (40000, 80, Some(1), 1024)
        );
        assert!(tcp.flags.exactly(TcpFlags::SYN));
        assert_eq!(tcp.mss(), Some(1460));
        assert!(payload.is_empty());
    }

    #[test]
    fn snapped_tcp_keeps_ip_header() {
        let (h, payload) = decode_ip(&SYN[..30]).unwrap();
        assert_eq!(h.protocol, ip_proto::TCP);
        assert_eq!(h.transport, Transport::Other);
        assert_eq!(payload.len(), 10);
    }

    #[test]
    fn rejects_broken_ip_headers() {
        assert_eq!(decode_ip(&[]), Err(DecodeError::Empty));
        assert_eq!(decode_ip(&[0x55]), Err(DecodeError::Version(5)));
        assert_eq!(
            decode_ip(&[0x43; 20]),
            Err(DecodeError::Ipv4HeaderLength(3))
        );
        assert!(matches!(
            decode_ip(&SYN[..12]),
            Err(DecodeError::Truncated { layer: "IPv4", .. })
        ));
        assert!(matches!(
            decode_ip(&[0x60; 20]),
            Err(DecodeError::Truncated { layer: "IPv6", .. })
        ));
    }

    #[test]
    fn truncated_extension_chain_does_not_panic() {
        // decoder fuzz target: payload length 0 and a hop-by-hop header cut short
        let mut p = vec![0x6a, 0, 0, 0, 0, 0, 0, 0];
        p.extend_from_slice(&[7; 32]);
        p.push(0);
        let (h, _) = decode_ip(&p).unwrap();
        assert_eq!((h.ip.version, h.ip.fragmented), (6, false));
    }

    #[test]
    fn ipv6_fragment_header_is_walked() {
        let mut p = vec![0x6a, 0x0b, 0xcd, 0xef, 0, 16, 44, 64];
        p.extend_from_slice(&[0xfd, 0x99, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x66]);
        p.extend_from_slice(&[0xfd, 0x99, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        // fragment header: next UDP, offset 8 bytes (1 unit), MF, id 0xdeadbeef
        p.extend_from_slice(&[17, 0, 0x00, 0x09, 0xde, 0xad, 0xbe, 0xef]);
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let (h, payload) = decode_ip(&p).unwrap();
        assert_eq!(
            (h.ip.id, h.ip.frag_offset, h.ip.mf, h.ip.fragmented),
            (0xdeadbeef, 8, true, true)
        );
        assert_eq!((h.ip.tos, h.ip.flow_label, h.protocol), (0xa0, 0xbcdef, 17));
        assert_eq!(h.transport, Transport::Other);
        assert_eq!(payload, &[1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
