//! Live capture end to end: two network namespaces joined by a veth pair,
//! traffic sent from one, captured and decoded in the other.
//!
//! Needs root and iproute2; otherwise the namespace test prints why it is
//! skipped. Nothing is ever sent outside the two test namespaces.

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use tripline_core::{
    ErrorKind, Header, IcmpFields, InputError, IpFields, LinkInfo, Packet, Record, TcpFields,
    TcpFlags, Timestamp, Transport, UdpFields, ip_proto,
};
use tripline_ingest::live::{
    FrameDecoder, FrameError, LiveCapture, LiveError, LiveOptions, LiveStats,
};
use tripline_ingest::{RecordSink, Source, SourceStats};

/// A small Ethernet decoder built on etherparse, standing in for the capture
/// decoder so the test really decodes what it captured.
struct EtherDecoder;

impl FrameDecoder for EtherDecoder {
    fn decode<'a>(
        &mut self,
        linktype: i32,
        ts: Timestamp,
        frame: &'a [u8],
        wire_len: u32,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> Result<(), FrameError> {
        if linktype != 1 {
            return Err(FrameError::new(
                ErrorKind::UnsupportedLinkType,
                format!("link type {linktype}"),
            ));
        }
        let sliced = SlicedPacket::from_ethernet(frame)
            .map_err(|e| FrameError::new(ErrorKind::Decode, e.to_string()))?;
        let mut header = Header::default();
        match &sliced.net {
            Some(NetSlice::Ipv4(v4)) => {
                let h = v4.header();
                header.src = IpAddr::V4(h.source_addr());
                header.dst = IpAddr::V4(h.destination_addr());
                header.protocol = h.protocol().0;
                header.ip = IpFields {
                    version: 4,
                    total_len: h.total_len(),
                    ttl: h.ttl(),
                    ..IpFields::default()
                };
            }
            Some(NetSlice::Ipv6(v6)) => {
                let h = v6.header();
                header.src = IpAddr::V6(h.source_addr());
                header.dst = IpAddr::V6(h.destination_addr());
                header.protocol = v6.payload().ip_number.0;
                header.ip = IpFields {
                    version: 6,
                    total_len: h.payload_length().saturating_add(40),
                    ttl: h.hop_limit(),
                    ..IpFields::default()
                };
            }
            _ => return Ok(()),
        }
        let mut payload: &'a [u8] = &[];
        header.transport = match &sliced.transport {
            Some(TransportSlice::Tcp(t)) => {
                let flags = [
                    (t.fin(), TcpFlags::FIN),
                    (t.syn(), TcpFlags::SYN),
                    (t.rst(), TcpFlags::RST),
                    (t.psh(), TcpFlags::PSH),
                    (t.ack(), TcpFlags::ACK),
                ]
                .iter()
                .fold(0u8, |acc, (set, bit)| if *set { acc | bit } else { acc });
                payload = t.payload();
                Transport::Tcp(TcpFields {
                    sport: t.source_port(),
                    dport: t.destination_port(),
                    seq: Some(t.sequence_number()),
                    window: t.window_size(),
                    flags: TcpFlags(flags),
                    ..TcpFields::default()
                })
            }
            Some(TransportSlice::Udp(u)) => {
                payload = u.payload();
                Transport::Udp(UdpFields {
                    sport: u.source_port(),
                    dport: u.destination_port(),
                    len: u.length(),
                })
            }
            Some(TransportSlice::Icmpv4(i)) => {
                payload = i.payload();
                let b = i.slice();
                let echo = matches!(i.type_u8(), 0 | 8) && b.len() >= 8;
                Transport::Icmp(IcmpFields {
                    icmp_type: i.type_u8(),
                    code: i.code_u8(),
                    id: echo.then(|| u16::from_be_bytes([b[4], b[5]])),
                    seq: echo.then(|| u16::from_be_bytes([b[6], b[7]])),
                })
            }
            Some(TransportSlice::Icmpv6(i)) => {
                payload = i.payload();
                Transport::Icmp(IcmpFields {
                    icmp_type: i.type_u8(),
                    code: i.code_u8(),
                    id: None,
                    seq: None,
                })
            }
            _ => Transport::Other,
        };
        let link = match &sliced.link {
            Some(etherparse::LinkSlice::Ethernet2(e)) => LinkInfo {
                src_mac: Some(e.source()),
                dst_mac: Some(e.destination()),
                ..LinkInfo::default()
            },
            _ => LinkInfo::default(),
        };
        emit(&Record::Packet(Packet {
            ts,
            header,
            payload,
            wire_len,
            link,
            frame,
        }));
        Ok(())
    }
}

/// What the test keeps of each captured packet.
#[derive(Clone, Debug)]
struct Seen {
    header: Header,
    payload: Vec<u8>,
    ts: Timestamp,
}

