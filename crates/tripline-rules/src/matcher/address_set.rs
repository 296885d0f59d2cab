//! Rule address specs compiled to sorted, disjoint address ranges.
//!
//! A rule side such as `[$HOME_NET,!192.168.1.0/24]` or a reputation list of
//! a few hundred hosts becomes two sorted range lists (IPv4, IPv6), so
//! membership is one binary search instead of a walk over the spec tree,
//! and set questions the prefilter asks ("can this side ever be a home
//! address?") are exact.

use crate::header::AddressSpec;
use std::net::IpAddr;
use tripline_core::Cidr;

const V4_MAX: u128 = u32::MAX as u128;
const V6_MAX: u128 = u128::MAX;

/// Sorted, disjoint, non-adjacent inclusive ranges within `0..=max`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Ranges(Vec<(u128, u128)>);

impl Ranges {
    fn empty() -> Self {
        Ranges(Vec::new())
    }

    fn full(max: u128) -> Self {
        Ranges(vec![(0, max)])
    }

    fn from_unsorted(mut v: Vec<(u128, u128)>) -> Self {
        v.sort_unstable();
        let mut out: Vec<(u128, u128)> = Vec::with_capacity(v.len());
        for (lo, hi) in v {
            match out.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => out.push((lo, hi)),
            }
        }
        Ranges(out)
    }

    fn union(&self, other: &Ranges) -> Ranges {
        Ranges::from_unsorted(self.0.iter().chain(&other.0).copied().collect())
    }

    fn complement(&self, max: u128) -> Ranges {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut next = Some(0u128);
        for &(lo, hi) in &self.0 {
            if let Some(n) = next
                && lo > n
            {
                out.push((n, lo - 1));
            }
            next = hi.checked_add(1).filter(|n| *n <= max);
        }
        if let Some(n) = next {
            out.push((n, max));
        }
        Ranges(out)
    }

    fn intersects(&self, other: &Ranges) -> bool {
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a, b) = (self.0[i], other.0[j]);
            if a.1 < b.0 {
                i += 1;
            } else if b.1 < a.0 {
                j += 1;
            } else {
                return true;
            }
        }
        false
    }

    #[inline]
    fn contains(&self, x: u128) -> bool {
        let i = self.0.partition_point(|r| r.1 < x);
        self.0.get(i).is_some_and(|r| r.0 <= x)
    }
}

/// A set of IPv4 and IPv6 addresses.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AddressSet {
    v4: Ranges,
    v6: Ranges,
}

fn cidr_ranges(c: &Cidr) -> (Ranges, Ranges) {
    let len = u32::from(c.prefix_len());
    match c.addr() {
        IpAddr::V4(a) => {
            let base = u128::from(u32::from(a));
            let span = if len >= 32 {
                0
            } else {
                (1u128 << (32 - len)) - 1
            };
            (Ranges(vec![(base & !span, base | span)]), Ranges::empty())
        }
        IpAddr::V6(a) => {
            let base = u128::from(a);
            let span = match len {
                0 => u128::MAX,
                l if l >= 128 => 0,
                l => (1u128 << (128 - l)) - 1,
            };
            (Ranges::empty(), Ranges(vec![(base & !span, base | span)]))
        }
    }
}

impl AddressSet {
    /// Every address.
    pub(crate) fn any() -> Self {
        AddressSet {
            v4: Ranges::full(V4_MAX),
            v6: Ranges::full(V6_MAX),
        }
    }

    /// No address.
    pub(crate) fn none() -> Self {
        AddressSet {
            v4: Ranges::empty(),
            v6: Ranges::empty(),
        }
    }

