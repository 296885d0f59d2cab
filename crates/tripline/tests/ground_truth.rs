//! Connection records against the lab's ground truth (../shared/data).

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;

/// `tripline reduce --format json FILES...` as parsed records.
fn reduce(files: &[&str]) -> Vec<Value> {
    let mut args = vec!["reduce", "--format", "json"];
    args.extend_from_slice(files);
    let out = tripline(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// One row of dnsconn/connections_ground_truth.tsv with a 5-tuple.
struct Truth {
    id: String,
    proto: String,
    src: String,
    sport: u64,
    dst: String,
    dport: u64,
    pkts_lan: u64,
    pkts_ext: u64,
    log_lines: u64,
}

fn truth() -> Vec<Truth> {
    let text = std::fs::read_to_string(shared("dnsconn/connections_ground_truth.tsv")).unwrap();
    let mut rows = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 14 || f[5].is_empty() {
            continue; // lookup-only rows
        }
        rows.push(Truth {
            id: f[0].into(),
            proto: f[4].into(),
            src: f[5].into(),
            sport: f[6].parse().unwrap(),
            dst: f[7].into(),
            dport: f[8].parse().unwrap(),
            pkts_lan: f[11].parse().unwrap(),
            pkts_ext: f[12].parse().unwrap(),
            log_lines: f[13].parse().unwrap(),
        });
    }
    assert_eq!(rows.len(), 22, "ground truth rows with a 5-tuple");
    rows
}

fn key(c: &Value) -> (String, u64, String, u64, String) {
    (
        c["src"].as_str().unwrap().to_string(),
        c["srcport"].as_u64().unwrap(),
        c["dst"].as_str().unwrap().to_string(),
        c["dstport"].as_u64().unwrap(),
        c["protocol"].as_str().unwrap().to_string(),
    )
}

fn index(conns: &[Value]) -> HashMap<(String, u64, String, u64, String), Vec<&Value>> {
    let mut m: HashMap<_, Vec<&Value>> = HashMap::new();
    for c in conns {
        m.entry(key(c)).or_default().push(c);
    }
    m
}

#[test]
fn capture_connections_match_the_ground_truth_packet_counts() {
    for (file, pick) in [
        (
            "dnsconn/capture.pcap",
            (|t: &Truth| t.pkts_lan) as fn(&Truth) -> u64,
        ),
        ("dnsconn/capture_ext.pcap", |t: &Truth| t.pkts_ext),
    ] {
        let conns = reduce(&[&shared(file)]);
        let idx = index(&conns);
        for t in truth() {
            let expected = pick(&t);
            let k = (
                t.src.clone(),
                t.sport,
                t.dst.clone(),
                t.dport,
                t.proto.clone(),
            );
            let found = idx.get(&k);
            if expected == 0 {
                assert!(
                    found.is_none(),
                    "{file} {}: no packets expected, found {found:?}",
                    t.id
                );
                continue;
            }
            let found =
                found.unwrap_or_else(|| panic!("{file} {}: connection {k:?} missing", t.id));
            assert_eq!(found.len(), 1, "{file} {}: one connection record", t.id);
            let c = found[0];
            let pkts = c["orig_pkts"].as_u64().unwrap() + c["resp_pkts"].as_u64().unwrap();
            assert_eq!(pkts, expected, "{file} {}: packets", t.id);
            if t.proto == "tcp" && expected > 5 && t.id != "C23" {
                assert_eq!(c["state"], "SF", "{file} {}: a complete TCP exchange", t.id);
            }
        }
    }
}

#[test]
fn firewall_log_connections_match_the_ground_truth_line_counts() {
    let conns = reduce(&[&shared("dnsconn/iptables.log")]);
    // `wc -l dnsconn/iptables.log` = 25, every line NEW or DROP.
    assert_eq!(conns.len(), 25);
    let idx = index(&conns);
    for t in truth() {
        let k = (
            t.src.clone(),
            t.sport,
            t.dst.clone(),
            t.dport,
            t.proto.clone(),
        );
        let n = idx.get(&k).map_or(0, |v| v.len() as u64);
        assert_eq!(n, t.log_lines, "{}: firewall records for {k:?}", t.id);
    }
    // C23 was dropped five times (SYN retransmissions to a closed forward).
    let c23 = &idx[&(
        "10.99.2.2".to_string(),
        43205,
        "10.99.1.2".to_string(),
        445,
        "tcp".to_string(),
    )];
    assert!(
        c23.iter()
            .all(|c| c["origin"]["prefix"] == "DROP" && c["state"] == "S0")
    );
}

#[test]
fn scan_log_and_capture_account_for_every_line_and_packet() {
    // `wc -l scans/iptables.log` = 14931: each logged packet is one record.
    let conns = reduce(&[&shared("scans/iptables.log")]);
    assert_eq!(conns.len(), 14931);
    // Packets in flows = decoded packets - fragment pieces: tcpdump counts
    // 17694 frames, 71 of them not IP (ARP), and 309 IPv4 fragments
    // (`(ip[6:2] & 0x3fff) != 0`, tcpdump_filter_counts.txt) that are
    // accounted as their 103 reassembled datagrams.
    let conns = reduce(&[&shared("scans/capture.pcap")]);
    let pkts: u64 = conns
        .iter()
        .map(|c| c["orig_pkts"].as_u64().unwrap() + c["resp_pkts"].as_u64().unwrap())
        .sum();
    assert_eq!(pkts, 17694 - 71 - 309 + 103);
}
