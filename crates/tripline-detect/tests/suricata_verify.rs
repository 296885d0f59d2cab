//! Runs the Suricata verification tests in
//! `../shared/data/compat/suricata-verify/` (rules + capture + expected
//! alert counts) through the engine's signature detector and compares the
//! alert counts per check.
//!
//! `cargo test -p tripline-detect --test suricata_verify -- --nocapture`
//! prints one line per test and the pass rate. Tests that need something
//! tripline does not do are listed in `tests/data/suricata_verify_scope.txt`
//! with the reason; every other test must pass.

mod common;

use common::data;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tripline_core::{Alert, HomeNets};
use tripline_detect::EngineConfig;
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_rules::{LoadSummary, RuleSet, Variables};

/// The outcome of one test.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Pass,
    Fail(String),
}

fn field_of(a: &Alert, key: &str) -> Option<Value> {
    let proto = |p: u8| match p {
        6 => "TCP".to_string(),
        17 => "UDP".to_string(),
        1 => "ICMP".to_string(),
        58 => "IPv6-ICMP".to_string(),
        n => n.to_string(),
    };
    Some(match key {
        "event_type" => "alert".into(),
        "alert.signature_id" => a.sid.into(),
        "alert.gid" => a.gid.into(),
        "alert.rev" => a.rev.into(),
        "alert.signature" => a.msg.clone().into(),
        "alert.category" => a.category.clone().into(),
        "alert.severity" => a.severity.0.into(),
        "alert.action" => "allowed".into(),
        "src_ip" => a.src?.to_string().into(),
        "dest_ip" => a.dst?.to_string().into(),
        "src_port" => a.sport?.into(),
        "dest_port" => a.dport?.into(),
        "proto" => proto(a.protocol?).into(),
        "app_proto" => a.details.get("app_proto")?.clone(),
        "payload" => a.details.get("payload")?.clone(),
        "payload_printable" => a.details.get("payload_printable")?.clone(),
        "vlan[0]" => a.details.get("vlan")?.get(0)?.clone(),
        "pcap_cnt" => a.details.get("pcap_cnt")?.clone(),
        "ether.dest_mac" => a.details.get("ether")?.get("dest_mac")?.clone(),
        "ether.src_mac" => a.details.get("ether")?.get("src_mac")?.clone(),
        "pkt_src" | "ip_v" | "tx_id" | "stream" => a.details.get(key)?.clone(),
        "packet_info.linktype" | "packet_info.linktype_name" => a
            .details
            .get("packet_info")?
            .get(&key["packet_info.".len()..])?
            .clone(),
        "traffic.id[0]" => a.details.get("traffic")?.get("id")?.get(0)?.clone(),
        "traffic.label[0]" => a.details.get("traffic")?.get("label")?.get(0)?.clone(),
        "http.hostname"
        | "http.url"
        | "http.http_method"
        | "http.protocol"
        | "http.http_user_agent"
        | "http.http_content_type"
        | "http.status" => a.details.get("http")?.get(&key["http.".len()..])?.clone(),
        _ => return None,
    })
}

