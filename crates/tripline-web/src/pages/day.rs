//! One day: its hours with their counts, the day's charts (alerts by
//! severity and connections by direction per hour, port sweeps, top
//! destinations, the link graph) and its top talkers.

use super::index::{count_cells, count_heads};
use super::{Ctx, chain, layout};
use crate::charts::{DIRECTION_SERIES, SEVERITY_SERIES, stacked_bars};
use crate::pages::hour::{destinations_chart, talkers_table};
use crate::paths::{self, DAY_NS};
use crate::{charts, graph};
use maud::{Markup, html};
use tripline_store::{DigestLimits, HOUR_NS, Store, StoreError, TimeRange};

/// Rows in the day's top lists and dots in its scatter.
const TOP: usize = 20;
/// Points of the port-sweep scatter.
const SWEEP_POINTS: usize = 300;
/// Edges of the link graph.
const LINKS: usize = 40;

/// The page of the UTC day starting at `day_start`.
pub fn day_page(ctx: &Ctx<'_>, store: &Store, day_start: i64) -> Result<Markup, StoreError> {
    let range = TimeRange {
        from: day_start,
        to: day_start + DAY_NS,
    };
    let hours = store.hour_counts(range)?;
    let (prev, _) = store.adjacent_hours(day_start)?;
    let (_, next) = store.adjacent_hours(day_start + DAY_NS - HOUR_NS)?;
    let alerts = store.alerts_by_severity(range, HOUR_NS)?;
    let digest = store.connection_digest(
        range,
        DigestLimits {
            bucket_ns: HOUR_NS,
            top: TOP,
            sweep: SWEEP_POINTS,
            links: LINKS,
        },
    )?;
    let conns = &digest.by_direction;
    let label = |ns: i64| format!("{:02}h", (ns - day_start) / HOUR_NS);
    let alert_buckets: Vec<(String, Vec<u64>)> = (0..24)
        .map(|h| {
            let start = day_start + h * HOUR_NS;
            let v = alerts
                .iter()
                .find(|a| a.0 == start)
                .map_or(vec![0; 3], |a| a.1.to_vec());
            (label(start), v)
        })
        .collect();
    let conn_buckets: Vec<(String, Vec<u64>)> = (0..24)
        .map(|h| {
            let start = day_start + h * HOUR_NS;
            let v = conns
                .iter()
                .find(|c| c.bucket_start == start)
                .map_or(vec![0; 4], |c| {
                    vec![c.inbound, c.outbound, c.internal, c.other]
                });
            (label(start), v)
        })
        .collect();
    let link = |s: &str| ctx.source(s);
    let day_link = |ns: i64| (ctx.link(&paths::day_file(ns)), paths::day_key(ns));
    let body = html! {
        (chain(prev.map(day_link), (ctx.link("index.html"), "index".into()), next.map(day_link)))
        h2 { "Hours" }
        table.hours {
            thead { tr { th { "hour" } (count_heads()) } }
            tbody {
                @for h in &hours {
                    tr {
                        td { a href=(ctx.link(&paths::hour_file(h.hour_start, 1))) { (paths::hour_key(h.hour_start)) ":00" } }
                        (count_cells(std::slice::from_ref(h)))
                    }
                }
                tr.total { td { "day" } (count_cells(&hours)) }
            }
        }
        (stacked_bars("Alerts per hour by severity", &SEVERITY_SERIES, &alert_buckets))
        (stacked_bars("Connections per hour by direction", &DIRECTION_SERIES, &conn_buckets))
        (charts::sweep_scatter(&digest.sweep, &link))
        (destinations_chart(ctx, &digest.destinations))
        (graph::link_graph(&digest.links, &link, ctx.graph))
        h2 { "Top talkers" }
        (talkers_table(ctx, &digest.talkers))
    };
    Ok(layout(
        ctx,
        &format!("Day {}", paths::day_key(day_start)),
        body,
    ))
}
