//! The TOML configuration: one file, every key optional with a documented default.
//!
//! Search order: `--config PATH`, `$TRIPLINE_CONFIG`,
//! `$XDG_CONFIG_HOME/tripline/tripline.toml` (or `~/.config/...`),
//! `/etc/tripline/tripline.toml`. No file at all means all defaults.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use tripline_core::{Cidr, HomeNets};

/// The whole configuration file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The home network prefixes (IPv4 and IPv6). Default: the private
    /// ranges 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 and fc00::/7.
    pub home_net: Vec<Cidr>,
    /// Where results are kept.
    pub store: StoreSection,
    /// How inputs are read.
    pub input: InputSection,
    /// Flow table sizing and timeouts.
    pub flow: FlowSection,
    /// Connection naming (DNS), the allow list and blocked names.
    pub connwatch: ConnwatchSection,
    /// The scan detector.
    pub scan: ScanSection,
    /// Passive OS fingerprinting (p0f signatures).
    pub osfp: OsfpSection,
    /// The tripwire detector: trap ports and hosts.
    pub tripwire: TripwireSection,
    /// The bruteforce detector: login guessing.
    pub bruteforce: BruteforceSection,
    /// Blocking: `tripline block` and automatic responses (off by default).
    pub respond: tripline_act::respond::RespondConfig,
    /// Notifications: email, syslog, webhook, exec, with noise control.
    pub notify: tripline_act::notify::NotifyConfig,
    /// The filter detector: named tcpdump expressions.
    pub filter: FilterSection,
    /// The report site and `tripline serve`.
    pub web: crate::commands::WebSection,
    /// The signature detector: Suricata/Snort rule files.
    pub signatures: crate::signatures::SignatureSection,
}

/// `[filter]`: the analyst's named tcpdump expressions, run on every packet.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterSection {
    /// Run the filter detector (it is idle without filters). Default true.
    pub enabled: bool,
    /// A filters file: `name: expression` per line, `#` comments. Default none.
    pub file: Option<PathBuf>,
    /// More filters, `name = "expression"` (after the file's). Default none.
    pub expressions: std::collections::BTreeMap<String, String>,
    /// Seconds over which matches of one (filter, source, destination, port)
    /// make one alert with a count. Default 60.
    pub window: u64,
    /// Most (filter, source, destination, port) keys held. Default 65536.
    pub max_keys: usize,
    /// Alert severity, 1 (high) to 3 (low). Default 2.
    pub severity: u8,
}

impl Default for FilterSection {
    fn default() -> Self {
        let d = tripline_detect::detectors::filter::FilterConfig::default();
        FilterSection {
            enabled: d.enabled,
            file: None,
            expressions: Default::default(),
            window: d.window.as_secs(),
            max_keys: d.max_keys,
            severity: d.severity.0,
        }
    }
}

impl FilterSection {
    /// The detector's settings: the file's filters, then the table's. Bad
    /// lines (FILE:LINE), unreadable files and expressions libpcap rejects
    /// are logged as warnings and left out; the rest still run.
    pub fn detector_config(&self) -> tripline_detect::detectors::filter::FilterConfig {
        use tripline_detect::detectors::filter::{
            CompiledFilter, FilterConfig, NamedFilter, load_filter_file,
        };
        let mut filters = Vec::new();
        if let Some(path) = &self.file {
            match load_filter_file(path) {
                Ok((list, errors)) => {
                    for e in errors {
                        tracing::warn!("filters: {e}; line skipped");
                    }
                    filters = list;
                }
                Err(e) => tracing::warn!("filters: {e}"),
            }
        }
        for (name, expression) in &self.expressions {
            if filters.iter().any(|f: &NamedFilter| &f.name == name) {
                tracing::warn!(
                    "filters: [filter.expressions] `{name}` is also in the file; the file's is kept"
                );
                continue;
            }
            filters.push(NamedFilter::from_config(name, expression));
        }
        filters.retain(|f| match CompiledFilter::new(&f.expression) {
            Ok(_) => true,
            Err(msg) => {
                tracing::warn!("filters: {}: filter `{}` skipped: {msg}", f.origin, f.name);
                false
            }
        });
        FilterConfig {
            enabled: self.enabled,
            filters,
            window: std::time::Duration::from_secs(self.window.max(1)),
            max_keys: self.max_keys.max(1),
            severity: tripline_core::Severity(self.severity.clamp(1, 3)),
        }
    }
}

