//! `tripline rules translate` end to end: the report on standard error,
//! and the nftables script accepted by the real `nft` in a fresh namespace.

mod common;

use std::process::{Command, Stdio};

fn fixture() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tripline-act/tests/data/translate_probe.rules"
    )
    .into()
}

#[test]
fn translate_reports_and_writes_loadable_scripts() {
    let dir = common::tempdir();
    let nft = common::join(&dir, "rules.nft");
    let o = common::tripline(&[
        "rules",
        "translate",
        "--to",
        "nft",
        "--drop",
        "-o",
        &nft,
        &fixture(),
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let err = common::stderr(&o);
    assert!(err.contains("translated:       2 (40.0%)"), "{err}");
    assert!(err.contains("1  pcre"), "{err}");
    let script = std::fs::read_to_string(&nft).unwrap();
    assert!(
        script.contains("log prefix \"tripline sid:9000002 \" drop"),
        "{script}"
    );

    let o = common::tripline(&["rules", "translate", "--to", "iptables", &fixture()]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let out = common::stdout(&o);
    assert!(
        out.contains("--log-prefix \"tripline sid:9000001 \""),
        "{out}"
    );
    assert!(out.contains("--icase --string \"TRIPLINE-PROBE\""), "{out}");
    assert!(
        out.contains("-m conntrack --ctstate ESTABLISHED --ctdir ORIGINAL"),
        "{out}"
    );
    assert!(common::stderr(&o).contains("translated:       4 (80.0%)"));

    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("\n*** SKIPPED: loading the script needs root ***\n");
        return;
    }
    let ns = format!("tltr{}", std::process::id());
    let add = Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(add.success());
    let check = Command::new("ip")
        .args(["netns", "exec", &ns, "nft", "-c", "-f", &nft])
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}
