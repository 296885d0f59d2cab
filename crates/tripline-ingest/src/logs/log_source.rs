//! A text log file (plain or gzip) or stream as a [`Source`].

use super::{LineOutcome, LineParser, LogOptions, MAX_LINE_LEN};
use crate::{Format, RecordSink, Source, SourceStats};
use std::fs::File;
use std::io::{BufRead, BufReader, ErrorKind as IoKind};
use tripline_core::{ErrorKind, InputError, Location, Timestamp};

/// Progress is reported every this many bytes.
const PROGRESS_EVERY: u64 = 1 << 20;

/// Reads log lines and hands their records to a sink.
pub struct LogSource {
    path: String,
    reader: Box<dyn BufRead + Send>,
    parser: LineParser,
    gzip: bool,
    size: Option<u64>,
}

impl std::fmt::Debug for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSource")
            .field("path", &self.path)
            .field("gzip", &self.gzip)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl LogSource {
    /// Opens `path`, plain or gzip (told apart by the gzip magic). The
    /// file's mtime is the year reference of year-less stamps unless
    /// `opts.year` or `opts.reference` is set.
    pub fn open(path: &str, mut opts: LogOptions) -> Result<LogSource, InputError> {
        let io_err =
            |e: std::io::Error| InputError::new(path, Location::File, ErrorKind::Io, e.to_string());
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if opts.reference.is_none()
            && let Ok(mtime) = meta.modified()
            && let Ok(since) = mtime.duration_since(std::time::UNIX_EPOCH)
        {
            opts.reference = Some(Timestamp::from_secs_nanos(
                since.as_secs() as i64,
                since.subsec_nanos(),
            ));
        }
        let mut src = LogSource::from_reader(
            path,
            Box::new(BufReader::with_capacity(1 << 16, file)),
            opts,
        );
        if !src.gzip {
            src.size = Some(meta.len());
        }
        Ok(src)
    }

    /// Reads from `reader` (standard input, a pipe), which may be gzip.
    /// `path` names it in errors (`-` for standard input). A read error while
    /// looking for the gzip magic shows up again, as an error, in `run`.
    pub fn from_reader(
        path: &str,
        mut reader: Box<dyn BufRead + Send>,
        opts: LogOptions,
    ) -> LogSource {
        let gzip = reader
            .fill_buf()
            .is_ok_and(|head| head.starts_with(&[0x1f, 0x8b]));
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                1 << 16,
                flate2::bufread::MultiGzDecoder::new(reader),
            ))
        } else {
            reader
        };
        LogSource {
            path: path.to_string(),
            reader,
            parser: LineParser::new(path, opts),
            gzip,
            size: None,
        }
    }
}

/// One line read into the buffer, or a line over the cap that was skipped.
enum Line {
    Text,
    TooLong(u64),
}

/// Reads the next line into `buf` (without `\n`), reusing it. Returns the
/// bytes consumed, or `None` at the end of input.
fn next_line(reader: &mut dyn BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<(Line, u64)>> {
    buf.clear();
    let (mut consumed, mut long) = (0u64, false);
    loop {
        let avail = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == IoKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            let line = if long {
                Line::TooLong(consumed)
            } else {
                Line::Text
            };
            return Ok((consumed > 0).then_some((line, consumed)));
        }
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i, true),
            None => (avail.len(), false),
        };
        if !long {
            if buf.len() + take > MAX_LINE_LEN + 1 {
                long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        let used = take + done as usize;
        reader.consume(used);
        consumed += used as u64;
        if done {
            return Ok(Some((
                if long {
                    Line::TooLong(consumed)
                } else {
                    Line::Text
                },
                consumed,
            )));
        }
    }
}

impl Source for LogSource {
    fn path(&self) -> &str {
        &self.path
    }

    fn format(&self) -> Format {
        Format::Log
    }

    fn size_hint(&self) -> Option<u64> {
        self.size
    }

    fn run(&mut self, sink: &mut dyn RecordSink) -> SourceStats {
        let mut stats = SourceStats::default();
        let mut buf = Vec::with_capacity(4096);
        let mut next_progress = PROGRESS_EVERY;
        let mut lineno = 0u64;
        loop {
            if lineno.is_multiple_of(1024) && sink.should_stop() {
                break;
            }
            let (line, used) = match next_line(&mut *self.reader, &mut buf) {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    let kind = if e.kind() == IoKind::UnexpectedEof {
                        ErrorKind::Truncated
                    } else {
                        ErrorKind::Io
                    };
                    sink.error(InputError::new(
                        self.path.as_str(),
                        Location::Line(lineno + 1),
                        kind,
                        e.to_string(),
                    ));
                    stats.count_error(kind);
                    break;
                }
            };
            lineno += 1;
            stats.units += 1;
            stats.bytes += used;
            let mut records = 0u64;
            let outcome = match line {
                Line::Text => self.parser.parse_line(&buf, lineno, &mut |r| {
                    records += 1;
                    sink.record(r);
                }),
                Line::TooLong(n) => {
                    // Not a continuation of a dnsmasq answer group: emit it
                    // first, as parse_line does for every other line.
                    self.parser.finish(&mut |r| {
                        records += 1;
                        sink.record(r);
                    });
                    LineOutcome::Error(InputError::new(
                        self.path.as_str(),
                        Location::Line(lineno),
                        ErrorKind::BadLength,
                        format!("line of {n} bytes is longer than {MAX_LINE_LEN}"),
                    ))
                }
            };
            stats.records += records;
            match outcome {
                LineOutcome::Record => {}
                LineOutcome::Skipped => stats.skipped += 1,
                LineOutcome::Error(e) => {
                    stats.count_error(e.kind);
                    sink.error(e);
                }
            }
            if stats.bytes >= next_progress {
                sink.progress(stats.bytes);
                next_progress = stats.bytes + PROGRESS_EVERY;
            }
        }
        let mut records = 0u64;
        self.parser.finish(&mut |r| {
            records += 1;
            sink.record(r);
        });
        stats.records += records;
        sink.progress(stats.bytes);
        stats
    }
}