    /// The set a rule's address spec denotes (the same semantics as
    /// [`AddressSpec::contains`]: a list is the union of its positive
    /// members minus its negated ones; only negations means everything but).
    pub(crate) fn compile(spec: &AddressSpec) -> Self {
        match spec {
            AddressSpec::Any => AddressSet::any(),
            AddressSpec::Cidr(c) => {
                let (v4, v6) = cidr_ranges(c);
                AddressSet { v4, v6 }
            }
            AddressSpec::Not(inner) => AddressSet::compile(inner).complement(),
            AddressSpec::List(items) => {
                let mut pos: Option<AddressSet> = None;
                let mut neg = AddressSet::none();
                for item in items {
                    match item {
                        AddressSpec::Not(inner) => neg = neg.union(&AddressSet::compile(inner)),
                        other => {
                            let s = AddressSet::compile(other);
                            pos = Some(match pos {
                                Some(p) => p.union(&s),
                                None => s,
                            });
                        }
                    }
                }
                pos.unwrap_or_else(AddressSet::any)
                    .intersection_with_complement(&neg)
            }
        }
    }

    fn union(&self, o: &AddressSet) -> AddressSet {
        AddressSet {
            v4: self.v4.union(&o.v4),
            v6: self.v6.union(&o.v6),
        }
    }

    /// Every address not in the set.
    pub(crate) fn complement(&self) -> AddressSet {
        AddressSet {
            v4: self.v4.complement(V4_MAX),
            v6: self.v6.complement(V6_MAX),
        }
    }

    /// `self` minus `o`.
    fn intersection_with_complement(&self, o: &AddressSet) -> AddressSet {
        self.complement().union(o).complement()
    }

    /// True when the sets share an address.
    pub(crate) fn intersects(&self, o: &AddressSet) -> bool {
        self.v4.intersects(&o.v4) || self.v6.intersects(&o.v6)
    }

    /// True for the set of every address.
    pub(crate) fn is_any(&self) -> bool {
        *self == AddressSet::any()
    }

    /// True for the empty set.
    pub(crate) fn is_empty(&self) -> bool {
        self.v4.0.is_empty() && self.v6.0.is_empty()
    }

    /// True when `ip` is in the set.
    #[inline]
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => self.v4.contains(u128::from(u32::from(a))),
            IpAddr::V6(a) => self.v6.contains(u128::from(a)),
        }
    }
}

/// The address zones the prefilter sorts packets and rules into: inside
/// and outside one set of addresses (the rules' most common side, which in
/// any real rule set is `$HOME_NET` or its complement `$EXTERNAL_NET`).
/// A rule that can never see an inside source, say, is not a candidate for
/// packets from inside.
#[derive(Clone, Debug)]
pub(crate) struct Zones {
    inside: AddressSet,
    outside: AddressSet,
}

/// Zone pairs (source zone × destination zone) a packet can fall into.
pub(crate) const ZONE_PAIRS: usize = 4;

