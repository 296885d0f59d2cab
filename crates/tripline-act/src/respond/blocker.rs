//! Blocking and unblocking through the safety rules, producing the record
//! the store keeps.

use super::backend::{Firewall, Member};
use super::duration::BlockDuration;
use super::error::RespondError;
use super::safeguard::Safeguard;
use std::net::IpAddr;
use tripline_core::Timestamp;
use tripline_store::{BlockAction, BlockRecord};

/// The wall clock now.
pub fn wall_clock() -> Timestamp {
    Timestamp::now()
}

/// When a block made at `now` for `duration` ends.
pub fn expiry(now: Timestamp, duration: BlockDuration) -> Option<Timestamp> {
    duration
        .timeout()
        .map(|d| now.add_nanos(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
}

/// A firewall behind the safety rules.
pub struct Blocker {
    firewall: Box<dyn Firewall>,
    safeguard: Safeguard,
}

impl Blocker {
    /// Blocks through `firewall`, checked by `safeguard`.
    pub fn new(firewall: Box<dyn Firewall>, safeguard: Safeguard) -> Self {
        Blocker {
            firewall,
            safeguard,
        }
    }

    /// The safety rules (automatic admission changes their state).
    pub fn safeguard_mut(&mut self) -> &mut Safeguard {
        &mut self.safeguard
    }

    /// The safety rules.
    pub fn safeguard(&self) -> &Safeguard {
        &self.safeguard
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.firewall.name()
    }

    /// A manual block (`tripline block`): refused for protected addresses
    /// unless `force`, and for loopback/unspecified always.
    pub fn block_manual(
        &mut self,
        addr: IpAddr,
        duration: BlockDuration,
        force: bool,
        reason: &str,
        now: Timestamp,
    ) -> Result<BlockRecord, RespondError> {
        let addr = addr.to_canonical();
        self.safeguard
            .check_manual(addr, force)
            .map_err(|reason| RespondError::Refused { addr, reason })?;
        self.apply(addr, duration, false, reason, now)
    }

    /// Puts `addr` into the block set without checking: callers have
    /// passed the [`Safeguard`] already.
    pub(crate) fn apply(
        &mut self,
        addr: IpAddr,
        duration: BlockDuration,
        automatic: bool,
        reason: &str,
        now: Timestamp,
    ) -> Result<BlockRecord, RespondError> {
        self.firewall.block(addr, duration)?;
        Ok(BlockRecord {
            ts: now,
            action: BlockAction::Block,
            address: addr,
            expires: expiry(now, duration),
            backend: self.firewall.name().to_string(),
            automatic,
            reason: reason.to_string(),
        })
    }

    /// Takes `addr` out of the block set; `None` when it was not there.
    pub fn unblock(
        &mut self,
        addr: IpAddr,
        reason: &str,
        now: Timestamp,
    ) -> Result<Option<BlockRecord>, RespondError> {
        let addr = addr.to_canonical();
        if !self.firewall.unblock(addr)? {
            return Ok(None);
        }
        Ok(Some(BlockRecord {
            ts: now,
            action: BlockAction::Unblock,
            address: addr,
            expires: None,
            backend: self.firewall.name().to_string(),
            automatic: false,
            reason: reason.to_string(),
        }))
    }

    /// The addresses blocked now, from the kernel.
    pub fn members(&mut self) -> Result<Vec<Member>, RespondError> {
        self.firewall.members()
    }
}
