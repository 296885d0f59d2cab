use super::*;
use std::net::Ipv6Addr;

const SYN: &str = "NEW IN=br-lan OUT=gw-ext MAC=02:99:00:01:00:01:02:99:00:01:00:02:08:00 SRC=10.99.1.2 DST=10.99.2.3 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=46293 DF PROTO=TCP SPT=37642 DPT=80 WINDOW=64240 RES=0x00 SYN URGP=0 OPT (020405B40402080A809AD267000000000103030A) ";

#[test]
fn tcp_syn_with_options() {
    let f = parse(SYN).unwrap();
    assert_eq!(
        (f.prefix, f.in_iface, f.out_iface),
        ("NEW", "br-lan", "gw-ext")
    );
    let h = f.header;
    assert_eq!(h.src, "10.99.1.2".parse::<IpAddr>().unwrap());
    assert_eq!(
        (
            h.protocol,
            h.ip.version,
            h.ip.total_len,
            h.ip.ttl,
            h.ip.id,
            h.ip.df
        ),
        (6, 4, 60, 63, 46293, true)
    );
    let t = h.tcp().unwrap();
    assert_eq!(
        (t.sport, t.dport, t.window, t.urgp, t.flags),
        (37642, 80, 64240, 0, TcpFlags(TcpFlags::SYN))
    );
    assert_eq!(t.mss(), Some(1460));
    assert_eq!(t.window_scale(), Some(10));
    assert_eq!(t.timestamps(), Some((0x809A_D267, 0)));
    assert!(t.sack_permitted());
    let (dmac, smac, ethertype) = f.ethernet().unwrap();
    assert_eq!((dmac[5], smac[5], ethertype), (0x01, 0x02, 0x0800));
}

#[test]
fn tcp_flags_reserved_bits_and_sequence() {
    let f = parse("IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=52 TOS=0x10 PREC=0xA0 TTL=42 ID=1 CE PROTO=TCP SPT=1 DPT=21 SEQ=4000000000 ACK=7 WINDOW=3 RES=0x20 CWR ECE URG ACK PSH RST SYN FIN URGP=63477 ").unwrap();
    let t = f.header.tcp().unwrap();
    assert_eq!(t.flags.0, 0xff);
    assert_eq!(
        (t.reserved, t.urgp, t.seq, t.ack),
        (8, 63477, Some(4_000_000_000), Some(7))
    );
    assert_eq!((f.header.ip.tos, f.header.ip.reserved_bit), (0xB0, true));
    assert_eq!(f.prefix, "");
}

#[test]
fn udp_icmp_and_numeric_protocols() {
    let f = parse("DROP IN=eth1 OUT= MAC= SRC=192.168.10.55 DST=192.168.10.1 LEN=28 TOS=0x00 PREC=0x00 TTL=50 ID=54985 PROTO=UDP SPT=44318 DPT=1146 LEN=8 ").unwrap();
    assert_eq!(
        f.header.udp().map(|u| (u.sport, u.dport, u.len)),
        Some((44318, 1146, 8))
    );
    assert_eq!(f.header.ip.total_len, 28);
    let f = parse("ICMP IN=eth0 OUT= SRC=192.168.10.55 DST=192.168.10.1 LEN=28 TOS=0x00 PREC=0x00 TTL=64 ID=18443 PROTO=ICMP TYPE=8 CODE=2 ID=2158 SEQ=512").unwrap();
    let i = f.header.icmp().unwrap();
    assert_eq!(
        (i.icmp_type, i.code, i.id, i.seq),
        (8, 2, Some(2158), Some(512))
    );
    assert_eq!(f.header.ip.id, 18443);
    let f = parse("Shorewall:wlan0_mac:DROP:IN=wlan0 OUT= MAC=02:00:5e:02:03:01:18:53:33:33:d6:41:03:00 SRC=192.168.10.55 DST=224.0.0.1 LEN=36 TOS=0x00 PREC=0xC0 TTL=1 ID=0 PROTO=2").unwrap();
    assert_eq!(
        (
            f.prefix,
            f.header.protocol,
            f.header.ip.tos,
            f.header.transport
        ),
        ("Shorewall:wlan0_mac:DROP:", 2, 0xC0, Transport::Other)
    );
    let f = parse("DROP IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=20 TOS=0x00 PREC=0x00 TTL=40 ID=42813 PROTO=AH INCOMPLETE [0 bytes] ").unwrap();
    assert_eq!((f.header.protocol, f.incomplete), (51, Some(0)));
    let f = parse("X IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=20 TOS=0x00 PREC=0x00 TTL=40 ID=1 PROTO=ESP SPI=0x1f2 UID=1000 GID=100 MARK=0x2a ").unwrap();
    assert_eq!(
        (f.spi, f.uid, f.gid, f.mark),
        (Some(0x1f2), Some(1000), Some(100), Some(42))
    );
    // psad's proto_scan: the ICMPv6 number in an IPv4 packet is just a number.
    let f = parse("DROP IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=20 TOS=0x00 PREC=0x00 TTL=52 ID=48031 PROTO=58 ").unwrap();
    assert_eq!(
        (f.header.protocol, f.header.transport),
        (58, Transport::Other)
    );
}

