//! The filter detector on real data: an analyst's filters file over
//! scans/capture.pcap, alert counts cross-checked with the packet counts
//! tcpdump recorded for the same expressions (tcpdump_filter_counts.txt).

mod common;

use common::{data, run_engine};
use std::collections::BTreeMap;
use std::path::Path;
use tripline_detect::EngineConfig;
use tripline_detect::detectors::filter::{FilterConfig, FilterDetector, load_filter_file};

/// tcpdump's count over capture.pcap for each expression of the counts file.
fn tcpdump_counts() -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(data("scans/tcpdump_filter_counts.txt"))
        .expect("scans/tcpdump_filter_counts.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("filter"))
        .filter_map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            Some((
                cols.first()?.trim().to_string(),
                cols.get(1)?.trim().parse().ok()?,
            ))
        })
        .collect()
}

fn filters_file() -> String {
    format!(
        "{}/tests/data/filters_scans.txt",
        env!("CARGO_MANIFEST_DIR")
    )
}

#[test]
fn alert_counts_add_up_to_tcpdump_counts() {
    let (filters, bad_lines) = load_filter_file(Path::new(&filters_file())).unwrap();
    // The line without a name is reported with its number and skipped.
    assert_eq!(bad_lines.len(), 1, "{bad_lines:?}");
    assert!(
        bad_lines[0]
            .to_string()
            .contains("filters_scans.txt: line 16"),
        "{}",
        bad_lines[0]
    );
    let config = FilterConfig {
        filters: filters.clone(),
        ..Default::default()
    };
    // libpcap rejects `broken`; the rest load.
    let (_, rejected) = FilterDetector::new(config.clone());
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(
        rejected[0].contains("filters_scans.txt:17: filter `broken`"),
        "{}",
        rejected[0]
    );

    let run = run_engine(
        &[data("scans/capture.pcap")],
        EngineConfig {
            home_nets: common::home(),
            filter: config,
            ..Default::default()
        },
        "filter",
    );
    let mut by_filter: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for a in &run.alerts {
        let name = a.details["filter"].as_str().unwrap().to_string();
        let e = by_filter.entry(name).or_default();
        e.0 += 1;
        e.1 += a.details["count"].as_u64().unwrap();
    }
    let expected = tcpdump_counts();
    for f in filters.iter().filter(|f| f.name != "broken") {
        let want = expected[&f.expression];
        let (alerts, matched) = by_filter.get(&f.name).copied().unwrap_or_default();
        assert_eq!(
            matched, want,
            "filter {} `{}`: matched packets vs tcpdump",
            f.name, f.expression
        );
        assert!(
            alerts <= matched,
            "{}: {alerts} alerts for {matched} packets",
            f.name
        );
    }
    // Aggregation: the 3 LAND packets (S16, 10.99.1.3 -> itself, port 139)
    // make one alert; the 2048 FIN/PSH/URG probes of the XMAS scan make one
    // alert per probed port and window.
    let land: Vec<_> = run
        .alerts
        .iter()
        .filter(|a| a.details["filter"] == "land")
        .collect();
    assert_eq!(land.len(), 1);
    assert_eq!(land[0].src, land[0].dst);
    assert_eq!(land[0].dport, Some(139));
    assert_eq!(land[0].details["count"], 3);
    assert_eq!(by_filter["xmas"].0, 1025, "one alert per port and window");
    // Port 20: S04's two probes at 12:16, nmap -O's twenty more than a
    // minute later, so a second window and a second alert.
    let port20: Vec<u64> = run
        .alerts
        .iter()
        .filter(|a| a.details["filter"] == "xmas" && a.dport == Some(20))
        .map(|a| a.details["count"].as_u64().unwrap())
        .collect();
    assert_eq!(port20, [2, 20]);
}
