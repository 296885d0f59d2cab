//! Content-Encoding of HTTP bodies: gzip and deflate layers undone so that
//! `http.request_body` and `http.response_body`/`file.data` hold what the
//! peer will read, as Suricata inspects them.
//!
//! Like libhtp (Suricata's HTTP parser, personality IDS defaults):
//! * every `Content-Encoding` field is read, each comma- or space-separated
//!   token that names gzip (`gzip`, `x-gzip`, `x gzip`, ...) or deflate
//!   (`deflate`, `x-deflate`, ...) is one layer, `identity` and unknown
//!   tokens are not; the last layer listed is undone first;
//! * at most [`DecompressLimits::layers`] layers are undone
//!   (`response-body-decompress-layer-limit`, 2 by default);
//! * the format of each layer is recognised from its first bytes (gzip
//!   magic, else a zlib header, else raw deflate), as libhtp retries the
//!   other formats when the declared one fails; the gzip header is read
//!   leniently (reserved flags ignored) and its trailer (CRC, size) is not
//!   checked, so a damaged trailer still decodes;
//! * a layer whose first bytes do not decode at all is passed through as
//!   it is; a stream that breaks after some output keeps that output and
//!   reports [`DecodeError::Corrupt`];
//! * output is bounded: the last layer stops at the body cap, inner layers
//!   at [`DecompressLimits::bomb_limit`], and a layer whose output grows
//!   beyond [`DecompressLimits::ratio`] times its input is stopped as a
//!   compression bomb.

use flate2::{Decompress, FlushDecompress, Status};

use super::headers::Field;

/// Most codings remembered per message (more are counted as skipped).
const MAX_CODINGS: usize = 8;

/// Output below this size is never called a bomb, whatever the ratio.
const RATIO_FLOOR: usize = 64 * 1024;

/// Output written per inflate call.
const STEP: usize = 16 * 1024;

/// One content coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// gzip (RFC 1952), `x-gzip`.
    Gzip,
    /// deflate: zlib (RFC 1950) or, as sent by some servers, raw deflate
    /// (RFC 1951).
    Deflate,
}

/// The codings of a message, in the order the sender applied them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Codings {
    list: [Option<Coding>; MAX_CODINGS],
    len: usize,
    /// Codings past [`MAX_CODINGS`].
    overflow: u8,
}

impl Codings {
    /// Reads every `Content-Encoding` field of a message.
    pub(super) fn from_fields(msg: &[u8], fields: &[Field]) -> Codings {
        let mut codings = Codings::default();
        for f in fields {
            if f.is(msg, b"content-encoding") {
                codings.add_value(&msg[f.value.0..f.value.1]);
            }
        }
        codings
    }

    /// Adds the codings of one field value.
    pub fn add_value(&mut self, value: &[u8]) {
        let separator = |b: &u8| *b == b',' || b.is_ascii_whitespace();
        for token in value.split(separator) {
            let coding = if contains_nocase(token, b"gzip") {
                Coding::Gzip
            } else if contains_nocase(token, b"deflate") {
                Coding::Deflate
            } else {
                continue;
            };
            if self.len < MAX_CODINGS {
                self.list[self.len] = Some(coding);
                self.len += 1;
            } else {
                self.overflow = self.overflow.saturating_add(1);
            }
        }
    }

    /// True when the body is not encoded.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of layers.
    pub fn len(&self) -> usize {
        self.len + self.overflow as usize
    }

    /// The codings in the order they are undone (last applied first).
    pub fn undo_order(&self) -> impl Iterator<Item = Coding> + '_ {
        self.list[..self.len].iter().rev().flatten().copied()
    }
}

