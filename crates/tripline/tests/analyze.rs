//! `tripline analyze` end to end on the bundled sample data and the shared lab data.

mod common;

use common::*;
use serde_json::Value;
use tripline_store::Store;

fn analyze_json(args: &[&str]) -> (Value, std::process::Output) {
    let mut full = vec!["analyze", "--json", "--quiet"];
    full.extend_from_slice(args);
    let out = tripline(&full);
    assert!(out.status.success(), "analyze failed: {}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {}", stdout(&out)));
    (v, out)
}

fn input<'a>(summary: &'a Value, suffix: &str) -> &'a Value {
    summary["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["path"].as_str().unwrap().ends_with(suffix))
        .unwrap_or_else(|| panic!("no input {suffix}"))
}

#[test]
fn sample_data_is_analyzed_and_stored() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    let eve = join(&dir, "eve.json");
    let cfg = example("tripline.toml");
    let (s, _) = analyze_json(&[
        "--config",
        &cfg,
        "--db",
        &db,
        "--eve",
        &eve,
        &example("data"),
    ]);

    // Frame counts from `tcpdump -nn -r FILE | wc -l`: home-lan.pcap 1431, scans-lan.pcap 5367.
    let lan = input(&s, "home-lan.pcap");
    assert_eq!(
        lan["records"].as_u64().unwrap() + lan["skipped"].as_u64().unwrap(),
        1431
    );
    let scans = input(&s, "scans-lan.pcap");
    assert_eq!(
        scans["records"].as_u64().unwrap() + scans["skipped"].as_u64().unwrap(),
        5367
    );
    // `wc -l examples/data/kern.log` = 25, all netfilter lines.
    assert_eq!(input(&s, "kern.log")["records"], 25);
    assert_eq!(s["firewall_lines"], 25);
    assert!(
        s["errors"].as_object().unwrap().is_empty(),
        "sample data is clean: {:?}",
        s["errors"]
    );
    // sshd: 52 "Failed password" + 17 "Invalid user" + 3 "Accepted" ... all counted as auth records.
    assert!(s["auth_records"].as_u64().unwrap() >= 72);
    assert!(s["dns_records"].as_u64().unwrap() > 0);

    let store = Store::open(std::path::Path::new(&db)).unwrap();
    let counts = store.counts(None).unwrap();
    let conns: u64 = s["connections"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counts.connections, conns);
    assert_eq!(counts.dns, s["dns_records"].as_u64().unwrap());
    assert_eq!(counts.auth, s["auth_records"].as_u64().unwrap());
    assert_eq!(store.list_inputs().unwrap().len(), 5);

    // One EVE line per flow and per DNS record.
    let lines = std::fs::read_to_string(&eve).unwrap();
    let n_flow = lines
        .lines()
        .filter(|l| l.contains("\"event_type\":\"flow\""))
        .count() as u64;
    let n_dns = lines
        .lines()
        .filter(|l| l.contains("\"event_type\":\"dns\""))
        .count() as u64;
    assert_eq!(n_flow, conns);
    assert!(n_dns > 0);
}

#[test]
fn reingesting_is_detected_and_forced() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    let f = example("data/kern.log");
    let (first, _) = analyze_json(&["--db", &db, &f]);
    assert_eq!(first["inputs"][0]["records"], 25);
    let (second, out) = analyze_json(&["--db", &db, &f]);
    assert_eq!(second["inputs"][0]["format"], "skipped");
    assert!(
        stderr(&out).contains("already in the store"),
        "{}",
        stderr(&out)
    );
    let (third, _) = analyze_json(&["--db", &db, "--force", &f]);
    assert_eq!(third["inputs"][0]["records"], 25);
    // --force replaced the first ingest: one input, 25 connections, not 50.
    let store = Store::open(std::path::Path::new(&db)).unwrap();
    assert_eq!(store.list_inputs().unwrap().len(), 1);
    assert_eq!(store.counts(None).unwrap().connections, 25);
}

