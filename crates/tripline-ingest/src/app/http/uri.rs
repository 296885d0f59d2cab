//! Normalization of the request target and the host name, after the
//! defaults Suricata runs libhtp with (the `IDS` personality, case kept).
//!
//! `http.uri` is the path and query of the request target:
//! * an absolute target (`http://host:port/p?q`) loses its scheme and
//!   authority (Suricata's `uri-include-all: false`);
//! * in the path, `%XX` is decoded (`%2F` too, so an encoded separator
//!   becomes a real one), `%uXXXX` is decoded to its low byte when the code
//!   point is below 256 and to `?` otherwise (libhtp's best-fit map folds a
//!   few more code points to ASCII; we do not), an invalid `%` escape is kept
//!   as it is, `\` becomes `/`;
//! * then `.` and `..` segments are removed (RFC 3986 section 5.2.4) and runs
//!   of `/` are compressed to one;
//! * the query and fragment are kept raw (libhtp decodes them only into
//!   parameters), and the case of the path is kept.
//!
//! `http.host` is lower-cased, without the port, the user info or trailing
//! dots; an IPv6 literal keeps its brackets.

/// Writes the normalized form of the request target `raw` into `out`
/// (cleared first).
pub fn normalize_uri(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let target = strip_scheme_authority(raw).unwrap_or(raw);
    let split = target
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(target.len());
    let (path, rest) = target.split_at(split);
    let start = out.len();
    decode_path(path, out);
    let decoded_end = out.len();
    // Normalize the decoded path in place: copy it out of the way first.
    out.extend_from_within(start..decoded_end);
    let decoded = decoded_end..out.len();
    let mut w = start;
    normalize_segments(out, decoded.clone(), &mut w);
    out.drain(w..decoded.end);
    out.extend_from_slice(rest);
}

/// The host of an absolute target (`scheme://[userinfo@]host[:port]/...`).
pub fn uri_authority_host(raw: &[u8]) -> Option<&[u8]> {
    let after = raw.windows(3).position(|w| w == b"://")? + 3;
    let scheme = &raw[..after - 3];
    if scheme.is_empty()
        || !scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
    {
        return None;
    }
    let rest = &raw[after..];
    let end = rest
        .iter()
        .position(|&b| b == b'/' || b == b'?' || b == b'#')
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// Writes the normalized host of a Host header value or an authority into
/// `out` (cleared first).
pub fn normalize_host(raw: &[u8], out: &mut Vec<u8>) {
    out.clear();
    let mut host = raw.trim_ascii();
    if let Some(at) = host.iter().rposition(|&b| b == b'@') {
        host = &host[at + 1..];
    }
    if host.first() == Some(&b'[') {
        if let Some(close) = host.iter().position(|&b| b == b']') {
            host = &host[..=close];
        }
    } else if let Some(colon) = host.iter().rposition(|&b| b == b':') {
        host = &host[..colon];
    }
    while let [rest @ .., b'.'] = host {
        host = rest;
    }
    out.extend(host.iter().map(u8::to_ascii_lowercase));
}

fn strip_scheme_authority(raw: &[u8]) -> Option<&[u8]> {
    let host = uri_authority_host(raw)?;
    // The authority is a sub-slice of `raw`; what follows it is the target.
    let end = host.as_ptr() as usize - raw.as_ptr() as usize + host.len();
    Some(&raw[end..])
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn decode_path(path: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                path.get(i + 1).copied().and_then(hex),
                path.get(i + 2).copied().and_then(hex),
            ) {
                let v = (h << 4) | l;
                out.push(if v == b'\\' { b'/' } else { v });
                i += 3;
                continue;
            }
            if matches!(path.get(i + 1), Some(b'u' | b'U')) {
                let code_point = path.get(i + 2..i + 6).and_then(|d| {
                    d.iter()
                        .try_fold(0u32, |acc, &c| Some((acc << 4) | hex(c)? as u32))
                });
                if let Some(cp) = code_point {
                    let v = if cp < 0x100 { cp as u8 } else { b'?' };
                    out.push(if v == b'\\' { b'/' } else { v });
                    i += 6;
                    continue;
                }
            }
            out.push(b'%');
        } else if b == b'\\' {
            out.push(b'/');
        } else {
            out.push(b);
        }
        i += 1;
    }
}

/// Removes dot segments and compresses `//` in `buf[src]`, writing the
/// result from `*w` on (always behind the read position).
fn normalize_segments(buf: &mut [u8], src: std::ops::Range<usize>, w: &mut usize) {
    let start = *w;
    let absolute = buf.get(src.start) == Some(&b'/');
    let mut trailing = false;
    let mut r = src.start;
    while r < src.end {
        let seg_end = buf[r..src.end]
            .iter()
            .position(|&b| b == b'/')
            .map_or(src.end, |p| r + p);
        let len = seg_end - r;
        let at_end = seg_end >= src.end;
        match &buf[r..seg_end] {
            b"" => trailing = r > src.start,
            b"." => trailing = true,
            b".." => {
                let kept = &buf[start..*w];
                *w = start + kept.iter().rposition(|&b| b == b'/').unwrap_or(0);
                trailing = true;
            }
            _ => {
                if *w > start || absolute {
                    buf[*w] = b'/';
                    *w += 1;
                }
                buf.copy_within(r..seg_end, *w);
                *w += len;
                trailing = false;
            }
        }
        r = seg_end + 1;
        if at_end {
            break;
        }
    }
    if r == src.end && src.end > src.start && buf[src.end - 1] == b'/' {
        trailing = true;
    }
    let ends_with_slash = *w > start && buf[*w - 1] == b'/';
    if (trailing || (absolute && *w == start)) && !ends_with_slash && (absolute || *w > start) {
        buf[*w] = b'/';
        *w += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str) -> String {
        let mut out = Vec::new();
        normalize_uri(raw.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn dot_segments_and_separators() {
        assert_eq!(norm("/a/b/../c/./d"), "/a/c/d");
        assert_eq!(norm("/a//b///c"), "/a/b/c");
        assert_eq!(norm("/../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/a/b/.."), "/a/");
        assert_eq!(norm("/a/b/."), "/a/b/");
        assert_eq!(norm("/"), "/");
        assert_eq!(norm("/dir/"), "/dir/");
        assert_eq!(norm("/a\\..\\b"), "/b");
        assert_eq!(norm("*"), "*");
    }

    #[test]
    fn percent_decoding_in_the_path_only() {
        assert_eq!(norm("/%7Euser/%2e%2e/x%2fy?q=%41"), "/x/y?q=%41");
        assert_eq!(norm("/bad%zz%4"), "/bad%zz%4");
        assert_eq!(norm("/%u0041%u2215"), "/A?");
        assert_eq!(norm("/a%20b#frag"), "/a b#frag");
    }

    #[test]
    fn absolute_targets_lose_scheme_and_authority() {
        assert_eq!(norm("http://Example.COM:8080/x/../y?z"), "/y?z");
        assert_eq!(norm("http://example.com"), "");
    }

    #[test]
    fn hosts() {
        let mut out = Vec::new();
        for (raw, want) in [
            ("WWW.Example.com:8080", "www.example.com"),
            (" example.org. ", "example.org"),
            ("[fd99:2::2]:80", "[fd99:2::2]"),
            ("user@host.NET", "host.net"),
        ] {
            normalize_host(raw.as_bytes(), &mut out);
            assert_eq!(out, want.as_bytes());
        }
        assert_eq!(uri_authority_host(b"http://h:1/x"), Some(&b"h:1"[..]));
        assert_eq!(uri_authority_host(b"/x://y"), None);
    }
}
