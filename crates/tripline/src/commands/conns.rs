//! `tripline conns INPUT...`: every connection across the home boundary with
//! the DNS name that preceded it, in time order; by default only what the
//! allow list does not allow (`--all` for everything), or aggregated by
//! destination (`--group`).
//!
//! One line per connection: start time, our address, `->` (we called them)
//! or `<-` (they called us), their address, protocol and port (theirs when
//! we called, ours when they called; ICMP: the type), the DNS name or
//! `direct`, the connection state and flags (`new` first time seen in this
//! run, `blocked`, `allowed`, `other-client` when the name came from another
//! device's lookup). Counts follow (on stderr for CSV and JSON).
//!
//! Also here: loading and saving connwatch's "seen" memory in the store for
//! `analyze` ([`load_seen`], [`save_seen`]).

use crate::cli::{ConnsArgs, ConnsFormat};
use crate::commands::analyze::apply_input_args;
use crate::config::Config;
use crate::interrupt;
use crate::pipeline::{self, Outputs, Run};
use crate::progress::Progress;
use anyhow::{Result, bail};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, Write};
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use tripline_core::{ConnState, Connection, Direction, Timestamp, ip_proto};
use tripline_detect::dns_cache::NameScope;
use tripline_detect::seen::Peer;
use tripline_detect::{ConnVerdict, Engine, SeenEntry, SeenKey, SeenKind};
use tripline_ingest::open::{expand_inputs, open_input};
use tripline_store::{SeenRow, Store};

/// One listed connection.
struct Row {
    start: Timestamp,
    ours: IpAddr,
    outbound: bool,
    theirs: IpAddr,
    protocol: u8,
    port: u16,
    name: Option<String>,
    other_client: bool,
    state: ConnState,
    new: bool,
    blocked: bool,
    allowed: bool,
    packets: u64,
    bytes: u64,
}

impl Row {
    fn destination(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.theirs.to_string())
    }

    fn proto(&self) -> &'static str {
        ip_proto::name(self.protocol).unwrap_or("ip")
    }

    fn flags(&self) -> String {
        let mut f = Vec::new();
        if self.new {
            f.push("new");
        }
        if self.blocked {
            f.push("blocked");
        }
        if self.allowed {
            f.push("allowed");
        }
        if self.other_client {
            f.push("other-client");
        }
        f.join(",")
    }
}

/// Totals over everything judged.
#[derive(Default)]
struct Counts {
    judged: u64,
    listed: u64,
    outbound: u64,
    inbound: u64,
    allowed: u64,
    named: u64,
    direct: u64,
    blocked: u64,
}

#[derive(Default)]
struct ConnsOutputs {
    all: bool,
    rows: Vec<Row>,
    counts: Counts,
}

impl Outputs for ConnsOutputs {
    fn connection(&mut self, _c: &Connection) {}

    fn connection_verdict(&mut self, c: &Connection, v: &ConnVerdict<'_>) {
        let outbound = v.direction == Direction::Outbound;
        let n = &mut self.counts;
        n.judged += 1;
        if v.allowed_by.is_some() && !v.blocked {
            n.allowed += 1;
        }
        if v.names.is_direct() {
            n.direct += 1;
        } else {
            n.named += 1;
        }
        if v.blocked {
            n.blocked += 1;
        }
        if !self.all && !v.reported() {
            return;
        }
        n.listed += 1;
        if outbound {
            n.outbound += 1;
        } else {
            n.inbound += 1;
        }
        self.rows.push(Row {
            start: c.start,
            ours: v.ours,
            outbound,
            theirs: v.theirs,
            protocol: c.protocol,
            port: if outbound { v.their_port } else { v.our_port },
            name: v.names.name().map(str::to_string),
            other_client: v
                .names
                .best()
                .is_some_and(|m| m.scope == NameScope::OtherClient),
            state: c.state,
            new: v.first_seen,
            blocked: v.blocked,
            allowed: v.allowed_by.is_some(),
            packets: c.orig_packets + c.resp_packets,
            bytes: c.orig_bytes + c.resp_bytes,
        });
    }
}

