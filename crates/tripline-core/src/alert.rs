//! Alerts: what detectors raise and outputs deliver.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// How bad an alert is, Suricata-style: 1 is the most severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Severity(pub u8);

impl Severity {
    /// High.
    pub const HIGH: Severity = Severity(1);
    /// Medium.
    pub const MEDIUM: Severity = Severity(2);
    /// Low.
    pub const LOW: Severity = Severity(3);
}

/// One alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// When the triggering record happened.
    pub ts: Timestamp,
    /// The detector that raised it (`signature`, `scan`, `tripwire`, ...).
    pub detector: String,
    /// Generator id (1 for rules; tripline's built-in detectors use their own).
    pub gid: u32,
    /// Signature id.
    pub sid: u32,
    /// Signature revision.
    pub rev: u32,
    /// Human-readable message.
    pub msg: String,
    /// Category (classtype description).
    pub category: String,
    /// Severity (1 = high).
    pub severity: Severity,
    /// Source address.
    pub src: Option<IpAddr>,
    /// Source port.
    pub sport: Option<u16>,
    /// Destination address.
    pub dst: Option<IpAddr>,
    /// Destination port.
    pub dport: Option<u16>,
    /// IP protocol number.
    pub protocol: Option<u8>,
    /// Community ID of the flow, when known.
    pub community_id: Option<String>,
    /// Detector-specific details (scan type, ports, danger level...).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Alert {
    /// An alert with its identity set and no endpoints, flow or details
    /// (fill those with struct update syntax).
    pub fn new(
        ts: Timestamp,
        detector: impl Into<String>,
        gid: u32,
        sid: u32,
        msg: impl Into<String>,
        severity: Severity,
    ) -> Alert {
        Alert {
            ts,
            detector: detector.into(),
            gid,
            sid,
            rev: 1,
            msg: msg.into(),
            category: String::new(),
            severity,
            src: None,
            sport: None,
            dst: None,
            dport: None,
            protocol: None,
            community_id: None,
            details: serde_json::Map::new(),
        }
    }
}
