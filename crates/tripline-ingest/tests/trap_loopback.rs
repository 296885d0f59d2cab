//! Trap listeners against real connections on 127.0.0.1: TCP with bytes,
//! UDP datagrams, per-source limits, and a connection flood that must not
//! hold more descriptors than the cap.

use std::io::Write;
use std::net::{IpAddr, SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use tripline_core::{InputError, Record, TripwireHit, ip_proto};
use tripline_ingest::trap::{TrapConfig, TrapPort, TrapSource, TrapStats, parse_ports};
use tripline_ingest::{RecordSink, Source};

/// The flood test counts this process's descriptors: socket tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Collect(mpsc::Sender<TripwireHit>);

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        if let Record::Tripwire(h) = rec {
            let _ = self.0.send(h.clone());
        }
    }
    fn error(&mut self, _e: InputError) {}
}

struct Running {
    addrs: Vec<(TrapPort, SocketAddr)>,
    stop: Arc<AtomicBool>,
    hits: mpsc::Receiver<TripwireHit>,
    done: thread::JoinHandle<TrapStats>,
}

fn start(config: TrapConfig) -> Running {
    let mut trap = TrapSource::bind(config).expect("bind on loopback");
    let addrs = trap.local_addrs();
    let stop = trap.stop_handle();
    let (tx, hits) = mpsc::channel();
    let done = thread::spawn(move || {
        trap.run(&mut Collect(tx));
        trap.stats()
    });
    Running {
        addrs,
        stop,
        hits,
        done,
    }
}

impl Running {
    fn addr(&self, protocol: u8) -> SocketAddr {
        self.addrs
            .iter()
            .find(|(p, _)| p.protocol == protocol)
            .unwrap()
            .1
    }

    fn next(&self) -> TripwireHit {
        self.hits
            .recv_timeout(Duration::from_secs(10))
            .expect("a hit within 10 s")
    }

    fn finish(self) -> TrapStats {
        self.stop.store(true, Ordering::Relaxed);
        self.done.join().unwrap()
    }
}

fn loopback(ports: &str) -> TrapConfig {
    TrapConfig {
        bind: IpAddr::from([127, 0, 0, 1]),
        ports: parse_ports(ports).unwrap(),
        read_timeout: Duration::from_millis(500),
        ..Default::default()
    }
}

/// Ports 0 ask for free ones; `parse_ports` refuses 0, so patch them in.
fn free_ports(mut c: TrapConfig) -> TrapConfig {
    for p in &mut c.ports {
        p.port = 0;
    }
    c
}

#[test]
fn port_lists_parse() {
    let p = parse_ports("23, 2323/tcp,161/udp,23").unwrap();
    assert_eq!(
        p,
        [
            TrapPort {
                port: 23,
                protocol: ip_proto::TCP
            },
            TrapPort {
                port: 2323,
                protocol: ip_proto::TCP
            },
            TrapPort {
                port: 161,
                protocol: ip_proto::UDP
            },
        ]
    );
    for bad in ["", "0", "70000", "23/icmp", "x", "23,,/udp"] {
        assert!(parse_ports(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn tcp_bytes_and_udp_datagrams_are_recorded() {
    let _serial = serial();
    let t = start(free_ports(loopback("1/tcp,1/udp")));
    let tcp = t.addr(ip_proto::TCP);
    let mut c = TcpStream::connect(tcp).unwrap();
    let client_port = c.local_addr().unwrap().port();
    c.write_all(b"USER root\r\n").unwrap();
    let h = t.next();
    assert_eq!(h.protocol, ip_proto::TCP);
    assert_eq!(h.src, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(h.sport, client_port);
    assert_eq!(h.dport, tcp.port());
    assert_eq!(h.dst, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(h.first_bytes, b"USER root\r\n");

    // More than 256 bytes: only the first 256 are kept.
    let mut c = TcpStream::connect(tcp).unwrap();
    c.write_all(&[b'A'; 1000]).unwrap();
    let h = t.next();
    assert_eq!(h.first_bytes.len(), 256);

    let udp = t.addr(ip_proto::UDP);
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.send_to(b"\x30\x26\x02\x01\x01public", udp).unwrap();
    let h = t.next();
    assert_eq!(h.protocol, ip_proto::UDP);
    assert_eq!(h.sport, s.local_addr().unwrap().port());
    assert_eq!(h.dport, udp.port());
    assert_eq!(h.first_bytes, b"\x30\x26\x02\x01\x01public");
    drop(c);
    let stats = t.finish();
    assert_eq!(stats.accepted, 2);
    assert_eq!(stats.datagrams, 1);
    assert_eq!(stats.open, 0);
}

#[test]
fn per_source_limit_closes_extra_connections_at_once() {
    let _serial = serial();
    let t = start(free_ports(TrapConfig {
        max_per_source: 2,
        read_timeout: Duration::from_secs(3),
        ..loopback("1/tcp")
    }));
    let tcp = t.addr(ip_proto::TCP);
    let held: Vec<TcpStream> = (0..5).map(|_| TcpStream::connect(tcp).unwrap()).collect();
    // The three refused contacts are recorded without waiting for bytes.
    for _ in 0..3 {
        let h = t
            .hits
            .recv_timeout(Duration::from_secs(2))
            .expect("refused contact");
        assert!(h.first_bytes.is_empty());
    }
    drop(held);
    for _ in 0..2 {
        t.next();
    }
    let stats = t.finish();
    assert_eq!(stats.accepted, 5);
    assert_eq!(stats.refused_per_source, 3);
    assert_eq!(stats.peak_open, 2);
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn a_flood_never_holds_more_than_the_cap() {
    let _serial = serial();
    const CAP: usize = 20;
    const FLOOD: usize = 500;
    let t = start(free_ports(TrapConfig {
        max_connections: CAP,
        max_per_source: 1000,
        backlog: 128,
        read_timeout: Duration::from_secs(5),
        ..loopback("1/tcp")
    }));
    let tcp = t.addr(ip_proto::TCP);
    thread::sleep(Duration::from_millis(100));
    let baseline = open_fds();
    let mut clients = Vec::with_capacity(FLOOD);
    let mut worst = 0usize;
    for i in 0..FLOOD {
        let c = TcpStream::connect_timeout(&tcp, Duration::from_secs(5)).unwrap();
        clients.push(c);
        if i % 25 == 0 {
            // The server side may hold at most CAP of its own descriptors
            // beyond the clients this test holds (+ a few transient ones).
            worst = worst.max(open_fds().saturating_sub(baseline + clients.len()));
        }
    }
    thread::sleep(Duration::from_millis(300));
    worst = worst.max(open_fds().saturating_sub(baseline + clients.len()));
    assert!(worst <= CAP + 4, "server held {worst} descriptors");
    // Every contact is recorded: the refused ones at once.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = 0;
    while seen < FLOOD - CAP && Instant::now() < deadline {
        if t.hits.recv_timeout(Duration::from_millis(200)).is_ok() {
            seen += 1;
        }
    }
    assert_eq!(seen, FLOOD - CAP);
    drop(clients);
    for _ in 0..CAP {
        t.next();
    }
    // Still serving after the flood.
    let mut c = TcpStream::connect(tcp).unwrap();
    c.write_all(b"after").unwrap();
    drop(c);
    assert_eq!(t.next().first_bytes, b"after");
    let stats = t.finish();
    assert_eq!(stats.peak_open, CAP as u64);
    assert_eq!(stats.refused_global, (FLOOD - CAP) as u64);
    assert_eq!(stats.accepted, FLOOD as u64 + 1);
    assert_eq!(stats.open, 0);
}
