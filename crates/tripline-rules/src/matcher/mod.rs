//! Matching compiled rules against packets and logged packets.
//!
//! * [`context`]: what is inspected ([`Inspect`]: header, flow context,
//!   buffers);
//! * `address_set`: rule address specs as sorted ranges, and the address
//!   zones (inside/outside the rules' home set) rules are grouped by;
//! * `prefilter`: protocol × zone groups, one multi-pattern scan per buffer over
//!   the rules' fast patterns (`anchor_scan`), and a header index
//!   (addresses, ports) for rules without content;
//! * `compile` and `inspect`: per-buffer test lists with Suricata's
//!   relative-match semantics and bounded backtracking;
//! * `header_match`: protocol, endpoints, `flow` and header tests;
//! * `state`: flowbits ([`FlowBits`], per flow, kept by the caller), xbits
//!   and thresholds (bounded);
//! * `cross_flow`: the state that spans flows (xbits, thresholds), which
//!   parallel workers leave to one [`CrossFlow`] to settle in input order;
//! * `stream_use`: whether a payload rule inspects the TCP packet, the
//!   reassembled stream, or both (Suricata's rule flags);
//! * `traffic`: flowbits that tag a flow's events ([`TrafficTag`]);
//! * [`SignatureMatcher`] ties them together.

mod address_set;
mod anchor_scan;
mod bytes;
mod compile;
pub mod context;
mod cross_flow;
mod engine;
mod header_match;
mod inspect;
mod prefilter;
mod state;
mod stream_use;
mod traffic;
mod transform;

pub use compile::CompileError;
pub use context::{Buffers, FlowContext, Inspect};
pub use cross_flow::{CrossFlow, Pending, SettleStats};
pub use engine::{Match, MatcherLimits, MatcherStats, SignatureMatcher};
pub use inspect::RECURSION_LIMIT;
pub use state::{FlowBits, MAX_FLOWBITS};
pub use traffic::TrafficTag;

/// Differential checks of the matcher's internal indexes against their
/// plain definitions, for the fuzz targets (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use crate::header::AddressSpec;
    use std::net::IpAddr;

    /// True when the prefilter scan reports exactly the patterns a naive
    /// case-insensitive search finds in `text`.
    pub fn scan_agrees(patterns: &[Vec<u8>], text: &[u8]) -> bool {
        let scan = super::anchor_scan::AnchorScan::new(patterns);
        let mut got = Vec::new();
        scan.scan(text, |id| got.push(id));
        got.sort_unstable();
        got.dedup();
        let want: Vec<u32> = patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                !p.is_empty() && text.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p))
            })
            .map(|(i, _)| i as u32)
            .collect();
        got == want
    }

    /// True when the compiled address set agrees with the spec on `ip`.
    pub fn address_set_agrees(spec: &AddressSpec, ip: IpAddr) -> bool {
        super::address_set::AddressSet::compile(spec).contains(ip) == spec.contains(ip)
    }
}
