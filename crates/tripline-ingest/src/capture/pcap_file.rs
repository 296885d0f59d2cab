//! Classic libpcap files (µs and ns, both byte orders).
//!
//! The file header is parsed with `pcap-parser`; records are checked before
//! their bytes are trusted. A damaged record (zero or oversized capture
//! length, caplen beyond the snap length) is reported at its byte offset and
//! reading resumes at the next plausible record: right after the damaged
//! one when its length still leads to a sane header, otherwise at the first
//! offset where two consecutive plausible record headers follow each other.
//! A file cut in the middle of a record ends with a `Truncated` error.

use super::MAX_CAPLEN;
use super::emit::FrameEmitter;
use super::window::ByteWindow;
use crate::source::RecordSink;
use pcap_parser::pcap::{parse_pcap_frame, parse_pcap_frame_be, parse_pcap_header};
use tripline_core::{ErrorKind, Timestamp};

/// Size of the file header.
pub(crate) const FILE_HEADER_LEN: usize = 24;
/// Size of a record header.
const RECORD_HEADER_LEN: usize = 16;
/// Original lengths beyond this are nonsense (no link carries such frames).
const MAX_ORIGLEN: u32 = 16 << 20;
/// While resynchronising, a record whose time is further than this from the
/// last good one is not believed.
const MAX_RESYNC_TIME_JUMP: i64 = 7 * 86_400;

/// What the file header says.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PcapFileHeader {
    big_endian: bool,
    nanosecond: bool,
    snaplen: u32,
    linktype: u32,
}

impl PcapFileHeader {
    /// Parses the 24-byte file header.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, (ErrorKind, String)> {
        match parse_pcap_header(bytes) {
            Ok((_, h)) if h.is_modified_format() => Err((
                ErrorKind::BadMagic,
                "modified (Kuznetzov) pcap format is not supported".into(),
            )),
            Ok((_, h)) => Ok(PcapFileHeader {
                big_endian: h.is_bigendian(),
                nanosecond: h.is_nanosecond_precision(),
                snaplen: h.snaplen,
                // The upper bits carry FCS information, the link type is the low 16.
                linktype: (h.network.0 as u32) & 0xffff,
            }),
            Err(pcap_parser::nom::Err::Incomplete(_)) => Err((
                ErrorKind::Truncated,
                format!("file header cut short: {} of 24 bytes", bytes.len()),
            )),
            Err(_) => Err((ErrorKind::BadMagic, "not a pcap file header".into())),
        }
    }

    /// The largest capture length a record may claim.
    fn max_caplen(&self) -> u32 {
        if self.snaplen == 0 {
            MAX_CAPLEN
        } else {
            self.snaplen.min(MAX_CAPLEN)
        }
    }
}

/// One record header.
#[derive(Clone, Copy, Debug)]
struct RecordHeader {
    ts_sec: u32,
    ts_frac: u32,
    caplen: u32,
    origlen: u32,
}

impl RecordHeader {
    fn parse(b: &[u8], big_endian: bool) -> Self {
        let word = |at: usize| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        RecordHeader {
            ts_sec: word(0),
            ts_frac: word(4),
            caplen: word(8),
            origlen: word(12),
        }
    }

    /// What is wrong with this record, if anything.
    fn problem(&self, file: &PcapFileHeader) -> Option<String> {
        if self.caplen == 0 {
            Some("zero-length record".into())
        } else if self.caplen > MAX_CAPLEN {
            Some(format!(
                "record length {} exceeds the {MAX_CAPLEN}-byte cap",
                self.caplen
            ))
        } else if self.caplen > file.max_caplen() {
            Some(format!(
                "record length {} exceeds the snap length {}",
                self.caplen, file.snaplen
            ))
        } else if self.origlen > MAX_ORIGLEN {
            Some(format!("original length {} is implausible", self.origlen))
        } else {
            None
        }
    }

    fn plausible(&self, file: &PcapFileHeader, last_sec: Option<u32>) -> bool {
        let frac_limit = if file.nanosecond {
            1_000_000_000
        } else {
            1_000_000
        };
        self.problem(file).is_none()
            && self.caplen <= self.origlen
            && self.ts_frac < frac_limit
            && last_sec
                .is_none_or(|l| (self.ts_sec as i64 - l as i64).abs() <= MAX_RESYNC_TIME_JUMP)
    }

