//! Capture files end to end: frame counts on every pcap of the shared data
//! against tcpdump, header fields against tshark, pcapng interfaces, ns
//! timestamps, gzip, stdin, VLAN tags.

use std::net::IpAddr;
use tripline_core::{Header, InputError, LinkInfo, Record, Timestamp, Transport, ip_proto};
use tripline_ingest::capture::{CaptureKind, CaptureSource, sniff};
use tripline_ingest::{Format, RecordSink, Source, SourceStats};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/");
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/capture/");

/// One emitted packet, owned.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    ts: Timestamp,
    header: Header,
    payload: Vec<u8>,
    wire_len: u32,
    link: LinkInfo,
}

#[derive(Default)]
struct Collect {
    packets: Vec<Seen>,
    errors: Vec<InputError>,
    progress_calls: u64,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        if let Record::Packet(p) = rec {
            self.packets.push(Seen {
                ts: p.ts,
                header: p.header,
                payload: p.payload.to_vec(),
                wire_len: p.wire_len,
                link: p.link,
            });
        }
    }
    fn error(&mut self, err: InputError) {
        self.errors.push(err);
    }
    fn progress(&mut self, _bytes: u64) {
        self.progress_calls += 1;
    }
}

fn read(path: &str) -> (SourceStats, Collect) {
    let mut src = CaptureSource::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut sink = Collect::default();
    let stats = src.run(&mut sink);
    (stats, sink)
}

