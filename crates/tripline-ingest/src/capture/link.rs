//! Link layers: from a captured frame to the IP packet inside it.
//!
//! Every supported link type is a fixed-offset header, so this is plain
//! slicing: no allocation, no copy. Frames that carry something other than
//! IP (ARP, LLDP, STP...) are told apart from damaged frames so the source can
//! count them as skipped rather than as errors.

use tripline_core::LinkInfo;

/// pcap/pcapng `LINKTYPE_*` values tripline decodes.
pub mod linktype {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: u32 = 0;
    /// Ethernet (DIX and 802.3), with optional 802.1Q / QinQ tags.
    pub const ETHERNET: u32 = 1;
    /// Raw IP as `DLT_RAW` is numbered on most BSDs.
    pub const RAW_BSD: u32 = 12;
    /// Raw IP as `DLT_RAW` is numbered on OpenBSD.
    pub const RAW_OPENBSD: u32 = 14;
    /// Raw IP (`LINKTYPE_RAW`).
    pub const RAW: u32 = 101;
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux cooked capture v1 (`-i any` before libpcap 1.10).
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4 only.
    pub const IPV4: u32 = 228;
    /// Raw IPv6 only.
    pub const IPV6: u32 = 229;
    /// Linux cooked capture v2 (`-i any` with libpcap 1.10+).
    pub const LINUX_SLL2: u32 = 276;

    /// True when [`super::link_payload`] knows how to decode `lt`.
    pub fn is_supported(lt: u32) -> bool {
        matches!(
            lt,
            NULL | ETHERNET
                | RAW_BSD
                | RAW_OPENBSD
                | RAW
                | LOOP
                | LINUX_SLL
                | IPV4
                | IPV6
                | LINUX_SLL2
        )
    }
}

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q customer VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// 802.1ad service VLAN tag (QinQ outer tag).
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ outer tag used by some switches.
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;

/// Most VLAN tags followed before giving up (QinQ uses two).
const MAX_VLAN_TAGS: usize = 4;

/// Why a frame yields no IP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkError {
    /// A well-formed frame carrying another protocol (ARP, LLDP, IPX...);
    /// `protocol` is the EtherType, SLL protocol or BSD address family.
    NotIp {
        /// The protocol number as the link layer names it.
        protocol: u32,
    },
    /// tripline has no decoder for this link type.
    Unsupported {
        /// The `LINKTYPE_*` value.
        linktype: u32,
    },
    /// The frame is shorter than its link-layer header.
    Truncated {
        /// Bytes the header needs.
        need: usize,
        /// Bytes the frame has.
        have: usize,
    },
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::NotIp { protocol } => {
                write!(f, "not an IP frame (protocol 0x{protocol:04x})")
            }
            LinkError::Unsupported { linktype } => write!(f, "unsupported link type {linktype}"),
            LinkError::Truncated { need, have } => {
                write!(f, "link-layer header needs {need} bytes, frame has {have}")
            }
        }
    }
}

impl std::error::Error for LinkError {}