fn contains_nocase(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Bounds of body decompression (Suricata's defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecompressLimits {
    /// Most layers undone (`response-body-decompress-layer-limit`, 2).
    pub layers: usize,
    /// Most bytes an inner layer may produce (`compression-bomb-limit`,
    /// 1 MiB). The last layer stops at the body cap instead.
    pub bomb_limit: usize,
    /// Most output bytes per input byte of a layer before it is stopped as
    /// a bomb (libhtp's 2048).
    pub ratio: usize,
}

impl Default for DecompressLimits {
    fn default() -> Self {
        DecompressLimits {
            layers: 2,
            bomb_limit: 1024 * 1024,
            ratio: 2048,
        }
    }
}

/// Why decoding stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A layer's data did not decode from its first byte: passed through
    /// as it is.
    NotCompressed {
        /// Layer (0 = the first undone).
        layer: u8,
    },
    /// A layer's stream broke after some output, which is kept.
    Corrupt {
        /// Layer (0 = the first undone).
        layer: u8,
        /// Offset in that layer's input where the error was found.
        offset: u64,
    },
    /// A layer hit the bomb limit or the ratio cap; its output so far is
    /// kept.
    Bomb {
        /// Layer (0 = the first undone).
        layer: u8,
    },
}

/// What decoding a body did; [`BodyDecoding::default`] for a body without
/// content coding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BodyDecoding {
    /// Layers undone (passed-through ones included).
    pub layers: u8,
    /// Layers not undone: over the layer limit.
    pub skipped_layers: u8,
    /// True when the decoded body was cut at the body cap.
    pub truncated: bool,
    /// The first problem met, if any.
    pub error: Option<DecodeError>,
}

/// Reusable decoder state and buffers.
#[derive(Default)]
pub(super) struct Decoder {
    inflate: Option<Decompress>,
    spare: Vec<u8>,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("spare", &self.spare.len())
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Undoes the codings of `body` into `out` (cleared first), the result
    /// at most `cap` bytes.
    pub(super) fn decode(
        &mut self,
        codings: &Codings,
        limits: &DecompressLimits,
        body: &[u8],
        out: &mut Vec<u8>,
        cap: usize,
    ) -> BodyDecoding {
        let mut report = BodyDecoding::default();
        let todo = codings.len().min(limits.layers);
        report.skipped_layers = (codings.len() - todo).min(u8::MAX as usize) as u8;
        out.clear();
        out.extend_from_slice(body);
        for layer in 0..todo {
            let last = layer + 1 == todo;
            let layer_cap = if last { cap } else { limits.bomb_limit };
            std::mem::swap(out, &mut self.spare);
            let input = std::mem::take(&mut self.spare);
            let result = self.layer(&input, out, layer_cap, limits.ratio);
            self.spare = input;
            report.layers += 1;
            match result {
                LayerEnd::Done => {}
                LayerEnd::Full if last => report.truncated = true,
                LayerEnd::Full => {
                    report
                        .error
                        .get_or_insert(DecodeError::Bomb { layer: layer as u8 });
                }
                LayerEnd::NotCompressed => {
                    out.clear();
                    let n = self.spare.len().min(layer_cap);
                    out.extend_from_slice(&self.spare[..n]);
                    report.truncated |= last && n < self.spare.len();
                    report
                        .error
                        .get_or_insert(DecodeError::NotCompressed { layer: layer as u8 });
                }
                LayerEnd::Corrupt(offset) => {
                    report.error.get_or_insert(DecodeError::Corrupt {
                        layer: layer as u8,
                        offset,
                    });
                }
                LayerEnd::Bomb => {
                    report
                        .error
                        .get_or_insert(DecodeError::Bomb { layer: layer as u8 });
                }
            }
        }
        if out.len() > cap {
            out.truncate(cap);
            report.truncated = true;
        }
        report
    }