/// One `--group` line.
struct Group {
    first: Timestamp,
    last: Timestamp,
    connections: u64,
    packets: u64,
    bytes: u64,
    devices: BTreeSet<IpAddr>,
    ports: BTreeSet<(&'static str, u16)>,
    blocked: bool,
}

/// Runs `tripline conns`.
pub fn run(explicit_cfg: Option<&Path>, args: ConnsArgs) -> Result<ExitCode> {
    let (mut cfg, _) = Config::load(explicit_cfg)?;
    apply_input_args(&mut cfg, &args.input)?;
    cfg.connwatch.enabled = true;
    let log_opts = pipeline::log_options(&cfg)?;
    let inputs = expand_inputs(&args.input.inputs).map_err(anyhow::Error::new)?;
    if inputs.is_empty() {
        bail!("nothing to list: give capture or log files (DNS logs first), directories or `-`");
    }
    interrupt::install();
    let mut run = Run::new(pipeline::engine_config(&cfg), Progress::new(0, true));
    run.stop_on(interrupt::flag());
    let mut out = ConnsOutputs {
        all: args.all,
        ..Default::default()
    };
    let mut damaged = 0u64;
    for path in &inputs {
        if interrupt::requested() {
            break;
        }
        match open_input(path, &log_opts) {
            Ok(mut source) => damaged += run.feed(source.as_mut(), &mut out)?.stats.error_count(),
            Err(e) => {
                eprintln!("tripline: {e}");
                damaged += 1;
            }
        }
    }
    run.finish(&mut out)?;
    // Flows are emitted when they end: sort by start (stable, so records
    // with the same start keep their input order).
    out.rows.sort_by_key(|r| r.start);
    let mut w = BufWriter::new(std::io::stdout().lock());
    if args.group {
        write_groups(&mut w, &out.rows, args.format)?;
    } else {
        write_rows(&mut w, &out.rows, args.format)?;
    }
    let c = &out.counts;
    let summary = format!(
        "{} connections listed ({} outbound, {} inbound) of {} across the home boundary; \
         {} allowed, {} named, {} direct, {} blocked",
        c.listed, c.outbound, c.inbound, c.judged, c.allowed, c.named, c.direct, c.blocked
    );
    if args.format == ConnsFormat::Text {
        writeln!(w, "\n{summary}")?;
    } else {
        eprintln!("tripline: {summary}");
    }
    w.flush()?;
    if damaged > 0 {
        eprintln!("tripline: {damaged} damaged records or unreadable inputs (see messages above)");
    }
    Ok(ExitCode::SUCCESS)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn write_rows(w: &mut impl Write, rows: &[Row], format: ConnsFormat) -> Result<()> {
    if format == ConnsFormat::Csv {
        writeln!(
            w,
            "ts,ours,direction,theirs,proto,port,name,state,flags,packets,bytes"
        )?;
    }
    for r in rows {
        let name = r.name.as_deref().unwrap_or("direct");
        match format {
            ConnsFormat::Text => writeln!(
                w,
                "{}  {:<15} {} {:<15} {:<9} {:<28} {} {}",
                r.start,
                r.ours.to_string(),
                if r.outbound { "->" } else { "<-" },
                r.theirs.to_string(),
                format!("{}/{}", r.proto(), r.port),
                name.escape_debug().to_string(),
                r.state,
                r.flags()
            )?,
            ConnsFormat::Csv => writeln!(
                w,
                "{},{},{},{},{},{},{},{},{},{},{}",
                r.start,
                r.ours,
                if r.outbound { "out" } else { "in" },
                r.theirs,
                r.proto(),
                r.port,
                csv_field(name),
                r.state,
                r.flags(),
                r.packets,
                r.bytes
            )?,
            ConnsFormat::Json => writeln!(
                w,
                "{}",
                json!({
                    "ts": r.start.to_string(),
                    "ours": r.ours.to_string(),
                    "direction": if r.outbound { "out" } else { "in" },
                    "theirs": r.theirs.to_string(),
                    "proto": r.proto(),
                    "port": r.port,
                    "name": r.name,
                    "state": r.state.as_str(),
                    "new": r.new,
                    "blocked": r.blocked,
                    "allowed": r.allowed,
                    "other_client": r.other_client,
                    "packets": r.packets,
                    "bytes": r.bytes,
                })
            )?,
        }
    }
    Ok(())
}

fn write_groups(w: &mut impl Write, rows: &[Row], format: ConnsFormat) -> Result<()> {
    let mut groups: BTreeMap<(String, bool), Group> = BTreeMap::new();
    for r in rows {
        let g = groups
            .entry((r.destination(), r.outbound))
            .or_insert_with(|| Group {
                first: r.start,
                last: r.start,
                connections: 0,
                packets: 0,
                bytes: 0,
                devices: BTreeSet::new(),
                ports: BTreeSet::new(),
                blocked: false,
            });
        g.first = g.first.min(r.start);
        g.last = g.last.max(r.start);
        g.connections += 1;
        g.packets += r.packets;
        g.bytes += r.bytes;
        g.devices.insert(r.ours);
        g.ports.insert((r.proto(), r.port));
        g.blocked |= r.blocked;
    }
    let mut list: Vec<_> = groups.into_iter().collect();
    // Most connections first, then by name.
    list.sort_by(|a, b| b.1.connections.cmp(&a.1.connections).then(a.0.cmp(&b.0)));
    if format == ConnsFormat::Csv {
        writeln!(
            w,
            "destination,direction,first,last,connections,devices,ports,packets,bytes,blocked"
        )?;
    }
    for ((dest, outbound), g) in &list {
        let ports: Vec<String> = g.ports.iter().map(|(p, n)| format!("{p}/{n}")).collect();
        let dir = if *outbound { "out" } else { "in" };
        match format {
            ConnsFormat::Text => writeln!(
                w,
                "{:<32} {:<3} {}  {}  {:>6} conns {:>3} devices  {:>12} bytes  {}{}",
                dest.escape_debug().to_string(),
                dir,
                g.first,
                g.last,
                g.connections,
                g.devices.len(),
                g.bytes,
                ports.join(" "),
                if g.blocked { "  blocked" } else { "" }
            )?,
            ConnsFormat::Csv => writeln!(
                w,
                "{},{dir},{},{},{},{},{},{},{},{}",
                csv_field(dest),
                g.first,
                g.last,
                g.connections,
                g.devices.len(),
                csv_field(&ports.join(" ")),
                g.packets,
                g.bytes,
                g.blocked
            )?,
            ConnsFormat::Json => writeln!(
                w,
                "{}",
                json!({
                    "destination": dest,
                    "direction": dir,
                    "first": g.first.to_string(),
                    "last": g.last.to_string(),
                    "connections": g.connections,
                    "devices": g.devices.iter().map(|d| d.to_string()).collect::<Vec<_>>(),
                    "ports": ports,
                    "packets": g.packets,
                    "bytes": g.bytes,
                    "blocked": g.blocked,
                })
            )?,
        }
    }
    Ok(())
}

/// Loads connwatch's "seen" memory from the store into the engine (rows
/// that do not decode are skipped and counted). Returns (loaded, skipped).
pub fn load_seen(engine: &mut Engine, store: &Store) -> Result<(usize, usize)> {
    let Some(cw) = engine.connwatch_mut() else {
        return Ok((0, 0));
    };
    let rows = store.load_seen(cw.config().max_seen)?;
    let total = rows.len();
    let entries: Vec<SeenEntry> = rows
        .into_iter()
        .filter_map(|r| {
            Some(SeenEntry {
                key: SeenKey {
                    device: r.device.parse().ok()?,
                    kind: SeenKind::parse(&r.kind)?,
                    peer: Peer::parse(&r.peer),
                    port: r.port,
                    protocol: r.protocol,
                },
                first_seen: r.first_seen,
                last_seen: r.last_seen,
                count: r.count,
            })
        })
        .collect();
    let loaded = entries.len();
    cw.seen_mut().load(entries);
    Ok((loaded, total - loaded))
}

/// Adds this run's "seen" counts to the store. Returns the rows written.
pub fn save_seen(engine: &mut Engine, store: &mut Store) -> Result<usize> {
    let Some(cw) = engine.connwatch_mut() else {
        return Ok(0);
    };
    let rows: Vec<SeenRow> = cw
        .seen_mut()
        .changes()
        .into_iter()
        .map(|e| SeenRow {
            device: e.key.device.to_string(),
            kind: e.key.kind.as_str().to_string(),
            peer: e.key.peer.to_string(),
            port: e.key.port,
            protocol: e.key.protocol,
            first_seen: e.first_seen,
            last_seen: e.last_seen,
            count: e.count,
        })
        .collect();
    Ok(store.save_seen(&rows)?)
}