/// Frames per file, each from `tcpdump -r FILE -nn | wc -l` (tcpdump 4.99.3).
const TCPDUMP_COUNTS: &[(&str, u64)] = &[
    ("scans/capture.pcap", 17694),
    ("scans/capture_lan.pcap", 5264),
    ("dnsconn/capture.pcap", 1431),
    ("dnsconn/capture_ext.pcap", 1436),
    ("bruteforce/capture_gw_ext.pcap", 410),
    ("bruteforce/capture_wan_port.pcap", 1036),
    ("mixed/capture_ext.pcap", 46338),
    (
        "compat/suricata-verify/tests/alert-distance-within-1/input.pcap",
        12,
    ),
    (
        "compat/suricata-verify/tests/alert-no-3whs-established/no-3whs.pcap",
        4,
    ),
    (
        "compat/suricata-verify/tests/alert-testmyids-midstream/input.pcap",
        5,
    ),
    (
        "compat/suricata-verify/tests/alert-testmyids-midstream5/input.pcap",
        9,
    ),
    (
        "compat/suricata-verify/tests/alert-testmyids-not-established/input.pcap",
        1,
    ),
    (
        "compat/suricata-verify/tests/bug-1045/smtpsuricataflowbitsFN.pcap",
        19,
    ),
    ("compat/suricata-verify/tests/bug-130/input.pcap", 14),
    (
        "compat/suricata-verify/tests/bug-1401-03/80000000-037-PTP_Example_IPv4_HTTP_Session-PUBLIC-tp-01.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/bug-2158/public-ex1_section8_Sofacy.pcap",
        10,
    ),
    (
        "compat/suricata-verify/tests/bug-2491-01/simple_http_download.onesided.pcap",
        12,
    ),
    (
        "compat/suricata-verify/tests/bug-2491-02/simple_http_download.onesided.nosyn.pcap",
        11,
    ),
    (
        "compat/suricata-verify/tests/bug-2769/issue_no_icmp.pcap",
        34,
    ),
    (
        "compat/suricata-verify/tests/bug-4376/syn_retransmit_with_ts.pcap",
        254,
    ),
    ("compat/suricata-verify/tests/bug-4503/input.pcap", 2),
    (
        "compat/suricata-verify/tests/bug-4571-01/ipv4_over_ipv4.pcap",
        1,
    ),
    ("compat/suricata-verify/tests/bug-4571-02/ipv6.pcap", 1),
    (
        "compat/suricata-verify/tests/bug-4571-03/ipv6_over_ipv6.pcap",
        1,
    ),
    ("compat/suricata-verify/tests/bug-4571-05/ipv4.pcap", 1),
    ("compat/suricata-verify/tests/bug-4623/input.pcap", 1),
    ("compat/suricata-verify/tests/bug-4663-02/icmp.pcap", 10),
    (
        "compat/suricata-verify/tests/bug-4663-03/icmp_and_ssh.pcap",
        362,
    ),
    ("compat/suricata-verify/tests/bug-5162/input.pcap", 3035),
    (
        "compat/suricata-verify/tests/bug-5633-gre-01/gre-udp.pcap",
        3,
    ),
    (
        "compat/suricata-verify/tests/bug-5633-gre-02/gre-sample.pcap",
        40,
    ),
    ("compat/suricata-verify/tests/bug-5758/input.pcap", 41), // LINKTYPE_RAW
    (
        "compat/suricata-verify/tests/bug-5929-01/1e3b98e5dad2954.pcap",
        5,
    ),
    ("compat/suricata-verify/tests/bug-6207-2/input.pcap", 79),
    ("compat/suricata-verify/tests/bug-7390/input.pcap", 10),
    ("compat/suricata-verify/tests/bug-7725-01/ip_in_ip.pcap", 6),
    ("compat/suricata-verify/tests/bug-7725-02/ip_in_ip.pcap", 6),
    ("compat/suricata-verify/tests/bug-7725-03/ip_in_ip.pcap", 6),
    ("compat/suricata-verify/tests/bug-7851-01/connect.pcap", 7),
    (
        "compat/suricata-verify/tests/bug-8021-alert-max-verdict-01/input.pcap",
        1,
    ),
    ("compat/suricata-verify/tests/bug-814/input.pcap", 7),
    (
        "compat/suricata-verify/tests/bug-docs-5030-02/39_bytes.pcap",
        5,
    ),
    (
        "compat/suricata-verify/tests/byte-extract-01/input.pcap",
        10,
    ),
    (
        "compat/suricata-verify/tests/compress_ipv6-01/input.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/decode-nsh-type1/input.pcap",
        1,
    ),
    (
        "compat/suricata-verify/tests/decode-nsh-type2/input.pcap",
        1,
    ),
    (
        "compat/suricata-verify/tests/decode-sll2-02/input.pcap",
        159,
    ), // LINUX_SLL2
    ("compat/suricata-verify/tests/detect-bsize-0/input.pcap", 18), // NULL
    (
        "compat/suricata-verify/tests/detect-bytejump-01/input.pcap",
        1,
    ), // RAW
    (
        "compat/suricata-verify/tests/detect-bytejump-02/input.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/detect-bytejump-05/input.pcap",
        1,
    ),
    (
        "compat/suricata-verify/tests/detect-bytetest-02/input.pcap",
        1,
    ),
    (
        "compat/suricata-verify/tests/detect-content-ends-with-negated-01/input.pcap",
        5,
    ),
    (
        "compat/suricata-verify/tests/detect-content-ends-with-negated-02/input.pcap",
        5,
    ),
    (
        "compat/suricata-verify/tests/detect-dotprefix-01/input.pcap",
        2,
    ),
    (
        "compat/suricata-verify/tests/detect-dotprefix-02/input.pcap",
        4,
    ),
    ("compat/suricata-verify/tests/detect-flowbits/input.pcap", 1),
    (
        "compat/suricata-verify/tests/detect-icmp-id-01/input.pcap",
        1,
    ),
    ("compat/suricata-verify/tests/detect-icmp-seq/input.pcap", 1),
    ("compat/suricata-verify/tests/detect-ipopts/input.pcap", 8), // LINKTYPE_IPV4
    (
        "compat/suricata-verify/tests/detection_filter-distinct-dstport-no-dups/input.pcap",
        3,
    ),
    (
        "compat/suricata-verify/tests/detection_filter-distinct-dstport/input.pcap",
        2,
    ),
    (
        "compat/suricata-verify/tests/detection_filter-distinct-srcport-no-dups/input.pcap",
        3,
    ),
    (
        "compat/suricata-verify/tests/detection_filter-distinct-srcport/input.pcap",
        2,
    ),
    (
        "compat/suricata-verify/tests/drop-protocol-change/input.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-metadata-01-alert/80000000-037-PTP_Example_IPv4_HTTP_Session-PUBLIC-tp-01-TEST1.pcap",
        6,
    ),
    (
        "compat/suricata-verify/tests/eve-overlap-payload-01/tcp-overlap.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-overlap-payload-02-policy-oldlinux/tcp-overlap.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-overlap-payload-04-partial-overlap/tcp-overlap2.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-overlap-payload-05-gap/tcp-simple-gap2.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-payload-01-tcp-exact-overlap/tcp-overlap.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-payload-02-tcp-exact-overlap-policy-oldlinux/tcp-overlap.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-payload-05-tcp-data-gap/tcp-simple-gap2.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/eve-payload-06-tcp-data-leading-gap/tcp-leading-gap.pcap",
        7,
    ),
    (
        "compat/suricata-verify/tests/flow-drop-iponly-02/input.pcap",
        7,
    ),
    ("compat/suricata-verify/tests/flowbit-oring/input.pcap", 10),
    (
        "compat/suricata-verify/tests/http-body-inspect/http-aptget-ids-02-s2.pcap",
        359,
    ),
    (
        "compat/suricata-verify/tests/http-close-headers/input.pcap",
        10,
    ),
    (
        "compat/suricata-verify/tests/http-post-data-decompression/input.pcap",
        10,
    ),
    ("compat/suricata-verify/tests/http-post-file/input.pcap", 28), // NULL
    (
        "compat/suricata-verify/tests/http-xff-eve-reverse-overwrite/test.pcap",
        10,
    ),
    (
        "compat/suricata-verify/tests/iponly-ipv6-range-01/input.pcap",
        1,
    ), // RAW
    (
        "compat/suricata-verify/tests/like-ip-only-01/krb5-frag.pcap",
        52,
    ),
    ("compat/suricata-verify/tests/mac-eve-packet/test.pcap", 2),
    (
        "compat/suricata-verify/tests/smb1-03-midstream/smb1_osx-s1-midstream-modified.pcap",
        13,
    ),
    ("compat/suricata-verify/tests/tcp-async-01/input.pcap", 139),
    ("compat/suricata-verify/tests/tcp-fastopen-01/tfo.pcap", 16),
    ("compat/suricata-verify/tests/tcp-fastopen-03/tfo.pcap", 14),
    ("compat/suricata-verify/tests/tcp-fastopen-05/tfo.pcap", 16), // LINUX_SLL
    (
        "compat/suricata-verify/tests/tcp-fastopen-06/tfo-s1.pcap",
        8,
    ),
    (
        "compat/suricata-verify/tests/tcp-split-handshake-02-5whs/split-handshake-5whs.pcap",
        8,
    ),
];

