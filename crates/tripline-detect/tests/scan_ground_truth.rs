//! Every scan of `scans/ground_truth.tsv` is found, with the right type,
//! source and target, from the perimeter capture, from the LAN capture and
//! from the netfilter log, each on its own, through the engine.

mod common;

use common::*;
use tripline_core::Alert;
use tripline_detect::ScanConfig;

/// What a scan must produce.
struct Expect {
    id: &'static str,
    src: &'static str,
    /// The port-scan target (`dst`), or for sweeps the swept port / type.
    target: Target,
    /// The type the alert must name, per input (None: not applicable).
    capture: Option<&'static str>,
    log: Option<&'static str>,
    /// True when the input shows nothing new for an episode already
    /// reported (the same source, target, type and ports as an earlier scan):
    /// the earlier alert covers it, so no new alert falls in its window.
    log_repeat: bool,
}

enum Target {
    Host(&'static str),
    Sweep(&'static str, u32),
}

const EXPECT: &[Expect] = &[
    e(
        "S01",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("SYN"),
        Some("SYN"),
        false,
    ),
    e(
        "S02",
        "10.99.2.66",
        Target::Host("10.99.1.2"),
        Some("SYN"),
        Some("SYN"),
        false,
    ),
    e(
        "S03",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("FIN"),
        Some("FIN"),
        false,
    ),
    e(
        "S04",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("XMAS"),
        Some("XMAS"),
        false,
    ),
    e(
        "S05",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("NULL"),
        Some("NULL"),
        false,
    ),
    e(
        "S07",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("UDP"),
        Some("UDP"),
        false,
    ),
    // From a log a connect scan is a SYN scan of ports S01 already covered.
    e(
        "S08",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("CONNECT"),
        Some("SYN"),
        true,
    ),
    e(
        "S09",
        "10.99.2.66",
        Target::Sweep("icmp type 8", 3),
        Some("PING"),
        Some("PING"),
        false,
    ),
    e(
        "S10",
        "10.99.2.66",
        Target::Sweep("tcp/143", 2),
        Some("SYN"),
        Some("SYN"),
        false,
    ),
    e(
        "S11",
        "10.99.1.3",
        Target::Sweep("tcp/3306", 102),
        Some("SYN"),
        Some("SYN"),
        false,
    ),
    e(
        "S12",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("OS_FINGERPRINT"),
        Some("OS_FINGERPRINT"),
        false,
    ),
    e(
        "S13",
        "10.99.2.66",
        Target::Host("10.99.2.1"),
        Some("SYN"),
        Some("SYN"),
        false,
    ),
    // The router logs the reassembled datagram: no trace of fragments.
    e(
        "S14",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("FRAGMENTED"),
        Some("SYN"),
        true,
    ),
    e(
        "S15",
        "fd99:2::66",
        Target::Host("fd99:1::3"),
        Some("SYN"),
        Some("SYN"),
        false,
    ),
    e(
        "S21",
        "10.99.2.66",
        Target::Host("10.99.1.3"),
        Some("SYN_FIN"),
        Some("SYN_FIN"),
        false,
    ),
];

const fn e(
    id: &'static str,
    src: &'static str,
    target: Target,
    capture: Option<&'static str>,
    log: Option<&'static str>,
    log_repeat: bool,
) -> Expect {
    Expect {
        id,
        src,
        target,
        capture,
        log,
        log_repeat,
    }
}

fn matches(a: &Alert, x: &Expect, ty: &str) -> bool {
    let src_ok = a.src.map(|s| s.to_string()).as_deref() == Some(x.src);
    let target_ok = match x.target {
        Target::Host(h) => a.dst.map(|d| d.to_string()).as_deref() == Some(h) && a.sid % 100 == 1,
        Target::Sweep(w, sid) => detail(a, "swept") == w && a.sid == sid,
    };
    src_ok && target_ok && types(a).iter().any(|t| t == ty)
}

/// Checks every expectation against `alerts`; `fresh` demands an alert in
/// the scan's own window (log stamps have 1 s resolution: 1 s of slack).
fn check(alerts: &[Alert], which: &str, pick: impl Fn(&Expect) -> (Option<&'static str>, bool)) {
    let truth = ground_truth("scans/ground_truth.tsv");
    for x in EXPECT {
        let (ty, repeat) = pick(x);
        let Some(ty) = ty else { continue };
        let act = truth.iter().find(|a| a.id == x.id).unwrap();
        let found = alerts.iter().any(|a| {
            let t = a.ts.as_secs_f64();
            let in_window = t >= act.start - 1.2 && t <= act.end + 2.5;
            let before_end = t <= act.end + 2.5;
            matches(a, x, ty) && if repeat { before_end } else { in_window }
        });
        assert!(
            found,
            "{which}: {} not found as {ty}\n{}",
            x.id,
            show(alerts)
        );
    }
}

fn no_forged_or_land(alerts: &[Alert], which: &str) {
    for a in alerts {
        let src = a.src.unwrap().to_string();
        assert!(
            src != "10.99.1.2" && src != "10.99.77.7",
            "{which}: forged single-port SYNs (S17/S18) reported as a scan: {}",
            a.msg
        );
        assert!(
            !(src == "10.99.1.3" && a.dst == a.src),
            "{which}: LAND (S16) reported as a scan: {}",
            a.msg
        );
    }
    // Only the attacker and the S11 sweeper are scanners.
    for a in alerts {
        let src = a.src.unwrap().to_string();
        assert!(
            ["10.99.2.66", "fd99:2::66", "10.99.1.3"].contains(&src.as_str()),
            "{which}: unexpected scanner {src}"
        );
    }
}

#[test]
fn perimeter_capture() {
    let alerts = run(&[data("scans/capture.pcap")], ScanConfig::default(), home());
    check(&alerts, "capture.pcap", |x| (x.capture, false));
    no_forged_or_land(&alerts, "capture.pcap");
    // ACK probes are off by default (psad's IGNORE_CONNTRACK_BUG_PKTS).
    assert!(
        alerts
            .iter()
            .all(|a| !types(a).contains(&"ACK".to_string()))
    );
}

#[test]
fn netfilter_log() {
    let alerts = run(&[data("scans/iptables.log")], ScanConfig::default(), home());
    check(&alerts, "iptables.log", |x| (x.log, x.log_repeat));
    no_forged_or_land(&alerts, "iptables.log");
    assert!(
        alerts
            .iter()
            .all(|a| !types(a).contains(&"ACK".to_string()))
    );
    // One alert per episode plus escalations, not one per line.
    assert!(alerts.len() < 60, "{} alerts for 14931 lines", alerts.len());
}

#[test]
fn lan_capture() {
    // What crossed the router: S01, S07, S08, S11 (all 20 SYNs), S12, S14.
    let alerts = run(
        &[data("scans/capture_lan.pcap")],
        ScanConfig::default(),
        home(),
    );
    for id in ["S01", "S07", "S08", "S11", "S14"] {
        let x = EXPECT.iter().find(|x| x.id == id).unwrap();
        check(&alerts, "capture_lan.pcap", |y| {
            if y.id == x.id {
                (x.capture, false)
            } else {
                (None, false)
            }
        });
    }
    no_forged_or_land(&alerts, "capture_lan.pcap");
}

#[test]
fn ack_scan_when_enabled() {
    let cfg = ScanConfig {
        detect_ack: true,
        ..ScanConfig::default()
    };
    let truth = ground_truth("scans/ground_truth.tsv");
    let s06 = truth.iter().find(|a| a.id == "S06").unwrap();
    for (file, which) in [
        ("scans/iptables.log", "log"),
        ("scans/capture.pcap", "capture"),
    ] {
        let alerts = run(&[data(file)], cfg.clone(), home());
        assert!(
            alerts.iter().any(|a| {
                let t = a.ts.as_secs_f64();
                a.dst.map(|d| d.to_string()).as_deref() == Some("10.99.1.2")
                    && types(a).contains(&"ACK".to_string())
                    && t >= s06.start - 1.2
                    && t <= s06.end + 2.5
            }),
            "{which}: S06 ACK scan not found\n{}",
            show(&alerts)
        );
    }
}