    /// Undoes one layer of `input` into `out` (cleared first).
    fn layer(&mut self, input: &[u8], out: &mut Vec<u8>, cap: usize, ratio: usize) -> LayerEnd {
        out.clear();
        let (data, zlib) = match input {
            [0x1f, 0x8b, ..] => match gzip_header_len(input) {
                Some(n) => (&input[n..], false),
                None => return LayerEnd::NotCompressed,
            },
            [cmf, flg, ..] if is_zlib_header(*cmf, *flg) => (input, true),
            _ => (input, false),
        };
        let skipped = (input.len() - data.len()) as u64;
        let inflate = match &mut self.inflate {
            Some(d) => {
                d.reset(zlib);
                d
            }
            slot => slot.insert(Decompress::new(zlib)),
        };
        loop {
            let room = cap.saturating_sub(out.len()).min(STEP);
            if room == 0 {
                return LayerEnd::Full;
            }
            let consumed = inflate.total_in() as usize;
            let start = out.len();
            out.resize(start + room, 0);
            let before_out = inflate.total_out();
            let status =
                inflate.decompress(&data[consumed..], &mut out[start..], FlushDecompress::None);
            let produced = (inflate.total_out() - before_out) as usize;
            out.truncate(start + produced);
            let in_now = inflate.total_in() as usize;
            match status {
                Ok(Status::StreamEnd) => return LayerEnd::Done,
                Ok(_) if produced == 0 && in_now == consumed => {
                    // No progress: the input ended before the stream did
                    // (a cut body), nothing more to get.
                    return LayerEnd::Done;
                }
                Ok(_) => {}
                Err(_) if out.is_empty() => return LayerEnd::NotCompressed,
                Err(_) => return LayerEnd::Corrupt(skipped + inflate.total_in()),
            }
            if out.len() > RATIO_FLOOR && out.len() / ratio.max(1) > in_now.max(1) {
                return LayerEnd::Bomb;
            }
        }
    }
}

/// How one layer ended.
enum LayerEnd {
    /// The stream ended, or the input did.
    Done,
    /// The output reached its cap.
    Full,
    /// Not in any supported format from the first byte.
    NotCompressed,
    /// Broke at this input offset after some output.
    Corrupt(u64),
    /// Over the ratio cap.
    Bomb,
}

/// A valid zlib header: deflate method, window up to 32 KiB, check bits.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

