//! netfilter LOG lines from the shared datasets, end to end through `LogSource`.

mod logs_support;

use logs_support::{read, shared, year};
use std::net::IpAddr;
use tripline_core::{Timestamp, Transport, ip_proto};
use tripline_ingest::logs::LogOptions;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Lines per file, from `wc -l /work/shared/data/psad/logs/*`.
const PSAD_LOGS: [(&str, usize); 25] = [
    ("ack_scan_1000_1150", 302),
    ("fin_scan_1000_1150", 302),
    ("fwknop_spa_pkt", 1),
    ("invalid_icmp_type_code", 5),
    ("ipv4_igmp", 4),
    ("ipv4_valid_ping", 5),
    ("ipv6_invalid_icmp6_type_code", 2),
    ("ipv6_ms_sql_server_sig_match", 1),
    ("ipv6_ping_scan", 2),
    ("ipv6_tcp_connect_nmap_default_scan", 1009),
    ("mirai_default_credentials_scan", 11),
    ("ms_sql_server_sig_match", 2),
    ("null_scan_1000_1150", 303),
    ("proto_scan", 510),
    ("reputation_scan", 7),
    ("syn_scan_1000_1500", 1002),
    ("syn_scan_1000_1500_localhost", 1002),
    ("syn_scan_1000_1500_multi_dst", 4008),
    ("syn_scan_1000_1500_zeroip", 1002),
    ("syn_sweep", 12),
    ("syslog_time_fmt1.log", 6),
    ("topera_ipv6_syn_scan_no_ip_opts", 1058),
    ("topera_ipv6_syn_scan_with_ip_opts", 1046),
    ("udp_scan_1000_1150", 302),
    ("xmas_scan_1000_1150", 302),
];

#[test]
fn every_psad_test_log_line_is_a_firewall_record() {
    let dir = std::fs::read_dir(shared("psad/logs")).unwrap().count();
    assert_eq!(dir, PSAD_LOGS.len());
    for (name, lines) in PSAD_LOGS {
        let (got, stats) = read(&shared(&format!("psad/logs/{name}")), year(2026));
        assert!(got.errors.is_empty(), "{name}: {:?}", got.errors.first());
        assert_eq!(
            (got.fw.len(), stats.units, stats.skipped),
            (lines, lines as u64, 0),
            "{name}"
        );
    }
}

