//! Line envelopes: the syslog, journal and dmesg framing around a message.
//!
//! Recognised forms (one line each):
//!
//! | form | example |
//! |---|---|
//! | traditional syslog (RFC 3164, rsyslog default) | `Nov 22 12:15:36 gw kernel: msg`, `Nov  2 ...`, host-less `Nov 22 12:18:54 dnsmasq[30551]: msg` |
//! | journalctl `-o short-precise` | `Nov 22 12:15:36.123456 gw kernel: msg` |
//! | ISO 8601 (rsyslog high precision, journalctl `-o short-iso[-precise]`) | `2026-11-22T12:15:36+0000 gw kernel: msg`, `2015-03-07T05:09:30.045015+02:00 host kernel: msg` |
//! | RFC 5424 | `<4>1 2026-11-22T12:15:36.123456+00:00 gw kernel - - - msg` |
//! | `<pri>` before any of the syslog forms | `<4>Nov 22 12:15:36 gw kernel: msg` |
//! | journalctl `-o short-unix` | `1795349736.337321 gw kernel: msg` |
//! | raw `dmesg` | `[ 1704.431438] msg` |
//! | `dmesg -T` | `[Sun Nov 22 12:15:36 2026] msg` |
//! | `dmesg --time-format iso` | `2026-11-22T12:15:36,431438+00:00 msg` |
//! | epoch TAB message (the kmsg TSV files of tripline's datasets) | `1795349736.337321\tmsg` |
//!
//! The dmesg and TSV forms carry no host or program: the program is `kernel`.
//! `host kernel: [ 1234.5678] msg` loses its bracketed uptime stamp (the
//! syslog time is the better one). A line prefixed by `grep -H`'s `file:` is
//! read after that prefix.
//!
//! Time: stamps without a zone are local time in [`LogOptions::tz`] (UTC by
//! default); year-less stamps take the year of [`LogOptions::reference`]
//! (else of the current time), minus one when their month is after the
//! reference's month (a `Dec 31` line in a file written on `Jan 2`). dmesg
//! uptime stamps are added to [`LogOptions::boot_time`]; without it they are
//! taken as seconds since the epoch. An RFC 5424 line with the nil time `-`
//! gets the time of the line before it.

use super::{LineError, LogOptions};
use chrono::{Datelike, NaiveDate, TimeZone};
use tripline_core::Timestamp;

/// The framing of one log line, borrowed from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// When the line was logged.
    pub ts: Timestamp,
    /// Host name, empty when the form has none.
    pub host: &'a str,
    /// Program (syslog tag without the pid): `kernel`, `dnsmasq`, `sshd`;
    /// empty when the line has a time but no tag.
    pub program: &'a str,
    /// Process id from `prog[pid]:`.
    pub pid: Option<u32>,
    /// The program's message.
    pub message: &'a str,
}

/// Turns the stamps of one input into [`Timestamp`]s: holds the options and a
/// one-entry cache of the last local minute (a log's lines share minutes, so
/// the zone and year arithmetic runs about once a minute of log).
#[derive(Clone, Debug)]
pub struct SyslogClock {
    year: Option<i32>,
    tz: Option<chrono_tz::Tz>,
    reference: Option<Timestamp>,
    boot_time: Option<Timestamp>,
    minute_key: u64,
    minute_base: i64,
    last: Timestamp,
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

impl SyslogClock {
    /// A clock for one input read with `opts`.
    pub fn new(opts: &LogOptions) -> Self {
        SyslogClock {
            year: opts.year,
            tz: opts.tz,
            reference: opts.reference,
            boot_time: opts.boot_time,
            minute_key: 0,
            minute_base: 0,
            last: Timestamp::ZERO,
        }
    }

    /// Local date (month, day) and time (hour, minute, second) to a
    /// timestamp; the year is inferred when `None`.
    fn local(
        &mut self,
        year: Option<i64>,
        (mo, d): (u32, u32),
        (h, mi, s): (u32, u32, u32),
        nanos: u32,
    ) -> Result<Timestamp, LineError> {
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return Err(LineError::bad("timestamp", "out of range"));
        }
        let tag = if year.is_some() {
            1u64 << 62
        } else {
            1u64 << 63
        };
        let y_bits = year.map_or(0, |y| (y as u64) & 0xffff_ffff);
        let key = tag
            | (y_bits << 24)
            | ((mo as u64) << 18)
            | ((d as u64) << 12)
            | ((h as u64) << 6)
            | mi as u64;
        if key != self.minute_key {
            let y = match year {
                Some(y) => y,
                None => self.infer_year(mo),
            };
            self.minute_base = self.minute_start(y, mo, d, h, mi)?;
            self.minute_key = key;
        }
        let secs = self.minute_base + s as i64;
        Ok(self.remember(Timestamp::from_secs_nanos(secs, nanos)))
    }

