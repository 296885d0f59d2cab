//! `tripline conns` and `tripline config import-iptraffic` end to end, on
//! shared/data/dnsconn.

mod common;

use common::{shared, stderr, stdout, tripline};

const HOME: [&str; 4] = ["--home-net", "10.99.1.0/24", "--home-net", "fd99:1::/64"];

fn conns(extra: &[&str], inputs: &[&str]) -> (String, String, bool) {
    let mut args = vec!["conns", "--year", "2026"];
    args.extend(HOME);
    args.extend(extra);
    let paths: Vec<String> = inputs
        .iter()
        .map(|i| shared(&format!("dnsconn/{i}")))
        .collect();
    args.extend(paths.iter().map(String::as_str));
    let o = tripline(&args);
    (stdout(&o), stderr(&o), o.status.success())
}

#[test]
fn lists_named_connections_in_time_order() {
    let (out, err, ok) = conns(&[], &["dnsmasq.log", "iptables.log"]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("2026-")).collect();
    assert_eq!(lines.len(), 25, "{out}");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "time order");
    // C04: the asked name of the CNAME chain; C07: direct; C22: inbound.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("10.99.1.2       -> 10.99.2.3       tcp/80    video.example.com")),
        "{out}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("-> 10.99.2.7       udp/123   direct"))
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("10.99.1.3       <- 10.99.2.66      tcp/80    direct"))
    );
    assert!(
        out.contains("25 connections listed (16 outbound, 9 inbound) of 25"),
        "{out}"
    );
}

#[test]
fn allow_rules_hide_traffic_unless_all() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("t.toml");
    std::fs::write(
        &cfg,
        "[[connwatch.allow]]\ndomain = \"*.example.com\"\nproto = \"tcp\"\ntheir_port = 80\ndirection = \"out\"\n\n\
         [[connwatch.allow]]\ndirection = \"in\"\nour_port = 445\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    let (out, err, ok) = conns(
        &["--config", c, "--format", "csv"],
        &["dnsmasq.log", "iptables.log"],
    );
    assert!(ok, "{err}");
    // www (3), blog (2), video: allowed; the 5 DROPs to 445 too. 25 - 11 = 14.
    assert_eq!(out.lines().count(), 1 + 14, "{out}");
    assert!(!out.contains("video.example.com"));
    assert!(
        out.contains("files.example.net"),
        "same address, other port: still reported"
    );
    assert!(err.contains("14 connections listed"), "{err}");
    let (all, _, _) = conns(
        &["--config", c, "--all", "--format", "json"],
        &["dnsmasq.log", "iptables.log"],
    );
    let rows: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 25);
    let video = rows
        .iter()
        .find(|r| r["name"] == "video.example.com")
        .unwrap();
    assert_eq!(
        (video["allowed"].as_bool(), video["port"].as_u64()),
        (Some(true), Some(80))
    );
}

#[test]
fn group_aggregates_by_destination() {
    let (out, err, ok) = conns(&["--group", "--format", "csv"], &["capture.pcap"]);
    assert!(ok, "{err}");
    let www = out
        .lines()
        .find(|l| l.starts_with("www.example.com,out,"))
        .expect(&out);
    let f: Vec<&str> = www.split(',').collect();
    // C01, C02 (IPv6) and C18 (IPv4), from two addresses of one device.
    assert_eq!((f[4], f[5]), ("3", "2"), "{www}");
    // Link-local neighbour discovery is not a boundary crossing.
    assert!(!out.contains("fe80::"), "{out}");
}

#[test]
fn import_iptraffic_converts_and_reports_bad_lines() {
    let dir = tempfile::tempdir().unwrap();
    let legacy = dir.path().join("iptraffic.conf");
    std::fs::write(
        &legacy,
        "# watching the watchers\n[us]\n10.99.1.\nfd99:1:0:0:\n\n[ignores]\n\
         *\t0\t*\t80\t*.example.com\tTCP\t0\n\
         *\t445\t*\t0\t*\tTCP\t1\n\
         *\t0\t*\t80\tTCP\t0\n",
    )
    .unwrap();
    let o = tripline(&["config", "import-iptraffic", legacy.to_str().unwrap()]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("iptraffic.conf:9: expected 7 tab-separated fields"),
        "{err}"
    );
    let toml_text = stdout(&o);
    assert!(
        toml_text.contains("home_net = [\"10.99.1.0/24\", \"fd99:1::/64\"]"),
        "{toml_text}"
    );
    // The converted file works as a configuration: the rules apply.
    let cfg = dir.path().join("imported.toml");
    std::fs::write(&cfg, &toml_text).unwrap();
    let c = cfg.to_str().unwrap();
    let o = tripline(&["config", "--config", c, "check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = tripline(&[
        "conns",
        "--config",
        c,
        "--year",
        "2026",
        "--format",
        "csv",
        &shared("dnsconn/dnsmasq.log"),
        &shared("dnsconn/iptables.log"),
    ]);
    assert!(
        stderr(&o).contains("14 connections listed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn analyze_remembers_what_it_has_seen() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    let eve = dir.path().join("eve.json");
    let run = |files: &[&str]| {
        let mut args = vec![
            "analyze",
            "--quiet",
            "--year",
            "2026",
            "--db",
            db.to_str().unwrap(),
            "--eve",
            eve.to_str().unwrap(),
        ];
        args.extend(HOME);
        let paths: Vec<String> = files
            .iter()
            .map(|i| shared(&format!("dnsconn/{i}")))
            .collect();
        args.extend(paths.iter().map(String::as_str));
        let o = tripline(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        let text = std::fs::read_to_string(&eve).unwrap();
        text.lines()
            .filter(|l| l.contains("\"event_type\":\"alert\"") && l.contains("\"gid\":9300"))
            .count()
    };
    let first = run(&["dnsmasq.log", "iptables.log"]);
    // 14 new outbound destinations, 4 inbound callers that got in (C20,
    // C21, C22, C24; C23's five SYNs were dropped by the firewall, which is
    // the scan and tripwire detectors' business), 2 blocked names.
    assert_eq!(first, 20);
    // The capture shows the same minutes: only C17 is new (direct there,
    // since the capture carries the 10 s TTL that the log lacks).
    let second = run(&["capture.pcap"]);
    assert_eq!(second, 1);
}
