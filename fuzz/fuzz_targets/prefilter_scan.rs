//! The prefilter's multi-pattern scan (anchor pairs at stride 3, `memmem`
//! for short patterns) against a naive search: the input is split at `0xff`
//! bytes into patterns, the last piece being the text. Also rule address
//! specs: the sorted-range sets must agree with the spec tree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tripline_rules::header::parse_address;
use tripline_rules::{AddressSpec, Variables};

/// The edges of every prefix the spec names, and their neighbours.
fn edges(spec: &AddressSpec, out: &mut Vec<IpAddr>) {
    match spec {
        AddressSpec::Any => {}
        AddressSpec::Cidr(c) => match c.addr() {
            IpAddr::V4(a) => {
                let base = u32::from(a);
                let span = u32::MAX.checked_shr(u32::from(c.prefix_len())).unwrap_or(0);
                for v in [base.wrapping_sub(1), base, base | span, (base | span).wrapping_add(1)] {
                    out.push(IpAddr::V4(Ipv4Addr::from(v)));
                }
            }
            IpAddr::V6(a) => {
                let base = u128::from(a);
                let span = u128::MAX.checked_shr(u32::from(c.prefix_len())).unwrap_or(0);
                for v in [base.wrapping_sub(1), base, base | span, (base | span).wrapping_add(1)] {
                    out.push(IpAddr::V6(Ipv6Addr::from(v)));
                }
            }
        },
        AddressSpec::List(items) => items.iter().for_each(|i| edges(i, out)),
        AddressSpec::Not(inner) => edges(inner, out),
    }
}
use tripline_rules::matcher::fuzzing::{address_set_agrees, scan_agrees};

fuzz_target!(|data: &[u8]| {
    let mut pieces: Vec<Vec<u8>> = data.split(|b| *b == 0xff).map(<[u8]>::to_vec).collect();
    let text = pieces.pop().unwrap_or_default();
    pieces.truncate(64);
    assert!(scan_agrees(&pieces, &text), "patterns {pieces:?} text {text:?}");

    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(spec) = parse_address(s, &Variables::empty())
    {
        let mut probes = vec![
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V4(Ipv4Addr::BROADCAST),
            IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        ];
        edges(&spec, &mut probes);
        probes.truncate(4096);
        for w in data.windows(4).take(32) {
            probes.push(IpAddr::V4(Ipv4Addr::new(w[0], w[1], w[2], w[3])));
        }
        for w in data.windows(16).take(8) {
            let mut b = [0u8; 16];
            b.copy_from_slice(w);
            probes.push(IpAddr::V6(Ipv6Addr::from(b)));
        }
        for ip in probes {
            assert!(address_set_agrees(&spec, ip), "{s:?} {ip}");
        }
    }
});
