//! Blocking responses, their safety rules, and rule translation.
//!
//! * [`Firewall`] is the kernel side: [`NftFirewall`] (table
//!   `inet tripline`, sets with per-element timeouts) or [`IpsetFirewall`]
//!   (iptables/ip6tables + ipset), chosen by [`open_firewall`].
//! * [`Safeguard`] is the one place the safety rules live; [`Blocker`]
//!   puts every manual block through it, [`AutoBlocker`] every automatic
//!   one, judging alerts by their [`Evidence`].
//! * [`translate`] turns signatures into nftables or iptables rules.

mod auto;
mod backend;
mod blocker;
mod config;
mod duration;
mod error;
mod evidence;
mod ipset;
mod nft;
mod safeguard;
mod tool;
pub mod translate;

pub use auto::{AutoBlockMetrics, AutoBlocker};
pub use backend::{BackendChoice, Firewall, Member, open_firewall};
pub use blocker::{Blocker, expiry, wall_clock};
pub use config::RespondConfig;
pub use duration::{BlockDuration, DurationParseError, MAX_BLOCK};
pub use error::RespondError;
pub use evidence::Evidence;
pub use ipset::{IPSET_V4, IPSET_V6, IPTABLES_CHAIN, IpsetFirewall, parse_ipset_save};
pub use nft::{
    NFT_SET_V4, NFT_SET_V6, NFT_TABLE, NftFirewall, block_script, install_script, parse_set_json,
};
pub use safeguard::{AutoLimits, Protected, Refusal, Safeguard};
pub use tool::{TOOL_TIMEOUT, run_tool};
