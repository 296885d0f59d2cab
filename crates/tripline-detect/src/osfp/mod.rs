//! Passive OS fingerprinting with p0f v3 signatures.
//!
//! [`Database`] reads p0f's `p0f.fp`; [`Observed`] is what a SYN or SYN+ACK
//! shows (from a capture or a netfilter line with TCP options);
//! [`find_match`] picks the signature the way p0f 3 does. The `osfp`
//! detector ([`crate::detectors::osfp`]) keeps the guesses per source.

pub mod fp_file;
pub mod matcher;
pub mod observed;
pub mod signature;

pub use fp_file::{Database, Direction, Label, ParseError, SignatureRecord};
pub use matcher::{Match, MatchQuality, find_match, guess_distance};
pub use observed::Observed;
pub use signature::{OptionLayout, PayloadClass, Quirks, Signature, WindowSize};
