//! HTTP/1.x message bodies: Content-Length, chunked and read-until-close
//! framing, decoded incrementally into a capped buffer.
//!
//! Chunked framing is read as leniently as libhtp reads it (Suricata's
//! HTTP parser), so that what the client would accept is what gets
//! inspected: line feeds, spaces and other white space before a chunk size
//! are skipped, the size is the run of hex digits at the start of the line
//! (whatever follows is ignored, like an extension), anything between the
//! chunk data and the next line feed is skipped. A response whose chunk
//! size line holds no usable size is not chunked after all: from that
//! line on its body is read as is until the connection closes (libhtp
//! does the same); a request in that state is an error.

use super::HttpError;

/// Longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 8 * 1024;

/// How a message body is delimited (RFC 9112 section 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// No body.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Everything until the connection closes (responses only).
    UntilClose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Done,
    Length(u64),
    ChunkSize,
    ChunkData(u64),
    ChunkDataEnd,
    Trailers,
    UntilClose,
}

/// Resumable body decoder: feed it bytes as they arrive; it appends the
/// decoded body (chunk framing removed) to a buffer up to a cap and skips
/// the rest, so a large body never has to be held in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyReader {
    state: State,
    decoded: u64,
    /// Fall back to read-until-close on a chunk size that is not hex.
    raw_fallback: bool,
}

/// What one [`BodyReader::feed`] call did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyProgress {
    /// Input bytes used (framing included).
    pub consumed: usize,
    /// True once the body ended.
    pub done: bool,
}

impl BodyReader {
    /// A reader for a body framed like this.
    pub fn new(framing: BodyFraming) -> Self {
        let state = match framing {
            BodyFraming::None | BodyFraming::Length(0) => State::Done,
            BodyFraming::Length(n) => State::Length(n),
            BodyFraming::Chunked => State::ChunkSize,
            BodyFraming::UntilClose => State::UntilClose,
        };
        BodyReader {
            state,
            decoded: 0,
            raw_fallback: false,
        }
    }

    /// A reader for a response body: a chunk size line without any hex
    /// digit turns the rest of the body into read-until-close.
    pub fn for_response(framing: BodyFraming) -> Self {
        BodyReader {
            raw_fallback: true,
            ..BodyReader::new(framing)
        }
    }

    /// True once the body ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// True for a body that only ends when the connection closes.
    pub fn until_close(&self) -> bool {
        self.state == State::UntilClose
    }

    /// Decoded body bytes seen so far (kept or skipped).
    pub fn decoded_len(&self) -> u64 {
        self.decoded
    }

    /// Decodes what `input` holds, appending body bytes to `out` while it is
    /// shorter than `cap`. `base` is the offset of `input` in the caller's
    /// buffer, for error offsets. Stops at the end of the body; a partial
    /// chunk-size or trailer line is left unconsumed for the next call.
    pub fn feed(
        &mut self,
        input: &[u8],
        base: usize,
        out: &mut Vec<u8>,
        cap: usize,
    ) -> Result<BodyProgress, HttpError> {
        let mut pos = 0usize;
        loop {
            let rest = &input[pos..];
            match self.state {
                State::Done => break,
                State::Length(n) | State::ChunkData(n) => {
                    let take = (rest.len() as u64).min(n) as usize;
                    self.keep(&rest[..take], out, cap);
                    pos += take;
                    let left = n - take as u64;
                    self.state = match (self.state, left) {
                        (State::Length(_), 0) => State::Done,
                        (State::Length(_), l) => State::Length(l),
                        (_, 0) => State::ChunkDataEnd,
                        (_, l) => State::ChunkData(l),
                    };
                    if left > 0 {
                        break;
                    }
                }
                State::UntilClose => {
                    self.keep(rest, out, cap);
                    pos = input.len();
                    break;
                }
                State::ChunkSize => {
                    let first = rest.iter().find(|&&b| !is_chunk_space(b));
                    if self.raw_fallback && first.is_some_and(|b| !b.is_ascii_hexdigit()) {
                        // Cannot become a size line, whatever follows.
                        self.state = State::UntilClose;
                        continue;
                    }
                    let Some(line) = line(rest, base + pos)? else {
                        break;
                    };
                    let content = &rest[..line.content];
                    if content.iter().all(|&b| is_chunk_space(b)) {
                        // An empty line before the size: skipped.
                        pos += line.total;
                        continue;
                    }
                    match chunk_size(content, base + pos) {
                        Ok(size) => {
                            pos += line.total;
                            self.state = if size == 0 {
                                State::Trailers
                            } else {
                                State::ChunkData(size)
                            };
                        }
                        Err(_) if self.raw_fallback => {
                            self.state = State::UntilClose;
                        }
                        Err(e) => return Err(e),
                    }
                }
                State::ChunkDataEnd => {
                    // Normally an empty line; whatever is before the line
                    // feed is skipped.
                    let Some(line) = line(rest, base + pos)? else {
                        break;
                    };
                    pos += line.total;
                    self.state = State::ChunkSize;
                }
                State::Trailers => {
                    let Some(line) = line(rest, base + pos)? else {
                        break;
                    };
                    pos += line.total;
                    if line.content == 0 {
                        self.state = State::Done;
                    }
                }
            }
        }
        Ok(BodyProgress {
            consumed: pos,
            done: self.state == State::Done,
        })
    }