/// True when the alert has every field of `want` with that value; `Err`
/// names a field tripline cannot check.
fn matches(a: &Alert, want: &serde_json::Map<String, Value>) -> Result<bool, String> {
    for (k, v) in want {
        if k == "event_type" && v != "alert" {
            return Err(format!("checks {v} events"));
        }
        let known = [
            "event_type",
            "alert.signature_id",
            "alert.gid",
            "alert.rev",
            "alert.signature",
            "alert.category",
            "alert.severity",
            "alert.action",
            "src_ip",
            "dest_ip",
            "src_port",
            "dest_port",
            "proto",
            "app_proto",
            "payload",
            "payload_printable",
            "vlan[0]",
            "pcap_cnt",
            "ether.dest_mac",
            "ether.src_mac",
            "pkt_src",
            "ip_v",
            "tx_id",
            "stream",
            "packet_info.linktype",
            "packet_info.linktype_name",
            "traffic.id[0]",
            "traffic.label[0]",
            "http.hostname",
            "http.url",
            "http.http_method",
            "http.protocol",
            "http.http_user_agent",
            "http.http_content_type",
            "http.status",
        ];
        if !known.contains(&k.as_str()) {
            return Err(format!("checks field {k}"));
        }
        let got = field_of(a, k);
        // Suricata writes IPv6 addresses in full ("2001:0db8:0000:…"):
        // the same address whatever the notation.
        let address = |x: &Value| x.as_str()?.parse::<std::net::IpAddr>().ok();
        let same = match (&got, v) {
            (Some(g), w) if k == "src_ip" || k == "dest_ip" => {
                address(g).is_some() && address(g) == address(w)
            }
            (Some(Value::Number(g)), Value::Number(w)) => g.as_f64() == w.as_f64(),
            (Some(Value::String(g)), Value::String(w)) => g == w,
            (Some(g), Value::String(w)) => w.as_str() == g.to_string().as_str(),
            (None, _) => false,
            (Some(g), w) => g == w,
        };
        if !same {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The value of `--set key=value` in the test's arguments.
fn setting<'a>(args: &'a str, key: &str) -> Option<&'a str> {
    args.split_whitespace()
        .filter_map(|a| a.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

/// A Suricata size: a number with an optional kb/mb/gb suffix.
fn parse_size(v: &str) -> Option<u64> {
    let v = v.to_ascii_lowercase();
    let (num, mult) = match v.strip_suffix("kb") {
        Some(n) => (n, 1 << 10),
        None => match v.strip_suffix("mb") {
            Some(n) => (n, 1 << 20),
            None => match v.strip_suffix("gb") {
                Some(n) => (n, 1 << 30),
                None => (v.as_str(), 1),
            },
        },
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

/// The engine configuration and capture of one test, as its `args` say.
fn prepare(t: &Value, root: &Path) -> Result<(EngineConfig, PathBuf), String> {
    let dir = root.join(t["test"].as_str().unwrap_or_default());
    let args = t["args"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    let mut vars = Variables::suricata_defaults(
        &HomeNets::parse(&["192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"]).unwrap_or_default(),
    );
    if args.contains("vars.address-groups.EXTERNAL_NET=any") {
        vars.set_address("EXTERNAL_NET", "any");
    }
    let mut set = RuleSet::new(vars, None);
    let mut summary = LoadSummary::default();
    let mut rule_files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    rule_files.retain(|p| p.extension().is_some_and(|e| e == "rules"));
    rule_files.sort();
    for f in &rule_files {
        set.load_file(f, &mut summary);
    }
    if summary.skipped() > 0 || summary.error_count() > 0 {
        let reasons: Vec<String> = summary
            .skipped_by_reason
            .keys()
            .cloned()
            .chain(summary.errors.iter().map(|e| e.message.clone()))
            .collect();
        return Err(format!("rules not loaded: {}", reasons.join(", ")));
    }
    let mut signature = SignatureConfig {
        midstream: args.contains("stream.midstream=true"),
        async_oneside: args.contains("stream.async-oneside=true"),
        ..SignatureConfig::with_rules(set.rules().to_vec(), None)
    };
    if let Some(depth) = setting(&args, "stream.reassembly.depth") {
        // Suricata's 0 means no limit.
        signature.reassembly.depth = match parse_size(depth) {
            Some(0) => u64::MAX,
            Some(n) => n,
            None => return Err(format!("bad stream.reassembly.depth {depth}")),
        };
    }
    const HTP: &str = "app-layer.protocols.http.libhtp.default-config.";
    if let Some(limit) = setting(&args, &format!("{HTP}response-body-limit")) {
        match parse_size(limit).and_then(|n| usize::try_from(n).ok()) {
            Some(n) => signature.http.response_body = n,
            None => return Err(format!("bad response-body-limit {limit}")),
        }
    }
    if let Some(layers) = setting(&args, &format!("{HTP}response-body-decompress-layer-limit")) {
        match layers.parse() {
            Ok(n) => signature.http.decompress.layers = n,
            Err(_) => return Err(format!("bad decompress-layer-limit {layers}")),
        }
    }
    let config = EngineConfig {
        signature,
        ..Default::default()
    };
    let det =
        tripline_detect::detectors::signature::SignatureDetector::new(config.signature.clone());
    if let Some((i, why)) = det.refused().first() {
        return Err(format!("sid {} refused: {why}", set.rules()[*i].sid));
    }
    Ok((config, dir.join(t["pcap"].as_str().unwrap_or_default())))
}

fn run_test(t: &Value, root: &Path) -> Outcome {
    let (config, pcap) = match prepare(t, root) {
        Ok(p) => p,
        Err(e) => return Outcome::Fail(e),
    };
    let alerts = match run_capture(&pcap, config) {
        Ok(a) => a,
        Err(e) => return Outcome::Fail(format!("capture: {e}")),
    };
    let mut problems = Vec::new();
    for check in t["alert_checks"].as_array().into_iter().flatten() {
        if !applies_to_emulated_version(check) {
            continue;
        }
        let empty = serde_json::Map::new();
        let want = check["match"].as_object().unwrap_or(&empty);
        let mut n = 0u64;
        for a in &alerts {
            match matches(a, want) {
                Ok(true) => n += 1,
                Ok(false) => {}
                Err(e) => return Outcome::Fail(e),
            }
        }
        let ok = match (check.get("count"), check.get("lt"), check.get("gt")) {
            (Some(c), _, _) => Some(n) == c.as_u64(),
            (None, Some(lt), _) => lt.as_u64().is_some_and(|l| n < l),
            (None, None, Some(gt)) => gt.as_u64().is_some_and(|g| n > g),
            (None, None, None) => n > 0,
        };
        if !ok {
            problems.push(format!("{} alerts for {}", n, Value::Object(want.clone())));
        }
    }
    if problems.is_empty() {
        Outcome::Pass
    } else {
        Outcome::Fail(problems.join("; "))
    }
}

struct Collect(Vec<Alert>);

impl tripline_detect::EngineOutput for Collect {
    fn connection(&mut self, _c: tripline_core::Connection) {}
    fn dns(&mut self, _d: tripline_core::DnsLog) {}
    fn auth(&mut self, _a: tripline_core::AuthLog) {}
    fn alert(&mut self, a: Alert) {
        if a.detector == "signature" {
            self.0.push(a);
        }
    }
}

struct Sink<'a>(&'a mut tripline_detect::Engine, &'a mut Collect);

impl tripline_ingest::RecordSink for Sink<'_> {
    fn record(&mut self, rec: &tripline_core::Record<'_>) {
        self.0.process(rec, self.1);
    }
    fn error(&mut self, _e: tripline_core::InputError) {}
}

/// Runs one capture through an engine; the signature alerts.
fn run_capture(pcap: &Path, config: EngineConfig) -> Result<Vec<Alert>, String> {
    let mut engine = tripline_detect::Engine::new(config);
    let mut out = Collect(Vec::new());
    let opts = tripline_ingest::logs::LogOptions::default();
    let mut src = tripline_ingest::open::open_input(&pcap.display().to_string(), &opts)
        .map_err(|e| e.to_string())?;
    src.run(&mut Sink(&mut engine, &mut out));
    engine.finish(&mut out);
    Ok(out.0)
}

/// The Suricata version whose behaviour tripline follows: the suite's
/// snapshot is of the 8.x era, and a check may be limited to some versions
/// (`requires: {min-version, lt-version}`).
const EMULATED_VERSION: f64 = 8.0;

/// True when a check's `requires` admits [`EMULATED_VERSION`].
fn applies_to_emulated_version(check: &Value) -> bool {
    let req = &check["requires"];
    let min = req["min-version"].as_f64().unwrap_or(f64::MIN);
    let below = req["lt-version"].as_f64().unwrap_or(f64::MAX);
    (min..below).contains(&EMULATED_VERSION)
}

/// The suite's directory and its manifest (one entry per test).
fn suite() -> (PathBuf, Vec<Value>) {
    let root = Path::new(&data("compat/suricata-verify")).to_path_buf();
    let manifest = serde_json::from_str(
        &std::fs::read_to_string(root.join("manifest.json")).expect("manifest.json"),
    )
    .expect("manifest parses");
    (root, manifest)
}

/// `test-name<TAB>reason` lines: tests out of scope.
fn out_of_scope() -> BTreeMap<String, String> {
    let text = include_str!("data/suricata_verify_scope.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(t, r)| (t.trim().to_string(), r.trim().to_string()))
        .collect()
}

#[test]
fn suricata_verify_tests_pass() {
    let (root, manifest) = suite();
    let scope = out_of_scope();
    let (mut pass, mut fail, mut skipped) = (0, Vec::new(), 0);
    let mut passing_out_of_scope = Vec::new();
    for t in &manifest {
        let name = t["test"]
            .as_str()
            .unwrap_or_default()
            .trim_start_matches("tests/");
        let outcome = run_test(t, &root);
        match (&outcome, scope.get(name)) {
            (Outcome::Pass, None) => pass += 1,
            (Outcome::Pass, Some(_)) => {
                pass += 1;
                passing_out_of_scope.push(name.to_string());
            }
            (Outcome::Fail(why), Some(_)) => {
                skipped += 1;
                println!("FAIL {name}: {why}");
            }
            (Outcome::Fail(why), None) => {
                println!("FAIL {name}: {why}");
                fail.push(format!("{name}: {why}"));
            }
        }
    }
    let total = manifest.len();
    println!(
        "suricata-verify: {pass}/{total} pass ({:.1} %), {skipped} out of scope, {} failing in scope",
        100.0 * pass as f64 / total as f64,
        fail.len()
    );
    for f in &fail {
        println!("in scope and failing: {f}");
    }
    for p in &passing_out_of_scope {
        println!("passes but is listed out of scope: {p}");
    }
    assert!(fail.is_empty(), "{} in-scope tests fail", fail.len());
}

/// Parallel signature workers give exactly the alerts of the engine's own
/// thread — same alerts, same order, same fields — on every
/// suricata-verify capture (flowbits, xbits, thresholds, streams, HTTP
/// transactions completed at the end of the input), with 1, 2 and 3
/// workers.
#[test]
fn parallel_workers_give_the_alerts_of_one_thread() {
    let (root, manifest) = suite();
    let (mut compared, mut alerts) = (0, 0);
    for t in &manifest {
        let Ok((config, pcap)) = prepare(t, &root) else {
            continue;
        };
        let Ok(want) = run_capture(&pcap, config.clone()) else {
            continue;
        };
        for workers in [1, 2, 3] {
            let mut parallel = config.clone();
            parallel.signature.workers = workers;
            let got = run_capture(&pcap, parallel).expect("the capture read once");
            assert!(
                got == want,
                "{}: {workers} workers gave {} alerts, one thread {}",
                t["test"],
                got.len(),
                want.len()
            );
        }
        compared += 1;
        alerts += want.len();
    }
    println!("{compared} captures, {alerts} alerts, equal with 1-3 workers");
    assert!(
        compared > 400 && alerts > 800,
        "{compared} captures, {alerts} alerts"
    );
}
