//! tripline's engine: flow accounting, connection states, Community ID and
//! the detectors.
//!
//! [`Engine`] consumes the [`Record`](tripline_core::Record) stream: packets
//! go through the [`FlowTable`] (Zeek-style connection records with
//! [`ConnTracker`] states and Community IDs) and, on port 53, the DNS parser;
//! firewall lines become connection records ([`firewall_connection`]); every
//! record reaches each registered [`Detector`]. Products leave through an
//! [`EngineOutput`].

pub mod allow_list;
pub mod community_id;
pub mod conn_state;
pub mod detectors;
pub mod dns_cache;
pub mod engine;
pub mod firewall_conn;
pub mod flow_table;
pub mod lru;
pub mod osfp;
pub mod reassembly;
pub mod seen;

pub use allow_list::{AllowList, AllowRule, DomainPattern};
pub use community_id::CommunityId;
pub use conn_state::{ConnTracker, EndpointState};
pub use detectors::connwatch::{ConnVerdict, Connwatch, ConnwatchConfig, ConnwatchStats};
pub use detectors::scan::{ScanConfig, ScanDetector, ScanMetrics};
pub use detectors::{DetectContext, Detector};
pub use dns_cache::{DnsCache, DnsCacheConfig, DnsCacheMetrics, NameLookup};
pub use engine::{Engine, EngineConfig, EngineOutput, EngineStats};
pub use firewall_conn::{FirewallVerdict, firewall_connection};
pub use flow_table::{FlowConfig, FlowMetrics, FlowTable};
pub use seen::{SeenEntry, SeenKey, SeenKind, SeenMemory};

#[cfg(test)]
mod test_packets;