/// Collects packets where the sending thread can watch them arrive.
struct Collect {
    seen: Arc<Mutex<Vec<Seen>>>,
    errors: Vec<InputError>,
}

impl RecordSink for Collect {
    fn record(&mut self, rec: &Record<'_>) {
        if let Record::Packet(p) = rec {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.push(Seen {
                header: p.header,
                payload: p.payload.to_vec(),
                ts: p.ts,
            });
        }
    }

    fn error(&mut self, err: InputError) {
        self.errors.push(err);
    }
}

fn run_ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Names and addresses of two namespaces joined by a veth pair.
#[derive(Clone, Debug)]
struct NetnsPair {
    a: String,
    b: String,
    veth_a: String,
    veth_b: String,
    v4: [Ipv4Addr; 2],
    v6: [Ipv6Addr; 2],
}

impl NetnsPair {
    fn create() -> Result<NetnsGuard, String> {
        let pid = std::process::id();
        let x = (pid % 200 + 20) as u8;
        let pair = NetnsPair {
            a: format!("tl-test-{pid}-a"),
            b: format!("tl-test-{pid}-b"),
            veth_a: format!("tlva{pid}"),
            veth_b: format!("tlvb{pid}"),
            v4: [Ipv4Addr::new(10, 200, x, 1), Ipv4Addr::new(10, 200, x, 2)],
            v6: [
                Ipv6Addr::new(0xfd00, 0x7470, u16::from(x), 0, 0, 0, 0, 1),
                Ipv6Addr::new(0xfd00, 0x7470, u16::from(x), 0, 0, 0, 0, 2),
            ],
        };
        run_ip(&["netns", "add", &pair.a])?;
        // From here on the guard deletes what was made, whatever fails next.
        let guard = NetnsGuard(pair.clone());
        run_ip(&["netns", "add", &pair.b])?;
        run_ip(&[
            "link",
            "add",
            &pair.veth_a,
            "netns",
            &pair.a,
            "type",
            "veth",
            "peer",
            "name",
            &pair.veth_b,
            "netns",
            &pair.b,
        ])?;
        for (ns, dev, v4, v6) in [
            (&pair.a, &pair.veth_a, pair.v4[0], pair.v6[0]),
            (&pair.b, &pair.veth_b, pair.v4[1], pair.v6[1]),
        ] {
            run_ip(&["-n", ns, "addr", "add", &format!("{v4}/30"), "dev", dev])?;
            run_ip(&[
                "-n",
                ns,
                "-6",
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ])?;
            run_ip(&["-n", ns, "link", "set", dev, "up"])?;
            run_ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        Ok(guard)
    }
}

/// Deletes the test namespaces on drop, even after a failed assertion.
struct NetnsGuard(NetnsPair);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it (and so its peer).
        let _ = run_ip(&["netns", "del", &self.0.a]);
        let _ = run_ip(&["netns", "del", &self.0.b]);
    }
}

