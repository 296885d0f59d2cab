//! `serve` in-process over real HTTP: source pages show the block state
//! and, with a [`Responder`], Block and Unblock forms whose POSTs need the
//! session's CSRF token; refusals and failures come back as escaped
//! message pages with 409 / 502, never 500; without a responder nothing is
//! offered. Live pages load the refresh script and `/changes` moves when
//! another connection writes the store.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tripline_core::{ConnOrigin, ConnState, Connection, Direction, Timestamp};
use tripline_store::{BlockAction, BlockRecord, Store, StoreSink};
use tripline_web::{Responder, ResponseError, Triage, WebConfig};

const NOON: i64 = 1_795_348_800_000_000_000;
const HOSTILE: &str = "<script>window.__xss=1</script>";

struct NoTriage;
impl Triage for NoTriage {
    fn allow(&self, _: &str) -> Result<String, String> {
        Err("no".into())
    }
    fn deny(&self, _: &str) -> Result<String, String> {
        Err("no".into())
    }
}

/// Records what it was asked; refuses 10/8 (with hostile text), fails on
/// 192.0.2.0/24.
#[derive(Default)]
struct FakeResponder {
    calls: Mutex<Vec<String>>,
}

impl Responder for FakeResponder {
    fn durations(&self) -> Vec<String> {
        vec!["1h".into(), "10m".into()]
    }
    fn block(&self, addr: IpAddr, duration: &str, reason: &str) -> Result<String, ResponseError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("block {addr} {duration} {reason}"));
        match addr.to_string() {
            a if a.starts_with("10.") => Err(ResponseError::Refused(format!(
                "Refusing to block {a}: home {HOSTILE}"
            ))),
            a if a.starts_with("192.0.2.") => Err(ResponseError::Failed("nft failed".into())),
            a => Ok(format!("Blocked {a} for {duration}")),
        }
    }
    fn unblock(&self, addr: IpAddr, reason: &str) -> Result<String, ResponseError> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("unblock {addr} {reason}"));
        Ok(format!("Unblocked {addr}"))
    }
}

fn conn(src: &str) -> Connection {
    Connection {
        start: Timestamp(NOON),
        end: Timestamp(NOON + 1000),
        src: src.parse().unwrap(),
        sport: 40000,
        dst: "10.99.1.2".parse().unwrap(),
        dport: 22,
        protocol: 6,
        orig_packets: 1,
        orig_bytes: 60,
        resp_packets: 0,
        resp_bytes: 0,
        state: ConnState::S0,
        history: "S".into(),
        community_id: String::new(),
        direction: Direction::Inbound,
        origin: ConnOrigin::Capture,
    }
}

fn seed(path: &Path) {
    let mut store = Store::open(path).unwrap();
    let mut sink = StoreSink::new(&mut store, None);
    for src in ["198.51.100.9", "10.1.2.3", "192.0.2.7"] {
        sink.connection(&conn(src)).unwrap();
    }
    sink.finish().unwrap();
}

fn start(db: PathBuf, responder: Option<Arc<dyn Responder>>) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let cfg = WebConfig::local("127.0.0.1:0".parse().unwrap());
        let r = tripline_web::serve(db, cfg, Arc::new(NoTriage), responder, &|a| {
            let _ = tx.send(a);
        });
        if let Err(e) = r {
            panic!("serve: {e}");
        }
    });
    rx.recv().expect("server address")
}

struct Reply {
    status: u16,
    head: String,
    body: String,
}

fn http(addr: SocketAddr, method: &str, path: &str, cookie: &str, body: &str) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nCookie: {cookie}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Reply {
        status: head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0),
        head: head.to_ascii_lowercase(),
        body: body.to_string(),
    }
}

/// The session cookie and the CSRF token of a fresh page view.
fn session(addr: SocketAddr, path: &str) -> (String, String, Reply) {
    let r = http(addr, "GET", path, "", "");
    assert_eq!(r.status, 200, "{}", r.body);
    let cookie = r
        .head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let csrf = r
        .body
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("")
        .to_string();
    (cookie, csrf, r)
}