impl Zones {
    /// Picks the inside set: the address set (or complement) that rule
    /// sides name most often, ignoring `any`. With no such set, every
    /// address is outside and zones sort nothing.
    pub(crate) fn from_sides<'a>(sides: impl Iterator<Item = &'a AddressSet>) -> Self {
        let mut counts: std::collections::HashMap<AddressSet, usize> = Default::default();
        for s in sides {
            if s.is_any() || s.is_empty() {
                continue;
            }
            // A set and its complement split the space the same way; count
            // them under the one without 0.0.0.0 (`$HOME_NET`, not
            // `$EXTERNAL_NET`).
            let canonical = if s.v4.contains(0) {
                s.complement()
            } else {
                s.clone()
            };
            *counts.entry(canonical).or_default() += 1;
        }
        let inside = counts
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.v4.0.cmp(&a.0.v4.0)))
            .map(|(s, _)| s)
            .unwrap_or_else(AddressSet::none);
        Zones {
            outside: inside.complement(),
            inside,
        }
    }

    /// 0 inside, 1 outside.
    #[inline]
    fn zone(&self, ip: IpAddr) -> usize {
        usize::from(!self.inside.contains(ip))
    }

    /// The zone pair of a packet (0..ZONE_PAIRS).
    #[inline]
    pub(crate) fn pair(&self, src: IpAddr, dst: IpAddr) -> usize {
        self.zone(src) * 2 + self.zone(dst)
    }

    fn can_be(&self, side: &AddressSet, zone: usize) -> bool {
        side.intersects(if zone == 0 {
            &self.inside
        } else {
            &self.outside
        })
    }

    /// The zone pairs whose packets a rule with these sides can match
    /// (either orientation for `<>` rules).
    pub(crate) fn pairs_for(
        &self,
        src: &AddressSet,
        dst: &AddressSet,
        both_ways: bool,
    ) -> Vec<usize> {
        (0..ZONE_PAIRS)
            .filter(|&p| {
                let (zs, zd) = (p / 2, p % 2);
                (self.can_be(src, zs) && self.can_be(dst, zd))
                    || (both_ways && self.can_be(src, zd) && self.can_be(dst, zs))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::AddressSpec;

    fn cidr(s: &str) -> AddressSpec {
        AddressSpec::Cidr(s.parse().unwrap())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn agrees_with_the_spec_tree() {
        let home = AddressSpec::List(vec![
            cidr("192.168.0.0/16"),
            cidr("10.0.0.0/8"),
            cidr("fd00::/8"),
        ]);
        let specs = vec![
            AddressSpec::Any,
            home.clone(),
            AddressSpec::Not(Box::new(home.clone())),
            AddressSpec::List(vec![
                home.clone(),
                AddressSpec::Not(Box::new(cidr("10.1.0.0/16"))),
            ]),
            AddressSpec::List(vec![AddressSpec::Not(Box::new(cidr("192.168.1.1/32")))]),
            AddressSpec::List(vec![
                cidr("1.2.3.4/32"),
                cidr("1.2.3.5/32"),
                cidr("0.0.0.0/0"),
            ]),
            AddressSpec::Not(Box::new(AddressSpec::List(vec![
                cidr("255.255.255.255/32"),
                cidr("::/0"),
            ]))),
        ];
        let probes = [
            "0.0.0.0",
            "1.2.3.4",
            "1.2.3.6",
            "10.0.0.1",
            "10.1.2.3",
            "10.255.255.255",
            "11.0.0.0",
            "192.168.1.1",
            "192.168.1.2",
            "255.255.255.255",
            "::",
            "fd12::1",
            "2001:db8::1",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ];
        for spec in &specs {
            let set = AddressSet::compile(spec);
            for p in probes {
                assert_eq!(set.contains(ip(p)), spec.contains(ip(p)), "{spec:?} {p}");
            }
        }
    }

    #[test]
    fn zones_follow_the_most_common_side() {
        let home = AddressSpec::List(vec![cidr("192.168.0.0/16"), cidr("10.0.0.0/8")]);
        let home_set = AddressSet::compile(&home);
        let ext_set = AddressSet::compile(&AddressSpec::Not(Box::new(home)));
        let any = AddressSet::any();
        let sides = [
            home_set.clone(),
            ext_set.clone(),
            ext_set.clone(),
            any.clone(),
        ];
        let z = Zones::from_sides(sides.iter());
        assert_eq!(z.pair(ip("10.0.0.1"), ip("8.8.8.8")), 1);
        assert_eq!(z.pair(ip("8.8.8.8"), ip("10.0.0.1")), 2);
        // $EXTERNAL_NET -> $HOME_NET: only outside-to-inside packets.
        assert_eq!(z.pairs_for(&ext_set, &home_set, false), vec![2]);
        assert_eq!(z.pairs_for(&ext_set, &home_set, true), vec![1, 2]);
        assert_eq!(z.pairs_for(&any, &home_set, false), vec![0, 2]);
        assert_eq!(z.pairs_for(&any, &any, false), vec![0, 1, 2, 3]);
    }

    #[test]
    fn no_named_sets_means_one_zone() {
        let any = AddressSet::any();
        let z = Zones::from_sides([any.clone()].iter());
        assert_eq!(z.pair(ip("10.0.0.1"), ip("8.8.8.8")), 3);
        assert_eq!(z.pairs_for(&any, &any, false), vec![3]);
    }
}
