//! IP fragment reassembly: the nmap -f scan of the shared data, and
//! synthetic overlapping fragments, IPv6 fragments and the caps.

use std::collections::BTreeSet;
use std::net::IpAddr;
use tripline_core::{
    ErrorKind, Header, InputError, Location, Record, Timestamp, Transport, ip_proto,
};
use tripline_ingest::capture::defrag::{DefragEvent, DropReason};
use tripline_ingest::capture::{CaptureSource, DefragConfig, Defragmenter, decode_ip};
use tripline_ingest::{RecordSink, Source};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/");

#[derive(Default)]
struct Collect {
    packets: Vec<(Header, Vec<u8>)>,
    errors: Vec<InputError>,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        if let Record::Packet(p) = rec {
            self.packets.push((p.header, p.payload.to_vec()));
        }
    }
    fn error(&mut self, err: InputError) {
        self.errors.push(err);
    }
}

fn is_reassembled(h: &Header) -> bool {
    h.ip.fragmented && !h.ip.mf && h.ip.frag_offset == 0
}

#[test]
fn nmap_fragmented_syn_scan() {
    // scans/tcpdump_filter_counts.txt: "(ip[6:2] & 0x3fff) != 0" matches 309 packets in both
    // captures (S14: nmap -sS -f -p1-100 10.99.1.3). tshark -Y "ip.flags.mf==0 and
    // ip.frag_offset>0" | wc -l gives 103 datagrams, each in three 8-byte fragments.
    for file in ["scans/capture.pcap", "scans/capture_lan.pcap"] {
        let mut sink = Collect::default();
        CaptureSource::open(&format!("{SHARED}{file}"))
            .unwrap()
            .run(&mut sink);
        assert!(sink.errors.is_empty(), "{file}: {:?}", sink.errors);
        let fragments = sink
            .packets
            .iter()
            .filter(|(h, _)| h.ip.mf || h.ip.frag_offset != 0)
            .count();
        assert_eq!(fragments, 309, "{file}");
        let whole: Vec<&Header> = sink
            .packets
            .iter()
            .map(|(h, _)| h)
            .filter(|h| is_reassembled(h))
            .collect();
        assert_eq!(whole.len(), 103, "{file}");
        // tshark -Y "ip.flags.mf==0 and ip.frag_offset>0" -T fields -e ip.proto -e tcp.flags
        //   -e tcp.options -e tcp.dstport -e icmp.type: 101 SYNs with MSS 1460 (ports 1-100 and
        //   443), nmap's host discovery ACK to port 80 and ICMP timestamp request, all to 10.99.1.3.
        let target: IpAddr = "10.99.1.3".parse().unwrap();
        assert!(whole.iter().all(|h| h.dst == target));
        let syns: Vec<_> = whole
            .iter()
            .filter_map(|h| h.tcp())
            .filter(|t| t.flags.exactly(0x02))
            .collect();
        assert_eq!(syns.len(), 101, "{file}");
        assert!(syns.iter().all(|t| t.mss() == Some(1460)));
        let ports: BTreeSet<u16> = syns.iter().map(|t| t.dport).collect();
        let mut expected: BTreeSet<u16> = (1..=100).collect();
        expected.insert(443);
        assert_eq!(ports, expected, "{file}");
        let acks: Vec<_> = whole
            .iter()
            .filter_map(|h| h.tcp())
            .filter(|t| t.flags.exactly(0x10))
            .collect();
        assert_eq!((acks.len(), acks[0].dport), (1, 80));
        let icmp: Vec<_> = whole.iter().filter_map(|h| h.icmp()).collect();
        assert_eq!(
            (icmp.len(), icmp[0].icmp_type, icmp[0].id),
            (1, 13, Some(51737))
        );
        // Fragments other than the first never claim a transport header.
        assert!(
            sink.packets
                .iter()
                .all(|(h, _)| h.ip.frag_offset == 0 || h.transport == Transport::Other)
        );
    }
}

