//! Bounded sets for scan state: destination ports of one host and
//! destination hosts of one source, plus compact port-range formatting.

use std::fmt::Write;
use std::net::IpAddr;

/// Ports kept as a sorted list before a set needs a bitmap.
pub const SMALL_PORTS: usize = 32;
/// Words of a 65,536-bit port bitmap.
const BITMAP_WORDS: usize = 1024;
/// Heap bytes of one port bitmap.
pub const BITMAP_BYTES: usize = BITMAP_WORDS * 8;

/// What an insert did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Already present.
    Known,
    /// New member.
    New,
    /// New member that could not be stored (the set is saturated); it is
    /// still counted.
    Counted,
}

/// Distinct 16-bit values (ports, ICMP types, protocol numbers): a sorted
/// list up to [`SMALL_PORTS`], then a 8 KiB bitmap when the caller's bitmap
/// budget allows, else saturated (new values counted, not stored).
#[derive(Clone, Debug, Default)]
pub struct PortSet {
    small: Vec<u16>,
    bitmap: Option<Box<[u64; BITMAP_WORDS]>>,
    count: u32,
    saturated: bool,
    /// Highest value counted while saturated.
    high: u16,
}

impl PortSet {
    /// Number of distinct values seen (including counted-only ones).
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// True when this set holds a bitmap.
    pub fn has_bitmap(&self) -> bool {
        self.bitmap.is_some()
    }

    /// True when some members were counted but not stored.
    pub fn is_saturated(&self) -> bool {
        self.saturated
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.small.capacity() * 2
            + if self.bitmap.is_some() {
                BITMAP_BYTES
            } else {
                0
            }
    }

    /// Adds `v`. `may_grow` says whether a bitmap may be allocated now.
    pub fn insert(&mut self, v: u16, may_grow: bool) -> Inserted {
        if let Some(b) = &mut self.bitmap {
            let (w, bit) = (v as usize / 64, 1u64 << (v % 64));
            if b[w] & bit != 0 {
                return Inserted::Known;
            }
            b[w] |= bit;
            self.count += 1;
            return Inserted::New;
        }
        match self.small.binary_search(&v) {
            Ok(_) => Inserted::Known,
            Err(_) if self.saturated => {
                // Cannot tell a repeat from a new value once saturated; count
                // values above the highest seen, which is what a sequential
                // scan produces.
                if v > self.high {
                    self.high = v;
                    self.count += 1;
                    Inserted::Counted
                } else {
                    Inserted::Known
                }
            }
            Err(pos) if self.small.len() < SMALL_PORTS => {
                if self.small.len() == self.small.capacity() {
                    self.small.reserve_exact(self.small.len().max(1));
                }
                self.small.insert(pos, v);
                self.count += 1;
                Inserted::New
            }
            Err(_) if may_grow => {
                let mut b = Box::new([0u64; BITMAP_WORDS]);
                for p in self.small.drain(..).chain(std::iter::once(v)) {
                    b[p as usize / 64] |= 1u64 << (p % 64);
                }
                self.small = Vec::new();
                self.bitmap = Some(b);
                self.count += 1;
                Inserted::New
            }
            Err(_) => {
                self.saturated = true;
                self.high = self
                    .high
                    .max(v)
                    .max(self.small.last().copied().unwrap_or(0));
                self.count += 1;
                Inserted::Counted
            }
        }
    }