/// Length of the gzip member header at the start of `data` (RFC 1952
/// section 2.3), reserved flag bits ignored; `None` when it is cut short or
/// the method is not deflate.
fn gzip_header_len(data: &[u8]) -> Option<usize> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    if data.len() < 10 || data[2] != 8 {
        return None;
    }
    let flags = data[3];
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let xlen = u16::from_le_bytes([*data.get(pos)?, *data.get(pos + 1)?]) as usize;
        pos += 2 + xlen;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            pos += memchr::memchr(0, data.get(pos..)?)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    (pos <= data.len()).then_some(pos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use std::io::Write;

    const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn codings(value: &str) -> Codings {
        let mut c = Codings::default();
        c.add_value(value.as_bytes());
        c
    }

    fn run(
        value: &str,
        body: &[u8],
        limits: &DecompressLimits,
        cap: usize,
    ) -> (Vec<u8>, BodyDecoding) {
        let mut out = Vec::new();
        let report = Decoder::default().decode(&codings(value), limits, body, &mut out, cap);
        (out, report)
    }

    #[test]
    fn coding_tokens_like_libhtp() {
        let c = codings("x-gzip, identity,Deflate x_gzip lzma");
        let order: Vec<_> = c.undo_order().collect();
        assert_eq!(order, [Coding::Gzip, Coding::Deflate, Coding::Gzip]);
        assert!(codings("identity").is_empty());
    }

    #[test]
    fn gzip_zlib_and_raw_deflate() {
        let limits = DecompressLimits::default();
        for (value, body) in [
            ("gzip", gzip(EICAR)),
            ("deflate", zlib(EICAR)),
            ("deflate", raw_deflate(EICAR)),
        ] {
            let (out, report) = run(value, &body, &limits, 1000);
            assert_eq!(out, EICAR, "{value}");
            assert_eq!(
                report,
                BodyDecoding {
                    layers: 1,
                    ..BodyDecoding::default()
                }
            );
        }
    }

    #[test]
    fn stacked_layers_and_the_layer_limit() {
        let body = raw_deflate(&gzip(EICAR));
        let (out, report) = run("gzip, deflate", &body, &DecompressLimits::default(), 1000);
        assert_eq!(out, EICAR);
        assert_eq!(report.layers, 2);
        let three = gzip(&zlib(&gzip(EICAR)));
        let (out, report) = run(
            "gzip,deflate,gzip",
            &three,
            &DecompressLimits::default(),
            1000,
        );
        assert_eq!((out == EICAR, report.skipped_layers), (false, 1));
        let limits = DecompressLimits {
            layers: 3,
            ..DecompressLimits::default()
        };
        let (out, _) = run("gzip,deflate,gzip", &three, &limits, 1000);
        assert_eq!(out, EICAR);
    }

    #[test]
    fn a_layer_that_is_not_compressed_passes_through() {
        // Two layers declared, one applied.
        let (out, report) = run(
            "gzip, deflate",
            &gzip(EICAR),
            &DecompressLimits::default(),
            1000,
        );
        assert_eq!(out, EICAR);
        assert_eq!(report.error, Some(DecodeError::NotCompressed { layer: 1 }));
        let (out, report) = run("gzip", EICAR, &DecompressLimits::default(), 1000);
        assert_eq!((out.as_slice(), report.layers), (EICAR, 1));
    }

    #[test]
    fn damaged_gzip_headers_and_trailers_still_decode() {
        let good = gzip(EICAR);
        // Reserved flag bit, a bad CRC, no trailer at all.
        let mut reserved = good.clone();
        reserved[3] |= 0x80;
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 0xff;
        let no_trailer = good[..good.len() - 8].to_vec();
        // FEXTRA with five bytes of extra field, FNAME and FCOMMENT.
        let mut extra = good[..10].to_vec();
        extra[3] = 0x04 | 0x08 | 0x10;
        extra.extend_from_slice(&[5, 0, b'A', b'p', 1, 0, 0]);
        extra.extend_from_slice(b"eicar.txt\0comment\0");
        extra.extend_from_slice(&good[10..]);
        for body in [reserved, bad_crc, no_trailer, extra] {
            let (out, report) = run("gzip", &body, &DecompressLimits::default(), 1000);
            assert_eq!(out, EICAR);
            assert_eq!(report.error, None);
        }
    }

    #[test]
    fn corrupt_stream_keeps_what_decoded() {
        // A block flushed to a byte boundary, then a block of the reserved
        // type 3: the stream breaks after the first block's output.
        let text: Vec<u8> = (0..2_000u32)
            .flat_map(|i| i.to_string().into_bytes())
            .collect();
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(&text).unwrap();
        e.flush().unwrap();
        let mut body = e.get_ref().clone();
        body.extend_from_slice(&[0x07, 0xff, 0xff]);
        let (out, report) = run("deflate", &body, &DecompressLimits::default(), 1 << 20);
        assert!(
            matches!(report.error, Some(DecodeError::Corrupt { layer: 0, .. })),
            "{report:?}"
        );
        assert_eq!(out, text);
    }

    #[test]
    fn output_is_capped_and_bombs_are_stopped() {
        let zeros = vec![0u8; 4 << 20];
        let body = gzip(&zeros);
        let (out, report) = run("gzip", &body, &DecompressLimits::default(), 100 * 1024);
        assert_eq!((out.len(), report.truncated), (100 * 1024, true));
        // Over the ratio cap (deflate alone stays near 1000:1, so a lower
        // cap shows it), and an inner layer over the bomb limit.
        let tight = DecompressLimits {
            ratio: 100,
            ..DecompressLimits::default()
        };
        let (out, report) = run("gzip", &body, &tight, 100 * 1024);
        assert!(out.len() < 100 * 1024 && out.len() > RATIO_FLOOR);
        assert_eq!(report.error, Some(DecodeError::Bomb { layer: 0 }));
        let small = DecompressLimits {
            bomb_limit: 1024,
            ..DecompressLimits::default()
        };
        let (out, report) = run("gzip, gzip", &gzip(&body), &small, 100 * 1024);
        assert!(out.len() <= 100 * 1024);
        assert_eq!(report.error, Some(DecodeError::Bomb { layer: 0 }));
    }

    #[test]
    fn gzip_header_lengths() {
        assert_eq!(gzip_header_len(&gzip(b"x")), Some(10));
        assert_eq!(
            gzip_header_len(&[0x1f, 0x8b, 8, 0x08, 0, 0, 0, 0, 0, 3, b'a']),
            None
        );
        assert_eq!(gzip_header_len(&[0x1f, 0x8b, 7, 0, 0, 0, 0, 0, 0, 3]), None);
    }
}
