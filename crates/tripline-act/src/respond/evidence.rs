//! What an alert proves about its source, as the safety rules need it.
//!
//! The scan detector puts `danger_level`, `scan_types` (with `CONNECT` when
//! the scanner completed TCP handshakes to the probed ports), `packets` and
//! `source_packets` in the alert details. Other detectors may mark a
//! completed handshake with `"established": true`. A signature alert whose
//! rule carries the metadata tag `block` has `details.metadata.block`
//! (EVE's metadata shape: `{"block": ["..."]}`).

use serde_json::Value;
use tripline_core::{Alert, ip_proto};

/// The facts about one alert that decide whether it may cause a block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// The source's danger level (1-5), when the detector rates sources.
    pub danger_level: Option<u8>,
    /// The rule asked to block (metadata `block`).
    pub rule_block: bool,
    /// Packets the source sent that the alert counts (0 when unknown).
    pub packets: u64,
    /// Everything the source sent was UDP.
    pub udp_only: bool,
    /// The source completed a TCP handshake with us, so its address is real.
    pub handshake: bool,
}

impl Evidence {
    /// Reads the evidence from an alert's fields and details.
    pub fn from_alert(alert: &Alert) -> Evidence {
        let d = &alert.details;
        let danger_level = d
            .get("danger_level")
            .and_then(Value::as_u64)
            .map(|l| l.min(5) as u8);
        let rule_block = match d.get("metadata") {
            Some(Value::Object(m)) => m.contains_key("block"),
            Some(Value::Array(items)) => items.iter().any(|i| match i {
                Value::String(s) => s.split_whitespace().next() == Some("block"),
                Value::Array(kv) => kv.first().and_then(Value::as_str) == Some("block"),
                _ => false,
            }),
            _ => false,
        };
        let packets = ["source_packets", "packets"]
            .iter()
            .find_map(|k| d.get(*k).and_then(Value::as_u64))
            .unwrap_or(0);
        let scan_types: Vec<&str> = d
            .get("scan_types")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let udp_only = if scan_types.is_empty() {
            alert.protocol == Some(ip_proto::UDP)
        } else {
            scan_types.iter().all(|t| *t == "UDP")
        };
        let handshake = scan_types.contains(&"CONNECT")
            || d.get("established").and_then(Value::as_bool) == Some(true);
        Evidence {
            danger_level,
            rule_block,
            packets,
            udp_only,
            handshake,
        }
    }

    /// How the evidence could have been forged, or `None` when the source
    /// proved its address.
    pub fn spoofable(&self) -> Option<&'static str> {
        if self.packets <= 1 {
            Some("a single packet")
        } else if self.udp_only {
            Some("UDP only")
        } else if !self.handshake {
            Some("the source completed no TCP handshake")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tripline_core::{Severity, Timestamp};

    fn alert(details: Value, protocol: Option<u8>) -> Alert {
        Alert {
            ts: Timestamp(0),
            detector: "scan".into(),
            gid: 2001,
            sid: 1,
            rev: 1,
            msg: "m".into(),
            category: String::new(),
            severity: Severity::HIGH,
            src: None,
            sport: None,
            dst: None,
            dport: None,
            protocol,
            community_id: None,
            details: details.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn scan_details_give_level_and_handshake() {
        let e = Evidence::from_alert(&alert(
            json!({"danger_level": 3, "scan_types": ["CONNECT"], "source_packets": 40}),
            Some(6),
        ));
        assert_eq!(e.danger_level, Some(3));
        assert!(e.handshake && !e.udp_only && !e.rule_block);
        assert_eq!(e.spoofable(), None);
        let syn = Evidence::from_alert(&alert(
            json!({"danger_level": 4, "scan_types": ["SYN"], "source_packets": 900}),
            Some(6),
        ));
        assert_eq!(
            syn.spoofable(),
            Some("the source completed no TCP handshake")
        );
        let udp = Evidence::from_alert(&alert(
            json!({"scan_types": ["UDP"], "source_packets": 9}),
            Some(17),
        ));
        assert_eq!(udp.spoofable(), Some("UDP only"));
        let one = Evidence::from_alert(&alert(json!({"established": true, "packets": 1}), Some(6)));
        assert_eq!(one.spoofable(), Some("a single packet"));
    }

    #[test]
    fn metadata_block_tag_in_either_shape() {
        let m = json!({"metadata": {"block": ["yes"], "policy": ["x"]}});
        assert!(Evidence::from_alert(&alert(m, Some(6))).rule_block);
        let m = json!({"metadata": ["policy balanced", "block 1h"]});
        assert!(Evidence::from_alert(&alert(m, Some(6))).rule_block);
        let m = json!({"metadata": [["blocked_by", "x"]]});
        assert!(!Evidence::from_alert(&alert(m, Some(6))).rule_block);
    }
}
