//! The report site and `tripline serve` in a real headless Chromium
//! (driven through chromedriver): pages load from `file://`, charts render
//! as SVG, previous/next/up navigation works by clicking, login, sessions
//! and CSRF are enforced, a triage click changes the allow list in the
//! configuration file, and hostile user names, DNS names and log prefixes
//! that went through `tripline analyze` execute nothing. Screenshots go to
//! `target/screenshots/`.

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
    assert!(b.count("svg.graph line.edge") >= 1, "no link graph");
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
    let t = wait_text(&b, "acknowledged");
    assert!(t.contains("acknowledged"), "{t}");

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
