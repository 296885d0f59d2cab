//! The signature language: Suricata/Snort rules parsed into typed [`Rule`]s.
//!
//! * [`lexer`] splits a rule into header fields and options, honouring quotes and escapes;
//! * [`header`] parses action, protocol, addresses, ports and direction, expanding [`Variables`];
//! * [`payload`] and [`options`] parse the keyword values; [`rule`] assembles them in rule
//!   order, attaching each content to its buffer;
//! * [`fast_pattern`] picks the prefilter content the way Suricata does;
//! * [`classification`] reads `classification.config`;
//! * [`ruleset`] loads rule files and produces a [`LoadSummary`];
//! * [`matcher`] compiles rules and matches them against packets and logged packets.

pub mod buffer;
pub mod classification;
pub mod fast_pattern;
pub mod header;
pub mod lexer;
pub mod matcher;
pub mod options;
pub mod payload;
pub mod rule;
pub mod ruleset;
pub mod vars;

pub use buffer::{Buffer, Transform};
pub use classification::{Classification, Classifications};
pub use fast_pattern::FastPattern;
pub use header::{Action, AddressSpec, AppProto, FlowDirection, PortSpec, Protocol, RuleHeader};
pub use matcher::{FlowBits, Inspect, Match, SignatureMatcher};
pub use payload::{Content, Pcre};
pub use rule::{Detection, Rule, RuleError, parse_rule};
pub use ruleset::{LoadError, LoadSummary, RuleSet, SkipWarning};
pub use vars::Variables;
