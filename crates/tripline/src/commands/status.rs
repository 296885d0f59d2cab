//! `tripline status`: psad `-S` for the store — the most dangerous
//! sources, the most contacted ports, scan types, alerts by detector and
//! signature, and the latest alerts; `--json` for scripts.
//!
//! Also here: opening the store for the read-only report commands
//! ([`open_existing`]) and escaping text that came from the network
//! ([`escape_text`]) before it reaches a terminal.

use crate::cli::StatusArgs;
use crate::config::Config;
use anyhow::{Result, bail};
use serde_json::{Value, json};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tripline_core::ip_proto;
use tripline_store::{AlertSummary, PortCount, StatusReport, Store};

/// Opens the configured store for reading reports; a missing file is an
/// error (a report command does not create an empty database).
pub fn open_existing(explicit_cfg: Option<&Path>, db: Option<PathBuf>) -> Result<Store> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let path = cfg.store_path(db.as_deref());
    if !path.is_file() {
        bail!(
            "no store at {} (run `tripline analyze` first, or give --db)",
            path.display()
        );
    }
    Ok(Store::open(&path)?)
}

/// Text from the network (DNS names, user names, messages) made safe for
/// a terminal: control characters (C0, DEL, C1) become `\xNN`, and the
/// bidirectional overrides that reorder what is shown become `\u{NNNN}`.
/// Borrows when there is nothing to escape.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    let bad = |c: char| c.is_control() || is_bidi_control(c);
    if !s.chars().any(bad) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() && (c as u32) < 0x100 {
            let _ = write!(out, "\\x{:02x}", c as u32);
        } else if bad(c) {
            let _ = write!(out, "\\u{{{:04x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `tcp/22`, `udp/53`, `proto-N/port`.
pub fn port_label(protocol: u8, port: u16) -> String {
    match ip_proto::name(protocol) {
        Some(p) => format!("{p}/{port}"),
        None => format!("proto-{protocol}/{port}"),
    }
}

/// A port count as JSON (`addresses` named by what they are).
pub fn port_json(p: &PortCount, addresses: &str) -> Value {
    let mut v = json!({
        "port": p.port,
        "proto": ip_proto::name(p.protocol).unwrap_or("other"),
        "protocol": p.protocol,
        "connections": p.connections,
    });
    v[addresses] = json!(p.addresses);
    v
}

/// An alert line as JSON.
pub fn alert_json(a: &AlertSummary) -> Value {
    json!({
        "id": a.id,
        "ts": a.ts.to_string(),
        "detector": a.detector,
        "gid": a.gid,
        "sid": a.sid,
        "severity": a.severity,
        "src": a.src.map(|x| x.to_string()),
        "dst": a.dst.map(|x| x.to_string()),
        "dport": a.dport,
        "protocol": a.protocol,
        "msg": a.msg,
    })
}

/// An alert as one text line: time, source, detector, message.
pub fn write_alert_line(w: &mut impl Write, a: &AlertSummary) -> std::io::Result<()> {
    let src = a.src.map_or_else(|| "-".to_string(), |s| s.to_string());
    writeln!(
        w,
        "  {}  {:<39} {:<10} {}",
        a.ts,
        src,
        a.detector,
        escape_text(&a.msg)
    )
}

/// Runs `tripline status`.
pub fn run(explicit_cfg: Option<&Path>, args: StatusArgs) -> Result<ExitCode> {
    let store = open_existing(explicit_cfg, args.db)?;
    let report = store.status(args.limit)?;
    let mut w = BufWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut w, &status_json(&report))?;
        writeln!(w)?;
    } else {
        write_text(&mut w, &report)?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn status_json(r: &StatusReport) -> Value {
    let c = &r.counts;
    json!({
        "counts": {
            "connections": c.connections,
            "dns": c.dns,
            "auth": c.auth,
            "alerts": c.alerts,
            "input_errors": c.input_errors,
        },
        "top_sources_by_danger": r.top_sources_by_danger.iter().map(|s| json!({
            "addr": s.addr.to_string(),
            "max_danger_level": s.max_danger_level,
            "alerts": s.alerts,
            "last_seen": s.last_seen.to_string(),
        })).collect::<Vec<_>>(),
        "top_ports": r.top_ports.iter().map(|p| port_json(p, "sources")).collect::<Vec<_>>(),
        "scan_types": r.scan_types.iter().map(|t| json!({
            "type": t.scan_type,
            "alerts": t.alerts,
            "sources": t.sources,
        })).collect::<Vec<_>>(),
        "alerts_by_detector": r.alerts_by_detector.iter().map(|d| json!({
            "detector": d.detector,
            "alerts": d.alerts,
        })).collect::<Vec<_>>(),
        "top_signatures": r.top_signatures.iter().map(|s| json!({
            "detector": s.detector,
            "gid": s.gid,
            "sid": s.sid,
            "msg": s.msg,
            "alerts": s.alerts,
            "sources": s.sources,
        })).collect::<Vec<_>>(),
        "recent_alerts": r.recent_alerts.iter().map(alert_json).collect::<Vec<_>>(),
    })
}

fn write_text(w: &mut impl Write, r: &StatusReport) -> std::io::Result<()> {
    let c = &r.counts;
    writeln!(
        w,
        "[+] store: {} connections, {} DNS records, {} auth events, {} alerts",
        c.connections, c.dns, c.auth, c.alerts
    )?;
    writeln!(w, "\n[+] Top sources by danger level:")?;
    if r.top_sources_by_danger.is_empty() {
        writeln!(w, "  (no alerts)")?;
    }
    for s in &r.top_sources_by_danger {
        writeln!(
            w,
            "  {:<39} DL: {}  alerts: {:>6}  last: {}",
            s.addr.to_string(),
            s.max_danger_level,
            s.alerts,
            s.last_seen
        )?;
    }
    writeln!(w, "\n[+] Top attacked ports:")?;
    if r.top_ports.is_empty() {
        writeln!(w, "  (no inbound connections)")?;
    }
    for p in &r.top_ports {
        writeln!(
            w,
            "  {:<12} {:>8} connections  {:>5} sources",
            port_label(p.protocol, p.port),
            p.connections,
            p.addresses
        )?;
    }
    writeln!(w, "\n[+] Scan types:")?;
    if r.scan_types.is_empty() {
        writeln!(w, "  (no scans)")?;
    }
    for t in &r.scan_types {
        writeln!(
            w,
            "  {:<16} {:>6} alerts  {:>5} sources",
            escape_text(&t.scan_type),
            t.alerts,
            t.sources
        )?;
    }
    writeln!(w, "\n[+] Alerts by detector:")?;
    if r.alerts_by_detector.is_empty() {
        writeln!(w, "  (no alerts)")?;
    }
    for d in &r.alerts_by_detector {
        writeln!(w, "  {:<16} {:>8}", escape_text(&d.detector), d.alerts)?;
    }
    writeln!(w, "\n[+] Top signatures:")?;
    for s in &r.top_signatures {
        writeln!(
            w,
            "  [{}:{}] {:>6} alerts {:>5} sources  {}",
            s.gid,
            s.sid,
            s.alerts,
            s.sources,
            escape_text(&s.msg)
        )?;
    }
    writeln!(w, "\n[+] Recent alerts:")?;
    for a in &r.recent_alerts {
        write_alert_line(w, a)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_and_bidi_characters() {
        assert!(matches!(escape_text("www.example.com"), Cow::Borrowed(_)));
        assert_eq!(escape_text("a\x1b[31mb\n"), "a\\x1b[31mb\\x0a");
        assert_eq!(escape_text("x\u{7f}\u{9b}y"), "x\\x7f\\x9by");
        assert_eq!(escape_text("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(escape_text("Zürich"), "Zürich");
    }

    #[test]
    fn labels_ports() {
        assert_eq!(port_label(6, 22), "tcp/22");
        assert_eq!(port_label(17, 53), "udp/53");
        assert_eq!(port_label(250, 1), "proto-250/1");
    }
}
