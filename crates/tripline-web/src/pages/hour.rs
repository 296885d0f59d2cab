//! One hour: chained to the hours before and after it and up to its day;
//! its charts, alerts (paginated), scans, new destinations (with triage
//! buttons in the live UI), blocked lookups, top talkers and destinations,
//! port sweeps and links.

use super::{Ctx, Mode, alert_table, chain, layout, post_button, ts_text};
use crate::charts::{self, DIRECTION_SERIES, SEVERITY_SERIES, stacked_bars};
use crate::graph;
use crate::paths;
use maud::{Markup, html};
use serde_json::{Map, Value};
use tripline_store::{AddrCount, AlertQuery, AlertRow, DigestLimits, Store, StoreError, TimeRange};

/// Alerts per hour page; further alerts go on `….p2.html` and so on.
pub const ALERTS_PER_PAGE: usize = 500;
/// Rows of the hour's other lists.
const LIST: usize = 100;
/// Rows of the top lists.
const TOP: usize = 20;
/// Minutes per chart bucket.
const BUCKET_MIN: i64 = 5;

/// The table of the busiest originators.
pub(crate) fn talkers_table(ctx: &Ctx<'_>, rows: &[AddrCount]) -> Markup {
    html! {
        table.talkers {
            thead { tr { th { "source" } th.num { "connections" } th.num { "bytes" } } }
            tbody {
                @for t in rows {
                    tr { td { a href=(ctx.source(&t.addr)) { (t.addr) } } td.num { (t.connections) } td.num { (t.bytes) } }
                }
            }
        }
    }
}

/// The bar chart of the most contacted destinations, by name when known.
pub(crate) fn destinations_chart(_ctx: &Ctx<'_>, rows: &[AddrCount]) -> Markup {
    let items: Vec<(String, u64, Option<String>)> = rows
        .iter()
        .map(|d| {
            let label = match &d.name {
                Some(n) => format!("{n} ({})", d.addr),
                None => d.addr.clone(),
            };
            (label, d.connections, None)
        })
        .collect();
    charts::hbars("Top destinations by name", &items)
}

/// What a triage decision about a connwatch alert is about: the DNS name
/// when the connection had one, else their address.
pub fn triage_target(a: &AlertRow) -> Option<String> {
    let details: Map<String, Value> = serde_json::from_str(&a.details).ok()?;
    let text = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_string);
    text("name")
        .or_else(|| text("theirs"))
        .or_else(|| a.dst.clone())
}

fn new_destinations(ctx: &Ctx<'_>, rows: &[AlertRow]) -> Markup {
    html! {
        table.newdest {
            thead { tr { th { "time" } th { "device" } th { "destination" } th { "port" } th { "decide" } } }
            tbody {
                @for a in rows {
                    @let target = triage_target(a);
                    tr {
                        td { a href=(ctx.link(&paths::alert_file(a.id))) { (ts_text(a.ts)) } }
                        td { (super::addr_link(ctx, a.src.as_deref())) }
                        td.msg { (target.as_deref().unwrap_or("-")) }
                        td { (a.dport.map(|p| p.to_string()).unwrap_or_default()) }
                        td {
                            @if let Some(t) = &target {
                                (post_button(ctx, "triage/allow", &[("target", t)], "allow"))
                                (post_button(ctx, "triage/deny", &[("target", t)], "deny"))
                            }
                            (post_button(ctx, "ack", &[("alert", &a.id.to_string())], "acknowledge"))
                        }
                    }
                }
            }
        }
    }
}