/// `[osfp]`: passive OS fingerprinting with p0f v3 signatures.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OsfpSection {
    /// Run the osfp detector. Default true (inert, with one warning, when
    /// the database is missing).
    pub enabled: bool,
    /// The p0f v3 `p0f.fp`. Default `/etc/p0f/p0f.fp` (Debian's p0f).
    pub database: Option<std::path::PathBuf>,
    /// Most sources whose OS guess is kept. Default 65536.
    pub max_sources: usize,
    /// A low-severity alert when a source's OS guess is new or changes. Default false.
    pub alert_new_label: bool,
}

impl Default for OsfpSection {
    fn default() -> Self {
        let d = tripline_detect::detectors::osfp::OsfpConfig::default();
        OsfpSection {
            enabled: d.enabled,
            database: d.database,
            max_sources: d.max_sources,
            alert_new_label: d.alert_new_label,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            home_net: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]
                .iter()
                .map(|s| s.parse().expect("built-in prefix"))
                .collect(),
            store: StoreSection::default(),
            input: InputSection::default(),
            flow: FlowSection::default(),
            connwatch: ConnwatchSection::default(),
            scan: ScanSection::default(),
            osfp: OsfpSection::default(),
            tripwire: TripwireSection::default(),
            bruteforce: BruteforceSection::default(),
            respond: tripline_act::respond::RespondConfig::default(),
            notify: tripline_act::notify::NotifyConfig::default(),
            filter: FilterSection::default(),
            web: Default::default(),
            signatures: Default::default(),
        }
    }
}

/// `[scan]`: port scans, sweeps and danger levels (psad-compatible defaults).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScanSection {
    /// Run the scan detector. Default true.
    pub enabled: bool,
    /// Seconds of silence after which a source starts afresh (psad
    /// SCAN_TIMEOUT). Default 3600.
    pub scan_timeout: u64,
    /// Distinct TCP+UDP ports on one host that make a port scan. Default 5.
    pub min_ports: u32,
    /// Distinct IP protocols on one host that make a protocol scan. Default 5.
    pub min_protocols: u32,
    /// Hosts probed on the same port that make a sweep (2 to 8). Default 3.
    pub sweep_min_hosts: usize,
    /// ...within this many seconds. Default 2.
    pub sweep_window: f64,
    /// Report bare-ACK probes (psad ignores them by default). Default false.
    pub detect_ack: bool,
    /// Packets for danger levels 1-5. Default psad's 5, 15, 150, 1500, 10000.
    pub danger_packets: [u64; 5],
    /// Hosts hit for danger levels 1-5. Default 10, 20, 50, 100, 500.
    pub danger_hosts: [u64; 5],
    /// psad's auto_dl: address or prefix = fixed level (0 ignores the source).
    pub auto_dl: std::collections::BTreeMap<String, u8>,
    /// Most sources tracked (least recently seen evicted). Default 500000.
    pub max_sources: usize,
    /// Memory budget of scan state in MiB. Default 256.
    pub max_memory_mib: usize,
}

impl Default for ScanSection {
    fn default() -> Self {
        let d = tripline_detect::ScanConfig::default();
        ScanSection {
            enabled: d.enabled,
            scan_timeout: d.scan_timeout.as_secs(),
            min_ports: d.min_ports,
            min_protocols: d.min_protocols,
            sweep_min_hosts: d.sweep_min_hosts,
            sweep_window: d.sweep_window.as_secs_f64(),
            detect_ack: d.detect_ack,
            danger_packets: d.danger.packets,
            danger_hosts: d.danger.hosts,
            auto_dl: Default::default(),
            max_sources: d.max_sources,
            max_memory_mib: d.max_memory >> 20,
        }
    }
}