    fn keep(&mut self, bytes: &[u8], out: &mut Vec<u8>, cap: usize) {
        self.decoded += bytes.len() as u64;
        let room = cap.saturating_sub(out.len()).min(bytes.len());
        out.extend_from_slice(&bytes[..room]);
    }
}

struct Line {
    /// Length without the line ending.
    content: usize,
    /// Length with it.
    total: usize,
}

/// The next line of `rest` (LF or CRLF ended), `None` when it is not
/// complete yet.
fn line(rest: &[u8], offset: usize) -> Result<Option<Line>, HttpError> {
    match memchr::memchr(b'\n', rest) {
        Some(i) => {
            let content = if i > 0 && rest[i - 1] == b'\r' {
                i - 1
            } else {
                i
            };
            Ok(Some(Line {
                content,
                total: i + 1,
            }))
        }
        None if rest.len() > MAX_LINE => Err(HttpError::TooLarge {
            offset,
            what: "chunk-size or trailer line",
        }),
        None => Ok(None),
    }
}

/// White space libhtp skips before a chunk size: space, tab, CR, LF, VT, FF.
fn is_chunk_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Parses the chunk size at the start of a line: leading white space
/// skipped, then hex digits (leading zeros any number), then anything.
fn chunk_size(line: &[u8], offset: usize) -> Result<u64, HttpError> {
    let bad = HttpError::Malformed {
        offset,
        what: "chunk size",
    };
    let skip = line.iter().take_while(|&&b| is_chunk_space(b)).count();
    let digits = &line[skip..];
    let n = digits.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if n == 0 {
        return Err(bad);
    }
    let mut size = 0u64;
    for &b in &digits[..n] {
        let d = (b as char).to_digit(16).ok_or(bad)? as u64;
        if size > u64::MAX >> 8 {
            return Err(bad);
        }
        size = (size << 4) | d;
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_in_pieces() {
        let wire = b"4\r\nWiki\r\n5;ext=1\r\npedia\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for split in 0..wire.len() {
            let mut r = BodyReader::new(BodyFraming::Chunked);
            let mut out = Vec::new();
            let a = r.feed(&wire[..split], 0, &mut out, 100).unwrap();
            let b = r
                .feed(&wire[a.consumed..], a.consumed, &mut out, 100)
                .unwrap();
            assert!(b.done, "split {split}");
            assert_eq!(out, b"Wikipedia");
            assert_eq!(&wire[a.consumed + b.consumed..], b"NEXT");
        }
    }

    #[test]
    fn cap_keeps_the_head_and_skips_the_rest() {
        let mut r = BodyReader::new(BodyFraming::Length(10));
        let mut out = Vec::new();
        let p = r.feed(b"0123456789xyz", 0, &mut out, 4).unwrap();
        assert_eq!((p.consumed, p.done, &out[..]), (10, true, &b"0123"[..]));
        assert_eq!(r.decoded_len(), 10);
    }

    #[test]
    fn bad_chunk_sizes_are_errors_in_requests() {
        for wire in [&b"zz\r\n"[..], b"\t;x\r\n", b"1234567890abcdef0\r\n"] {
            let mut r = BodyReader::new(BodyFraming::Chunked);
            assert!(r.feed(wire, 7, &mut Vec::new(), 10).is_err(), "{wire:?}");
        }
    }

    fn decode(framing: BodyReader, wire: &[u8]) -> (Vec<u8>, BodyProgress) {
        let mut r = framing;
        let mut out = Vec::new();
        let p = r.feed(wire, 0, &mut out, 1000).unwrap();
        (out, p)
    }

    #[test]
    fn lenient_chunk_lines_like_libhtp() {
        // Junk after the size, white space before it, leading zeros, an
        // empty line before the first size, junk after the chunk data.
        let wire =
            b"\r\n \x0b4x\r\nWiki\r\n05 ;\r\npedia??\r\n\r\n00000000000000000000\r\n\r\nNEXT";
        let (out, p) = decode(BodyReader::new(BodyFraming::Chunked), wire);
        assert_eq!(out, b"Wikipedia");
        assert!(p.done);
        assert_eq!(&wire[p.consumed..], b"NEXT");
    }

    #[test]
    fn response_that_is_not_chunked_after_all_is_read_until_close() {
        // Even before the line ends (the body may have no line feed).
        let (out, p) = decode(BodyReader::for_response(BodyFraming::Chunked), b"\r\nX5O!P");
        assert_eq!((&out[..], p.consumed), (&b"\r\nX5O!P"[..], 7));
        let wire = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR\r\nrest";
        let (out, p) = decode(BodyReader::for_response(BodyFraming::Chunked), wire);
        assert_eq!(out, &wire[..]);
        assert!(!p.done);
        // After a valid chunk too.
        let wire = b"3\r\nabc\r\nnot hex\r\nmore";
        let (out, _) = decode(BodyReader::for_response(BodyFraming::Chunked), wire);
        assert_eq!(out, b"abcnot hex\r\nmore");
        let mut request = BodyReader::new(BodyFraming::Chunked);
        assert!(request.feed(wire, 0, &mut Vec::new(), 10).is_err());
    }
}
