//! `tripline block` / `unblock` / `blocks` and automatic blocking end to
//! end, with real nftables inside network namespaces this test creates: a
//! "victim" namespace running tripline and an "attacker" namespace joined
//! by a veth pair (10.234.x.0/24). Namespaces are deleted on drop, even
//! after a failed assertion. Needs root; otherwise says so loudly.

mod common;
mod netns;

use netns::{Pair, is_root};

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    cond()
}

fn write_config(dir: &tempfile::TempDir, pair: &Pair, extra: &str) -> String {
    let path = common::join(dir, "tripline.toml");
    // The home network is the victim alone, so the attacker is outside it.
    let text = format!(
        "home_net = [\"{}/32\"]\n[store]\npath = \"{}\"\n[respond]\nbackend = \"nft\"\ndns_servers = [\"192.0.2.53\"]\n{extra}",
        pair.victim_ip,
        common::join(dir, "t.db"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn manual_block_unblock_and_refusals() {
    if !is_root() {
        eprintln!("\n*** SKIPPED: blocking tests need root ***\n");
        return;
    }
    let pair = Pair::new("tbm", 234);
    pair.listen(8080);
    assert!(wait_for(Duration::from_secs(5), || pair
        .connect(8080, Duration::from_secs(1))));
    let dir = common::tempdir();
    let cfg = write_config(&dir, &pair, "");
    let o = pair.tripline(&[
        "--config",
        &cfg,
        "block",
        &pair.attacker_ip,
        "--for",
        "3s",
        "--reason",
        "probing us",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(common::stdout(&o).contains("blocked"));
    assert!(
        !pair.connect(8080, Duration::from_secs(1)),
        "blocked attacker got through"
    );
    let o = pair.tripline(&["--config", &cfg, "blocks", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    assert_eq!(v["blocked"][0]["address"], pair.attacker_ip.as_str());
    assert!(v["blocked"][0]["seconds_left"].as_u64().unwrap() <= 3);
    assert_eq!(v["blocked"][0]["reason"], "probing us");
    // The element times out in the kernel.
    assert!(wait_for(Duration::from_secs(10), || pair
        .connect(8080, Duration::from_secs(1))));

    // Protected addresses: refused (exit 2), home and DNS with --force only,
    // loopback never.
    for (addr, forceable) in [
        (pair.victim_ip.as_str(), true),
        ("192.0.2.53", true),
        ("127.0.0.1", false),
        ("ff02::1", true),
    ] {
        let o = pair.tripline(&["--config", &cfg, "block", addr]);
        assert_eq!(o.status.code(), Some(2), "{addr}: {}", common::stderr(&o));
        assert!(
            common::stderr(&o).contains("refusing"),
            "{}",
            common::stderr(&o)
        );
        let o = pair.tripline(&["--config", &cfg, "block", addr, "--force", "--for", "5s"]);
        assert_eq!(
            o.status.success(),
            forceable,
            "{addr} --force: {}",
            common::stderr(&o)
        );
    }
    let o = pair.tripline(&["--config", &cfg, "unblock", "192.0.2.53"]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let o = pair.tripline(&["--config", &cfg, "unblock", "192.0.2.53"]);
    assert_eq!(o.status.code(), Some(1));
    let o = pair.tripline(&["--config", &cfg, "blocks"]);
    let text = common::stdout(&o);
    assert!(
        text.contains("unblock") && text.contains("probing us"),
        "{text}"
    );
}

#[test]
fn scan_is_detected_and_the_scanner_blocked_end_to_end() {
    if !is_root() {
        eprintln!("\n*** SKIPPED: blocking tests need root ***\n");
        return;
    }
    let pair = Pair::new("tbs", 234);
    let open: Vec<u16> = (21000..21010).collect();
    for p in &open {
        pair.listen(*p);
    }
    assert!(wait_for(Duration::from_secs(5), || pair
        .connect(21000, Duration::from_secs(1))));
    let dir = common::tempdir();
    let cfg = write_config(
        &dir,
        &pair,
        "enabled = true\nmin_danger_level = 1\ndurations = [\"30s\", \"30s\", \"30s\", \"30s\", \"30s\"]\n",
    );
    let mut analyze = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.victim,
            env!("CARGO_BIN_EXE_tripline"),
        ])
        .args([
            "--config",
            &cfg,
            "analyze",
            "-q",
            "-i",
            &pair.victim_if,
            "--max-packets",
            "5000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start analyze");
    // Let the capture start, then scan: connect() to 10 open and 20 closed ports.
    std::thread::sleep(Duration::from_secs(2));
    let blocked = || pair.nft_block_set().contains(&pair.attacker_ip);
    let mut scanned = 0;
    for port in 21000..21030u16 {
        if blocked() {
            break;
        }
        pair.connect(port, Duration::from_millis(300));
        scanned += 1;
    }
    let was_blocked = wait_for(Duration::from_secs(15), blocked);
    // SAFETY: signalling the child we started, by its id.
    unsafe { libc::kill(analyze.id() as i32, libc::SIGTERM) };
    let waited = wait_for(Duration::from_secs(10), || {
        analyze.try_wait().ok().flatten().is_some()
    });
    if !waited {
        let _ = analyze.kill();
    }
    let out = analyze.wait_with_output().expect("analyze output");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        was_blocked,
        "scanner not blocked after {scanned} probes; analyze said:\n{err}"
    );
    // The scanner's next packets are dropped.
    assert!(
        !pair.connect(21001, Duration::from_secs(1)),
        "blocked scanner still connects"
    );
    assert!(err.contains("respond: 1 blocked"), "{err}");
    let o = pair.tripline(&["--config", &cfg, "blocks", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&o)).unwrap();
    let h = &v["history"][0];
    assert_eq!(h["address"], pair.attacker_ip.as_str());
    assert_eq!(h["automatic"], true);
    assert!(h["reason"].as_str().unwrap().contains("SCAN"), "{h}");
}
