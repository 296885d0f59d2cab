//! Normal traffic is not reported as scanning: dnsconn/ (no scans at all)
//! and mixed/ (3 minutes of downloads, DNS, syslog-over-UDP, ping and
//! inbound HTTP with six labelled scans M01-M06 mixed in).

mod common;

use common::*;
use tripline_detect::ScanConfig;

#[test]
fn dnsconn_has_no_scans() {
    for f in [
        "dnsconn/capture.pcap",
        "dnsconn/capture_ext.pcap",
        "dnsconn/iptables.log",
    ] {
        let alerts = run(&[data(f)], ScanConfig::default(), home());
        assert!(alerts.is_empty(), "{f}:\n{}", show(&alerts));
    }
}

/// (id, scanner, alert sid, type, target host or swept target)
const MIXED: &[(&str, &str, u32, &str, &str)] = &[
    ("M01", "10.99.2.66", 1, "SYN", "10.99.1.3"),
    ("M02", "10.99.2.66", 1, "UDP", "10.99.1.3"),
    ("M03", "10.99.2.66", 3, "PING", "icmp type 8"),
    ("M04", "10.99.2.66", 1, "SYN", "10.99.1.2"),
    ("M05", "10.99.1.3", 102, "SYN", "tcp/22"),
    ("M06", "10.99.2.66", 1, "XMAS", "10.99.1.3"),
];

#[test]
fn mixed_scans_found_and_nothing_else() {
    let truth = ground_truth("mixed/ground_truth.tsv");
    for f in ["mixed/capture_ext.pcap", "mixed/iptables.log"] {
        let alerts = run(&[data(f)], ScanConfig::default(), home());
        for (id, src, sid, ty, target) in MIXED {
            let act = truth.iter().find(|a| a.id == *id).unwrap();
            let ok = alerts.iter().any(|a| {
                let t = a.ts.as_secs_f64();
                let tgt = a
                    .dst
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| detail(a, "swept").to_string());
                a.src.unwrap().to_string() == *src
                    && a.sid == *sid
                    && tgt == *target
                    && types(a).iter().any(|x| x == ty)
                    && t >= act.start - 1.2
                    && t <= act.end + 2.5
            });
            assert!(ok, "{f}: {id} not found\n{}", show(&alerts));
        }
        // Every alert belongs to one of the labelled scans: its source is the
        // attacker, or the DMZ host during M05 (which also browses the web).
        let m05 = truth.iter().find(|a| a.id == "M05").unwrap();
        for a in &alerts {
            let src = a.src.unwrap().to_string();
            let t = a.ts.as_secs_f64();
            let attacker = src == "10.99.2.66" || src == "fd99:2::66";
            let sweep = src == "10.99.1.3"
                && t >= m05.start - 1.2
                && t <= m05.end + 2.5
                && detail(a, "swept") == "tcp/22";
            assert!(attacker || sweep, "{f}: normal traffic reported: {}", a.msg);
        }
    }
}