    fn remember(&mut self, ts: Timestamp) -> Timestamp {
        self.last = ts;
        ts
    }

    fn infer_year(&self, month: u32) -> i64 {
        if let Some(y) = self.year {
            return y as i64;
        }
        let reference = self.reference.unwrap_or_else(now);
        let (ry, rm) = match self.tz {
            Some(tz) => match tz.timestamp_opt(reference.secs(), 0).single() {
                Some(dt) => (dt.year() as i64, dt.month()),
                None => utc_year_month(reference),
            },
            None => utc_year_month(reference),
        };
        if month > rm { ry - 1 } else { ry }
    }

    fn minute_start(&self, y: i64, mo: u32, d: u32, h: u32, mi: u32) -> Result<i64, LineError> {
        let impossible = LineError::bad("timestamp", "impossible date");
        let Some(tz) = self.tz else {
            return Timestamp::from_civil(y, mo, d, h, mi, 0)
                .map(Timestamp::secs)
                .ok_or(impossible);
        };
        let date = i32::try_from(y)
            .ok()
            .and_then(|y| NaiveDate::from_ymd_opt(y, mo, d))
            .ok_or(impossible)?;
        let naive = date.and_hms_opt(h, mi, 0).ok_or(impossible)?;
        // In a DST gap the wall time does not exist: read it as one hour later.
        let local = tz.from_local_datetime(&naive).earliest().or_else(|| {
            let later = naive.checked_add_signed(chrono::Duration::hours(1))?;
            tz.from_local_datetime(&later).earliest()
        });
        local.map(|dt| dt.timestamp()).ok_or(impossible)
    }

    fn uptime(&mut self, secs: i64, nanos: u32) -> Timestamp {
        let up = Timestamp::from_secs_nanos(secs, nanos);
        self.remember(match self.boot_time {
            Some(boot) => boot.add_nanos(up.0),
            None => up,
        })
    }
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn utc_year_month(t: Timestamp) -> (i64, u32) {
    let (y, m, ..) = t.to_civil();
    (y, m)
}

/// Parses the envelope of `line` (without its newline).
///
/// `Err(LineError::NotRecognised)` when no known form matches;
/// `Err(LineError::BadField)` when a form matches but its time is impossible.
pub fn parse<'a>(line: &'a str, clock: &mut SyslogClock) -> Result<Envelope<'a>, LineError> {
    match parse_form(line, clock) {
        Err(LineError::NotRecognised) => match grep_prefix(line) {
            Some(rest) => parse_form(rest, clock),
            None => Err(LineError::NotRecognised),
        },
        other => other,
    }
}

/// `file:` as written by `grep -H` (no spaces, ends with a colon, followed by
/// a line that starts with a month name, a digit, `<` or `[`).
fn grep_prefix(line: &str) -> Option<&str> {
    let colon = memchr::memchr(b':', line.as_bytes())?;
    let (name, rest) = (&line[..colon], &line[colon + 1..]);
    let first = *rest.as_bytes().first()?;
    let plausible =
        first.is_ascii_uppercase() || first.is_ascii_digit() || first == b'<' || first == b'[';
    (!name.is_empty() && !name.contains(' ') && plausible).then_some(rest)
}

fn parse_form<'a>(line: &'a str, clock: &mut SyslogClock) -> Result<Envelope<'a>, LineError> {
    let b = line.as_bytes();
    match b.first() {
        Some(b'<') => {
            let close = b
                .iter()
                .take(5)
                .position(|&c| c == b'>')
                .ok_or(LineError::NotRecognised)?;
            let pri = digits(&b[1..close]).ok_or(LineError::NotRecognised)?;
            if pri > 191 {
                return Err(LineError::bad("priority", "above 191"));
            }
            let rest = &line[close + 1..];
            match rest.strip_prefix("1 ") {
                Some(r) => rfc5424(r, clock),
                None => match rest.as_bytes().first() {
                    Some(c) if c.is_ascii_uppercase() => traditional(rest, clock),
                    Some(c) if c.is_ascii_digit() => numeric(rest, clock),
                    _ => Err(LineError::NotRecognised),
                },
            }
        }
        Some(b'[') => dmesg(line, clock),
        Some(c) if c.is_ascii_uppercase() => traditional(line, clock),
        Some(c) if c.is_ascii_digit() => numeric(line, clock),
        _ => Err(LineError::NotRecognised),
    }
}

