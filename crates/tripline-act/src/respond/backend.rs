//! The firewall behind a block: one small trait, two implementations
//! (nftables, and iptables with ipset), and the choice between them.

use super::duration::BlockDuration;
use super::error::RespondError;
use super::ipset::IpsetFirewall;
use super::nft::NftFirewall;
use super::tool::tool_available;
use serde::Deserialize;
use std::net::IpAddr;
use std::time::Duration;

/// An address in the block set, as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Member {
    /// The blocked address.
    pub addr: IpAddr,
    /// Time left before the kernel removes it (`None`: permanent).
    pub remaining: Option<Duration>,
}

/// A firewall that can drop everything from a set of addresses.
///
/// Implementations keep to their own objects (nftables: table
/// `inet tripline`; iptables: chain `TRIPLINE_BLOCK` and ipsets
/// `tripline_block_v4`/`_v6`) and never change anything else, except the
/// single jump into their chain that iptables needs.
pub trait Firewall: Send {
    /// The backend's name as recorded in the store (`nft`, `ipset`).
    fn name(&self) -> &'static str;
    /// Creates the sets and the dropping chains if missing (idempotent).
    fn install(&mut self) -> Result<(), RespondError>;
    /// Adds `addr`, or replaces its timeout when it is already there.
    fn block(&mut self, addr: IpAddr, duration: BlockDuration) -> Result<(), RespondError>;
    /// Removes `addr`; `Ok(false)` when it was not in the set.
    fn unblock(&mut self, addr: IpAddr) -> Result<bool, RespondError>;
    /// The addresses in the set now.
    fn members(&mut self) -> Result<Vec<Member>, RespondError>;
    /// Removes everything this backend created.
    fn uninstall(&mut self) -> Result<(), RespondError>;
}

/// Which backend to use (`[respond] backend`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendChoice {
    /// nftables when `nft` works, else iptables + ipset.
    #[default]
    Auto,
    /// nftables.
    Nft,
    /// iptables/ip6tables with ipset.
    Ipset,
}

impl BackendChoice {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Nft => "nft",
            BackendChoice::Ipset => "ipset",
        }
    }
}

/// Opens the chosen backend; `Auto` probes for `nft`, then for `ipset`
/// and `iptables`.
pub fn open_firewall(choice: BackendChoice) -> Result<Box<dyn Firewall>, RespondError> {
    match choice {
        BackendChoice::Nft => Ok(Box::new(NftFirewall::new())),
        BackendChoice::Ipset => Ok(Box::new(IpsetFirewall::new())),
        BackendChoice::Auto => {
            if tool_available("nft") {
                Ok(Box::new(NftFirewall::new()))
            } else if tool_available("ipset") && tool_available("iptables") {
                Ok(Box::new(IpsetFirewall::new()))
            } else {
                Err(RespondError::NoBackend(
                    "neither `nft` nor `ipset` + `iptables` could be run (install nftables, or iptables and ipset)"
                        .into(),
                ))
            }
        }
    }
}

/// Whole seconds of a timeout, at least 1 (both tools count in seconds).
pub(crate) fn timeout_secs(d: Duration) -> u64 {
    d.as_secs().max(1)
}
