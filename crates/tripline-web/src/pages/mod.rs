//! The pages, as compile-time templates (maud) that escape everything they
//! interpolate. The static site and `tripline serve` render the same
//! functions; [`Mode`] says whether the triage forms are shown.

mod alert;
mod day;
mod hour;
mod index;
mod search;
mod source;

pub use alert::alert_page;
pub use day::day_page;
pub use hour::{ALERTS_PER_PAGE, hour_page};
pub use index::index_page;
pub use search::{SearchForm, login_page, message_page, search_page};
pub use source::{SOURCE_LIST_LIMIT, source_page};

use crate::graph::GraphLayout;
use crate::paths;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use tripline_core::Timestamp;
use tripline_store::AlertRow;

/// The Content-Security-Policy of the static pages and of every served
/// response but live pages: no script at all, styles and images only from
/// the site itself (SVG is inline markup, not script).
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The Content-Security-Policy of live pages: as [`CSP`], plus script
/// files from the server itself (the refresh script, [`LIVE_JS`]) fetching
/// from it; still no inline script, so nothing from the network can run.
pub const CSP_LIVE: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                            style-src 'self'; img-src 'self' data:; form-action 'self'; \
                            frame-ancestors 'none'; base-uri 'none'";

/// The live pages' refresh script (served at `/live.js`): polls
/// `/changes` every few seconds while the tab is visible and reloads the
/// page when the store changed since it was rendered.
pub const LIVE_JS: &str = include_str!("live.js");

/// The site's stylesheet (written as `style.css`, served at `/style.css`).
pub const STYLE_CSS: &str = include_str!("style.css");

/// Static files or the live UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode<'a> {
    /// Files for `file://`: no forms.
    Static,
    /// `tripline serve`: search and triage forms carrying this session's
    /// CSRF token.
    Live {
        /// The token every form posts back.
        csrf: &'a str,
        /// Block durations the analyst may choose on source pages, the
        /// default first; empty when blocking from the browser is off.
        durations: &'a [String],
        /// The store's change marker when the page was rendered, for pages
        /// that refresh themselves as data arrives (`None`: no refresh).
        refresh: Option<&'a str>,
    },
}

/// What every page needs to render links and forms.
#[derive(Clone, Copy, Debug)]
pub struct Ctx<'a> {
    /// `""` for pages at the root, `"../"` for pages one folder down.
    pub root: &'static str,
    /// Static or live.
    pub mode: Mode<'a>,
    /// The page's own path (relative to the root), for forms to come back to.
    pub here: &'a str,
    /// How link graphs are laid out.
    pub graph: GraphLayout,
}

impl<'a> Ctx<'a> {
    /// A page one folder down (`hour/`, `day/`, `source/`, `alert/`).
    pub fn nested(mode: Mode<'a>, here: &'a str) -> Self {
        Ctx {
            root: "../",
            mode,
            here,
            graph: GraphLayout::Auto,
        }
    }

    /// A page at the root.
    pub fn top(mode: Mode<'a>, here: &'a str) -> Self {
        Ctx {
            root: "",
            mode,
            here,
            graph: GraphLayout::Auto,
        }
    }

    /// The same context with link graphs laid out by `graph`.
    pub fn with_graph(self, graph: GraphLayout) -> Self {
        Ctx { graph, ..self }
    }

    /// The relative link to a page path from [`paths`].
    pub fn link(&self, path: &str) -> String {
        format!("{}{}", self.root, path)
    }

    /// The link to an address's source page.
    pub fn source(&self, addr: &str) -> String {
        self.link(&paths::source_file(addr))
    }
}

/// The frame of every page. Live pages that refresh themselves load the
/// refresh script (a file: static pages carry no script at all).
pub fn layout(ctx: &Ctx<'_>, title: &str, body: Markup) -> Markup {
    let (csp, refresh) = match ctx.mode {
        Mode::Live {
            refresh: Some(marker),
            ..
        } => (CSP_LIVE, Some(marker)),
        _ => (CSP, None),
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(csp);
                meta name="referrer" content="same-origin";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — tripline" }
                link rel="stylesheet" href=(ctx.link("style.css"));
                @if let Some(marker) = refresh {
                    script src=(ctx.link("live.js")) data-changes=(ctx.link("changes")) data-marker=(marker) defer {}
                }
            }
            body {
                nav.top {
                    a href=(ctx.link("index.html")) { "tripline" }
                    @if let Mode::Live { .. } = ctx.mode {
                        " · " a href=(ctx.link("search")) { "search" }
                    }
                }
                h1 { (title) }
                (body)
                footer { "tripline report · times in UTC" }
            }
        }
    }
}

/// `2026-11-22 12:15:36` in UTC.
pub fn ts_text(ts: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = ts.to_civil();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// An address, linked to its source page.
pub fn addr_link(ctx: &Ctx<'_>, addr: Option<&str>) -> Markup {
    html! {
        @match addr {
            Some(a) => a href=(ctx.source(a)) { (a) },
            None => "-",
        }
    }
}

/// Severity as text with a class the stylesheet colours.
pub fn severity_cell(sev: u8) -> Markup {
    let (class, text) = match sev {
        0 | 1 => ("sev1", "high"),
        2 => ("sev2", "medium"),
        _ => ("sev3", "low"),
    };
    html! { span class=(class) { (text) } }
}

/// A table of alerts, each linked to its page.
pub fn alert_table(ctx: &Ctx<'_>, rows: &[AlertRow]) -> Markup {
    html! {
        @if rows.is_empty() {
            p.empty { "No alerts." }
        } @else {
            table.alerts {
                thead { tr { th { "time" } th { "severity" } th { "detector" } th { "message" } th { "source" } th { "destination" } th { "ack" } } }
                tbody {
                    @for a in rows {
                        tr {
                            td { a href=(ctx.link(&paths::alert_file(a.id))) { (ts_text(a.ts)) } }
                            td { (severity_cell(a.severity)) }
                            td { (a.detector) }
                            td.msg { (a.msg) }
                            td { (addr_link(ctx, a.src.as_deref())) }
                            td { (a.dst.as_deref().unwrap_or("-")) @if let Some(p) = a.dport { ":" (p) } }
                            td { @if a.acked.is_some() { "✓" } }
                        }
                    }
                }
            }
        }
    }
}

/// A hidden CSRF field and a button that posts `fields` to `action`
/// (live mode only; nothing in static files).
pub fn post_button(ctx: &Ctx<'_>, action: &str, fields: &[(&str, &str)], label: &str) -> Markup {
    match ctx.mode {
        Mode::Static => PreEscaped(String::new()),
        Mode::Live { csrf, .. } => html! {
            form.inline method="post" action=(ctx.link(action)) {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="back" value=(ctx.here);
                @for (k, v) in fields { input type="hidden" name=(k) value=(v); }
                button type="submit" { (label) }
            }
        },
    }
}

/// "previous · up · next" links.
pub fn chain(
    prev: Option<(String, String)>,
    up: (String, String),
    next: Option<(String, String)>,
) -> Markup {
    html! {
        nav.chain {
            @match prev { Some((href, text)) => a rel="prev" href=(href) { "← " (text) }, None => span.off { "← (first)" } }
            " · " a rel="up" href=(up.0) { "↑ " (up.1) } " · "
            @match next { Some((href, text)) => a rel="next" href=(href) { (text) " →" }, None => span.off { "(last) →" } }
        }
    }
}
