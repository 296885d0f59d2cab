//! The header block of an HTTP/1.x message: field lines located once, then
//! the `http.header` and `http.header_names` buffers built from them.
//!
//! Like libhtp (which Suricata's buffers come from), repeated fields are
//! merged into the first one with `", "` between the values, names keep the
//! case of their first occurrence, values are trimmed, and folded
//! continuation lines are joined with one space. A carriage return that is
//! not followed by a line feed also ends a field line (browsers read such
//! heads that way), and white space around a field name is dropped.

use super::HttpError;

/// One field line, as byte ranges into the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Field {
    pub name: (usize, usize),
    /// Trimmed value; spans the continuation lines when folded.
    pub value: (usize, usize),
    pub folded: bool,
}

impl Field {
    /// True when the field is called `name` (ASCII case-insensitive; NUL
    /// bytes in the name as sent are ignored, as libhtp does).
    pub fn is(&self, msg: &[u8], name: &[u8]) -> bool {
        let sent = &msg[self.name.0..self.name.1];
        if memchr::memchr(0, sent).is_none() {
            return sent.eq_ignore_ascii_case(name);
        }
        let mut kept = sent.iter().filter(|&&b| b != 0);
        name.iter()
            .all(|n| kept.next().is_some_and(|b| b.eq_ignore_ascii_case(n)))
            && kept.next().is_none()
    }
}

/// White space around a field name: ASCII white space and vertical tab.
fn is_name_space(b: &u8) -> bool {
    b.is_ascii_whitespace() || *b == 0x0b
}

/// Locates the field lines of `block` (the lines after the start line, up to
/// and excluding the empty line). `base` is the offset of `block` in the
/// message, added to the ranges and error offsets. Returns the number of
/// lines that were not fields (no colon, or an empty name); they are
/// skipped, as libhtp does.
pub(super) fn parse_fields(
    msg: &[u8],
    block: (usize, usize),
    fields: &mut Vec<Field>,
    max_fields: usize,
) -> Result<u32, HttpError> {
    fields.clear();
    let mut invalid = 0u32;
    let mut pos = block.0;
    while pos < block.1 {
        let (mut line_end, mut next) = field_line_end(msg, pos, block.1);
        let mut colon = memchr::memchr(b':', &msg[pos..line_end]);
        if colon.is_none() && !is_continuation(msg.get(pos)) {
            // A name folded before its colon: the colon is on a
            // continuation line.
            if let Some((c, e, n)) = folded_colon(msg, next, block.1) {
                (colon, line_end, next) = (Some(c - pos), e, n);
            }
        }
        let line = &msg[pos..line_end];
        if is_continuation(line.first()) {
            // obs-fold: continues the previous value.
            match fields.last_mut() {
                Some(f) if !line.trim_ascii().is_empty() => {
                    if f.value.0 == f.value.1 {
                        f.value.0 = pos + (line.len() - line.trim_ascii_start().len());
                    }
                    f.value.1 = pos + line.trim_ascii_end().len();
                    f.folded = true;
                }
                Some(_) => {}
                None => invalid += 1,
            }
        } else if let Some(colon) = colon {
            let raw_name = &line[..colon];
            let name_lead = raw_name.iter().take_while(|b| is_name_space(b)).count();
            let name = &raw_name[name_lead..];
            let trail = name.iter().rev().take_while(|b| is_name_space(b)).count();
            let name = &name[..name.len() - trail];
            if name.is_empty() {
                invalid += 1;
            } else {
                if fields.len() >= max_fields {
                    return Err(HttpError::TooLarge {
                        offset: pos,
                        what: "number of header fields",
                    });
                }
                let v = &line[colon + 1..];
                let lead = v.len() - v.trim_ascii_start().len();
                let vs = pos + colon + 1 + lead;
                let ve = vs + v.trim_ascii().len();
                let name_start = pos + name_lead;
                fields.push(Field {
                    name: (name_start, name_start + name.len()),
                    value: (vs, ve),
                    folded: false,
                });
            }
        } else if !line.is_empty() {
            invalid += 1;
        }
        pos = next;
    }
    Ok(invalid)
}

/// True for the first byte of a folded continuation line: space or tab,
/// or NUL (read as white space there, as Suricata's parser does).
fn is_continuation(first: Option<&u8>) -> bool {
    matches!(first, Some(b' ' | b'\t' | 0))
}

