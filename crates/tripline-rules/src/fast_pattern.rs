//! Choosing the one content per rule that goes into the multi-pattern
//! prefilter, following Suricata's "fast pattern determination":
//!
//! 1. an explicit `fast_pattern` wins;
//! 2. otherwise only non-negated contents are candidates (negated ones only
//!    when there is nothing else);
//! 3. among them, those in the highest-priority buffer
//!    ([`Buffer::fast_pattern_priority`]);
//! 4. then the longest; then the highest pattern strength (byte diversity);
//!    then the first in the rule.

use crate::buffer::Buffer;
use crate::payload::FastPatternSpec;
use crate::rule::Detection;

/// The fast pattern chosen for a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastPattern {
    /// Index of the content in [`crate::Rule::detections`].
    pub detection: usize,
    /// The buffer the content looks at (one automaton per buffer).
    pub buffer: Buffer,
    /// True when the rule chose it with `fast_pattern`.
    pub explicit: bool,
    /// Byte range of the content's pattern to put in the prefilter.
    pub start: u16,
    /// Length of that range.
    pub len: u16,
}

/// Suricata's pattern strength: unseen alphabetic bytes score 3, other
/// unseen printable bytes (and 0x00, 0x01, 0xff) 4, other unseen bytes 6,
/// repeated bytes 1.
pub fn pattern_strength(pattern: &[u8]) -> u32 {
    let mut seen = [false; 256];
    let mut score = 0u32;
    for &b in pattern {
        if seen[usize::from(b)] {
            score += 1;
        } else {
            seen[usize::from(b)] = true;
            score += if b.is_ascii_alphabetic() {
                3
            } else if b.is_ascii_graphic() || b == b' ' || matches!(b, 0x00 | 0x01 | 0xff) {
                4
            } else {
                6
            };
        }
    }
    score
}

fn clamp_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

/// Picks the fast pattern among a rule's detections; `None` when the rule has no content.
pub fn choose_fast_pattern(detections: &[Detection]) -> Option<FastPattern> {
    let contents = || {
        detections.iter().enumerate().filter_map(|(i, d)| match d {
            Detection::Content(c) => Some((i, c)),
            _ => None,
        })
    };
    if let Some((i, c)) = contents().find(|(_, c)| c.fast_pattern.is_some()) {
        let (start, len) = match c.fast_pattern {
            Some(FastPatternSpec::Slice { offset, len }) => (offset, len),
            _ => (0, clamp_u16(c.pattern.len())),
        };
        return Some(FastPattern {
            detection: i,
            buffer: c.buffer,
            explicit: true,
            start,
            len,
        });
    }
    let any_positive = contents().any(|(_, c)| !c.negated);
    let mut best: Option<(usize, (u8, usize, u32))> = None;
    for (i, c) in contents().filter(|(_, c)| c.negated != any_positive) {
        let key = (
            c.buffer.fast_pattern_priority(),
            c.pattern.len(),
            pattern_strength(&c.pattern),
        );
        // strictly greater: on a full tie the first content stays
        if best.is_none_or(|(_, k)| key > k) {
            best = Some((i, key));
        }
    }
    let (i, _) = best?;
    let Detection::Content(c) = &detections[i] else {
        return None;
    };
    Some(FastPattern {
        detection: i,
        buffer: c.buffer,
        explicit: false,
        start: 0,
        len: clamp_u16(c.pattern.len()),
    })
}

#[cfg(test)]
mod tests {
    use crate::Variables;
    use crate::rule::parse_rule;

    fn fp_of(opts: &str) -> (Vec<u8>, &'static str, bool) {
        let r = parse_rule(
            &format!("alert http any any -> any any ({opts} sid:1;)"),
            &Variables::empty(),
        )
        .unwrap();
        let fp = r.fast_pattern.unwrap();
        let c = r.fast_pattern_content().unwrap();
        let s = usize::from(fp.start);
        (
            c.pattern[s..s + usize::from(fp.len)].to_vec(),
            fp.buffer.name(),
            fp.explicit,
        )
    }

    #[test]
    fn explicit_wins() {
        assert_eq!(
            fp_of(r#"content:"longer one"; content:"ab"; fast_pattern;"#),
            (b"ab".to_vec(), "payload", true)
        );
        assert_eq!(
            fp_of(r#"content:"abcdef"; fast_pattern:2,3;"#),
            (b"cde".to_vec(), "payload", true)
        );
        assert_eq!(
            fp_of(r#"content:"abc"; fast_pattern:only;"#),
            (b"abc".to_vec(), "payload", true)
        );
    }

    #[test]
    fn app_buffer_beats_longer_payload_and_method_ranks_lowest() {
        assert_eq!(
            fp_of(r#"content:"a long payload string"; http.uri; content:"/x";"#),
            (b"/x".to_vec(), "http.uri", false)
        );
        assert_eq!(
            fp_of(r#"http.method; content:"POSTPOSTPOST"; pkt_data; content:"ab";"#),
            (b"ab".to_vec(), "payload", false)
        );
    }

    #[test]
    fn longest_then_strength_then_first() {
        assert_eq!(
            fp_of(r#"content:"aaaa"; content:"abcd"; content:"bcda";"#).0,
            b"abcd".to_vec()
        );
        assert_eq!(fp_of(r#"content:"ab"; content:"cd";"#).0, b"ab".to_vec());
        assert_eq!(
            fp_of(r#"content:!"negated long"; content:"ab";"#).0,
            b"ab".to_vec()
        );
        assert_eq!(
            fp_of(r#"content:!"only negated";"#).0,
            b"only negated".to_vec()
        );
    }

    #[test]
    fn legacy_modifier_moves_content() {
        assert_eq!(
            fp_of(r#"content:"ab"; http_uri; content:"longer";"#),
            (b"ab".to_vec(), "http.uri", false)
        );
    }
}
