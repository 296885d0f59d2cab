//! Capture files: pcap, pcapng, gzip; link layers; decoding into `Header`;
//! IP defragmentation.
//!
//! * [`sniff`] tells the format from the first bytes, never from the name.
//! * [`CaptureSource`] reads a file (memory-mapped, zero copy) or a stream
//!   (gzip, stdin) and pushes one `Record::Packet` per IP frame into the
//!   sink. Non-IP frames (ARP, LLDP...) are counted in
//!   `SourceStats::skipped`. Damage (truncation, bad magic, zero-length or
//!   oversized records, undecodable headers) becomes an `InputError` naming
//!   the byte offset of the record (after decompression for gzip), is
//!   counted, and reading goes on with the next record.
//! * [`decode::decode_frame`] and [`decode::decode_ip`] are the pure
//!   decoders shared with live capture and the fuzz targets.
//! * [`defrag::Defragmenter`] reassembles IPv4/IPv6 fragments; its module
//!   documentation says which extra records fragmented traffic produces.

pub mod decode;
pub mod defrag;
mod emit;
pub mod link;
mod pcap_file;
mod pcapng_file;
mod source;
mod window;

pub use decode::{DecodeError, DecodedFrame, FrameError, decode_frame, decode_ip};
pub use defrag::{DefragConfig, Defragmenter};
pub use source::CaptureSource;

use crate::source::Format;
use std::io::Read;

/// Largest captured frame accepted (256 KiB, libpcap's `MAXIMUM_SNAPLEN`).
pub const MAX_CAPLEN: u32 = 256 * 1024;

/// Bytes read from the start of an input to detect its format.
pub(crate) const SNIFF_LEN: usize = 4096;

/// What a capture input is, from its magic number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureKind {
    /// Classic libpcap.
    Pcap {
        /// Timestamps in nanoseconds (magic `a1b23c4d`) rather than microseconds.
        nanosecond: bool,
        /// Fields are big-endian.
        big_endian: bool,
        /// The file is gzip-compressed.
        gzip: bool,
    },
    /// pcapng.
    Pcapng {
        /// The file is gzip-compressed.
        gzip: bool,
    },
}

impl CaptureKind {
    /// The source format this kind reads as.
    pub fn format(self) -> Format {
        match self {
            CaptureKind::Pcap { .. } => Format::Pcap,
            CaptureKind::Pcapng { .. } => Format::Pcapng,
        }
    }

    /// True when the bytes are gzip-compressed.
    pub fn gzip(self) -> bool {
        match self {
            CaptureKind::Pcap { gzip, .. } | CaptureKind::Pcapng { gzip } => gzip,
        }
    }

    fn compressed(self) -> Self {
        match self {
            CaptureKind::Pcap {
                nanosecond,
                big_endian,
                ..
            } => CaptureKind::Pcap {
                nanosecond,
                big_endian,
                gzip: true,
            },
            CaptureKind::Pcapng { .. } => CaptureKind::Pcapng { gzip: true },
        }
    }
}

/// Detects the capture format from the first bytes of an input: pcap (µs
/// `a1b2c3d4` or ns `a1b23c4d`, either byte order), pcapng (`0a0d0d0a`), or
/// gzip (`1f8b`) whose decompressed start is one of those. Give it a few
/// hundred bytes for gzip; 4 suffice otherwise.
pub fn sniff(prefix: &[u8]) -> Option<CaptureKind> {
    let magic: [u8; 4] = prefix.get(..4)?.try_into().ok()?;
    let pcap = |nanosecond, big_endian| {
        Some(CaptureKind::Pcap {
            nanosecond,
            big_endian,
            gzip: false,
        })
    };
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => pcap(false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => pcap(false, true),
        [0x4d, 0x3c, 0xb2, 0xa1] => pcap(true, false),
        [0xa1, 0xb2, 0x3c, 0x4d] => pcap(true, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => Some(CaptureKind::Pcapng { gzip: false }),
        [0x1f, 0x8b, ..] => {
            let mut inner = [0u8; 4];
            let mut got = 0;
            let mut decoder = flate2::read::GzDecoder::new(prefix);
            while got < inner.len() {
                match decoder.read(&mut inner[got..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got += n,
                }
            }
            // A gzip of a gzip is not a capture: only one level is unwrapped.
            match sniff(&inner[..got])? {
                k if inner.starts_with(&[0x1f, 0x8b]) => Some(k),
                k => Some(k.compressed()),
            }
        }
        _ => None,
    }
}
