//! A bounded map that evicts its least recently used entry.
//!
//! Entries live in a slab (`Vec`) linked into one recency list by index, with
//! a hash index from key to slot: lookups, insertions and evictions are O(1)
//! and nothing is allocated once the slab has grown to its cap. Used by the
//! DNS name cache and the connwatch "seen" memory, whose caps bound memory.

use std::collections::HashMap;
use std::hash::Hash;

/// The index hasher: foldhash, seeded per process (keys come from traffic).
type IndexHasher = foldhash::fast::RandomState;

const NIL: u32 = u32::MAX;

struct Slot<K, V> {
    key: K,
    value: V,
    prev: u32,
    next: u32,
}

/// A map with at most `cap` entries; inserting into a full map evicts the
/// least recently used entry (touched by [`LruMap::get_mut`] or insertion).
pub struct LruMap<K, V> {
    index: HashMap<K, u32, IndexHasher>,
    slots: Vec<Slot<K, V>>,
    /// Most recently used.
    head: u32,
    /// Least recently used.
    tail: u32,
    cap: usize,
    evicted: u64,
}

impl<K: Hash + Eq + Clone, V> LruMap<K, V> {
    /// An empty map holding at most `cap` entries (at least 1).
    pub fn new(cap: usize) -> Self {
        let cap = cap.clamp(1, NIL as usize - 1);
        LruMap {
            index: HashMap::with_hasher(IndexHasher::default()),
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            cap,
            evicted: 0,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The cap.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Entries evicted so far because the map was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The value for `key`, marking it most recently used.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let idx = *self.index.get(key)?;
        self.touch(idx);
        Some(&mut self.slots[idx as usize].value)
    }

    /// The value for `key` without changing its recency.
    pub fn peek(&self, key: &K) -> Option<&V> {
        let idx = *self.index.get(key)?;
        Some(&self.slots[idx as usize].value)
    }

    /// The value for `key`, inserting `make()` first when absent (evicting
    /// the least recently used entry when full). Marks it most recently used.
    pub fn get_or_insert_with(&mut self, key: &K, make: impl FnOnce() -> V) -> &mut V {
        if let Some(&idx) = self.index.get(key) {
            self.touch(idx);
            return &mut self.slots[idx as usize].value;
        }
        let idx = if self.index.len() >= self.cap {
            // Reuse the least recently used slot.
            let victim = self.tail;
            self.unlink(victim);
            let slot = &mut self.slots[victim as usize];
            self.index.remove(&slot.key);
            slot.key = key.clone();
            slot.value = make();
            self.evicted += 1;
            victim
        } else {
            self.slots.push(Slot {
                key: key.clone(),
                value: make(),
                prev: NIL,
                next: NIL,
            });
            (self.slots.len() - 1) as u32
        };
        self.index.insert(key.clone(), idx);
        self.link_head(idx);
        &mut self.slots[idx as usize].value
    }

    /// Every entry, most recently used first.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        let mut at = self.head;
        std::iter::from_fn(move || {
            if at == NIL {
                return None;
            }
            let s = &self.slots[at as usize];
            at = s.next;
            Some((&s.key, &s.value))
        })
    }

    /// Approximate heap bytes held (slab, index), for metrics and benchmarks.
    pub fn memory_estimate(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot<K, V>>()
            + self.index.capacity() * (std::mem::size_of::<K>() + std::mem::size_of::<u32>() + 1)
    }

    fn touch(&mut self, idx: u32) {
        if self.head != idx {
            self.unlink(idx);
            self.link_head(idx);
        }
    }

    fn unlink(&mut self, idx: u32) {
        let (prev, next) = {
            let s = &self.slots[idx as usize];
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slots[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slots[next as usize].prev = prev;
        }
    }

    fn link_head(&mut self, idx: u32) {
        let old = self.head;
        {
            let s = &mut self.slots[idx as usize];
            s.prev = NIL;
            s.next = old;
        }
        if old == NIL {
            self.tail = idx;
        } else {
            self.slots[old as usize].prev = idx;
        }
        self.head = idx;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_least_recently_used_and_counts() {
        let mut m: LruMap<u32, &str> = LruMap::new(2);
        m.get_or_insert_with(&1, || "a");
        m.get_or_insert_with(&2, || "b");
        assert_eq!(m.get_mut(&1).copied(), Some("a")); // 2 is now the oldest
        m.get_or_insert_with(&3, || "c");
        assert_eq!(m.len(), 2);
        assert_eq!(m.evicted(), 1);
        assert!(m.peek(&2).is_none());
        assert_eq!(m.peek(&1).copied(), Some("a"));
        let order: Vec<u32> = m.iter().map(|(k, _)| *k).collect();
        assert_eq!(order, vec![3, 1]);
        // An existing key is not re-created.
        *m.get_or_insert_with(&1, || "x") = "a2";
        assert_eq!(m.peek(&1).copied(), Some("a2"));
        assert_eq!(m.evicted(), 1);
    }

    #[test]
    fn cap_of_one_keeps_the_latest() {
        let mut m: LruMap<u8, u8> = LruMap::new(0);
        assert_eq!(m.cap(), 1);
        for k in 0..10 {
            m.get_or_insert_with(&k, || k);
        }
        assert_eq!(m.len(), 1);
        assert_eq!(m.peek(&9).copied(), Some(9));
        assert_eq!(m.evicted(), 9);
    }
}
