//! Every captured frame of a capture file, as tcpdump sees them.
//!
//! `tripline filter` must count exactly what `tcpdump -r` counts: every
//! frame, ARP and other non-IP ones included, and no datagrams reassembled
//! from fragments. The record stream of `tripline_ingest` is the wrong
//! level for that (it drops non-IP frames and adds reassembled datagrams),
//! so this reader walks the capture frame by frame with `pcap-parser`:
//! pcap (µs or ns, either byte order) and pcapng (several sections and
//! interfaces, each with its own link type and timestamp resolution),
//! plain, gzip-compressed, or on standard input. Frames borrow from the
//! reader's buffer; nothing is allocated per frame.
//!
//! Like tcpdump, reading a file stops at the first damaged block; the error
//! names the file and the byte offset (after decompression).

use flate2::read::MultiGzDecoder;
use pcap_parser::pcapng::Block;
use pcap_parser::{PcapBlockOwned, PcapError, create_reader};
use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use tripline_core::{ErrorKind, InputError, Location, Timestamp};
use tripline_ingest::capture::{MAX_CAPLEN, sniff};
use tripline_ingest::open::{Detected, detect_format};

/// Reader buffer: the largest frame plus a block header and options.
const BUFFER: usize = MAX_CAPLEN as usize + 64 * 1024;
/// Interfaces remembered per pcapng section.
const MAX_INTERFACES: usize = 4096;
/// Bytes looked at to tell the format.
const SNIFF_LEN: usize = 4096;

/// One captured frame.
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// `LINKTYPE_*` of the frame's interface.
    pub linktype: u32,
    /// The captured bytes from the link-layer header on.
    pub data: &'a [u8],
}

/// What reading one input gave besides its frames.
#[derive(Debug, Default)]
pub struct FrameStats {
    /// Frames handed to the visitor.
    pub frames: u64,
    /// The damage that ended (or, for a packet of an undeclared interface,
    /// interrupted) reading.
    pub errors: Vec<InputError>,
}

/// One pcapng interface.
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    resolution: u64,
    offset_secs: i64,
}

/// Reads every frame of the capture at `path` (`-` for standard input) and
/// hands it to `visit`; `visit` returns `false` to stop early. Fails when
/// the input cannot be opened or is not a capture.
pub fn read_frames(
    path: &str,
    visit: &mut dyn FnMut(&Frame<'_>) -> bool,
) -> Result<FrameStats, InputError> {
    let mut raw: Box<dyn Read + Send> = if path == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(File::open(path).map_err(|e| io_error(path, &e))?)
    };
    let mut prefix = Vec::with_capacity(SNIFF_LEN);
    (&mut raw)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(path, &e))?;
    let Some(kind) = sniff(&prefix) else {
        let why = match detect_format(&prefix) {
            Some(Detected::Log) => "is a log file; filters need packet captures (pcap, pcapng)",
            _ if prefix.is_empty() => "is empty",
            _ => "is not a pcap, pcapng or gzip-compressed capture",
        };
        return Err(InputError::new(
            path,
            Location::File,
            ErrorKind::UnknownFormat,
            why,
        ));
    };
    let whole: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(raw));
    let reader: Box<dyn Read + Send> = if kind.gzip() {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            whole,
        )))
    } else {
        whole
    };
    let mut stats = FrameStats::default();
    let mut pcap = match create_reader(BUFFER, reader) {
        Ok(r) => r,
        Err(PcapError::Eof) => return Ok(stats),
        Err(e) => {
            return Err(InputError::new(
                path,
                Location::Offset(0),
                ErrorKind::BadMagic,
                format!("cannot read the capture header: {e:?}"),
            ));
        }
    };
    let mut legacy: Option<(u32, bool)> = None;
    let mut interfaces: Vec<Interface> = Vec::new();
    loop {
        let offset = pcap.consumed() as u64;
        let (len, keep_going) = match pcap.next() {
            Ok((len, block)) => {
                let go = match block {
                    PcapBlockOwned::LegacyHeader(h) => {
                        legacy = Some((h.network.0 as u32, h.is_nanosecond_precision()));
                        true
                    }
                    PcapBlockOwned::Legacy(b) => {
                        let (lt, nanos) = legacy.unwrap_or((1, false));
                        let ts = if nanos {
                            Timestamp::from_secs_nanos(b.ts_sec as i64, b.ts_usec)
                        } else {
                            Timestamp::from_secs_micros(b.ts_sec as i64, b.ts_usec)
                        };
                        let n = (b.caplen as usize).min(b.data.len());
                        stats.frames += 1;
                        visit(&Frame {
                            ts,
                            linktype: lt,
                            data: &b.data[..n],
                        })
                    }
                    PcapBlockOwned::NG(block) => {
                        ng_block(block, &mut interfaces, &mut stats, path, offset, visit)
                    }
                };
                (len, go)
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                if let Err(e) = pcap.refill() {
                    stats.errors.push(damage(
                        path,
                        offset,
                        ErrorKind::Io,
                        format!("read failed: {e:?}"),
                    ));
                    break;
                }
                continue;
            }
            Err(PcapError::UnexpectedEof) => {
                stats.errors.push(damage(
                    path,
                    offset,
                    ErrorKind::Truncated,
                    "the capture ends in the middle of a record",
                ));
                break;
            }
            Err(PcapError::BufferTooSmall) => {
                stats.errors.push(damage(
                    path,
                    offset,
                    ErrorKind::BadLength,
                    format!("a record longer than {BUFFER} bytes"),
                ));
                break;
            }
            Err(e) => {
                stats.errors.push(damage(
                    path,
                    offset,
                    ErrorKind::Decode,
                    format!("damaged record: {e:?}"),
                ));
                break;
            }
        };
        pcap.consume(len);
        if !keep_going {
            break;
        }
    }
    Ok(stats)
}

