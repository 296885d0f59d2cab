//! Trap listeners: real TCP and UDP sockets on ports nothing legitimate
//! uses, each contact a [`TripwireHit`] record.
//!
//! A TCP listener accepts, records the peer, reads at most `max_bytes` of
//! what it sends (until `read_timeout` or end of stream) and closes. A UDP
//! socket records each datagram's sender and first bytes. Nothing is ever
//! answered.
//!
//! Bounded: at most `max_connections` accepted connections are open at once
//! and at most `max_per_source` from one address; a connection over either
//! limit is accepted and closed at once (its contact is still recorded,
//! without bytes), so a flood cannot exhaust file descriptors, threads or
//! memory. The kernel's accept queue is `backlog` long. Hits travel to the
//! consumer through a bounded queue; when it is full they are dropped and
//! counted. Every refusal and drop is counted in [`TrapStats`].

use crate::{Format, RecordSink, Source, SourceStats};
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, Scope};
use std::time::{Duration, Instant};
use tripline_core::{Record, Timestamp, TripwireHit, ip_proto};

/// How often blocked threads look at the stop flag.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Stack of a connection thread (it only reads up to `max_bytes`).
const CONN_STACK: usize = 64 << 10;

/// One trap port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TrapPort {
    /// Port number (0 asks the system for a free one, for tests).
    pub port: u16,
    /// `ip_proto::TCP` or `ip_proto::UDP`.
    pub protocol: u8,
}

impl fmt::Display for TrapPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = if self.protocol == ip_proto::UDP {
            "udp"
        } else {
            "tcp"
        };
        write!(f, "{}/{p}", self.port)
    }
}

/// A port list that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad trap port {item:?}: {reason}")]
pub struct TrapPortError {
    /// The offending item.
    pub item: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Parses `23,2323/tcp,161/udp` (a bare number is TCP). Duplicates are
/// removed; order is kept.
pub fn parse_ports(spec: &str) -> Result<Vec<TrapPort>, TrapPortError> {
    let mut v: Vec<TrapPort> = Vec::new();
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let bad = |reason| TrapPortError {
            item: item.to_string(),
            reason,
        };
        let (num, protocol) = match item.split_once('/') {
            None => (item, ip_proto::TCP),
            Some((n, p)) if p.eq_ignore_ascii_case("tcp") => (n, ip_proto::TCP),
            Some((n, p)) if p.eq_ignore_ascii_case("udp") => (n, ip_proto::UDP),
            Some(_) => return Err(bad("protocol must be tcp or udp")),
        };
        let port: u16 = num.parse().map_err(|_| bad("not a port number"))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        let p = TrapPort { port, protocol };
        if !v.contains(&p) {
            v.push(p);
        }
    }
    if v.is_empty() {
        return Err(TrapPortError {
            item: spec.to_string(),
            reason: "no ports",
        });
    }
    Ok(v)
}

/// Listener settings (`tripline trap`, `[tripwire] listen`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrapConfig {
    /// Address to listen on (`0.0.0.0`, `::`, or one interface's address).
    pub bind: IpAddr,
    /// Ports to listen on.
    pub ports: Vec<TrapPort>,
    /// Most accepted TCP connections open at once, over all ports.
    pub max_connections: usize,
    /// Most accepted TCP connections open at once from one address.
    pub max_per_source: usize,
    /// Kernel accept queue length per TCP port.
    pub backlog: i32,
    /// How long to wait for a connection's first bytes.
    pub read_timeout: Duration,
    /// First bytes kept per contact.
    pub max_bytes: usize,
    /// Hits waiting for the consumer before new ones are dropped.
    pub queue: usize,
}

impl Default for TrapConfig {
    fn default() -> Self {
        TrapConfig {
            bind: IpAddr::from([0, 0, 0, 0]),
            ports: Vec::new(),
            max_connections: 64,
            max_per_source: 4,
            backlog: 64,
            read_timeout: Duration::from_secs(2),
            max_bytes: 256,
            queue: 4096,
        }
    }
}

