//! The one place that decides whether an address may be blocked.
//!
//! Every block, manual or automatic, passes through [`Safeguard`]. It refuses
//! addresses whose loss would hurt us more than the attacker: our own home
//! networks, the gateways and DNS servers we depend on, addresses on the
//! allow list, and addresses that are never a single remote host (loopback,
//! link-local, multicast, broadcast, unspecified). Automatic blocks are
//! further limited per minute and in number, and spoofable evidence (a
//! single packet, UDP only, no completed TCP handshake) blocks only when the
//! configuration allows it: an attacker who can forge a source address must
//! not be able to make us cut off our own resolver.

use super::evidence::Evidence;
use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use tripline_core::{Cidr, HomeNets, Timestamp};

/// Why the safeguard refused a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `0.0.0.0`, `::` or `0.0.0.0/8` ("this network").
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// `169.254.0.0/16` or `fe80::/10`.
    LinkLocal,
    /// Multicast (`224.0.0.0/4`, `ff00::/8`).
    Multicast,
    /// The limited broadcast address `255.255.255.255`.
    Broadcast,
    /// Inside a home network prefix.
    HomeNet(Cidr),
    /// A configured gateway.
    Gateway(Cidr),
    /// A configured DNS server.
    DnsServer(Cidr),
    /// Covered by an allow rule (`[[connwatch.allow]] theirs`).
    AllowList(Cidr),
    /// Listed in `[respond] never_block`.
    NeverBlock(Cidr),
    /// The evidence could have been forged (the text says how).
    SpoofableEvidence(&'static str),
    /// The per-minute cap on automatic blocks is reached.
    RateLimited {
        /// The cap.
        per_minute: u32,
    },
    /// The cap on automatic blocks in force is reached.
    TotalCap {
        /// The cap.
        max: u32,
    },
}

impl Refusal {
    /// True when `--force` may override this refusal for a manual block.
    /// Loopback and unspecified addresses are never blocked: doing so breaks
    /// the host itself and protects against nothing.
    pub fn overridable(&self) -> bool {
        !matches!(self, Refusal::Loopback | Refusal::Unspecified)
    }

    /// A short stable name, for counters and the store.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::Unspecified => "unspecified",
            Refusal::Loopback => "loopback",
            Refusal::LinkLocal => "link_local",
            Refusal::Multicast => "multicast",
            Refusal::Broadcast => "broadcast",
            Refusal::HomeNet(_) => "home_net",
            Refusal::Gateway(_) => "gateway",
            Refusal::DnsServer(_) => "dns_server",
            Refusal::AllowList(_) => "allow_list",
            Refusal::NeverBlock(_) => "never_block",
            Refusal::SpoofableEvidence(_) => "spoofable",
            Refusal::RateLimited { .. } => "rate_limited",
            Refusal::TotalCap { .. } => "total_cap",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Unspecified => f.write_str("it is an unspecified address"),
            Refusal::Loopback => f.write_str("it is a loopback address"),
            Refusal::LinkLocal => f.write_str("it is a link-local address"),
            Refusal::Multicast => f.write_str("it is a multicast address"),
            Refusal::Broadcast => f.write_str("it is the broadcast address"),
            Refusal::HomeNet(c) => write!(f, "it is in the home network {c}"),
            Refusal::Gateway(c) => write!(f, "it is a configured gateway ({c})"),
            Refusal::DnsServer(c) => write!(f, "it is a configured DNS server ({c})"),
            Refusal::AllowList(c) => write!(f, "it is on the allow list ({c})"),
            Refusal::NeverBlock(c) => write!(f, "it is in [respond] never_block ({c})"),
            Refusal::SpoofableEvidence(why) => write!(
                f,
                "the evidence could be spoofed ({why}); set [respond] allow_spoofable = true to block anyway"
            ),
            Refusal::RateLimited { per_minute } => {
                write!(
                    f,
                    "{per_minute} automatic blocks in the last minute already"
                )
            }
            Refusal::TotalCap { max } => write!(f, "{max} automatic blocks already in force"),
        }
    }
}

/// The addresses that are never blocked automatically (and manually only
/// with `--force`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Protected {
    /// The home networks.
    pub home_nets: HomeNets,
    /// Gateways (`[respond] gateways`).
    pub gateways: Vec<Cidr>,
    /// DNS servers (`[respond] dns_servers`).
    pub dns_servers: Vec<Cidr>,
    /// Remote prefixes of the allow list (`[[connwatch.allow]] theirs`).
    pub allowed: Vec<Cidr>,
    /// Anything else (`[respond] never_block`).
    pub never_block: Vec<Cidr>,
}

