//! `tripline rules translate`: signatures to nftables or iptables rules,
//! with a report of what was translated and why the rest was not.

use crate::cli::TranslateTarget;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tripline_act::respond::translate::{FirewallSyntax, translate};
use tripline_rules::{LoadSummary, RuleSet};

/// Translates the rules of `set` (loaded with `summary`) and writes the
/// script to `output` (stdout when `None`); the report goes to stderr.
pub fn run(
    set: &RuleSet,
    summary: &LoadSummary,
    to: TranslateTarget,
    drop: bool,
    output: Option<&Path>,
) -> Result<ExitCode> {
    for e in &summary.errors {
        eprintln!("error: {e}");
    }
    let syntax = match to {
        TranslateTarget::Nft => FirewallSyntax::Nft,
        TranslateTarget::Iptables => FirewallSyntax::Iptables,
    };
    let (script, mut report) = translate(set.rules(), syntax, drop);
    report.add_not_loaded(&summary.skipped_by_reason);
    match output {
        Some(p) => {
            std::fs::write(p, &script).with_context(|| format!("cannot write {}", p.display()))?
        }
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .lock()
                .write_all(script.as_bytes())
                .context("writing the script")?;
        }
    }
    eprint!("{}", report.render());
    if let Some(p) = output {
        eprintln!("wrote {}", PathBuf::from(p).display());
    }
    Ok(if summary.error_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
