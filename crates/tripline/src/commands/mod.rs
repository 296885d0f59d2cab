//! One file per subcommand.

mod analyze;
mod config_cmd;
mod config_import;
mod conns;
mod reduce;

use crate::cli::{Cli, Command};
use std::process::ExitCode;

/// Runs the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze::run(cli.config.as_deref(), args),
        Command::Reduce(args) => reduce::run(cli.config.as_deref(), args),
        Command::Config(cmd) => config_cmd::run(cli.config.as_deref(), cmd),
        Command::Conns(args) => conns::run(cli.config.as_deref(), args),
    }
}
