//! One alert: the rule or detector that raised it, the flow, the evidence
//! from its details, and its payload as hex and printable text.

use super::hour::triage_target;
use super::{Ctx, addr_link, layout, post_button, severity_cell, ts_text};
use crate::paths;
use crate::payload::{alert_payload, hex_dump};
use maud::{Markup, html};
use serde_json::{Map, Value};
use tripline_store::{Store, StoreError};

/// The page of alert `id`; `None` when there is no such alert.
pub fn alert_page(ctx: &Ctx<'_>, store: &Store, id: i64) -> Result<Option<Markup>, StoreError> {
    let Some(a) = store.alert(id)? else {
        return Ok(None);
    };
    let details: Map<String, Value> = serde_json::from_str(&a.details).unwrap_or_default();
    let pretty = serde_json::to_string_pretty(&details).unwrap_or_else(|_| a.details.clone());
    let payload = alert_payload(&details);
    let id_text = a.id.to_string();
    let target = (a.detector == "connwatch")
        .then(|| triage_target(&a))
        .flatten();
    let body = html! {
        p { a href=(ctx.link(&paths::hour_file(paths::hour_floor(a.ts.0), 1))) { "hour " (paths::hour_key(paths::hour_floor(a.ts.0))) ":00" } }
        table.alert {
            tr { th { "time" } td { (ts_text(a.ts)) } }
            tr { th { "severity" } td { (severity_cell(a.severity)) } }
            tr { th { "detector" } td { (a.detector) } }
            tr { th { "rule" } td { (a.gid) ":" (a.sid) ":" (a.rev) } }
            tr { th { "message" } td.msg { (a.msg) } }
            tr { th { "category" } td { (a.category) } }
            tr { th { "source" } td { (addr_link(ctx, a.src.as_deref())) @if let Some(p) = a.sport { " port " (p) } } }
            tr { th { "destination" } td { (a.dst.as_deref().unwrap_or("-")) @if let Some(p) = a.dport { " port " (p) } } }
            tr { th { "protocol" } td { (a.protocol.map(|p| p.to_string()).unwrap_or_else(|| "-".into())) } }
            tr { th { "community id" } td { (a.community_id.as_deref().unwrap_or("-")) } }
            tr { th { "acknowledged" } td { @match &a.acked { Some((ts, who)) => { (ts_text(*ts)) " by " (who) }, None => "no" } } }
        }
        @if a.acked.is_none() { (post_button(ctx, "ack", &[("alert", &id_text)], "acknowledge")) }
        @if let Some(t) = &target {
            (post_button(ctx, "triage/allow", &[("target", t)], "allow destination"))
            (post_button(ctx, "triage/deny", &[("target", t)], "deny destination"))
        }
        h2 { "Evidence" }
        pre.details { (pretty) }
        @if let Some(bytes) = payload {
            h2 { "Payload (" (bytes.len()) " bytes)" }
            pre.hex { (hex_dump(&bytes)) }
        }
    };
    Ok(Some(layout(ctx, &format!("Alert {id}"), body)))
}
