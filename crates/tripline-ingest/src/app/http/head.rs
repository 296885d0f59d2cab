//! The head of an HTTP/1.x message: where the start line is, where the
//! field block ends, and how the start line splits.
//!
//! Read as leniently as libhtp reads responses (Suricata's parser):
//! * up to [`MAX_JUNK_LINES`] short lines before a status line that do not
//!   start with `HTTP/` are skipped, and so are spaces, tabs and NULs
//!   before it; a CR followed by anything but LF ends the status line;
//! * the head ends at an empty line (LF or CRLF); also, unless an empty
//!   line follows right after, at a line holding one space or tab and a
//!   bare LF, and at a line of CRs only after a line ended by a bare LF
//!   (the "deformed" line ends libhtp accepts); a space line ended by CRLF
//!   is a folded continuation;
//! * a status line may lack its code or reason; a code that is not a
//!   number from 100 to 999 is kept as sent, with status 0.

use super::HttpError;

/// Most lines skipped before a status line.
pub(super) const MAX_JUNK_LINES: usize = 4;

/// Longest line skipped before a status line.
const MAX_JUNK_LINE: usize = 128;

/// The head of a message: start line and field block, as ranges.
pub(super) struct Head {
    /// Offset of the start line (after leading empty lines).
    pub start: usize,
    /// End of the start line, without its line ending.
    pub start_line_end: usize,
    /// The field block.
    pub block: (usize, usize),
    /// First byte after the empty line.
    pub body: usize,
}

/// True when the line (without its LF) ends the head; `after` is what
/// follows its LF, `bare_lf_before` tells whether the line before ended
/// with a bare LF. `None` when the bytes after it are needed to tell.
fn ends_head(line: &[u8], after: &[u8], bare_lf_before: bool) -> Option<bool> {
    if line.is_empty() || line == b"\r" {
        return Some(true);
    }
    // The rest are decided by the next line: not a terminator when an
    // empty line follows right after (that one is).
    let next_is_empty = || match after {
        [] | [b'\r'] => None,
        [b'\n', ..] | [b'\r', b'\n', ..] => Some(true),
        _ => Some(false),
    };
    if matches!(line, [b' ' | b'\t']) || (bare_lf_before && line.iter().all(|&b| b == b'\r')) {
        return next_is_empty().map(|empty| !empty);
    }
    Some(false)
}

/// Finds the head in `buf` from `from`; `Ok(None)` when it is not complete
/// yet.
pub(super) fn find_head(
    buf: &[u8],
    from: usize,
    max_head: usize,
) -> Result<Option<Head>, HttpError> {
    let mut start = from;
    while let Some(b'\r' | b'\n') = buf.get(start) {
        start += 1;
    }
    let Some(nl) = memchr::memchr(b'\n', &buf[start..]).map(|i| start + i) else {
        return too_large(buf.len() - start, max_head, start);
    };
    let start_line_end = if buf[nl - 1] == b'\r' { nl - 1 } else { nl };
    let mut pos = nl + 1;
    loop {
        let Some(i) = memchr::memchr(b'\n', &buf[pos..]) else {
            return too_large(buf.len() - start, max_head, start);
        };
        let bare_lf_before = buf[pos - 1] == b'\n' && buf.get(pos.wrapping_sub(2)) != Some(&b'\r');
        match ends_head(&buf[pos..pos + i], &buf[pos + i + 1..], bare_lf_before) {
            Some(true) => {
                return Ok(Some(Head {
                    start,
                    start_line_end,
                    block: (nl + 1, pos),
                    body: pos + i + 1,
                }));
            }
            Some(false) => {}
            None => return too_large(buf.len() - start, max_head, start),
        }
        pos += i + 1;
        if pos - start > max_head {
            return too_large(pos - start, max_head, start);
        }
    }
}

