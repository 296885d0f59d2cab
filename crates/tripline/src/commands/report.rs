//! `tripline report --out DIR`: the static report site (index of days and
//! hours, hour and day pages, source and alert pages, SVG charts and link
//! graphs) written from the store, readable from `file://`.

use crate::cli::ReportArgs;
use crate::commands::status::open_existing;
use crate::config::Config;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;
use tripline_web::{ReportOptions, write_report};

/// Runs `tripline report`.
pub fn run(explicit_cfg: Option<&Path>, args: ReportArgs) -> Result<ExitCode> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let store = open_existing(explicit_cfg, args.db)?;
    let opts = ReportOptions {
        max_sources: cfg.web.max_source_pages,
        max_alerts: cfg.web.max_alert_pages,
        graph_layout: cfg.web.graph_layout,
    };
    let started = Instant::now();
    let stats = write_report(&store, &args.out, &opts)
        .with_context(|| format!("writing the report into {}", args.out.display()))?;
    eprintln!(
        "report: {} pages ({} days, {} hour pages, {} sources, {} alerts), {} bytes, largest page {} bytes, in {:.2} s",
        stats.pages,
        stats.days,
        stats.hour_pages,
        stats.sources,
        stats.alerts,
        stats.bytes,
        stats.largest_page,
        started.elapsed().as_secs_f64()
    );
    if stats.sources_left_out > 0 || stats.alerts_left_out > 0 {
        eprintln!(
            "report: left out {} source pages and {} alert pages (web.max_source_pages, web.max_alert_pages)",
            stats.sources_left_out, stats.alerts_left_out
        );
    }
    println!("{}", args.out.join("index.html").display());
    Ok(ExitCode::SUCCESS)
}