#[test]
fn psad_logs_field_values() {
    let (igmp, _) = read(&shared("psad/logs/ipv4_igmp"), year(2026));
    let r = &igmp.fw[0];
    assert_eq!(
        (
            r.prefix.as_str(),
            r.host.as_str(),
            r.header.protocol,
            r.header.ip.tos,
            r.header.ip.ttl
        ),
        ("Shorewall:wlan0_mac:DROP:", "localhost", 2, 0xC0, 1)
    );
    assert_eq!(r.header.transport, Transport::Other);

    let (icmp, _) = read(&shared("psad/logs/invalid_icmp_type_code"), year(2026));
    let i = icmp.fw[0].header.icmp().copied().unwrap();
    assert_eq!(
        (i.icmp_type, i.code, i.id, i.seq),
        (8, 2, Some(2158), Some(512))
    );

    // The one ISO-8601 file: +02:00 local time.
    let (iso, _) = read(
        &shared("psad/logs/syslog_time_fmt1.log"),
        LogOptions::default(),
    );
    assert_eq!(
        iso.fw[0].ts,
        Timestamp::from_civil(2015, 3, 7, 3, 9, 30)
            .unwrap()
            .add_nanos(45_015_000)
    );
    assert_eq!(
        (iso.fw[0].prefix.as_str(), iso.fw[0].host.as_str()),
        ("DROP:", "servername")
    );

    // Full-form IPv6 addresses are the same addresses as the short forms.
    let (v6, _) = read(
        &shared("psad/logs/ipv6_invalid_icmp6_type_code"),
        year(2026),
    );
    let h = v6.fw[0].header;
    assert_eq!(
        (h.src, h.dst),
        (ip("2001:db8:0:f101::2"), ip("ff02::1:ff00:1"))
    );
    assert_eq!(
        (h.protocol, h.ip.version, h.ip.ttl),
        (ip_proto::ICMPV6, 6, 255)
    );
    assert_eq!(h.icmp().map(|i| (i.icmp_type, i.code)), Some((135, 22)));

    // grep -H output: "file:Mar 17 ..." is read after the file name.
    let (sql, _) = read(
        &shared("psad/logs/ipv6_ms_sql_server_sig_match"),
        year(2026),
    );
    assert_eq!(sql.fw[0].header.tcp().map(|t| t.dport), Some(1433));

    let (topera, _) = read(
        &shared("psad/logs/topera_ipv6_syn_scan_with_ip_opts"),
        year(2026),
    );
    let t = topera.fw[0].header;
    assert_eq!((t.src, t.ip.total_len), (ip("2012:1234:1234::1"), 132));
    assert_eq!(
        t.tcp().map(|t| (t.sport, t.dport, t.flags.0)),
        Some((58537, 1234, 0x02))
    );

    // IP protocol scan: every protocol number appears, named or numeric.
    let (protos, _) = read(&shared("psad/logs/proto_scan"), year(2026));
    let mut seen: Vec<u8> = protos.fw.iter().map(|f| f.header.protocol).collect();
    seen.sort_unstable();
    seen.dedup();
    assert!(
        seen.contains(&136) && seen.contains(&51) && seen.contains(&50) && seen.contains(&47),
        "{seen:?}"
    );

    let (xmas, _) = read(&shared("psad/logs/xmas_scan_1000_1150"), year(2026));
    assert!(
        xmas.fw
            .iter()
            .all(|f| f.header.tcp().is_some_and(|t| t.flags.0 == 0x29))
    );
    let (null, _) = read(&shared("psad/logs/null_scan_1000_1150"), year(2026));
    assert_eq!(
        null.fw
            .iter()
            .filter(|f| f.header.tcp().is_some_and(|t| t.flags.0 == 0))
            .count(),
        302
    );
}

#[test]
fn dataset_firewall_logs_one_record_per_line() {
    // wc -l /work/shared/data/{scans,dnsconn,bruteforce,mixed}/iptables.log
    for (rel, lines) in [
        ("scans/iptables.log", 14931),
        ("dnsconn/iptables.log", 25),
        ("bruteforce/iptables.log", 11),
        ("mixed/iptables.log", 2028),
    ] {
        let (got, stats) = read(&shared(rel), year(2026));
        assert!(got.errors.is_empty(), "{rel}: {:?}", got.errors.first());
        assert_eq!(
            (got.fw.len(), stats.records, stats.units),
            (lines, lines as u64, lines as u64),
            "{rel}"
        );
        assert!(got.fw.iter().all(|f| f.host == "gw"));
        assert!(
            got.fw.windows(2).all(|w| w[0].ts <= w[1].ts),
            "{rel}: time order"
        );
    }
}

