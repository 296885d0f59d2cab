//! `tripline profile ADDR`: everything the store knows about one source —
//! first and last seen, how its scan danger level grew, scan types, ports
//! and hosts it touched, DNS names and OS guess, alerts and logins.
//! Exits with status 1 when the address never was a source.

use super::status::{
    alert_json, escape_text, open_existing, port_json, port_label, write_alert_line,
};
use crate::cli::ProfileArgs;
use anyhow::Result;
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use tripline_store::SourceProfile;

/// Runs `tripline profile`.
pub fn run(explicit_cfg: Option<&Path>, args: ProfileArgs) -> Result<ExitCode> {
    let store = open_existing(explicit_cfg, args.db)?;
    let Some(p) = store.profile(args.addr, args.limit)? else {
        eprintln!(
            "tripline: no such source: {} never appears as a source in {} \
             (no connection, alert or auth event from it)",
            args.addr,
            store.path().display()
        );
        return Ok(ExitCode::from(1));
    };
    let mut w = BufWriter::new(std::io::stdout().lock());
    if args.json {
        serde_json::to_writer_pretty(&mut w, &profile_json(&p))?;
        writeln!(w)?;
    } else {
        write_text(&mut w, &p)?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn profile_json(p: &SourceProfile) -> Value {
    json!({
        "addr": p.addr.to_string(),
        "first_seen": p.first_seen.to_string(),
        "last_seen": p.last_seen.to_string(),
        "first_seen_ns": p.first_seen.0,
        "last_seen_ns": p.last_seen.0,
        "max_danger_level": p.max_danger_level,
        "danger_history": p.danger_history.iter().map(|d| json!({
            "ts": d.ts.to_string(),
            "level": d.level,
        })).collect::<Vec<_>>(),
        "danger_steps_dropped": p.danger_steps_dropped,
        "scan_types": p.scan_types.iter().map(|t| json!({
            "type": t.scan_type,
            "alerts": t.alerts,
        })).collect::<Vec<_>>(),
        "connections": p.connections,
        "ports_touched": p.ports_touched,
        "top_ports": p.top_ports.iter().map(|x| port_json(x, "hosts")).collect::<Vec<_>>(),
        "hosts_touched": p.hosts_touched,
        "top_hosts": p.top_hosts.iter().map(|h| json!({
            "addr": h.addr.to_string(),
            "connections": h.connections,
        })).collect::<Vec<_>>(),
        "dns_names": p.dns_names,
        "os_guesses": p.os_guesses.iter().map(|o| json!({
            "os": o.os,
            "alerts": o.alerts,
            "last_seen": o.last_seen.to_string(),
        })).collect::<Vec<_>>(),
        "alerts": p.alerts,
        "alerts_by_detector": p.alerts_by_detector.iter().map(|d| json!({
            "detector": d.detector,
            "alerts": d.alerts,
        })).collect::<Vec<_>>(),
        "recent_alerts": p.recent_alerts.iter().map(alert_json).collect::<Vec<_>>(),
        "auth": {
            "failures": p.auth.failures,
            "successes": p.auth.successes,
            "invalid_users": p.auth.invalid_users,
            "by_event": p.auth.by_event.iter().map(|(e, n)| json!({"event": e, "count": n})).collect::<Vec<_>>(),
            "users": p.auth.users.iter().map(|u| json!({
                "user": u.user,
                "failures": u.failures,
                "successes": u.successes,
            })).collect::<Vec<_>>(),
        },
    })
}

fn write_text(w: &mut impl Write, p: &SourceProfile) -> std::io::Result<()> {
    writeln!(w, "[+] Source {}", p.addr)?;
    writeln!(w, "  first seen:   {}", p.first_seen)?;
    writeln!(w, "  last seen:    {}", p.last_seen)?;
    writeln!(w, "  danger level: {}", p.max_danger_level)?;
    if !p.dns_names.is_empty() {
        let names: Vec<_> = p.dns_names.iter().map(|n| escape_text(n)).collect();
        writeln!(w, "  DNS names:    {}", names.join(", "))?;
    }
    for o in &p.os_guesses {
        writeln!(
            w,
            "  OS guess:     {} ({} alerts, last {})",
            escape_text(&o.os),
            o.alerts,
            o.last_seen
        )?;
    }
    if !p.danger_history.is_empty() {
        writeln!(w, "\n[+] Danger level history:")?;
        for d in &p.danger_history {
            writeln!(w, "  {}  DL {}", d.ts, d.level)?;
        }
        if p.danger_steps_dropped > 0 {
            writeln!(w, "  ... {} more steps", p.danger_steps_dropped)?;
        }
    }
    if !p.scan_types.is_empty() {
        let types: Vec<String> = p
            .scan_types
            .iter()
            .map(|t| format!("{} ({})", escape_text(&t.scan_type), t.alerts))
            .collect();
        writeln!(w, "\n[+] Scan types: {}", types.join(", "))?;
    }
    writeln!(
        w,
        "\n[+] Touched: {} connections, {} ports, {} hosts",
        p.connections, p.ports_touched, p.hosts_touched
    )?;
    for x in &p.top_ports {
        writeln!(
            w,
            "  {:<12} {:>8} connections  {:>5} hosts",
            port_label(x.protocol, x.port),
            x.connections,
            x.addresses
        )?;
    }
    for h in &p.top_hosts {
        writeln!(
            w,
            "  {:<39} {:>8} connections",
            h.addr.to_string(),
            h.connections
        )?;
    }
    writeln!(w, "\n[+] Alerts: {}", p.alerts)?;
    for d in &p.alerts_by_detector {
        writeln!(w, "  {:<16} {:>8}", escape_text(&d.detector), d.alerts)?;
    }
    for a in &p.recent_alerts {
        write_alert_line(w, a)?;
    }
    let a = &p.auth;
    if !a.by_event.is_empty() {
        writeln!(
            w,
            "\n[+] Logins: {} failed, {} accepted, {} invalid users",
            a.failures, a.successes, a.invalid_users
        )?;
        for u in &a.users {
            writeln!(
                w,
                "  {:<24} {:>6} failed {:>4} accepted",
                escape_text(&u.user),
                u.failures,
                u.successes
            )?;
        }
    }
    Ok(())
}
