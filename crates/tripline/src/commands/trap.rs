//! `tripline trap`: listen on trap ports; every contact goes through the
//! engine (tripwire alerts) into the store, like any other input.

use super::analyze::AnalyzeOutputs;
use crate::cli::TrapArgs;
use crate::config::Config;
use crate::interrupt;
use crate::pipeline::{self, Run};
use crate::progress::Progress;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tripline_ingest::trap::{TrapConfig, TrapSource, parse_ports};
use tripline_store::{InputStats, NewInput, Store};

/// Runs the listeners until Ctrl-C or SIGTERM.
pub fn run(explicit_cfg: Option<&Path>, args: TrapArgs) -> Result<ExitCode> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let defaults = TrapConfig::default();
    let ports = match &args.ports {
        Some(p) => p.clone(),
        None if !cfg.tripwire.listen.is_empty() => cfg.tripwire.listen.join(","),
        None => anyhow::bail!(
            "no trap ports: give --ports 23,2323/tcp,161/udp or set [tripwire] listen"
        ),
    };
    let trap_cfg = TrapConfig {
        bind: args.bind.unwrap_or(defaults.bind),
        ports: parse_ports(&ports)?,
        max_connections: args.max_connections.unwrap_or(defaults.max_connections),
        max_per_source: args.max_per_source.unwrap_or(defaults.max_per_source),
        read_timeout: args
            .read_timeout_ms
            .map_or(defaults.read_timeout, Duration::from_millis),
        ..defaults
    };
    let mut source = TrapSource::bind(trap_cfg.clone())
        .with_context(|| format!("cannot listen on {} ports {ports}", trap_cfg.bind))?;
    for (p, addr) in source.local_addrs() {
        eprintln!("tripline: trap listening on {addr} ({p})");
    }
    let mut store = if args.no_store {
        None
    } else {
        Some(Store::open(&cfg.store_path(args.db.as_deref()))?)
    };
    interrupt::install();
    let mut run = Run::new(pipeline::engine_config(&cfg), Progress::new(0, true));
    run.stop_on(interrupt::flag());
    let id = match &store {
        Some(s) => Some(s.begin_input(&NewInput {
            path: "trap",
            size: None,
            hash: None,
            format: "live",
        })?),
        None => None,
    };
    let mut out = AnalyzeOutputs::new(store.as_mut(), id, None);
    let fed = run.feed(&mut source, &mut out)?;
    run.finish(&mut out)?;
    out.finish()?;
    if let (Some(store), Some(id)) = (&store, id) {
        store.finish_input(
            id,
            &InputStats {
                first_ts: fed.first_ts,
                last_ts: fed.last_ts,
                units: fed.stats.units,
                records: fed.stats.records,
                skipped: fed.stats.skipped,
                errors: fed.stats.error_count(),
            },
        )?;
    }
    let t = source.stats();
    println!(
        "trap: {} contacts recorded; {} TCP accepted ({} refused at the global cap, {} at the per-source cap), {} UDP datagrams, {} dropped, peak {} open",
        fed.stats.records,
        t.accepted,
        t.refused_global,
        t.refused_per_source,
        t.datagrams,
        t.dropped,
        t.peak_open
    );
    print!("{}", run.summary.render_text());
    Ok(ExitCode::SUCCESS)
}