/// The first colon on the continuation lines from `pos`: its offset, the
/// end of its line and the start of the next line.
fn folded_colon(msg: &[u8], mut pos: usize, end: usize) -> Option<(usize, usize, usize)> {
    while pos < end && is_continuation(msg.get(pos)) {
        let (line_end, next) = field_line_end(msg, pos, end);
        if let Some(c) = memchr::memchr(b':', &msg[pos..line_end]) {
            return Some((pos + c, line_end, next));
        }
        pos = next;
    }
    None
}

/// End of the field line starting at `pos` (without its line ending) and
/// the start of the next one: a line ends at LF, CRLF or a CR followed by
/// anything but LF, space or tab.
pub(super) fn field_line_end(msg: &[u8], pos: usize, end: usize) -> (usize, usize) {
    let mut from = pos;
    while let Some(i) = memchr::memchr2(b'\n', b'\r', &msg[from..end]).map(|i| from + i) {
        if msg[i] == b'\n' {
            return (i, i + 1);
        }
        match msg[i + 1..end].first() {
            Some(b'\n') => return (i, i + 2),
            Some(b' ' | b'\t') => from = i + 1,
            _ => return (i, i + 1),
        }
    }
    (end, end)
}

/// The value bytes of a field, with folding joined by single spaces.
fn write_value(msg: &[u8], f: &Field, out: &mut Vec<u8>) {
    let v = &msg[f.value.0..f.value.1];
    if !f.folded {
        out.extend_from_slice(v);
        return;
    }
    let mut in_break = false;
    for &b in v {
        if b == b'\r' || b == b'\n' || ((b == b' ' || b == b'\t') && in_break) {
            in_break = true;
            continue;
        }
        if in_break {
            out.push(b' ');
            in_break = false;
        }
        out.push(b);
    }
}

/// Builds `http.header` (every field but `exclude`, as `Name: value\r\n`,
/// repeats merged) and `http.header_names` (`\r\nName1\r\nName2\r\n\r\n`).
pub(super) fn build_buffers(
    msg: &[u8],
    fields: &[Field],
    exclude: &[u8],
    header: &mut Vec<u8>,
    names: &mut Vec<u8>,
) {
    header.clear();
    names.clear();
    names.extend_from_slice(b"\r\n");
    for (i, f) in fields.iter().enumerate() {
        let name = &msg[f.name.0..f.name.1];
        if fields[..i]
            .iter()
            .any(|g| msg[g.name.0..g.name.1].eq_ignore_ascii_case(name))
        {
            continue;
        }
        names.extend_from_slice(name);
        names.extend_from_slice(b"\r\n");
        if name.eq_ignore_ascii_case(exclude) {
            continue;
        }
        header.extend_from_slice(name);
        header.extend_from_slice(b": ");
        write_value(msg, f, header);
        for g in &fields[i + 1..] {
            if msg[g.name.0..g.name.1].eq_ignore_ascii_case(name) {
                header.extend_from_slice(b", ");
                write_value(msg, g, header);
            }
        }
        header.extend_from_slice(b"\r\n");
    }
    names.extend_from_slice(b"\r\n");
}

/// The trimmed value of the first field called `name` (case-insensitive).
/// A folded value still holds its line breaks here; `http.header` has it
/// joined.
pub(super) fn find<'a>(msg: &'a [u8], fields: &[Field], name: &[u8]) -> Option<&'a [u8]> {
    fields
        .iter()
        .find(|f| f.is(msg, name))
        .map(|f| &msg[f.value.0..f.value.1])
}

/// True when a `Transfer-Encoding` field mentions `chunked`: like libhtp,
/// anywhere in the value, any case, NUL bytes ignored (`xchunked`,
/// `chunked;`, `chu\0nked` all count).
pub(super) fn is_chunked(msg: &[u8], fields: &[Field]) -> bool {
    const CHUNKED: &[u8] = b"chunked";
    fields.iter().any(|f| {
        if !f.is(msg, b"transfer-encoding") {
            return false;
        }
        let value = &msg[f.value.0..f.value.1];
        (0..value.len()).any(|start| {
            let mut want = CHUNKED.iter();
            let mut next = want.next();
            for &b in &value[start..] {
                let Some(&w) = next else { break };
                if b == 0 {
                    continue;
                }
                if !b.eq_ignore_ascii_case(&w) {
                    return false;
                }
                next = want.next();
            }
            next.is_none()
        })
    })
}