/// Moves the calling thread into the named network namespace.
fn enter_netns(name: &str) -> Result<(), String> {
    let path = format!("/var/run/netns/{name}");
    let f = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
    // SAFETY: a valid namespace descriptor; only this thread changes namespace.
    if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum = 0u32;
    for chunk in data.chunks(2) {
        let word = u16::from_be_bytes([chunk[0], *chunk.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Sends one ICMP echo request with a raw socket (root only).
fn send_echo(dst: Ipv4Addr, id: u16, seq: u16) -> Result<(), String> {
    let mut msg = [0u8; 16];
    msg[0] = 8;
    msg[4..6].copy_from_slice(&id.to_be_bytes());
    msg[6..8].copy_from_slice(&seq.to_be_bytes());
    msg[8..16].copy_from_slice(b"tripline");
    let sum = checksum(&msg);
    msg[2..4].copy_from_slice(&sum.to_be_bytes());
    // SAFETY: plain socket(2)/sendto(2)/close(2) calls with valid, live buffers.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP);
        if fd < 0 {
            return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
        }
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(dst.octets()),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::sendto(
            fd,
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&addr as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        let err = std::io::Error::last_os_error();
        libc::close(fd);
        if rc < 0 {
            return Err(format!("sendto {dst}: {err}"));
        }
    }
    Ok(())
}

/// From namespace A: five pings, a UDP datagram over IPv4 and one over IPv6
/// to port 9999, and a TCP connection attempt to the closed port 9998.
fn send_traffic(pair: &NetnsPair, echo_id: u16) -> Result<(), String> {
    enter_netns(&pair.a)?;
    for seq in 1..=5 {
        send_echo(pair.v4[1], echo_id, seq)?;
        thread::sleep(Duration::from_millis(50));
    }
    let udp4 = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    udp4.send_to(
        b"hello over v4",
        SocketAddr::new(IpAddr::V4(pair.v4[1]), 9999),
    )
    .map_err(|e| e.to_string())?;
    let udp6 = UdpSocket::bind("[::]:0").map_err(|e| e.to_string())?;
    udp6.send_to(
        b"hello over v6",
        SocketAddr::new(IpAddr::V6(pair.v6[1]), 9999),
    )
    .map_err(|e| e.to_string())?;
    // Nothing listens on 9998: expect a SYN and a RST, the connect fails.
    let tcp = TcpStream::connect_timeout(
        &SocketAddr::new(IpAddr::V4(pair.v4[1]), 9998),
        Duration::from_secs(3),
    );
    if tcp.is_ok() {
        return Err("TCP connect to the closed port 9998 unexpectedly succeeded".into());
    }
    Ok(())
}

/// Everything the test expects to see, given what was sent.
fn missing_expectations(pair: &NetnsPair, seen: &[Seen], echo_id: u16) -> Vec<String> {
    let [a4, b4] = pair.v4.map(IpAddr::V4);
    let [a6, b6] = pair.v6.map(IpAddr::V6);
    let mut missing = Vec::new();
    for seq in 1..=5u16 {
        let icmp = |src, dst, ty: u8| {
            seen.iter().any(|s| {
                s.header.src == src
                    && s.header.dst == dst
                    && s.header.protocol == ip_proto::ICMP
                    && s.header.icmp().is_some_and(|i| {
                        i.icmp_type == ty && i.id == Some(echo_id) && i.seq == Some(seq)
                    })
            })
        };
        if !icmp(a4, b4, 8) {
            missing.push(format!("echo request seq {seq}"));
        }
        if !icmp(b4, a4, 0) {
            missing.push(format!("echo reply seq {seq}"));
        }
    }
    for (src, dst, text) in [
        (a4, b4, &b"hello over v4"[..]),
        (a6, b6, &b"hello over v6"[..]),
    ] {
        let found = seen.iter().any(|s| {
            s.header.src == src
                && s.header.dst == dst
                && s.header.protocol == ip_proto::UDP
                && s.header.dport() == 9999
                && s.payload == text
        });
        if !found {
            missing.push(format!("udp {src} -> {dst}:9999"));
        }
    }
    let syn = seen.iter().any(|s| {
        s.header.src == a4
            && s.header.dst == b4
            && s.header
                .tcp()
                .is_some_and(|t| t.dport == 9998 && t.flags.exactly(TcpFlags::SYN))
    });
    if !syn {
        missing.push("tcp SYN to 9998".into());
    }
    let rst = seen.iter().any(|s| {
        s.header.src == b4
            && s.header.dst == a4
            && s.header
                .tcp()
                .is_some_and(|t| t.sport == 9998 && t.flags.has(TcpFlags::RST))
    });
    if !rst {
        missing.push("tcp RST from 9998".into());
    }
    missing
}

fn has_root_and_ip() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    root && Command::new("ip")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

type CaptureResult = Result<(SourceStats, LiveStats, Vec<InputError>), String>;

/// Opens the capture in namespace B on a thread of its own, runs it, and
/// hands back the stop flag once the capture is open.
fn spawn_capture(
    pair: &NetnsPair,
    opts: LiveOptions,
    seen: &Arc<Mutex<Vec<Seen>>>,
) -> (Arc<AtomicBool>, thread::JoinHandle<CaptureResult>) {
    let (ready_tx, ready_rx) = mpsc::channel::<Result<Arc<AtomicBool>, String>>();
    let (pair, sink_seen) = (pair.clone(), Arc::clone(seen));
    let handle = thread::spawn(move || -> CaptureResult {
        let setup = || -> Result<LiveCapture<EtherDecoder>, String> {
            enter_netns(&pair.b)?;
            // The capture opens in this thread's namespace: A's end is not here.
            match LiveCapture::open(&pair.veth_a, LiveOptions::default(), EtherDecoder) {
                Err(LiveError::NoSuchInterface { interface }) if interface == pair.veth_a => {}
                other => {
                    return Err(format!(
                        "opening {} in namespace B: {:?}",
                        pair.veth_a,
                        other.err()
                    ));
                }
            }
            let bad = LiveOptions {
                filter: Some("tcp port".into()),
                ..LiveOptions::default()
            };
            match LiveCapture::open(&pair.veth_b, bad, EtherDecoder) {
                Err(e @ LiveError::Filter { .. }) if e.to_string().contains("`tcp port`") => {}
                other => return Err(format!("bad filter: {:?}", other.err())),
            }
            LiveCapture::open(&pair.veth_b, opts, EtherDecoder).map_err(|e| e.to_string())
        };
        let mut cap = match setup() {
            Ok(cap) => cap,
            Err(e) => {
                let _ = ready_tx.send(Err(e.clone()));
                return Err(e);
            }
        };
        if cap.linktype() != 1 {
            return Err(format!("veth link type {} is not Ethernet", cap.linktype()));
        }
        let _ = ready_tx.send(Ok(cap.stop_handle()));
        let mut sink = Collect {
            seen: sink_seen,
            errors: Vec::new(),
        };
        let stats = cap.run(&mut sink);
        Ok((stats, cap.live_stats(), sink.errors))
    });
    let stop = ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("capture thread answers")
        .expect("capture opens");
    (stop, handle)
}

fn send_from_a(pair: &NetnsPair, echo_id: u16) -> Result<(), String> {
    let pair = pair.clone();
    thread::spawn(move || send_traffic(&pair, echo_id))
        .join()
        .expect("sender thread")
}

/// Captures the test traffic with the given delivery mode and checks what was decoded.
fn capture_scenario(pair: &NetnsPair, immediate: bool, echo_id: u16) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let opts = LiveOptions {
        filter: Some("icmp or udp port 9999 or tcp port 9998".into()),
        timeout_ms: 100,
        immediate,
        ..LiveOptions::default()
    };
    let (stop, capture) = spawn_capture(pair, opts, &seen);
    let sent = send_from_a(pair, echo_id);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut missing = Vec::new();
    while Instant::now() < deadline {
        missing = missing_expectations(
            pair,
            &seen.lock().unwrap_or_else(|e| e.into_inner()),
            echo_id,
        );
        if missing.is_empty() {
            break;
        }
        thread::sleep(Duration::from_millis(50));
    }
    let stopped_at = Instant::now();
    stop.store(true, Ordering::Relaxed);
    let (stats, kernel, errors) = capture
        .join()
        .expect("capture thread")
        .expect("capture runs");
    // A silent interface must not keep the loop from seeing the stop flag.
    assert!(
        stopped_at.elapsed() < Duration::from_secs(3),
        "stop took {:?}",
        stopped_at.elapsed()
    );
    sent.expect("traffic sent from namespace A");
    assert!(
        missing.is_empty(),
        "immediate={immediate}: not captured: {missing:?}"
    );

    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(stats.error_count(), 0);
    assert_eq!(stats.records, seen.len() as u64);
    assert_eq!(stats.units, stats.records + stats.skipped);
    assert!(kernel.received >= stats.units, "{kernel:?} vs {stats:?}");
    assert_eq!(kernel.dropped, 0);
    // The kernel filter let through only what it names.
    for s in &seen {
        let h = &s.header;
        let ok = h.protocol == ip_proto::ICMP
            || (h.protocol == ip_proto::UDP && (h.sport() == 9999 || h.dport() == 9999))
            || (h.protocol == ip_proto::TCP && (h.sport() == 9998 || h.dport() == 9998));
        assert!(ok, "filter let through {h:?}");
        assert!(s.ts.secs() > 1_600_000_000, "capture time {:?}", s.ts);
    }
}

#[test]
fn captures_and_decodes_traffic_between_namespaces() {
    if !has_root_and_ip() {
        eprintln!("skipped: needs root and iproute2");
        return;
    }
    let guard = NetnsPair::create().expect("create test namespaces");
    let pair = &guard.0;
    let base = (std::process::id() & 0x7fff) as u16;
    capture_scenario(pair, true, base);
    capture_scenario(pair, false, base + 1);

    // max_packets ends the run by itself.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let opts = LiveOptions {
        filter: Some("icmp".into()),
        max_packets: Some(3),
        ..LiveOptions::default()
    };
    let (_stop, capture) = spawn_capture(pair, opts, &seen);
    send_from_a(pair, base + 2).expect("traffic sent from namespace A");
    let (stats, _, _) = capture
        .join()
        .expect("capture thread")
        .expect("capture runs");
    assert_eq!(stats.units, 3);
    assert_eq!(seen.lock().unwrap_or_else(|e| e.into_inner()).len(), 3);
}

#[test]
fn missing_interface_error_names_it() {
    let err = LiveCapture::open("tl-nosuch9", LiveOptions::default(), EtherDecoder)
        .err()
        .expect("no such interface");
    assert!(matches!(err, LiveError::NoSuchInterface { .. }), "{err:?}");
    assert!(err.to_string().contains("`tl-nosuch9`"), "{err}");
}

#[test]
fn bad_filter_expression_is_an_error() {
    let err = tripline_ingest::live::compile_filter("udp port 99999", 1)
        .err()
        .expect("port out of range");
    assert!(err.contains("`udp port 99999`"), "{err}");
    let ok = tripline_ingest::live::compile_filter("icmp or udp port 9999 or tcp port 9998", 1);
    assert!(ok.is_ok(), "{:?}", ok.err());
}
