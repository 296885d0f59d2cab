//! What a notification says: a subject and body for a busy person, a JSON
//! document for machines (the EVE alert plus the source profile), a one-line
//! syslog message and environment variables for a script.
//!
//! Every string that came from the network goes through [`super::text`]:
//! one line, bounded, control characters escaped.

use super::text::{MAX_FIELD_CHARS, MAX_SUBJECT_CHARS, one_line, push_one_line};
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::net::IpAddr;
use tripline_core::{Alert, Timestamp};
use tripline_store::{EveWriter, SourceProfile};

/// How bad an alert is on one 1–5 scale: a scan's danger level when it has
/// one, otherwise from its severity (high 4, medium 3, low 2, other 1).
pub fn alert_level(a: &Alert) -> u8 {
    if let Some(dl) = danger_level(a) {
        return dl;
    }
    match a.severity.0 {
        1 => 4,
        2 => 3,
        3 => 2,
        _ => 1,
    }
}

/// The scan danger level (1–5) in the alert's details, when present.
pub fn danger_level(a: &Alert) -> Option<u8> {
    a.details
        .get("danger_level")
        .and_then(Value::as_u64)
        .map(|l| l.clamp(1, 5) as u8)
}

/// A severity as a word.
pub fn severity_word(sev: u8) -> &'static str {
    match sev {
        1 => "HIGH",
        2 => "MEDIUM",
        3 => "LOW",
        _ => "INFO",
    }
}

/// Why this alert is being notified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeKind {
    /// The first notification of the source's episode.
    First,
    /// The source got worse: its level rose from `previous`.
    Rise {
        /// The level of the previous notification.
        previous: u8,
    },
    /// Noise control is off: every alert is notified.
    Every,
}

impl NoticeKind {
    /// `first`, `rise` or `every` (the `reason` stored for a sent notification).
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::First => "first",
            NoticeKind::Rise { .. } => "rise",
            NoticeKind::Every => "every",
        }
    }
}

/// One alert to tell people about.
#[derive(Clone, Debug)]
pub struct AlertNotice {
    /// The alert.
    pub alert: Alert,
    /// Its level ([`alert_level`]).
    pub level: u8,
    /// Why it is notified.
    pub kind: NoticeKind,
    /// Alerts from its source in this episode so far, this one included.
    pub episode_alerts: u64,
    /// When the episode began.
    pub episode_start: Timestamp,
    /// What the store knows about the source (filled in by the channel
    /// worker just before delivery, off the detection path).
    pub profile: Option<SourceProfile>,
}

/// One source's line in a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestSource {
    /// The source (`None`: alerts without a source address).
    pub src: Option<IpAddr>,
    /// Alerts held back from it.
    pub alerts: u64,
    /// The highest level among them.
    pub max_level: u8,
    /// The message of the first of them (already one line, bounded).
    pub first_msg: String,
}

/// Alerts held back by rate limits or quiet hours, told in one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestNotice {
    /// The earliest alert in it.
    pub since: Timestamp,
    /// The latest alert in it.
    pub until: Timestamp,
    /// Alerts held back.
    pub alerts: u64,
    /// Held back by quiet hours (the rest by rate limits).
    pub quiet_hours: u64,
    /// The sources with most alerts, most first.
    pub sources: Vec<DigestSource>,
    /// Sources not listed.
    pub more_sources: u64,
    /// Alerts from sources beyond what the digest tracks one by one.
    pub untracked_alerts: u64,
}

/// A notification ready for a channel.
#[derive(Clone, Debug)]
pub enum Notice {
    /// About one alert.
    Alert(Box<AlertNotice>),
    /// About alerts held back.
    Digest(DigestNotice),
}

fn push_opt_ip(out: &mut String, ip: Option<IpAddr>) {
    match ip {
        Some(ip) => {
            let _ = write!(out, "{ip}");
        }
        None => out.push_str("(unknown)"),
    }
}

/// What a person should do about an alert from this detector.
fn advice(a: &Alert) -> &'static str {
    match a.detector.as_str() {
        "scan" => {
            "Someone is mapping your network. Check that every port it reached is meant to be \
             open to it; block the source if it keeps going (tripline block ADDR)."
        }
        "tripwire" => {
            "Something touched a trap port or host that nothing legitimate uses. If the source \
             is one of your own machines, look for compromise or misconfiguration on it."
        }
        "bruteforce" => {
            "Someone is guessing passwords. Make sure the targeted accounts use keys or strong \
             passwords, check for accepted logins from the source, and block it."
        }
        "connwatch" => {
            "A connection nothing on the allow list explains. If it is expected, add an allow \
             rule; if not, find the process on the inside host that made it."
        }
        "osfp" => "A new operating system appeared; confirm the device is known.",
        _ => {
            "Review the signature and the flow (Community ID) in the store or EVE output; \
             block the source if the traffic is not expected."
        }
    }
}

