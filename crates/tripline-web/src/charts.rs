//! Charts drawn on the server as plain SVG, readable without JavaScript:
//! stacked bars over time, sparklines, a port-sweep scatter, horizontal
//! bars and a step line.
//!
//! Hand-written rather than plotters: these five shapes are a few dozen
//! lines each, the output stays small (one `<rect>` per bar, no embedded
//! fonts), and every label goes through the same auto-escaping templates as
//! the pages. Colours are presentation attributes, so the pages' CSP needs
//! no inline styles.

use maud::{Markup, html};
use tripline_store::SweepPoint;

/// One named series of a stacked chart and its colour.
#[derive(Clone, Copy, Debug)]
pub struct Series {
    /// Legend text.
    pub name: &'static str,
    /// Fill colour.
    pub color: &'static str,
}

/// Severity 1, 2 and 3-or-lower, in the order of `alerts_by_severity`.
pub const SEVERITY_SERIES: [Series; 3] = [
    Series {
        name: "high (1)",
        color: "#c0392b",
    },
    Series {
        name: "medium (2)",
        color: "#e67e22",
    },
    Series {
        name: "low (3+)",
        color: "#d4ac0d",
    },
];

/// Connection directions, in the order of `DirectionCounts`.
pub const DIRECTION_SERIES: [Series; 4] = [
    Series {
        name: "inbound",
        color: "#c0392b",
    },
    Series {
        name: "outbound",
        color: "#2980b9",
    },
    Series {
        name: "internal",
        color: "#27ae60",
    },
    Series {
        name: "other",
        color: "#7f8c8d",
    },
];

const W: f64 = 720.0;
const H: f64 = 200.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 24.0;
const TOP: f64 = 20.0;

/// A stacked bar per bucket: `buckets` are (label, one value per series).
pub fn stacked_bars(title: &str, series: &[Series], buckets: &[(String, Vec<u64>)]) -> Markup {
    let max = buckets
        .iter()
        .map(|(_, v)| v.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - TOP - BOTTOM;
    let n = buckets.len().max(1) as f64;
    let slot = plot_w / n;
    let bar_w = (slot * 0.8).max(1.0);
    let label_every = (buckets.len() / 12).max(1);
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (H)} role="img" aria-label=(title) {
            title { (title) }
            text x="4" y="14" font-size="12" font-weight="bold" { (title) }
            @for (i, s) in series.iter().enumerate() {
                rect x=(fmt(W - 110.0 * (series.len() - i) as f64)) y="4" width="10" height="10" fill=(s.color) {}
                text x=(fmt(W - 110.0 * (series.len() - i) as f64 + 14.0)) y="13" font-size="10" { (s.name) }
            }
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(fmt(H - BOTTOM)) stroke="#555" {}
            line x1=(LEFT) y1=(fmt(H - BOTTOM)) x2=(fmt(W - 8.0)) y2=(fmt(H - BOTTOM)) stroke="#555" {}
            text x=(fmt(LEFT - 4.0)) y=(fmt(TOP + 8.0)) font-size="10" text-anchor="end" { (max) }
            text x=(fmt(LEFT - 4.0)) y=(fmt(H - BOTTOM)) font-size="10" text-anchor="end" { "0" }
            @for (i, (label, values)) in buckets.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar_w) / 2.0;
                g {
                    title { (label) ": " @for (j, v) in values.iter().enumerate() { (series.get(j).map_or("", |s| s.name)) " " (v) "; " } }
                    @for (j, y, h) in stack(values, max, plot_h) {
                        rect class="bar" x=(fmt(x)) y=(fmt(y)) width=(fmt(bar_w)) height=(fmt(h)) fill=(series.get(j).map_or("#999", |s| s.color)) {}
                    }
                }
                @if i % label_every == 0 {
                    text x=(fmt(x + bar_w / 2.0)) y=(fmt(H - 8.0)) font-size="9" text-anchor="middle" { (label) }
                }
            }
        }
    }
}

