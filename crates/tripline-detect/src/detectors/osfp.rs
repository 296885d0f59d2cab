//! The `osfp` detector: passive OS fingerprinting of SYNs and SYN+ACKs with
//! p0f v3 signatures, from captures and from firewall lines with TCP
//! options. It keeps one guess per source (bounded, least-recently-seen
//! evicted) for profiles and raises no alerts unless asked to report each
//! new or changed guess.

use crate::detectors::{DetectContext, Detector};
use crate::engine::EngineOutput;
use crate::lru::LruMap;
use crate::osfp::{Database, Direction, MatchQuality, Observed, find_match};
use std::any::Any;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tripline_core::{Alert, Record, Severity, Timestamp};

/// Where Debian's p0f package installs its database.
pub const DEFAULT_DATABASE: &str = "/etc/p0f/p0f.fp";

/// Generator id of osfp records.
const GID: u32 = 1_000_007;

/// `[osfp]` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsfpConfig {
    /// Run the detector. Default true.
    pub enabled: bool,
    /// The `p0f.fp` to load; `None` means [`DEFAULT_DATABASE`].
    pub database: Option<PathBuf>,
    /// Most sources whose guess is kept. Default 65536.
    pub max_sources: usize,
    /// Most SYN MSS values remembered for matching SYN+ACKs. Default 16384.
    pub max_pending_syns: usize,
    /// Raise a low-severity alert when a source gets its first guess or its
    /// guess changes to another label. Default false.
    pub alert_new_label: bool,
}

impl Default for OsfpConfig {
    fn default() -> Self {
        OsfpConfig {
            enabled: true,
            database: None,
            max_sources: 65_536,
            max_pending_syns: 16_384,
            alert_new_label: false,
        }
    }
}

/// The current guess for one source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OsGuess {
    /// `name flavor` as p0f prints it (`Linux 2.2.x-3.x`, `NMap SYN scan`).
    pub label: Arc<str>,
    /// True when the label is a user-land tool (p0f's `app`), not an OS.
    pub tool: bool,
    /// Exact, generic or fuzzy.
    pub quality: MatchQuality,
    /// Hops from the observer (an upper bound for random-TTL tools).
    pub distance: u8,
    /// From a SYN (client) or a SYN+ACK (server).
    pub direction: Direction,
    /// First time this label was seen for the source.
    pub first_seen: Timestamp,
    /// Latest SYN or SYN+ACK of the source.
    pub last_seen: Timestamp,
    /// SYNs and SYN+ACKs of the source that matched a signature.
    pub observations: u64,
}

impl OsGuess {
    /// The guess as alert details, in p0f's words: `label` (its `os` or
    /// `app` line), `kind` (`os` or `app`), `quality` (`exact`, `generic`
    /// or `fuzzy`, p0f's `params` for the match), `distance` (its `dist`)
    /// and `direction` (`syn` or `syn+ack`).
    pub fn to_details(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("label".into(), serde_json::Value::from(&*self.label));
        m.insert(
            "kind".into(),
            serde_json::Value::from(if self.tool { "app" } else { "os" }),
        );
        m.insert(
            "quality".into(),
            serde_json::Value::from(quality_name(self.quality)),
        );
        m.insert("distance".into(), serde_json::Value::from(self.distance));
        m.insert(
            "direction".into(),
            serde_json::Value::from(match self.direction {
                Direction::Request => "syn",
                Direction::Response => "syn+ack",
            }),
        );
        m
    }
}

/// The key under which [`OsfpDetector::annotate`] stores a guess.
pub const OS_GUESS_KEY: &str = "os_guess";

/// p0f's word for how a signature fit.
fn quality_name(q: MatchQuality) -> &'static str {
    match q {
        MatchQuality::Exact => "exact",
        MatchQuality::Generic => "generic",
        MatchQuality::Fuzzy => "fuzzy",
    }
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OsfpStats {
    /// SYNs and SYN+ACKs looked at.
    pub fingerprinted: u64,
    /// Of those, how many matched a signature.
    pub matched: u64,
    /// Sources evicted from the guess map.
    pub evicted: u64,
    /// Signatures loaded.
    pub signatures: usize,
    /// Malformed database lines skipped.
    pub bad_database_lines: u32,
}

/// Why no database is loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadProblem {
    /// The path tried.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

/// The detector; see the module documentation.
pub struct OsfpDetector {
    config: OsfpConfig,
    db: Option<Database>,
    problem: Option<LoadProblem>,
    guesses: LruMap<IpAddr, OsGuess>,
    /// SYN MSS by (client, server, client port, server port), for SYN+ACKs.
    syn_mss: LruMap<(IpAddr, IpAddr, u16, u16), u16>,
    stats: OsfpStats,
}

