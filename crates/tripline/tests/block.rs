//! `tripline block` / `unblock` / `blocks` and automatic blocking end to
//! end, with real nftables inside network namespaces this test creates: a
//! "victim" namespace running tripline and an "attacker" namespace joined
//! by a veth pair (10.234.x.0/24). Namespaces are deleted on drop, even
//! after a failed assertion. Needs root; otherwise says so loudly.

mod common;

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

struct Pair {
    victim: String,
    attacker: String,
    victim_ip: String,
    attacker_ip: String,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id() % 10_000;
        let subnet = (pid * 7 + n * 13) % 250 + 1;
        let p = Pair {
            victim: format!("tbv{tag}{pid}x{n}"),
            attacker: format!("tba{tag}{pid}x{n}"),
            victim_ip: format!("10.234.{subnet}.1"),
            attacker_ip: format!("10.234.{subnet}.2"),
        };
        run(&["ip", "netns", "add", &p.victim]).expect("netns add");
        run(&["ip", "netns", "add", &p.attacker]).expect("netns add");
        let v = |args: &[&str]| {
            let mut all = vec!["ip", "netns", "exec", &p.victim];
            all.extend_from_slice(args);
            run(&all).expect("victim setup");
        };
        v(&[
            "ip", "link", "add", "tbveth0", "type", "veth", "peer", "name", "tbveth1",
        ]);
        v(&["ip", "link", "set", "tbveth1", "netns", &p.attacker]);
        v(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", p.victim_ip),
            "dev",
            "tbveth0",
        ]);
        v(&["ip", "link", "set", "tbveth0", "up"]);
        v(&["ip", "link", "set", "lo", "up"]);
        let a = |args: &[&str]| {
            let mut all = vec!["ip", "netns", "exec", &p.attacker];
            all.extend_from_slice(args);
            run(&all).expect("attacker setup");
        };
        a(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", p.attacker_ip),
            "dev",
            "tbveth1",
        ]);
        a(&["ip", "link", "set", "tbveth1", "up"]);
        a(&["ip", "link", "set", "lo", "up"]);
        p
    }

    /// Runs tripline in the victim namespace.
    fn tripline(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.victim,
                env!("CARGO_BIN_EXE_tripline"),
            ])
            .args(args)
            .env("TRIPLINE_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run tripline")
    }

    fn listen(&self, port: u16) {
        let l = on_ns(&self.victim, move || {
            TcpListener::bind(("0.0.0.0", port)).expect("bind")
        });
        std::thread::spawn(move || {
            for c in l.incoming() {
                drop(c);
            }
        });
    }

    fn connect(&self, port: u16, timeout: Duration) -> bool {
        let dst: SocketAddr = format!("{}:{port}", self.victim_ip).parse().unwrap();
        on_ns(&self.attacker, move || {
            TcpStream::connect_timeout(&dst, timeout).is_ok()
        })
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "del", &self.victim]);
        let _ = run(&["ip", "netns", "del", &self.attacker]);
    }
}

/// Runs `f` on a thread inside namespace `ns`.
fn on_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("netns file");
        // SAFETY: a valid namespace descriptor; only this thread changes namespace.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        f()
    })
    .join()
    .expect("namespace thread")
}

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
    let pair = Pair::new("m");
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
    let pair = Pair::new("s");
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
            "tbveth0",
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
    let blocked = || {
        run(&[
            "ip",
            "netns",
            "exec",
            &pair.victim,
            "nft",
            "list",
            "set",
            "inet",
            "tripline",
            "block_v4",
        ])
        .is_ok_and(|s| s.contains(&pair.attacker_ip))
    };
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
