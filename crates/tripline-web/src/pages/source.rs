//! One source address: its profile (first/last seen, danger level over
//! time, scan types, ports and hosts touched, OS guess, DNS names, alerts,
//! logins) and the blocks applied to it: whether one is in force now and,
//! in the live UI with blocking on, Block (with a duration) and Unblock.

use super::{Ctx, Mode, layout, post_button, severity_cell, ts_text};
use crate::charts;
use crate::paths;
use maud::{Markup, html};
use std::net::IpAddr;
use tripline_core::Timestamp;
use tripline_store::{BlockRecord, Store, StoreError};

/// Entries in each of the profile's lists.
pub const SOURCE_LIST_LIMIT: usize = 25;

fn proto(p: u8) -> &'static str {
    match p {
        6 => "tcp",
        17 => "udp",
        1 => "icmp",
        58 => "icmp6",
        132 => "sctp",
        _ => "ip",
    }
}

/// The page of `addr`; `None` when the store never saw it as a source.
pub fn source_page(
    ctx: &Ctx<'_>,
    store: &Store,
    addr: IpAddr,
) -> Result<Option<Markup>, StoreError> {
    let Some(p) = store.profile(addr, SOURCE_LIST_LIMIT)? else {
        return Ok(None);
    };
    let text = addr.to_string();
    let blocks = store.blocks_for(&text, SOURCE_LIST_LIMIT)?;
    let in_force = store.block_state(addr, Timestamp::now())?;
    let steps: Vec<(String, u8)> = p
        .danger_history
        .iter()
        .map(|s| (ts_text(s.ts), s.level))
        .collect();
    let body = html! {
        p { a href=(ctx.link(&paths::hour_file(paths::hour_floor(p.first_seen.0), 1))) { "first seen " (ts_text(p.first_seen)) }
            " · " a href=(ctx.link(&paths::hour_file(paths::hour_floor(p.last_seen.0), 1))) { "last seen " (ts_text(p.last_seen)) } }
        table.profile {
            tr { th { "highest danger level" } td { (p.max_danger_level) } }
            tr { th { "connections originated" } td { (p.connections) } }
            tr { th { "ports touched" } td { (p.ports_touched) } }
            tr { th { "hosts touched" } td { (p.hosts_touched) } }
            tr { th { "alerts" } td { (p.alerts) @for d in &p.alerts_by_detector { " · " (d.detector) " " (d.alerts) } } }
            tr { th { "OS guess" } td { @for (i, o) in p.os_guesses.iter().enumerate() { @if i > 0 { "; " } (o.os) " (" (o.alerts) ")" } @if p.os_guesses.is_empty() { "-" } } }
            tr { th { "scan types" } td { @for (i, s) in p.scan_types.iter().enumerate() { @if i > 0 { ", " } (s.scan_type) " (" (s.alerts) ")" } @if p.scan_types.is_empty() { "-" } } }
            tr { th { "DNS names" } td.msg { @for (i, n) in p.dns_names.iter().enumerate() { @if i > 0 { ", " } (n) } @if p.dns_names.is_empty() { "-" } } }
            tr { th { "logins" } td { (p.auth.failures) " failed, " (p.auth.successes) " accepted, " (p.auth.invalid_users) " invalid users"
                @for u in &p.auth.users { " · " (u.user) " " (u.failures) "/" (u.successes) } } }
        }
        (post_button(ctx, "triage/deny", &[("target", &text)], "deny this address"))
        (block_controls(ctx, &text, in_force.as_ref()))
        @if steps.len() > 1 || p.max_danger_level > 0 {
            (charts::steps("Danger level over time", &steps, 5))
            @if p.danger_steps_dropped > 0 { p { (p.danger_steps_dropped) " later steps not shown." } }
        }
        h2 { "Ports" }
        table.ports {
            thead { tr { th { "port" } th.num { "hosts" } th.num { "connections" } } }
            tbody { @for port in &p.top_ports { tr { td { (proto(port.protocol)) "/" (port.port) } td.num { (port.addresses) } td.num { (port.connections) } } } }
        }
        h2 { "Hosts" }
        table.hosts {
            thead { tr { th { "destination" } th.num { "connections" } } }
            tbody { @for h in &p.top_hosts { tr { td { (h.addr) } td.num { (h.connections) } } } }
        }
        h2 { "Recent alerts" }
        table.alerts {
            thead { tr { th { "time" } th { "severity" } th { "detector" } th { "message" } th { "destination" } } }
            tbody {
                @for a in &p.recent_alerts {
                    tr {
                        td { a href=(ctx.link(&paths::alert_file(a.id))) { (ts_text(a.ts)) } }
                        td { (severity_cell(a.severity)) }
                        td { (a.detector) }
                        td.msg { (a.msg) }
                        td { @if let Some(d) = a.dst { (d) } @if let Some(p) = a.dport { ":" (p) } }
                    }
                }
            }
        }
        h2 { "Blocks" }
        @if blocks.is_empty() { p.empty { "Never blocked." } } @else {
            table.blocks {
                thead { tr { th { "time" } th { "action" } th { "backend" } th { "expires" } th { "by" } th { "reason" } } }
                tbody {
                    @for b in &blocks {
                        tr { td { (ts_text(b.ts)) } td { (b.action) } td { (b.backend) } td { (b.expires.map(ts_text).unwrap_or_else(|| "-".into())) }
                             td { @if b.automatic { "detector" } @else { "analyst" } } td.msg { (b.reason) } }
                    }
                }
            }
        }
    };
    Ok(Some(layout(ctx, &format!("Source {text}"), body)))
}

