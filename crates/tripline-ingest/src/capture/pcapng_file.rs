//! pcapng files: several sections and interfaces, each interface with its
//! own link type, snap length, timestamp resolution (`if_tsresol`) and
//! offset (`if_tsoffset`).
//!
//! Section headers and interface descriptions are parsed with `pcap-parser`.
//! Packet blocks (enhanced, simple, and the obsolete packet block) are read
//! field by field here, because they are the hot path and `pcap-parser`
//! collects their options into a `Vec`. A block whose length is broken is
//! reported at its offset and reading resumes at the next 4-byte-aligned
//! offset that starts a known block whose trailing length matches.

use super::MAX_CAPLEN;
use super::emit::FrameEmitter;
use super::window::ByteWindow;
use crate::source::RecordSink;
use pcap_parser::pcapng::{
    OptionCode, parse_interfacedescriptionblock_be, parse_interfacedescriptionblock_le,
    parse_sectionheaderblock,
};
use pcap_parser::{
    CB_MAGIC, DCB_MAGIC, DSB_MAGIC, EPB_MAGIC, IDB_MAGIC, ISB_MAGIC, NRB_MAGIC, PIB_MAGIC,
    SHB_MAGIC, SJE_MAGIC, SPB_MAGIC, build_ts_resolution,
};
use tripline_core::{ErrorKind, Timestamp};

/// The obsolete Packet Block.
const PB_MAGIC: u32 = 2;
/// Largest block buffered whole: a packet block of the largest frame plus options.
const MAX_BUFFERED_BLOCK: usize = MAX_CAPLEN as usize + 64 * 1024;
/// Largest non-packet block skipped over (name tables, decryption secrets...).
const MAX_SKIPPED_BLOCK: u32 = 64 << 20;
/// Interfaces kept per section.
const MAX_INTERFACES: usize = 4096;
/// Link type marking an interface whose description did not parse.
const BROKEN_INTERFACE: u32 = u32::MAX;

/// One interface description.
#[derive(Clone, Copy, Debug)]
struct Interface {
    linktype: u32,
    snaplen: u32,
    /// Timestamp units per second.
    resolution: u64,
    /// Seconds added to every timestamp.
    offset_secs: i64,
}

impl Interface {
    fn timestamp(&self, high: u32, low: u32) -> Timestamp {
        let raw = ((high as u64) << 32) | low as u64;
        let secs = raw / self.resolution;
        let frac = raw % self.resolution;
        let nanos = (frac as u128 * 1_000_000_000 / self.resolution as u128) as u32;
        Timestamp::from_secs_nanos((secs as i64).saturating_add(self.offset_secs), nanos)
    }

    fn max_caplen(&self) -> u32 {
        if self.snaplen == 0 {
            MAX_CAPLEN
        } else {
            self.snaplen.min(MAX_CAPLEN)
        }
    }
}

/// Reader state across blocks.
struct Reader {
    big_endian: bool,
    interfaces: Vec<Interface>,
    last_ts: Timestamp,
}

impl Reader {
    fn word(&self, b: &[u8], at: usize) -> u32 {
        let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
        if self.big_endian {
            u32::from_be_bytes(w)
        } else {
            u32::from_le_bytes(w)
        }
    }

    fn half(&self, b: &[u8], at: usize) -> u16 {
        let w = [b[at], b[at + 1]];
        if self.big_endian {
            u16::from_be_bytes(w)
        } else {
            u16::from_le_bytes(w)
        }
    }
}

fn is_known_block(t: u32) -> bool {
    matches!(
        t,
        SHB_MAGIC
            | IDB_MAGIC
            | PB_MAGIC
            | SPB_MAGIC
            | NRB_MAGIC
            | ISB_MAGIC
            | EPB_MAGIC
            | SJE_MAGIC
            | DSB_MAGIC
            | CB_MAGIC
            | DCB_MAGIC
            | PIB_MAGIC
    )
}

fn is_packet_block(t: u32) -> bool {
    matches!(t, EPB_MAGIC | SPB_MAGIC | PB_MAGIC)
}

/// Byte order named by a section header's byte-order magic, if valid.
fn section_order(shb: &[u8]) -> Option<bool> {
    match [shb[8], shb[9], shb[10], shb[11]] {
        [0x4d, 0x3c, 0x2b, 0x1a] => Some(false),
        [0x1a, 0x2b, 0x3c, 0x4d] => Some(true),
        _ => None,
    }
}