/// (series index, y, height) of each non-empty segment, bottom up.
fn stack(values: &[u64], max: u64, plot_h: f64) -> Vec<(usize, f64, f64)> {
    let mut base = H - BOTTOM;
    let mut out = Vec::with_capacity(values.len());
    for (j, v) in values.iter().enumerate() {
        if *v == 0 {
            continue;
        }
        let h = (*v as f64 / max as f64 * plot_h).max(1.0);
        base -= h;
        out.push((j, base, h));
    }
    out
}

/// A small line of `values` (one per hour of a day, say), no axes.
pub fn sparkline(values: &[u64]) -> Markup {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (w, h) = (120.0, 24.0);
    let step = if values.len() > 1 {
        w / (values.len() - 1) as f64
    } else {
        0.0
    };
    let mut points = String::with_capacity(values.len() * 12);
    for (i, v) in values.iter().enumerate() {
        let y = h - 2.0 - (*v as f64 / max) * (h - 4.0);
        points.push_str(&format!("{},{} ", fmt(step * i as f64), fmt(y)));
    }
    html! {
        svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 24" width="120" height="24" {
            polyline points=(points.trim_end()) fill="none" stroke="#2c3e50" stroke-width="1.5" {}
        }
    }
}

/// Sources (rows) × destination port (x, 0-65535) × packets (dot area).
/// `link` gives the page of a source.
pub fn sweep_scatter(points: &[SweepPoint], link: &dyn Fn(&str) -> String) -> Markup {
    let mut sources: Vec<&str> = Vec::new();
    for p in points {
        if !sources.contains(&p.src.as_str()) {
            sources.push(&p.src);
        }
    }
    let row_h = 18.0;
    let left = 150.0;
    let h = TOP + BOTTOM + row_h * sources.len().max(1) as f64;
    let plot_w = W - left - 8.0;
    let max = points.iter().map(|p| p.packets).max().unwrap_or(1).max(1) as f64;
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (fmt(h))} role="img" aria-label="port sweep" {
            title { "Port sweep: source × destination port × packets" }
            text x="4" y="14" font-size="12" font-weight="bold" { "Port sweep: source × destination port (dot area: packets)" }
            line x1=(left) y1=(fmt(h - BOTTOM)) x2=(fmt(W - 8.0)) y2=(fmt(h - BOTTOM)) stroke="#555" {}
            @for port in [0u32, 1024, 16384, 32768, 49152, 65535] {
                text x=(fmt(left + plot_w * f64::from(port) / 65535.0)) y=(fmt(h - 8.0)) font-size="9" text-anchor="middle" { (port) }
            }
            @for (i, s) in sources.iter().enumerate() {
                a href=(link(s)) {
                    text x=(fmt(left - 4.0)) y=(fmt(TOP + row_h * i as f64 + 12.0)) font-size="10" text-anchor="end" { (s) }
                }
            }
            @for p in points {
                @let row = sources.iter().position(|s| *s == p.src).unwrap_or(0);
                circle class="dot" cx=(fmt(left + plot_w * f64::from(p.dport) / 65535.0)) cy=(fmt(TOP + row_h * row as f64 + 8.0))
                    r=(fmt(1.5 + 6.0 * (p.packets as f64 / max).sqrt())) fill="#8e44ad" fill-opacity="0.6" {
                    title { (p.src) " → port " (p.dport) ": " (p.packets) " packets" }
                }
            }
        }
    }
}

/// One bar per item: (label, value, link).
pub fn hbars(title: &str, items: &[(String, u64, Option<String>)]) -> Markup {
    let row_h = 18.0;
    let left = 260.0;
    let h = TOP + 8.0 + row_h * items.len().max(1) as f64;
    let max = items.iter().map(|i| i.1).max().unwrap_or(1).max(1) as f64;
    let plot_w = W - left - 60.0;
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (fmt(h))} role="img" aria-label=(title) {
            title { (title) }
            text x="4" y="14" font-size="12" font-weight="bold" { (title) }
            @for (i, (label, value, href)) in items.iter().enumerate() {
                @let y = TOP + row_h * i as f64;
                @if let Some(href) = href {
                    a href=(href) { text x=(fmt(left - 4.0)) y=(fmt(y + 12.0)) font-size="10" text-anchor="end" { (clip(label, 44)) } }
                } @else {
                    text x=(fmt(left - 4.0)) y=(fmt(y + 12.0)) font-size="10" text-anchor="end" { (clip(label, 44)) }
                }
                rect class="bar" x=(left) y=(fmt(y + 2.0)) width=(fmt((*value as f64 / max * plot_w).max(1.0))) height="13" fill="#2980b9" {
                    title { (label) ": " (value) }
                }
                text x=(fmt(left + 4.0 + (*value as f64 / max * plot_w).max(1.0))) y=(fmt(y + 12.0)) font-size="10" { (value) }
            }
        }
    }
}

