//! Finding the signature that fits an observed SYN or SYN+ACK, in p0f 3's
//! order: the first exact match of a specific label wins; otherwise the
//! first exact generic (`g:`) match; otherwise the first fuzzy match (TTL
//! out of range, or `df`/`id+` gone, `id-`/`ecn` appeared), never for tools.

use crate::osfp::fp_file::{Database, Label, SignatureRecord};
use crate::osfp::observed::Observed;
use crate::osfp::signature::{PayloadClass, Quirks, WindowSize};

/// Largest TTL distance an exact match accepts (p0f's `MAX_DIST`).
pub const MAX_DIST: u8 = 35;

/// Standard MTU p0f tries when MSS does not divide the window.
const MTU_1500: u32 = 1500;
/// IPv4 + TCP minimum headers.
const MIN_TCP4: u32 = 40;
/// IPv6 + TCP minimum headers.
const MIN_TCP6: u32 = 60;

/// How well a signature fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MatchQuality {
    /// Only a fuzzy fit.
    Fuzzy,
    /// An exact fit of a generic (`g:`) signature.
    Generic,
    /// An exact fit of a specific signature.
    Exact,
}

/// The outcome of matching: the signature, the label and the distance.
#[derive(Clone, Copy, Debug)]
pub struct Match<'db> {
    /// The signature that fit.
    pub record: &'db SignatureRecord,
    /// Its label.
    pub label: &'db Label,
    /// Exact, generic or fuzzy.
    pub quality: MatchQuality,
    /// Hops between the sender and the observer: signature TTL minus the
    /// TTL seen (an upper bound for random-TTL tools).
    pub distance: u8,
}

/// The distance p0f guesses when nothing fits: up to the next usual
/// initial TTL (32, 64, 128, 255).
pub fn guess_distance(ttl: u8) -> u8 {
    match ttl {
        0..=32 => 32 - ttl,
        33..=64 => 64 - ttl,
        65..=128 => 128 - ttl,
        _ => 255 - ttl,
    }
}

/// Window size as a multiple of MSS or MTU: `(multiplier, uses_mtu)`, tried
/// in p0f's order; `peer_mss` is the SYN's MSS when matching a SYN+ACK.
pub fn window_multiple(o: &Observed, peer_mss: Option<u16>) -> Option<(u32, bool)> {
    let win = o.window as u32;
    let mss = o.mss as u32;
    if win == 0 || mss < 100 {
        return None;
    }
    let mut tries: [(u32, bool); 12] = [(0, false); 12];
    let mut n = 0;
    let mut add = |div: u32, mtu: bool| {
        tries[n] = (div, mtu);
        n += 1;
    };
    add(mss, false);
    if o.ts1 != 0 {
        add(mss - 12, false);
    }
    add(MTU_1500 - MIN_TCP4, false);
    add(MTU_1500 - MIN_TCP4 - 12, false);
    if o.ip_version == 6 {
        add(MTU_1500 - MIN_TCP6, false);
        add(MTU_1500 - MIN_TCP6 - 12, false);
    }
    add(mss + MIN_TCP4, true);
    add(mss + o.tot_hdr as u32, true);
    if o.ip_version == 6 {
        add(mss + MIN_TCP6, true);
    }
    add(MTU_1500, true);
    if let Some(p) = peer_mss.filter(|&p| p != 0) {
        add(p as u32, false);
        if p > 12 {
            add(p as u32 - 12, false);
        }
    }
    tries[..n]
        .iter()
        .find(|(div, _)| *div != 0 && win.is_multiple_of(*div))
        .map(|&(div, mtu)| (win / div, mtu))
}