fn digits(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 18 {
        return None;
    }
    let mut v = 0u64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u64;
    }
    Some(v)
}

fn two(b: &[u8], at: usize) -> Option<u32> {
    let (h, l) = (*b.get(at)?, *b.get(at + 1)?);
    (h.is_ascii_digit() && l.is_ascii_digit()).then(|| ((h - b'0') * 10 + (l - b'0')) as u32)
}

fn month_of(b: &[u8]) -> Option<u32> {
    let m = b.get(..3)?;
    MONTHS
        .iter()
        .position(|name| &name[..] == m)
        .map(|i| i as u32 + 1)
}

/// `HH:MM:SS` at `at`.
fn hms(b: &[u8], at: usize) -> Option<(u32, u32, u32)> {
    if b.get(at + 2) != Some(&b':') || b.get(at + 5) != Some(&b':') {
        return None;
    }
    Some((two(b, at)?, two(b, at + 3)?, two(b, at + 6)?))
}

/// A fraction of a second starting after the separator at `at`: returns
/// (nanoseconds, index after the digits).
fn fraction(b: &[u8], at: usize) -> (u32, usize) {
    let mut i = at;
    let mut nanos = 0u32;
    let mut scale = 100_000_000u32;
    while let Some(&c) = b.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        nanos += (c - b'0') as u32 * scale;
        scale /= 10;
        i += 1;
    }
    (nanos, i)
}

/// `Mmm dD HH:MM:SS[.frac] ` then host and tag.
fn traditional<'a>(line: &'a str, clock: &mut SyslogClock) -> Result<Envelope<'a>, LineError> {
    let b = line.as_bytes();
    let month = month_of(b).ok_or(LineError::NotRecognised)?;
    if b.get(3) != Some(&b' ') || b.get(6) != Some(&b' ') {
        return Err(LineError::NotRecognised);
    }
    let day = match (b.get(4), b.get(5)) {
        (Some(b' '), Some(&d)) if d.is_ascii_digit() => (d - b'0') as u32,
        _ => two(b, 4).ok_or(LineError::NotRecognised)?,
    };
    let (h, mi, s) = hms(b, 7).ok_or(LineError::NotRecognised)?;
    let (nanos, end) = if b.get(15) == Some(&b'.') {
        fraction(b, 16)
    } else {
        (0, 15)
    };
    if b.get(end) != Some(&b' ') {
        return Err(LineError::NotRecognised);
    }
    let ts = clock.local(None, (month, day), (h, mi, s), nanos)?;
    Ok(host_and_tag(ts, &line[end + 1..]))
}

/// ISO 8601 stamps (`2026-11-22T12:15:36[.frac][Z|+hh:mm|+hhmm] `) and epoch
/// stamps (`1795349736.337321 ` or `...\t`).
fn numeric<'a>(line: &'a str, clock: &mut SyslogClock) -> Result<Envelope<'a>, LineError> {
    let b = line.as_bytes();
    if b.get(4) == Some(&b'-') {
        let (ts, end, comma) = iso(b, clock)?;
        if b.get(end) != Some(&b' ') {
            return Err(LineError::NotRecognised);
        }
        let rest = &line[end + 1..];
        return Ok(if comma {
            bare(ts, rest)
        } else {
            host_and_tag(ts, rest)
        });
    }
    let dot = b
        .iter()
        .take(13)
        .position(|&c| c == b'.')
        .ok_or(LineError::NotRecognised)?;
    if dot < 9 {
        return Err(LineError::NotRecognised);
    }
    let secs = digits(&b[..dot]).ok_or(LineError::NotRecognised)? as i64;
    let (nanos, end) = fraction(b, dot + 1);
    if end == dot + 1 {
        return Err(LineError::NotRecognised);
    }
    let ts = clock.remember(Timestamp::from_secs_nanos(secs, nanos));
    match b.get(end) {
        Some(b'\t') => Ok(bare(ts, &line[end + 1..])),
        Some(b' ') => Ok(host_and_tag(ts, &line[end + 1..])),
        _ => Err(LineError::NotRecognised),
    }
}