impl OsfpDetector {
    /// Loads the configured database; a missing or unreadable file leaves
    /// the detector inert with [`OsfpDetector::load_problem`] set.
    pub fn new(config: OsfpConfig) -> Self {
        let path = config
            .database
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE));
        let (db, problem) = match load(&path) {
            Ok(db) => (Some(db), None),
            Err(message) => (None, Some(LoadProblem { path, message })),
        };
        Self::build(config, db, problem)
    }

    /// A detector using an already parsed database.
    pub fn with_database(config: OsfpConfig, db: Database) -> Self {
        Self::build(config, Some(db), None)
    }

    fn build(config: OsfpConfig, db: Option<Database>, problem: Option<LoadProblem>) -> Self {
        let stats = OsfpStats {
            signatures: db
                .as_ref()
                .map_or(0, |d| d.requests.len() + d.responses.len()),
            bad_database_lines: db.as_ref().map_or(0, |d| d.bad_lines),
            ..Default::default()
        };
        OsfpDetector {
            guesses: LruMap::new(config.max_sources),
            syn_mss: LruMap::new(config.max_pending_syns),
            config,
            db,
            problem,
            stats,
        }
    }

    /// Why the detector is off (no database), for the one warning.
    pub fn load_problem(&self) -> Option<&LoadProblem> {
        self.problem.as_ref()
    }

    /// The current guess for a source.
    pub fn guess(&self, addr: IpAddr) -> Option<&OsGuess> {
        self.guesses.peek(&addr)
    }

    /// Every source with a guess (most recent first).
    pub fn guesses(&self) -> impl Iterator<Item = (&IpAddr, &OsGuess)> {
        self.guesses.iter()
    }

    /// Attaches the current guess for the alert's source as `os_guess` in
    /// its details (see [`OsGuess::to_details`]), so scan, tripwire,
    /// bruteforce and signature alerts say what kind of machine knocked.
    /// Leaves osfp's own alerts, alerts without a source, sources without a
    /// guess and alerts that already carry `os_guess` unchanged.
    pub fn annotate(&self, alert: &mut Alert) {
        if alert.detector == self.name() || alert.details.contains_key(OS_GUESS_KEY) {
            return;
        }
        let Some(g) = alert.src.and_then(|src| self.guesses.peek(&src)) else {
            return;
        };
        alert.details.insert(
            OS_GUESS_KEY.to_string(),
            serde_json::Value::Object(g.to_details()),
        );
    }

    /// Counters.
    pub fn stats(&self) -> OsfpStats {
        OsfpStats {
            evicted: self.guesses.evicted(),
            ..self.stats
        }
    }

    /// Fingerprints one header; returns the label and distance it matched
    /// (`None` for non-SYNs, no database, or no fitting signature).
    pub fn observe(
        &mut self,
        ts: Timestamp,
        h: &tripline_core::Header,
        payload_len: Option<usize>,
    ) -> Option<(Arc<str>, u8, bool)> {
        let db = self.db.as_ref()?;
        let o = Observed::from_header(h, payload_len)?;
        let tcp = h.tcp()?;
        self.stats.fingerprinted += 1;
        let peer_mss = match o.direction {
            Direction::Request => {
                *self
                    .syn_mss
                    .get_or_insert_with(&(h.src, h.dst, tcp.sport, tcp.dport), || 0) = o.mss;
                None
            }
            Direction::Response => self
                .syn_mss
                .peek(&(h.dst, h.src, tcp.dport, tcp.sport))
                .copied(),
        };
        let m = find_match(db, &o, peer_mss)?;
        self.stats.matched += 1;
        let label = m.label.display.clone();
        let tool = m.label.is_tool();
        let (quality, distance) = (m.quality, m.distance);
        let mut is_new = false;
        let g = self.guesses.get_or_insert_with(&h.src, || {
            is_new = true;
            OsGuess {
                label: label.clone(),
                tool,
                quality,
                distance,
                direction: o.direction,
                first_seen: ts,
                last_seen: ts,
                observations: 0,
            }
        });
        g.observations += 1;
        g.last_seen = ts;
        if *g.label != *label && quality >= g.quality {
            is_new = true;
            g.label = label.clone();
            g.tool = tool;
            g.first_seen = ts;
        }
        if *g.label == *label {
            g.quality = quality;
            g.distance = distance;
            g.direction = o.direction;
        }
        Some((label, distance, is_new))
    }
}