/// Reads every block of a pcapng input.
pub(crate) fn read_pcapng(
    win: &mut dyn ByteWindow,
    em: &mut FrameEmitter,
    sink: &mut dyn RecordSink,
) {
    let mut r = Reader {
        big_endian: false,
        interfaces: Vec::new(),
        last_ts: Timestamp::ZERO,
    };
    loop {
        let offset = win.offset();
        if em.tick(sink, offset) {
            return;
        }
        let d = win.fill(12);
        if d.is_empty() {
            return;
        }
        if d.len() < 12 {
            em.error(
                sink,
                offset,
                ErrorKind::Truncated,
                format!("block header cut short: {} of 12 bytes", d.len()),
            );
            return;
        }
        let mut block_type = r.word(d, 0);
        if u32::from_le_bytes([d[0], d[1], d[2], d[3]]) == SHB_MAGIC {
            block_type = SHB_MAGIC;
            match section_order(d) {
                Some(be) => r.big_endian = be,
                None => {
                    em.error(
                        sink,
                        offset,
                        ErrorKind::BadMagic,
                        "section header with a bad byte-order magic",
                    );
                    if !resync(win, &r) {
                        return;
                    }
                    continue;
                }
            }
        }
        let len = r.word(d, 4);
        if len < 12 || !len.is_multiple_of(4) {
            em.error(
                sink,
                offset,
                ErrorKind::BadLength,
                format!("block length {len} is not a multiple of 4 of at least 12"),
            );
            if !resync(win, &r) {
                return;
            }
            continue;
        }
        if len as usize > MAX_BUFFERED_BLOCK {
            if !is_packet_block(block_type)
                && is_known_block(block_type)
                && len <= MAX_SKIPPED_BLOCK
            {
                if win.skip(len as u64) < len as u64 {
                    em.error(
                        sink,
                        offset,
                        ErrorKind::Truncated,
                        format!("block of {len} bytes cut short"),
                    );
                    return;
                }
                continue;
            }
            em.error(
                sink,
                offset,
                ErrorKind::BadLength,
                format!("block length {len} exceeds the cap"),
            );
            if is_packet_block(block_type) {
                em.stats.units += 1;
            }
            if !resync(win, &r) {
                return;
            }
            continue;
        }
        let len = len as usize;
        let d = win.fill(len);
        if d.len() < len {
            let msg = format!("block of {len} bytes cut short: only {} present", d.len());
            em.error(sink, offset, ErrorKind::Truncated, msg);
            return;
        }
        let block = &d[..len];
        if r.word(block, len - 4) != len as u32 {
            em.error(
                sink,
                offset,
                ErrorKind::BadLength,
                "block's trailing length differs from its leading length",
            );
            if !resync(win, &r) {
                return;
            }
            continue;
        }
        match block_type {
            SHB_MAGIC => {
                r.interfaces.clear();
                if let Err(e) = parse_sectionheaderblock(block) {
                    em.error(
                        sink,
                        offset,
                        ErrorKind::Decode,
                        format!("section header does not parse: {e:?}"),
                    );
                }
            }
            IDB_MAGIC => interface_block(&mut r, em, sink, offset, block),
            EPB_MAGIC | PB_MAGIC | SPB_MAGIC => {
                packet_block(&mut r, em, sink, offset, block_type, block)
            }
            _ => {}
        }
        win.consume(len);
    }
}

fn interface_block(
    r: &mut Reader,
    em: &mut FrameEmitter,
    sink: &mut dyn RecordSink,
    offset: u64,
    block: &[u8],
) {
    if r.interfaces.len() >= MAX_INTERFACES {
        em.error(
            sink,
            offset,
            ErrorKind::BadLength,
            format!("more than {MAX_INTERFACES} interfaces in one section"),
        );
        return;
    }
    let parsed = if r.big_endian {
        parse_interfacedescriptionblock_be(block)
    } else {
        parse_interfacedescriptionblock_le(block)
    };
    let idb = match parsed {
        Ok((_, idb)) => idb,
        Err(e) => {
            em.error(
                sink,
                offset,
                ErrorKind::Decode,
                format!("interface description does not parse: {e:?}"),
            );
            let broken = Interface {
                linktype: BROKEN_INTERFACE,
                snaplen: 0,
                resolution: 1_000_000,
                offset_secs: 0,
            };
            r.interfaces.push(broken);
            return;
        }
    };
    let mut iface = Interface {
        linktype: idb.linktype.0 as u32,
        snaplen: idb.snaplen,
        resolution: 1_000_000,
        offset_secs: 0,
    };
    for opt in &idb.options {
        let value = opt.value();
        if opt.code == OptionCode::IfTsresol && !value.is_empty() {
            match build_ts_resolution(value[0]) {
                Some(res) if res > 0 => iface.resolution = res,
                _ => em.error(
                    sink,
                    offset,
                    ErrorKind::Decode,
                    format!("invalid if_tsresol {}", value[0]),
                ),
            }
        } else if opt.code == OptionCode::IfTsoffset && value.len() >= 8 {
            let mut w = [0u8; 8];
            w.copy_from_slice(&value[..8]);
            iface.offset_secs = if r.big_endian {
                i64::from_be_bytes(w)
            } else {
                i64::from_le_bytes(w)
            };
        }
    }
    r.interfaces.push(iface);
}