/// The block in force (from the store's `blocks` table) and, in the live
/// UI with blocking on, the Block form (with a duration) and Unblock.
fn block_controls(ctx: &Ctx<'_>, addr: &str, in_force: Option<&BlockRecord>) -> Markup {
    let durations: &[String] = match ctx.mode {
        Mode::Live { durations, .. } => durations,
        Mode::Static => &[],
    };
    html! {
        p.blockstate {
            @match in_force {
                Some(b) => {
                    strong.blocked { "Blocked" }
                    @match b.expires { Some(t) => { " until " (ts_text(t)) }, None => { " permanently" } }
                    " (" (b.backend) ", since " (ts_text(b.ts)) ", by " @if b.automatic { "a detector" } @else { "an analyst" } ": " (b.reason) ")"
                }
                None => { "Not blocked." }
            }
        }
        @if let (Mode::Live { csrf, .. }, false) = (ctx.mode, durations.is_empty()) {
            form.inline.block method="post" action=(ctx.link("respond/block")) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="back" value=(ctx.here);
                input type="hidden" name="addr" value=(addr);
                label { "block for " select name="duration" { @for d in durations { option value=(d) { (d) } } } }
                " " button type="submit" { "Block" }
            }
            @if in_force.is_some() {
                form.inline.unblock method="post" action=(ctx.link("respond/unblock")) {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="back" value=(ctx.here);
                    input type="hidden" name="addr" value=(addr);
                    button type="submit" { "Unblock" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_store::BlockAction;

    fn record(expires: Option<i64>) -> BlockRecord {
        BlockRecord {
            ts: Timestamp(1_700_000_000_000_000_000),
            action: BlockAction::Block,
            address: "203.0.113.5".parse().unwrap(),
            expires: expires.map(Timestamp),
            backend: "nft".into(),
            automatic: false,
            reason: "web UI <b>\"x\"</b>".into(),
        }
    }

    #[test]
    fn static_pages_show_the_state_without_forms() {
        let ctx = Ctx::nested(Mode::Static, "source/203.0.113.5.html");
        let m = block_controls(&ctx, "203.0.113.5", Some(&record(None))).into_string();
        assert!(m.contains("Blocked") && m.contains("permanently"), "{m}");
        assert!(m.contains("web UI &lt;b&gt;&quot;x&quot;&lt;/b&gt;"), "{m}");
        assert!(!m.contains("<form"), "{m}");
        let m = block_controls(&ctx, "203.0.113.5", None).into_string();
        assert!(m.contains("Not blocked."), "{m}");
    }

    #[test]
    fn live_pages_offer_block_and_unblock_only_when_enabled() {
        let durations = vec!["1h".to_string(), "10m".to_string()];
        let on = Mode::Live {
            csrf: "tok",
            durations: &durations,
            refresh: None,
        };
        let ctx = Ctx::nested(on, "source/203.0.113.5.html");
        let m = block_controls(&ctx, "203.0.113.5", None).into_string();
        assert!(m.contains("action=\"../respond/block\""), "{m}");
        assert!(
            m.contains("<option value=\"1h\">1h</option><option value=\"10m\">"),
            "{m}"
        );
        assert!(m.contains("name=\"csrf\" value=\"tok\""), "{m}");
        assert!(
            !m.contains("respond/unblock"),
            "not blocked: no Unblock: {m}"
        );
        let m = block_controls(&ctx, "203.0.113.5", Some(&record(Some(i64::MAX)))).into_string();
        assert!(
            m.contains("respond/unblock") && m.contains(" until "),
            "{m}"
        );
        let off = Mode::Live {
            csrf: "tok",
            durations: &[],
            refresh: None,
        };
        let ctx = Ctx::nested(off, "source/203.0.113.5.html");
        let m = block_controls(&ctx, "203.0.113.5", Some(&record(None))).into_string();
        assert!(!m.contains("<form"), "blocking off: {m}");
    }
}
