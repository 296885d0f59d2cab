//! Header-only signatures run on firewall log lines (the one `Header`
//! model): on the lab's netfilter log, each rule's alert count equals the
//! number of log lines a plain text reading of the same fields selects.

mod common;

use common::{data, run_engine};
use tripline_core::HomeNets;
use tripline_detect::EngineConfig;
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_rules::{Variables, parse_rule};

const RULES: &[&str] = &[
    r#"alert tcp any any -> any 23 (msg:"telnet SYN"; flags:S; sid:1;)"#,
    r#"alert icmp any any -> any any (msg:"echo request"; itype:8; sid:2;)"#,
    r#"alert tcp any any -> any any (msg:"xmas"; flags:FPU; sid:3;)"#,
    r#"alert tcp any any -> any any (msg:"null"; flags:0; sid:4;)"#,
    r#"alert ip any any -> any any (msg:"low ttl"; ttl:<45; sid:5;)"#,
    r#"alert tcp any any -> $HOME_NET [22,80,443] (msg:"syn to services"; flags:S; sid:6;)"#,
];

/// The TCP flag names of a netfilter line, as a sorted list.
fn flags(line: &str) -> Option<Vec<&str>> {
    if !line.contains("PROTO=TCP") {
        return None;
    }
    let after = line.split("RES=").nth(1)?;
    let mut f: Vec<&str> = after
        .split_whitespace()
        .skip(1)
        .take_while(|w| !w.starts_with("URGP="))
        .collect();
    f.sort_unstable();
    Some(f)
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

fn expected(sid: u32, line: &str, home: &HomeNets) -> bool {
    let f = flags(line);
    let is = |want: &[&str]| {
        f.as_deref().is_some_and(|f| {
            let mut w = want.to_vec();
            w.sort_unstable();
            f == w.as_slice()
        })
    };
    match sid {
        1 => field(line, "DPT") == Some("23") && is(&["SYN"]),
        2 => line.contains("PROTO=ICMP ") && field(line, "TYPE") == Some("8"),
        3 => is(&["FIN", "PSH", "URG"]),
        4 => is(&[]),
        5 => field(line, "TTL")
            .or_else(|| field(line, "HOPLIMIT"))
            .and_then(|t| t.parse::<u8>().ok())
            .is_some_and(|t| t < 45),
        6 => {
            matches!(field(line, "DPT"), Some("22" | "80" | "443"))
                && is(&["SYN"])
                && field(line, "DST")
                    .and_then(|d| d.parse().ok())
                    .is_some_and(|d| home.contains(d))
        }
        _ => false,
    }
}

#[test]
fn header_only_rules_count_like_the_log_text() {
    let home = common::home();
    let vars = Variables::suricata_defaults(&home);
    let rules: Vec<_> = RULES
        .iter()
        .map(|r| parse_rule(r, &vars).unwrap())
        .collect();
    let log = data("scans/iptables.log");
    let config = EngineConfig {
        home_nets: home.clone(),
        signature: SignatureConfig::with_rules(rules, None),
        ..Default::default()
    };
    let run = run_engine(std::slice::from_ref(&log), config, "signature");
    let text = std::fs::read_to_string(&log).unwrap();
    for sid in 1..=RULES.len() as u32 {
        let want = text.lines().filter(|l| expected(sid, l, &home)).count();
        let got = run.alerts.iter().filter(|a| a.sid == sid).count();
        println!("sid {sid}: {got} alerts, {want} lines");
        assert_eq!(got, want, "sid {sid}");
        assert!(
            want > 0,
            "sid {sid} selects nothing: the test would prove nothing"
        );
    }
}

#[test]
fn header_only_rules_give_the_same_counts_on_the_capture_and_its_log() {
    // The lab's capture and the gateway's log see the same scan packets; a
    // SYN-to-telnet rule fires on both (the log records only what the
    // gateway's rules logged, so it is a lower bound).
    let home = common::home();
    let vars = Variables::suricata_defaults(&home);
    let rule = || vec![parse_rule(RULES[0], &vars).unwrap()];
    let mk = || EngineConfig {
        home_nets: home.clone(),
        signature: SignatureConfig::with_rules(rule(), None),
        ..Default::default()
    };
    let cap = run_engine(&[data("scans/capture.pcap")], mk(), "signature")
        .alerts
        .len();
    let log = run_engine(&[data("scans/iptables.log")], mk(), "signature")
        .alerts
        .len();
    println!("telnet SYN: capture {cap}, log {log}");
    assert!(log > 0 && cap >= log, "capture {cap}, log {log}");
}
