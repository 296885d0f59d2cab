//! Inspecting one buffer with one rule's list of tests, in rule order, the
//! way Suricata's content inspection does: each test sees the end of the
//! previous match (for `distance`, `within`, `relative`), and when a later
//! relative test fails, an earlier content or pcre is retried at its next
//! occurrence. The number of retries per list is capped.

use super::bytes::{ByteValue, read_number};
use super::compile::{BufferList, ContentTest, MAX_VARS, Test};
use crate::payload::ByteOp;

/// Most match attempts (content/pcre searches) per list per packet, as
/// Suricata's `inspection-recursion-limit`.
pub const RECURSION_LIMIT: u32 = 3000;

/// The state of one list inspection.
pub(crate) struct ListRun<'d> {
    data: &'d [u8],
    vars: [u64; MAX_VARS],
    steps: u32,
    /// When set, a match counts only if the bytes it matched reach past
    /// this position (stream data: the bytes before it were inspected
    /// already, so a match within them would be a duplicate).
    reach_past: Option<usize>,
}

impl<'d> ListRun<'d> {
    /// Runs `list` over `data`; true when every test passes.
    pub(crate) fn matches(list: &BufferList, data: &'d [u8]) -> bool {
        Self::matches_reaching(list, data, None)
    }

    /// Runs `list` over `data`; with `reach_past`, true only when the
    /// matched bytes (of content, pcre and byte reads) end after that
    /// position, or, for a list without such tests, when there are bytes
    /// after it. Earlier occurrences are retried to find such a match.
    pub(crate) fn matches_reaching(
        list: &BufferList,
        data: &'d [u8],
        reach_past: Option<usize>,
    ) -> bool {
        let mut run = ListRun {
            data,
            vars: [0; MAX_VARS],
            steps: 0,
            reach_past,
        };
        run.from(&list.tests, 0, 0)
    }

    /// Runs `tests` after a match ending at `prev_end`; `hi` is the end of
    /// the furthest match so far (0 when none).
    fn from(&mut self, tests: &[Test], prev_end: usize, hi: usize) -> bool {
        let Some((test, rest)) = tests.split_first() else {
            return match self.reach_past {
                None => true,
                Some(p) if hi == 0 => self.data.len() > p,
                Some(p) => hi > p,
            };
        };
        // Retry an earlier occurrence when a relative test follows, or, when
        // the match must reach new data, when this is the last test.
        let retry = rest
            .first()
            .map_or(self.reach_past.is_some(), Test::is_relative);
        match test {
            Test::Content(c) => self.content(c, rest, prev_end, hi, retry),
            Test::Pcre(p) => {
                // A relative pcre sees the buffer from the previous match on,
                // so `^` anchors there (as in Suricata).
                let base = if p.relative {
                    prev_end.min(self.data.len())
                } else {
                    0
                };
                let subject = &self.data[base..];
                if p.negated {
                    return match p.regex.find(subject) {
                        Ok(Some(_)) => false,
                        _ => self.from(rest, prev_end, hi),
                    };
                }
                let mut at = 0;
                while at <= subject.len() {
                    self.steps += 1;
                    if self.steps > RECURSION_LIMIT {
                        return false;
                    }
                    let m = match p.regex.find_at(subject, at) {
                        Ok(Some(m)) => m,
                        _ => return false,
                    };
                    if self.from(rest, base + m.end(), hi.max(base + m.end())) {
                        return true;
                    }
                    if !retry {
                        return false;
                    }
                    at = m.start() + 1;
                }
                false
            }
            Test::ByteTest {
                read,
                op,
                negated,
                value,
            } => {
                let Some(ByteValue { value: v, .. }) =
                    read_number(self.data, read, prev_end, &self.vars)
                else {
                    return false;
                };
                let want = value.get(&self.vars) as u64;
                let hit = match op {
                    ByteOp::Lt => v < want,
                    ByteOp::Gt => v > want,
                    ByteOp::Le => v <= want,
                    ByteOp::Ge => v >= want,
                    ByteOp::Eq => v == want,
                    ByteOp::And => v & want != 0,
                    ByteOp::Xor => v ^ want != 0,
                };
                hit != *negated && self.from(rest, prev_end, hi)
            }
            Test::ByteJump {
                read,
                multiplier,
                align4,
                from_beginning,
                from_end,
                post_offset,
            } => {
                let Some(ByteValue { value, end }) =
                    read_number(self.data, read, prev_end, &self.vars)
                else {
                    return false;
                };
                let mut jump = value.saturating_mul(*multiplier);
                if *align4 {
                    jump = jump.saturating_add(3) & !3;
                }
                let base = if *from_beginning {
                    0
                } else if *from_end {
                    self.data.len()
                } else {
                    end
                };
                // A negative post_offset reaching before the buffer stops at
                // its start, as Suricata does (its issue 4624).
                let target =
                    (i128::from(base as u64) + i128::from(jump) + i128::from(*post_offset)).max(0);
                if target > self.data.len() as i128 {
                    return false;
                }
                self.from(rest, target as usize, hi.max(end))
            }
            Test::ByteExtract {
                read,
                multiplier,
                align,
                slot,
            } => {
                let Some(ByteValue { value, end }) =
                    read_number(self.data, read, prev_end, &self.vars)
                else {
                    return false;
                };
                let mut v = value.saturating_mul(*multiplier);
                if *align > 0 {
                    v = v.div_ceil(*align).saturating_mul(*align);
                }
                self.vars[usize::from(*slot)] = v;
                self.from(rest, end, hi.max(end))
            }
            Test::IsDataAt {
                negated,
                position,
                relative,
            } => {
                let base = if *relative { prev_end as i64 } else { 0 };
                let pos = base.saturating_add(position.get(&self.vars));
                let present = pos >= 0 && (pos as u64) < self.data.len() as u64;
                present != *negated && self.from(rest, prev_end, hi)
            }
            Test::Size(cmp) => cmp.matches(self.data.len() as u64) && self.from(rest, prev_end, hi),
        }
    }

