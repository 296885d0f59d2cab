//! The automatic responder's decisions on scan and signature alerts, over
//! a firewall that keeps its set in memory (the kernel side is tested in
//! respond_netns.rs).

use serde_json::json;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tripline_act::respond::{
    AutoBlocker, BlockDuration, Blocker, Firewall, Member, Protected, RespondConfig, RespondError,
    Safeguard,
};
use tripline_core::{Alert, HomeNets, Severity, Timestamp};

/// The set as the kernel would hold it: address and timeout.
type Set = Arc<Mutex<Vec<(IpAddr, BlockDuration)>>>;

struct MemoryFirewall(Set);

impl Firewall for MemoryFirewall {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn install(&mut self) -> Result<(), RespondError> {
        Ok(())
    }
    fn block(&mut self, addr: IpAddr, d: BlockDuration) -> Result<(), RespondError> {
        let mut s = self.0.lock().unwrap();
        s.retain(|(a, _)| *a != addr);
        s.push((addr, d));
        Ok(())
    }
    fn unblock(&mut self, addr: IpAddr) -> Result<bool, RespondError> {
        let mut s = self.0.lock().unwrap();
        let before = s.len();
        s.retain(|(a, _)| *a != addr);
        Ok(s.len() < before)
    }
    fn members(&mut self) -> Result<Vec<Member>, RespondError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(addr, d)| Member {
                addr: *addr,
                remaining: d.timeout(),
            })
            .collect())
    }
    fn uninstall(&mut self) -> Result<(), RespondError> {
        self.0.lock().unwrap().clear();
        Ok(())
    }
}

fn responder(config: RespondConfig) -> (AutoBlocker, Set) {
    let set: Set = Arc::default();
    let protected = Protected {
        home_nets: HomeNets::parse(&["192.168.1.0/24"]).unwrap(),
        ..Protected::default()
    };
    let guard = Safeguard::new(protected, config.limits());
    let blocker = Blocker::new(Box::new(MemoryFirewall(set.clone())), guard);
    (AutoBlocker::new(config, blocker), set)
}

fn scan(src: &str, level: u8, types: &[&str]) -> Alert {
    Alert {
        ts: Timestamp(0),
        detector: "scan".into(),
        gid: 2001,
        sid: 1,
        rev: 1,
        msg: format!("SCAN port scan by {src}"),
        category: String::new(),
        severity: Severity::HIGH,
        src: Some(src.parse().unwrap()),
        sport: None,
        dst: Some("192.168.1.5".parse().unwrap()),
        dport: None,
        protocol: Some(6),
        community_id: None,
        details: json!({"danger_level": level, "scan_types": types, "source_packets": 40})
            .as_object()
            .cloned()
            .unwrap(),
    }
}

const SEC: i64 = 1_000_000_000;

#[test]
fn levels_durations_extension_and_safety() {
    let (mut auto, set) = responder(RespondConfig::default());
    let t = Timestamp(1_700_000_000 * SEC);
    // Level 2 is below the default threshold of 3.
    assert!(
        auto.on_alert(&scan("203.0.113.9", 2, &["CONNECT"]), t)
            .is_none()
    );
    // Level 3 with completed handshakes: blocked for the level-3 duration.
    let rec = auto
        .on_alert(&scan("203.0.113.9", 3, &["CONNECT"]), t)
        .unwrap();
    assert!(
        rec.automatic && rec.reason.contains("danger level 3"),
        "{rec:?}"
    );
    assert_eq!(rec.expires, Some(t.add_nanos(3600 * SEC)));
    assert_eq!(
        set.lock().unwrap()[0].1,
        BlockDuration::For(Duration::from_secs(3600))
    );
    // Same level again: already blocked; a higher level extends.
    assert!(
        auto.on_alert(&scan("203.0.113.9", 3, &["CONNECT"]), t)
            .is_none()
    );
    let ext = auto
        .on_alert(&scan("203.0.113.9", 5, &["CONNECT"]), t)
        .unwrap();
    assert_eq!(ext.expires, Some(t.add_nanos(86_400 * SEC)));
    assert_eq!(set.lock().unwrap().len(), 1);
    // A SYN scan (no handshake) and a home source are refused.
    assert!(
        auto.on_alert(&scan("198.51.100.7", 5, &["SYN"]), t)
            .is_none()
    );
    assert!(
        auto.on_alert(&scan("192.168.1.77", 5, &["CONNECT"]), t)
            .is_none()
    );
    let m = auto.metrics();
    assert_eq!(
        (m.blocked, m.extended, m.already_blocked, m.not_asked),
        (1, 1, 1, 1)
    );
    assert_eq!(m.refused.get("spoofable"), Some(&1));
    assert_eq!(m.refused.get("home_net"), Some(&1));
    assert_eq!(set.lock().unwrap().len(), 1);
}

#[test]
fn rule_block_tag_and_per_minute_cap() {
    let config = RespondConfig {
        max_per_minute: 3,
        ..RespondConfig::default()
    };
    let (mut auto, set) = responder(config);
    let t = Timestamp(1_700_000_000 * SEC);
    let mut sig = scan("203.0.113.50", 0, &[]);
    sig.detector = "signature".into();
    sig.details = json!({"metadata": {"block": ["yes"]}, "established": true, "packets": 6})
        .as_object()
        .cloned()
        .unwrap();
    sig.details.remove("danger_level");
    let rec = auto.on_alert(&sig, t).unwrap();
    assert_eq!(rec.expires, Some(t.add_nanos(3600 * SEC)));
    // 20 scanners within a second: only 2 more fit in this minute.
    for i in 0..20 {
        auto.on_alert(&scan(&format!("203.0.113.{}", 100 + i), 4, &["CONNECT"]), t);
    }
    assert_eq!(set.lock().unwrap().len(), 3);
    assert_eq!(auto.metrics().refused.get("rate_limited"), Some(&18));
    // A minute later there is room again.
    let later = t.add_nanos(61 * SEC);
    assert!(
        auto.on_alert(&scan("203.0.113.200", 4, &["CONNECT"]), later)
            .is_some()
    );
}
