//! What a notification says about the source: its stored profile (first
//! and last seen, scan types, OS guess, DNS names, logins) as text for
//! people and as JSON for machines. Names and labels come from the network:
//! each is one line and bounded.

use super::text::{MAX_FIELD_CHARS, one_line, push_one_line};
use serde_json::{Value, json};
use std::fmt::Write as _;
use tripline_store::SourceProfile;

/// The profile as the `profile` object of a notification's JSON.
pub fn profile_json(p: &SourceProfile) -> Value {
    json!({
        "addr": p.addr,
        "first_seen": p.first_seen.to_string(),
        "last_seen": p.last_seen.to_string(),
        "max_danger_level": p.max_danger_level,
        "scan_types": p.scan_types.iter().map(|s| one_line(&s.scan_type, 20)).collect::<Vec<_>>(),
        "connections": p.connections,
        "ports_touched": p.ports_touched,
        "hosts_touched": p.hosts_touched,
        "dns_names": p.dns_names.iter().map(|n| one_line(n, MAX_FIELD_CHARS)).collect::<Vec<_>>(),
        "os_guesses": p.os_guesses.iter().map(|o| one_line(&o.os, 80)).collect::<Vec<_>>(),
        "alerts": p.alerts,
        "auth_failures": p.auth.failures,
        "auth_successes": p.auth.successes,
    })
}

/// The profile as indented lines of a notification body.
pub fn profile_text(b: &mut String, p: &SourceProfile) {
    let _ = writeln!(
        b,
        "  first seen {}, last seen {}",
        p.first_seen, p.last_seen
    );
    if p.max_danger_level > 0 {
        let _ = writeln!(b, "  highest danger level {}", p.max_danger_level);
    }
    if !p.scan_types.is_empty() {
        b.push_str("  scan types:");
        for s in &p.scan_types {
            b.push(' ');
            push_one_line(b, &s.scan_type, 20);
        }
        b.push('\n');
    }
    let _ = writeln!(
        b,
        "  {} connections to {} hosts on {} ports; {} alerts",
        p.connections, p.hosts_touched, p.ports_touched, p.alerts
    );
    match p.os_guesses.first() {
        Some(os) => {
            b.push_str("  OS guess: ");
            push_one_line(b, &os.os, 80);
            b.push('\n');
        }
        None => b.push_str("  OS guess: none\n"),
    }
    if p.dns_names.is_empty() {
        b.push_str("  DNS names: none seen\n");
    } else {
        b.push_str("  DNS names:");
        for name in &p.dns_names {
            b.push(' ');
            push_one_line(b, name, MAX_FIELD_CHARS);
        }
        b.push('\n');
    }
    if p.auth.failures + p.auth.successes > 0 {
        let _ = writeln!(
            b,
            "  logins: {} failed, {} accepted",
            p.auth.failures, p.auth.successes
        );
    }
}