#[test]
fn frame_counts_match_tcpdump() {
    for &(rel, expected) in TCPDUMP_COUNTS {
        let path = format!("{SHARED}{rel}");
        let (stats, sink) = read(&path);
        assert_eq!(stats.units, expected, "{rel}: frames");
        // Only one file has damage: a lone fragment left at the end.
        let expected_errors = if rel.contains("drop-protocol-change") {
            1
        } else {
            0
        };
        assert_eq!(
            sink.errors.len(),
            expected_errors,
            "{rel}: {:?}",
            sink.errors
        );
        assert_eq!(stats.error_count(), expected_errors as u64, "{rel}");
        assert_eq!(stats.records, sink.packets.len() as u64, "{rel}");
        let reassembled = sink
            .packets
            .iter()
            .filter(|p| p.header.ip.fragmented && !p.header.ip.mf && p.header.ip.frag_offset == 0)
            .count() as u64;
        assert_eq!(
            stats.records + stats.skipped,
            stats.units + reassembled,
            "{rel}: every frame is a record or skipped"
        );
        assert_eq!(
            stats.bytes,
            std::fs::metadata(&path).unwrap().len(),
            "{rel}: bytes"
        );
    }
}

#[test]
fn empty_files_do_not_open() {
    // tcpdump: "truncated dump file; tried to read 4 file header bytes, only got 0"
    for rel in [
        "compat/suricata-verify/tests/bug-2482-01/proxyCONNECT_443.pcap",
        "compat/suricata-verify/tests/file-data-depth-inspection/file-data-depth-inspection.pcap",
    ] {
        let err = CaptureSource::open(&format!("{SHARED}{rel}"))
            .err()
            .expect("empty file must fail");
        assert_eq!(err.kind, tripline_core::ErrorKind::Truncated);
    }
}

fn at(packets: &[Seen], secs: i64, micros: u32, pick: impl Fn(&Header) -> bool) -> &Seen {
    let ts = Timestamp::from_secs_micros(secs, micros);
    packets
        .iter()
        .find(|p| p.ts == ts && pick(&p.header))
        .unwrap_or_else(|| panic!("no packet at {ts}"))
}