/// The Content-Length, if present: `Err(offset)` when a value is not a
/// plain number (white space around it allowed) or when repeated fields
/// disagree. Values such as `68;`, `68.0`, `34 68` (folded) or `(68) 34`
/// are not lengths: Suricata then reads a response until the connection
/// closes, which is what the caller does with the error.
pub(super) fn content_length(msg: &[u8], fields: &[Field]) -> Result<Option<u64>, usize> {
    let mut found = None;
    for f in fields.iter().filter(|f| f.is(msg, b"content-length")) {
        let v = msg[f.value.0..f.value.1].trim_ascii();
        if v.is_empty() || v.len() > 18 || !v.iter().all(u8::is_ascii_digit) {
            return Err(f.value.0);
        }
        let n = v.iter().fold(0u64, |a, &d| a * 10 + (d - b'0') as u64);
        match found {
            Some(m) if m != n => return Err(f.value.0),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_repeats_and_excludes_cookie() {
        let msg =
            b"Host: a\r\nCookie: c=1\r\nX-A:  1 \r\nx-a: 2\r\nFold: one\r\n  two\r\nnocolon\r\n";
        let mut fields = Vec::new();
        let invalid = parse_fields(msg, (0, msg.len()), &mut fields, 64).unwrap();
        assert_eq!(invalid, 1);
        let (mut h, mut n) = (Vec::new(), Vec::new());
        build_buffers(msg, &fields, b"cookie", &mut h, &mut n);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "Host: a\r\nX-A: 1, 2\r\nFold: one two\r\n"
        );
        assert_eq!(
            String::from_utf8(n).unwrap(),
            "\r\nHost\r\nCookie\r\nX-A\r\nFold\r\n\r\n"
        );
        assert_eq!(find(msg, &fields, b"COOKIE"), Some(&b"c=1"[..]));
    }

    fn fields_of(msg: &[u8]) -> Vec<Field> {
        let mut fields = Vec::new();
        parse_fields(msg, (0, msg.len()), &mut fields, 8).unwrap();
        fields
    }

    #[test]
    fn lengths() {
        for (msg, want) in [
            (
                &b"Content-Length: 12\r\ncontent-length: 12\r\n"[..],
                Ok(Some(12)),
            ),
            (b"Content-Length: 12\r\ncontent-length: 13\r\n", Err(36)),
            (b"Content-length: \r\n 68\r\n", Ok(Some(68))),
            (b"Content-length: 68;\r\n", Err(16)),
            (b"Content-length: 68.0\r\n", Err(16)),
            (b"Content-length: 34\r\n 68\r\n", Err(16)),
            (b"Content-length: (68) 34\r\n", Err(16)),
            (b"Host: x\r\n", Ok(None)),
        ] {
            assert_eq!(content_length(msg, &fields_of(msg)), want, "{msg:?}");
        }
    }

    #[test]
    fn chunked_anywhere_in_transfer_encoding() {
        for (msg, want) in [
            (&b"Transfer-Encoding: gzip, Chunked\r\n"[..], true),
            (b"Transfer-Encoding: xchunked\r\n", true),
            (b"Transfer-Encoding:chu\0nked\r\n", true),
            (b"Transfer-Encoding : chunked\r\n", true),
            (b"Transfer-Encoding:: chunked\r\n", true),
            (
                b"Transfer-Encoding: lalala\r\nTransfer-Encoding: chunked\r\n",
                true,
            ),
            (b"Transfer-Encoding: chunk ed\r\n", false),
            (b"Transfer\0-encoding:chunked\r\n", true),
            (b"Transfer-Encoding\x0b:chunked\r\n", true),
            (b"Transfer-Encoding\r :chunked\r\n", true),
            (b"Transfer-Encoding\r\n \r\n :\r\n chunked\r\n", true),
            (b"Transfer-Encoding:\n\0chunked\r\n", true),
            (b"X-Transfer-Encoding: chunked\r\n", false),
        ] {
            assert_eq!(is_chunked(msg, &fields_of(msg)), want, "{msg:?}");
        }
    }

    #[test]
    fn a_lone_carriage_return_ends_a_field_line() {
        let msg = b"A: 1\rTransfer-Encoding: chunked\r\nB:\r two\r\n\r\rC: 3\n";
        let fields = fields_of(msg);
        let (mut h, mut n) = (Vec::new(), Vec::new());
        build_buffers(msg, &fields, b"cookie", &mut h, &mut n);
        assert_eq!(
            String::from_utf8(h).unwrap(),
            "A: 1\r\nTransfer-Encoding: chunked\r\nB: two\r\nC: 3\r\n"
        );
    }
}