impl Notice {
    /// The alert time the notice is about (a digest: its latest alert).
    pub fn ts(&self) -> Timestamp {
        match self {
            Notice::Alert(n) => n.alert.ts,
            Notice::Digest(d) => d.until,
        }
    }

    /// The source address (none for a digest).
    pub fn src(&self) -> Option<IpAddr> {
        match self {
            Notice::Alert(n) => n.alert.src,
            Notice::Digest(_) => None,
        }
    }

    /// A subject line: one line, bounded, safe for a mail header.
    pub fn subject(&self, prefix: &str) -> String {
        let mut s = String::with_capacity(MAX_SUBJECT_CHARS);
        push_one_line(&mut s, prefix, 40);
        if !s.is_empty() {
            s.push(' ');
        }
        match self {
            Notice::Alert(n) => {
                let a = &n.alert;
                s.push_str(severity_word(a.severity.0));
                s.push_str(": ");
                push_one_line(&mut s, &a.msg, 80);
                s.push_str(" from ");
                push_opt_ip(&mut s, a.src);
                if let Some(dl) = danger_level(a) {
                    let _ = write!(s, " (danger {dl}/5)");
                }
                if let NoticeKind::Rise { previous } = n.kind {
                    let _ = write!(s, " [worse: level {previous} to {}]", n.level);
                }
            }
            Notice::Digest(d) => {
                let _ = write!(
                    s,
                    "digest: {} alerts held back from {} sources",
                    d.alerts,
                    d.sources.len() as u64 + d.more_sources
                );
            }
        }
        one_line(&s, MAX_SUBJECT_CHARS)
    }

    /// A plain-text body: what happened, from whom, how bad, what else is
    /// known about the source, and what to do.
    pub fn body(&self) -> String {
        let mut b = String::with_capacity(2048);
        match self {
            Notice::Alert(n) => alert_body(&mut b, n),
            Notice::Digest(d) => digest_body(&mut b, d),
        }
        b
    }

    /// The machine-readable form: `{"kind", "alert": EVE alert, "notification": {...},
    /// "profile": {...}}` for an alert, `{"kind": "digest", ...}` for a digest.
    pub fn to_json(&self) -> Value {
        match self {
            Notice::Alert(n) => {
                let eve = eve_alert(&n.alert);
                json!({
                    "kind": n.kind.as_str(),
                    "alert": eve,
                    "notification": {
                        "level": n.level,
                        "danger_level": danger_level(&n.alert),
                        "previous_level": match n.kind { NoticeKind::Rise { previous } => Some(previous), _ => None },
                        "episode_alerts": n.episode_alerts,
                        "episode_start": n.episode_start.to_string(),
                    },
                    "profile": n.profile.as_ref().map(super::profile_text::profile_json),
                })
            }
            Notice::Digest(d) => json!({
                "kind": "digest",
                "since": d.since.to_string(),
                "until": d.until.to_string(),
                "alerts": d.alerts,
                "quiet_hours": d.quiet_hours,
                "sources": d.sources.iter().map(|s| json!({
                    "src": s.src, "alerts": s.alerts, "max_level": s.max_level, "first_msg": s.first_msg,
                })).collect::<Vec<_>>(),
                "more_sources": d.more_sources,
                "untracked_alerts": d.untracked_alerts,
            }),
        }
    }

    /// The one-line message of a syslog record (`key=value` pairs after a
    /// short sentence; no line breaks).
    pub fn log_line(&self) -> String {
        let mut s = String::with_capacity(256);
        match self {
            Notice::Alert(n) => {
                let a = &n.alert;
                let _ = write!(s, "{} alert: ", severity_word(a.severity.0));
                push_one_line(&mut s, &a.msg, MAX_FIELD_CHARS);
                s.push_str(" src=");
                push_opt_ip(&mut s, a.src);
                s.push_str(" dst=");
                push_opt_ip(&mut s, a.dst);
                if let Some(p) = a.dport {
                    let _ = write!(s, " dport={p}");
                }
                let _ = write!(
                    s,
                    " sid={}:{} level={} kind={}",
                    a.gid,
                    a.sid,
                    n.level,
                    n.kind.as_str()
                );
                if let Some(dl) = danger_level(a) {
                    let _ = write!(s, " danger_level={dl}");
                }
            }
            Notice::Digest(d) => {
                let _ = write!(
                    s,
                    "digest: {} alerts held back from {} sources between {} and {}",
                    d.alerts,
                    d.sources.len() as u64 + d.more_sources,
                    d.since,
                    d.until
                );
            }
        }
        s
    }