fn need(frame: &[u8], n: usize) -> Result<(), LinkError> {
    if frame.len() < n {
        Err(LinkError::Truncated {
            need: n,
            have: frame.len(),
        })
    } else {
        Ok(())
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn mac(b: &[u8], at: usize) -> [u8; 6] {
    let mut m = [0u8; 6];
    m.copy_from_slice(&b[at..at + 6]);
    m
}

fn ip_by_ethertype(ethertype: u16, rest: &[u8]) -> Result<&[u8], LinkError> {
    match ethertype {
        ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => Ok(rest),
        other => Err(LinkError::NotIp {
            protocol: other as u32,
        }),
    }
}

/// Strips the link-layer header of `frame` (captured with link type
/// `linktype`) and returns the IP packet with the link facts it carried.
/// `link.interface` is left at 0 for the caller to fill.
pub fn link_payload(linktype: u32, frame: &[u8]) -> Result<(LinkInfo, &[u8]), LinkError> {
    let mut link = LinkInfo::default();
    match linktype {
        linktype::ETHERNET => {
            need(frame, 14)?;
            link.dst_mac = Some(mac(frame, 0));
            link.src_mac = Some(mac(frame, 6));
            let mut ethertype = be16(frame, 12);
            let mut at = 14;
            let mut tags = 0;
            while matches!(
                ethertype,
                ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
            ) && tags < MAX_VLAN_TAGS
            {
                need(frame, at + 4)?;
                if link.vlan.is_none() {
                    link.vlan = Some(be16(frame, at) & 0x0fff);
                }
                ethertype = be16(frame, at + 2);
                at += 4;
                tags += 1;
            }
            Ok((link, ip_by_ethertype(ethertype, &frame[at..])?))
        }
        linktype::LINUX_SLL => {
            // packet type(2) ARPHRD(2) addr len(2) addr(8) protocol(2)
            need(frame, 16)?;
            if be16(frame, 4) == 6 {
                link.src_mac = Some(mac(frame, 6));
            }
            Ok((link, ip_by_ethertype(be16(frame, 14), &frame[16..])?))
        }
        linktype::LINUX_SLL2 => {
            // protocol(2) reserved(2) ifindex(4) ARPHRD(2) packet type(1) addr len(1) addr(8)
            need(frame, 20)?;
            if frame[11] == 6 {
                link.src_mac = Some(mac(frame, 12));
            }
            Ok((link, ip_by_ethertype(be16(frame, 0), &frame[20..])?))
        }
        linktype::NULL | linktype::LOOP => {
            need(frame, 4)?;
            let word = [frame[0], frame[1], frame[2], frame[3]];
            let family = if linktype == linktype::LOOP {
                u32::from_be_bytes(word)
            } else {
                // The capturing host's byte order is unknown: the family is a
                // small number, so whichever reading is small is the right one.
                let le = u32::from_le_bytes(word);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(word)
                }
            };
            match family {
                // AF_INET everywhere; AF_INET6 on Linux, NetBSD/OpenBSD, FreeBSD, macOS.
                2 | 10 | 24 | 28 | 30 => Ok((link, &frame[4..])),
                other => Err(LinkError::NotIp { protocol: other }),
            }
        }
        linktype::RAW
        | linktype::RAW_BSD
        | linktype::RAW_OPENBSD
        | linktype::IPV4
        | linktype::IPV6 => {
            need(frame, 1)?;
            match frame[0] >> 4 {
                4 | 6 => Ok((link, frame)),
                v => Err(LinkError::NotIp { protocol: v as u32 }),
            }
        }
        other => Err(LinkError::Unsupported { linktype: other }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qinq_takes_outer_vlan() {
        let mut f = vec![0u8; 12];
        f[0..6].copy_from_slice(&[1, 2, 3, 4, 5, 6]);
        f.extend_from_slice(&[
            0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00, 0x45,
        ]);
        let (link, ip) = link_payload(linktype::ETHERNET, &f).unwrap();
        assert_eq!(link.vlan, Some(100));
        assert_eq!(link.dst_mac, Some([1, 2, 3, 4, 5, 6]));
        assert_eq!(ip, &[0x45]);
    }

    #[test]
    fn arp_is_not_ip_and_short_vlan_is_truncated() {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(
            link_payload(linktype::ETHERNET, &f),
            Err(LinkError::NotIp { protocol: 0x0806 })
        );
        let mut g = vec![0u8; 12];
        g.extend_from_slice(&[0x81, 0x00, 0x00]);
        assert!(matches!(
            link_payload(linktype::ETHERNET, &g),
            Err(LinkError::Truncated { .. })
        ));
    }

    #[test]
    fn null_loopback_both_byte_orders() {
        assert!(link_payload(linktype::NULL, &[2, 0, 0, 0, 0x45]).is_ok());
        assert!(link_payload(linktype::NULL, &[0, 0, 0, 2, 0x45]).is_ok());
        assert!(link_payload(linktype::NULL, &[0, 0, 0, 30, 0x60]).is_ok());
        assert_eq!(
            link_payload(linktype::LOOP, &[2, 0, 0, 0, 0x45]),
            Err(LinkError::NotIp {
                protocol: 0x0200_0000
            })
        );
        assert_eq!(
            link_payload(147, &[0]),
            Err(LinkError::Unsupported { linktype: 147 })
        );
    }
}
