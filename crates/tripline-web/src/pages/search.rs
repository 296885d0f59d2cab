//! The live UI's search (time range, address or CIDR, port, rule,
//! severity), its login form and the page that reports a triage result.

use super::{Ctx, Mode, alert_table, layout};
use crate::paths;
use maud::{Markup, html};
use serde::Deserialize;
use tripline_core::Cidr;
use tripline_store::{AlertQuery, Store, StoreError, TimeRange};

/// Rows a search shows per page.
pub const SEARCH_ROWS: usize = 200;
/// Alerts examined at most when filtering by a prefix (which the store
/// cannot index): past this the result says it is partial.
pub const CIDR_SCAN_CAP: usize = 100_000;

/// The search form's fields, as the query string carries them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct SearchForm {
    /// From this day or hour (`2026-11-22` or `2026-11-22T12`), inclusive.
    pub from: String,
    /// To this day or hour, exclusive.
    pub to: String,
    /// An address or a prefix (`10.0.0.0/8`), as source or destination.
    pub addr: String,
    /// A destination port.
    pub port: String,
    /// A detector name or a signature id.
    pub rule: String,
    /// Highest severity number included (1: high only).
    pub severity: String,
    /// Result page, from 1.
    pub page: String,
}

fn parse_time(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    paths::parse_hour_key(s)
        .or_else(|| paths::parse_day_key(s))
        .map(Some)
        .ok_or_else(|| format!("{s:?} is not a day (2026-11-22) or hour (2026-11-22T12)"))
}

fn opt_num<T: std::str::FromStr>(s: &str, what: &str) -> Result<Option<T>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{what}: {s:?} is not a number in range"))
}

/// A parsed search: the store query, and a prefix to apply to its rows.
fn to_query(f: &SearchForm) -> Result<(AlertQuery, Option<Cidr>, usize), String> {
    let range = TimeRange {
        from: parse_time(&f.from)?.unwrap_or(i64::MIN),
        to: parse_time(&f.to)?.unwrap_or(i64::MAX),
    };
    let mut q = AlertQuery::in_range(range, SEARCH_ROWS);
    let addr = f.addr.trim();
    let mut cidr = None;
    if !addr.is_empty() {
        if addr.contains('/') {
            cidr = Some(addr.parse::<Cidr>().map_err(|e| format!("address: {e}"))?);
        } else {
            let ip: std::net::IpAddr = addr
                .parse()
                .map_err(|_| format!("address: {addr:?} is not an address or prefix"))?;
            q.addr = Some(ip.to_string());
        }
    }
    q.port = opt_num(&f.port, "port")?;
    q.max_severity = opt_num(&f.severity, "severity")?;
    let rule = f.rule.trim();
    if !rule.is_empty() {
        q.rule = Some(rule.to_string());
    }
    let page: usize = opt_num(&f.page, "page")?.unwrap_or(1).max(1);
    q.offset = (page - 1) * SEARCH_ROWS;
    Ok((q, cidr, page))
}

fn in_prefix(cidr: &Cidr, a: &Option<String>) -> bool {
    a.as_deref()
        .and_then(|t| t.parse().ok())
        .is_some_and(|ip| cidr.contains(ip))
}

