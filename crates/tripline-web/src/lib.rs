//! tripline's report site (`tripline report --out DIR`) and live web UI
//! (`tripline serve`), rendered from the store by one set of templates.
//!
//! * [`pages`]: the templates (maud: checked at compile time, every
//!   interpolation escaped — everything from the network is hostile).
//! * [`charts`] and [`graph`]: server-side SVG, readable without
//!   JavaScript.
//! * [`write_report`]: the static site, linked with relative paths so it
//!   works from `file://`.
//! * [`serve`](mod@serve): the same pages live, with search, triage (through the
//!   caller's [`Triage`]), blocking (through its [`Responder`]), pages
//!   that refresh as data arrives, login, sessions and CSRF protection.

pub mod charts;
mod error;
pub mod graph;
pub mod pages;
pub mod paths;
pub mod payload;
pub mod serve;
mod site;

pub use error::WebError;
pub use graph::GraphLayout;
pub use serve::{Responder, ResponseError, Triage, WebConfig, serve};
pub use site::{ReportOptions, ReportStats, write_report};
