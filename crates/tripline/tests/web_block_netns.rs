//! Blocking from the browser, for real: `tripline serve` runs in a "victim"
//! network namespace with the nftables backend, a headless Chromium (also
//! in that namespace, so it reaches the server on the namespace's loopback)
//! opens the page of a scanner seen in the victim's firewall log, clicks
//! Block, and the scanner's TCP connections from the "attacker" namespace
//! stop; Unblock lets them through again. The home address is refused with
//! a readable message. Screenshots go to `target/screenshots/`. Needs root
//! (like tests/block.rs); otherwise says so loudly.

mod common;
mod netns;
mod web_support;

use netns::{Pair, is_root};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use web_support::{Browser, http_in};

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

/// A netfilter LOG line for a TCP SYN.
fn syn_line(second: u32, src: &str, dst: &str, sport: u16, dport: u16) -> String {
    format!(
        "Nov 22 12:{:02}:{:02} gw kernel: NEW IN=eth0 OUT= MAC=02:99:00:01:00:01:02:99:00:01:00:02:08:00 \
         SRC={src} DST={dst} LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID={} DF PROTO=TCP SPT={sport} DPT={dport} \
         WINDOW=64240 RES=0x00 SYN URGP=0\n",
        10 + second / 60,
        second % 60,
        1000 + second
    )
}

/// The victim's firewall log: the attacker probes 40 ports (a scan), the
/// victim itself opens two connections out (so it has a source page).
fn firewall_log(pair: &Pair) -> String {
    let mut log = String::new();
    for i in 0..40u16 {
        log.push_str(&syn_line(
            u32::from(i),
            &pair.attacker_ip,
            &pair.victim_ip,
            40000 + i,
            1000 + i,
        ));
    }
    for i in 0..2u16 {
        log.push_str(&syn_line(
            50 + u32::from(i),
            &pair.victim_ip,
            "192.0.2.80",
            50000 + i,
            443,
        ));
    }
    log
}