impl ScanSection {
    /// The `auto_dl` entries, parsed.
    pub fn auto_dl(&self) -> Result<Vec<tripline_detect::detectors::scan::danger::DangerOverride>> {
        self.auto_dl
            .iter()
            .map(|(k, level)| {
                if *level > 5 {
                    bail!("scan.auto_dl: level of {k} must be 0 to 5");
                }
                let prefix: Cidr = k.parse().with_context(|| format!("scan.auto_dl: {k}"))?;
                Ok(tripline_detect::detectors::scan::danger::DangerOverride {
                    prefix,
                    level: *level,
                })
            })
            .collect()
    }

    fn validate(&self) -> Result<()> {
        self.auto_dl()?;
        if self.scan_timeout == 0 || self.max_sources == 0 || self.max_memory_mib == 0 {
            bail!("scan.scan_timeout, scan.max_sources and scan.max_memory_mib must be at least 1");
        }
        if !(2..=8).contains(&self.sweep_min_hosts) {
            bail!("scan.sweep_min_hosts must be 2 to 8");
        }
        if !(self.sweep_window.is_finite() && self.sweep_window > 0.0) {
            bail!("scan.sweep_window must be a positive number of seconds");
        }
        let t = tripline_detect::detectors::scan::danger::DangerThresholds {
            packets: self.danger_packets,
            hosts: self.danger_hosts,
        };
        if !t.is_valid() {
            bail!("scan.danger_packets and scan.danger_hosts must not decrease");
        }
        Ok(())
    }
}

/// `[tripwire]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TripwireSection {
    /// Run the tripwire detector. Default true.
    pub enabled: bool,
    /// TCP ports nobody should use: any inbound contact is an alert.
    /// Default 23, 111, 135, 139, 143, 445, 513, 1433, 3306, 3389.
    pub tcp_ports: Vec<u16>,
    /// UDP trap ports. Default 111, 135, 137, 138, 139.
    pub udp_ports: Vec<u16>,
    /// Addresses nothing legitimate talks to: any contact is an alert.
    pub trap_hosts: Vec<Cidr>,
    /// Also alert on trap-port contacts between home addresses. Default false.
    pub internal: bool,
    /// Seconds within which a repeated contact with the same target is
    /// counted, not re-alerted. Default 600.
    pub repeat_window: u64,
    /// Most sources remembered. Default 65536.
    pub max_sources: usize,
    /// Ports `tripline trap` listens on when `--ports` is not given
    /// (`"23"`, `"2323/tcp"`, `"161/udp"`).
    pub listen: Vec<String>,
}

impl Default for TripwireSection {
    fn default() -> Self {
        let d = tripline_detect::detectors::tripwire::TripwireConfig::default();
        TripwireSection {
            enabled: d.enabled,
            tcp_ports: d.tcp_ports,
            udp_ports: d.udp_ports,
            trap_hosts: d.trap_hosts,
            internal: d.internal,
            repeat_window: d.repeat_window.as_secs(),
            max_sources: d.max_sources,
            listen: Vec::new(),
        }
    }
}

/// `[bruteforce]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BruteforceSection {
    /// Run the bruteforce detector. Default true.
    pub enabled: bool,
    /// Failed logins from one source within `find_time` that make guessing
    /// (fail2ban's maxretry). Default 5.
    pub max_failures: u32,
    /// The window in seconds (fail2ban's findtime). Default 600.
    pub find_time: u64,
    /// Sources failing for one account within `find_time` that make
    /// distributed guessing. Default 5.
    pub distributed_min_sources: u32,
    /// Failures before a success that make the success a break-in. Default 5.
    pub break_in_min_failures: u32,
    /// Most sources tracked. Default 100000.
    pub max_sources: usize,
    /// Most accounts tracked. Default 50000.
    pub max_accounts: usize,
}

