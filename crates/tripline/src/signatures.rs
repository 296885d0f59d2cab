//! `[signatures]`: the rule files the `signature` detector runs, and their
//! loading for `analyze` (files or directories of `*.rules`, variables from
//! `home_net` with Suricata's defaults plus overrides, classification.config).

use anyhow::{Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tripline_core::HomeNets;
use tripline_detect::detectors::signature::SignatureConfig;
use tripline_rules::{Classifications, LoadSummary, RuleSet, Variables};

/// `[signatures]` in the configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct SignatureSection {
    /// Run the signature detector when rules are given. Default true.
    pub enabled: bool,
    /// Rule files, or directories whose `*.rules` files are all loaded (in
    /// name order); relative paths are relative to the configuration
    /// file's directory. Default none (`analyze --rules` adds more).
    pub rules: Vec<PathBuf>,
    /// classification.config (relative to the configuration file's
    /// directory); default: the one beside the first rule path.
    pub classification: Option<PathBuf>,
    /// Count TCP flows picked up mid-stream as established (Suricata's
    /// `stream.midstream`). Default false.
    pub midstream: bool,
    /// Let TCP sessions seen from one side only become established
    /// (Suricata's `stream.async-oneside`). Default false.
    pub async_oneside: bool,
    /// Bytes reassembled per TCP direction for stream inspection and the
    /// application layer (Suricata's `stream.reassembly.depth`); 0 means
    /// unlimited. Default 1048576.
    pub stream_depth: u64,
    /// Bytes of earlier stream data inspected again with new data, so
    /// content spread over segments still matches. Default 2048.
    pub stream_window: usize,
    /// Most flows tracked for `flow:` and flowbits. Default 100000.
    pub max_flows: usize,
    /// Also run header-only rules on firewall log lines. Default true.
    pub on_firewall_logs: bool,
    /// Threads matching rules beside the engine's, each owning a share of
    /// the flows (the alerts are the same for any count): a number (0:
    /// match in the engine's thread) or `"auto"` — one less than the
    /// machine's cores (at most 8) when reading files, 0 for live input
    /// (`--interface`, `--follow`), whose alerts then come out at once
    /// rather than in batches. Default `"auto"`.
    pub workers: WorkerCount,
    /// Address variables beyond HOME_NET/EXTERNAL_NET (e.g.
    /// `DNS_SERVERS = "[192.168.1.1]"`); these override Suricata's defaults.
    pub address_vars: BTreeMap<String, String>,
    /// Port variables (e.g. `HTTP_PORTS = "[80,8080]"`).
    pub port_vars: BTreeMap<String, String>,
}

impl Default for SignatureSection {
    fn default() -> Self {
        SignatureSection {
            enabled: true,
            rules: Vec::new(),
            classification: None,
            midstream: false,
            async_oneside: false,
            stream_depth: 1 << 20,
            stream_window: 2048,
            max_flows: 100_000,
            on_firewall_logs: true,
            workers: WorkerCount::Auto,
            address_vars: BTreeMap::new(),
            port_vars: BTreeMap::new(),
        }
    }
}

/// `[signatures] workers`: `"auto"` or a thread count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WorkerCount {
    /// One less than the cores (at most 8) for files; 0 for live input.
    #[default]
    Auto,
    /// This many (0: the engine's thread).
    Fixed(usize),
}

/// Most signature worker threads.
pub const MAX_WORKERS: usize = 64;

impl WorkerCount {
    /// The thread count for a run; `live`: the input arrives as it
    /// happens (alert latency matters more than throughput).
    pub fn resolve(self, live: bool) -> usize {
        match self {
            WorkerCount::Fixed(n) => n,
            WorkerCount::Auto if live => 0,
            WorkerCount::Auto => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .saturating_sub(1)
                .min(8),
        }
    }
}

impl<'de> Deserialize<'de> for WorkerCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(i64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Word(w) if w == "auto" => Ok(WorkerCount::Auto),
            Raw::Count(n) if (0..=MAX_WORKERS as i64).contains(&n) => {
                Ok(WorkerCount::Fixed(n as usize))
            }
            _ => Err(serde::de::Error::custom(format!(
                "workers: expected \"auto\" or a number from 0 to {MAX_WORKERS}"
            ))),
        }
    }
}

/// Rule files named by `paths`: files as given, directories expanded to
/// their `*.rules` files in name order.
pub fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot list rule directory", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "rules"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn classifications(
    section: &SignatureSection,
    paths: &[PathBuf],
) -> Result<Option<Classifications>> {
    let path = match &section.classification {
        Some(p) => Some(p.clone()),
        None => paths.first().map(|p| {
            let dir = if p.is_dir() {
                p.as_path()
            } else {
                p.parent().unwrap_or(Path::new("."))
            };
            dir.join("classification.config")
        }),
    };
    let Some(path) = path else {
        return Ok(None);
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let (c, errors) = Classifications::parse(&text);
            for e in errors.iter().take(5) {
                eprintln!("tripline: {}: {e}", path.display());
            }
            Ok(Some(c))
        }
        Err(e) if section.classification.is_some() => {
            Err(e).with_context(|| format!("{}: cannot read classification file", path.display()))
        }
        Err(_) => Ok(None),
    }
}

/// The loaded rules and what happened while loading them.
pub struct LoadedSignatures {
    /// The detector configuration (enabled, with the rules).
    pub config: SignatureConfig,
    /// Rule files read.
    pub files: usize,
    /// The load summary (skipped rules by reason, errors).
    pub summary: LoadSummary,
}

/// Loads the rules of `[signatures]` (relative paths taken from
/// `config_dir`, the configuration file's directory) plus `extra` paths
/// (from the command line, relative to the working directory); `None` when
/// there are none or the detector is disabled.
pub fn load(
    section: &SignatureSection,
    home: &HomeNets,
    extra: &[PathBuf],
    config_dir: Option<&Path>,
) -> Result<Option<LoadedSignatures>> {
    let resolve = |p: &PathBuf| match config_dir {
        Some(dir) if p.is_relative() => dir.join(p),
        _ => p.clone(),
    };
    let mut section = section.clone();
    section.classification = section.classification.as_ref().map(resolve);
    let section = &section;
    let paths: Vec<PathBuf> = section
        .rules
        .iter()
        .map(resolve)
        .chain(extra.iter().cloned())
        .collect();
    if !section.enabled || paths.is_empty() {
        return Ok(None);
    }
    for p in &paths {
        if !p.exists() {
            anyhow::bail!("{}: no such rule file or directory", p.display());
        }
    }
    let files = rule_files(&paths)?;
    let mut vars = Variables::suricata_defaults(home);
    for (k, v) in &section.address_vars {
        vars.set_address(k, v);
    }
    for (k, v) in &section.port_vars {
        vars.set_port(k, v);
    }
    let classes = classifications(section, &paths)?;
    let (set, summary) = RuleSet::load_files(&files, vars, classes.clone());
    let defaults = SignatureConfig::with_rules(set.rules().to_vec(), classes);
    let reassembly = tripline_detect::reassembly::ReassemblyConfig {
        depth: match section.stream_depth {
            0 => u64::MAX,
            d => d,
        },
        window: section.stream_window,
        ..defaults.reassembly.clone()
    };
    let config = SignatureConfig {
        midstream: section.midstream,
        async_oneside: section.async_oneside,
        reassembly,
        max_flows: section.max_flows.max(1),
        on_firewall_logs: section.on_firewall_logs,
        ..defaults
    };
    Ok(Some(LoadedSignatures {
        config,
        files: files.len(),
        summary,
    }))
}
