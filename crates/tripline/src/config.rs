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
pub const DEFAULT_CONFIG_TOML: &str = r#"# tripline configuration. Every key is optional; shown here at its default.

# The home network: IPv4 and IPv6 prefixes. Direction (inbound, outbound,
# internal, external) is decided from these.
home_net = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"]

[store]
# SQLite database file (default: $XDG_DATA_HOME/tripline/tripline.db).
# path = "/var/lib/tripline/tripline.db"

[input]
# Year for syslog lines without one (default: from the file's modification
# time, rolling back across New Year).
# year = 2026
# Time zone of log timestamps without an offset (default: UTC).
# tz = "Europe/Berlin"
# Boot time (Unix seconds) for raw dmesg `[ uptime]` stamps.
# boot_time = 1795348032.0

[flow]
max_flows = 262144
tcp_idle_timeout = 300
udp_idle_timeout = 60
icmp_idle_timeout = 30
active_timeout = 3600
"#;

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
