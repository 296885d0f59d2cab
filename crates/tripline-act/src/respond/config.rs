//! `[respond]`: automatic blocking (off by default), the backend, the
//! durations by danger level, the caps and the protected addresses.

use super::backend::BackendChoice;
use super::duration::BlockDuration;
use super::safeguard::AutoLimits;
use serde::Deserialize;
use std::time::Duration;
use tripline_core::Cidr;

/// The `[respond]` section of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// Block automatically while analyzing. Default false.
    pub enabled: bool,
    /// `auto` (nftables if `nft` works, else iptables + ipset), `nft` or `ipset`.
    pub backend: BackendChoice,
    /// Lowest danger level (1-5) that blocks a source. Default 3.
    pub min_danger_level: u8,
    /// Block durations for danger levels 1 to 5. Default 10m, 30m, 1h, 6h, 24h.
    pub durations: [BlockDuration; 5],
    /// Block when a signature whose rule carries the metadata tag `block` fires. Default true.
    pub on_rule_block: bool,
    /// Duration of such a block. Default 1h.
    pub rule_duration: BlockDuration,
    /// Duration of `tripline block` without `--for`. Default 1h.
    pub manual_duration: BlockDuration,
    /// Let `permanent` appear in the durations above. Default false.
    pub allow_permanent: bool,
    /// Block on spoofable evidence too (a single packet, UDP only, no
    /// completed TCP handshake). Default false.
    pub allow_spoofable: bool,
    /// Most automatic blocks started within a minute. Default 10.
    pub max_per_minute: u32,
    /// Most automatic blocks in force at once. Default 1000.
    pub max_total: u32,
    /// Gateways: never blocked.
    pub gateways: Vec<Cidr>,
    /// DNS servers: never blocked.
    pub dns_servers: Vec<Cidr>,
    /// Other addresses or prefixes never blocked.
    pub never_block: Vec<Cidr>,
}

fn mins(m: u64) -> BlockDuration {
    BlockDuration::For(Duration::from_secs(m * 60))
}

impl Default for RespondConfig {
    fn default() -> Self {
        RespondConfig {
            enabled: false,
            backend: BackendChoice::Auto,
            min_danger_level: 3,
            durations: [mins(10), mins(30), mins(60), mins(360), mins(1440)],
            on_rule_block: true,
            rule_duration: mins(60),
            manual_duration: mins(60),
            allow_permanent: false,
            allow_spoofable: false,
            max_per_minute: 10,
            max_total: 1000,
            gateways: Vec::new(),
            dns_servers: Vec::new(),
            never_block: Vec::new(),
        }
    }
}

impl RespondConfig {
    /// Checks the values; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.min_danger_level) {
            return Err("respond.min_danger_level must be 1 to 5".into());
        }
        if self.max_per_minute == 0 || self.max_total == 0 {
            return Err("respond.max_per_minute and respond.max_total must be at least 1".into());
        }
        if !self.allow_permanent {
            let permanent = self
                .durations
                .iter()
                .chain([&self.rule_duration, &self.manual_duration])
                .any(|d| *d == BlockDuration::Permanent);
            if permanent {
                return Err(
                    "respond: a duration is `permanent` but respond.allow_permanent is false"
                        .into(),
                );
            }
        }
        Ok(())
    }

    /// The automatic limits for the [`Safeguard`](super::Safeguard).
    pub fn limits(&self) -> AutoLimits {
        AutoLimits {
            per_minute: self.max_per_minute,
            max_total: self.max_total,
            allow_spoofable: self.allow_spoofable,
        }
    }

    /// The block duration for a danger level (clamped to 1-5).
    pub fn duration_for_level(&self, level: u8) -> BlockDuration {
        self.durations[usize::from(level.clamp(1, 5)) - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_permanent_needs_consent() {
        let d = RespondConfig::default();
        assert!(d.validate().is_ok());
        assert!(!d.enabled);
        let mut p = d.clone();
        p.durations[4] = BlockDuration::Permanent;
        assert!(p.validate().unwrap_err().contains("allow_permanent"));
        p.allow_permanent = true;
        assert!(p.validate().is_ok());
        assert_eq!(d.duration_for_level(9), d.durations[4]);
        assert_eq!(d.duration_for_level(0), d.durations[0]);
    }
}
