//! `tripline filter` against tcpdump: the recorded counts of
//! scans/tcpdump_filter_counts.txt, lines compared with a live
//! `tcpdump -nn -r`, pcapng with two link types, gzip, bad expressions.

mod common;

use common::{shared, stdout, tripline, tripline_stdin};
use std::process::Command;

/// (expression, count in capture.pcap, count in capture_lan.pcap).
fn recorded_counts() -> Vec<(String, u64, u64)> {
    let text = std::fs::read_to_string(shared("scans/tcpdump_filter_counts.txt")).unwrap();
    let rows: Vec<(String, u64, u64)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("filter"))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            assert!(c.len() >= 3, "bad row {l:?}");
            (
                c[0].trim().to_string(),
                c[1].trim().parse().unwrap(),
                c[2].trim().parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 23, "the file lists 23 filters");
    rows
}

fn count(expr: &str, file: &str) -> u64 {
    let o = tripline(&["filter", "--count", expr, file]);
    assert!(
        o.status.success(),
        "{expr} on {file}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o).trim().parse().unwrap()
}

#[test]
fn counts_equal_tcpdumps_recorded_counts() {
    let wan = shared("scans/capture.pcap");
    let lan = shared("scans/capture_lan.pcap");
    for (expr, want_wan, want_lan) in recorded_counts() {
        assert_eq!(count(&expr, &wan), want_wan, "`{expr}` on capture.pcap");
        assert_eq!(count(&expr, &lan), want_lan, "`{expr}` on capture_lan.pcap");
    }
}

/// `tcpdump -nn -r FILE EXPR` in UTC, one line per packet.
fn tcpdump_lines(file: &str, expr: &str) -> Vec<String> {
    let o = Command::new("tcpdump")
        .args(["-nn", "-r", file, expr])
        .env("TZ", "UTC")
        .output()
        .expect("tcpdump is installed by scripts/setup.sh");
    // tcpdump exits 1 on a truncated file, after printing what it read.
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("reading from file"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(&o).lines().map(str::to_string).collect()
}

#[test]
fn lines_match_tcpdump() {
    // Expressions whose packets carry nothing tcpdump would decode at the
    // application layer (that part is not printed; see print.rs).
    let exprs = [
        "arp",
        "icmp",
        "icmp6 and (ip6[40] = 128 or ip6[40] = 129 or ip6[40] = 135 or ip6[40] = 136)",
        "(ip[6:2] & 0x3fff) != 0",
        "tcp and not port 21 and not port 22 and not port 25 and not port 80 and not port 139 and not port 445",
        "ip6 and tcp",
    ];
    for file in [
        shared("scans/capture.pcap"),
        shared("scans/capture_lan.pcap"),
    ] {
        for expr in exprs {
            let want = tcpdump_lines(&file, expr);
            assert!(
                !want.is_empty() || expr == "ip6 and tcp",
                "{expr}: no packets"
            );
            let o = tripline(&["filter", expr, &file]);
            assert!(o.status.success());
            let got: Vec<String> = stdout(&o).lines().map(str::to_string).collect();
            assert_eq!(got.len(), want.len(), "{expr} on {file}: line count");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "{expr} on {file}");
            }
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains(&format!("{} packet", want.len())),
                "count on stderr: {err}"
            );
        }
    }
}

/// A pcapng with two interfaces: Ethernet (the even frames as captured)
/// and raw IP (the odd IPv4 frames without their Ethernet header).
fn two_linktype_pcapng(frames: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, kind: u32, body: &[u8]) {
        let pad = (4 - body.len() % 4) % 4;
        let total = (12 + body.len() + pad) as u32;
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&total.to_le_bytes());
        out.extend_from_slice(body);
        out.extend(std::iter::repeat_n(0u8, pad));
        out.extend_from_slice(&total.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut out, 0x0a0d_0d0a, &shb);
    for lt in [1u16, 101] {
        let mut idb = lt.to_le_bytes().to_vec();
        idb.extend_from_slice(&[0, 0]);
        idb.extend_from_slice(&0u32.to_le_bytes());
        block(&mut out, 1, &idb);
    }
    for (i, (secs, micros, data)) in frames.iter().enumerate() {
        let raw = i % 2 == 1 && data.get(12..14) == Some(&[0x08, 0x00]);
        let (if_id, bytes) = if raw {
            (1u32, &data[14..])
        } else {
            (0u32, &data[..])
        };
        let ts = *secs as u64 * 1_000_000 + *micros as u64;
        let mut epb = if_id.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        epb.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        epb.extend_from_slice(bytes);
        epb.extend(std::iter::repeat_n(0u8, (4 - bytes.len() % 4) % 4));
        block(&mut out, 6, &epb);
    }
    out
}

