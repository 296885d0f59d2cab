//! Loading time of the full Emerging Threats Open set (release mode):
//! `cargo bench -p tripline-rules --bench load`.

use std::path::PathBuf;
use std::time::Instant;
use tripline_core::HomeNets;
use tripline_rules::{Classifications, RuleSet, Variables};

fn main() {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/rules/et-open-2024-04"
    ));
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "rules"))
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            return;
        }
    };
    files.sort();
    let bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let home = HomeNets::parse(&["192.168.0.0/16", "10.0.0.0/8"]).unwrap_or_default();
    let mut best = f64::MAX;
    let mut loaded = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let cls = std::fs::read_to_string(dir.join("classification.config"))
            .map(|t| Classifications::parse(&t).0)
            .ok();
        let (set, summary) = RuleSet::load_files(&files, Variables::suricata_defaults(&home), cls);
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        loaded = set.rules().len();
        assert_eq!(summary.loaded as usize, loaded);
    }
    println!(
        "load ET Open: {} files, {:.1} MB, {loaded} rules loaded, best of 5: {:.3} s ({:.1} MB/s)",
        files.len(),
        bytes as f64 / 1e6,
        best,
        bytes as f64 / 1e6 / best
    );
}