    fn timestamp(&self, file: &PcapFileHeader) -> Timestamp {
        if file.nanosecond {
            Timestamp::from_secs_nanos(self.ts_sec as i64, self.ts_frac)
        } else {
            Timestamp::from_secs_micros(self.ts_sec as i64, self.ts_frac)
        }
    }
}

/// Reads every record after the file header.
pub(crate) fn read_pcap(
    win: &mut dyn ByteWindow,
    em: &mut FrameEmitter,
    sink: &mut dyn RecordSink,
) {
    let start = win.offset();
    let head = win.fill(FILE_HEADER_LEN);
    let file = match PcapFileHeader::parse(&head[..head.len().min(FILE_HEADER_LEN)]) {
        Ok(f) => f,
        Err((kind, msg)) => {
            em.error(sink, start, kind, msg);
            return;
        }
    };
    win.consume(FILE_HEADER_LEN);
    let mut last_sec = None;
    loop {
        let offset = win.offset();
        if em.tick(sink, offset) {
            return;
        }
        let d = win.fill(RECORD_HEADER_LEN);
        if d.is_empty() {
            return;
        }
        if d.len() < RECORD_HEADER_LEN {
            let msg = format!("record header cut short: {} of 16 bytes", d.len());
            em.error(sink, offset, ErrorKind::Truncated, msg);
            return;
        }
        let rh = RecordHeader::parse(d, file.big_endian);
        if let Some(problem) = rh.problem(&file) {
            em.stats.units += 1;
            em.error(sink, offset, ErrorKind::BadLength, problem);
            if !resync(win, &file, &rh, last_sec) {
                return;
            }
            continue;
        }
        let total = RECORD_HEADER_LEN + rh.caplen as usize;
        let d = win.fill(total);
        if d.len() < total {
            let msg = format!(
                "record of {} bytes cut short: only {} present",
                total,
                d.len()
            );
            em.error(sink, offset, ErrorKind::Truncated, msg);
            return;
        }
        let parsed = if file.big_endian {
            parse_pcap_frame_be(&d[..total])
        } else {
            parse_pcap_frame(&d[..total])
        };
        match parsed {
            Ok((_, block)) => {
                let ts = rh.timestamp(&file);
                em.frame(
                    sink,
                    offset,
                    ts,
                    file.linktype,
                    0,
                    block.data,
                    block.origlen,
                );
                last_sec = Some(rh.ts_sec);
            }
            Err(_) => em.error(sink, offset, ErrorKind::BadLength, "record does not parse"),
        }
        win.consume(total);
    }
}

/// True when a record header at `d[at..]` is plausible and so is the one it
/// leads to (or it ends exactly at the end of the input).
fn chain_at(
    d: &[u8],
    at: usize,
    file: &PcapFileHeader,
    last_sec: Option<u32>,
    at_eof: bool,
) -> bool {
    if d.len() < at + RECORD_HEADER_LEN {
        return false;
    }
    let rh = RecordHeader::parse(&d[at..], file.big_endian);
    if !rh.plausible(file, last_sec) {
        return false;
    }
    let next = at + RECORD_HEADER_LEN + rh.caplen as usize;
    if d.len() == next && at_eof {
        return true;
    }
    d.len() >= next + RECORD_HEADER_LEN
        && RecordHeader::parse(&d[next..], file.big_endian).plausible(file, Some(rh.ts_sec))
}

/// Moves past a damaged record to the next plausible one; `false` when the
/// input ends first.
fn resync(
    win: &mut dyn ByteWindow,
    file: &PcapFileHeader,
    bad: &RecordHeader,
    last_sec: Option<u32>,
) -> bool {
    let want = 2 * RECORD_HEADER_LEN + MAX_CAPLEN as usize;
    // The damaged record's own length may still be right (e.g. only caplen > snaplen).
    if bad.caplen <= MAX_CAPLEN {
        let skip = RECORD_HEADER_LEN + bad.caplen as usize;
        let d = win.fill(skip + want);
        let at_eof = d.len() < skip + want;
        if d.len() == skip && at_eof {
            win.consume(skip);
            return false;
        }
        if chain_at(d, skip, file, last_sec, at_eof) {
            win.consume(skip);
            return true;
        }
    }
    win.consume(1);
    loop {
        let d = win.fill(want);
        if d.len() < RECORD_HEADER_LEN {
            let n = d.len();
            win.consume(n);
            return false;
        }
        let at_eof = d.len() < want;
        if chain_at(d, 0, file, last_sec, at_eof) {
            return true;
        }
        win.consume(1);
    }
}