/// Parses an ISO 8601 stamp at the start of `b`: (time, index after it,
/// whether the fraction used a comma as `dmesg --time-format iso` does).
fn iso(b: &[u8], clock: &mut SyslogClock) -> Result<(Timestamp, usize, bool), LineError> {
    let shape = b.len() >= 19 && b[4] == b'-' && b[7] == b'-' && b[10] == b'T';
    let year = if shape { digits(&b[..4]) } else { None };
    let (Some(year), Some(mo), Some(d), Some((h, mi, s))) =
        (year, two(b, 5), two(b, 8), hms(b, 11))
    else {
        return Err(LineError::NotRecognised);
    };
    let (nanos, mut end, comma) = match b.get(19) {
        Some(b'.') => (fraction(b, 20).0, fraction(b, 20).1, false),
        Some(b',') => (fraction(b, 20).0, fraction(b, 20).1, true),
        _ => (0, 19, false),
    };
    let offset = match b.get(end) {
        Some(b'Z') => {
            end += 1;
            Some(0)
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = two(b, end + 1).ok_or(LineError::bad("timestamp", "bad UTC offset"))?;
            let colon = b.get(end + 3) == Some(&b':');
            let om = two(b, end + 3 + colon as usize)
                .ok_or(LineError::bad("timestamp", "bad UTC offset"))?;
            end += 5 + colon as usize;
            let secs = (oh * 3600 + om * 60) as i64;
            Some(if sign == b'-' { -secs } else { secs })
        }
        _ => None,
    };
    let ts = match offset {
        None => clock.local(Some(year as i64), (mo, d), (h, mi, s), nanos)?,
        Some(off) => {
            let utc = Timestamp::from_civil(year as i64, mo, d, h, mi, s.min(59))
                .ok_or(LineError::bad("timestamp", "impossible date"))?;
            let secs = utc.secs() - off + (s == 60) as i64;
            clock.remember(Timestamp::from_secs_nanos(secs, nanos))
        }
    };
    Ok((ts, end, comma))
}

/// `[ 1704.431438] msg` or `[Sun Nov 22 12:15:36 2026] msg`.
fn dmesg<'a>(line: &'a str, clock: &mut SyslogClock) -> Result<Envelope<'a>, LineError> {
    let b = line.as_bytes();
    if b.get(1).is_some_and(u8::is_ascii_uppercase) {
        // dmesg -T: weekday, month, day, time, year.
        if b.len() < 26
            || b[4] != b' '
            || b[8] != b' '
            || b[11] != b' '
            || b[20] != b' '
            || b[25] != b']'
        {
            return Err(LineError::NotRecognised);
        }
        let month = month_of(&b[5..]).ok_or(LineError::NotRecognised)?;
        let day = if b[9] == b' ' {
            two(&[b'0', b[10]], 0)
        } else {
            two(b, 9)
        }
        .ok_or(LineError::NotRecognised)?;
        let (h, mi, s) = hms(b, 12).ok_or(LineError::NotRecognised)?;
        let year = digits(&b[21..25]).ok_or(LineError::NotRecognised)?;
        let ts = clock.local(Some(year as i64), (month, day), (h, mi, s), 0)?;
        return Ok(bare(
            ts,
            line[26..].strip_prefix(' ').unwrap_or(&line[26..]),
        ));
    }
    let (secs, nanos, end) = uptime_stamp(b).ok_or(LineError::NotRecognised)?;
    let ts = clock.uptime(secs, nanos);
    Ok(bare(
        ts,
        line[end..].strip_prefix(' ').unwrap_or(&line[end..]),
    ))
}

/// `[  449.059606]`: (seconds, nanoseconds, index after `]`).
fn uptime_stamp(b: &[u8]) -> Option<(i64, u32, usize)> {
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut i = 1;
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    let start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    if i == start || b.get(i) != Some(&b'.') {
        return None;
    }
    let secs = digits(&b[start..i])? as i64;
    let (nanos, end) = fraction(b, i + 1);
    (end > i + 1 && b.get(end) == Some(&b']')).then_some((secs, nanos, end + 1))
}