#[test]
fn ipv6_expanded_and_compressed_agree() {
    let long = parse("NEW IN=gw-ext OUT=br-lan MAC=02:99:00:02:00:01:02:99:00:02:00:66:86:dd SRC=fd99:0002:0000:0000:0000:0000:0000:0066 DST=fd99:0001:0000:0000:0000:0000:0000:0003 LEN=48 TC=0 HOPLIMIT=254 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=32816 SEQ=0 ").unwrap();
    let short = parse("NEW IN=gw-ext OUT=br-lan MAC= SRC=fd99:2::66 DST=fd99:1::3 LEN=48 TC=0 HOPLIMIT=254 FLOWLBL=0 PROTO=ICMPv6 TYPE=128 CODE=0 ID=32816 SEQ=0 ").unwrap();
    assert_eq!(long.header, short.header);
    assert_eq!(
        long.header.src,
        IpAddr::V6("fd99:2::66".parse::<Ipv6Addr>().unwrap())
    );
    assert_eq!(
        (
            long.header.ip.version,
            long.header.ip.ttl,
            long.header.protocol
        ),
        (6, 254, 58)
    );
    assert_eq!(
        long.header.icmp().map(|i| (i.icmp_type, i.id)),
        Some((128, Some(32816)))
    );
}

#[test]
fn ipv6_extension_headers() {
    let topera = "DROP IN=eth0 OUT= SRC=2012:1234:1234:0000:0000:0000:0000:0001 DST=2012:1234:1234:0000:0000:0000:0000:0002 LEN=132 TC=0 HOPLIMIT=64 FLOWLBL=0 OPT ( ) OPT ( ) OPT ( ) OPT ( ) OPT ( ) OPT ( ) OPT ( ) OPT ( ) OPT ( ) PROTO=TCP SPT=58537 DPT=1234 WINDOW=8192 RES=0x00 SYN URGP=0 ";
    let f = parse(topera).unwrap();
    assert_eq!(f.ipv6_ext_headers, 9);
    assert_eq!(f.header.tcp().map(|t| t.dport), Some(1234));
    let frag = parse("X IN=eth0 OUT= SRC=::1 DST=::2 LEN=1280 TC=0 HOPLIMIT=64 FLOWLBL=5 OPT ( FRAG:1448 INCOMPLETE ID:0000abcd ) PROTO=UDP ").unwrap();
    let ip = frag.header.ip;
    assert_eq!(
        (ip.frag_offset, ip.mf, ip.fragmented, ip.id, ip.flow_label),
        (1448, true, true, 0xabcd, 5)
    );
    assert_eq!(frag.header.transport, Transport::Other);
}

#[test]
fn ipv4_fragments_and_options() {
    let f = parse("X IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=548 TOS=0x00 PREC=0x00 TTL=64 ID=7 MF FRAG:185 OPT (07070400000000) PROTO=TCP ").unwrap();
    let ip = f.header.ip;
    assert_eq!((ip.frag_offset, ip.mf, ip.fragmented), (1480, true, true));
    assert_eq!(ip.options.as_bytes(), &[7, 7, 4, 0, 0, 0, 0]);
    assert_eq!(f.header.transport, Transport::Other);
}