    /// The search window `[start, end)` of a content, or `None` when it is empty.
    fn window(&self, c: &ContentTest, prev_end: usize) -> Option<(usize, usize)> {
        let len = self.data.len() as i64;
        let v = |o: Option<super::compile::Operand>| o.map(|o| o.get(&self.vars));
        let (mut start, mut end) = (0i64, len);
        if c.is_relative() {
            let distance = v(c.distance).unwrap_or(0);
            start = prev_end as i64 + distance;
            if let Some(within) = v(c.within) {
                end = end.min(start + within);
            }
            start = start.max(0);
        } else {
            if let Some(off) = v(c.offset) {
                start = off.max(0);
            }
            if let Some(depth) = v(c.depth) {
                end = end.min(start + depth);
            }
        }
        if c.startswith {
            end = end.min(start + c.pattern.len() as i64);
        }
        if start > len || end - start < c.pattern.len() as i64 {
            return None;
        }
        Some((start as usize, end as usize))
    }

    fn content(
        &mut self,
        c: &ContentTest,
        rest: &[Test],
        prev_end: usize,
        hi: usize,
        retry: bool,
    ) -> bool {
        let window = self.window(c, prev_end);
        if c.negated {
            let found = window.is_some_and(|(s, e)| {
                let hay = &self.data[s..e];
                let pos = find(c, hay);
                if c.endswith {
                    hay.len() >= c.pattern.len() && eq(c, &hay[hay.len() - c.pattern.len()..])
                } else {
                    pos.is_some()
                }
            });
            return !found && self.from(rest, prev_end, hi);
        }
        let Some((start, end)) = window else {
            return false;
        };
        let mut at = start;
        while at + c.pattern.len() <= end {
            self.steps += 1;
            if self.steps > RECURSION_LIMIT {
                return false;
            }
            let hit = if c.endswith {
                let s = end - c.pattern.len();
                if s < at || end != self.data.len() || !eq(c, &self.data[s..end]) {
                    return false;
                }
                s
            } else {
                match find(c, &self.data[at..end]) {
                    Some(p) => at + p,
                    None => return false,
                }
            };
            let end = hit + c.pattern.len();
            if self.from(rest, end, hi.max(end)) {
                return true;
            }
            if !retry || c.endswith {
                return false;
            }
            at = hit + 1;
        }
        false
    }
}

fn eq(c: &ContentTest, hay: &[u8]) -> bool {
    if c.nocase {
        hay.eq_ignore_ascii_case(&c.pattern)
    } else {
        hay == c.pattern.as_slice()
    }
}

/// First occurrence of the content's pattern in `hay`.
fn find(c: &ContentTest, hay: &[u8]) -> Option<usize> {
    if !c.nocase {
        return c.finder.find(hay);
    }
    let first = c.pattern[0];
    let n = c.pattern.len();
    if hay.len() < n {
        return None;
    }
    let last_start = hay.len() - n;
    let mut from = 0;
    while from <= last_start {
        let p = memchr::memchr2(first, first.to_ascii_uppercase(), &hay[from..=last_start])?;
        let s = from + p;
        if hay[s..s + n].eq_ignore_ascii_case(&c.pattern) {
            return Some(s);
        }
        from = s + 1;
    }
    None
}
