//! Reassembly and the application parsers over real captures, compared
//! with tshark:
//! * `../shared/data/mixed/capture_ext.pcap`: every HTTP request (client,
//!   port, method, Host, URI) and response (client, port, status,
//!   Content-Length) must be the ones tshark lists
//!   (tests/data/capture_ext_http_*.tsv, re-checked against a live tshark
//!   when one is installed); the capture holds no TLS, as tshark agrees;
//! * tests/data/tls_hellos.pcap (OpenSSL and curl on loopback): the SNIs
//!   tshark reads.

use std::collections::HashMap;
use std::net::IpAddr;
use tripline_core::{InputError, Record, TcpFlags};
use tripline_detect::reassembly::{
    AppEvent, AppLayer, AppStats, Direction, Reassembler, ReassemblyConfig, ReassemblyStats,
    Segment,
};
use tripline_ingest::RecordSink;
use tripline_ingest::app::http::HttpLimits;
use tripline_ingest::logs::LogOptions;
use tripline_ingest::open::open_input;

type Key = (IpAddr, u16, IpAddr, u16);

fn shared(rel: &str) -> String {
    format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn local(rel: &str) -> String {
    format!("{}/tests/data/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Feeds every TCP packet through the reassembler and the parsers and
/// writes down what they found, in tshark's column layout.
struct Driver {
    reassembler: Reassembler<Key>,
    app: AppLayer,
    /// Per canonical key: true when the lower endpoint is the client.
    client_is_lo: HashMap<Key, bool>,
    requests: Vec<String>,
    responses: Vec<String>,
    snis: Vec<String>,
    errors: Vec<String>,
    input_errors: u64,
}

fn ip_columns(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(a) => format!("{a}\t"),
        IpAddr::V6(a) => format!("\t{a}"),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Driver {
    fn new() -> Self {
        Driver {
            reassembler: Reassembler::new(ReassemblyConfig::default()),
            app: AppLayer::new(HttpLimits::default()),
            client_is_lo: HashMap::new(),
            requests: Vec::new(),
            responses: Vec::new(),
            snis: Vec::new(),
            errors: Vec::new(),
            input_errors: 0,
        }
    }

    fn run(path: &str) -> Driver {
        let mut d = Driver::new();
        let mut src = open_input(path, &LogOptions::default()).unwrap();
        src.run(&mut d);
        d
    }
}

impl RecordSink for Driver {
    fn record(&mut self, rec: &Record<'_>) {
        let Record::Packet(p) = rec else { return };
        let Some(tcp) = p.header.tcp() else { return };
        let Some(seq) = tcp.seq else { return };
        let a = (p.header.src, tcp.sport);
        let b = (p.header.dst, tcp.dport);
        let (lo, hi, src_is_lo) = if a <= b { (a, b, true) } else { (b, a, false) };
        let key = (lo.0, lo.1, hi.0, hi.1);
        let f = tcp.flags;
        let syn_client = if f.has(TcpFlags::SYN) && !f.has(TcpFlags::ACK) {
            Some(src_is_lo)
        } else if f.has(TcpFlags::SYN | TcpFlags::ACK) {
            Some(!src_is_lo)
        } else {
            None
        };
        let client_is_lo = match syn_client {
            Some(c) => *self.client_is_lo.entry(key).insert_entry(c).get(),
            // Mid-stream: the side with the higher port is the client.
            None => *self
                .client_is_lo
                .entry(key)
                .or_insert((tcp.sport > tcp.dport) == src_is_lo),
        };
        let direction = if src_is_lo == client_is_lo {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let (client, cport) = if client_is_lo { lo } else { hi };
        let seg = Segment {
            direction,
            seq,
            ack: tcp.ack,
            flags: f,
            payload: p.payload,
            ts: p.ts,
        };
        let chunk = self.reassembler.segment(&key, &seg);
        let closed = chunk.closed;
        if chunk.is_empty() && !closed {
            return;
        }
        let Some(stream) = self.reassembler.stream_mut(&key) else {
            return;
        };
        let (requests, responses, snis, errors) = (
            &mut self.requests,
            &mut self.responses,
            &mut self.snis,
            &mut self.errors,
        );
        self.app.parse(stream, direction, &mut |ev| match ev {
            AppEvent::HttpRequest(r) => requests.push(format!(
                "{}\t{cport}\t{}\t{}\t{}",
                ip_columns(client),
                text(r.method),
                text(r.host_raw.unwrap_or_default()),
                text(r.uri_raw)
            )),
            AppEvent::HttpResponse(r) => {
                let len = r
                    .head
                    .header
                    .split(|&b| b == b'\n')
                    .find_map(|l| {
                        let l = text(l);
                        let (n, v) = l.split_once(": ")?;
                        n.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                responses.push(format!(
                    "{}\t{cport}\t{}\t{len}",
                    ip_columns(client),
                    text(r.stat_code)
                ))
            }
            AppEvent::TlsClientHello(h) => snis.push(text(h.sni.unwrap_or(b"-"))),
            AppEvent::Error { error, .. } => errors.push(format!("{key:?}: {error:?}")),
        });
        if stream.is_closed() {
            self.reassembler.remove(&key);
            self.client_is_lo.remove(&key);
        }
    }

    fn error(&mut self, _e: InputError) {
        self.input_errors += 1;
    }
}

/// The data lines of a tshark fixture, sorted.
fn fixture(name: &str) -> Vec<String> {
    let body = std::fs::read_to_string(local(name)).unwrap();
    let mut lines: Vec<String> = body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// tshark's fields for `filter`, sorted, when tshark is installed.
fn live_tshark(path: &str, filter: &str, fields: &[&str]) -> Option<Vec<String>> {
    let mut cmd = std::process::Command::new("tshark");
    cmd.args(["-r", path, "-Y", filter, "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    Some(lines)
}

fn report(r: &ReassemblyStats, a: &AppStats) {
    eprintln!("reassembly: {r:?}");
    eprintln!("app layer: {a:?}");
}

#[test]
fn capture_ext_http_matches_tshark() {
    let path = shared("mixed/capture_ext.pcap");
    let mut d = Driver::run(&path);
    report(d.reassembler.stats(), d.app.stats());
    assert_eq!(d.input_errors, 0);
    assert!(d.errors.is_empty(), "{:?}", d.errors);

    let want_req = fixture("capture_ext_http_requests.tsv");
    let want_resp = fixture("capture_ext_http_responses.tsv");
    if let Some(live) = live_tshark(
        &path,
        "http.request",
        &[
            "ip.src",
            "ipv6.src",
            "tcp.srcport",
            "http.request.method",
            "http.host",
            "http.request.uri",
        ],
    ) {
        assert_eq!(live, want_req, "fixture out of date with tshark");
    }
    d.requests.sort();
    d.responses.sort();
    assert_eq!(want_req.len(), 172);
    assert_eq!(d.requests, want_req);
    assert_eq!(d.responses, want_resp);

    let st = d.reassembler.stats();
    assert_eq!(st.overlap_mismatches, 0);
    // The 2, 4 and 8 MiB downloads run past the 1 MiB depth.
    assert!(st.depth_reached > 0 && st.depth_dropped_bytes > 0);
    assert_eq!(d.app.stats().tls_client_hellos, 0);
    assert!(d.snis.is_empty());
}

#[test]
fn tls_hellos_sni_matches_tshark() {
    let path = local("tls_hellos.pcap");
    let mut d = Driver::run(&path);
    report(d.reassembler.stats(), d.app.stats());
    d.snis.sort();
    assert_eq!(d.snis, ["-", "files.example.net", "www.example.com"]);
    if let Some(live) = live_tshark(
        &path,
        "tls.handshake.type == 1",
        &["tls.handshake.extensions_server_name"],
    ) {
        let live: Vec<String> = live
            .into_iter()
            .map(|s| if s.is_empty() { "-".into() } else { s })
            .collect();
        assert_eq!(live, d.snis);
    }
    assert!(d.errors.is_empty(), "{:?}", d.errors);
}