fn packet_block(
    r: &mut Reader,
    em: &mut FrameEmitter,
    sink: &mut dyn RecordSink,
    offset: u64,
    block_type: u32,
    block: &[u8],
) {
    let len = block.len();
    // (interface, timestamp words, caplen, origlen, data start)
    let fields = match block_type {
        EPB_MAGIC if len >= 32 => Some((
            r.word(block, 8),
            Some((r.word(block, 12), r.word(block, 16))),
            r.word(block, 20),
            r.word(block, 24),
            28,
        )),
        PB_MAGIC if len >= 32 => Some((
            r.half(block, 8) as u32,
            Some((r.word(block, 12), r.word(block, 16))),
            r.word(block, 20),
            r.word(block, 24),
            28,
        )),
        SPB_MAGIC if len >= 16 => {
            let origlen = r.word(block, 8);
            let room = (len - 16) as u32;
            let snap = r
                .interfaces
                .first()
                .map_or(MAX_CAPLEN, Interface::max_caplen);
            Some((0, None, origlen.min(room).min(snap), origlen, 12))
        }
        _ => None,
    };
    // Every path below counts the block as one unit (`frame` does it itself).
    let Some((if_id, ts_words, caplen, origlen, data_at)) = fields else {
        em.stats.units += 1;
        em.error(
            sink,
            offset,
            ErrorKind::BadLength,
            format!("packet block of {len} bytes is too short"),
        );
        return;
    };
    let Some(iface) = r.interfaces.get(if_id as usize).copied() else {
        em.stats.units += 1;
        em.error(
            sink,
            offset,
            ErrorKind::Decode,
            format!("packet names interface {if_id}, which was not described"),
        );
        return;
    };
    let bad_len = if caplen == 0 {
        Some("zero-length packet".to_string())
    } else if caplen as usize > len - data_at - 4 {
        Some(format!("captured length {caplen} exceeds the block"))
    } else if caplen > iface.max_caplen() {
        Some(format!(
            "captured length {caplen} exceeds the snap length {}",
            iface.snaplen
        ))
    } else {
        None
    };
    if let Some(msg) = bad_len {
        em.stats.units += 1;
        em.error(sink, offset, ErrorKind::BadLength, msg);
        return;
    }
    let ts = match ts_words {
        Some((high, low)) => iface.timestamp(high, low),
        None => r.last_ts, // simple packet blocks carry no time
    };
    r.last_ts = ts;
    if iface.linktype == BROKEN_INTERFACE {
        em.stats.units += 1;
        em.stats.skipped += 1;
        return;
    }
    let frame = &block[data_at..data_at + caplen as usize];
    em.frame(sink, offset, ts, iface.linktype, if_id, frame, origlen);
}

/// Moves to the next 4-byte-aligned offset that starts a known block with a
/// matching trailing length; `false` when the input ends first.
fn resync(win: &mut dyn ByteWindow, r: &Reader) -> bool {
    win.consume(4);
    loop {
        let d = win.fill(MAX_BUFFERED_BLOCK);
        if d.len() < 12 {
            let n = d.len();
            win.consume(n);
            return false;
        }
        let block_type = r.word(d, 0);
        let le_type = u32::from_le_bytes([d[0], d[1], d[2], d[3]]);
        let candidate = if le_type == SHB_MAGIC {
            section_order(d).is_some_and(|be| {
                let reader = Reader {
                    big_endian: be,
                    interfaces: Vec::new(),
                    last_ts: Timestamp::ZERO,
                };
                trailer_matches(&reader, d)
            })
        } else {
            is_known_block(block_type) && trailer_matches(r, d)
        };
        if candidate {
            return true;
        }
        win.consume(4);
    }
}

fn trailer_matches(r: &Reader, d: &[u8]) -> bool {
    let len = r.word(d, 4) as usize;
    len >= 12
        && len.is_multiple_of(4)
        && len <= d.len()
        && len <= MAX_BUFFERED_BLOCK
        && r.word(d, len - 4) as usize == len
}