    /// `TRIPLINE_*` environment variables for a script: the alert's key
    /// fields (empty when unknown), each one line and bounded.
    pub fn env_vars(&self) -> Vec<(&'static str, String)> {
        let opt = |v: Option<String>| v.unwrap_or_default();
        match self {
            Notice::Alert(n) => {
                let a = &n.alert;
                vec![
                    ("TRIPLINE_KIND", n.kind.as_str().to_string()),
                    ("TRIPLINE_TS", a.ts.to_string()),
                    ("TRIPLINE_DETECTOR", one_line(&a.detector, 40)),
                    ("TRIPLINE_SRC", opt(a.src.map(|x| x.to_string()))),
                    ("TRIPLINE_SPORT", opt(a.sport.map(|x| x.to_string()))),
                    ("TRIPLINE_DST", opt(a.dst.map(|x| x.to_string()))),
                    ("TRIPLINE_DPORT", opt(a.dport.map(|x| x.to_string()))),
                    ("TRIPLINE_PROTO", opt(a.protocol.map(|x| x.to_string()))),
                    ("TRIPLINE_GID", a.gid.to_string()),
                    ("TRIPLINE_SID", a.sid.to_string()),
                    ("TRIPLINE_MSG", one_line(&a.msg, MAX_FIELD_CHARS)),
                    ("TRIPLINE_SEVERITY", a.severity.0.to_string()),
                    ("TRIPLINE_LEVEL", n.level.to_string()),
                    (
                        "TRIPLINE_DANGER_LEVEL",
                        opt(danger_level(a).map(|x| x.to_string())),
                    ),
                    ("TRIPLINE_EPISODE_ALERTS", n.episode_alerts.to_string()),
                ]
            }
            Notice::Digest(d) => vec![
                ("TRIPLINE_KIND", "digest".to_string()),
                ("TRIPLINE_TS", d.until.to_string()),
                ("TRIPLINE_DIGEST_ALERTS", d.alerts.to_string()),
                (
                    "TRIPLINE_DIGEST_SOURCES",
                    (d.sources.len() as u64 + d.more_sources).to_string(),
                ),
            ],
        }
    }
}

/// The alert as the EVE `alert` event tripline writes elsewhere.
pub fn eve_alert(a: &Alert) -> Value {
    let mut w = EveWriter::new(Vec::with_capacity(512));
    let line = w
        .alert(a)
        .and_then(|()| w.into_inner())
        .ok()
        .and_then(|buf| serde_json::from_slice::<Value>(&buf).ok());
    line.unwrap_or(Value::Null)
}

fn alert_body(b: &mut String, n: &AlertNotice) {
    let a = &n.alert;
    b.push_str("What happened\n  ");
    push_one_line(b, &a.msg, MAX_FIELD_CHARS);
    let _ = write!(
        b,
        "\n  detector {}, signature {}:{}:{}",
        one_line(&a.detector, 40),
        a.gid,
        a.sid,
        a.rev
    );
    if !a.category.is_empty() {
        b.push_str(", ");
        push_one_line(b, &a.category, 80);
    }
    let _ = write!(b, "\n  at {}\n", a.ts);
    b.push_str("\nFrom whom\n  ");
    push_opt_ip(b, a.src);
    if let Some(p) = a.sport {
        let _ = write!(b, " port {p}");
    }
    b.push_str(" to ");
    push_opt_ip(b, a.dst);
    if let Some(p) = a.dport {
        let _ = write!(b, " port {p}");
    }
    if let Some(p) = a.protocol.and_then(tripline_store::eve_proto) {
        let _ = write!(b, " ({p})");
    }
    b.push('\n');
    b.push_str("\nHow bad\n");
    let _ = writeln!(
        b,
        "  severity {} ({})",
        a.severity.0,
        severity_word(a.severity.0)
    );
    if let Some(dl) = danger_level(a) {
        let _ = writeln!(b, "  danger level {dl} of 5");
    }
    match n.kind {
        NoticeKind::First => {
            b.push_str("  first notification about this source in this episode\n");
        }
        NoticeKind::Rise { previous } => {
            let _ = writeln!(b, "  it got worse: level {previous} -> {}", n.level);
        }
        NoticeKind::Every => {}
    }
    let _ = writeln!(
        b,
        "  {} alert(s) from this source since {}",
        n.episode_alerts, n.episode_start
    );
    if let Some(types) = a.details.get("scan_types").and_then(Value::as_array) {
        b.push_str("  scan types:");
        for t in types.iter().filter_map(Value::as_str).take(8) {
            b.push(' ');
            push_one_line(b, t, 20);
        }
        b.push('\n');
    }
    b.push_str("\nWhat else we know about the source\n");
    match &n.profile {
        Some(p) => super::profile_text::profile_text(b, p),
        None => b.push_str("  nothing stored yet\n"),
    }
    b.push_str("\nWhat to do\n  ");
    b.push_str(advice(a));
    b.push('\n');
    if let Some(src) = a.src {
        let _ = writeln!(b, "  Profile: tripline profile {src}");
    }
}