impl Default for BruteforceSection {
    fn default() -> Self {
        let d = tripline_detect::detectors::bruteforce::BruteforceConfig::default();
        BruteforceSection {
            enabled: d.enabled,
            max_failures: d.max_failures,
            find_time: d.find_time.as_secs(),
            distributed_min_sources: d.distributed_min_sources,
            break_in_min_failures: d.break_in_min_failures,
            max_sources: d.max_sources,
            max_accounts: d.max_accounts,
        }
    }
}

/// `[store]`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// SQLite database file. Default: `$XDG_DATA_HOME/tripline/tripline.db`.
    pub path: Option<PathBuf>,
}

/// `[input]`
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputSection {
    /// Year for syslog lines that carry none. Default: from each file's
    /// modification time, rolling back across New Year.
    pub year: Option<i32>,
    /// Time zone of log timestamps without an offset (an IANA name such as
    /// `Europe/Berlin`). Default: UTC.
    pub tz: Option<String>,
    /// Boot time (Unix seconds) that turns raw `dmesg` uptime stamps into
    /// wall-clock time. Default: none (uptime is kept as seconds since the epoch).
    pub boot_time: Option<f64>,
}

/// `[flow]`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowSection {
    /// Most flows tracked at once; the least recently seen is evicted. Default 262144.
    pub max_flows: usize,
    /// Seconds without a packet before a TCP flow ends. Default 300.
    pub tcp_idle_timeout: u64,
    /// Seconds without a packet before a UDP flow ends. Default 60.
    pub udp_idle_timeout: u64,
    /// Seconds without a packet before an ICMP flow ends. Default 30.
    pub icmp_idle_timeout: u64,
    /// Seconds after which a long flow is reported and continues. Default 3600.
    pub active_timeout: u64,
}

impl Default for FlowSection {
    fn default() -> Self {
        FlowSection {
            max_flows: 262_144,
            tcp_idle_timeout: 300,
            udp_idle_timeout: 60,
            icmp_idle_timeout: 30,
            active_timeout: 3600,
        }
    }
}

/// `[connwatch]`: every connection across the home boundary with its DNS
/// name, judged against the allow list (`[[connwatch.allow]]` tables).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnwatchSection {
    /// Run the connwatch detector. Default true.
    pub enabled: bool,
    /// Seconds an answer without a TTL (dnsmasq logs) names connections. Default 300.
    pub dns_ttl: u64,
    /// Seconds past its TTL an answer still names a connection. Default 2.
    pub dns_grace: u64,
    /// Name a connection from another client's lookup when its own client
    /// made none (dual-stack hosts, DNS proxies). Default true.
    pub dns_any_client: bool,
    /// Most (client, address) DNS histories kept. Default 262144.
    pub dns_max_pairs: usize,
    /// Most address DNS histories (any client) kept. Default 131072.
    pub dns_max_addresses: usize,
    /// Names reported as blocked: exact, `*.example.com` or `*`.
    pub blocked: Vec<tripline_detect::DomainPattern>,
    /// Addresses or prefixes denied (`tripline deny ADDR`), exported as an
    /// nftables set by `tripline blocklist export --format nft`.
    pub blocked_addresses: Vec<Cidr>,
    /// Blocked lookups of one name by one device that count as "keeps trying". Default 5.
    pub blocked_repeat: u32,
    /// ... within this many seconds. Default 300.
    pub blocked_window: u64,
    /// Most (device, destination, port, protocol) combinations remembered. Default 262144.
    pub max_seen: usize,
    /// The allow rules, checked in order.
    pub allow: Vec<tripline_detect::AllowRule>,
}

impl Default for ConnwatchSection {
    fn default() -> Self {
        let d = tripline_detect::ConnwatchConfig::default();
        let dns = tripline_detect::DnsCacheConfig::default();
        ConnwatchSection {
            enabled: d.enabled,
            dns_ttl: dns.default_ttl.as_secs(),
            dns_grace: dns.grace.as_secs(),
            dns_any_client: dns.any_client_fallback,
            dns_max_pairs: dns.max_pairs,
            dns_max_addresses: dns.max_addresses,
            blocked: d.blocked_names,
            blocked_addresses: Vec::new(),
            blocked_repeat: d.blocked_repeat,
            blocked_window: d.blocked_window.as_secs(),
            max_seen: d.max_seen,
            allow: Vec::new(),
        }
    }
}

