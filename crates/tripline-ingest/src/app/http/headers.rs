//! The header block of an HTTP/1.x message: field lines located once, then
//! the `http.header` and `http.header_names` buffers built from them.
//!
//! Like libhtp (which Suricata's buffers come from), repeated fields are
//! merged into the first one with `", "` between the values, names keep the
//! case of their first occurrence, values are trimmed, and folded
//! continuation lines are joined with one space.

use super::HttpError;

/// One field line, as byte ranges into the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Field {
    pub name: (usize, usize),
    /// Trimmed value; spans the continuation lines when folded.
    pub value: (usize, usize),
    pub folded: bool,
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
        let end = memchr::memchr(b'\n', &msg[pos..block.1]).map_or(block.1, |i| pos + i);
        let mut line_end = end;
        if line_end > pos && msg[line_end - 1] == b'\r' {
            line_end -= 1;
        }
        let line = &msg[pos..line_end];
        if matches!(line.first(), Some(b' ' | b'\t')) {
            // obs-fold: continues the previous value.
            match fields.last_mut() {
                Some(f) if !line.trim_ascii().is_empty() => {
                    f.value.1 = pos + line.trim_ascii_end().len();
                    if f.value.0 == f.value.1 {
                        f.value.0 = pos + (line.len() - line.trim_ascii_start().len());
                    }
                    f.folded = true;
                }
                Some(_) => {}
                None => invalid += 1,
            }
        } else if let Some(colon) = memchr::memchr(b':', line) {
            let name = line[..colon].trim_ascii_end();
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
                fields.push(Field {
                    name: (pos, pos + name.len()),
                    value: (vs, ve),
                    folded: false,
                });
            }
        } else if !line.is_empty() {
            invalid += 1;
        }
        pos = end + 1;
    }
    Ok(invalid)
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
        .find(|f| msg[f.name.0..f.name.1].eq_ignore_ascii_case(name))
        .map(|f| &msg[f.value.0..f.value.1])
}

/// True when any `Transfer-Encoding` field lists `chunked`.
pub(super) fn is_chunked(msg: &[u8], fields: &[Field]) -> bool {
    fields.iter().any(|f| {
        msg[f.name.0..f.name.1].eq_ignore_ascii_case(b"transfer-encoding")
            && msg[f.value.0..f.value.1]
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
    })
}

/// The Content-Length, if present: `Err` when it is not a number or when
/// repeated fields disagree.
pub(super) fn content_length(msg: &[u8], fields: &[Field]) -> Result<Option<u64>, usize> {
    let mut found = None;
    for f in fields {
        if !msg[f.name.0..f.name.1].eq_ignore_ascii_case(b"content-length") {
            continue;
        }
        let v = &msg[f.value.0..f.value.1];
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

    #[test]
    fn lengths() {
        let msg = b"Content-Length: 12\r\ncontent-length: 12\r\n";
        let mut fields = Vec::new();
        parse_fields(msg, (0, msg.len()), &mut fields, 8).unwrap();
        assert_eq!(content_length(msg, &fields), Ok(Some(12)));
        let msg = b"Content-Length: 12\r\ncontent-length: 13\r\n";
        parse_fields(msg, (0, msg.len()), &mut fields, 8).unwrap();
        assert!(content_length(msg, &fields).is_err());
        let msg = b"Transfer-Encoding: gzip, Chunked\r\n";
        parse_fields(msg, (0, msg.len()), &mut fields, 8).unwrap();
        assert!(is_chunked(msg, &fields));
    }
}
