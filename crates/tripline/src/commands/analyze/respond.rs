//! Automatic blocking (`[respond] enabled = true`) wired into analyze's
//! outputs: each alert goes to the [`AutoBlocker`], and every block it makes
//! is recorded in the store's `blocks` table.
//!
//! One responder per process, installed by `analyze` before reading: the
//! outputs are rebuilt per input (files, live capture, followed logs) but
//! the caps and the set of sources blocked must span the whole run. Blocks
//! are recorded through a connection of their own to the same database
//! (also with `--no-store`: an action on the firewall is always recorded),
//! after the outputs' open batch is committed so the two never wait on
//! each other.

use crate::config::Config;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tripline_act::respond::{AutoBlocker, wall_clock};
use tripline_core::Alert;
use tripline_store::{Store, StoreSink};

struct Responder {
    auto: AutoBlocker,
    store: Store,
}

static RESPONDER: Mutex<Option<Responder>> = Mutex::new(None);

fn responder() -> MutexGuard<'static, Option<Responder>> {
    RESPONDER.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the responder when `[respond] enabled`; records blocks in `db`.
pub fn install(cfg: &Config, db: &Path) -> Result<()> {
    if !cfg.respond.enabled {
        return Ok(());
    }
    let blocker = super::super::block::blocker(cfg).context("[respond] enabled")?;
    let store = Store::open(db)?;
    *responder() = Some(Responder {
        auto: AutoBlocker::new(cfg.respond.clone(), blocker),
        store,
    });
    Ok(())
}

/// Shows `alert` to the responder, if one is installed; a block it makes
/// is recorded (after committing `sink`'s open batch).
pub fn on_alert(alert: &Alert, sink: Option<&mut StoreSink<'_>>) -> Result<()> {
    let mut guard = responder();
    let Some(r) = guard.as_mut() else {
        return Ok(());
    };
    if let Some(record) = r.auto.on_alert(alert, wall_clock()) {
        if let Some(s) = sink {
            s.flush()?;
        }
        r.store.record_block(&record)?;
    }
    Ok(())
}

/// One line about what the responder did (`None` when not installed).
pub fn summary() -> Option<String> {
    let guard = responder();
    let m = guard.as_ref()?.auto.metrics();
    let refused = m
        .refused
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "respond: {} blocked, {} extended, {} already blocked, {} refused ({}), {} failed",
        m.blocked,
        m.extended,
        m.already_blocked,
        m.refused.values().sum::<u64>(),
        if refused.is_empty() { "none" } else { &refused },
        m.failed
    ))
}
