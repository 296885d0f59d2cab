//! Text from the network made safe to print: alert messages, DNS names and
//! user names are attacker-controlled, so they never carry line breaks or
//! control characters into a mail header, a syslog line or a terminal, and
//! never grow a message without bound.

use std::fmt::Write as _;

/// Longest single field (a message, a name) copied into a notification, in characters.
pub const MAX_FIELD_CHARS: usize = 200;

/// Longest subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 160;

/// Appends `s` to `out` on one line: control characters (CR, LF, TAB, NUL,
/// DEL, C1) become `\xNN` escapes or a space, and at most `max_chars`
/// characters are copied (an ellipsis marks a cut).
pub fn push_one_line(out: &mut String, s: &str, max_chars: usize) {
    for (n, ch) in s.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            return;
        }
        match ch {
            '\t' => out.push(' '),
            c if c.is_control() => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{:02x}", u32::from(c) & 0xff);
            }
            c => out.push(c),
        }
    }
}

/// `s` on one line, at most `max_chars` characters (see [`push_one_line`]).
pub fn one_line(s: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max_chars + 4));
    push_one_line(&mut out, s, max_chars);
    out
}

/// `s` restricted to printable ASCII without spaces (syslog header fields
/// such as HOSTNAME and APP-NAME), at most `max` bytes; `-` when nothing is left.
pub fn header_token(s: &str, max: usize) -> String {
    let t: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if t.is_empty() { "-".into() } else { t }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_controls_cannot_escape() {
        let s = one_line("evil\r\nBcc: victim@example.com\x00\x1b[31m", 100);
        assert!(!s.contains('\r') && !s.contains('\n') && !s.contains('\x1b'));
        assert_eq!(s, "evil\\x0d\\x0aBcc: victim@example.com\\x00\\x1b[31m");
        assert_eq!(one_line("a\u{85}b", 10), "a\\x85b");
    }

    #[test]
    fn length_is_bounded() {
        let s = one_line(&"é".repeat(1000), 10);
        assert_eq!(s.chars().count(), 11);
        assert!(s.ends_with('…'));
        assert_eq!(one_line("short", 10), "short");
    }

    #[test]
    fn header_tokens_are_printable_ascii() {
        assert_eq!(header_token("my host\n", 48), "myhost");
        assert_eq!(header_token("\u{7f} ", 48), "-");
        assert_eq!(header_token("abcdef", 3), "abc");
    }
}
