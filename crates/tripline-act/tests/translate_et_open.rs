//! Translation measured on Emerging Threats Open (the whole 2024-04 set in
//! ../shared/data/rules): the share translated for each firewall, the
//! reasons for the rest, and the scripts accepted by the real tools
//! (`nft -c -f`, `iptables-restore --test`) inside a fresh namespace.

mod respond_support;

use respond_support::{NetnsPair, in_ns, is_root, skip};
use std::path::PathBuf;
use tripline_act::respond::translate::{FirewallSyntax, TranslateReport, translate};
use tripline_core::HomeNets;
use tripline_rules::{Classifications, RuleSet, Variables};

fn et_open() -> (RuleSet, tripline_rules::LoadSummary) {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/rules/et-open-2024-04"
    ));
    assert!(
        dir.is_dir(),
        "{} is missing: ../shared must be beside the repository",
        dir.display()
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rules"))
        .collect();
    files.sort();
    let cls = std::fs::read_to_string(dir.join("classification.config"))
        .ok()
        .map(|t| Classifications::parse(&t).0);
    let home = HomeNets::parse(&["192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"]).unwrap();
    RuleSet::load_files(&files, Variables::suricata_defaults(&home), cls)
}

fn measure(syntax: FirewallSyntax) -> (String, TranslateReport) {
    let (set, summary) = et_open();
    let (script, mut report) = translate(set.rules(), syntax, false);
    report.add_not_loaded(&summary.skipped_by_reason);
    eprintln!("== {syntax:?} ==\n{}", report.render());
    (script, report)
}

#[test]
fn et_open_translation_beats_fwsnort_for_iptables_and_loads() {
    let (script, report) = measure(FirewallSyntax::Iptables);
    assert!(report.rules > 20_000, "{}", report.rules);
    // fwsnort translates about 58% of the Snort rules it ships.
    assert!(report.percent() > 58.0, "{:.1}%", report.percent());
    if !is_root() {
        skip("loading the translated rules needs root");
        return;
    }
    let pair = NetnsPair::new("e").expect("namespaces");
    let path = std::env::temp_dir().join(format!("tripline-et-{}.ipt", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let r = in_ns(
        &pair.victim,
        &["iptables-restore", "--test", "-n", path.to_str().unwrap()],
    );
    let _ = std::fs::remove_file(&path);
    r.expect("iptables-restore rejects the translation");
}

#[test]
fn et_open_translation_for_nft_loads() {
    let (script, report) = measure(FirewallSyntax::Nft);
    assert!(report.translated > 0);
    if !is_root() {
        skip("loading the translated rules needs root");
        return;
    }
    let pair = NetnsPair::new("f").expect("namespaces");
    let path = std::env::temp_dir().join(format!("tripline-et-{}.nft", std::process::id()));
    std::fs::write(&path, &script).unwrap();
    let r = in_ns(&pair.victim, &["nft", "-c", "-f", path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    r.expect("nft rejects the translation");
}
