//! One log line in, records out: envelope, then the program's message.

use super::dnsmasq_replies::DnsmasqAssembler;
use super::envelope::{self, Envelope, SyslogClock};
use super::{LineError, LogOptions, dnsmasq, netfilter, sshd};
use tripline_core::{AuthLog, ErrorKind, InputError, Location, Record};

/// Longest line read; longer ones are reported and skipped.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// What became of one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineOutcome {
    /// The line was understood and went into a record: emitted now, or (a
    /// dnsmasq answer) held in a group that is emitted later.
    Record,
    /// A fine line of no interest: another program, dnsmasq chatter, sshd
    /// session noise, an empty line.
    Skipped,
    /// A damaged line.
    Error(InputError),
}

/// The stateful per-line dispatcher shared by [`super::LogSource`] and follow
/// mode.
///
/// State: the clock's cache and the dnsmasq answer groups and recent
/// queries (bounded). Call [`LineParser::finish`] at the end of input, and
/// when a followed log goes idle, to emit the last dnsmasq group.
#[derive(Debug)]
pub struct LineParser {
    path: String,
    clock: SyslogClock,
    dns: DnsmasqAssembler,
}

impl LineParser {
    /// A parser for lines of `path` (used in error reports) read with `opts`.
    pub fn new(path: &str, opts: LogOptions) -> Self {
        LineParser {
            path: path.to_string(),
            clock: SyslogClock::new(&opts),
            dns: DnsmasqAssembler::new(),
        }
    }

    /// Queries dropped from the dnsmasq attribution memory because of its caps.
    pub fn evicted_dns_queries(&self) -> u64 {
        self.dns.evicted_queries()
    }