#[test]
fn icmp_error_keeps_outer_header() {
    let msg = "DROP IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 LEN=56 TOS=0x00 PREC=0xC0 TTL=64 ID=1 PROTO=ICMP TYPE=3 CODE=4 [SRC=10.0.0.2 DST=10.0.0.9 LEN=1500 TOS=0x00 PREC=0x00 TTL=63 ID=2 DF PROTO=TCP SPT=80 DPT=9 WINDOW=1 RES=0x00 ACK URGP=0 ] MTU=1400 ";
    let f = parse(msg).unwrap();
    assert_eq!(f.header.dst, "10.0.0.2".parse::<IpAddr>().unwrap());
    assert_eq!(f.header.icmp().map(|i| (i.icmp_type, i.code)), Some((3, 4)));
    assert_eq!(f.icmp_mtu, Some(1400));
    assert!(f.embedded.starts_with("SRC=10.0.0.2 DST=10.0.0.9"));
    let nested_incomplete = "X IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=56 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=ICMP TYPE=11 CODE=0 [SRC=2.2.2.2 DST=3.3.3.3 LEN=40 TOS=0x00 PREC=0x00 TTL=1 ID=2 PROTO=TCP INCOMPLETE [8 bytes] ] ";
    assert_eq!(
        parse(nested_incomplete)
            .unwrap()
            .header
            .icmp()
            .map(|i| i.icmp_type),
        Some(11)
    );
}

#[test]
fn firewall_frontends_prefixes() {
    let ufw = parse("[UFW BLOCK] IN=eth0 OUT= MAC=aa SRC=1.1.1.1 DST=2.2.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=1 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 RST URGP=0 ").unwrap();
    assert_eq!(ufw.prefix, "[UFW BLOCK]");
    let nft = parse("nft drop in: IN=eth0 OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=1 ID=1 PROTO=UDP SPT=1 DPT=2 LEN=20 ").unwrap();
    assert_eq!(nft.prefix, "nft drop in:");
    let tricky = parse("LOGIN=x IN=eth0 OUT= PHYSIN=veth1 PHYSOUT=veth2 SRC=1.1.1.1 DST=2.2.2.2 LEN=40 TOS=0x00 PREC=0x00 TTL=1 ID=1 PROTO=47 ").unwrap();
    assert_eq!(
        (
            tricky.prefix,
            tricky.physin,
            tricky.physout,
            tricky.header.protocol
        ),
        ("LOGIN=x", "veth1", "veth2", 47)
    );
}

#[test]
fn malformed_fields_are_named() {
    let cases = [
        (
            "IN=a OUT= SRC=1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=2",
            "SRC",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=::1 LEN=1 TTL=1 ID=1 PROTO=2",
            "DST",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=99999 TTL=1 ID=1 PROTO=2",
            "LEN",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=TCP SPT=1 DPT=2 WIN",
            "token",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=5",
            "URGP",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=TCP",
            "PROTO",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1",
            "PROTO",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 URGP=0 OPT (0204",
            "OPT",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 URGP=0 OPT (0Z)",
            "OPT",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TOS=00 TTL=1 ID=1 PROTO=2",
            "TOS",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 ID=1 PROTO=2",
            "TTL",
        ),
        (
            "IN=a OUT= SRC=1.1.1.1 DST=2.2.2.2 LEN=1 TTL=1 ID=1 PROTO=ICMP TYPE=3 CODE=1 [SRC=1",
            "[",
        ),
    ];
    for (msg, field) in cases {
        match parse(msg) {
            Err(LineError::BadField { field: got, .. }) => assert_eq!(got, field, "{msg}"),
            other => panic!("{msg}: {other:?}"),
        }
    }
    assert_eq!(parse("no netfilter here"), Err(LineError::NotRecognised));
    assert_eq!(parse("IN=eth0"), Err(LineError::NotRecognised));
}
