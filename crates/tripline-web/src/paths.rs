//! Where each page lives: the same relative paths in the static site and
//! under `tripline serve`, so every link works from `file://` and over HTTP.
//!
//! * `index.html` at the root; every other page one folder down:
//!   `day/2026-11-22.html`, `hour/2026-11-22T12.html` (further pages of a
//!   long hour: `hour/2026-11-22T12.p2.html`), `source/10.0.0.5.html`
//!   (IPv6 colons become `_`), `alert/42.html`.

use std::net::IpAddr;
use tripline_core::Timestamp;
use tripline_store::HOUR_NS;

/// Nanoseconds in a day.
pub const DAY_NS: i64 = 24 * HOUR_NS;

/// The start of the hour holding `ns`.
pub fn hour_floor(ns: i64) -> i64 {
    ns.div_euclid(HOUR_NS) * HOUR_NS
}

/// The start of the UTC day holding `ns`.
pub fn day_floor(ns: i64) -> i64 {
    ns.div_euclid(DAY_NS) * DAY_NS
}

/// `2026-11-22T12` for the hour starting at `hour_start`.
pub fn hour_key(hour_start: i64) -> String {
    let (y, mo, d, h, ..) = Timestamp(hour_start).to_civil();
    format!("{y:04}-{mo:02}-{d:02}T{h:02}")
}

/// `2026-11-22` for the day holding `ns`.
pub fn day_key(ns: i64) -> String {
    Timestamp(ns).date_string()
}

/// The hour start named by a key from [`hour_key`].
pub fn parse_hour_key(key: &str) -> Option<i64> {
    let (date, hour) = key.split_once('T')?;
    let day = parse_day_key(date)?;
    let h: i64 = hour.parse().ok().filter(|h| (0..24).contains(h))?;
    if hour.len() != 2 {
        return None;
    }
    Some(day + h * HOUR_NS)
}

/// The day start named by a key from [`day_key`].
pub fn parse_day_key(key: &str) -> Option<i64> {
    let mut it = key.splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if key.len() != 10 {
        return None;
    }
    Timestamp::from_civil(y, m, d, 0, 0, 0).map(|t| t.0)
}

/// The hour page (1-based `page`; page 1 has no suffix).
pub fn hour_file(hour_start: i64, page: usize) -> String {
    if page <= 1 {
        format!("hour/{}.html", hour_key(hour_start))
    } else {
        format!("hour/{}.p{page}.html", hour_key(hour_start))
    }
}

/// The day page.
pub fn day_file(ns: i64) -> String {
    format!("day/{}.html", day_key(ns))
}

/// The source page of an address in canonical text.
pub fn source_file(addr: &str) -> String {
    format!("source/{}.html", addr.replace(':', "_"))
}

/// The alert page.
pub fn alert_file(id: i64) -> String {
    format!("alert/{id}.html")
}

/// The address a source page name stands for (`None` if it is not one).
pub fn parse_source_name(name: &str) -> Option<IpAddr> {
    name.strip_suffix(".html")?.replace('_', ":").parse().ok()
}

/// The hour start and page of an hour page name (`2026-11-22T12.p2.html`).
pub fn parse_hour_name(name: &str) -> Option<(i64, usize)> {
    let stem = name.strip_suffix(".html")?;
    let (key, page) = match stem.split_once(".p") {
        Some((k, p)) => (k, p.parse::<usize>().ok().filter(|p| *p >= 2)?),
        None => (stem, 1),
    };
    Some((parse_hour_key(key)?, page))
}

/// The alert id of an alert page name.
pub fn parse_alert_name(name: &str) -> Option<i64> {
    name.strip_suffix(".html")?.parse().ok()
}

/// The day start of a day page name.
pub fn parse_day_name(name: &str) -> Option<i64> {
    parse_day_key(name.strip_suffix(".html")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let h = 1_795_348_800 * 1_000_000_000; // 2026-11-22T12
        assert_eq!(hour_file(h, 1), "hour/2026-11-22T12.html");
        assert_eq!(hour_file(h, 3), "hour/2026-11-22T12.p3.html");
        assert_eq!(parse_hour_name("2026-11-22T12.p3.html"), Some((h, 3)));
        assert_eq!(parse_hour_name("2026-11-22T12.html"), Some((h, 1)));
        assert_eq!(parse_hour_name("2026-11-22T12.p1.html"), None);
        assert_eq!(parse_hour_name("2026-11-22T24.html"), None);
        assert_eq!(parse_hour_name("../etc/passwd"), None);
        assert_eq!(parse_day_name("2026-11-22.html"), Some(day_floor(h)));
        assert_eq!(parse_day_name("2026-02-30.html"), None);
        assert_eq!(source_file("fd00::1"), "source/fd00__1.html");
        assert_eq!(
            parse_source_name("fd00__1.html"),
            Some("fd00::1".parse().unwrap())
        );
        assert_eq!(parse_source_name("x.html"), None);
        assert_eq!(parse_alert_name("42.html"), Some(42));
        assert_eq!(hour_floor(h + 5), h);
    }
}
