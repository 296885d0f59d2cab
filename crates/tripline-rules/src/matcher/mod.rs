//! Matching compiled rules against packets and logged packets.
//!
//! * [`context`]: what is inspected ([`Inspect`]: header, flow context,
//!   buffers);
//! * `prefilter`: protocol groups, one multi-pattern scan per buffer over
//!   the rules' fast patterns (`anchor_scan`), and a header index
//!   (addresses, ports) for rules without content;
//! * `compile` and `inspect`: per-buffer test lists with Suricata's
//!   relative-match semantics and bounded backtracking;
//! * `header_match`: protocol, endpoints, `flow` and header tests;
//! * `state`: flowbits ([`FlowBits`], per flow, kept by the caller), xbits
//!   and thresholds (bounded);
//! * [`SignatureMatcher`] ties them together.

mod anchor_scan;
mod bytes;
mod compile;
pub mod context;
mod engine;
mod header_match;
mod inspect;
mod prefilter;
mod state;
mod transform;

pub use compile::CompileError;
pub use context::{Buffers, FlowContext, Inspect};
pub use engine::{Match, MatcherLimits, MatcherStats, SignatureMatcher};
pub use inspect::RECURSION_LIMIT;
pub use state::{FlowBits, MAX_FLOWBITS};