/// The search page: the form, and the matching alerts when any field is set.
pub fn search_page(ctx: &Ctx<'_>, store: &Store, f: &SearchForm) -> Result<Markup, StoreError> {
    let asked = *f != SearchForm::default();
    let parsed = to_query(f);
    let mut rows = Vec::new();
    let mut note = None;
    let mut total = 0u64;
    let mut page = 1;
    if let (true, Ok((q, cidr, p))) = (asked, &parsed) {
        page = *p;
        match cidr {
            None => {
                let (r, t) = store.alerts_page(q)?;
                rows = r;
                total = t;
            }
            Some(c) => {
                // Walk the range in store pages, keeping rows in the prefix.
                let mut scan = q.clone();
                scan.offset = 0;
                scan.limit = 2_000;
                let mut skipped = 0;
                let mut examined = 0;
                loop {
                    let (batch, _) = store.alerts_page(&scan)?;
                    examined += batch.len();
                    let n = batch.len();
                    for a in batch {
                        if in_prefix(c, &a.src) || in_prefix(c, &a.dst) {
                            total += 1;
                            if skipped < q.offset {
                                skipped += 1;
                            } else if rows.len() < SEARCH_ROWS {
                                rows.push(a);
                            }
                        }
                    }
                    if n < scan.limit {
                        break;
                    }
                    if examined >= CIDR_SCAN_CAP {
                        note = Some(format!(
                            "Stopped after examining {examined} alerts; narrow the time range for a complete answer."
                        ));
                        break;
                    }
                    scan.offset += n;
                }
            }
        }
    }
    let next = {
        let mut n = f.clone();
        n.page = (page + 1).to_string();
        serde_urlencoded(&n)
    };
    let body = html! {
        form.search method="get" action=(ctx.link("search")) {
            label { "from " input name="from" value=(f.from) placeholder="2026-11-22T12"; }
            label { "to " input name="to" value=(f.to) placeholder="2026-11-22T13"; }
            label { "address/CIDR " input name="addr" value=(f.addr); }
            label { "port " input name="port" value=(f.port) size="5"; }
            label { "rule " input name="rule" value=(f.rule) placeholder="scan or 2001219"; }
            label { "severity ≤ " input name="severity" value=(f.severity) size="2"; }
            button type="submit" { "search" }
        }
        @if let Err(e) = &parsed { p.error { (e) } }
        @if let Some(n) = &note { p.error { (n) } }
        @if asked && parsed.is_ok() {
            p { (total) " matching alerts, page " (page) }
            (alert_table(ctx, &rows))
            @if (page * SEARCH_ROWS) < total as usize { a rel="next" href=(ctx.link(&format!("search?{next}"))) { "next page →" } }
        }
    };
    Ok(layout(ctx, "Search", body))
}

/// A query string for the form (percent-encoded).
fn serde_urlencoded(f: &SearchForm) -> String {
    let enc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    format!(
        "from={}&to={}&addr={}&port={}&rule={}&severity={}&page={}",
        enc(&f.from),
        enc(&f.to),
        enc(&f.addr),
        enc(&f.port),
        enc(&f.rule),
        enc(&f.severity),
        enc(&f.page)
    )
}

/// The login form, with an error after a failed attempt.
pub fn login_page(error: Option<&str>) -> Markup {
    let ctx = Ctx::top(Mode::Static, "login");
    let body = html! {
        @if let Some(e) = error { p.error { (e) } }
        form.login method="post" action="login" {
            label { "password or token " input type="password" name="password" autofocus; }
            button type="submit" { "log in" }
        }
    };
    layout(&ctx, "Log in", body)
}

/// The outcome of a triage action, with a link back to where it came from.
pub fn message_page(ctx: &Ctx<'_>, title: &str, message: &str, ok: bool, back: &str) -> Markup {
    let body = html! {
        p class=(if ok { "flash" } else { "error" }) { (message) }
        p { a href=(ctx.link(back)) { "back" } }
    };
    layout(ctx, title, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_parse_into_queries() {
        let f = SearchForm {
            from: "2026-11-22T12".into(),
            addr: "10.0.0.0/8".into(),
            port: "22".into(),
            severity: "2".into(),
            page: "3".into(),
            ..Default::default()
        };
        let (q, cidr, page) = to_query(&f).unwrap();
        assert_eq!(
            q.range.from,
            paths::parse_hour_key("2026-11-22T12").unwrap()
        );
        assert_eq!(q.range.to, i64::MAX);
        assert_eq!(cidr, Some("10.0.0.0/8".parse().unwrap()));
        assert_eq!(
            (q.port, q.max_severity, page, q.offset),
            (Some(22), Some(2), 3, 400)
        );
        let bad = SearchForm {
            port: "70000".into(),
            ..Default::default()
        };
        assert!(to_query(&bad).is_err());
        let bad = SearchForm {
            addr: "<script>".into(),
            ..Default::default()
        };
        assert!(to_query(&bad).unwrap_err().contains("not an address"));
        assert_eq!(
            serde_urlencoded(&SearchForm {
                addr: "a b&<".into(),
                ..Default::default()
            }),
            "from=&to=&addr=a%20b%26%3C&port=&rule=&severity=&page="
        );
    }
}
