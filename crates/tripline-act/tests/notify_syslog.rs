//! Syslog delivered to real sockets on this host: UDP, TCP (both framings)
//! and a unix datagram socket, in RFC 5424 and RFC 3164.

mod notify_support;

use notify_support::{notice, scan_alert};
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;
use tripline_act::notify::syslog::SyslogChannel;
use tripline_act::notify::{Channel, SyslogConfig, SyslogFormat, SyslogFraming};

fn config(target: String, format: SyslogFormat, framing: SyslogFraming) -> SyslogConfig {
    SyslogConfig {
        target,
        format,
        framing,
        hostname: Some("sensor1".into()),
        ..SyslogConfig::default()
    }
}

#[test]
fn rfc5424_over_udp() {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let port = sock.local_addr().unwrap().port();
    let ch = SyslogChannel::new(&config(
        format!("udp:127.0.0.1:{port}"),
        SyslogFormat::Rfc5424,
        SyslogFraming::Octet,
    ))
    .unwrap();
    let mut a = scan_alert(0, "203.0.113.7", 3);
    a.msg = "scan \"quoted\"\r\ninjected: line".into();
    ch.deliver(&notice(a)).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    // auth (4) * 8 + warning (4) for a medium alert.
    let pid = std::process::id();
    let want = format!(
        "<36>1 2023-11-14T22:13:20.000000Z sensor1 tripline {pid} alert [tripline@32473 src=\"203.0.113.7\" dst=\"192.168.1.10\" dport=\"22\" sid=\"9100001\" severity=\"2\" danger_level=\"3\" detector=\"scan\"] MEDIUM alert: scan \"quoted\"\\x0d\\x0ainjected: line src=203.0.113.7"
    );
    assert!(msg.starts_with(&want), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn rfc5424_over_tcp_with_octet_counting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        // Two messages, then the test drops the channel and the stream closes.
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            all.extend_from_slice(&buf[..n]);
        }
        all
    });
    let ch = SyslogChannel::new(&config(
        format!("tcp:127.0.0.1:{port}"),
        SyslogFormat::Rfc5424,
        SyslogFraming::Octet,
    ))
    .unwrap();
    ch.deliver(&notice(scan_alert(0, "203.0.113.7", 4)))
        .unwrap();
    ch.deliver(&notice(scan_alert(1, "2001:db8::9", 2)))
        .unwrap();
    drop(ch);
    let all = String::from_utf8(reader.join().unwrap()).unwrap();
    // Parse the octet-counted frames: LEN SP MSG, twice.
    let mut rest = all.as_str();
    let mut msgs = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(' ').expect("a length");
        let len: usize = len.parse().expect("a decimal length");
        msgs.push(&tail[..len]);
        rest = &tail[len..];
    }
    assert_eq!(msgs.len(), 2, "{all}");
    // auth*8 + crit (2) for a high alert; notice (5) for a low one.
    assert!(
        msgs[0].starts_with("<34>1 2023-11-14T22:13:20.000000Z sensor1 tripline "),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[1].starts_with("<37>1 2023-11-14T22:13:21.000000Z "),
        "{}",
        msgs[1]
    );
    assert!(msgs[1].contains("src=\"2001:db8::9\""));
}

#[test]
fn rfc3164_over_tcp_with_lf_framing() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = std::thread::spawn(move || {
        let (s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        BufReader::new(s)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let cfg = SyslogConfig {
        facility: "local3".into(),
        ..config(
            format!("tcp:127.0.0.1:{port}"),
            SyslogFormat::Rfc3164,
            SyslogFraming::Lf,
        )
    };
    let ch = SyslogChannel::new(&cfg).unwrap();
    ch.deliver(&notice(scan_alert(0, "203.0.113.7", 3)))
        .unwrap();
    ch.deliver(&notice(scan_alert(5, "203.0.113.8", 3)))
        .unwrap();
    drop(ch);
    let lines = reader.join().unwrap();
    assert_eq!(lines.len(), 2);
    let pid = std::process::id();
    // local3 (19) * 8 + warning (4) = 156.
    assert_eq!(
        lines[0],
        format!(
            "<156>Nov 14 22:13:20 sensor1 tripline[{pid}]: MEDIUM alert: TCP port scan src=203.0.113.7 dst=192.168.1.10 dport=22 sid=1:9100001 level=3 kind=first danger_level=3"
        )
    );
    assert!(lines[1].starts_with("<156>Nov 14 22:13:25 sensor1 tripline["));
}

#[test]
fn rfc3164_to_a_unix_datagram_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let sock = UnixDatagram::bind(&path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let ch = SyslogChannel::new(&config(
        format!("unix:{}", path.display()),
        SyslogFormat::Rfc3164,
        SyslogFraming::Octet,
    ))
    .unwrap();
    let mut a = scan_alert(0, "203.0.113.7", 1);
    a.msg = "x".repeat(10_000);
    ch.deliver(&notice(a)).unwrap();
    let mut buf = vec![0u8; 65536];
    let n = sock.recv(&mut buf).unwrap();
    let msg = std::str::from_utf8(&buf[..n]).unwrap();
    assert!(
        msg.starts_with("<37>Nov 14 22:13:20 sensor1 tripline["),
        "{msg}"
    );
    assert!(
        n <= tripline_act::notify::syslog::MAX_DATAGRAM,
        "bounded: {n} bytes"
    );
    assert!(msg.contains("xxx…"), "the message is cut with a mark");
}

#[test]
fn a_dead_collector_is_a_failed_delivery_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ch = SyslogChannel::new(&config(
        format!("tcp:127.0.0.1:{port}"),
        SyslogFormat::Rfc5424,
        SyslogFraming::Octet,
    ))
    .unwrap();
    let err = ch
        .deliver(&notice(scan_alert(0, "203.0.113.7", 3)))
        .unwrap_err();
    assert!(err.0.contains("connecting"), "{err}");
}
