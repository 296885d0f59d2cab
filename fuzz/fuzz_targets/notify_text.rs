//! Notification text from hostile alert fields: subjects stay one bounded
//! line (no header injection), syslog lines and environment values carry no
//! line break or NUL, and the config parsers for quiet hours and syslog
//! targets never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tripline_act::notify::QuietHours;
use tripline_act::notify::notice::{AlertNotice, Notice, NoticeKind, alert_level};
use tripline_act::notify::syslog::SyslogTarget;
use tripline_act::notify::text::MAX_SUBJECT_CHARS;
use tripline_core::{Alert, Severity, Timestamp};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{1f}');
    let (msg, detector, category, extra) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let _ = QuietHours::parse(msg, Some(detector));
    let _ = SyslogTarget::parse(msg);
    let mut details = serde_json::Map::new();
    details.insert(
        "danger_level".into(),
        serde_json::json!(data.first().copied().unwrap_or(0)),
    );
    details.insert("scan_types".into(), serde_json::json!([extra]));
    let a = Alert {
        ts: Timestamp(
            i64::from_le_bytes(
                data.get(..8)
                    .and_then(|b| b.try_into().ok())
                    .unwrap_or([0; 8]),
            ) % (1 << 62),
        ),
        detector: detector.into(),
        gid: 1,
        sid: 1,
        rev: 1,
        msg: msg.into(),
        category: category.into(),
        severity: Severity(data.get(1).copied().unwrap_or(2)),
        src: Some("192.0.2.1".parse().unwrap()),
        sport: None,
        dst: None,
        dport: None,
        protocol: data.get(2).copied(),
        community_id: None,
        details,
    };
    let n = Notice::Alert(Box::new(AlertNotice {
        level: alert_level(&a),
        episode_start: a.ts,
        alert: a,
        kind: NoticeKind::Rise { previous: 1 },
        episode_alerts: 2,
        profile: None,
    }));
    let subject = n.subject(extra);
    assert!(!subject.contains(['\r', '\n']), "{subject:?}");
    assert!(subject.chars().count() <= MAX_SUBJECT_CHARS + 1);
    assert!(!n.log_line().contains(['\r', '\n']));
    for (_, v) in n.env_vars() {
        assert!(!v.contains(['\0', '\n', '\r']));
    }
    let _ = n.body();
    let _ = n.to_json();
});