impl ConnwatchSection {
    fn validate(&self) -> Result<()> {
        if self.dns_ttl == 0 || self.blocked_window == 0 {
            bail!("connwatch.dns_ttl and connwatch.blocked_window must be at least 1 second");
        }
        if self.dns_max_pairs == 0 || self.dns_max_addresses == 0 || self.max_seen == 0 {
            bail!("connwatch.dns_max_pairs, dns_max_addresses and max_seen must be at least 1");
        }
        if !(1..=1024).contains(&self.blocked_repeat) {
            bail!("connwatch.blocked_repeat must be 1 to 1024");
        }
        Ok(())
    }
}

impl Config {
    /// Parses a configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let cfg: Config =
            toml::from_str(text).with_context(|| format!("{origin}: invalid configuration"))?;
        cfg.validate()
            .with_context(|| format!("{origin}: invalid configuration"))?;
        Ok(cfg)
    }

    /// Loads the configuration from `explicit`, or the first file found on the
    /// search path, or defaults. Returns the path used, if any.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>)> {
        if let Some(p) = explicit {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read configuration {}", p.display()))?;
            return Ok((
                Config::parse(&text, &p.display().to_string())?,
                Some(p.to_path_buf()),
            ));
        }
        for p in search_path() {
            if p.is_file() {
                let text = std::fs::read_to_string(&p)
                    .with_context(|| format!("cannot read configuration {}", p.display()))?;
                return Ok((Config::parse(&text, &p.display().to_string())?, Some(p)));
            }
        }
        Ok((Config::default(), None))
    }

    /// The database file: `explicit` (`--db`), else `[store] path`, else
    /// the XDG default.
    pub fn store_path(&self, explicit: Option<&Path>) -> PathBuf {
        explicit
            .map(Path::to_path_buf)
            .or_else(|| self.store.path.clone())
            .unwrap_or_else(tripline_store::Store::default_path)
    }

    /// The home networks.
    pub fn home_nets(&self) -> HomeNets {
        HomeNets::new(self.home_net.clone())
    }

    /// The time zone for offset-less log timestamps.
    pub fn tz(&self) -> Result<Option<chrono_tz::Tz>> {
        match &self.input.tz {
            None => Ok(None),
            Some(name) => name.parse().map(Some).map_err(|_| {
                anyhow::anyhow!(
                    "unknown time zone {name:?} (use an IANA name such as Europe/Berlin or UTC)"
                )
            }),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.flow.max_flows == 0 {
            bail!("flow.max_flows must be at least 1");
        }
        for (name, v) in [
            ("flow.tcp_idle_timeout", self.flow.tcp_idle_timeout),
            ("flow.udp_idle_timeout", self.flow.udp_idle_timeout),
            ("flow.icmp_idle_timeout", self.flow.icmp_idle_timeout),
            ("flow.active_timeout", self.flow.active_timeout),
        ] {
            if v == 0 {
                bail!("{name} must be at least 1 second");
            }
        }
        self.tz()?;
        self.connwatch.validate()?;
        self.scan.validate()?;
        self.respond.validate().map_err(anyhow::Error::msg)?;
        Ok(())
    }
}

/// Where configuration files are looked for, in order.
pub fn search_path() -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os("TRIPLINE_CONFIG") {
        v.push(PathBuf::from(p));
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|s| !s.is_empty()) {
        v.push(PathBuf::from(x).join("tripline/tripline.toml"));
    } else if let Some(h) = std::env::var_os("HOME") {
        v.push(PathBuf::from(h).join(".config/tripline/tripline.toml"));
    }
    v.push(PathBuf::from("/etc/tripline/tripline.toml"));
    v
}

