//! The safety rules as properties over many generated addresses: whatever
//! the address, a protected one is never blocked automatically, manually
//! only with `--force`, and loopback/unspecified never; an unprotected one
//! passes. The caps and the spoofing rule hold over many alerts.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tripline_act::respond::{AutoLimits, Evidence, Protected, Refusal, Safeguard};
use tripline_core::{Cidr, HomeNets, Timestamp};

/// xorshift64*: a small deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn addr(&mut self) -> IpAddr {
        if self.next().is_multiple_of(3) {
            IpAddr::V6(Ipv6Addr::from(
                (u128::from(self.next()) << 64) | u128::from(self.next()),
            ))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.next() as u32))
        }
    }
    /// An address inside `c`.
    fn inside(&mut self, c: Cidr) -> IpAddr {
        match c.addr() {
            IpAddr::V4(a) => {
                let host = if c.prefix_len() == 32 {
                    0
                } else {
                    (self.next() as u32) >> c.prefix_len()
                };
                IpAddr::V4(Ipv4Addr::from(u32::from(a) | host))
            }
            IpAddr::V6(a) => {
                let r = (u128::from(self.next()) << 64) | u128::from(self.next());
                let host = if c.prefix_len() == 128 {
                    0
                } else {
                    r >> c.prefix_len()
                };
                IpAddr::V6(Ipv6Addr::from(u128::from(a) | host))
            }
        }
    }
}

