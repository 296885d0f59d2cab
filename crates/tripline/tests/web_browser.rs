//! The report site and `tripline serve` in a real headless Chromium
//! (driven through chromedriver): pages load from `file://`, charts render
//! as SVG, previous/next/up navigation works by clicking, login, sessions
//! and CSRF are enforced, a triage click changes the allow list in the
//! configuration file, and hostile user names, DNS names and log prefixes
//! that went through `tripline analyze` execute nothing; live pages
//! refresh themselves when new data reaches the store (static ones carry no
//! script). Screenshots go to `target/screenshots/`.

mod common;
mod web_support;

use common::{example, join, stderr, tempdir, tripline, tripline_stdin};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use web_support::{Browser, http};

const PASSWORD: &str = "correct horse battery staple";

fn fixture(name: &str) -> String {
    format!("{}/tests/data/web/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Analyzes the sample data plus the hostile logs into `db`.
fn analyze(db: &str) {
    let cfg = example("tripline.toml");
    let mut args = vec!["analyze", "--config", &cfg, "--db", db];
    let inputs = [
        example("data/dnsmasq.log"),
        example("data/home-lan.pcap"),
        example("data/kern.log"),
        example("data/scans-lan.pcap"),
        example("data/auth.log"),
        fixture("xss-dnsmasq.log"),
        fixture("xss-kern.log"),
        fixture("xss-auth.log"),
        // One HTTP request whose URI and headers carry script; the sample
        // rules' "script tag" signature stores its payload with the alert.
        fixture("xss-http.pcap"),
    ];
    args.extend(inputs.iter().map(String::as_str));
    let o = tripline(&args);
    assert!(o.status.success(), "analyze failed: {}", stderr(&o));
}

fn no_script_ran(b: &Browser, page: &str) {
    assert_eq!(
        b.eval("return typeof window.__xss"),
        serde_json::json!("undefined"),
        "a payload ran on {page}"
    );
}

/// Waits (up to 20 s) until the page's text contains `needle`: a form
/// submission may still be loading when the click returns.
fn wait_text(b: &Browser, needle: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let t = page_text(b);
        if t.contains(needle) || std::time::Instant::now() > deadline {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

fn page_text(b: &Browser) -> String {
    b.eval("return document.body.innerText")
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn report_pages_load_from_file_and_chain_by_clicking() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    analyze(&db);
    let out = join(&dir, "site");
    let o = tripline(&["report", "--db", &db, "--out", &out]);
    assert!(o.status.success(), "report failed: {}", stderr(&o));
    let b = Browser::start();
    b.goto(&format!("file://{out}/index.html"));
    assert_eq!(b.title(), "Report — tripline");
    assert!(b.count("svg.spark polyline") >= 1, "no sparkline");
    assert_eq!(b.count("script"), 0, "static pages carry no script");
    b.screenshot("report-index");
    // The first hour of the index, then next, previous and up.
    let first = b.find("table.hours a");
    b.click(first);
    let hour_url = b.url();
    assert!(hour_url.contains("/hour/2026-11-22T"), "{hour_url}");
    assert!(b.count("svg.chart") >= 5, "charts missing");
    assert!(b.count("svg rect.bar") >= 1, "no bars drawn");
    assert!(
        b.eval("return document.querySelector('svg.chart').getBBox().width > 0")
            == serde_json::json!(true),
        "chart not rendered"
    );
    b.screenshot("report-hour");
    let next = b.find("a[rel=next]");
    b.click(next);
    let next_url = b.url();
    assert_ne!(next_url, hour_url);
    assert!(next_url.contains("/hour/"), "{next_url}");
    no_script_ran(&b, &next_url);
    b.click(b.find("a[rel=prev]"));
    assert_eq!(b.url(), hour_url);
    b.click(b.find("a[rel=up]"));
    assert!(b.url().contains("/day/2026-11-22.html"), "{}", b.url());
    // Graphviz's layout draws paths, the Rust layout lines.
    assert!(b.count("svg.graph .edge") >= 1, "no link graph");
    assert_eq!(b.count("script"), 0, "static pages carry no script");
    b.screenshot("report-day");
    // The brute-forcer with hostile user names: shown as text, not run.
    b.goto(&format!("file://{out}/source/203.0.113.66.html"));
    let text = page_text(&b);
    assert!(
        text.contains("<img/src=x/onerror=window.__xss=1>"),
        "{text}"
    );
    assert!(
        text.contains("\"><script>window.__xss=2</script>"),
        "{text}"
    );
    no_script_ran(&b, "source page");
    b.screenshot("report-source-hostile");
    // Its alert, with the same names in the evidence.
    b.click(b.find("table.alerts a"));
    assert!(b.url().contains("/alert/"));
    assert!(page_text(&b).contains("onerror=window.__xss=1"));
    no_script_ran(&b, "alert page");
    b.screenshot("report-alert-hostile");
    // The hour of the hostile DNS names.
    b.goto(&format!("file://{out}/hour/2026-11-22T13.html"));
    no_script_ran(&b, "hour 13");
    b.screenshot("report-hour-hostile");
    // A signature alert whose evidence is a hostile packet payload: shown
    // as hex and printable text, never run.
    b.goto(&format!("file://{out}/source/203.0.113.77.html"));
    no_script_ran(&b, "payload source page");
    b.click(b.find("table.alerts a"));
    assert!(b.url().contains("/alert/"), "{}", b.url());
    let text = page_text(&b);
    assert!(text.contains("TRIPLINE-DEMO script tag"), "{text}");
    assert!(text.contains("<script>window.__xss=5</script>"), "{text}");
    assert!(
        text.contains("47 45 54 20 2f 3c 73 63"),
        "no hex dump: {text}"
    );
    no_script_ran(&b, "payload alert page");
    b.screenshot("report-alert-payload");
}

/// A running `tripline serve`, stopped on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(cfg: &str, db: &str) -> Server {
        let home = std::env::temp_dir().join("tripline-test-home");
        let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
            .args([
                "--config",
                cfg,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--db",
                db,
            ])
            .env_remove("TRIPLINE_CONFIG")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout)
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

#[test]
fn serve_enforces_login_and_csrf_and_triage_edits_the_allow_list() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    analyze(&db);
    let hash = tripline_stdin(&["serve", "--hash-password"], Some(PASSWORD.as_bytes()));
    assert!(hash.status.success(), "{}", stderr(&hash));
    let hash = String::from_utf8_lossy(&hash.stdout).trim().to_string();
    assert!(hash.starts_with("$argon2"), "{hash}");
    let cfg = join(&dir, "tripline.toml");
    let base = std::fs::read_to_string(example("tripline.toml")).expect("example config");
    std::fs::write(&cfg, format!("{base}\n[web]\npassword_hash = \"{hash}\"\n")).expect("config");
    let srv = Server::start(&cfg, &db);
    let root = format!("http://{}", srv.addr);

    // Not logged in: every page sends to the login form.
    let r = http(srv.addr, "GET", "/hour/2026-11-22T13.html", &[], "");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("/login"));
    assert!(
        r.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'none'"))
    );

    let b = Browser::start();
    b.goto(&format!("{root}/index.html"));
    assert!(b.url().ends_with("/login"), "{}", b.url());
    b.type_text(b.find("input[name=password]"), "wrong");
    b.click(b.find("form.login button"));
    let t = wait_text(&b, "Wrong password");
    assert!(t.contains("Wrong password"), "{t}");
    b.type_text(b.find("input[name=password]"), PASSWORD);
    b.click(b.find("form.login button"));
    wait_text(&b, "Days");
    assert!(b.url().ends_with("/index.html"), "{}", b.url());
    b.screenshot("serve-index");
    let cookies = b.cookies();
    let session = cookies
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "tripline_session"))
        .expect("session cookie")
        .clone();
    assert_eq!(session["httpOnly"], serde_json::json!(true));
    assert_eq!(session["sameSite"], serde_json::json!("Strict"));
    let cookie = format!(
        "tripline_session={}",
        session["value"].as_str().unwrap_or("")
    );

    // The change marker needs the session; live pages may load the
    // server's own script, other answers no script at all.
    assert_eq!(http(srv.addr, "GET", "/changes", &[], "").status, 403);
    let r = http(
        srv.addr,
        "GET",
        "/changes",
        &[("Cookie", cookie.as_str())],
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).expect("changes json");
    assert!(v["marker"].is_string(), "{v}");
    let csp = |path: &str| {
        http(srv.addr, "GET", path, &[("Cookie", cookie.as_str())], "")
            .header("content-security-policy")
            .unwrap_or("")
            .to_string()
    };
    assert!(csp("/hour/2026-11-22T13.html").contains("script-src 'self'"));
    assert!(!csp("/search?addr=10.0.0.0%2F8").contains("script-src"));
    assert!(!csp("/live.js").contains("script-src"));

    // The hour with the hostile DNS names: escaped, and triage buttons.
    b.goto(&format!("{root}/hour/2026-11-22T13.html"));
    no_script_ran(&b, "served hour 13");
    let t = page_text(&b);
    assert!(
        t.contains("x\"><svg/onload=window.__xss=3>.evil.example"),
        "{t}"
    );
    assert!(
        t.contains("<script>window.__xss=4</script>.evil.example"),
        "{t}"
    );
    b.screenshot("serve-hour-hostile");
    b.goto(&format!("{root}/hour/2026-11-22T12.html"));
    assert!(b.count("table.newdest form") >= 1, "no triage buttons");
    b.screenshot("serve-hour-triage");
    let csrf = b.attr(b.find("table.newdest input[name=csrf]"), "value");
    assert_eq!(csrf.len(), 64);

    // CSRF: a POST without the token, with a wrong one, or without the
    // session is refused, and the config file is untouched.
    let before = std::fs::read_to_string(&cfg).expect("config");
    let form = "application/x-www-form-urlencoded";
    for (headers, body) in [
        (
            vec![("Cookie", cookie.as_str()), ("Content-Type", form)],
            "target=10.9.9.9&back=index.html".to_string(),
        ),
        (
            vec![("Cookie", cookie.as_str()), ("Content-Type", form)],
            format!("target=10.9.9.9&csrf={}", "0".repeat(64)),
        ),
        (
            vec![("Content-Type", form)],
            format!("target=10.9.9.9&csrf={csrf}"),
        ),
        (
            vec![
                ("Cookie", cookie.as_str()),
                ("Content-Type", form),
                ("Origin", "http://evil.example"),
            ],
            format!("target=10.9.9.9&csrf={csrf}"),
        ),
    ] {
        let r = http(srv.addr, "POST", "/triage/deny", &headers, &body);
        assert_eq!(r.status, 403, "accepted {headers:?} {body}");
    }
    assert_eq!(std::fs::read_to_string(&cfg).expect("config"), before);

    // The triage click: allow the first new destination.
    b.click(b.find("table.newdest form button"));
    let text = wait_text(&b, "written to");
    assert!(text.contains("written to"), "{text}");
    b.screenshot("serve-triage-done");
    let after = std::fs::read_to_string(&cfg).expect("config");
    assert!(after.contains("[[connwatch.allow]]"), "{after}");
    assert!(after.contains("allowed in the web UI"), "{after}");
    let listed = tripline(&["--config", &cfg, "config", "check"]);
    assert!(
        listed.status.success(),
        "edited config does not load: {}",
        stderr(&listed)
    );

    // Acknowledge an alert from its page.
    b.goto(&format!("{root}/source/203.0.113.66.html"));
    no_script_ran(&b, "served source page");
    b.click(b.find("table.alerts a"));
    no_script_ran(&b, "served alert page");
    b.click(b.find("form.inline button"));
    // The alert page itself has an "acknowledged" row: wait for the POST's
    // answer ("alert N acknowledged"), or the next navigation races it.
    let t = wait_text(&b, " acknowledged\n");
    assert!(t.contains("alert ") && t.contains(" acknowledged\n"), "{t}");

    // Search by prefix and severity.
    b.goto(&format!("{root}/search?addr=203.0.113.0%2F24&severity=3"));
    let t = wait_text(&b, "matching alerts");
    // The brute-forcer and the hostile-payload sender, both in the prefix.
    assert!(t.contains("2 matching alerts"), "{t}");
    assert!(
        t.contains("203.0.113.66") && t.contains("203.0.113.77"),
        "{t}"
    );
    assert!(b.count("table.alerts tbody tr") >= 1, "{t}");
    b.screenshot("serve-search");

    // Login attempts are rate limited per address.
    let statuses: Vec<u16> = (0..12)
        .map(|_| {
            http(
                srv.addr,
                "POST",
                "/login",
                &[("Content-Type", form)],
                "password=nope",
            )
            .status
        })
        .collect();
    assert!(
        statuses.contains(&401) && statuses.last() == Some(&429),
        "{statuses:?}"
    );
}

