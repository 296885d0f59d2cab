//! The index: every day with its totals and a sparkline of alerts per
//! hour, and the hours of the most recent days with their counts.

use super::{Ctx, layout};
use crate::charts::sparkline;
use crate::paths::{self, day_floor};
use maud::{Markup, html};
use tripline_store::{HOUR_NS, HourCounts};

/// Days whose hours are listed one by one on the index (older days are
/// listed as one row each; their hours are on their day pages).
pub const DAYS_WITH_HOURS: usize = 14;

/// One day's totals.
struct DaySummary<'h> {
    start: i64,
    hours: &'h [HourCounts],
}

fn days(hours: &[HourCounts]) -> Vec<DaySummary<'_>> {
    let mut out: Vec<DaySummary<'_>> = Vec::new();
    let mut from = 0;
    for i in 1..=hours.len() {
        if i == hours.len() || day_floor(hours[i].hour_start) != day_floor(hours[from].hour_start) {
            out.push(DaySummary {
                start: day_floor(hours[from].hour_start),
                hours: &hours[from..i],
            });
            from = i;
        }
    }
    out
}

/// The counts of the 24 hours of a day, by hour of day.
pub(crate) fn per_hour(
    day_start: i64,
    hours: &[HourCounts],
    f: impl Fn(&HourCounts) -> u64,
) -> [u64; 24] {
    let mut v = [0u64; 24];
    for h in hours {
        let i = (h.hour_start - day_start) / HOUR_NS;
        if let Some(slot) = usize::try_from(i).ok().and_then(|i| v.get_mut(i)) {
            *slot += f(h);
        }
    }
    v
}

/// Row cells shared by days and hours.
pub(crate) fn count_cells(hs: &[HourCounts]) -> Markup {
    let sum = |f: fn(&HourCounts) -> u64| hs.iter().map(f).sum::<u64>();
    html! {
        td.num.sev1 { (sum(|h| h.alerts_by_severity[0])) }
        td.num.sev2 { (sum(|h| h.alerts_by_severity[1])) }
        td.num.sev3 { (sum(|h| h.alerts_by_severity[2])) }
        td.num { (sum(|h| h.connections)) }
        td.num { (sum(|h| h.scans)) }
        td.num { (sum(|h| h.new_destinations)) }
    }
}

/// The header of [`count_cells`] columns.
pub(crate) fn count_heads() -> Markup {
    html! {
        th.num { "high" } th.num { "medium" } th.num { "low" } th.num { "connections" } th.num { "scans" } th.num { "new destinations" }
    }
}

/// The index page from the per-hour counts (oldest first).
pub fn index_page(ctx: &Ctx<'_>, hours: &[HourCounts]) -> Markup {
    let days = days(hours);
    let recent = days.len().saturating_sub(DAYS_WITH_HOURS);
    let body = html! {
        @if days.is_empty() {
            p.empty { "The store holds no connections or alerts yet." }
        }
        h2 { "Days" }
        table.days {
            thead { tr { th { "day" } th { "alerts per hour" } (count_heads()) } }
            tbody {
                @for d in days.iter().rev() {
                    tr {
                        td { a href=(ctx.link(&paths::day_file(d.start))) { (paths::day_key(d.start)) } }
                        td { (sparkline(&per_hour(d.start, d.hours, HourCounts::alerts))) }
                        (count_cells(d.hours))
                    }
                }
            }
        }
        h2 { "Hours" }
        @for d in days[recent..].iter().rev() {
            h3 { a href=(ctx.link(&paths::day_file(d.start))) { (paths::day_key(d.start)) } }
            table.hours {
                thead { tr { th { "hour" } (count_heads()) } }
                tbody {
                    @for h in d.hours {
                        tr {
                            td { a href=(ctx.link(&paths::hour_file(h.hour_start, 1))) { (paths::hour_key(h.hour_start)) ":00" } }
                            (count_cells(std::slice::from_ref(h)))
                        }
                    }
                }
            }
        }
        @if recent > 0 {
            p { (recent) " older days: their hours are on their day pages." }
        }
    };
    layout(ctx, "Report", body)
}
