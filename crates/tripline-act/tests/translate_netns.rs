//! Translated rules loaded into real nftables and iptables inside a test
//! namespace: a bounded probe that matches a rule increments that rule's
//! counter, a rule whose probe is never sent stays at zero, and the rule
//! that cannot be translated is reported with its reason.

mod respond_support;

use respond_support::{NetnsPair, in_ns, is_root, on_ns_thread, skip};
use std::io::Write;
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;
use tripline_act::respond::translate::{FirewallSyntax, TranslateReport, translate};
use tripline_core::HomeNets;
use tripline_rules::{RuleSet, Variables};

fn rules() -> RuleSet {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/translate_probe.rules"
    );
    let home = HomeNets::parse(&["10.233.0.0/16"]).unwrap();
    let (set, summary) = RuleSet::load_files(&[path], Variables::suricata_defaults(&home), None);
    assert_eq!(summary.error_count(), 0, "{:?}", summary.errors);
    assert_eq!(set.rules().len(), 5);
    set
}

/// Sends the probes from the attacker namespace: TCP payloads to 9999 and
/// 9998 (after the handshake), one UDP datagram to 9997.
fn send_probes(pair: &NetnsPair) {
    let v = pair.victim_ip.clone();
    on_ns_thread(&pair.attacker, move || {
        for (port, data) in [
            (9999u16, &b"xx tripline-probe xx"[..]),
            (9998, b"MAGIC and more"),
        ] {
            let dst: SocketAddr = format!("{v}:{port}").parse().unwrap();
            let mut s = TcpStream::connect_timeout(&dst, Duration::from_secs(2)).expect("connect");
            s.write_all(data).unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
        let u = UdpSocket::bind("0.0.0.0:0").unwrap();
        u.send_to(b"UDPPROBE", format!("{v}:9997")).unwrap();
        std::thread::sleep(Duration::from_millis(100));
    })
    .unwrap();
}

/// Packets counted by the rule whose log prefix names `sid`, from a
/// listing where each rule is one line.
fn counter(listing: &str, sid: u32, nft: bool) -> Option<u64> {
    let tag = format!("tripline sid:{sid} ");
    let line = listing.lines().find(|l| l.contains(&tag))?;
    if nft {
        let after = line.split("counter packets ").nth(1)?;
        after.split_whitespace().next()?.parse().ok()
    } else {
        line.split_whitespace().next()?.parse().ok()
    }
}

fn check_report(report: &TranslateReport, translated: u64) {
    assert_eq!(report.rules, 5);
    assert_eq!(report.translated, translated, "{}", report.render());
    assert_eq!(report.reasons.get("pcre"), Some(&1), "{}", report.render());
}

#[test]
fn nft_translation_counts_matching_probes() {
    let (script, report) = translate(rules().rules(), FirewallSyntax::Nft, false);
    // nftables: only the fixed-offset content and the UDP rule; the two
    // unanchored contents and the pcre rule are reported.
    check_report(&report, 2);
    assert_eq!(
        report
            .reasons
            .get("content not at a fixed offset (nftables has no string match)"),
        Some(&2)
    );
    if !is_root() {
        skip("translate namespace tests need root");
        return;
    }
    let pair = NetnsPair::new("t").expect("namespaces");
    pair.victim_listen(9999).unwrap();
    pair.victim_listen(9998).unwrap();
    let path = std::env::temp_dir().join(format!("tripline-probe-{}.nft", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let loaded = in_ns(&pair.victim, &["nft", "-f", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    loaded.expect("nft -f");
    send_probes(&pair);
    let listing = in_ns(
        &pair.victim,
        &["nft", "list", "chain", "inet", "tripline_rules", "sigs"],
    )
    .unwrap();
    assert!(counter(&listing, 9000002, true).unwrap() >= 1, "{listing}");
    assert_eq!(counter(&listing, 9000003, true), Some(1), "{listing}");
    // Loading again replaces the table rather than doubling it.
    let again = std::env::temp_dir().join(format!("tripline-probe2-{}.nft", std::process::id()));
    std::fs::write(&again, &script).unwrap();
    in_ns(&pair.victim, &["nft", "-f", again.to_str().unwrap()]).unwrap();
    let _ = std::fs::remove_file(&again);
    let listing = in_ns(
        &pair.victim,
        &["nft", "list", "chain", "inet", "tripline_rules", "sigs"],
    )
    .unwrap();
    assert_eq!(
        listing.matches("tripline sid:9000002 ").count(),
        1,
        "{listing}"
    );
}

#[test]
fn iptables_translation_counts_matching_probes() {
    let (script, report) = translate(rules().rules(), FirewallSyntax::Iptables, true);
    check_report(&report, 4);
    if !is_root() {
        skip("translate namespace tests need root");
        return;
    }
    let pair = NetnsPair::new("p").expect("namespaces");
    pair.victim_listen(9999).unwrap();
    pair.victim_listen(9998).unwrap();
    let path = std::env::temp_dir().join(format!("tripline-probe-{}.ipt", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let loaded = in_ns(
        &pair.victim,
        &["iptables-restore", "-n", path.to_str().unwrap()],
    );
    let _ = std::fs::remove_file(&path);
    loaded.expect("iptables-restore");
    in_ns(
        &pair.victim,
        &["iptables", "-I", "INPUT", "-j", "TRIPLINE_RULES"],
    )
    .unwrap();
    send_probes(&pair);
    // With --drop every rule has its own chain: LOG then DROP.
    let mut counts = Vec::new();
    for sid in [9000001u32, 9000002, 9000003, 9000004] {
        let chain = format!("TLR_1_{sid}_0");
        let listing = in_ns(&pair.victim, &["iptables", "-L", &chain, "-v", "-x", "-n"]).unwrap();
        counts.push(counter(&listing, sid, false).unwrap_or_else(|| panic!("{listing}")));
    }
    assert!(counts[0] >= 1, "content in the stream: {counts:?}");
    assert!(counts[1] >= 1, "fixed-offset content: {counts:?}");
    assert_eq!(counts[2], 1, "UDP probe: {counts:?}");
    assert_eq!(counts[3], 0, "never-sent probe: {counts:?}");
}