/// The frames of a little-endian microsecond pcap.
fn pcap_frames(bytes: &[u8]) -> Vec<(u32, u32, Vec<u8>)> {
    let le = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!(le(0), 0xa1b2_c3d4, "a little-endian µs pcap");
    let mut at = 24;
    let mut v = Vec::new();
    while at + 16 <= bytes.len() {
        let caplen = le(at + 8) as usize;
        v.push((
            le(at),
            le(at + 4),
            bytes[at + 16..at + 16 + caplen].to_vec(),
        ));
        at += 16 + caplen;
    }
    v
}

#[test]
fn pcapng_with_two_link_types_and_gzip_count_like_the_pcap() {
    use std::io::Write;
    let pcap = shared("scans/capture.pcap");
    let frames = pcap_frames(&std::fs::read(&pcap).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let ng = dir.path().join("mixed.pcapng");
    std::fs::write(&ng, two_linktype_pcapng(&frames)).unwrap();
    let gz = dir.path().join("mixed.pcapng.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&std::fs::read(&ng).unwrap()).unwrap();
    std::fs::write(&gz, enc.finish().unwrap()).unwrap();
    let ng = ng.to_str().unwrap();
    let gz = gz.to_str().unwrap();
    // IP-level expressions compile for both link types and match the same
    // packets whichever interface carried them.
    for (expr, want, _) in recorded_counts()
        .into_iter()
        .filter(|(e, ..)| !e.starts_with("arp"))
    {
        assert_eq!(
            count(&expr, ng),
            want,
            "`{expr}` on the two-link-type pcapng"
        );
    }
    let land = "ip and ip[12:4] = ip[16:4]";
    assert_eq!(count(land, gz), 3, "gzip");
    // Standard input, and a directory holding both files.
    let o = tripline_stdin(
        &["filter", "--count", land, "-"],
        Some(&std::fs::read(gz).unwrap()),
    );
    assert_eq!(stdout(&o).trim(), "3");
    assert_eq!(count(land, dir.path().to_str().unwrap()), 6);
    // `ether` exists only on the Ethernet interface: reported, not fatal.
    let o = tripline(&["filter", "--count", "ether src 02:99:00:02:00:66", ng]);
    assert!(o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("link type 101"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn bad_expression_exits_2_naming_it() {
    let o = tripline(&["filter", "tcp[13] &", &shared("scans/capture.pcap")]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("`tcp[13] &`"), "{err}");
    assert!(err.contains("syntax error"), "{err}");
}

#[test]
fn log_files_and_damage_are_reported() {
    let o = tripline(&["filter", "tcp", &shared("scans/iptables.log")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("log file"));
    // A capture cut short: the frames before the cut are counted, the
    // damage is named by offset, and the status says so.
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.pcap");
    let bytes = std::fs::read(shared("scans/capture.pcap")).unwrap();
    std::fs::write(&cut, &bytes[..100_000]).unwrap();
    let o = tripline(&[
        "filter",
        "--count",
        "ip or arp or ip6",
        cut.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let n: u64 = stdout(&o).trim().parse().unwrap();
    let tcpdump_n = tcpdump_lines(cut.to_str().unwrap(), "ip or arp or ip6").len() as u64;
    assert_eq!(n, tcpdump_n);
    assert!(String::from_utf8_lossy(&o.stderr).contains("byte offset"));
}