/// `tripline serve` inside the victim namespace, stopped on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(pair: &Pair, cfg: &str) -> Server {
        let mut child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &pair.victim,
                env!("CARGO_BIN_EXE_tripline"),
            ])
            .args(["--config", cfg, "serve", "--listen", "127.0.0.1:0"])
            .env("TRIPLINE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn serve");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("read listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|a| a.strip_suffix('/'))
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        Server { child, addr }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn page_text(b: &Browser) -> String {
    b.eval("return document.body.innerText")
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// Waits (up to 20 s) until the page's text contains `needle`.
fn wait_text(b: &Browser, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let t = page_text(b);
        if t.contains(needle) || Instant::now() > deadline {
            return t;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn block_and_unblock_a_scanner_from_its_page() {
    if !is_root() {
        eprintln!("\n*** SKIPPED: blocking tests need root ***\n");
        return;
    }
    let pair = Pair::new("twb", 233);
    pair.listen(8080);
    assert!(wait_for(Duration::from_secs(5), || pair
        .connect(8080, Duration::from_secs(1))));
    let nft_set = || pair.nft_block_set();

    let dir = common::tempdir();
    let db = common::join(&dir, "t.db");
    let cfg = common::join(&dir, "tripline.toml");
    // The home network is the victim alone; automatic blocking stays off,
    // blocking from the browser is switched on explicitly.
    std::fs::write(
        &cfg,
        format!(
            "home_net = [\"{}/32\"]\n[store]\npath = \"{db}\"\n[respond]\nbackend = \"nft\"\n\
             [web]\nblocking = true\n",
            pair.victim_ip
        ),
    )
    .expect("config");
    let log = common::join(&dir, "kern.log");
    std::fs::write(&log, firewall_log(&pair)).expect("log");
    let o = pair.tripline(&["--config", &cfg, "analyze", "--year", "2026", &log]);
    assert!(o.status.success(), "analyze: {}", common::stderr(&o));

    let srv = Server::start(&pair, &cfg);
    let root = format!("http://{}", srv.addr);
    let b = Browser::start_in(Some(&pair.victim));

    // The scanner's page: its scan alert, not blocked, a Block form.
    b.goto(&format!("{root}/source/{}.html", pair.attacker_ip));
    let t = wait_text(&b, "Not blocked.");
    assert!(t.contains("Not blocked."), "{t}");
    assert!(t.contains("SYN ("), "no SYN scan alert: {t}");
    assert_eq!(
        b.count("form.unblock"),
        0,
        "Unblock offered while not blocked"
    );
    b.screenshot("serve-block-before");

    // A POST without the CSRF token changes nothing.
    let r = http_in(
        Some(&pair.victim),
        srv.addr,
        "POST",
        "/respond/block",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &format!("addr={}&duration=10m", pair.attacker_ip),
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!nft_set().contains(&pair.attacker_ip));

    // Block for 10 minutes.
    b.eval("document.querySelector('form.block select').value = '10m'; return true");
    b.click(b.find("form.block button"));
    let t = wait_text(&b, "Blocked ");
    assert!(
        t.contains(&format!("Blocked {} for 10m (nft)", pair.attacker_ip)),
        "{t}"
    );
    b.screenshot("serve-block-done");
    assert!(
        nft_set().contains(&pair.attacker_ip),
        "not in the nft set: {}",
        nft_set()
    );
    assert!(
        !pair.connect(8080, Duration::from_secs(1)),
        "blocked attacker still connects"
    );
    // Recorded in the store like `tripline block`, by the web UI.
    let o = pair.tripline(&["--config", &cfg, "blocks", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&o)).expect("blocks json");
    let h = &v["history"][0];
    assert_eq!(h["address"], pair.attacker_ip.as_str(), "{v}");
    assert_eq!(h["action"], "block");
    assert_eq!(h["automatic"], false);
    assert_eq!(h["reason"], "web UI (session from 127.0.0.1)", "{h}");
    let left = v["blocked"][0]["seconds_left"].as_u64().unwrap_or(0);
    assert!((500..=600).contains(&left), "{v}");

    // The page now shows the block and offers Unblock.
    b.goto(&format!("{root}/source/{}.html", pair.attacker_ip));
    let t = wait_text(&b, "Blocked until");
    assert!(t.contains("Blocked until") && t.contains("web UI"), "{t}");
    b.screenshot("serve-block-state");
    b.click(b.find("form.unblock button"));
    let t = wait_text(&b, "Unblocked");
    assert!(
        t.contains(&format!("Unblocked {}", pair.attacker_ip)),
        "{t}"
    );
    assert!(!nft_set().contains(&pair.attacker_ip), "{}", nft_set());
    assert!(
        wait_for(Duration::from_secs(5), || pair
            .connect(8080, Duration::from_secs(1))),
        "unblocked attacker cannot connect"
    );
    b.goto(&format!("{root}/source/{}.html", pair.attacker_ip));
    let t = wait_text(&b, "Not blocked.");
    assert!(t.contains("Not blocked."), "{t}");

    // The home address: refused with the reason, nothing blocked.
    b.goto(&format!("{root}/source/{}.html", pair.victim_ip));
    b.click(b.find("form.block button"));
    let t = wait_text(&b, "Refusing");
    assert!(
        t.contains(&format!("Refusing to block {}", pair.victim_ip)) && t.contains("home"),
        "{t}"
    );
    b.screenshot("serve-block-refused");
    assert!(!nft_set().contains(&pair.victim_ip), "{}", nft_set());
    let o = pair.tripline(&["--config", &cfg, "blocks", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&common::stdout(&o)).expect("blocks json");
    assert_eq!(v["history"].as_array().map(Vec::len), Some(2), "{v}");
    assert_eq!(v["history"][0]["action"], "unblock", "{v}");
}