/// `<pri>1 ` has been consumed: `TS HOST APP PROCID MSGID SD [MSG]`.
fn rfc5424<'a>(line: &'a str, clock: &mut SyslogClock) -> Result<Envelope<'a>, LineError> {
    let b = line.as_bytes();
    let (ts, mut pos) = if b.first() == Some(&b'-') {
        (clock.last, 1)
    } else {
        let (ts, end, _) =
            iso(b, clock).map_err(|_| LineError::bad("timestamp", "not RFC 3339"))?;
        (ts, end)
    };
    let mut field = |name: &'static str| -> Result<&'a str, LineError> {
        if b.get(pos) != Some(&b' ') {
            return Err(LineError::bad(name, "missing"));
        }
        let start = pos + 1;
        let end = memchr::memchr(b' ', &b[start..]).map_or(b.len(), |i| start + i);
        pos = end;
        let v = &line[start..end];
        Ok(if v == "-" { "" } else { v })
    };
    let host = field("HOSTNAME")?;
    let program = field("APP-NAME")?;
    let procid = field("PROCID")?;
    field("MSGID")?;
    if b.get(pos) != Some(&b' ') {
        return Err(LineError::bad("STRUCTURED-DATA", "missing"));
    }
    pos += 1;
    if b.get(pos) == Some(&b'-') {
        pos += 1;
    } else {
        while b.get(pos) == Some(&b'[') {
            pos =
                sd_element_end(b, pos).ok_or(LineError::bad("STRUCTURED-DATA", "unterminated"))?;
        }
        if pos == 0 || b.get(pos - 1) != Some(&b']') {
            return Err(LineError::bad("STRUCTURED-DATA", "neither - nor [...]"));
        }
    }
    let msg = match b.get(pos) {
        None => "",
        Some(b' ') => &line[pos + 1..],
        Some(_) => return Err(LineError::bad("STRUCTURED-DATA", "no space before MSG")),
    };
    let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
    let pid = digits(procid.as_bytes()).and_then(|p| u32::try_from(p).ok());
    Ok(Envelope {
        ts,
        host,
        program,
        pid,
        message: strip_kernel_stamp(program, msg),
    })
}

/// Index just after the `]` that closes the SD element opening at `start`
/// (quoted values may hold `]`, and `\` escapes the next byte).
fn sd_element_end(b: &[u8], start: usize) -> Option<usize> {
    let (mut i, mut quoted) = (start + 1, false);
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'"' => quoted = !quoted,
            b']' if !quoted => return Some(i + 1),
            _ => {}
        }
        i += 1;
    }
    None
}

/// A message without host or tag (dmesg, TSV): the kernel's.
fn bare(ts: Timestamp, message: &str) -> Envelope<'_> {
    Envelope {
        ts,
        host: "",
        program: "kernel",
        pid: None,
        message,
    }
}

/// `host prog[pid]: msg`, `prog[pid]: msg` (no host, dnsmasq's log-facility
/// files), or `host msg` (no tag: program empty).
fn host_and_tag(ts: Timestamp, rest: &str) -> Envelope<'_> {
    let (t1, after1) = token(rest);
    if let Some((program, pid)) = tag(t1) {
        return Envelope {
            ts,
            host: "",
            program,
            pid,
            message: strip_kernel_stamp(program, after1),
        };
    }
    let (t2, after2) = token(after1);
    if let Some((program, pid)) = tag(t2) {
        return Envelope {
            ts,
            host: t1,
            program,
            pid,
            message: strip_kernel_stamp(program, after2),
        };
    }
    Envelope {
        ts,
        host: t1,
        program: "",
        pid: None,
        message: after1,
    }
}

fn token(s: &str) -> (&str, &str) {
    match memchr::memchr(b' ', s.as_bytes()) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

/// `prog:` or `prog[pid]:` → (prog, pid).
fn tag(t: &str) -> Option<(&str, Option<u32>)> {
    let t = t.strip_suffix(':')?;
    if let Some(inner) = t.strip_suffix(']')
        && let Some(open) = inner.rfind('[')
    {
        let prog = &inner[..open];
        let pid = digits(&inner.as_bytes()[open + 1..]).and_then(|p| u32::try_from(p).ok());
        return (!prog.is_empty()).then_some((prog, pid));
    }
    (!t.is_empty() && !t.contains('[')).then_some((t, None))
}

/// Drops the `[ 1234.5678] ` uptime stamp syslog keeps in kernel messages.
fn strip_kernel_stamp<'a>(program: &str, msg: &'a str) -> &'a str {
    if program != "kernel" || !msg.starts_with('[') {
        return msg;
    }
    match uptime_stamp(msg.as_bytes()) {
        Some((_, _, end)) => msg[end..].strip_prefix(' ').unwrap_or(&msg[end..]),
        None => msg,
    }
}

#[cfg(test)]
#[path = "envelope_tests.rs"]
mod tests;