#[test]
fn every_eve_line_validates_against_suricata_schema() {
    let dir = tempdir();
    let eve = join(&dir, "eve.json");
    let out = tripline(&[
        "analyze",
        "--quiet",
        "--no-store",
        "--eve",
        &eve,
        &shared("dnsconn/capture.pcap"),
        &shared("dnsconn/dnsmasq.log"),
        &shared("dnsconn/iptables.log"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(shared("eve/schema.json")).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let text = std::fs::read_to_string(&eve).unwrap();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        let errors: Vec<String> = validator.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "line {} does not validate: {errors:?}\n{line}",
            i + 1
        );
        n += 1;
    }
    assert!(n > 100, "only {n} EVE lines");
}

#[test]
fn damaged_inputs_are_reported_counted_and_the_rest_is_read() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    // A pcap cut in the middle of a record.
    let pcap = std::fs::read(example("data/home-lan.pcap")).unwrap();
    let cut = join(&dir, "cut.pcap");
    std::fs::write(&cut, &pcap[..100_003]).unwrap();
    // A log with garbage and binary junk between good lines.
    let good = std::fs::read_to_string(example("data/kern.log")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(3, "this is not a log line at all");
    let mut junk = lines.join("\n").into_bytes();
    junk.extend_from_slice(b"\n\x00\x01\x02\xff\xfe binary junk\n");
    junk.extend_from_slice(good.lines().last().unwrap().as_bytes());
    junk.push(b'\n');
    let log = join(&dir, "junk.log");
    std::fs::write(&log, &junk).unwrap();
    // Something that is no known format at all.
    let other = join(&dir, "random.bin");
    std::fs::write(&other, [0x42u8; 64]).unwrap();

    let out = tripline(&[
        "analyze", "--quiet", "--json", "--db", &db, &cut, &log, &other,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("cut.pcap: byte offset"), "{err}");
    assert!(err.contains("junk.log: line 4"), "{err}");
    assert!(err.contains("junk.log: line 27"), "{err}");
    assert!(err.contains("random.bin"), "{err}");
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(input(&s, "cut.pcap")["records"].as_u64().unwrap() > 50);
    assert_eq!(input(&s, "junk.log")["records"], 26);
    assert_eq!(input(&s, "junk.log")["errors"], 2);
    assert_eq!(input(&s, "random.bin")["format"], "unreadable");
    let total: u64 = s["errors"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 4, "{:?}", s["errors"]);

    let store = Store::open(std::path::Path::new(&db)).unwrap();
    let inputs = store.list_inputs().unwrap();
    assert_eq!(inputs.len(), 3);
    let junk_row = inputs
        .iter()
        .find(|r| r.path.ends_with("junk.log"))
        .unwrap();
    assert_eq!(junk_row.stats.errors, 2);
    assert_eq!(store.input_errors(junk_row.id, 10).unwrap().len(), 2);

    let strict = tripline(&["analyze", "--quiet", "--no-store", "--strict", &log]);
    assert_eq!(strict.status.code(), Some(3));
}

#[test]
fn configuration_errors_name_the_file_and_exit_1() {
    let dir = tempdir();
    let cfg = join(&dir, "bad.toml");
    std::fs::write(&cfg, "home_net = [\"10.0.0.0/99\"]\n").unwrap();
    let out = tripline(&[
        "analyze",
        "--config",
        &cfg,
        "--no-store",
        &example("data/kern.log"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("bad.toml"), "{}", stderr(&out));
    let out = tripline(&["analyze", "--no-store"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("nothing to analyze"));
    let out = tripline(&["analyze", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn standard_input_is_detected_by_content() {
    let pcap = std::fs::read(example("data/home-lan.pcap")).unwrap();
    let out = tripline_stdin(
        &["analyze", "--quiet", "--json", "--no-store", "-"],
        Some(&pcap),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["packets"], 1427);
    let log = std::fs::read(example("data/kern.log")).unwrap();
    let out = tripline_stdin(
        &["analyze", "--quiet", "--json", "--no-store", "-"],
        Some(&log),
    );
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["firewall_lines"], 25);
}

/// `[signatures] workers`: the sample data's EVE alerts are the same, in
/// the same order, whether rules are matched in the engine's thread or by
/// worker threads.
#[test]
fn signature_workers_write_the_same_eve_alerts() {
    let dir = tempdir();
    let alerts = |workers: &str| -> Vec<Value> {
        let cfg = join(&dir, &format!("workers-{workers}.toml"));
        let text = std::fs::read_to_string(example("tripline.toml"))
            .unwrap()
            .replace(
                "rules = [\"rules\"]",
                &format!("rules = [{:?}]\nworkers = {workers}", example("rules")),
            );
        std::fs::write(&cfg, text).unwrap();
        let eve = join(&dir, &format!("eve-{workers}.json"));
        let (summary, _) = analyze_json(&[
            "--config",
            &cfg,
            "--no-store",
            "--eve",
            &eve,
            &example("data"),
        ]);
        assert_eq!(summary["signatures"]["workers"].to_string(), workers);
        assert_eq!(summary["signatures"]["rules"], 7);
        std::fs::read_to_string(&eve)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v["event_type"] == "alert" && v["alert"]["gid"] == 1)
            .collect()
    };
    let one = alerts("0");
    assert!(one.len() >= 20, "only {} signature alerts", one.len());
    for workers in ["1", "3"] {
        assert!(
            alerts(workers) == one,
            "{workers} workers differ from one thread"
        );
    }
}