fn ipv4_fragment(id: u16, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let total = (20 + data.len()) as u16;
    let flags = (offset / 8) | if more { 0x2000 } else { 0 };
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&flags.to_be_bytes());
    p.extend_from_slice(&[64, ip_proto::UDP, 0, 0, 192, 0, 2, 1, 198, 51, 100, 7]);
    p.extend_from_slice(data);
    p
}

/// A pcap (LINKTYPE_RAW) holding these IP packets, one per second.
fn raw_pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut f = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0,
    ];
    for (i, p) in packets.iter().enumerate() {
        for word in [1_700_000_000 + i as u32, 0, p.len() as u32, p.len() as u32] {
            f.extend_from_slice(&word.to_le_bytes());
        }
        f.extend_from_slice(p);
    }
    f
}

/// UDP 40000 -> 53, 32 payload bytes, in three fragments where the second
/// rewrites 8 bytes the first already delivered.
fn overlapping_fragments() -> Vec<Vec<u8>> {
    let mut first = vec![0x9c, 0x40, 0, 53, 0, 40, 0, 0];
    first.extend_from_slice(&[b'A'; 16]);
    vec![
        ipv4_fragment(7, 0, true, &first),       // bytes 0..24
        ipv4_fragment(7, 32, false, &[b'C'; 8]), // bytes 32..40, last
        ipv4_fragment(7, 16, true, &[b'B'; 16]), // bytes 16..32, overlaps 16..24
    ]
}

#[test]
fn overlapping_fragments_first_received_wins() {
    let packets = overlapping_fragments();
    let file = raw_pcap(&packets);
    let mut sink = Collect::default();
    let stats = CaptureSource::from_reader("overlap.pcap", Box::new(std::io::Cursor::new(file)))
        .unwrap()
        .run(&mut sink);
    // three fragments plus the reassembled datagram
    assert_eq!((stats.units, stats.records), (3, 4));
    assert!(sink.packets[..3].iter().all(|(h, _)| h.ip.fragmented));
    assert!(matches!(sink.packets[0].0.transport, Transport::Udp(_)));
    assert_eq!(sink.packets[1].0.transport, Transport::Other);
    let (whole, payload) = &sink.packets[3];
    assert!(is_reassembled(whole));
    assert_eq!((whole.ip.id, whole.ip.total_len), (7, 60));
    let udp = whole.udp().unwrap();
    assert_eq!((udp.sport, udp.dport, udp.len), (40000, 53, 40));
    let mut expected = vec![b'A'; 16];
    expected.extend_from_slice(&[b'B'; 8]);
    expected.extend_from_slice(&[b'C'; 8]);
    assert_eq!(payload, &expected);
    // The overlap is reported at the third record (24 + 2 x (16 + 44) bytes into the file).
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
    let e = &sink.errors[0];
    assert_eq!(
        (e.kind, e.location),
        (ErrorKind::FragmentOverlap, Location::Offset(24 + 60 + 44))
    );
    assert!(e.message.contains("overlaps 8 bytes"), "{}", e.message);
    assert_eq!(stats.errors.get(&ErrorKind::FragmentOverlap), Some(&1));
}

fn ipv6_fragment(id: u32, offset: u16, more: bool, data: &[u8]) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&((8 + data.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[44, 64]);
    p.extend_from_slice(&"fd99:2::66".parse::<std::net::Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&"fd99:1::3".parse::<std::net::Ipv6Addr>().unwrap().octets());
    p.extend_from_slice(&[ip_proto::ICMPV6, 0]);
    p.extend_from_slice(&(offset | more as u16).to_be_bytes());
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(data);
    p
}