fn ng_block(
    block: Block<'_>,
    interfaces: &mut Vec<Interface>,
    stats: &mut FrameStats,
    path: &str,
    offset: u64,
    visit: &mut dyn FnMut(&Frame<'_>) -> bool,
) -> bool {
    match block {
        Block::SectionHeader(_) => interfaces.clear(),
        Block::InterfaceDescription(idb) if interfaces.len() < MAX_INTERFACES => {
            interfaces.push(Interface {
                linktype: idb.linktype.0 as u32,
                snaplen: idb.snaplen,
                resolution: idb.ts_resolution().unwrap_or(1_000_000).max(1),
                offset_secs: idb.ts_offset(),
            });
        }
        Block::EnhancedPacket(epb) => {
            let Some(i) = interfaces.get(epb.if_id as usize) else {
                undeclared(stats, path, offset, epb.if_id);
                return true;
            };
            let n = (epb.caplen as usize).min(epb.data.len());
            let ts = i.timestamp(epb.ts_high, epb.ts_low);
            stats.frames += 1;
            return visit(&Frame {
                ts,
                linktype: i.linktype,
                data: &epb.data[..n],
            });
        }
        Block::SimplePacket(spb) => {
            let Some(i) = interfaces.first() else {
                undeclared(stats, path, offset, 0);
                return true;
            };
            let mut n = (spb.origlen as usize).min(spb.data.len());
            if i.snaplen != 0 {
                n = n.min(i.snaplen as usize);
            }
            stats.frames += 1;
            return visit(&Frame {
                ts: Timestamp::ZERO,
                linktype: i.linktype,
                data: &spb.data[..n],
            });
        }
        _ => {}
    }
    true
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let raw = ((high as u64) << 32) | low as u64;
        let secs = raw / self.resolution;
        let frac = raw % self.resolution;
        let nanos = (frac as u128 * 1_000_000_000 / self.resolution as u128) as u32;
        Timestamp::from_secs_nanos((secs as i64).saturating_add(self.offset_secs), nanos)
    }
}

/// Packets of an interface no description declared are skipped; only the
/// first few are reported, the rest counted in the last report's message.
fn undeclared(stats: &mut FrameStats, path: &str, offset: u64, if_id: u32) {
    if stats.errors.len() < 16 {
        stats.errors.push(damage(
            path,
            offset,
            ErrorKind::Decode,
            format!("packet of undeclared interface {if_id} skipped"),
        ));
    }
}

fn damage(path: &str, offset: u64, kind: ErrorKind, msg: impl Into<String>) -> InputError {
    InputError::new(path, Location::Offset(offset), kind, msg)
}

fn io_error(path: &str, e: &std::io::Error) -> InputError {
    InputError::new(path, Location::File, ErrorKind::Io, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_with(frames: &[&[u8]]) -> Vec<u8> {
        let mut f = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        for (i, fr) in frames.iter().enumerate() {
            f.extend_from_slice(&(100 + i as u32).to_le_bytes());
            f.extend_from_slice(&7u32.to_le_bytes());
            f.extend_from_slice(&(fr.len() as u32).to_le_bytes());
            f.extend_from_slice(&(fr.len() as u32).to_le_bytes());
            f.extend_from_slice(fr);
        }
        f
    }

    fn read(bytes: &[u8]) -> (Vec<(Timestamp, usize)>, FrameStats) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pcap");
        std::fs::write(&p, bytes).unwrap();
        let mut seen = Vec::new();
        let stats = read_frames(p.to_str().unwrap(), &mut |f| {
            seen.push((f.ts, f.data.len()));
            true
        })
        .unwrap();
        (seen, stats)
    }

    #[test]
    fn reads_every_frame_and_stops_at_damage() {
        let a = [1u8; 42];
        let b = [2u8; 60];
        let bytes = pcap_with(&[&a, &b]);
        let (seen, stats) = read(&bytes);
        assert_eq!(
            seen,
            [
                (Timestamp::from_secs_micros(100, 7), 42),
                (Timestamp::from_secs_micros(101, 7), 60)
            ]
        );
        assert!(stats.errors.is_empty());
        // Cut inside the second record: one frame, then a truncation error at its offset.
        let (seen, stats) = read(&bytes[..bytes.len() - 10]);
        assert_eq!(seen.len(), 1);
        assert_eq!(stats.errors.len(), 1);
        assert_eq!(stats.errors[0].kind, ErrorKind::Truncated);
        assert_eq!(stats.errors[0].location, Location::Offset(24 + 16 + 42));
    }

    #[test]
    fn gzip_and_non_captures() {
        use std::io::Write;
        let bytes = pcap_with(&[&[3u8; 20]]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let (seen, _) = read(&gz.finish().unwrap());
        assert_eq!(seen.len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.log");
        std::fs::write(&p, "Nov 22 12:15:36 gw kernel: NEW IN=eth0 OUT= SRC=1.2.3.4 DST=5.6.7.8 LEN=40 TOS=0x00 PREC=0x00 TTL=64 ID=1 PROTO=TCP SPT=1 DPT=2 WINDOW=1 RES=0x00 SYN URGP=0\n").unwrap();
        let err = read_frames(p.to_str().unwrap(), &mut |_| true).unwrap_err();
        assert!(err.message.contains("log file"), "{err}");
    }
}