#[test]
fn block_forms_go_through_the_responder_with_csrf() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    seed(&db);
    let fake = Arc::new(FakeResponder::default());
    let addr = start(db.clone(), Some(fake.clone()));

    let (cookie, csrf, page) = session(addr, "/source/198.51.100.9.html");
    assert_eq!(csrf.len(), 64, "no CSRF token in the forms");
    assert!(page.body.contains("Not blocked."));
    assert!(page.body.contains("action=\"../respond/block\""));
    assert!(page.body.contains("<option value=\"10m\">"));
    assert!(!page.body.contains("respond/unblock"), "not blocked yet");
    // A live page: the refresh script, allowed by its CSP.
    assert!(page.body.contains("src=\"../live.js\""));
    assert!(page.head.contains("script-src 'self'"), "{}", page.head);

    // No token, a wrong one: refused before the responder is asked.
    for body in [
        "addr=198.51.100.9&duration=10m".to_string(),
        format!("addr=198.51.100.9&duration=10m&csrf={}", "0".repeat(64)),
    ] {
        let r = http(addr, "POST", "/respond/block", &cookie, &body);
        assert_eq!(r.status, 403, "{body}");
    }
    assert!(fake.calls.lock().unwrap().is_empty());

    let post = |path: &str, body: &str| {
        http(
            addr,
            "POST",
            path,
            &cookie,
            &format!("{body}&csrf={csrf}&back=source/198.51.100.9.html"),
        )
    };
    let r = post("/respond/block", "addr=198.51.100.9&duration=10m");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Blocked 198.51.100.9 for 10m"));
    assert!(r.body.contains("href=\"../source/198.51.100.9.html\""));
    // Refusals: 409 and the text, escaped.
    let r = post("/respond/block", "addr=10.1.2.3&duration=1h");
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("Refusing to block 10.1.2.3"));
    assert!(!r.body.contains(HOSTILE) && r.body.contains("&lt;script&gt;"));
    // The firewall failing: 502, not 500.
    let r = post("/respond/block", "addr=192.0.2.7&duration=1h");
    assert_eq!(r.status, 502, "{}", r.body);
    let r = post("/respond/block", "addr=not-an-address&duration=1h");
    assert_eq!(r.status, 400);
    let r = post("/respond/unblock", "addr=198.51.100.9");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        *fake.calls.lock().unwrap(),
        vec![
            "block 198.51.100.9 10m web UI (session from 127.0.0.1)",
            "block 10.1.2.3 1h web UI (session from 127.0.0.1)",
            "block 192.0.2.7 1h web UI (session from 127.0.0.1)",
            "unblock 198.51.100.9 web UI (session from 127.0.0.1)",
        ]
    );

    // The page shows a block recorded in the store, and offers Unblock.
    let marker = |cookie: &str| {
        let r = http(addr, "GET", "/changes", cookie, "");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(r.head.contains("application/json"));
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["marker"].as_str().unwrap().to_string()
    };
    let before = marker(&cookie);
    assert_eq!(marker(&cookie), before, "no write, no change");
    let other = Store::open(&db).unwrap();
    other
        .record_block(&BlockRecord {
            ts: Timestamp::now(),
            action: BlockAction::Block,
            address: "198.51.100.9".parse().unwrap(),
            expires: None,
            backend: "nft".into(),
            automatic: false,
            reason: format!("web UI {HOSTILE}"),
        })
        .unwrap();
    assert_ne!(marker(&cookie), before, "another connection wrote");
    let r = http(addr, "GET", "/source/198.51.100.9.html", &cookie, "");
    assert!(
        r.body.contains("Blocked</strong> permanently"),
        "{}",
        r.body
    );
    assert!(r.body.contains("action=\"../respond/unblock\""));
    assert!(!r.body.contains(HOSTILE));

    let js = http(addr, "GET", "/live.js", "", "");
    assert_eq!(js.status, 200);
    assert!(js.head.contains("text/javascript"));
    assert!(js.body.contains("visibilitychange"));
}

#[test]
fn without_a_responder_nothing_is_offered() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.db");
    seed(&db);
    let addr = start(db, None);
    let (cookie, csrf, page) = session(addr, "/source/198.51.100.9.html");
    assert!(page.body.contains("Not blocked."));
    assert!(!page.body.contains("respond/block"), "{}", page.body);
    let r = http(
        addr,
        "POST",
        "/respond/block",
        &cookie,
        &format!("addr=198.51.100.9&duration=1h&csrf={csrf}"),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    // Pages that do not refresh carry no script and the strict CSP.
    let r = http(addr, "GET", "/search", &cookie, "");
    assert_eq!(r.status, 200);
    assert!(!r.body.contains("<script"));
    assert!(!r.head.contains("script-src"), "{}", r.head);
}
