//! `tripline trap` end to end: real contacts on loopback become stored
//! tripwire alerts; the process stops cleanly on SIGTERM.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tripline_store::Store;

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn contacts_on_trap_ports_are_stored_as_tripwire_alerts() {
    let dir = tempdir();
    let db = join(&dir, "t.db");
    let (tcp, udp) = (free_port(), free_port());
    let ports = format!("{tcp}/tcp,{udp}/udp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args([
            "trap",
            "--bind",
            "127.0.0.1",
            "--ports",
            &ports,
            "--db",
            &db,
        ])
        .env_remove("TRIPLINE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    // Wait until the TCP listener accepts, then knock.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut stream = loop {
        match TcpStream::connect(("127.0.0.1", tcp)) {
            Ok(s) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => panic!("trap never listened: {e}"),
        }
    };
    stream.write_all(b"USER root\r\n").unwrap();
    let mut rest = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.read_to_end(&mut rest); // the trap closes on us
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.send_to(b"\x30\x26 snmp?", ("127.0.0.1", udp)).unwrap();
    std::thread::sleep(Duration::from_millis(500));

    unsafe { libc_kill(child.id() as i32, 15) };
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "trap did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "trap failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let store = Store::open(std::path::Path::new(&db)).unwrap();
    let counts = store.counts(None).unwrap();
    assert_eq!(counts.alerts, 2, "one alert per contact (TCP and UDP)");
    let inputs = store.list_inputs().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].stats.records, 2);
}
