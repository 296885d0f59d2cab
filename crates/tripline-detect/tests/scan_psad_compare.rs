//! Comparison with psad 2.4.6 on the same netfilter logs: the sources psad
//! flags from packet counts (scans) are flagged here too, with danger levels
//! within one level, and with scan types named. Prints the table of
//! docs/psad-comparison.md:
//! `cargo test -p tripline-detect --test scan_psad_compare -- --nocapture`

mod common;

use common::*;
use std::collections::BTreeMap;
use tripline_core::HomeNets;
use tripline_detect::ScanConfig;

/// Per source: highest danger level and the union of scan types.
fn summarize(alerts: &[tripline_core::Alert]) -> BTreeMap<String, (u64, Vec<String>)> {
    let mut m: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    for a in alerts {
        let e = m.entry(a.src.unwrap().to_string()).or_default();
        e.0 = e.0.max(num(a, "danger_level"));
        for t in types(a) {
            if !e.1.contains(&t) {
                e.1.push(t);
            }
        }
    }
    m
}

/// psad's results (psad_2.4.6_analysis_results.txt, scans/psad_output.txt):
/// file, source psad flagged, its DL, and whether psad's reason is a scan
/// (packet count / ports) rather than a single-packet signature.
const PSAD: &[(&str, &str, u64, bool)] = &[
    ("psad/logs/syn_scan_1000_1500", "192.168.10.55", 3, true),
    (
        "psad/logs/syn_scan_1000_1500_multi_dst",
        "192.168.10.55",
        3,
        true,
    ),
    (
        "psad/logs/syn_scan_1000_1500_localhost",
        "127.0.0.1",
        3,
        true,
    ),
    ("psad/logs/syn_scan_1000_1500_zeroip", "0.0.0.0", 3, true),
    ("psad/logs/syn_sweep", "192.168.10.55", 1, true),
    ("psad/logs/fin_scan_1000_1150", "192.168.10.55", 3, true),
    ("psad/logs/xmas_scan_1000_1150", "192.168.10.55", 3, true),
    ("psad/logs/null_scan_1000_1150", "192.168.10.55", 3, true),
    ("psad/logs/udp_scan_1000_1150", "192.168.10.55", 3, true),
    ("psad/logs/proto_scan", "192.168.10.55", 3, true),
    (
        "psad/logs/ipv6_tcp_connect_nmap_default_scan",
        "2001:db8:0:f101::2",
        3,
        true,
    ),
    (
        "psad/logs/topera_ipv6_syn_scan_no_ip_opts",
        "2012:1234:1234::1",
        3,
        true,
    ),
    (
        "psad/logs/topera_ipv6_syn_scan_with_ip_opts",
        "2012:1234:1234::1",
        3,
        true,
    ),
    (
        "psad/logs/mirai_default_credentials_scan",
        "192.168.10.55",
        1,
        false,
    ),
    ("psad/logs/ipv4_valid_ping", "192.168.10.55", 2, false),
    (
        "psad/logs/invalid_icmp_type_code",
        "192.168.10.55",
        2,
        false,
    ),
    (
        "psad/logs/ms_sql_server_sig_match",
        "192.168.10.55",
        2,
        false,
    ),
    ("psad/logs/fwknop_spa_pkt", "192.168.10.55", 2, false),
    ("scans/iptables.log", "10.99.2.66", 4, true),
    ("scans/iptables.log", "10.99.1.3", 2, true),
    ("scans/iptables.log", "fd99:2::66", 2, true),
];

#[test]
fn compare_with_psad() {
    println!("| log | source | psad DL | tripline DL | tripline scan types | verdict |");
    println!("|---|---|---|---|---|---|");
    let mut cache: BTreeMap<&str, BTreeMap<String, (u64, Vec<String>)>> = BTreeMap::new();
    for (file, src, psad_dl, is_scan) in PSAD {
        let ours = cache.entry(file).or_insert_with(|| {
            let home = if file.starts_with("scans/") {
                home()
            } else {
                HomeNets::default()
            };
            summarize(&run(&[data(file)], ScanConfig::default(), home))
        });
        let (dl, types) = ours.get(*src).cloned().unwrap_or_default();
        let verdict = match (dl, is_scan) {
            (0, false) => {
                "not flagged: below the scan thresholds (psad: packet count or a signature)"
            }
            (0, true) => "MISSED",
            (d, _) if d.abs_diff(*psad_dl) <= 1 => "same source, DL within one",
            _ => "DL differs by more than one",
        };
        println!(
            "| {} | {src} | {psad_dl} | {} | {} | {verdict} |",
            file.rsplit('/').next().unwrap_or(file),
            if dl == 0 {
                "-".to_string()
            } else {
                dl.to_string()
            },
            types.join(", ")
        );
        if *is_scan {
            assert!(dl > 0, "{file}: psad flags {src}, we do not");
            assert!(
                dl.abs_diff(*psad_dl) <= 1,
                "{file}: {src} DL {dl} vs psad {psad_dl}"
            );
            assert!(!types.is_empty());
        }
    }
    // Nothing flagged that psad did not flag, on any of these logs.
    for (file, ours) in &cache {
        for src in ours.keys() {
            assert!(
                PSAD.iter().any(|(f, s, _, _)| f == file && s == src),
                "{file}: {src} flagged here but not by psad"
            );
        }
    }
}