#[test]
fn ipv6_fragments_reassemble() {
    // ICMPv6 echo request id 0x4242 seq 9 with 24 payload bytes, in two fragments, last first.
    let mut icmp = vec![128, 0, 0, 0, 0x42, 0x42, 0, 9];
    icmp.extend(0u8..24);
    let mut d = Defragmenter::default();
    let t = Timestamp::from_secs_micros(1_700_000_000, 0);
    assert!(
        d.push(t, &ipv6_fragment(0xabcdef01, 16, false, &icmp[16..]))
            .is_none()
    );
    let whole = d
        .push(t, &ipv6_fragment(0xabcdef01, 0, true, &icmp[..16]))
        .expect("complete")
        .to_vec();
    let (h, payload) = decode_ip(&whole).unwrap();
    assert_eq!(
        (h.protocol, h.ip.total_len, h.ip.fragmented),
        (ip_proto::ICMPV6, 72, false)
    );
    let echo = h.icmp().unwrap();
    assert_eq!(
        (echo.icmp_type, echo.id, echo.seq),
        (128, Some(0x4242), Some(9))
    );
    assert_eq!(payload, &icmp[8..]);
    assert_eq!(
        (d.stats().reassembled, d.stats().buffered_bytes, d.pending()),
        (1, 0, 0)
    );
    assert_eq!(d.drain_events().count(), 0);
}

fn dropped(d: &mut Defragmenter) -> Vec<(u32, DropReason)> {
    d.drain_events()
        .filter_map(|e| match e {
            DefragEvent::Dropped { key, reason, .. } => Some((key.id, reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn caps_and_timeout_drop_datagrams() {
    let t0 = Timestamp::from_secs_micros(1_700_000_000, 0);
    // count cap: the oldest datagram makes room
    let mut d = Defragmenter::new(DefragConfig {
        max_datagrams: 2,
        ..DefragConfig::default()
    });
    for id in 1..=3 {
        assert!(d.push(t0, &ipv4_fragment(id, 0, true, &[0; 8])).is_none());
    }
    assert_eq!(dropped(&mut d), vec![(1, DropReason::CountCap)]);
    assert_eq!(d.pending(), 2);

    // memory cap: 20 header + 40 data bytes each, 100 allowed
    let mut d = Defragmenter::new(DefragConfig {
        max_bytes: 100,
        ..DefragConfig::default()
    });
    d.push(t0, &ipv4_fragment(1, 0, true, &[0; 40]));
    d.push(t0, &ipv4_fragment(2, 0, true, &[0; 40]));
    assert_eq!(dropped(&mut d), vec![(1, DropReason::MemoryCap)]);
    assert!(d.stats().buffered_bytes <= 100);

    // timeout in capture time, and end of input
    let mut d = Defragmenter::default();
    d.push(t0, &ipv4_fragment(1, 0, true, &[0; 8]));
    d.push(
        t0.add_nanos(20_000_000_000),
        &ipv4_fragment(2, 0, true, &[0; 8]),
    );
    assert!(dropped(&mut d).is_empty());
    d.push(
        t0.add_nanos(31_000_000_000),
        &ipv4_fragment(3, 0, true, &[0; 8]),
    );
    assert_eq!(dropped(&mut d), vec![(1, DropReason::Timeout)]);
    d.finish();
    assert_eq!(
        dropped(&mut d),
        vec![(2, DropReason::EndOfInput), (3, DropReason::EndOfInput)]
    );
    assert_eq!(
        (d.pending(), d.stats().buffered_bytes, d.stats().dropped),
        (0, 0, 3)
    );

    // beyond 65535 bytes (ping of death)
    let mut d = Defragmenter::default();
    assert!(
        d.push(t0, &ipv4_fragment(9, 65528, false, &[0; 16]))
            .is_none()
    );
    assert_eq!(dropped(&mut d), vec![(9, DropReason::TooLong)]);
}

#[test]
fn unfinished_datagram_is_reported_at_end_of_input() {
    let packets = overlapping_fragments();
    let file = raw_pcap(&packets[..2]);
    let mut sink = Collect::default();
    let stats =
        CaptureSource::from_reader("lone.pcap", Box::new(std::io::Cursor::new(file.clone())))
            .unwrap()
            .run(&mut sink);
    assert_eq!(stats.records, 2);
    assert_eq!(sink.errors.len(), 1);
    assert_eq!(sink.errors[0].kind, ErrorKind::FragmentDropped);
    assert_eq!(sink.errors[0].location, Location::Offset(file.len() as u64));
}
