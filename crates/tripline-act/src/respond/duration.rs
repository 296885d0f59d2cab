//! How long a block lasts: `30s`, `10m`, `2h`, `1d`, `1w`, or `permanent`.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The longest timed block (nftables keeps element timeouts in
/// milliseconds in 64 bits, ipset in seconds in 32 bits): about 136 years
/// would overflow ipset, so a year is the cap.
pub const MAX_BLOCK: Duration = Duration::from_secs(366 * 86_400);

/// How long a block lasts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockDuration {
    /// Until this much time has passed (the kernel removes the element).
    For(Duration),
    /// Until `tripline unblock`.
    Permanent,
}

impl BlockDuration {
    /// The timeout, or `None` when permanent.
    pub fn timeout(self) -> Option<Duration> {
        match self {
            BlockDuration::For(d) => Some(d),
            BlockDuration::Permanent => None,
        }
    }
}

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationParseError(pub String);

impl fmt::Display for DurationParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid block duration {:?} (expected e.g. 90s, 10m, 2h, 1d, 1w or permanent; 1s to 366d)",
            self.0
        )
    }
}

impl std::error::Error for DurationParseError {}

impl FromStr for BlockDuration {
    type Err = DurationParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationParseError(s.to_string());
        let t = s.trim();
        if t.eq_ignore_ascii_case("permanent") {
            return Ok(BlockDuration::Permanent);
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: u64 = num.parse().map_err(|_| err())?;
        let mult = match unit {
            "" | "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            _ => return Err(err()),
        };
        let secs = n.checked_mul(mult).ok_or_else(err)?;
        let d = Duration::from_secs(secs);
        if secs == 0 || d > MAX_BLOCK {
            return Err(err());
        }
        Ok(BlockDuration::For(d))
    }
}

impl fmt::Display for BlockDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockDuration::Permanent => f.write_str("permanent"),
            BlockDuration::For(d) => {
                let s = d.as_secs();
                for (unit, n) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] {
                    if s >= n && s % n == 0 {
                        return write!(f, "{}{unit}", s / n);
                    }
                }
                write!(f, "{s}s")
            }
        }
    }
}

impl<'de> Deserialize<'de> for BlockDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_round_trip() {
        for (text, secs) in [
            ("90s", 90),
            ("10m", 600),
            ("2h", 7200),
            ("1d", 86_400),
            ("45", 45),
        ] {
            let d: BlockDuration = text.parse().unwrap();
            assert_eq!(d, BlockDuration::For(Duration::from_secs(secs)));
            assert_eq!(d.to_string().parse::<BlockDuration>().unwrap(), d);
        }
        assert_eq!("Permanent".parse(), Ok(BlockDuration::Permanent));
        for bad in ["", "0s", "5x", "-3m", "367d", "99999999999999999999w", "m"] {
            assert!(bad.parse::<BlockDuration>().is_err(), "{bad}");
        }
    }
}