    /// Parses one line (with or without its `\n` / `\r\n`), numbered
    /// `lineno` from 1, and hands its records to `emit`.
    pub fn parse_line(
        &mut self,
        line: &[u8],
        lineno: u64,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> LineOutcome {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > MAX_LINE_LEN {
            self.dns.flush(emit);
            return self.error(
                lineno,
                ErrorKind::BadLength,
                format!("line of {} bytes is longer than {MAX_LINE_LEN}", line.len()),
            );
        }
        if line.is_empty() {
            return LineOutcome::Skipped;
        }
        // Control bytes other than TAB: binary junk (or a file that is not text).
        let junk = line.iter().fold(false, |acc, &c| {
            acc | ((c < 0x20) & (c != b'\t')) | (c == 0x7f)
        });
        let text = match (junk, std::str::from_utf8(line)) {
            (false, Ok(text)) => text,
            (true, _) => {
                self.dns.flush(emit);
                return self.error(
                    lineno,
                    ErrorKind::Binary,
                    "control bytes in a text line".to_string(),
                );
            }
            (false, Err(e)) => {
                self.dns.flush(emit);
                return self.error(
                    lineno,
                    ErrorKind::Binary,
                    format!("not UTF-8 at column {}", e.valid_up_to() + 1),
                );
            }
        };
        let env = match envelope::parse(text, &mut self.clock) {
            Ok(env) => env,
            Err(e) => {
                self.dns.flush(emit);
                let what = match e {
                    LineError::NotRecognised => "no syslog, journal or dmesg envelope".to_string(),
                    e => format!("envelope: {e}"),
                };
                return self.error(lineno, ErrorKind::BadLine, what);
            }
        };
        match self.dispatch(&env, emit) {
            Ok(outcome) => outcome,
            Err((what, e)) => self.error(
                lineno,
                ErrorKind::BadLine,
                format!("{what}: {e} (near {})", excerpt(env.message)),
            ),
        }
    }

    fn error(&self, lineno: u64, kind: ErrorKind, message: String) -> LineOutcome {
        LineOutcome::Error(InputError::new(
            self.path.as_str(),
            Location::Line(lineno),
            kind,
            message,
        ))
    }

    /// Emits what is still held back (the last dnsmasq answer group).
    pub fn finish(&mut self, emit: &mut dyn FnMut(&Record<'_>)) {
        self.dns.flush(emit);
    }

    fn dispatch(
        &mut self,
        env: &Envelope<'_>,
        emit: &mut dyn FnMut(&Record<'_>),
    ) -> Result<LineOutcome, (&'static str, LineError)> {
        if env.program == "dnsmasq" {
            let line = dnsmasq::parse(env.message).map_err(|e| {
                self.dns.flush(emit);
                ("dnsmasq", e)
            })?;
            let chatter = matches!(line.event, dnsmasq::DnsmasqEvent::Chatter);
            self.dns.push(env.ts, env.pid, &line, emit);
            return Ok(if chatter {
                LineOutcome::Skipped
            } else {
                LineOutcome::Record
            });
        }
        if self.dns.has_pending() {
            self.dns.flush(emit);
        }
        match env.program {
            "kernel" | "ulogd" => match netfilter::parse(env.message) {
                Ok(fields) => {
                    emit(&fields.to_record(env.ts, env.host));
                    Ok(LineOutcome::Record)
                }
                Err(LineError::NotRecognised) => Ok(LineOutcome::Skipped),
                Err(e) => Err(("netfilter", e)),
            },
            "sshd" | "sshd-session" => match sshd::parse(env.message) {
                Ok(ev) => {
                    emit(&Record::Auth(AuthLog {
                        ts: env.ts,
                        host: env.host.to_string(),
                        service: env.program.to_string(),
                        pid: env.pid,
                        event: ev.event,
                        method: ev.method.map(str::to_string),
                        user: ev.user.map(str::to_string),
                        invalid_user: ev.invalid_user,
                        src: ev.src,
                        port: ev.port,
                    }));
                    Ok(LineOutcome::Record)
                }
                Err(LineError::NotRecognised) => Ok(LineOutcome::Skipped),
                Err(e) => Err(("sshd", e)),
            },
            _ => Ok(LineOutcome::Skipped),
        }
    }
}

/// The start of a hostile message, escaped, for error texts.
fn excerpt(msg: &str) -> String {
    let cut = msg.char_indices().nth(40).map_or(msg.len(), |(i, _)| i);
    let mut out: String = msg[..cut].escape_debug().collect();
    if cut < msg.len() {
        out.push('…');
    }
    format!("\"{out}\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::Timestamp;

    fn parser() -> LineParser {
        LineParser::new(
            "t.log",
            LogOptions {
                year: Some(2026),
                ..Default::default()
            },
        )
    }

    fn one(p: &mut LineParser, line: &[u8]) -> (LineOutcome, Vec<String>) {
        let mut kinds = Vec::new();
        let out = p.parse_line(line, 7, &mut |r| kinds.push(r.kind().to_string()));
        (out, kinds)
    }

    fn kind(o: &LineOutcome) -> Option<ErrorKind> {
        match o {
            LineOutcome::Error(e) => Some(e.kind),
            _ => None,
        }
    }

    #[test]
    fn dispatches_by_program() {
        let mut p = parser();
        let fw = b"Nov 22 12:15:36 gw kernel: NEW IN=gw-ext OUT=br-lan MAC= SRC=10.99.2.66 DST=10.99.1.3 LEN=28 TOS=0x00 PREC=0x00 TTL=51 ID=40445 PROTO=ICMP TYPE=8 CODE=0 ID=42818 SEQ=0 \r\n";
        assert_eq!(
            one(&mut p, fw),
            (LineOutcome::Record, vec!["firewall".to_string()])
        );
        let auth = b"Nov 22 12:20:29 wan sshd[1123]: Failed password for root from 10.99.2.66 port 41001 ssh2";
        assert_eq!(
            one(&mut p, auth),
            (LineOutcome::Record, vec!["auth".to_string()])
        );
        assert_eq!(
            one(&mut p, b"Nov 22 12:20:29 wan CRON[5]: (root) CMD (x)").0,
            LineOutcome::Skipped
        );
        assert_eq!(
            one(&mut p, b"Nov 22 12:20:29 wan kernel: usb 1-1: new device").0,
            LineOutcome::Skipped
        );
        assert_eq!(
            one(
                &mut p,
                b"Nov 22 12:20:29 wan sshd[5]: Server listening on :: port 22."
            )
            .0,
            LineOutcome::Skipped
        );
        assert_eq!(one(&mut p, b"").0, LineOutcome::Skipped);
        assert_eq!(one(&mut p, b"\r\n").0, LineOutcome::Skipped);
    }

    #[test]
    fn damaged_lines() {
        let mut p = parser();
        assert_eq!(
            kind(&one(&mut p, b"Nov 22 12:15:36 gw kernel: \x00\x01\x02").0),
            Some(ErrorKind::Binary)
        );
        assert_eq!(
            kind(&one(&mut p, b"Nov 22 12:15:36 gw kernel: \xff\xfe").0),
            Some(ErrorKind::Binary)
        );
        assert_eq!(
            kind(&one(&mut p, b"just some words").0),
            Some(ErrorKind::BadLine)
        );
        let long = vec![b'a'; MAX_LINE_LEN + 1];
        assert_eq!(kind(&one(&mut p, &long).0), Some(ErrorKind::BadLength));
        let (out, recs) = one(
            &mut p,
            b"Nov 22 12:15:36 gw kernel: NEW IN=gw-ext OUT=br-lan SRC=10.99.2.66 DST=10.99.1",
        );
        let LineOutcome::Error(e) = out else {
            panic!("{out:?}")
        };
        assert!(recs.is_empty());
        assert_eq!(
            (e.kind, e.location, e.path.as_str()),
            (ErrorKind::BadLine, Location::Line(7), "t.log")
        );
        assert!(e.message.contains("netfilter: field DST"), "{}", e.message);
        let (out, _) = one(
            &mut p,
            b"Nov 22 12:15:36 gw sshd[1]: Failed password for root from 1.2.3.4 port \x1b[31m ssh2",
        );
        assert_eq!(kind(&out), Some(ErrorKind::Binary));
    }

    #[test]
    fn dnsmasq_group_is_flushed_by_the_next_line_and_at_finish() {
        let mut p = parser();
        let mut seen = Vec::new();
        let lines: [&[u8]; 4] = [
            b"Nov 22 12:19:03 dnsmasq[30551]: query[A] video.example.com from 10.99.1.2",
            b"Nov 22 12:19:03 dnsmasq[30551]: reply video.example.com is <CNAME>",
            b"Nov 22 12:19:03 dnsmasq[30551]: reply files.example.net is 10.99.2.3",
            b"Nov 22 12:19:04 gw kernel: NEW IN=br-lan OUT=gw-ext SRC=10.99.1.2 DST=10.99.2.3 LEN=60 TOS=0x00 PREC=0x00 TTL=63 ID=1 DF PROTO=TCP SPT=1 DPT=80 WINDOW=1 RES=0x00 SYN URGP=0 ",
        ];
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(
                p.parse_line(l, i as u64 + 1, &mut |r| seen.push((r.kind(), r.ts()))),
                LineOutcome::Record
            );
        }
        let ts = |s| Timestamp::from_civil(2026, 11, 22, 12, 19, s).unwrap();
        assert_eq!(seen, [("dns", ts(3)), ("dns", ts(3)), ("firewall", ts(4))]);
        p.parse_line(
            b"Nov 22 12:19:05 dnsmasq[30551]: cached files.example.net is 10.99.2.3",
            5,
            &mut |r| seen.push((r.kind(), r.ts())),
        );
        assert_eq!(seen.len(), 3);
        p.finish(&mut |r| seen.push((r.kind(), r.ts())));
        assert_eq!(seen.len(), 4);
        p.finish(&mut |r| seen.push((r.kind(), r.ts())));
        assert_eq!(seen.len(), 4);
    }
}
