//! Notifications (`[notify]`) wired into analyze's outputs: each stored
//! alert goes to the [`Notifier`], whose channel workers deliver off the
//! detection path; its `notifications` rows are written to the store.
//!
//! One notifier per process, installed by `analyze` before reading: the
//! outputs are rebuilt per input (files, live capture, followed logs) but
//! episodes, rate limits and digests must span the whole run. Rows are
//! written through a connection of their own to the same database, after
//! the outputs' open batch is committed (so each row finds its alert and
//! the two connections never wait on each other): every
//! [`ROWS_PER_WRITE`] rows, and at the end of the run.

use crate::config::Config;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use tripline_act::notify::Notifier;
use tripline_core::Alert;
use tripline_store::{Store, StoreSink};

/// Notification rows collected before they are written.
const ROWS_PER_WRITE: usize = 10_000;

struct Notify {
    notifier: Notifier,
    store: Option<Store>,
    pending: usize,
}

static NOTIFY: Mutex<Option<Notify>> = Mutex::new(None);

fn notify() -> MutexGuard<'static, Option<Notify>> {
    NOTIFY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs the notifier when a channel is configured; profiles are read
/// from, and rows written to, the store at `db` (none: `--no-store`).
pub fn install(cfg: &Config, db: Option<&Path>) -> Result<()> {
    let Some(notifier) = Notifier::from_config(&cfg.notify, db).context("[notify]")? else {
        return Ok(());
    };
    let store = db.map(Store::open).transpose()?;
    *notify() = Some(Notify {
        notifier,
        store,
        pending: 0,
    });
    Ok(())
}

/// Hands a stored alert to the notifier, if one is installed.
pub fn on_alert(alert: &Alert, sink: Option<&mut StoreSink<'_>>) -> Result<()> {
    let mut guard = notify();
    let Some(n) = guard.as_mut() else {
        return Ok(());
    };
    n.notifier.alert(alert);
    n.pending += 1;
    if n.pending >= ROWS_PER_WRITE {
        n.pending = 0;
        if let Some(s) = sink {
            s.flush()?;
        }
        write(n)?;
    }
    Ok(())
}

fn write(n: &mut Notify) -> Result<()> {
    match n.store.as_mut() {
        Some(store) => {
            n.notifier.write_rows(store)?;
        }
        None => drop(n.notifier.take_rows()),
    }
    Ok(())
}

/// Ends notifying: sends the pending digests, waits for the deliveries,
/// writes the rows, and returns one line about it (`None` when not installed).
pub fn finish() -> Result<Option<String>> {
    let mut guard = notify();
    let Some(n) = guard.as_mut() else {
        return Ok(None);
    };
    let s = n.notifier.finish();
    write(n)?;
    Ok(Some(format!(
        "notify ({}): {} sent ({} digests), {} suppressed, {} digested, {} failed{}",
        n.notifier.channels().join(", "),
        s.sent,
        s.digests,
        s.suppressed,
        s.digested,
        s.failed,
        if s.queue_full > 0 {
            format!(", {} dropped on a full queue", s.queue_full)
        } else {
            String::new()
        }
    )))
}
