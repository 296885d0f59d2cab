//! A multi-pattern prefilter built for one pass over packet payloads.
//!
//! Every pattern of four bytes or more is represented by one 4-byte
//! "anchor" (its most varied window). The anchor holds three byte pairs
//! ending at three consecutive positions, so testing only every third
//! position still meets one of them: the scan tests the pair ending at
//! positions 2, 5, 8, ... against a 2^16-bit set of all anchor pairs (8 KiB,
//! L1-resident; every ASCII-case variant of a pair is in the set, so the
//! loop reads raw bytes and folds nothing). Only on a set bit are the
//! anchors that could end there or up to two bytes later tested (a
//! 2^17-bit hashed set first), and each pattern behind an anchor compared
//! in place.
//!
//! Patterns of two or three bytes are searched with `memchr::memmem` (one
//! SIMD pass per case variant, stopping at the first hit) when their case
//! variants are few, else found by their rarest byte (a fixed byte-frequency
//! ranking) with one table test per byte. Patterns of one byte use
//! `memchr2`.
//!
//! Why not Aho-Corasick here: on this 2-core machine the aho-corasick DFA
//! walked ET Open's ~2,800 payload fast patterns at ~80 MB/s (overlapping,
//! `find_iter` and a hand-written `next_state` loop alike), which made
//! matching cost 25× the whole header pipeline. The bit-set scan touches one
//! L1-resident word per three bytes; see BENCHMARKS.md ("signatures").

use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

const BITS4: u32 = 17;

/// Positions between two pair tests: a 4-byte anchor has three pairs.
const STRIDE: usize = 3;

/// ASCII lower-casing as a table: one load per byte in the scan loop.
static FOLD: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = (i as u8).to_ascii_lowercase();
        i += 1;
    }
    t
};

/// Lower-cases ASCII letters, leaves other bytes alone.
#[inline]
fn fold(b: u8) -> u8 {
    FOLD[usize::from(b)]
}

/// How common a (folded) byte is in network payloads, higher is more
/// common: a coarse ranking to pick which byte of a short pattern to
/// search for.
fn commonness(b: u8) -> u8 {
    match b {
        0x00 => 255,
        b' ' => 250,
        0xff => 220,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' | b'l' => 200,
        b'\r' | b'\n' | b'/' | b'.' | b'=' | b':' => 190,
        b'a'..=b'z' => 170,
        b'0'..=b'9' => 160,
        0x01..=0x1f => 120,
        0x80..=0xfe => 60,
        _ => 110,
    }
}

#[inline]
fn hash4(key: u32) -> usize {
    (key.wrapping_mul(0x9E37_79B1) >> (32 - BITS4)) as usize
}

/// A pattern as indexed: its folded bytes and where its anchor (or, for a
/// short pattern, its searched byte) sits.
#[derive(Debug)]
struct Entry {
    pattern: Vec<u8>,
    anchor_at: usize,
    id: u32,
}

/// A set of 2^16 bits, indexed by a byte pair (fixed size: indexing by a
/// `u16` needs no bounds check).
type PairSet = [u64; (1 << 16) / 64];

/// The prefilter over one set of patterns.
#[derive(Debug)]
pub(crate) struct AnchorScan {
    /// One bit per byte pair (each case variant) of a 4-byte anchor: the
    /// only test most positions get.
    pairs: Box<PairSet>,
    /// Hashed bits of the 4-byte anchors.
    bits4: Vec<u64>,
    by4: FastMap<u32, Vec<Entry>>,
    /// Patterns of two or three bytes, by their rarest (folded) byte (for
    /// the byte loop).
    short: FastMap<u8, Vec<Entry>>,
    /// One searcher per case variant of each short pattern, when they are
    /// few enough (else the byte loop over `short_bits`).
    short_finders: Option<Vec<(memchr::memmem::Finder<'static>, u32)>>,
    /// One bit per searched byte (both cases), for the byte loop.
    short_bits: [u64; 4],
    /// Patterns of one byte: always reported.
    single: Vec<(u8, u32)>,
}

/// Most `memmem` passes (case variants of short patterns) before one
/// table test per byte is cheaper.
const MAX_SHORT_PASSES: usize = 12;

/// Every ASCII-case variant of a folded pattern.
fn case_variants(p: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::with_capacity(p.len())];
    for &b in p {
        let upper = b.to_ascii_uppercase();
        if upper == b {
            out.iter_mut().for_each(|v| v.push(b));
        } else {
            let mut other = out.clone();
            out.iter_mut().for_each(|v| v.push(b));
            other.iter_mut().for_each(|v| v.push(upper));
            out.extend(other);
        }
    }
    out
}

fn set_bit(bits: &mut [u64], i: usize) {
    bits[i / 64] |= 1 << (i % 64);
}