#[test]
fn header_fields_match_tshark() {
    // tshark -r scans/capture.pcap -T fields -e frame.time_epoch -e ip.src -e ip.dst -e ip.id -e ip.ttl
    //   -e ip.flags.df -e ip.frag_offset -e ip.flags.mf -e ip.len -e tcp.srcport -e tcp.dstport
    //   -e tcp.seq_raw -e tcp.ack_raw -e tcp.window_size_value -e tcp.flags -e tcp.options
    //   -e icmp.type -e icmp.code -e icmp.ident -e icmp.seq -e ipv6.hlim -e ipv6.flow -e ipv6.plen
    let (_, sink) = read(&format!("{SHARED}scans/capture.pcap"));
    let p = &sink.packets;
    let attacker: IpAddr = "10.99.2.66".parse().unwrap();
    let dmz: IpAddr = "10.99.1.3".parse().unwrap();

    // frame 5: 10.99.2.66 -> 10.99.1.3 id 0xd9d1 ttl 50 len 44, 36870 -> 443 seq 3513590272 win 1024 SYN, MSS 1460
    let syn = at(p, 1_795_349_736, 337_571, |_| true);
    assert_eq!((syn.header.src, syn.header.dst), (attacker, dmz));
    assert_eq!(
        (
            syn.header.ip.id,
            syn.header.ip.ttl,
            syn.header.ip.total_len,
            syn.header.ip.df
        ),
        (0xd9d1, 50, 44, false)
    );
    let tcp = syn.header.tcp().unwrap();
    assert_eq!(
        (tcp.sport, tcp.dport, tcp.seq, tcp.ack, tcp.window),
        (36870, 443, Some(3_513_590_272), Some(0), 1024)
    );
    assert_eq!(tcp.flags.0, 0x02);
    assert_eq!(tcp.options.as_bytes(), &[0x02, 0x04, 0x05, 0xb4]);
    assert_eq!(syn.link.src_mac, Some([0x02, 0x99, 0x00, 0x02, 0x00, 0x66]));

    // frame 3: ICMP echo request type 8 code 0 id 42818 seq 0, ip id 0x9dfd ttl 52
    let echo = at(p, 1_795_349_736, 337_287, |_| true);
    assert_eq!((echo.header.ip.id, echo.header.ip.ttl), (0x9dfd, 52));
    let icmp = echo.header.icmp().unwrap();
    assert_eq!(
        (icmp.icmp_type, icmp.code, icmp.id, icmp.seq),
        (8, 0, Some(42818), Some(0))
    );

    // frame 10: ICMP timestamp request type 13 id 4421 seq 0, ip id 0xff70 ttl 51 len 40
    let tsreq = at(p, 1_795_349_736, 337_652, |_| true);
    let icmp = tsreq.header.icmp().unwrap();
    assert_eq!(
        (icmp.icmp_type, icmp.id, icmp.seq, tsreq.header.ip.total_len),
        (13, Some(4421), Some(0), 40)
    );

    // frame 17454: IPv6 fd99:2::66 -> fd99:1::3 hlim 255 flow 0 plen 24, 50576 -> 443 seq 1384575916 SYN
    let v6 = at(p, 1_795_349_893, 264_713, |_| true);
    assert_eq!(v6.header.src, "fd99:2::66".parse::<IpAddr>().unwrap());
    assert_eq!(
        (
            v6.header.ip.version,
            v6.header.ip.ttl,
            v6.header.ip.flow_label,
            v6.header.ip.total_len
        ),
        (6, 255, 0, 64)
    );
    let tcp = v6.header.tcp().unwrap();
    assert_eq!(
        (tcp.sport, tcp.dport, tcp.seq, tcp.flags.0),
        (50576, 443, Some(1_384_575_916), 0x02)
    );

    // frames 17031..17033: nmap -f; first fragment id 0xdaf5 ttl 49 MF offset 0 len 28,
    // last fragment offset 2 (x8 = 16 bytes), reassembled: 53333 -> 443 seq 3411432128 win 1024 SYN MSS 1460
    let first = at(p, 1_795_349_890, 21_333, |h| h.ip.id == 0xdaf5);
    assert!(first.header.ip.fragmented && first.header.ip.mf && first.header.ip.frag_offset == 0);
    assert_eq!(
        (
            first.header.ip.ttl,
            first.header.ip.total_len,
            first.header.transport
        ),
        (49, 28, Transport::Other)
    );
    let last = at(p, 1_795_349_890, 21_346, |h| {
        h.ip.id == 0xdaf5 && h.ip.frag_offset == 16
    });
    assert!(!last.header.ip.mf && last.header.transport == Transport::Other);
    let whole = at(p, 1_795_349_890, 21_346, |h| {
        h.ip.id == 0xdaf5 && h.tcp().is_some()
    });
    assert!(whole.header.ip.fragmented && !whole.header.ip.mf && whole.header.ip.frag_offset == 0);
    let tcp = whole.header.tcp().unwrap();
    assert_eq!(
        (tcp.sport, tcp.dport, tcp.seq, tcp.window, tcp.flags.0),
        (53333, 443, Some(3_411_432_128), 1024, 0x02)
    );
    assert_eq!(tcp.mss(), Some(1460));
    assert_eq!(whole.header.ip.total_len, 44);
}

