//! `rules/header-checks.rules` (psad's header checks as ordinary rules) on
//! psad's own test logs and the lab's netfilter log: for each checked rule,
//! the alert count equals the number of log lines a plain text reading of
//! the same fields selects.

mod common;

use common::{data, run_engine};
use tripline_core::HomeNets;
use tripline_detect::EngineConfig;
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_rules::{LoadSummary, RuleSet, Variables};

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
}

fn num(line: &str, key: &str) -> Option<u32> {
    field(line, key).and_then(|v| v.parse().ok())
}

/// The TCP flag words of a netfilter line.
fn has_flags(line: &str, want: &[&str]) -> bool {
    line.contains("PROTO=TCP")
        && line.split("RES=").nth(1).is_some_and(|after| {
            let words: Vec<&str> = after
                .split_whitespace()
                .skip(1)
                .take_while(|w| !w.starts_with("URGP="))
                .collect();
            want.iter().all(|f| words.contains(f))
        })
}

/// Whether a log line should raise `sid`, read from the text alone.
fn expected(sid: u32, l: &str) -> bool {
    let icmp4 = l.contains("PROTO=ICMP ");
    let icmp6 = l.contains("PROTO=ICMPv6 ");
    match sid {
        9100001 => field(l, "SRC").is_some() && field(l, "SRC") == field(l, "DST"),
        9100002 => {
            matches!(field(l, "SRC"), Some(s) if s.starts_with("0.") || s == "255.255.255.255")
        }
        9100025 => icmp4 && num(l, "TYPE") == Some(8) && num(l, "CODE").is_some_and(|c| c > 0),
        9100027 => {
            icmp6
                && num(l, "TYPE").is_some_and(|t| (133..=137).contains(&t))
                && num(l, "CODE").is_some_and(|c| c > 0)
        }
        9100030 => has_flags(l, &["SYN", "FIN"]),
        9100032 => l.contains("PROTO=TCP") && num(l, "DPT") == Some(0),
        _ => false,
    }
}

#[test]
fn header_check_rules_count_like_the_log_text() {
    let rules_file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../rules/header-checks.rules"
    );
    let home = HomeNets::parse(&["192.168.10.0/24", "10.99.1.0/24"]).unwrap();
    let mut set = RuleSet::new(Variables::suricata_defaults(&home), None);
    let mut summary = LoadSummary::default();
    set.load_file(std::path::Path::new(rules_file), &mut summary);
    assert_eq!(summary.error_count() + summary.skipped(), 0, "{summary:?}");
    let logs: Vec<String> = [
        "psad/logs/invalid_icmp_type_code",
        "psad/logs/syn_scan_1000_1500_zeroip",
        "psad/logs/ipv6_invalid_icmp6_type_code",
        "psad/logs/xmas_scan_1000_1150",
        "psad/logs/ms_sql_server_sig_match",
        "scans/iptables.log",
    ]
    .iter()
    .map(|l| data(l))
    .collect();
    // Must fire somewhere in these logs (the others may rightly stay silent).
    let must_fire = [9100002, 9100025, 9100027, 9100030];
    for log in &logs {
        let config = EngineConfig {
            home_nets: home.clone(),
            signature: SignatureConfig::with_rules(set.rules().to_vec(), None),
            ..Default::default()
        };
        let run = run_engine(std::slice::from_ref(log), config, "signature");
        let text = std::fs::read_to_string(log).unwrap();
        for sid in [9100001, 9100002, 9100025, 9100027, 9100030, 9100032] {
            let want = text.lines().filter(|l| expected(sid, l)).count();
            let got = run.alerts.iter().filter(|a| a.sid == sid).count();
            assert_eq!(got, want, "sid {sid} on {log}");
        }
    }
    let all: String = logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap())
        .collect();
    for sid in must_fire {
        assert!(
            all.lines().any(|l| expected(sid, l)),
            "sid {sid} selects nothing: the test would prove nothing"
        );
    }
}
