//! `tripline block`, `unblock` and `blocks`: manual blocking through the
//! same safety rules as automatic responses, recorded in the store.

use crate::cli::{BlockArgs, BlocksArgs, UnblockArgs};
use crate::config::Config;
use anyhow::{Context, Result};
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use tripline_act::respond::{
    BlockDuration, Blocker, Protected, RespondError, Safeguard, open_firewall, wall_clock,
};
use tripline_core::Timestamp;
use tripline_store::{BlockAction, BlockRecord, Store};

/// The protected addresses the configuration names: home networks,
/// `[respond]` gateways, DNS servers and `never_block`, and the remote side
/// of every `[[connwatch.allow]]` rule that names one.
pub fn protected(cfg: &Config) -> Protected {
    Protected {
        home_nets: cfg.home_nets(),
        gateways: cfg.respond.gateways.clone(),
        dns_servers: cfg.respond.dns_servers.clone(),
        allowed: cfg
            .connwatch
            .allow
            .iter()
            .filter_map(|r| r.theirs)
            .collect(),
        never_block: cfg.respond.never_block.clone(),
    }
}

/// A blocker for the configured backend behind the configured safety rules.
pub fn blocker(cfg: &Config) -> Result<Blocker> {
    let fw = open_firewall(cfg.respond.backend)?;
    Ok(Blocker::new(
        fw,
        Safeguard::new(protected(cfg), cfg.respond.limits()),
    ))
}

/// Blocks `addr` through the configured backend behind the safety rules
/// and records it in `store`: the one path of `tripline block` and of the
/// web UI's Block button. A refusal is a [`RespondError::Refused`] inside
/// the error.
pub(crate) fn block_and_record(
    cfg: &Config,
    store: &Store,
    addr: std::net::IpAddr,
    duration: BlockDuration,
    force: bool,
    reason: &str,
) -> Result<BlockRecord> {
    let mut blocker = blocker(cfg)?;
    let record = blocker.block_manual(addr, duration, force, reason, wall_clock())?;
    store.record_block(&record)?;
    Ok(record)
}

/// Takes `addr` out of the block set and records it in `store` (`None`
/// when it was not blocked): `tripline unblock` and the web UI's Unblock.
pub(crate) fn unblock_and_record(
    cfg: &Config,
    store: &Store,
    addr: std::net::IpAddr,
    reason: &str,
) -> Result<Option<BlockRecord>> {
    let mut blocker = blocker(cfg)?;
    let record = blocker.unblock(addr, reason, wall_clock())?;
    if let Some(r) = &record {
        store.record_block(r)?;
    }
    Ok(record)
}

/// Runs `tripline block`.
pub fn run_block(explicit_cfg: Option<&Path>, args: BlockArgs) -> Result<ExitCode> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let duration = match &args.duration {
        Some(text) => text.parse::<BlockDuration>().context("--for")?,
        None => cfg.respond.manual_duration,
    };
    let store = Store::open(&cfg.store_path(args.db.as_deref()))?;
    let reason = args.reason.as_deref().unwrap_or("manual");
    let record = match block_and_record(&cfg, &store, args.addr, duration, args.force, reason) {
        Ok(r) => r,
        Err(e) => match e.downcast_ref::<RespondError>() {
            Some(RespondError::Refused { addr, reason }) => {
                let hint = if reason.overridable() {
                    " (use --force to block it anyway)"
                } else {
                    ""
                };
                eprintln!("tripline: refusing to block {addr}: {reason}{hint}");
                return Ok(ExitCode::from(2));
            }
            _ => return Err(e),
        },
    };
    println!(
        "blocked {} for {} ({}){}",
        record.address,
        duration,
        record.backend,
        record
            .expires
            .map(|t| format!(", until {}", civil(t)))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `tripline unblock`.
pub fn run_unblock(explicit_cfg: Option<&Path>, args: UnblockArgs) -> Result<ExitCode> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let store = Store::open(&cfg.store_path(args.db.as_deref()))?;
    let reason = args.reason.as_deref().unwrap_or("manual");
    match unblock_and_record(&cfg, &store, args.addr, reason)? {
        Some(record) => {
            println!("unblocked {} ({})", record.address, record.backend);
            Ok(ExitCode::SUCCESS)
        }
        None => {
            eprintln!("tripline: {} is not blocked", args.addr.to_canonical());
            Ok(ExitCode::from(1))
        }
    }
}

/// Runs `tripline blocks`.
pub fn run_blocks(explicit_cfg: Option<&Path>, args: BlocksArgs) -> Result<ExitCode> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let store = Store::open(&cfg.store_path(args.db.as_deref()))?;
    let mut members = blocker(&cfg)?.members()?;
    members.sort_by_key(|m| (m.addr.is_ipv6(), m.addr));
    let history = store.recent_blocks(None, args.history)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        let v = serde_json::json!({
            "blocked": members.iter().map(|m| serde_json::json!({
                "address": m.addr.to_string(),
                "seconds_left": m.remaining.map(|d| d.as_secs()),
                "reason": last_reason(&store, m.addr),
            })).collect::<Vec<_>>(),
            "history": history.iter().map(history_json).collect::<Vec<_>>(),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "blocked now: {}", members.len())?;
    for m in &members {
        let left = match m.remaining {
            Some(d) => format!(
                "{} left",
                BlockDuration::For(d.max(std::time::Duration::from_secs(1)))
            ),
            None => "permanent".into(),
        };
        let why = last_reason(&store, m.addr).unwrap_or_default();
        writeln!(out, "  {:<40} {:<12} {}", m.addr, left, why)?;
    }
    writeln!(out, "recent history ({} newest):", history.len())?;
    for r in &history {
        writeln!(
            out,
            "  {}  {:<7} {:<40} {:<9} {:<5} {}",
            civil(r.ts),
            r.action.as_str(),
            r.address,
            if r.automatic { "automatic" } else { "manual" },
            r.backend,
            r.reason
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The reason of the newest block of `addr` in the store.
fn last_reason(store: &Store, addr: std::net::IpAddr) -> Option<String> {
    store
        .recent_blocks(Some(addr), 8)
        .ok()?
        .into_iter()
        .find(|r| r.action == BlockAction::Block)
        .map(|r| r.reason)
}

fn history_json(r: &BlockRecord) -> serde_json::Value {
    serde_json::json!({
        "ts": civil(r.ts),
        "action": r.action.as_str(),
        "address": r.address.to_string(),
        "expires": r.expires.map(civil),
        "backend": r.backend,
        "automatic": r.automatic,
        "reason": r.reason,
    })
}

/// `2026-11-22 12:00:00Z`.
pub(crate) fn civil(t: Timestamp) -> String {
    let (y, mo, d, h, mi, s) = t.to_civil();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}Z")
}