#[inline]
fn test_bit(bits: &[u64], i: usize) -> bool {
    bits[i / 64] & (1 << (i % 64)) != 0
}

/// Tests a raw byte pair against the pair set.
#[inline]
fn pair_set(set: &PairSet, a: u8, b: u8) -> bool {
    let i = usize::from(u16::from_be_bytes([a, b]));
    set[i >> 6] & (1 << (i & 63)) != 0
}

/// Puts every ASCII-case variant of a folded pair in the pair set.
fn add_pair(set: &mut PairSet, a: u8, b: u8) {
    for x in [a, a.to_ascii_uppercase()] {
        for y in [b, b.to_ascii_uppercase()] {
            let i = usize::from(u16::from_be_bytes([x, y]));
            set[i >> 6] |= 1 << (i & 63);
        }
    }
}

/// The 4-byte window of `p` with the most distinct bytes (later wins ties,
/// as pattern tails vary more than their starts).
fn best_anchor(p: &[u8]) -> usize {
    let mut best = (0, 0usize);
    for start in 0..=p.len() - 4 {
        let w = &p[start..start + 4];
        let mut distinct = 0;
        for (i, b) in w.iter().enumerate() {
            if !w[..i].contains(b) {
                distinct += 1;
            }
        }
        if distinct >= best.0 {
            best = (distinct, start);
        }
    }
    best.1
}