/// A commented configuration with every key at its default, for `tripline config default`.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("default_config.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_text_matches_defaults() {
        let parsed = Config::parse(DEFAULT_CONFIG_TOML, "default").unwrap();
        let d = Config::default();
        assert_eq!(parsed.home_net, d.home_net);
        assert_eq!(parsed.flow.max_flows, d.flow.max_flows);
        assert_eq!(parsed.flow.udp_idle_timeout, d.flow.udp_idle_timeout);
        assert_eq!(parsed.scan.danger_packets, d.scan.danger_packets);
        assert_eq!(parsed.scan.danger_hosts, d.scan.danger_hosts);
        assert_eq!(parsed.scan.max_sources, d.scan.max_sources);
        assert_eq!(parsed.scan.max_memory_mib, d.scan.max_memory_mib);
        assert_eq!(parsed.scan.sweep_window, d.scan.sweep_window);
        assert_eq!(parsed.scan.scan_timeout, d.scan.scan_timeout);
        assert_eq!(parsed.tripwire.tcp_ports, d.tripwire.tcp_ports);
        assert_eq!(parsed.tripwire.udp_ports, d.tripwire.udp_ports);
        assert_eq!(parsed.tripwire.repeat_window, d.tripwire.repeat_window);
        assert_eq!(parsed.tripwire.max_sources, d.tripwire.max_sources);
        assert_eq!(parsed.bruteforce.max_failures, d.bruteforce.max_failures);
        assert_eq!(parsed.bruteforce.find_time, d.bruteforce.find_time);
        assert_eq!(parsed.bruteforce.max_sources, d.bruteforce.max_sources);
        assert_eq!(parsed.bruteforce.max_accounts, d.bruteforce.max_accounts);
        assert_eq!(parsed.respond, d.respond);
        assert_eq!(parsed.filter.window, d.filter.window);
        assert_eq!(parsed.filter.max_keys, d.filter.max_keys);
        assert_eq!(parsed.filter.severity, d.filter.severity);
        assert_eq!(parsed.filter.enabled, d.filter.enabled);
        assert_eq!(parsed.signatures, d.signatures);
    }

    #[test]
    fn signature_workers_are_auto_or_a_bounded_count() {
        use crate::signatures::WorkerCount;
        let w = |text: &str| Config::parse(&format!("[signatures]\n{text}"), "w.toml");
        assert_eq!(
            w("workers = \"auto\"").unwrap().signatures.workers,
            WorkerCount::Auto
        );
        assert_eq!(
            w("workers = 3").unwrap().signatures.workers,
            WorkerCount::Fixed(3)
        );
        for bad in ["workers = \"many\"", "workers = -1", "workers = 1000"] {
            let e = format!("{:#}", w(bad).unwrap_err());
            assert!(e.contains("workers") && e.contains("auto"), "{bad}: {e}");
        }
        assert_eq!(
            WorkerCount::Auto.resolve(true),
            0,
            "live input: the engine's thread"
        );
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(WorkerCount::Auto.resolve(false), (cores - 1).min(8));
        assert_eq!(WorkerCount::Fixed(2).resolve(true), 2);
    }

    #[test]
    fn errors_name_the_file_and_key() {
        let e = Config::parse("home_nett = []", "x.toml").unwrap_err();
        assert!(format!("{e:#}").contains("x.toml"));
        assert!(format!("{e:#}").contains("home_nett"));
        let e = Config::parse("home_net = [\"10.0.0.0/33\"]", "y.toml").unwrap_err();
        assert!(format!("{e:#}").contains("10.0.0.0/33"), "{e:#}");
        let e = Config::parse("[input]\ntz = \"Mars/Olympus\"", "z.toml").unwrap_err();
        assert!(format!("{e:#}").contains("Mars/Olympus"));
        let e = Config::parse("[flow]\nmax_flows = 0", "w.toml").unwrap_err();
        assert!(format!("{e:#}").contains("max_flows"));
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = Config::parse("", "empty").unwrap();
        assert_eq!(c.home_net.len(), 4);
        assert!(c.store.path.is_none());
    }
}
