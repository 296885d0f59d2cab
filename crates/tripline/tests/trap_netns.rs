//! `tripline trap` inside a network namespace: a "victim" namespace runs
//! the trap listeners, an "attacker" namespace joined to it by a veth pair
//! (10.235.x.0/24) knocks on a trap port over TCP and UDP, and the stored
//! tripwire alerts name the attacker's address. The namespaces (and the
//! trap process) are removed on drop, even after a failed assertion. Needs
//! root; otherwise the test says so loudly and does nothing.

mod common;
mod netns;

use netns::{Pair, is_root, on_ns};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tripline_store::{AlertQuery, Store, TimeRange};

/// The trap's TCP and UDP ports (any free ports do: the namespace is new).
const TCP_PORT: u16 = 2323;
const UDP_PORT: u16 = 1161;

/// The trap process; killed and reaped on drop if still running.
struct Trap(Child);

impl Trap {
    /// Asks the trap to stop (SIGTERM) and waits up to 30 s for its exit.
    fn stop(&mut self) -> (bool, String) {
        // SAFETY: signalling our own child by its pid.
        unsafe { libc::kill(self.0.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.0.try_wait().expect("wait trap") {
                break s;
            }
            assert!(Instant::now() < deadline, "trap did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut e) = self.0.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.success(), err)
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Runs `f` on a thread inside namespace `ns`.

#[test]
fn trap_hits_from_another_namespace_are_stored_with_the_attackers_address() {
    if !is_root() {
        eprintln!("SKIPPED trap_netns: needs root to create network namespaces");
        return;
    }
    let dir = common::tempdir();
    let db = common::join(&dir, "t.db");
    let ns = Pair::new("tt", 235);
    let ports = format!("{TCP_PORT}/tcp,{UDP_PORT}/udp");
    let home = dir.path().join("home");
    let mut trap = Trap(
        Command::new("ip")
            .args(["netns", "exec", &ns.victim, env!("CARGO_BIN_EXE_tripline")])
            .args([
                "trap",
                "--bind",
                &ns.victim_ip,
                "--ports",
                &ports,
                "--db",
                &db,
            ])
            .env_remove("TRIPLINE_CONFIG")
            .env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_DATA_HOME", home.join("data"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tripline trap"),
    );

    // Knock from the attacker namespace: bounded attempts until the
    // listener is up, then a line of "login", then wait for the close.
    let dst: SocketAddr = format!("{}:{TCP_PORT}", ns.victim_ip).parse().unwrap();
    let udp_dst: SocketAddr = format!("{}:{UDP_PORT}", ns.victim_ip).parse().unwrap();
    let knocked = on_ns(&ns.attacker, move || {
        for _ in 0..150 {
            match TcpStream::connect_timeout(&dst, Duration::from_secs(1)) {
                Ok(mut s) => {
                    let local = s.local_addr().ok();
                    let _ = s.write_all(b"root\r\n");
                    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut rest = Vec::new();
                    let _ = s.read_to_end(&mut rest); // the trap closes on us
                    let sock = UdpSocket::bind("0.0.0.0:0").expect("udp bind");
                    sock.send_to(b"\x30\x26 public", udp_dst).expect("udp send");
                    return local;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
        None
    });
    let local = knocked.expect("the trap never accepted a connection from the attacker namespace");
    assert_eq!(
        local.ip().to_string(),
        ns.attacker_ip,
        "connected via the veth"
    );
    // Give the trap time to hand the UDP datagram to the engine.
    std::thread::sleep(Duration::from_millis(700));

    let (ok, err) = trap.stop();
    assert!(ok, "trap failed: {err}");

    let store = Store::open(std::path::Path::new(&db)).expect("open store");
    let (alerts, total) = store
        .alerts_page(&AlertQuery::in_range(TimeRange::ALL, 100))
        .expect("alerts");
    let seen: Vec<String> = alerts
        .iter()
        .map(|a| {
            format!(
                "{} {:?} -> {:?}:{:?} {}",
                a.detector, a.src, a.dst, a.dport, a.msg
            )
        })
        .collect();
    assert_eq!(total, 2, "one alert per contact (TCP, UDP): {seen:#?}");
    for (port, proto) in [(TCP_PORT, 6u8), (UDP_PORT, 17)] {
        let hit = alerts
            .iter()
            .find(|a| a.dport == Some(port))
            .unwrap_or_else(|| panic!("no alert for port {port}: {seen:#?}"));
        assert_eq!(hit.detector, "tripwire");
        assert_eq!(hit.src.as_deref(), Some(ns.attacker_ip.as_str()));
        assert_eq!(hit.dst.as_deref(), Some(ns.victim_ip.as_str()));
        assert_eq!(hit.protocol, Some(proto));
    }
    let tcp = alerts.iter().find(|a| a.dport == Some(TCP_PORT)).unwrap();
    assert_eq!(tcp.sport, Some(local.port()), "the attacker's source port");
}