/// The best signature for `o` in `db`, or `None` when nothing fits (use
/// [`guess_distance`] for the distance then).
pub fn find_match<'db>(
    db: &'db Database,
    o: &Observed,
    peer_mss: Option<u16>,
) -> Option<Match<'db>> {
    let multiple = window_multiple(o, peer_mss);
    let mut generic: Option<&SignatureRecord> = None;
    let mut fuzzy: Option<&SignatureRecord> = None;
    for rec in db.signatures(o.direction) {
        let s = &rec.sig;
        if s.layout != o.layout {
            continue;
        }
        let mut is_fuzzy = false;
        let mut ref_quirks = s.quirks.0;
        if s.ip_version.is_none() {
            ref_quirks &= if o.ip_version == 4 {
                !Quirks::FLOW
            } else {
                !(Quirks::DF | Quirks::NZ_ID | Quirks::ZERO_ID)
            };
        }
        if ref_quirks != o.quirks.0 {
            let diff = ref_quirks ^ o.quirks.0;
            let deleted = diff & ref_quirks;
            let added = diff & o.quirks.0;
            if fuzzy.is_some()
                || deleted & !(Quirks::DF | Quirks::NZ_ID) != 0
                || added & !(Quirks::ZERO_ID | Quirks::ECN) != 0
            {
                continue;
            }
            is_fuzzy = true;
        }
        if s.eol_pad != o.eol_pad || s.ip_opt_len != o.ip_opt_len {
            continue;
        }
        if s.bad_ttl {
            if s.ittl < o.ttl {
                continue;
            }
        } else if s.ittl < o.ttl || s.ittl - o.ttl > MAX_DIST {
            is_fuzzy = true;
        }
        if s.mss.is_some_and(|m| m != o.mss) || s.wscale.is_some_and(|w| w != o.wscale) {
            continue;
        }
        match s.payload {
            PayloadClass::Any => {}
            PayloadClass::Empty if o.payload => continue,
            PayloadClass::NonEmpty if !o.payload => continue,
            _ => {}
        }
        let window_fits = match s.window {
            WindowSize::Any => true,
            WindowSize::Exact(w) => w == o.window,
            WindowSize::Modulo(m) => o.window.is_multiple_of(m),
            WindowSize::MssMultiple(k) => multiple == Some((k as u32, false)),
            WindowSize::MtuMultiple(k) => multiple == Some((k as u32, true)),
        };
        if !window_fits {
            continue;
        }
        if !is_fuzzy {
            let label = db.label(rec);
            if !label.generic {
                return Some(Match {
                    record: rec,
                    label,
                    quality: MatchQuality::Exact,
                    distance: s.ittl - o.ttl,
                });
            }
            generic.get_or_insert(rec);
        } else {
            fuzzy.get_or_insert(rec);
        }
    }
    if let Some(rec) = generic {
        return Some(Match {
            record: rec,
            label: db.label(rec),
            quality: MatchQuality::Generic,
            distance: rec.sig.ittl - o.ttl,
        });
    }
    let rec = fuzzy?;
    let label = db.label(rec);
    if label.is_tool() {
        return None;
    }
    let s = &rec.sig;
    let distance = if s.ittl < o.ttl || (!s.bad_ttl && s.ittl - o.ttl > MAX_DIST) {
        guess_distance(o.ttl)
    } else {
        s.ittl - o.ttl
    };
    Some(Match {
        record: rec,
        label,
        quality: MatchQuality::Fuzzy,
        distance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::osfp::fp_file::Direction;
    use crate::osfp::signature::{OptionLayout, opt};

    const DB: &str = "\
classes = win,unix,other
[tcp:request]
label = s:unix:Linux:3.11 and newer
sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0
label = g:unix:Linux:2.2.x-3.x
sig   = *:64:0:*:*,*:mss,sok,ts,nop,ws:df,id+:0
label = s:!:NMap:SYN scan
sig   = *:64-:0:1460:1024,0:mss::0
label = s:win:Windows:7 or 8
sig   = *:128:0:*:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0
";

    fn linux(window: u16, wscale: u8, ttl: u8) -> Observed {
        let mut layout = OptionLayout::default();
        for k in [opt::MSS, opt::SOK, opt::TS, opt::NOP, opt::WS] {
            layout.push(k);
        }
        Observed {
            direction: Direction::Request,
            ip_version: 4,
            ttl,
            ip_opt_len: 0,
            mss: 1460,
            window,
            wscale,
            layout,
            eol_pad: 0,
            quirks: Quirks(Quirks::DF | Quirks::NZ_ID),
            payload: false,
            ts1: 5,
            tot_hdr: 60,
        }
    }

    #[test]
    fn exact_then_generic_then_fuzzy() {
        let db = Database::parse(DB).unwrap();
        let m = find_match(&db, &linux(29200, 10, 60), None).unwrap();
        assert_eq!(&*m.label.display, "Linux 3.11 and newer");
        assert_eq!((m.quality, m.distance), (MatchQuality::Exact, 4));
        let m = find_match(&db, &linux(5000, 3, 64), None).unwrap();
        assert_eq!(&*m.label.display, "Linux 2.2.x-3.x");
        assert_eq!(m.quality, MatchQuality::Generic);
        // TTL above 64: only a fuzzy fit; distance guessed from 128.
        let m = find_match(&db, &linux(29200, 10, 100), None).unwrap();
        assert_eq!((m.quality, m.distance), (MatchQuality::Fuzzy, 28));
        // df dropped: fuzzy; an extra quirk: no match.
        let mut o = linux(29200, 10, 60);
        o.quirks = Quirks(Quirks::NZ_ID);
        assert_eq!(
            find_match(&db, &o, None).unwrap().quality,
            MatchQuality::Fuzzy
        );
        o.quirks = Quirks(Quirks::DF | Quirks::NZ_ID | Quirks::PUSH);
        assert!(find_match(&db, &o, None).is_none());
    }

    #[test]
    fn random_ttl_tool() {
        let db = Database::parse(DB).unwrap();
        let mut layout = OptionLayout::default();
        layout.push(opt::MSS);
        let mut o = linux(1024, 0, 49);
        o.layout = layout;
        o.quirks = Quirks(0);
        o.ts1 = 0;
        let m = find_match(&db, &o, None).unwrap();
        assert_eq!(&*m.label.display, "NMap SYN scan");
        assert_eq!(m.distance, 15);
        o.ttl = 70;
        assert!(find_match(&db, &o, None).is_none());
    }

    #[test]
    fn window_multiples_in_p0f_order() {
        let o = linux(29200, 7, 64);
        assert_eq!(window_multiple(&o, None), Some((20, false)));
        let mut o = linux(1500 * 3, 7, 64);
        o.mss = 1400;
        assert_eq!(window_multiple(&o, None), Some((3, true)));
        o.window = 1000 * 4;
        assert_eq!(window_multiple(&o, Some(1000)), Some((4, false)));
        o.mss = 50;
        assert_eq!(window_multiple(&o, None), None);
        assert_eq!(guess_distance(120), 8);
        assert_eq!(guess_distance(250), 5);
    }
}