fn digest_body(b: &mut String, d: &DigestNotice) {
    let _ = writeln!(
        b,
        "{} alerts were held back between {} and {} ({} during quiet hours, the rest by rate limits).\n",
        d.alerts, d.since, d.until, d.quiet_hours
    );
    b.push_str("Sources, most alerts first\n");
    for s in &d.sources {
        b.push_str("  ");
        push_opt_ip(b, s.src);
        let _ = write!(
            b,
            ": {} alert(s), highest level {}, first: ",
            s.alerts, s.max_level
        );
        b.push_str(&s.first_msg);
        b.push('\n');
    }
    if d.more_sources > 0 {
        let _ = writeln!(b, "  ... and {} more sources", d.more_sources);
    }
    if d.untracked_alerts > 0 {
        let _ = writeln!(
            b,
            "  ... and {} alerts from further sources (too many to track one by one)",
            d.untracked_alerts
        );
    }
    b.push_str("\nWhat to do\n  Run `tripline status` for the ranked view, and `tripline profile ADDR` for any source above.\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::Severity;

    fn scan_alert(msg: &str, level: u64) -> Alert {
        let mut details = serde_json::Map::new();
        details.insert("danger_level".into(), json!(level));
        details.insert("scan_types".into(), json!(["SYN", "FIN"]));
        Alert {
            ts: Timestamp(1_700_000_000_000_000_000),
            detector: "scan".into(),
            gid: 1,
            sid: 9_000_001,
            rev: 1,
            msg: msg.into(),
            category: "Attempted Information Leak".into(),
            severity: Severity::MEDIUM,
            src: Some("203.0.113.7".parse().unwrap()),
            sport: Some(40000),
            dst: Some("192.168.1.10".parse().unwrap()),
            dport: Some(22),
            protocol: Some(6),
            community_id: None,
            details,
        }
    }

    fn notice(a: Alert, kind: NoticeKind) -> Notice {
        Notice::Alert(Box::new(AlertNotice {
            level: alert_level(&a),
            alert: a,
            kind,
            episode_alerts: 3,
            episode_start: Timestamp(1_699_999_000_000_000_000),
            profile: None,
        }))
    }

    #[test]
    fn subject_is_one_bounded_line_with_the_essentials() {
        let n = notice(
            scan_alert("port scan\r\nBcc: x@y", 4),
            NoticeKind::Rise { previous: 2 },
        );
        let s = n.subject("[tripline]");
        assert!(!s.contains('\n') && !s.contains('\r'));
        assert!(s.starts_with("[tripline] MEDIUM: port scan"));
        assert!(
            s.contains("203.0.113.7") && s.contains("danger 4/5") && s.contains("level 2 to 4")
        );
        let long = notice(scan_alert(&"A".repeat(5000), 1), NoticeKind::First);
        assert!(long.subject("[t]").chars().count() <= MAX_SUBJECT_CHARS + 1);
    }

    #[test]
    fn body_tells_what_who_how_bad_and_what_to_do() {
        let b = notice(scan_alert("port scan", 3), NoticeKind::First).body();
        for want in [
            "What happened",
            "port scan",
            "203.0.113.7 port 40000 to 192.168.1.10 port 22 (TCP)",
            "danger level 3 of 5",
            "scan types: SYN FIN",
            "nothing stored yet",
            "What to do",
            "tripline profile 203.0.113.7",
        ] {
            assert!(b.contains(want), "{want:?} missing from:\n{b}");
        }
    }

    #[test]
    fn json_carries_the_eve_alert_and_env_the_key_fields() {
        let n = notice(scan_alert("port scan", 5), NoticeKind::First);
        let j = n.to_json();
        assert_eq!(j["alert"]["event_type"], "alert");
        assert_eq!(j["alert"]["src_ip"], "203.0.113.7");
        assert_eq!(j["alert"]["alert"]["signature_id"], 9_000_001);
        assert_eq!(j["notification"]["danger_level"], 5);
        let env = n.env_vars();
        let get = |k: &str| env.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("TRIPLINE_DPORT").as_deref(), Some("22"));
        assert_eq!(get("TRIPLINE_DANGER_LEVEL").as_deref(), Some("5"));
        assert!(!n.log_line().contains('\n'));
    }

    #[test]
    fn levels_come_from_danger_or_severity() {
        assert_eq!(alert_level(&scan_alert("s", 9)), 5);
        let mut a = scan_alert("s", 1);
        a.details.clear();
        a.severity = Severity::HIGH;
        assert_eq!(alert_level(&a), 4);
        a.severity = Severity(7);
        assert_eq!(alert_level(&a), 1);
    }
}
