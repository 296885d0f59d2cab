//! Text logs: syslog/journal/dmesg envelopes; netfilter LOG, dnsmasq and sshd lines.
//!
//! Every line is recognised on its own, so a whole `/var/log/syslog` with
//! everything mixed in works: first the [`envelope`] (time, host, program,
//! pid), then the program's message ([`netfilter`], [`dnsmasq`], [`sshd`]).
//! [`LineParser`] does both for one line and is shared by the file source
//! ([`LogSource`]) and by follow mode; lines from unrelated programs are
//! skipped, lines without any envelope are errors.
//!
//! Records: one `Record::Firewall` per netfilter line (borrowing prefix,
//! interfaces, MAC and host from the line); one `Record::Auth` per sshd
//! login event; for dnsmasq one `DnsEvent::Query` record per `query[..]`
//! line, one `DnsEvent::Forwarded` per `forwarded` line, and one answer record
//! (`Reply`, `Cached`, `Config` or `Hosts`) per group of answer lines (see
//! [`dnsmasq_replies`]).

use std::fmt;
use tripline_core::Timestamp;

pub mod dnsmasq;
pub mod dnsmasq_replies;
pub mod envelope;
pub mod line_parser;
pub mod log_source;
pub mod netfilter;
pub mod sshd;

/// The time zone type of [`LogOptions::tz`], re-exported for callers.
pub use chrono_tz::Tz;
pub use envelope::{Envelope, SyslogClock};
pub use line_parser::{LineOutcome, LineParser, MAX_LINE_LEN};
pub use log_source::LogSource;
pub use netfilter::NetfilterFields;

/// How to read the timestamps of a log.
///
/// Traditional syslog stamps (`Nov 22 12:15:36`) carry neither a year nor a
/// zone; dmesg stamps are seconds since boot. These options supply what the
/// line leaves out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogOptions {
    /// The year of year-less stamps (overrides the inference from `reference`).
    pub year: Option<i32>,
    /// The local zone of stamps without a year or without a UTC offset
    /// (syslog, `short-precise`, offset-less ISO). Default: UTC.
    pub tz: Option<chrono_tz::Tz>,
    /// The time the log was last written (the file's mtime). A year-less line
    /// dated in a month after this time's month belongs to the previous year.
    /// When absent, the current time is used.
    pub reference: Option<Timestamp>,
    /// When the machine booted, to turn dmesg uptime stamps into wall-clock
    /// time. When absent, uptime seconds are taken as seconds since the epoch.
    pub boot_time: Option<Timestamp>,
}

/// Why one message (or envelope) could not be read.
///
/// Allocation-free so that parsers can fail on the hot path without cost;
/// the line parser turns it into an [`tripline_core::InputError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineError {
    /// The text is not of this kind at all (another program's message, or no
    /// envelope).
    NotRecognised,
    /// The text is of this kind but a field is missing or malformed.
    BadField {
        /// The field, in the log's own words (`SRC`, `DPT`, `timestamp`, `client`).
        field: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl LineError {
    /// A malformed or missing field.
    pub const fn bad(field: &'static str, problem: &'static str) -> Self {
        LineError::BadField { field, problem }
    }
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::NotRecognised => f.write_str("not recognised"),
            LineError::BadField { field, problem } => write!(f, "field {field}: {problem}"),
        }
    }
}

impl std::error::Error for LineError {}

/// True when some lines in `prefix` (the first bytes of an input, ideally 4 KiB)
/// carry a known envelope: used to detect the log format by content.
///
/// A gzip prefix is inflated as far as it goes first. The last line is
/// ignored when it is cut short by the end of the prefix, unless it is the
/// only one.
pub fn looks_like_log(prefix: &[u8]) -> bool {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(4096);
        let mut dec = flate2::read::MultiGzDecoder::new(prefix);
        let mut chunk = [0u8; 1024];
        while out.len() < 4096 {
            match std::io::Read::read(&mut dec, &mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&chunk[..n]),
            }
        }
        return !out.starts_with(&[0x1f, 0x8b]) && looks_like_log(&out);
    }
    let prefix = &prefix[..prefix.len().min(4096)];
    if prefix.contains(&0) {
        return false;
    }
    let mut clock = SyslogClock::new(&LogOptions::default());
    let complete = match memchr::memrchr(b'\n', prefix) {
        Some(end) => &prefix[..end],
        None => prefix,
    };
    let (mut seen, mut known) = (0usize, 0usize);
    for line in complete.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        seen += 1;
        if let Ok(text) = std::str::from_utf8(line)
            && envelope::parse(text, &mut clock).is_ok()
        {
            known += 1;
        }
    }
    // Most lines, not just one: a text file that happens to start with a
    // date is not a log.
    known > 0 && known * 2 >= seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_logs_by_content() {
        assert!(looks_like_log(
            b"Nov 22 12:15:36 gw kernel: NEW IN=gw-ext OUT=\nNov 22 12:15:37 gw kernel: x\n"
        ));
        assert!(looks_like_log(
            b"[ 1704.431438] NEW IN=gw-ext OUT=br-lan\n[ 1704.5] x"
        ));
        assert!(!looks_like_log(b"\xd4\xc3\xb2\xa1\x02\x00\x04\x00\0\0\0\0"));
        assert!(!looks_like_log(b"hello world\nthis is prose\n"));
        assert!(!looks_like_log(b""));
    }

    #[test]
    fn detects_gzipped_logs() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"Nov 22 12:15:36 gw kernel: NEW IN=gw-ext OUT=\n")
            .unwrap();
        let gz = enc.finish().unwrap();
        assert!(looks_like_log(&gz));
        assert!(!looks_like_log(&gz[..4]));
    }
}