/// Reads and parses a database file, skipping malformed lines.
fn load(path: &Path) -> Result<Database, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (db, _errors) = Database::parse_lenient(&text, 0);
    if db.requests.is_empty() && db.responses.is_empty() {
        return Err("no TCP signatures in the file".to_string());
    }
    Ok(db)
}

impl std::fmt::Debug for OsfpDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OsfpDetector")
            .field("sources", &self.guesses.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Detector for OsfpDetector {
    fn name(&self) -> &'static str {
        "osfp"
    }

    fn on_record(
        &mut self,
        rec: &Record<'_>,
        _ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        let (ts, header, payload_len) = match rec {
            Record::Packet(p) => (p.ts, &p.header, Some(p.payload.len())),
            Record::Firewall(f) => (f.ts, &f.header, None),
            _ => return,
        };
        let Some((label, distance, is_new)) = self.observe(ts, header, payload_len) else {
            return;
        };
        if !(is_new && self.config.alert_new_label) {
            return;
        }
        let mut details = serde_json::Map::new();
        details.insert("os".into(), serde_json::Value::from(&*label));
        details.insert("distance".into(), serde_json::Value::from(distance));
        out.alert(Alert {
            ts,
            detector: "osfp".to_string(),
            gid: GID,
            sid: 1,
            rev: 1,
            msg: format!("OS fingerprint: {label}"),
            category: "Passive OS fingerprint".to_string(),
            severity: Severity::LOW,
            src: Some(header.src),
            sport: Some(header.sport()),
            dst: Some(header.dst),
            dport: Some(header.dport()),
            protocol: Some(header.protocol),
            community_id: None,
            details,
        });
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use tripline_core::{
        AuthLog, Connection, DnsLog, Header, HomeNets, IpFields, OptionBytes, TcpFields, TcpFlags,
        Transport, ip_proto,
    };

    const DB: &str = "\
classes = win,unix,other
[tcp:request]
label = s:unix:Linux:3.11 and newer
sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0
label = s:!:NMap:SYN scan
sig   = *:64-:0:1460:1024,0:mss::0
[tcp:response]
label = s:unix:Linux:3.x
sig   = *:64:0:*:mss*10,0:mss::0
";

    const LINUX_OPTS: [u8; 20] = [
        2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 10,
    ];

    fn header(src: u8, flags: u8, window: u16, opts: &[u8], df: bool) -> Header {
        Header {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, src)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 1, 1)),
            protocol: ip_proto::TCP,
            ip: IpFields {
                ttl: 60,
                df,
                id: 7,
                total_len: 40 + opts.len() as u16,
                ..Default::default()
            },
            transport: Transport::Tcp(TcpFields {
                sport: 40000,
                dport: 80,
                window,
                flags: TcpFlags(flags),
                seq: Some(1),
                ack: Some(if flags & TcpFlags::ACK != 0 { 2 } else { 0 }),
                options: OptionBytes::new(opts).unwrap(),
                ..Default::default()
            }),
        }
    }

    #[derive(Default)]
    struct Alerts(Vec<Alert>);
    impl EngineOutput for Alerts {
        fn connection(&mut self, _c: Connection) {}
        fn dns(&mut self, _d: DnsLog) {}
        fn auth(&mut self, _a: AuthLog) {}
        fn alert(&mut self, a: Alert) {
            self.0.push(a);
        }
    }

    fn detector(config: OsfpConfig) -> OsfpDetector {
        OsfpDetector::with_database(config, Database::parse(DB).unwrap())
    }

    #[test]
    fn missing_database_is_inert_with_a_problem() {
        let mut d = OsfpDetector::new(OsfpConfig {
            database: Some(PathBuf::from("/nonexistent/p0f.fp")),
            ..Default::default()
        });
        assert_eq!(
            d.load_problem().map(|p| p.path.clone()),
            Some(PathBuf::from("/nonexistent/p0f.fp"))
        );
        let h = header(1, TcpFlags::SYN, 29200, &LINUX_OPTS, true);
        assert!(d.observe(Timestamp(1), &h, Some(0)).is_none());
        assert_eq!(d.stats().fingerprinted, 0);
    }

    #[test]
    fn guesses_are_kept_per_source_and_bounded() {
        let mut d = detector(OsfpConfig {
            max_sources: 2,
            ..Default::default()
        });
        for src in 1..=3 {
            let h = header(src, TcpFlags::SYN, 29200, &LINUX_OPTS, true);
            let (label, dist, new) = d.observe(Timestamp(src as i64), &h, Some(0)).unwrap();
            assert_eq!((&*label, dist, new), ("Linux 3.11 and newer", 4, true));
        }
        let first = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        let third = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 3));
        assert!(d.guess(first).is_none());
        let g = d.guess(third).unwrap();
        assert_eq!(
            (g.quality, g.direction),
            (MatchQuality::Exact, Direction::Request)
        );
        assert_eq!(d.stats().evicted, 1);
        // A later tool SYN from the same source replaces the guess (same
        // quality), a non-matching SYN leaves it.
        let nmap = header(3, TcpFlags::SYN, 1024, &[2, 4, 5, 180], false);
        assert!(d.observe(Timestamp(9), &nmap, Some(0)).unwrap().2);
        assert!(d.guess(third).unwrap().tool);
        let odd = header(3, TcpFlags::SYN, 1000, &[2, 4, 5, 180], false);
        assert!(d.observe(Timestamp(10), &odd, Some(0)).is_none());
        assert_eq!(&*d.guess(third).unwrap().label, "NMap SYN scan");
    }

    #[test]
    fn syn_ack_uses_the_peer_mss() {
        let mut d = detector(OsfpConfig::default());
        // Client SYN with MSS 1000; server SYN+ACK MSS 1460, window 10*1000.
        let mut syn = header(1, TcpFlags::SYN, 29200, &[2, 4, 3, 232], true);
        syn.ip.ttl = 64;
        d.observe(Timestamp(1), &syn, Some(0));
        let mut sa = header(
            9,
            TcpFlags::SYN | TcpFlags::ACK,
            10_000,
            &[2, 4, 5, 180],
            false,
        );
        sa.src = syn.dst;
        sa.dst = syn.src;
        if let Transport::Tcp(t) = &mut sa.transport {
            (t.sport, t.dport) = (80, 40000);
        }
        let (label, _, _) = d.observe(Timestamp(2), &sa, Some(0)).unwrap();
        assert_eq!(&*label, "Linux 3.x");
        assert_eq!(d.guess(syn.dst).unwrap().direction, Direction::Response);
    }

    #[test]
    fn alerts_only_when_asked_and_once_per_label() {
        let home = HomeNets::default();
        let ctx = DetectContext {
            home_nets: &home,
            now: Timestamp(0),
            os: None,
        };
        for (alert_new_label, want) in [(false, 0), (true, 1)] {
            let mut d = detector(OsfpConfig {
                alert_new_label,
                ..Default::default()
            });
            let mut out = Alerts::default();
            for i in 0..3 {
                let h = header(1, TcpFlags::SYN, 29200, &LINUX_OPTS, true);
                let rec = Record::Packet(tripline_core::Packet {
                    ts: Timestamp(i),
                    header: h,
                    payload: &[],
                    frame: &[],
                    wire_len: 74,
                    link: Default::default(),
                });
                d.on_record(&rec, &ctx, &mut out);
            }
            assert_eq!(out.0.len(), want);
            assert_eq!(d.stats().matched, 3);
        }
    }

    fn alert_from(src: IpAddr, detector: &str) -> Alert {
        Alert {
            ts: Timestamp(5),
            detector: detector.to_string(),
            gid: 1,
            sid: 1,
            rev: 1,
            msg: "test".to_string(),
            category: String::new(),
            severity: Severity::MEDIUM,
            src: Some(src),
            sport: None,
            dst: None,
            dport: None,
            protocol: None,
            community_id: None,
            details: serde_json::Map::new(),
        }
    }

    #[test]
    fn annotate_attaches_the_guess_of_known_sources_only() {
        let mut d = detector(OsfpConfig::default());
        let h = header(1, TcpFlags::SYN, 29200, &LINUX_OPTS, true);
        d.observe(Timestamp(1), &h, Some(0)).unwrap();
        let mut scan = alert_from(h.src, "scan");
        d.annotate(&mut scan);
        let g = scan.details[OS_GUESS_KEY].as_object().unwrap();
        assert_eq!(g["label"], "Linux 3.11 and newer");
        assert_eq!(g["kind"], "os");
        assert_eq!(g["quality"], "exact");
        assert_eq!(g["distance"], 4);
        assert_eq!(g["direction"], "syn");
        // Unknown source, osfp's own alert, and an existing guess: untouched.
        let mut stranger = alert_from(IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)), "scan");
        d.annotate(&mut stranger);
        assert!(stranger.details.is_empty());
        let mut own = alert_from(h.src, "osfp");
        d.annotate(&mut own);
        assert!(own.details.is_empty());
        let mut kept = alert_from(h.src, "signature");
        kept.details.insert(OS_GUESS_KEY.into(), "given".into());
        d.annotate(&mut kept);
        assert_eq!(kept.details[OS_GUESS_KEY], "given");
    }
}