#[test]
fn scans_field_values_by_hand() {
    let (got, _) = read(&shared("scans/iptables.log"), year(2026));
    // Line 1: NEW ... PROTO=ICMP TYPE=8 CODE=0 ID=42818 SEQ=0
    let first = &got.fw[0];
    assert_eq!(
        first.ts,
        Timestamp::from_civil(2026, 11, 22, 12, 15, 36).unwrap()
    );
    assert_eq!(
        (
            first.prefix.as_str(),
            first.in_iface.as_str(),
            first.out_iface.as_str()
        ),
        ("NEW", "gw-ext", "br-lan")
    );
    assert_eq!(first.mac, "02:99:00:02:00:01:02:99:00:02:00:66:08:00");
    assert_eq!(
        (
            first.header.src,
            first.header.dst,
            first.header.ip.id,
            first.header.ip.ttl
        ),
        (ip("10.99.2.66"), ip("10.99.1.3"), 40445, 51)
    );
    assert_eq!(
        first
            .header
            .icmp()
            .map(|i| (i.icmp_type, i.code, i.id, i.seq)),
        Some((8, 0, Some(42818), Some(0)))
    );
    // Line 12543: ... WINDOW=3 RES=0x20 CWR ECE SYN URGP=63477 OPT (03030A01020405B404020101)
    let odd = &got.fw[12542];
    let t = odd.header.tcp().copied().unwrap();
    assert_eq!(
        (t.dport, t.window, t.reserved, t.flags.0, t.urgp),
        (21, 3, 8, 0xC2, 63477)
    );
    assert_eq!(
        t.options.as_bytes(),
        &[
            0x03, 0x03, 0x0A, 0x01, 0x02, 0x04, 0x05, 0xB4, 0x04, 0x02, 0x01, 0x01
        ]
    );
    assert_eq!(
        (t.window_scale(), t.mss(), t.sack_permitted()),
        (Some(10), Some(1460), true)
    );
    // The one ICMPv6 echo: expanded addresses.
    let v6: Vec<_> = got
        .fw
        .iter()
        .filter(|f| f.header.protocol == ip_proto::ICMPV6)
        .collect();
    assert_eq!(v6.len(), 1);
    assert_eq!(
        (v6[0].header.src, v6[0].header.dst, v6[0].header.ip.ttl),
        (ip("fd99:2::66"), ip("fd99:1::3"), 254)
    );
    assert_eq!(
        v6[0].header.icmp().map(|i| (i.icmp_type, i.id)),
        Some((128, Some(32816)))
    );
}

/// Reads the epoch TSV (`epoch.micros<TAB>message`) into timestamps.
fn epoch_times(rel: &str) -> Vec<Timestamp> {
    let (got, _) = read(&shared(rel), LogOptions::default());
    assert!(got.errors.is_empty());
    got.fw.iter().map(|f| f.ts).collect()
}

#[test]
fn dmesg_variants_match_the_syslog_lines() {
    for (log, dmesg, tsv) in [
        (
            "scans/iptables.log",
            "scans/iptables.dmesg.gz",
            "scans/iptables_epoch.tsv.gz",
        ),
        (
            "dnsconn/iptables.log",
            "dnsconn/iptables.dmesg",
            "dnsconn/iptables_epoch.tsv",
        ),
        (
            "bruteforce/iptables.log",
            "bruteforce/iptables.dmesg",
            "bruteforce/iptables_epoch.tsv",
        ),
    ] {
        let (syslog, _) = read(&shared(log), year(2026));
        let (raw, stats) = read(&shared(dmesg), LogOptions::default());
        assert!(raw.errors.is_empty(), "{dmesg}: {:?}", raw.errors.first());
        assert_eq!(stats.units, syslog.fw.len() as u64);
        let headers = |v: &[logs_support::Fw]| {
            v.iter()
                .map(|f| (f.header, f.prefix.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(headers(&raw.fw), headers(&syslog.fw), "{dmesg}");
        assert!(raw.fw.iter().all(|f| f.host.is_empty()));

        // With the boot time, dmesg stamps land on the wall clock of the TSV
        // (the dataset converted them with one constant offset).
        let wall = epoch_times(tsv);
        let boot = Timestamp(wall[0].0 - raw.fw[0].ts.0);
        let (aligned, _) = read(
            &shared(dmesg),
            LogOptions {
                boot_time: Some(boot),
                ..Default::default()
            },
        );
        for ((a, w), s) in aligned.fw.iter().zip(&wall).zip(&syslog.fw) {
            assert!((a.ts.0 - w.0).abs() <= 1_000, "{dmesg}: {} vs {}", a.ts, w);
            assert_eq!(s.ts.secs(), w.secs(), "{log}: syslog second");
        }
    }
}