/// Counters of the trap listeners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrapStats {
    /// TCP connections accepted (including those closed at once).
    pub accepted: u64,
    /// Closed at once: `max_connections` were open.
    pub refused_global: u64,
    /// Closed at once: `max_per_source` from that address were open.
    pub refused_per_source: u64,
    /// UDP datagrams received.
    pub datagrams: u64,
    /// Hits dropped because the queue was full.
    pub dropped: u64,
    /// Accept, read or receive errors.
    pub errors: u64,
    /// Connections open now.
    pub open: u64,
    /// Most connections open at once so far.
    pub peak_open: u64,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    refused_global: AtomicU64,
    refused_per_source: AtomicU64,
    datagrams: AtomicU64,
    dropped: AtomicU64,
    errors: AtomicU64,
    open: AtomicUsize,
    peak_open: AtomicUsize,
}

enum Socket {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// The trap listeners as a [`Source`] of [`Record::Tripwire`] records.
/// Sockets are bound by [`TrapSource::bind`]; [`Source::run`] serves them
/// until the sink asks to stop or [`TrapSource::stop_handle`] is set.
pub struct TrapSource {
    config: TrapConfig,
    sockets: Vec<(TrapPort, SocketAddr, Socket)>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    per_source: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl TrapSource {
    /// Binds every configured port; fails on the first that cannot be bound.
    pub fn bind(config: TrapConfig) -> io::Result<Self> {
        let mut sockets = Vec::with_capacity(config.ports.len());
        for &p in &config.ports {
            let addr = SocketAddr::new(config.bind, p.port);
            let (local, sock) = if p.protocol == ip_proto::UDP {
                let s = UdpSocket::bind(addr)?;
                s.set_read_timeout(Some(POLL_INTERVAL))?;
                (s.local_addr()?, Socket::Udp(s))
            } else {
                let l = listen_tcp(addr, config.backlog)?;
                l.set_nonblocking(true)?;
                (l.local_addr()?, Socket::Tcp(l))
            };
            let port = TrapPort {
                port: local.port(),
                protocol: p.protocol,
            };
            sockets.push((port, local, sock));
        }
        Ok(TrapSource {
            config,
            sockets,
            stop: Arc::new(AtomicBool::new(false)),
            counters: Arc::new(Counters::default()),
            per_source: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The bound ports and addresses (actual port numbers when 0 was asked).
    pub fn local_addrs(&self) -> Vec<(TrapPort, SocketAddr)> {
        self.sockets.iter().map(|(p, a, _)| (*p, *a)).collect()
    }

    /// Setting this flag makes [`Source::run`] return soon.
    pub fn stop_handle(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Counters so far.
    pub fn stats(&self) -> TrapStats {
        let c = &self.counters;
        TrapStats {
            accepted: c.accepted.load(Ordering::Relaxed),
            refused_global: c.refused_global.load(Ordering::Relaxed),
            refused_per_source: c.refused_per_source.load(Ordering::Relaxed),
            datagrams: c.datagrams.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            errors: c.errors.load(Ordering::Relaxed),
            open: c.open.load(Ordering::Relaxed) as u64,
            peak_open: c.peak_open.load(Ordering::Relaxed) as u64,
        }
    }
}

/// A TCP listening socket with an explicit accept queue length.
fn listen_tcp(addr: SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    let family = if addr.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh, valid descriptor owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let one: libc::c_int = 1;
    // SAFETY: valid fd, pointer and length of a c_int.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    let rc = match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_in is plain old data; all-zero is valid.
            let mut sa: libc::sockaddr_in = unsafe { std::mem::zeroed() };
            sa.sin_family = libc::AF_INET as libc::sa_family_t;
            sa.sin_port = a.port().to_be();
            sa.sin_addr.s_addr = u32::from(*a.ip()).to_be();
            // SAFETY: valid fd; pointer and length describe `sa`.
            unsafe {
                libc::bind(
                    fd,
                    (&sa as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_in6 is plain old data; all-zero is valid.
            let mut sa: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
            sa.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sa.sin6_port = a.port().to_be();
            sa.sin6_addr.s6_addr = a.ip().octets();
            sa.sin6_scope_id = a.scope_id();
            // SAFETY: valid fd; pointer and length describe `sa`.
            unsafe {
                libc::bind(
                    fd,
                    (&sa as *const libc::sockaddr_in6).cast(),
                    size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: valid, bound stream socket.
    if unsafe { libc::listen(fd, backlog.max(1)) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpListener::from(owned))
}

fn now() -> Timestamp {
    Timestamp::now()
}

/// What the serving threads share.
struct Shared<'a> {
    config: &'a TrapConfig,
    stop: &'a AtomicBool,
    counters: &'a Counters,
    per_source: &'a Mutex<HashMap<IpAddr, usize>>,
    tx: SyncSender<TripwireHit>,
}

impl Shared<'_> {
    fn send(&self, hit: TripwireHit) {
        match self.tx.try_send(hit) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Takes a connection slot for `src`; `false` (counted) when a limit is reached.
    fn admit(&self, src: IpAddr) -> bool {
        let mut per = self
            .per_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let open = self.counters.open.load(Ordering::Relaxed);
        if open >= self.config.max_connections.max(1) {
            self.counters.refused_global.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let n = per.entry(src).or_insert(0);
        if *n >= self.config.max_per_source.max(1) {
            self.counters
                .refused_per_source
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        *n += 1;
        self.counters.open.store(open + 1, Ordering::Relaxed);
        self.counters
            .peak_open
            .fetch_max(open + 1, Ordering::Relaxed);
        true
    }

    fn release(&self, src: IpAddr) {
        let mut per = self
            .per_source
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = per.get_mut(&src) {
            *n -= 1;
            if *n == 0 {
                per.remove(&src);
            }
        }
        self.counters.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts until stopped; each connection is served on its own thread
/// while a slot is free, else closed at once.
fn serve_tcp<'s>(scope: &'s Scope<'s, '_>, listener: &'s TcpListener, shared: &'s Shared<'s>) {
    let fd = listener.as_raw_fd();
    while !shared.stop.load(Ordering::Relaxed) {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; the timeout is bounded.
        let rc = unsafe { libc::poll(&mut pfd, 1, POLL_INTERVAL.as_millis() as libc::c_int) };
        if rc <= 0 {
            continue;
        }
        loop {
            match listener.accept() {
                Ok((stream, peer)) => connection(scope, stream, peer, shared),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    // EMFILE and friends: count, back off, keep serving.
                    shared.counters.errors.fetch_add(1, Ordering::Relaxed);
                    thread::sleep(POLL_INTERVAL);
                    break;
                }
            }
        }
    }
}

/// One accepted connection.
fn connection<'s>(
    scope: &'s Scope<'s, '_>,
    stream: TcpStream,
    peer: SocketAddr,
    shared: &'s Shared<'s>,
) {
    shared.counters.accepted.fetch_add(1, Ordering::Relaxed);
    let local = stream.local_addr().ok();
    let mut hit = TripwireHit {
        ts: now(),
        src: peer.ip().to_canonical(),
        sport: peer.port(),
        dst: local.map_or(shared.config.bind, |a| a.ip().to_canonical()),
        dport: local.map_or(0, |a| a.port()),
        protocol: ip_proto::TCP,
        first_bytes: Vec::new(),
    };
    let src = peer.ip();
    if !shared.admit(src) {
        drop(stream);
        shared.send(hit);
        return;
    }
    let spawned = thread::Builder::new()
        .name("trap-conn".into())
        .stack_size(CONN_STACK)
        .spawn_scoped(scope, move || {
            hit.first_bytes = first_bytes(stream, shared.config, shared.stop);
            shared.release(src);
            shared.send(hit);
        });
    if spawned.is_err() {
        // The closure (and the stream with it) is gone; free the slot.
        shared.counters.errors.fetch_add(1, Ordering::Relaxed);
        shared.release(src);
    }
}

/// Reads up to `max_bytes` until the timeout, end of stream or stop; closes.
fn first_bytes(mut stream: TcpStream, config: &TrapConfig, stop: &AtomicBool) -> Vec<u8> {
    let mut buf = vec![0u8; config.max_bytes];
    let mut got = 0;
    let deadline = Instant::now() + config.read_timeout;
    if stream.set_nonblocking(false).is_err() {
        return Vec::new();
    }
    while got < buf.len() && !stop.load(Ordering::Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero()
            || stream
                .set_read_timeout(Some(left.min(POLL_INTERVAL)))
                .is_err()
        {
            break;
        }
        match stream.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => break,
        }
    }
    buf.truncate(got);
    buf
}

/// Receives datagrams until stopped.
fn serve_udp(socket: &UdpSocket, local: SocketAddr, shared: &Shared<'_>) {
    let mut buf = vec![0u8; shared.config.max_bytes.max(1)];
    while !shared.stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((n, peer)) => {
                shared.counters.datagrams.fetch_add(1, Ordering::Relaxed);
                let n = n.min(shared.config.max_bytes);
                shared.send(TripwireHit {
                    ts: now(),
                    src: peer.ip().to_canonical(),
                    sport: peer.port(),
                    dst: local.ip().to_canonical(),
                    dport: local.port(),
                    protocol: ip_proto::UDP,
                    first_bytes: buf[..n].to_vec(),
                });
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => {
                shared.counters.errors.fetch_add(1, Ordering::Relaxed);
                thread::sleep(POLL_INTERVAL);
            }
        }
    }
}

/// Hands queued hits to the sink until stopped.
fn drain(
    rx: &Receiver<TripwireHit>,
    stop: &AtomicBool,
    sink: &mut dyn RecordSink,
    stats: &mut SourceStats,
) {
    loop {
        if sink.should_stop() {
            stop.store(true, Ordering::Relaxed);
        }
        if stop.load(Ordering::Relaxed) {
            // Deliver what is already queued, then return.
            while let Ok(hit) = rx.try_recv() {
                deliver(hit, sink, stats);
            }
            return;
        }
        match rx.recv_timeout(POLL_INTERVAL) {
            Ok(hit) => deliver(hit, sink, stats),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn deliver(hit: TripwireHit, sink: &mut dyn RecordSink, stats: &mut SourceStats) {
    stats.units += 1;
    stats.records += 1;
    stats.bytes += hit.first_bytes.len() as u64;
    sink.record(&Record::Tripwire(hit));
}

impl Source for TrapSource {
    fn path(&self) -> &str {
        "trap"
    }

    fn format(&self) -> Format {
        Format::Live
    }

    fn run(&mut self, sink: &mut dyn RecordSink) -> SourceStats {
        let mut stats = SourceStats::default();
        let (tx, rx) = mpsc::sync_channel(self.config.queue.max(1));
        let shared = Shared {
            config: &self.config,
            stop: &self.stop,
            counters: &self.counters,
            per_source: &self.per_source,
            tx,
        };
        let shared = &shared;
        let sockets = &self.sockets;
        thread::scope(|scope| {
            for (_, local, sock) in sockets {
                let local = *local;
                match sock {
                    Socket::Tcp(l) => {
                        scope.spawn(move || serve_tcp(scope, l, shared));
                    }
                    Socket::Udp(u) => {
                        scope.spawn(move || serve_udp(u, local, shared));
                    }
                }
            }
            drain(&rx, shared.stop, sink, &mut stats);
            shared.stop.store(true, Ordering::Relaxed);
        });
        // Connection threads finished after the drain: deliver their hits.
        while let Ok(hit) = rx.try_recv() {
            deliver(hit, sink, &mut stats);
        }
        stats
    }
}
