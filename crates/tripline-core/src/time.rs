//! Wall-clock timestamps with nanosecond resolution.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Nanoseconds since the Unix epoch (UTC).
///
/// pcap files carry microseconds or nanoseconds, pcapng up to arbitrary
/// resolution, syslog lines whole seconds: nanoseconds hold all of them, and
/// an `i64` reaches the year 2262.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub i64);

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl Timestamp {
    /// The epoch itself, used when a record has no usable time.
    pub const ZERO: Timestamp = Timestamp(0);

    /// From whole seconds and a nanosecond fraction.
    pub fn from_secs_nanos(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(NANOS_PER_SEC)
                .saturating_add(nanos as i64),
        )
    }

    /// From whole seconds and a microsecond fraction.
    pub fn from_secs_micros(secs: i64, micros: u32) -> Self {
        Self::from_secs_nanos(secs, micros.saturating_mul(1000))
    }

    /// From fractional seconds (log formats such as `[ 1704.431438]`).
    pub fn from_secs_f64(secs: f64) -> Self {
        Timestamp((secs * NANOS_PER_SEC as f64).round() as i64)
    }

    /// The wall clock now (for bookkeeping columns and live input; detection
    /// uses record time).
    pub fn now() -> Self {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp::from_secs_nanos(
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        )
    }

    /// Whole seconds since the epoch (floor).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }

    /// Nanosecond fraction of the second.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(NANOS_PER_SEC) as u32
    }

    /// Microsecond fraction of the second.
    pub fn subsec_micros(self) -> u32 {
        self.subsec_nanos() / 1000
    }

    /// Seconds as a float, for durations and rates.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }

    /// `self - earlier` in seconds (never negative).
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        (self.0.saturating_sub(earlier.0)).max(0) as f64 / NANOS_PER_SEC as f64
    }

    /// This timestamp moved by `nanos` (saturating).
    pub fn add_nanos(self, nanos: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(nanos))
    }

    /// The civil UTC date and time: (year, month, day, hour, minute, second).
    pub fn to_civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let secs = self.secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (sod / 3600) as u32,
            ((sod % 3600) / 60) as u32,
            (sod % 60) as u32,
        )
    }

    /// From a civil UTC date and time. Returns `None` for impossible dates.
    pub fn from_civil(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || min > 59
            || sec > 60
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs =
            days.checked_mul(86_400)? + (hour as i64) * 3600 + (min as i64) * 60 + sec as i64;
        Some(Timestamp(secs.checked_mul(NANOS_PER_SEC)?))
    }

    /// Suricata's EVE timestamp: `2026-11-22T12:15:36.275668+0000`.
    pub fn to_eve(self) -> String {
        let (y, mo, d, h, mi, s) = self.to_civil();
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}+0000",
            self.subsec_micros()
        )
    }

    /// `YYYY-MM-DD` in UTC.
    pub fn date_string(self) -> String {
        let (y, mo, d, ..) = self.to_civil();
        format!("{y:04}-{mo:02}-{d:02}")
    }

    /// `HH:MM:SS.uuuuuu` in UTC.
    pub fn time_string(self) -> String {
        let (.., h, mi, s) = self.to_civil();
        format!("{h:02}:{mi:02}:{s:02}.{:06}", self.subsec_micros())
    }
}

/// RFC 3339 in UTC with microseconds: `2026-11-22T12:15:36.275668Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.to_civil();
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
            self.subsec_micros()
        )
    }
}

/// Days in `month` of `year` (proleptic Gregorian).
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

// Howard Hinnant's public-domain algorithms for the proleptic Gregorian calendar.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        // 1795349736 is the first scan in shared/data/scans (2026-11-22T12:15:36Z).
        let t = Timestamp::from_secs_micros(1_795_349_736, 275_668);
        assert_eq!(t.to_string(), "2026-11-22T12:15:36.275668Z");
        assert_eq!(t.to_eve(), "2026-11-22T12:15:36.275668+0000");
        assert_eq!(
            Timestamp::from_civil(2026, 11, 22, 12, 15, 36)
                .unwrap()
                .secs(),
            1_795_349_736
        );
        for days in [-800_000i64, -1, 0, 1, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rejects_impossible_dates() {
        assert!(Timestamp::from_civil(2025, 2, 29, 0, 0, 0).is_none());
        assert!(Timestamp::from_civil(2024, 2, 29, 0, 0, 0).is_some());
        assert!(Timestamp::from_civil(2024, 13, 1, 0, 0, 0).is_none());
    }

    #[test]
    fn negative_times_floor() {
        let t = Timestamp(-1);
        assert_eq!(t.secs(), -1);
        assert_eq!(t.subsec_nanos(), 999_999_999);
    }
}
