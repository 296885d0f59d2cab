//! The compact connection formats: CSV, JSON lines, split by protocol.

mod common;

use common::*;
use tripline_core::{Connection, ip_proto};
use tripline_store::{CSV_HEADER, ConnCsvWriter, ConnJsonWriter, SplitByProtocol, SplitFormat};

fn read_csv(bytes: &[u8]) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut r = csv::Reader::from_reader(bytes);
    let header = r.headers().unwrap().clone();
    (header, r.records().map(|x| x.unwrap()).collect())
}

#[test]
fn csv_columns_and_quoting() {
    let mut w = ConnCsvWriter::new(Vec::new()).unwrap();
    let mut tcp = conn("10.99.1.2", 51000, "fd99:2::2", 443, ip_proto::TCP);
    tcp.start = T0.add_nanos(999); // sub-microsecond part is cut, not rounded
    w.write(&tcp).unwrap();
    w.write(&firewall_conn()).unwrap();
    let mut odd = conn("10.99.1.2", 0, "10.99.2.2", 0, 253);
    odd.history = "a,b\"c\nd".into();
    w.write(&odd).unwrap();
    assert_eq!(w.rows(), 3);
    let bytes = w.into_inner().unwrap();
    let (header, rows) = read_csv(&bytes);
    assert_eq!(header.iter().collect::<Vec<_>>(), CSV_HEADER.to_vec());
    assert_eq!(
        rows[0].iter().collect::<Vec<_>>(),
        vec![
            "2026-11-22",
            "12:15:36.275668",
            "10.99.1.2",
            "51000",
            "fd99:2::2",
            "443",
            "tcp",
            "outbound",
            "SF",
            "5",
            "420",
            "4",
            "3000",
            "1.499999",
            "1:10.99.1.2-fd99:2::2-51000-443-6",
            "ShADadFf",
            "capture",
        ]
    );
    assert_eq!(&rows[1][16], "firewall:[UFW BLOCK] \"quoted\"");
    assert_eq!((&rows[1][7], &rows[1][8]), ("inbound", "S0"));
    assert_eq!(&rows[2][6], "253");
    assert_eq!(&rows[2][15], "a,b\"c\nd");
}

#[test]
fn json_lines_round_trip_fields() {
    let mut w = ConnJsonWriter::new(Vec::new());
    w.write(&conn("fd99:1::2", 5353, "fd99:2::53", 53, ip_proto::UDP))
        .unwrap();
    w.write(&firewall_conn()).unwrap();
    let text = String::from_utf8(w.into_inner().unwrap()).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["ts"], "2026-11-22T12:15:36.275668Z");
    assert_eq!(lines[0]["end"], "2026-11-22T12:15:37.775668Z");
    assert_eq!(
        (lines[0]["protocol"].as_str(), lines[0]["dstport"].as_u64()),
        (Some("udp"), Some(53))
    );
    assert_eq!(lines[0]["duration"].as_f64(), Some(1.5));
    assert_eq!(lines[1]["origin"]["kind"], "firewall");
    assert_eq!(lines[1]["origin"]["in_iface"], "gw-ext");
}

fn sample(i: u32) -> Connection {
    let protocol = match i % 10 {
        0..=5 => ip_proto::TCP,
        6 | 7 => ip_proto::UDP,
        8 => {
            if i % 20 == 8 {
                ip_proto::ICMP
            } else {
                ip_proto::ICMPV6
            }
        }
        _ => {
            if i % 20 == 9 {
                ip_proto::GRE
            } else {
                ip_proto::SCTP
            }
        }
    };
    let mut c = conn("10.99.1.2", (i % 60000) as u16, "10.99.2.5", 443, protocol);
    c.start = T0.add_nanos(i64::from(i) * 1000);
    c
}

#[test]
fn split_100k_rows_by_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("parts");
    let mut split = SplitByProtocol::create(&out, SplitFormat::Csv).unwrap();
    for i in 0..100_000 {
        split.write(&sample(i)).unwrap();
    }
    let counts = split.finish().unwrap();
    assert_eq!(
        (counts.tcp, counts.udp, counts.icmp, counts.other),
        (60_000, 20_000, 10_000, 10_000)
    );
    assert_eq!(counts.total(), 100_000);
    assert_eq!(counts.other_protocols.get(&ip_proto::GRE), Some(&5_000));
    assert_eq!(counts.other_protocols.get(&ip_proto::SCTP), Some(&5_000));
    for (part, n, protos) in [
        ("tcp", 60_000, vec!["tcp"]),
        ("udp", 20_000, vec!["udp"]),
        ("icmp", 10_000, vec!["icmp", "ipv6-icmp"]),
        ("other", 10_000, vec!["gre", "sctp"]),
    ] {
        let bytes = std::fs::read(out.join(format!("{part}.csv"))).unwrap();
        let (header, rows) = read_csv(&bytes);
        assert_eq!(header.len(), CSV_HEADER.len());
        assert_eq!(rows.len(), n, "{part}");
        assert!(rows.iter().all(|r| protos.contains(&&r[6])), "{part}");
    }
}

#[test]
fn split_creates_only_parts_that_get_rows() {
    let dir = tempfile::tempdir().unwrap();
    let mut split = SplitByProtocol::create(dir.path(), SplitFormat::JsonLines).unwrap();
    split
        .write(&conn("10.99.1.2", 1, "10.99.2.5", 53, ip_proto::UDP))
        .unwrap();
    assert_eq!(split.counts().udp, 1);
    split.finish().unwrap();
    let mut names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, vec!["udp.jsonl"]);
}

#[test]
fn split_into_unwritable_place_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let err = SplitByProtocol::create(&file.join("sub"), SplitFormat::Csv)
        .err()
        .expect("cannot create under a file");
    assert!(err.to_string().contains("plain-file"), "{err}");
}