/// A netfilter LOG line for a TCP SYN at 2026-11-22 12:MM:SS.
fn syn_line(minute: u32, second: u32, src: &str, dst: &str, dport: u16) -> String {
    format!(
        "Nov 22 12:{minute:02}:{second:02} gw kernel: NEW IN=eth0 OUT= \
         MAC=02:99:00:01:00:01:02:99:00:01:00:02:08:00 SRC={src} DST={dst} LEN=60 TOS=0x00 \
         PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=40000 DPT={dport} WINDOW=64240 RES=0x00 SYN URGP=0\n"
    )
}

#[test]
fn served_hour_page_refreshes_when_data_arrives() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    let cfg = join(&dir, "tripline.toml");
    std::fs::write(
        &cfg,
        format!("home_net = [\"10.20.0.0/16\"]\n[store]\npath = \"{db}\"\n"),
    )
    .expect("config");
    let first = join(&dir, "first.log");
    std::fs::write(&first, syn_line(5, 0, "10.20.0.5", "192.0.2.10", 443)).expect("log");
    let o = tripline(&["--config", &cfg, "analyze", "--year", "2026", &first]);
    assert!(o.status.success(), "analyze: {}", stderr(&o));
    let srv = Server::start(&cfg, &db);
    let b = Browser::start();
    let url = format!("http://{}/hour/2026-11-22T12.html", srv.addr);
    b.goto(&url);
    let t = wait_text(&b, "10.20.0.5");
    assert!(t.contains("10.20.0.5") && !t.contains("10.20.0.99"), "{t}");
    assert_eq!(b.count("script[src$='live.js']"), 1, "no refresh script");
    // The change marker endpoint answers JSON for this browser's session.
    let marker = b.eval(
        "const r = new XMLHttpRequest(); r.open('GET', '../changes', false); r.send(); \
         return JSON.parse(r.responseText).marker",
    );
    assert!(marker.as_str().is_some_and(|m| m.contains('-')), "{marker}");
    b.eval("window.__not_reloaded = 1; return true");
    b.screenshot("serve-live-before");

    // New data in the same hour, written by another process.
    let second = join(&dir, "second.log");
    std::fs::write(&second, syn_line(30, 0, "10.20.0.99", "198.51.100.7", 22)).expect("log");
    let o = tripline(&["--config", &cfg, "analyze", "--year", "2026", &second]);
    assert!(o.status.success(), "analyze: {}", stderr(&o));
    let started = std::time::Instant::now();
    let t = wait_text(&b, "10.20.0.99");
    assert!(
        t.contains("10.20.0.99") && t.contains("198.51.100.7"),
        "not refreshed after {:?}: {t}",
        started.elapsed()
    );
    assert_eq!(b.url(), url, "the page navigated away");
    assert_eq!(
        b.eval("return typeof window.__not_reloaded"),
        serde_json::json!("undefined"),
        "the page was not reloaded"
    );
    b.screenshot("serve-live-after");
    // Nothing new: the page stays as it is.
    b.eval("window.__not_reloaded = 1; return true");
    std::thread::sleep(std::time::Duration::from_secs(7));
    assert_eq!(
        b.eval("return window.__not_reloaded"),
        serde_json::json!(1),
        "reloaded without new data"
    );
}