/// A step line of levels over time: `(label, level)` in time order,
/// levels 0..=`max_level`.
pub fn steps(title: &str, points: &[(String, u8)], max_level: u8) -> Markup {
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - TOP - BOTTOM;
    let n = points.len().max(2) as f64 - 1.0;
    let y_of = |l: u8| H - BOTTOM - f64::from(l) / f64::from(max_level.max(1)) * plot_h;
    let mut path = String::with_capacity(points.len() * 24);
    for (i, (_, level)) in points.iter().enumerate() {
        let x = LEFT + plot_w * i as f64 / n;
        if i == 0 {
            path.push_str(&format!("M{},{}", fmt(x), fmt(y_of(*level))));
        } else {
            path.push_str(&format!(" H{} V{}", fmt(x), fmt(y_of(*level))));
        }
    }
    html! {
        svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (W) " " (H)} role="img" aria-label=(title) {
            title { (title) }
            text x="4" y="14" font-size="12" font-weight="bold" { (title) }
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(fmt(H - BOTTOM)) stroke="#555" {}
            @for l in 0..=max_level {
                text x=(fmt(LEFT - 4.0)) y=(fmt(y_of(l) + 3.0)) font-size="10" text-anchor="end" { (l) }
            }
            path d=(path) fill="none" stroke="#c0392b" stroke-width="2" {}
            @for (i, (label, level)) in points.iter().enumerate() {
                circle cx=(fmt(LEFT + plot_w * i as f64 / n)) cy=(fmt(y_of(*level))) r="3" fill="#c0392b" {
                    title { (label) ": level " (level) }
                }
            }
        }
    }
}

/// Shortens `s` to `max` characters with an ellipsis.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]).into(),
        None => s.into(),
    }
}

/// A coordinate with one decimal, no trailing `.0`.
fn fmt(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacked_bars_draw_one_rect_per_nonzero_segment_and_escape_labels() {
        let svg = stacked_bars(
            "alerts <b>",
            &SEVERITY_SERIES,
            &[
                ("12:00".into(), vec![3, 0, 1]),
                ("<13>".into(), vec![0, 0, 0]),
            ],
        )
        .into_string();
        assert_eq!(svg.matches("class=\"bar\"").count(), 2);
        assert!(svg.contains("alerts &lt;b&gt;"));
        assert!(svg.contains("&lt;13&gt;"));
        assert!(!svg.contains("<b>"));
    }

    #[test]
    fn scatter_has_a_dot_per_point_and_a_row_per_source() {
        let pts = [
            SweepPoint {
                src: "10.0.0.1".into(),
                dport: 22,
                packets: 4,
            },
            SweepPoint {
                src: "10.0.0.1".into(),
                dport: 80,
                packets: 1,
            },
            SweepPoint {
                src: "10.0.0.2".into(),
                dport: 443,
                packets: 9,
            },
        ];
        let svg = sweep_scatter(&pts, &|s| format!("../source/{s}.html")).into_string();
        assert_eq!(svg.matches("class=\"dot\"").count(), 3);
        assert_eq!(svg.matches("href=\"../source/").count(), 2);
    }

    #[test]
    fn small_helpers() {
        assert_eq!(fmt(1.25), "1.3");
        assert_eq!(fmt(3.0), "3");
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("ab", 3), "ab");
        let s = sparkline(&[0, 5, 10]).into_string();
        assert!(s.contains("points=\"0,22 60,12 120,2\""), "{s}");
        let st = steps("danger", &[("a".into(), 1), ("b".into(), 3)], 5).into_string();
        assert_eq!(st.matches("<circle").count(), 2);
    }
}