#[test]
fn pcapng_with_two_interfaces_of_different_link_types() {
    // mergecap -F pcapng -w two_interfaces.pcapng eth20_ns.pcap sll2_8.pcap: interface 0 is
    // Ethernet with if_tsresol 9, interface 1 Linux SLL2 in microseconds.
    // tshark -r two_interfaces.pcapng -T fields -e frame.number -e frame.interface_id
    //   -e frame.time_epoch -e eth.src -e sll.src.eth -e ip.src -e tcp.srcport -e frame.len
    // 1  1  1736381483.613927000        aa:76:30:71:b0:e7  192.168.1.253  56478  80
    // 9  0  1795350012.839773000  02:99:00:02:00:01        10.99.1.2      40101  74
    // 28 0  1795350013.032763000  02:99:00:02:00:01        10.99.1.2      40101  110
    let path = format!("{FIXTURES}two_interfaces.pcapng");
    let src = CaptureSource::open(&path).unwrap();
    assert_eq!(src.format(), Format::Pcapng);
    let (stats, sink) = read(&path);
    assert_eq!((stats.units, stats.records, sink.errors.len()), (28, 28, 0)); // tshark -r ... | wc -l
    let p = &sink.packets;
    assert_eq!(
        (p[0].link.interface, p[0].ts),
        (1, Timestamp(1_736_381_483_613_927_000))
    );
    assert_eq!(
        p[0].link.src_mac,
        Some([0xaa, 0x76, 0x30, 0x71, 0xb0, 0xe7])
    );
    assert_eq!((p[0].header.sport(), p[0].wire_len), (56478, 80));
    assert_eq!(
        (p[8].link.interface, p[8].ts),
        (0, Timestamp(1_795_350_012_839_773_000))
    );
    assert_eq!(
        p[8].link.src_mac,
        Some([0x02, 0x99, 0x00, 0x02, 0x00, 0x01])
    );
    assert_eq!(
        (p[27].ts, p[27].header.sport(), p[27].wire_len),
        (Timestamp(1_795_350_013_032_763_000), 40101, 110)
    );
    assert_eq!(p.iter().filter(|s| s.link.interface == 1).count(), 8);
}

#[test]
fn nanosecond_pcap_and_gzip_match_the_plain_file() {
    // editcap -F nsecpcap eth20.pcap eth20_ns.pcap ; gzip -9 -n -c eth20.pcap > eth20.pcap.gz
    let (_, plain) = read(&format!("{FIXTURES}eth20.pcap"));
    assert_eq!(plain.packets.len(), 20);
    let ns_path = format!("{FIXTURES}eth20_ns.pcap");
    assert_eq!(
        CaptureSource::open(&ns_path).unwrap().kind(),
        CaptureKind::Pcap {
            nanosecond: true,
            big_endian: false,
            gzip: false
        }
    );
    let (_, ns) = read(&ns_path);
    assert_eq!(ns.packets, plain.packets);

    let gz_path = format!("{FIXTURES}eth20.pcap.gz");
    assert_eq!(
        CaptureSource::open(&gz_path).unwrap().kind(),
        CaptureKind::Pcap {
            nanosecond: false,
            big_endian: false,
            gzip: true
        }
    );
    let (gz_stats, gz) = read(&gz_path);
    assert_eq!(gz.packets, plain.packets);
    assert_eq!(
        gz_stats.bytes,
        std::fs::metadata(format!("{FIXTURES}eth20.pcap"))
            .unwrap()
            .len()
    );

    // The same bytes through a pipe (stdin), compressed and not.
    for file in ["eth20.pcap", "eth20.pcap.gz", "two_interfaces.pcapng"] {
        let bytes = std::fs::read(format!("{FIXTURES}{file}")).unwrap();
        let mut src =
            CaptureSource::from_reader("-", Box::new(std::io::Cursor::new(bytes))).unwrap();
        let mut piped = Collect::default();
        src.run(&mut piped);
        let (_, direct) = read(&format!("{FIXTURES}{file}"));
        assert_eq!(piped.packets, direct.packets, "{file}");
        assert!(piped.errors.is_empty());
    }
}

