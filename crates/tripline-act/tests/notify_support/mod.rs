//! Shared pieces of the notify integration tests: alerts, a notice, and
//! real peers run by Debian's Python (`/usr/bin/python3`).
#![allow(dead_code)]

use serde_json::json;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tripline_act::notify::{AlertNotice, Notice, NoticeKind, alert_level};
use tripline_core::{Alert, Severity, Timestamp};

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000;

/// A scan alert from `src` at `T0 + secs` with danger level `level`.
pub fn scan_alert(secs: i64, src: &str, level: u8) -> Alert {
    let mut details = serde_json::Map::new();
    details.insert("danger_level".into(), json!(level));
    details.insert("scan_types".into(), json!(["SYN"]));
    Alert {
        ts: Timestamp((T0 + secs) * 1_000_000_000),
        detector: "scan".into(),
        gid: 1,
        sid: 9_100_001,
        rev: 1,
        msg: "TCP port scan".into(),
        category: "Attempted Information Leak".into(),
        severity: match level {
            4.. => Severity::HIGH,
            3 => Severity::MEDIUM,
            _ => Severity::LOW,
        },
        src: Some(src.parse().expect("test address")),
        sport: None,
        dst: Some("192.168.1.10".parse().expect("test address")),
        dport: Some(22),
        protocol: Some(6),
        community_id: None,
        details,
    }
}

/// A first-of-episode notice for `a`.
pub fn notice(a: Alert) -> Notice {
    Notice::Alert(Box::new(AlertNotice {
        level: alert_level(&a),
        episode_start: a.ts,
        alert: a,
        kind: NoticeKind::First,
        episode_alerts: 1,
        profile: None,
    }))
}

/// Polls `f` until it is true or `timeout` passes; returns its last answer.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A peer process that prints `PORT <n>` when it listens; killed on drop.
pub struct Peer {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Peer {
    /// Runs `script` with Debian's Python and `args`, waiting for its port.
    pub fn python(script: &str, args: &[&str]) -> Peer {
        let mut child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("run /usr/bin/python3 (scripts/setup.sh installs it)");
        let out = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(out)
            .read_line(&mut line)
            .expect("peer output");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("peer did not start: {line:?}"));
        Peer { child, port }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
