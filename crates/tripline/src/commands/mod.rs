//! One file per subcommand.

mod allow_deny;
mod analyze;
mod block;
mod blocklist;
mod config_cmd;
mod config_edit;
mod config_import;
mod conns;
mod filter;
mod profile;
mod reduce;
mod report;
mod rules;
mod serve;
mod status;
mod translate;
mod trap;
mod triage;

pub use serve::WebSection;

use crate::cli::{Cli, Command};
use std::process::ExitCode;

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze::run(cli.config.as_deref(), args),
        Command::Reduce(args) => reduce::run(cli.config.as_deref(), args),
        Command::Config(cmd) => config_cmd::run(cli.config.as_deref(), cmd),
        Command::Conns(args) => conns::run(cli.config.as_deref(), args),
        Command::Triage(args) => triage::run(cli.config.as_deref(), args),
        Command::Allow(args) => allow_deny::run_allow(cli.config.as_deref(), args),
        Command::Deny(args) => allow_deny::run_deny(cli.config.as_deref(), args),
        Command::Blocklist(cmd) => blocklist::run(cli.config.as_deref(), cmd),
        Command::Trap(args) => trap::run(cli.config.as_deref(), args),
        Command::Rules(cmd) => rules::run(cli.config.as_deref(), cmd),
        Command::Status(args) => status::run(cli.config.as_deref(), args),
        Command::Profile(args) => profile::run(cli.config.as_deref(), args),
        Command::Block(args) => block::run_block(cli.config.as_deref(), args),
        Command::Unblock(args) => block::run_unblock(cli.config.as_deref(), args),
        Command::Blocks(args) => block::run_blocks(cli.config.as_deref(), args),
        Command::Report(args) => report::run(cli.config.as_deref(), args),
        Command::Serve(args) => serve::run(cli.config.as_deref(), args),
        Command::Filter(args) => filter::run(args),
    }
}