/// Limits on automatic blocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoLimits {
    /// Most automatic blocks started within any 60 seconds.
    pub per_minute: u32,
    /// Most automatic blocks in force at once.
    pub max_total: u32,
    /// Block on spoofable evidence too.
    pub allow_spoofable: bool,
}

impl Default for AutoLimits {
    fn default() -> Self {
        AutoLimits {
            per_minute: 10,
            max_total: 1000,
            allow_spoofable: false,
        }
    }
}

const MINUTE_NS: i64 = 60_000_000_000;

/// The safety rules, with the state the automatic caps need.
#[derive(Clone, Debug)]
pub struct Safeguard {
    protected: Protected,
    limits: AutoLimits,
    /// Start times of automatic blocks within the last minute (at most
    /// `per_minute` entries).
    recent: VecDeque<Timestamp>,
}

impl Safeguard {
    /// Rules over `protected` with `limits` for automatic blocks.
    pub fn new(protected: Protected, limits: AutoLimits) -> Self {
        Safeguard {
            protected,
            limits,
            recent: VecDeque::new(),
        }
    }

    /// The protected addresses.
    pub fn protected(&self) -> &Protected {
        &self.protected
    }

    /// The automatic limits.
    pub fn limits(&self) -> AutoLimits {
        self.limits
    }

    /// Checks the address alone: `Ok` when nothing protects it.
    pub fn check_address(&self, addr: IpAddr) -> Result<(), Refusal> {
        let addr = addr.to_canonical();
        special(addr)?;
        let p = &self.protected;
        let hit = |list: &[Cidr]| list.iter().copied().find(|c| c.contains(addr));
        if let Some(c) = p
            .home_nets
            .prefixes()
            .iter()
            .copied()
            .find(|c| c.contains(addr))
        {
            return Err(Refusal::HomeNet(c));
        }
        if let Some(c) = hit(&p.gateways) {
            return Err(Refusal::Gateway(c));
        }
        if let Some(c) = hit(&p.dns_servers) {
            return Err(Refusal::DnsServer(c));
        }
        if let Some(c) = hit(&p.allowed) {
            return Err(Refusal::AllowList(c));
        }
        if let Some(c) = hit(&p.never_block) {
            return Err(Refusal::NeverBlock(c));
        }
        Ok(())
    }

    /// A manual block (`tripline block`): protected addresses only with
    /// `force`, and loopback/unspecified never.
    pub fn check_manual(&self, addr: IpAddr, force: bool) -> Result<(), Refusal> {
        match self.check_address(addr) {
            Err(r) if force && r.overridable() => Ok(()),
            other => other,
        }
    }

    /// An automatic block at `now` on `evidence`, with `active` automatic
    /// blocks in force. On `Ok` a slot of the per-minute budget is taken.
    pub fn admit_automatic(
        &mut self,
        addr: IpAddr,
        evidence: &Evidence,
        active: usize,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        self.check_address(addr)?;
        if !self.limits.allow_spoofable
            && let Some(why) = evidence.spoofable()
        {
            return Err(Refusal::SpoofableEvidence(why));
        }
        if active >= self.limits.max_total as usize {
            return Err(Refusal::TotalCap {
                max: self.limits.max_total,
            });
        }
        while let Some(&t) = self.recent.front() {
            // Also forget entries "from the future" (a clock stepped back).
            if now.0.saturating_sub(t.0) >= MINUTE_NS || t > now {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() >= self.limits.per_minute as usize {
            return Err(Refusal::RateLimited {
                per_minute: self.limits.per_minute,
            });
        }
        self.recent.push_back(now);
        Ok(())
    }
}

/// Refuses the address kinds that are never one remote host.
fn special(addr: IpAddr) -> Result<(), Refusal> {
    match addr {
        IpAddr::V4(a) => {
            if a.is_unspecified() || a.octets()[0] == 0 {
                Err(Refusal::Unspecified)
            } else if a.is_loopback() {
                Err(Refusal::Loopback)
            } else if a.is_link_local() {
                Err(Refusal::LinkLocal)
            } else if a.is_multicast() {
                Err(Refusal::Multicast)
            } else if a == Ipv4Addr::BROADCAST {
                Err(Refusal::Broadcast)
            } else {
                Ok(())
            }
        }
        IpAddr::V6(a) => {
            if a.is_unspecified() {
                Err(Refusal::Unspecified)
            } else if a.is_loopback() {
                Err(Refusal::Loopback)
            } else if is_v6_link_local(a) {
                Err(Refusal::LinkLocal)
            } else if a.is_multicast() {
                Err(Refusal::Multicast)
            } else {
                Ok(())
            }
        }
    }
}

fn is_v6_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}