impl AnchorScan {
    /// Indexes `patterns` (pattern id = position in the slice).
    pub(crate) fn new(patterns: &[Vec<u8>]) -> Self {
        let mut s = AnchorScan {
            pairs: Box::new([0; (1 << 16) / 64]),
            bits4: vec![0; (1 << BITS4) / 64],
            by4: FastMap::default(),
            short: FastMap::default(),
            short_finders: None,
            short_bits: [0; 4],
            single: Vec::new(),
        };
        let mut finders = Vec::new();
        for (id, p) in patterns.iter().enumerate() {
            let p: Vec<u8> = p.iter().map(|b| fold(*b)).collect();
            let id = id as u32;
            match p.len() {
                0 => {}
                1 => s.single.push((p[0], id)),
                2 | 3 => {
                    // The rarest byte, the last of equals.
                    let at = (0..p.len())
                        .rev()
                        .min_by_key(|&i| commonness(p[i]))
                        .unwrap_or(0);
                    let b = p[at];
                    for v in [b, b.to_ascii_uppercase()] {
                        set_bit(&mut s.short_bits, usize::from(v));
                    }
                    for v in case_variants(&p) {
                        finders.push((memchr::memmem::Finder::new(&v).into_owned(), id));
                    }
                    s.short.entry(b).or_default().push(Entry {
                        pattern: p,
                        anchor_at: at,
                        id,
                    });
                }
                _ => {
                    let at = best_anchor(&p);
                    let key = u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]]);
                    set_bit(&mut s.bits4, hash4(key));
                    for k in 0..STRIDE {
                        add_pair(&mut s.pairs, p[at + k], p[at + k + 1]);
                    }
                    s.by4.entry(key).or_default().push(Entry {
                        pattern: p,
                        anchor_at: at,
                        id,
                    });
                }
            }
        }
        if finders.len() <= MAX_SHORT_PASSES {
            s.short_finders = Some(finders);
        }
        s
    }

    /// Calls `found(pattern id)` for every pattern occurring in `data`
    /// (possibly more than once per pattern).
    #[inline]
    pub(crate) fn scan(&self, data: &[u8], mut found: impl FnMut(u32)) {
        for &(b, id) in &self.single {
            if memchr::memchr2(b, b.to_ascii_uppercase(), data).is_some() {
                found(id);
            }
        }
        if !self.short.is_empty() {
            self.scan_short(data, &mut found);
        }
        if self.by4.is_empty() {
            return;
        }
        // The pairs ending at positions 2, 5, 8, ...: the first two bytes
        // of each 3-byte chunk after the first byte.
        let Some(rest) = data.get(1..) else {
            return;
        };
        let chunks = rest.chunks_exact(STRIDE);
        let tail = chunks.remainder();
        for (k, c) in chunks.enumerate() {
            if pair_set(&self.pairs, c[0], c[1]) {
                self.probe(data, STRIDE * k + 2, &mut found);
            }
        }
        if let [a, b, ..] = *tail
            && pair_set(&self.pairs, a, b)
        {
            self.probe(data, data.len() - tail.len() + 1, &mut found);
        }
    }

    /// Short patterns: one `memmem` pass per case variant when there are
    /// few, else a byte loop over their searched bytes.
    fn scan_short(&self, data: &[u8], found: &mut impl FnMut(u32)) {
        match &self.short_finders {
            Some(finders) => {
                for (f, id) in finders {
                    if f.find(data).is_some() {
                        found(*id);
                    }
                }
            }
            None => {
                for (i, &b) in data.iter().enumerate() {
                    if test_bit(&self.short_bits, usize::from(b))
                        && let Some(entries) = self.short.get(&fold(b))
                    {
                        self.verify(entries, data, i, found);
                    }
                }
            }
        }
    }

    /// The anchors that could hold the set pair ending at `e`: those
    /// ending at `e` up to `e + STRIDE - 1`. Out of line so the loop stays
    /// small.
    #[inline(never)]
    fn probe(&self, data: &[u8], e: usize, found: &mut impl FnMut(u32)) {
        for end in e..e + STRIDE {
            if end >= data.len() {
                break;
            }
            if end < 3 {
                continue;
            }
            let key = u32::from_be_bytes([
                fold(data[end - 3]),
                fold(data[end - 2]),
                fold(data[end - 1]),
                fold(data[end]),
            ]);
            if test_bit(&self.bits4, hash4(key))
                && let Some(entries) = self.by4.get(&key)
            {
                self.verify(entries, data, end - 3, found);
            }
        }
    }

    #[inline]
    fn verify(
        &self,
        entries: &[Entry],
        data: &[u8],
        anchor_pos: usize,
        found: &mut impl FnMut(u32),
    ) {
        for e in entries {
            let Some(start) = anchor_pos.checked_sub(e.anchor_at) else {
                continue;
            };
            if data
                .get(start..start + e.pattern.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(&e.pattern))
            {
                found(e.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(scan: &AnchorScan, data: &[u8]) -> Vec<u32> {
        let mut v = Vec::new();
        scan.scan(data, |id| v.push(id));
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn finds_every_length_case_insensitively() {
        let pats: Vec<Vec<u8>> = ["x", "ab", "abc", "User-Agent", "\x00\x00\x00\x01"]
            .iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        let s = AnchorScan::new(&pats);
        assert!(s.short_finders.is_some(), "few short patterns: memmem");
        assert_eq!(found(&s, b"USER-agent: x"), vec![0, 3]);
        assert_eq!(found(&s, b"zzABCzz"), vec![1, 2]);
        assert_eq!(found(&s, b"\x00\x00\x00\x00\x01"), vec![4]);
        assert_eq!(found(&s, b"ab"), vec![1]);
        assert!(found(&s, b"User-Agen").is_empty());
        assert!(found(&s, b"").is_empty());
    }

    /// Deterministic pseudo-random patterns and texts over a small
    /// alphabet, so that matches and near-misses are frequent; `count`
    /// patterns (few: the `memchr3` path for 2-byte ones; many: the loop).
    fn agrees_with_a_naive_search(count: usize, seed: u64) {
        let mut x: u64 = seed;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let alphabet = b"aAbB\x00cZ";
        let pats: Vec<Vec<u8>> = (0..count)
            .map(|_| {
                let n = 1 + (next() % 7) as usize;
                (0..n).map(|_| alphabet[(next() % 7) as usize]).collect()
            })
            .collect();
        let s = AnchorScan::new(&pats);
        if count > 100 {
            assert!(s.short_finders.is_none());
        }
        for _ in 0..300 {
            let n = (next() % 97) as usize;
            let text: Vec<u8> = (0..n).map(|_| alphabet[(next() % 7) as usize]).collect();
            let want: Vec<u32> = pats
                .iter()
                .enumerate()
                .filter(|(_, p)| text.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p)))
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(found(&s, &text), want, "text {text:?} patterns {pats:?}");
        }
    }

    #[test]
    fn agrees_with_a_naive_search_many_patterns() {
        // Enough short patterns for the byte loop.
        agrees_with_a_naive_search(200, 0x1234_5678);
    }

    #[test]
    fn agrees_with_a_naive_search_few_patterns() {
        for seed in 1..40 {
            agrees_with_a_naive_search(4, seed * 0x9E37_79B9);
        }
    }

    #[test]
    fn finds_patterns_at_every_alignment() {
        let pats: Vec<Vec<u8>> = [&b"ab"[..], b"xyz", b"wxyz", b"\x00\x01"]
            .iter()
            .map(|p| p.to_vec())
            .collect();
        let s = AnchorScan::new(&pats);
        for pad in 0..6 {
            for p in &pats {
                let mut text = vec![b'.'; pad];
                text.extend_from_slice(p);
                text.extend_from_slice(b"..");
                assert!(!found(&s, &text).is_empty(), "{pad} {p:?}");
                let at_end = [vec![b'.'; pad], p.clone()].concat();
                assert!(!found(&s, &at_end).is_empty(), "end {pad} {p:?}");
            }
        }
    }
}