#[test]
fn vlan_and_qinq_tags() {
    // make_damaged.py + text2pcap; tcpdump -r vlan_qinq.pcap -nn -e:
    //  ethertype 802.1Q-QinQ (0x88a8): vlan 100, ethertype 802.1Q, vlan 200, IPv4 10.99.2.66.5353 > 10.99.1.3.53
    //  ethertype 802.1Q: vlan 7, IPv6 fd99:2::66 > fd99:1::3: ICMP6, echo request, id 16962, seq 7
    //  ethertype 802.1Q: vlan 7, ARP
    let (stats, sink) = read(&format!("{FIXTURES}vlan_qinq.pcap"));
    assert_eq!((stats.units, stats.records, stats.skipped), (3, 2, 1));
    let q = &sink.packets[0];
    assert_eq!(q.link.vlan, Some(100));
    assert_eq!(q.link.dst_mac, Some([0x02, 0x99, 0x00, 0x01, 0x00, 0x03]));
    let udp = q.header.udp().unwrap();
    assert_eq!((udp.sport, udp.dport, udp.len), (5353, 53, 16));
    assert_eq!(
        (q.header.ip.id, q.header.ip.df, q.header.ip.ttl),
        (0x1234, true, 61)
    );
    assert_eq!(q.payload, b"tripline");
    let v6 = &sink.packets[1];
    assert_eq!(
        (v6.link.vlan, v6.header.protocol),
        (Some(7), ip_proto::ICMPV6)
    );
    let icmp = v6.header.icmp().unwrap();
    assert_eq!(
        (icmp.icmp_type, icmp.id, icmp.seq),
        (128, Some(16962), Some(7))
    );
    assert_eq!(v6.payload, b"ping");
}

#[test]
fn sniff_recognises_every_magic() {
    let pcap = |nanosecond, big_endian| {
        Some(CaptureKind::Pcap {
            nanosecond,
            big_endian,
            gzip: false,
        })
    };
    assert_eq!(sniff(&[0xd4, 0xc3, 0xb2, 0xa1]), pcap(false, false));
    assert_eq!(sniff(&[0xa1, 0xb2, 0xc3, 0xd4]), pcap(false, true));
    assert_eq!(sniff(&[0x4d, 0x3c, 0xb2, 0xa1]), pcap(true, false));
    assert_eq!(sniff(&[0xa1, 0xb2, 0x3c, 0x4d]), pcap(true, true));
    assert_eq!(
        sniff(&[0x0a, 0x0d, 0x0d, 0x0a, 0x1c]),
        Some(CaptureKind::Pcapng { gzip: false })
    );
    assert_eq!(sniff(b"GET / HTTP/1.1"), None);
    assert_eq!(sniff(&[0xd4, 0xc3]), None);
    let gz = std::fs::read(format!("{FIXTURES}eth20.pcap.gz")).unwrap();
    assert_eq!(
        sniff(&gz[..512]),
        Some(CaptureKind::Pcap {
            nanosecond: false,
            big_endian: false,
            gzip: true
        })
    );
}

#[test]
fn progress_is_reported_on_large_files() {
    let (stats, sink) = read(&format!("{SHARED}mixed/capture_ext.pcap"));
    // about one call per MiB, plus the final one
    assert!(
        sink.progress_calls >= stats.bytes >> 20,
        "{} calls for {} bytes",
        sink.progress_calls,
        stats.bytes
    );
}