/// The head of a response whose stream closed before its empty line: the
/// start line (if it ended) and the complete field lines that arrived.
pub(super) fn head_cut_by_close(buf: &[u8], start: usize) -> Head {
    let nl = memchr::memchr(b'\n', &buf[start..]).map(|i| start + i);
    let start_line_end = match nl {
        Some(nl) if nl > start && buf[nl - 1] == b'\r' => nl - 1,
        Some(nl) => nl,
        None => buf.len(),
    };
    let block_start = nl.map_or(buf.len(), |nl| nl + 1);
    let block_end =
        memchr::memrchr(b'\n', &buf[block_start..]).map_or(block_start, |i| block_start + i + 1);
    Head {
        start,
        start_line_end,
        block: (block_start, block_end),
        body: buf.len(),
    }
}

fn too_large(len: usize, max: usize, offset: usize) -> Result<Option<Head>, HttpError> {
    if len > max {
        Err(HttpError::TooLarge {
            offset,
            what: "message head",
        })
    } else {
        Ok(None)
    }
}

/// Where the status line starts: past empty lines, up to
/// [`MAX_JUNK_LINES`] junk lines and the NULs and white space before
/// `HTTP/`. `Ok(None)` while the bytes there are a prefix of `HTTP/` (never
/// once `closed`). Junk is only skipped when it arrived with (the start of)
/// the status line after it: a stream that starts with anything else is
/// not HTTP, without waiting for more.
pub(super) fn status_line_start(buf: &[u8], closed: bool) -> Result<Option<usize>, HttpError> {
    let first = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let not_http = HttpError::NotHttp { offset: first };
    let mut pos = 0;
    for _ in 0..=MAX_JUNK_LINES {
        while let Some(b'\r' | b'\n') = buf.get(pos) {
            pos += 1;
        }
        let lead = buf[pos..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t' || b == 0)
            .count();
        let rest = &buf[pos + lead..];
        let n = rest.len().min(5);
        if n > 0 && rest[..n].eq_ignore_ascii_case(&b"HTTP/"[..n]) && (n == 5 || !closed) {
            return Ok((n == 5).then_some(pos + lead));
        }
        match memchr::memchr(b'\n', &buf[pos..]) {
            Some(i) if i <= MAX_JUNK_LINE && pos + i + 1 < buf.len() => pos += i + 1,
            _ if pos == 0 && buf.is_empty() => return Ok(None),
            _ => return Err(not_http),
        }
    }
    Err(not_http)
}

/// Splits a start line into its three space-separated parts (runs of
/// spaces or tabs tolerated); the third part is the rest of the line.
pub(super) fn three_parts(line: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let sp = |b: &u8| *b == b' ' || *b == b'\t';
    let a_end = line.iter().position(sp)?;
    let rest = &line[a_end..];
    let b_start = a_end + rest.iter().position(|b| !sp(b))?;
    let b_end = b_start
        + line[b_start..]
            .iter()
            .position(sp)
            .unwrap_or(line.len() - b_start);
    let c_start = (b_end
        + line[b_end..]
            .iter()
            .position(|b| !sp(b))
            .unwrap_or(line.len() - b_end))
    .min(line.len());
    Some((
        &line[..a_end],
        &line[b_start..b_end],
        line[c_start..].trim_ascii_end(),
    ))
}

/// Splits a status line leniently: protocol, code and reason, the last two
/// possibly empty; any ASCII white space separates.
pub(super) fn status_parts(line: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let ws = |b: &u8| b.is_ascii_whitespace();
    let p_end = line.iter().position(ws).unwrap_or(line.len());
    let after = &line[p_end..];
    let c_start = p_end + after.iter().position(|b| !ws(b)).unwrap_or(after.len());
    let c_end = c_start
        + line[c_start..]
            .iter()
            .position(ws)
            .unwrap_or(line.len() - c_start);
    let msg = line[c_end..].trim_ascii();
    (&line[..p_end], &line[c_start..c_end], msg)
}

/// The status number of a code: a number from 100 to 999 (leading zeros
/// allowed, as libhtp), else 0.
pub(super) fn status_number(code: &[u8]) -> u16 {
    if code.is_empty() || code.len() > 6 || !code.iter().all(u8::is_ascii_digit) {
        return 0;
    }
    let n = code.iter().fold(0u32, |a, &d| a * 10 + (d - b'0') as u32);
    if (100..=999).contains(&n) {
        n as u16
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_terminators_like_libhtp() {
        for (wire, body_at) in [
            (&b"HTTP/1.1 200 ok\r\nA: 1\r\n\r\nX"[..], Some(25)),
            (b"HTTP/1.1 200 ok\r\nA: 1\n\r\r\nX", Some(25)),
            (b"HTTP/1.1 200 ok\r\nA: 1\n\r\r\n\r\nX", Some(27)),
            (b"HTTP/1.1 200 ok\r\n\r\r\nA: 1\r\n\r\nX", Some(28)),
            (b"HTTP/1.1 200 ok\r\nA: 1\r\n \r\n\r\nX", Some(28)),
            (b"HTTP/1.1 200 ok\r\nA: 1\n \nX", Some(24)),
            (b"HTTP/1.1 200 ok\r\nA: 1\n\t\nX", Some(24)),
            // A space line followed by an empty line: the empty one ends it.
            (b"HTTP/1.1 200 ok\r\nA: 1\n \n\nX", Some(25)),
            (b"HTTP/1.1 200 ok\r\nA: 1\n \n", None),
        ] {
            let head = find_head(wire, 0, 1000).unwrap();
            assert_eq!(head.map(|h| h.body), body_at, "{wire:?}");
        }
    }

    #[test]
    fn junk_before_the_status_line() {
        assert_eq!(status_line_start(b"HTTP/1.1 200", false), Ok(Some(0)));
        assert_eq!(status_line_start(b"HTT", false), Ok(None));
        assert_eq!(status_line_start(b"", false), Ok(None));
        assert_eq!(status_line_start(b"\r\n HTTP/1.1", false), Ok(Some(3)));
        assert_eq!(status_line_start(b"\0HTTP/1.1", false), Ok(Some(1)));
        assert_eq!(
            status_line_start(b"foobar\r\nSIP/2.0 200 ok\r\nHTTP/1.1 200", false),
            Ok(Some(24))
        );
        assert_eq!(status_line_start(b"foobar\r\nHTT", false), Ok(None));
        assert!(status_line_start(b"foobar\r\nHTT", true).is_err());
        assert!(status_line_start(b"foobar\r\n", false).is_err());
        assert!(status_line_start(b"SSH-2.0-x\r\n\r\n", false).is_err());
        assert!(status_line_start(b"SSH-2.0-x", false).is_err());
        assert!(status_line_start(b"a\nb\nc\nd\ne\nHTTP/1.1 200", false).is_err());
        assert!(status_line_start(&[b'x'; 200], false).is_err());
    }

    #[test]
    fn lenient_status_lines() {
        assert_eq!(
            status_parts(b"HTTP/1.1"),
            (&b"HTTP/1.1"[..], &b""[..], &b""[..])
        );
        assert_eq!(
            status_parts(b"HTTP/1.1\rTransfer-Encoding:chunked"),
            (
                &b"HTTP/1.1"[..],
                &b"Transfer-Encoding:chunked"[..],
                &b""[..]
            )
        );
        assert_eq!(
            status_parts(b"HTTP/1.0 200 OK fine"),
            (&b"HTTP/1.0"[..], &b"200"[..], &b"OK fine"[..])
        );
        for (code, n) in [
            (&b"200"[..], 200),
            (b"0200", 200),
            (b"2000", 0),
            (b"2xx", 0),
            (b"20", 0),
            (b"", 0),
        ] {
            assert_eq!(status_number(code), n, "{code:?}");
        }
    }
}