/// Page `page` (1-based) of the hour starting at `hour_start`; `None`
/// when the page is past the hour's last alert.
pub fn hour_page(
    ctx: &Ctx<'_>,
    store: &Store,
    hour_start: i64,
    page: usize,
) -> Result<Option<Markup>, StoreError> {
    let range = TimeRange::hour(hour_start);
    let mut q = AlertQuery::in_range(range, ALERTS_PER_PAGE);
    q.offset = page.saturating_sub(1) * ALERTS_PER_PAGE;
    let (alerts, total) = store.alerts_page(&q)?;
    let pages = (total as usize).div_ceil(ALERTS_PER_PAGE).max(1);
    if page == 0 || page > pages {
        return Ok(None);
    }
    let (prev, next) = store.adjacent_hours(hour_start)?;
    let hour_link = |ns: i64| (ctx.link(&paths::hour_file(ns, 1)), paths::hour_key(ns));
    let up = (
        ctx.link(&paths::day_file(hour_start)),
        paths::day_key(hour_start),
    );
    let title = format!("Hour {}:00", paths::hour_key(hour_start));
    let pager = html! {
        @if pages > 1 {
            nav.pages { "alert pages: "
                @for p in 1..=pages {
                    @if p == page { b { (p) } } @else { a href=(ctx.link(&paths::hour_file(hour_start, p))) { (p) } }
                    " "
                }
            }
        }
    };
    let alerts_block = html! {
        h2 { "Alerts (" (total) ")" }
        (pager)
        (alert_table(ctx, &alerts))
        (pager)
    };
    if page > 1 {
        let body = html! { (chain(prev.map(hour_link), up, next.map(hour_link))) (alerts_block) };
        return Ok(Some(layout(
            ctx,
            &format!("{title}, alerts page {page}"),
            body,
        )));
    }
    let bucket = BUCKET_MIN * 60 * 1_000_000_000;
    let label = |ns: i64| format!(":{:02}", (ns - hour_start) / 60_000_000_000);
    let sev = store.alerts_by_severity(range, bucket)?;
    let digest = store.connection_digest(
        range,
        DigestLimits {
            bucket_ns: bucket,
            top: TOP,
            sweep: 200,
            links: 40,
        },
    )?;
    let dirs = &digest.by_direction;
    let n = 60 / BUCKET_MIN;
    let sev_buckets: Vec<(String, Vec<u64>)> = (0..n)
        .map(|i| {
            let s = hour_start + i * bucket;
            let v = sev
                .iter()
                .find(|x| x.0 == s)
                .map_or(vec![0; 3], |x| x.1.to_vec());
            (label(s), v)
        })
        .collect();
    let dir_buckets: Vec<(String, Vec<u64>)> = (0..n)
        .map(|i| {
            let s = hour_start + i * bucket;
            let v = dirs
                .iter()
                .find(|c| c.bucket_start == s)
                .map_or(vec![0; 4], |c| {
                    vec![c.inbound, c.outbound, c.internal, c.other]
                });
            (label(s), v)
        })
        .collect();
    let mut scans_q = AlertQuery::in_range(range, LIST);
    scans_q.rule = Some("scan".into());
    let (scans, scan_total) = store.alerts_page(&scans_q)?;
    let mut new_q = AlertQuery::in_range(range, LIST);
    new_q.rule = Some("connwatch".into());
    let (new_dest, new_total) = store.alerts_page(&new_q)?;
    let blocked = store.blocked_lookups(range, LIST)?;
    let link = |s: &str| ctx.source(s);
    let body = html! {
        (chain(prev.map(hour_link), up, next.map(hour_link)))
        (stacked_bars("Alerts by severity (5 minutes)", &SEVERITY_SERIES, &sev_buckets))
        (stacked_bars("Connections by direction (5 minutes)", &DIRECTION_SERIES, &dir_buckets))
        (alerts_block)
        h2 { "Scans (" (scan_total) ")" }
        (alert_table(ctx, &scans))
        h2 { "New destinations (" (new_total) ")" }
        @if new_dest.is_empty() { p.empty { "None." } } @else { (new_destinations(ctx, &new_dest)) }
        h2 { "Blocked lookups" }
        @if blocked.is_empty() { p.empty { "None." } } @else {
            table.blocked {
                thead { tr { th { "time" } th { "client" } th { "name" } th { "type" } } }
                tbody {
                    @for b in &blocked {
                        tr { td { (ts_text(b.ts)) } td { (super::addr_link(ctx, b.client.as_deref())) } td.msg { (b.name) } td { (b.qtype) } }
                    }
                }
            }
        }
        h2 { "Top talkers" }
        (talkers_table(ctx, &digest.talkers))
        (destinations_chart(ctx, &digest.destinations))
        (charts::sweep_scatter(&digest.sweep, &link))
        (graph::link_graph(&digest.links, &link, ctx.graph))
        @if let Mode::Live { .. } = ctx.mode {
            p { a href=(ctx.link(&format!("search?from={}&to={}", paths::hour_key(hour_start), paths::hour_key(hour_start + tripline_store::HOUR_NS)))) { "search this hour" } }
        }
    };
    Ok(Some(layout(ctx, &title, body)))
}
