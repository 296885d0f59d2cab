//! Home networks: which addresses are "ours", and the direction of traffic.

use crate::Direction;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 prefix such as `192.168.1.0/24` or `fd00::/8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix_len: u8,
}

/// Why a prefix did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CidrParseError(pub String);

impl fmt::Display for CidrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid address prefix {:?} (expected e.g. 192.168.1.0/24 or fd00::/8)",
            self.0
        )
    }
}

impl std::error::Error for CidrParseError {}

impl Cidr {
    /// A prefix; the address is masked to the prefix length.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Option<Cidr> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return None;
        }
        Some(Cidr {
            addr: mask(addr, prefix_len),
            prefix_len,
        })
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// True when `ip` is inside this prefix (an IPv4 prefix never contains an
    /// IPv6 address and vice versa, except IPv4-mapped IPv6 addresses).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) if self.addr.is_ipv4() => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            other => other,
        };
        ip.is_ipv4() == self.addr.is_ipv4() && mask(ip, self.prefix_len) == self.addr
    }
}

fn mask(addr: IpAddr, len: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - len as u32)
            };
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len as u32)
            };
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

impl FromStr for Cidr {
    type Err = CidrParseError;

    /// `a.b.c.d/n`, `x::y/n`, or a bare address (a host prefix).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || CidrParseError(s.to_string());
        let t = s.trim();
        let (addr, len) = match t.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u8>().map_err(|_| err())?)),
            None => (t, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| err())?;
        let len = len.unwrap_or(if addr.is_ipv4() { 32 } else { 128 });
        Cidr::new(addr, len).ok_or_else(err)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix_len)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The set of prefixes that make up the home network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HomeNets {
    prefixes: Vec<Cidr>,
}

impl HomeNets {
    /// From a list of prefixes.
    pub fn new(prefixes: Vec<Cidr>) -> Self {
        HomeNets { prefixes }
    }

    /// Parses each string as a prefix.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, CidrParseError> {
        items
            .iter()
            .map(|s| s.as_ref().parse())
            .collect::<Result<Vec<_>, _>>()
            .map(HomeNets::new)
    }

    /// The prefixes.
    pub fn prefixes(&self) -> &[Cidr] {
        &self.prefixes
    }

    /// True when no home network is configured.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// True when `ip` belongs to the home network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.prefixes.iter().any(|c| c.contains(ip))
    }

    /// The direction of traffic from `src` to `dst`.
    pub fn direction(&self, src: IpAddr, dst: IpAddr) -> Direction {
        match (self.contains(src), self.contains(dst)) {
            (true, true) => Direction::Internal,
            (true, false) => Direction::Outbound,
            (false, true) => Direction::Inbound,
            (false, false) => Direction::External,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v4_and_v6_prefixes() {
        let nets = HomeNets::parse(&["10.99.1.0/24", "fd99:1::/64"]).unwrap();
        assert!(nets.contains(ip("10.99.1.3")));
        assert!(!nets.contains(ip("10.99.2.66")));
        assert!(nets.contains(ip("fd99:1::2")));
        assert!(nets.contains(ip("fd99:0001:0000:0000:0000:0000:0000:0002")));
        assert!(!nets.contains(ip("fd99:2::66")));
        assert!(nets.contains(ip("::ffff:10.99.1.9")));
        assert_eq!(
            nets.direction(ip("10.99.1.2"), ip("10.99.2.2")),
            Direction::Outbound
        );
        assert_eq!(
            nets.direction(ip("10.99.2.66"), ip("10.99.1.3")),
            Direction::Inbound
        );
        assert_eq!(
            nets.direction(ip("10.99.1.2"), ip("10.99.1.3")),
            Direction::Internal
        );
        assert_eq!(
            nets.direction(ip("10.99.2.2"), ip("10.99.2.3")),
            Direction::External
        );
    }

    #[test]
    fn parse_errors_and_edges() {
        assert!("10.0.0.0/33".parse::<Cidr>().is_err());
        assert!("10.0.0/8".parse::<Cidr>().is_err());
        assert!("::/129".parse::<Cidr>().is_err());
        assert_eq!(
            "10.1.2.3/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("1.2.3.4")));
        assert_eq!("192.0.2.7".parse::<Cidr>().unwrap().prefix_len(), 32);
    }
}
