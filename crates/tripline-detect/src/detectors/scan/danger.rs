//! psad-compatible danger levels and per-address overrides.
//!
//! psad assigns a source a danger level from 1 to 5 by the number of packets
//! it has logged from it within the scan timeout (`DANGER_LEVEL1..5` = 5, 15,
//! 150, 1500, 10000). tripline uses the same packet thresholds and also
//! raises the level by the number of distinct hosts hit (10, 20, 50, 100,
//! 500), so a wide but shallow sweep is not rated below a deep scan of one
//! host. psad's `auto_dl` file pins the level of listed addresses; level 0
//! means "ignore this source".

use std::net::IpAddr;
use tripline_core::Cidr;

/// Thresholds for levels 1 to 5 (index 0 is level 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DangerThresholds {
    /// Probe packets from one source within the scan timeout.
    pub packets: [u64; 5],
    /// Distinct destination hosts probed by one source.
    pub hosts: [u64; 5],
}

impl Default for DangerThresholds {
    /// psad's defaults (`psad.conf` DANGER_LEVEL1..5) and the host counts.
    fn default() -> Self {
        DangerThresholds {
            packets: [5, 15, 150, 1500, 10_000],
            hosts: [10, 20, 50, 100, 500],
        }
    }
}

fn level_of(value: u64, thresholds: &[u64; 5]) -> u8 {
    thresholds.iter().take_while(|t| value >= **t).count() as u8
}

impl DangerThresholds {
    /// The level (0 to 5) for these counts: the higher of the packet level
    /// and the host level. 0 means below every threshold.
    pub fn level(&self, packets: u64, hosts: u64) -> u8 {
        level_of(packets, &self.packets).max(level_of(hosts, &self.hosts))
    }

    /// True when both threshold lists are non-decreasing.
    pub fn is_valid(&self) -> bool {
        self.packets.windows(2).all(|w| w[0] <= w[1]) && self.hosts.windows(2).all(|w| w[0] <= w[1])
    }
}

/// One `auto_dl` entry: an address or prefix and its fixed level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DangerOverride {
    /// The address or prefix.
    pub prefix: Cidr,
    /// The level to report, 1 to 5; 0 ignores the source entirely.
    pub level: u8,
}

/// Finds the override for `addr`: the longest matching prefix wins.
pub fn override_for(overrides: &[DangerOverride], addr: IpAddr) -> Option<u8> {
    overrides
        .iter()
        .filter(|o| o.prefix.contains(addr))
        .max_by_key(|o| o.prefix.prefix_len())
        .map(|o| o.level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psad_packet_levels() {
        let t = DangerThresholds::default();
        assert_eq!(t.level(4, 1), 0);
        assert_eq!(t.level(5, 1), 1);
        assert_eq!(t.level(34, 1), 2);
        assert_eq!(t.level(1002, 1), 3);
        assert_eq!(t.level(12_690, 17), 5);
        assert_eq!(t.level(9_999, 17), 4);
        assert_eq!(t.level(12, 11), 1);
        assert_eq!(t.level(30, 100), 4);
        assert!(t.is_valid());
    }

    #[test]
    fn longest_prefix_wins() {
        let o = [
            DangerOverride {
                prefix: "10.0.0.0/8".parse().unwrap(),
                level: 5,
            },
            DangerOverride {
                prefix: "10.99.1.3".parse().unwrap(),
                level: 0,
            },
        ];
        assert_eq!(override_for(&o, "10.99.1.3".parse().unwrap()), Some(0));
        assert_eq!(override_for(&o, "10.99.1.4".parse().unwrap()), Some(5));
        assert_eq!(override_for(&o, "192.168.1.1".parse().unwrap()), None);
    }
}
