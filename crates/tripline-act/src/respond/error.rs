//! What can go wrong when tripline changes the firewall.

use std::net::IpAddr;
use thiserror::Error;

/// A failed firewall operation: every message names the tool and what it said.
#[derive(Debug, Error)]
pub enum RespondError {
    /// The tool could not be started (not installed, not executable).
    #[error("cannot run {tool}: {source}")]
    Spawn {
        /// The program.
        tool: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The tool ran and failed.
    #[error("{tool} {args} failed ({status}): {stderr}")]
    Failed {
        /// The program.
        tool: String,
        /// Its arguments, space-separated.
        args: String,
        /// Exit status as text.
        status: String,
        /// What it wrote to standard error (trimmed, at most 2 KiB).
        stderr: String,
    },
    /// The tool did not finish in time and was killed.
    #[error("{tool} did not finish within {seconds} s and was killed")]
    Timeout {
        /// The program.
        tool: String,
        /// The limit.
        seconds: u64,
    },
    /// The tool's output could not be understood.
    #[error("cannot understand the output of {tool}: {detail}")]
    Output {
        /// The program.
        tool: String,
        /// What was wrong.
        detail: String,
    },
    /// Neither nftables nor iptables with ipset is usable.
    #[error("no firewall backend available: {0}")]
    NoBackend(String),
    /// The safety rules refused the block.
    #[error("refusing to block {addr}: {reason}")]
    Refused {
        /// The address.
        addr: IpAddr,
        /// Why.
        reason: crate::respond::Refusal,
    },
}