    /// The stored members in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = u16> + '_ {
        let from_small = self.small.iter().copied();
        let from_bitmap = self.bitmap.iter().flat_map(|b| {
            b.iter().enumerate().flat_map(|(w, word)| {
                let word = *word;
                (0..64u32)
                    .filter(move |i| word & (1u64 << i) != 0)
                    .map(move |i| (w * 64) as u16 + i as u16)
            })
        });
        from_small.chain(from_bitmap)
    }

    /// Compact ranges, `1-1024,3306`, at most `max_ranges` of them (then
    /// `,...`); a saturated set ends with `+` (more values were seen).
    pub fn ranges(&self, max_ranges: usize) -> String {
        let mut s = String::new();
        let mut written = 0;
        let mut run: Option<(u16, u16)> = None;
        let flush = |s: &mut String, (a, b): (u16, u16), written: &mut usize| {
            if *written == max_ranges {
                s.push_str(",...");
            }
            if *written < max_ranges {
                if !s.is_empty() {
                    s.push(',');
                }
                if a == b {
                    let _ = write!(s, "{a}");
                } else {
                    let _ = write!(s, "{a}-{b}");
                }
            }
            *written += 1;
        };
        for p in self.iter() {
            run = match run {
                Some((a, b)) if b.checked_add(1) == Some(p) => Some((a, p)),
                Some(r) => {
                    flush(&mut s, r, &mut written);
                    Some((p, p))
                }
                None => Some((p, p)),
            };
        }
        if let Some(r) = run {
            flush(&mut s, r, &mut written);
        }
        if self.saturated {
            s.push('+');
        }
        s
    }
}

/// A 64-bit key for an address (IPv4 exactly, IPv6 folded).
pub fn host_key(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(a) => u32::from(a) as u64,
        IpAddr::V6(a) => {
            let v = u128::from(a);
            let folded = (v >> 64) as u64 ^ (v as u64).rotate_left(29);
            // Keep IPv6 keys out of the IPv4 range.
            folded | 1 << 63
        }
    }
}

/// Distinct destination hosts: a sorted list of [`host_key`]s up to a cap,
/// then counted only.
#[derive(Clone, Debug, Default)]
pub struct HostSet {
    keys: Vec<u64>,
    count: u32,
}

impl HostSet {
    /// Distinct hosts seen (stored or counted).
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8
    }

    /// Adds a host; beyond `cap` stored keys, unknown hosts are counted (a
    /// repeat of an unstored host is then counted again: an upper bound).
    pub fn insert(&mut self, key: u64, cap: usize) -> Inserted {
        match self.keys.binary_search(&key) {
            Ok(_) => Inserted::Known,
            Err(pos) if self.keys.len() < cap => {
                if self.keys.len() == self.keys.capacity() {
                    self.keys.reserve_exact(self.keys.len().max(1));
                }
                self.keys.insert(pos, key);
                self.count += 1;
                Inserted::New
            }
            Err(_) => {
                self.count = self.count.saturating_add(1);
                Inserted::Counted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_small_and_bitmap() {
        let mut s = PortSet::default();
        for p in [3306, 1, 2, 3, 5, 3] {
            s.insert(p, true);
        }
        assert_eq!(s.len(), 5);
        assert_eq!(s.ranges(10), "1-3,5,3306");
        for p in 1..=1024 {
            s.insert(p, true);
        }
        assert!(s.has_bitmap());
        assert_eq!(s.len(), 1025);
        assert_eq!(s.ranges(10), "1-1024,3306");
        assert_eq!(s.ranges(1), "1-1024,...");
        let mut e = PortSet::default();
        e.insert(65535, true);
        e.insert(0, true);
        assert_eq!(e.ranges(4), "0,65535");
    }

    #[test]
    fn saturates_without_budget() {
        let mut s = PortSet::default();
        for p in 1..=40u16 {
            s.insert(p, false);
        }
        assert!(!s.has_bitmap() && s.is_saturated());
        assert_eq!(s.len(), 40);
        assert_eq!(s.insert(40, false), Inserted::Known);
        assert!(s.ranges(4).ends_with('+'));
    }

    #[test]
    fn host_set_caps() {
        let mut h = HostSet::default();
        for i in 0..10u64 {
            h.insert(i, 4);
        }
        assert_eq!(h.insert(1, 4), Inserted::Known);
        assert_eq!(h.len(), 10);
        assert_eq!(h.heap_bytes() / 8, h.keys.capacity());
        assert_ne!(
            host_key("fd99:1::3".parse().unwrap()),
            host_key("fd99:1::2".parse().unwrap())
        );
    }
}
