//! Email through a real SMTP server (aiosmtpd) on loopback: plain,
//! STARTTLS and implicit TLS, AUTH required, with a self-signed certificate
//! made by the test; the test reads what arrived.

mod notify_support;

use notify_support::{Peer, T0, notice, scan_alert, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tripline_act::notify::email::EmailChannel;
use tripline_act::notify::{
    Channel, EmailConfig, Notifier, NotifyConfig, SecretConfig, SmtpSecurity,
};
use tripline_core::{DnsAnswer, DnsData, DnsEvent, DnsLog, DnsOrigin, Timestamp};
use tripline_store::Store;

const PEER: &str = include_str!("data/notify_smtp_peer.py");

struct Smtp {
    _dir: tempfile::TempDir,
    peer: Peer,
    out: PathBuf,
    cert: PathBuf,
}

/// Starts aiosmtpd in `mode` with a fresh self-signed certificate for 127.0.0.1.
fn smtp(mode: &str) -> Smtp {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, out) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("out"),
    );
    std::fs::create_dir(&out).unwrap();
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
        ])
        .args([
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl (scripts/setup.sh installs it)")
        .success();
    assert!(ok, "openssl could not make a certificate");
    let peer = Peer::python(
        PEER,
        &[
            mode,
            out.to_str().unwrap(),
            cert.to_str().unwrap(),
            key.to_str().unwrap(),
        ],
    );
    Smtp {
        _dir: dir,
        peer,
        out,
        cert,
    }
}

fn email_config(s: &Smtp, security: SmtpSecurity, password: &str) -> EmailConfig {
    EmailConfig {
        server: "127.0.0.1".into(),
        port: Some(s.peer.port),
        security,
        ca_file: Some(s.cert.clone()),
        username: Some("alerts".into()),
        password: SecretConfig {
            value: Some(password.into()),
            ..SecretConfig::default()
        },
        from: "tripline <tripline@sensor.example>".into(),
        to: vec!["soc@example.org".into()],
        timeout: 10,
        ..EmailConfig::default()
    }
}

/// The messages that arrived, in order.
fn arrived(out: &Path) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(out)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// A header's value, unfolded (RFC 5322 2.2.3), from the header block.
fn header(msg: &str, name: &str) -> Option<String> {
    let block = msg
        .split("\r\n\r\n")
        .next()?
        .replace("\r\n ", " ")
        .replace("\r\n\t", "\t");
    block
        .split("\r\n")
        .find_map(|l| Some(l.strip_prefix(name)?.strip_prefix(": ")?.to_string()))
}

#[test]
fn starttls_with_auth_delivers_subject_and_body() {
    let s = smtp("starttls");
    let ch = EmailChannel::new(&email_config(&s, SmtpSecurity::Starttls, "s3cret")).unwrap();
    let mut a = scan_alert(0, "203.0.113.7", 4);
    a.msg = "TCP port scan\r\nBcc: victim@example.com".into();
    ch.deliver(&notice(a)).unwrap();
    let msgs = arrived(&s.out);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(header(m, "X-Peer-Auth").as_deref(), Some("alerts"));
    assert_eq!(header(m, "X-Peer-TLS").as_deref(), Some("True"));
    assert_eq!(header(m, "X-Peer-Rcpt").as_deref(), Some("soc@example.org"));
    assert_eq!(
        header(m, "Subject").as_deref(),
        Some(
            "[tripline] HIGH: TCP port scan\\x0d\\x0aBcc: victim@example.com from 203.0.113.7 (danger 4/5)"
        )
    );
    assert!(header(m, "Bcc").is_none(), "no header injection");
    for want in [
        "What happened",
        "From whom",
        "203.0.113.7 to 192.168.1.10 port 22 (TCP)",
        "danger level 4 of 5",
        "What to do",
    ] {
        assert!(m.contains(want), "{want:?} missing:\n{m}");
    }
}

#[test]
fn implicit_tls_with_auth() {
    let s = smtp("tls");
    let ch = EmailChannel::new(&email_config(&s, SmtpSecurity::Tls, "s3cret")).unwrap();
    ch.deliver(&notice(scan_alert(0, "198.51.100.4", 3)))
        .unwrap();
    let msgs = arrived(&s.out);
    assert_eq!(msgs.len(), 1);
    assert_eq!(header(&msgs[0], "X-Peer-TLS").as_deref(), Some("True"));
    assert_eq!(header(&msgs[0], "X-Peer-Auth").as_deref(), Some("alerts"));
}

#[test]
fn wrong_password_and_untrusted_certificate_fail() {
    let s = smtp("starttls");
    let ch = EmailChannel::new(&email_config(&s, SmtpSecurity::Starttls, "guess")).unwrap();
    let err = ch
        .deliver(&notice(scan_alert(0, "198.51.100.4", 3)))
        .unwrap_err();
    assert!(
        err.0.contains("535"),
        "the server refused the credentials: {err}"
    );
    let untrusted = EmailConfig {
        ca_file: None,
        ..email_config(&s, SmtpSecurity::Starttls, "s3cret")
    };
    let ch = EmailChannel::new(&untrusted).unwrap();
    assert!(
        ch.deliver(&notice(scan_alert(0, "198.51.100.4", 3)))
            .is_err()
    );
    assert!(
        arrived(&s.out).is_empty(),
        "nothing delivered without trust or auth"
    );
}

/// Plain SMTP through the whole notifier: noise control, the worker, the
/// source profile from the store, and the notifications rows.
#[test]
fn plain_smtp_through_the_notifier_with_the_source_profile() {
    let s = smtp("plain");
    let db_dir = tempfile::tempdir().unwrap();
    let db = db_dir.path().join("t.db");
    let mut store = Store::open(&db).unwrap();
    let src = "203.0.113.7";
    let mut os = scan_alert(-600, src, 1);
    os.detector = "osfp".into();
    os.details.clear();
    os.details
        .insert("os".into(), "Linux 3.11 and newer".into());
    let first = scan_alert(0, src, 2);
    let worse = scan_alert(30, src, 4);
    let same = scan_alert(40, src, 4);
    let alerts = vec![os, first.clone(), worse.clone(), same.clone()];
    store.insert_alerts(None, &alerts).unwrap();
    let dns = DnsLog {
        ts: Timestamp((T0 - 900) * 1_000_000_000),
        origin: DnsOrigin::Dnsmasq,
        event: DnsEvent::Reply,
        client: None,
        server: None,
        id: None,
        name: "scanner.example.net".into(),
        qtype: "A".into(),
        rcode: None,
        answers: vec![DnsAnswer {
            name: "scanner.example.net".into(),
            data: DnsData::Addr(src.parse().unwrap()),
            ttl: None,
        }],
        from_config: false,
        blocked: false,
    };
    store.insert_dns(None, &[dns]).unwrap();

    let cfg = NotifyConfig {
        email: Some(EmailConfig {
            min_severity: 3,
            ..email_config(&s, SmtpSecurity::None, "s3cret")
        }),
        ..NotifyConfig::default()
    };
    let mut n = Notifier::from_config(&cfg, Some(&db))
        .unwrap()
        .expect("email configured");
    for a in [&first, &worse, &same] {
        n.alert(a);
    }
    let stats = n.finish();
    let rows = n.take_rows();
    assert_eq!(
        (stats.sent, stats.suppressed, stats.failed),
        (2, 1, 0),
        "{rows:?}"
    );
    store.insert_notifications(&rows).unwrap();

    assert!(wait_for(Duration::from_secs(5), || arrived(&s.out).len() == 2));
    let msgs = arrived(&s.out);
    assert_eq!(header(&msgs[0], "X-Peer-TLS").as_deref(), Some("False"));
    assert_eq!(header(&msgs[0], "X-Peer-Auth").as_deref(), Some("alerts"));
    assert!(
        header(&msgs[0], "Subject")
            .unwrap()
            .starts_with("[tripline] LOW: TCP port scan from 203.0.113.7 (danger 2/5)")
    );
    assert!(
        header(&msgs[1], "Subject")
            .unwrap()
            .ends_with("[worse: level 2 to 4]"),
        "{}",
        msgs[1]
    );
    for want in [
        "first seen 2023-11-14T22:03:20",
        "OS guess: Linux 3.11 and newer",
        "DNS names: scanner.example.net",
        "highest danger level 4",
    ] {
        assert!(msgs[1].contains(want), "{want:?} missing:\n{}", msgs[1]);
    }
    let counts = store.notification_counts(Some("email")).unwrap();
    let got: Vec<(&str, &str, u64)> = counts
        .iter()
        .map(|c| (c.outcome.as_str(), c.reason.as_str(), c.rows))
        .collect();
    assert_eq!(
        got,
        vec![
            ("sent", "first", 1),
            ("sent", "rise", 1),
            ("suppressed", "episode", 1)
        ]
    );
    let linked: i64 = rusqlite_count(&db);
    assert_eq!(linked, 3, "every row names its stored alert");
}

fn rusqlite_count(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT count(*) FROM notifications WHERE alert_id IS NOT NULL",
        [],
        |r| r.get(0),
    )
    .unwrap()
}