fn cidr(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn protected() -> Protected {
    Protected {
        home_nets: HomeNets::new(vec![cidr("192.168.0.0/16"), cidr("fd00:1::/48")]),
        gateways: vec![cidr("203.0.113.1")],
        dns_servers: vec![cidr("9.9.9.9"), cidr("2620:fe::fe")],
        allowed: vec![cidr("198.51.100.0/24")],
        never_block: vec![cidr("2001:db8:ffff::/48")],
    }
}

/// Special ranges, written independently of the implementation.
const SPECIAL: [(&str, bool); 10] = [
    ("0.0.0.0/8", false),
    ("127.0.0.0/8", false),
    ("169.254.0.0/16", true),
    ("224.0.0.0/4", true),
    ("255.255.255.255/32", true),
    ("::/128", false),
    ("::1/128", false),
    ("fe80::/10", true),
    ("ff00::/8", true),
    ("::ffff:127.0.0.0/104", false),
];

fn strong_evidence() -> Evidence {
    Evidence {
        danger_level: Some(5),
        rule_block: false,
        packets: 500,
        udp_only: false,
        handshake: true,
    }
}

fn is_protected(p: &Protected, a: IpAddr) -> bool {
    let a = a.to_canonical();
    p.home_nets.contains(a)
        || [&p.gateways, &p.dns_servers, &p.allowed, &p.never_block]
            .iter()
            .any(|l| l.iter().any(|c| c.contains(a)))
}

fn special(a: IpAddr) -> Option<bool> {
    SPECIAL
        .iter()
        .find(|(c, _)| cidr(c).contains(a) || cidr(c).contains(a.to_canonical()))
        .map(|(_, forceable)| *forceable)
}

#[test]
fn protected_and_special_addresses_are_never_blocked_automatically() {
    let p = protected();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut guard = Safeguard::new(
        p.clone(),
        AutoLimits {
            per_minute: u32::MAX,
            max_total: u32::MAX,
            allow_spoofable: true,
        },
    );
    let lists: Vec<Cidr> = p
        .home_nets
        .prefixes()
        .iter()
        .chain(&p.gateways)
        .chain(&p.dns_servers)
        .chain(&p.allowed)
        .chain(&p.never_block)
        .copied()
        .chain(SPECIAL.iter().map(|(c, _)| cidr(c)))
        .collect();
    let mut checked = 0;
    for i in 0..200_000u64 {
        // Half the addresses are drawn inside a protected or special prefix.
        let a = if i % 2 == 0 {
            let c = lists[(rng.next() % lists.len() as u64) as usize];
            rng.inside(c)
        } else {
            rng.addr()
        };
        let now = Timestamp(i as i64);
        let auto = guard.admit_automatic(a, &strong_evidence(), 0, now);
        let manual = guard.check_manual(a, false);
        let forced = guard.check_manual(a, true);
        match (special(a), is_protected(&p, a)) {
            (Some(forceable), _) => {
                assert!(auto.is_err() && manual.is_err(), "{a} special but allowed");
                assert_eq!(
                    forced.is_ok(),
                    forceable,
                    "{a}: --force on a special address"
                );
                checked += 1;
            }
            (None, true) => {
                assert!(
                    auto.is_err() && manual.is_err(),
                    "{a} protected but allowed"
                );
                assert!(
                    forced.is_ok(),
                    "{a}: --force refused for a protected address"
                );
                checked += 1;
            }
            (None, false) => {
                assert_eq!(auto, Ok(()), "{a} unprotected but refused");
                assert_eq!(manual, Ok(()));
            }
        }
    }
    assert!(checked > 90_000, "too few protected samples: {checked}");
}

#[test]
fn mapped_ipv6_forms_do_not_escape_the_rules() {
    let g = Safeguard::new(protected(), AutoLimits::default());
    for (a, kind) in [
        ("::ffff:192.168.4.4", "home_net"),
        ("::ffff:9.9.9.9", "dns_server"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:0.0.0.0", "unspecified"),
        ("fd00:1::99", "home_net"),
        ("2620:fe::fe", "dns_server"),
    ] {
        let a: IpAddr = a.parse().unwrap();
        assert_eq!(g.check_address(a).unwrap_err().kind(), kind, "{a}");
    }
}

#[test]
fn spoofable_evidence_blocks_only_when_allowed() {
    let weak = [
        Evidence {
            packets: 1,
            ..strong_evidence()
        },
        Evidence {
            udp_only: true,
            ..strong_evidence()
        },
        Evidence {
            handshake: false,
            ..strong_evidence()
        },
    ];
    let mut strict = Safeguard::new(protected(), AutoLimits::default());
    let mut lax = Safeguard::new(
        protected(),
        AutoLimits {
            allow_spoofable: true,
            per_minute: 100,
            ..AutoLimits::default()
        },
    );
    let a: IpAddr = "203.0.113.77".parse().unwrap();
    for (i, e) in weak.iter().enumerate() {
        let now = Timestamp(i as i64);
        assert!(matches!(
            strict.admit_automatic(a, e, 0, now),
            Err(Refusal::SpoofableEvidence(_))
        ));
        assert_eq!(lax.admit_automatic(a, e, 0, now), Ok(()));
    }
    assert_eq!(
        strict.admit_automatic(a, &strong_evidence(), 0, Timestamp(9)),
        Ok(())
    );
}

#[test]
fn per_minute_and_total_caps_hold_over_many_alerts() {
    let limits = AutoLimits {
        per_minute: 7,
        max_total: 50,
        allow_spoofable: false,
    };
    let mut g = Safeguard::new(protected(), limits);
    let mut rng = Rng(42);
    let sec = 1_000_000_000i64;
    // 10 alerts a second for 10 minutes: never more than 7 admitted in any
    // 60-second window.
    let mut admitted: Vec<i64> = Vec::new();
    for i in 0..6000i64 {
        let now = i * sec / 10;
        let a = IpAddr::V4(Ipv4Addr::new(45, (rng.next() % 256) as u8, 1, 1));
        if g.admit_automatic(a, &strong_evidence(), 0, Timestamp(now))
            .is_ok()
        {
            admitted.push(now);
        }
    }
    for (i, t) in admitted.iter().enumerate() {
        let in_window = admitted[i..]
            .iter()
            .take_while(|u| **u < t + 60 * sec)
            .count();
        assert!(
            in_window <= 7,
            "{in_window} blocks within a minute from {t}"
        );
    }
    assert!(
        admitted.len() >= 70,
        "the cap refused too much: {}",
        admitted.len()
    );
    // The total cap: with 50 in force, nothing more is admitted.
    let a: IpAddr = "45.1.1.1".parse().unwrap();
    assert_eq!(
        g.admit_automatic(a, &strong_evidence(), 50, Timestamp(3600 * sec)),
        Err(Refusal::TotalCap { max: 50 })
    );
    assert_eq!(
        g.admit_automatic(a, &strong_evidence(), 49, Timestamp(3600 * sec)),
        Ok(())
    );
}
