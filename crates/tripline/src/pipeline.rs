//! Wiring: sources → engine → outputs, shared by `analyze` and `reduce`.
//!
//! A [`Run`] owns the engine and the per-run counters. Each input is pushed
//! through [`Run::feed`] with the outputs that should see its records; the
//! engine's state (flows, later DNS names and scan state) carries across
//! inputs, so a flow that spans two capture files is one connection and a
//! DNS answer in one file names a connection in the next.

use crate::progress::Progress;
use crate::summary::{InputSummary, Summary};
use std::time::Duration;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, InputError, Record, Timestamp};
use tripline_detect::{Engine, EngineConfig, EngineOutput, FlowConfig};
use tripline_ingest::logs::LogOptions;
use tripline_ingest::{RecordSink, Source, SourceStats};

use crate::config::Config;

/// Most damage messages printed per input (all are counted and stored).
const MAX_PRINTED_ERRORS: u64 = 20;

/// Where the engine's results go; implemented by each command.
pub trait Outputs {
    /// A connection record.
    fn connection(&mut self, c: &Connection);
    /// A DNS record.
    fn dns(&mut self, _d: &DnsLog) {}
    /// An auth record.
    fn auth(&mut self, _a: &AuthLog) {}
    /// An alert.
    fn alert(&mut self, _a: &Alert) {}
    /// connwatch's verdict on a connection (name, allowed, blocked), just
    /// before the connection itself.
    fn connection_verdict(&mut self, _c: &Connection, _v: &tripline_detect::ConnVerdict<'_>) {}
    /// A damaged piece of input.
    fn input_error(&mut self, _e: &InputError) {}
    /// The first failure of an output (a full disk, a broken store); the run stops.
    fn failure(&mut self) -> Option<anyhow::Error> {
        None
    }
}

/// Builds the engine configuration from the file configuration.
pub fn engine_config(cfg: &Config) -> EngineConfig {
    EngineConfig {
        home_nets: cfg.home_nets(),
        flow: FlowConfig {
            max_flows: cfg.flow.max_flows,
            tcp_idle_timeout: Duration::from_secs(cfg.flow.tcp_idle_timeout),
            udp_idle_timeout: Duration::from_secs(cfg.flow.udp_idle_timeout),
            icmp_idle_timeout: Duration::from_secs(cfg.flow.icmp_idle_timeout),
            active_timeout: Duration::from_secs(cfg.flow.active_timeout),
            ..FlowConfig::default()
        },
        scan: scan_config(cfg),
        dns: dns_cache_config(cfg),
        connwatch: connwatch_config(cfg),
        osfp: osfp_config(cfg),
        filter: cfg.filter.detector_config(),
        // Rules are loaded by the commands that run them (`analyze`).
        signature: Default::default(),
        tripwire: tripline_detect::detectors::tripwire::TripwireConfig {
            enabled: cfg.tripwire.enabled,
            tcp_ports: cfg.tripwire.tcp_ports.clone(),
            udp_ports: cfg.tripwire.udp_ports.clone(),
            trap_hosts: cfg.tripwire.trap_hosts.clone(),
            internal: cfg.tripwire.internal,
            repeat_window: Duration::from_secs(cfg.tripwire.repeat_window),
            max_sources: cfg.tripwire.max_sources.max(1),
            ..Default::default()
        },
        bruteforce: tripline_detect::detectors::bruteforce::BruteforceConfig {
            enabled: cfg.bruteforce.enabled,
            max_failures: cfg.bruteforce.max_failures.max(1),
            find_time: Duration::from_secs(cfg.bruteforce.find_time),
            distributed_min_sources: cfg.bruteforce.distributed_min_sources.max(2),
            break_in_min_failures: cfg.bruteforce.break_in_min_failures.max(1),
            max_sources: cfg.bruteforce.max_sources.max(1),
            max_accounts: cfg.bruteforce.max_accounts.max(1),
            ..Default::default()
        },
    }
}

/// The osfp detector's settings from `[osfp]`.
pub fn osfp_config(cfg: &Config) -> tripline_detect::detectors::osfp::OsfpConfig {
    tripline_detect::detectors::osfp::OsfpConfig {
        enabled: cfg.osfp.enabled,
        database: cfg.osfp.database.clone(),
        max_sources: cfg.osfp.max_sources.max(1),
        alert_new_label: cfg.osfp.alert_new_label,
        ..Default::default()
    }
}

/// The DNS name cache settings from `[connwatch]`.
pub fn dns_cache_config(cfg: &Config) -> tripline_detect::DnsCacheConfig {
    let c = &cfg.connwatch;
    tripline_detect::DnsCacheConfig {
        default_ttl: Duration::from_secs(c.dns_ttl),
        grace: Duration::from_secs(c.dns_grace),
        max_pairs: c.dns_max_pairs,
        max_addresses: c.dns_max_addresses,
        any_client_fallback: c.dns_any_client,
    }
}

/// The connwatch detector's settings from `[connwatch]`.
pub fn connwatch_config(cfg: &Config) -> tripline_detect::ConnwatchConfig {
    let c = &cfg.connwatch;
    tripline_detect::ConnwatchConfig {
        enabled: c.enabled,
        allow: tripline_detect::AllowList::new(c.allow.clone()),
        blocked_names: c.blocked.clone(),
        blocked_addresses: c.blocked_addresses.clone(),
        blocked_repeat: c.blocked_repeat,
        blocked_window: Duration::from_secs(c.blocked_window),
        max_seen: c.max_seen,
        ..Default::default()
    }
}

/// The scan detector's settings from `[scan]` (validated on load).
pub fn scan_config(cfg: &Config) -> tripline_detect::ScanConfig {
    let s = &cfg.scan;
    tripline_detect::ScanConfig {
        enabled: s.enabled,
        scan_timeout: Duration::from_secs(s.scan_timeout),
        min_ports: s.min_ports,
        min_protocols: s.min_protocols,
        sweep_min_hosts: s.sweep_min_hosts,
        sweep_window: Duration::from_secs_f64(s.sweep_window),
        detect_ack: s.detect_ack,
        danger: tripline_detect::detectors::scan::danger::DangerThresholds {
            packets: s.danger_packets,
            hosts: s.danger_hosts,
        },
        auto_dl: s.auto_dl().unwrap_or_default(),
        max_sources: s.max_sources,
        max_memory: s.max_memory_mib << 20,
        ..tripline_detect::ScanConfig::default()
    }
}

/// Log reading options from the configuration.
pub fn log_options(cfg: &Config) -> anyhow::Result<LogOptions> {
    Ok(LogOptions {
        year: cfg.input.year,
        tz: cfg.tz()?,
        reference: None,
        boot_time: cfg
            .input
            .boot_time
            .map(tripline_core::Timestamp::from_secs_f64),
    })
}

/// What reading one input gave.
pub struct Fed {
    /// The source's counters.
    pub stats: SourceStats,
    /// Earliest record time.
    pub first_ts: Option<Timestamp>,
    /// Latest record time.
    pub last_ts: Option<Timestamp>,
}

/// One run over several inputs.
pub struct Run {
    engine: Engine,
    /// Totals printed at the end.
    pub summary: Summary,
    /// The progress bar.
    pub progress: Progress,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
}

impl Run {
    /// A run with a fresh engine.
    pub fn new(cfg: EngineConfig, progress: Progress) -> Run {
        let mut engine = Engine::new(cfg);
        if let Some(p) = engine.osfp_mut().and_then(|d| d.load_problem()) {
            tracing::warn!(
                "osfp: no p0f database at {}: {}; OS fingerprinting is off (set [osfp] database)",
                p.path.display(),
                p.message
            );
        }
        Run {
            engine,
            summary: Summary::default(),
            progress,
            stop: None,
        }
    }

    /// The engine (to load and save detector memory around the run).
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Makes sources stop early when `flag` becomes true (Ctrl-C).
    pub fn stop_on(&mut self, flag: &'static std::sync::atomic::AtomicBool) {
        self.stop = Some(flag);
    }

    /// Reads one source to its end through the engine into `out`.
    pub fn feed(&mut self, source: &mut dyn Source, out: &mut dyn Outputs) -> anyhow::Result<Fed> {
        let path = source.path().to_string();
        self.progress.start_input(&path);
        let mut sink = EngineSink {
            engine: &mut self.engine,
            out: EngineBridge {
                out,
                summary: &mut self.summary,
            },
            progress: &self.progress,
            path: &path,
            printed_errors: 0,
            records: 0,
            first_ts: None,
            last_ts: None,
            stop: self.stop,
        };
        let stats = source.run(&mut sink);
        let shown = sink.printed_errors.min(MAX_PRINTED_ERRORS);
        let (first_ts, last_ts) = (sink.first_ts, sink.last_ts);
        if let Some(e) = sink.out.out.failure() {
            return Err(e.context(format!("while reading {path}")));
        }
        let errors = stats.error_count();
        if errors > shown {
            self.progress.println(&format!(
                "tripline: {path}: {} more damaged records not shown (all are counted and stored)",
                errors - shown
            ));
        }
        for (kind, n) in &stats.errors {
            self.summary.add_errors(*kind, *n);
        }
        self.summary.inputs.push(InputSummary {
            path,
            format: source.format().to_string(),
            bytes: stats.bytes,
            records: stats.records,
            skipped: stats.skipped,
            errors,
            note: None,
        });
        Ok(Fed {
            stats,
            first_ts,
            last_ts,
        })
    }

    /// Lends a record sink over the engine to `f`, for inputs that are not a
    /// [`Source`] (followed log lines). Returns what `f` returns and the
    /// first output failure, if any.
    pub fn with_sink<R>(
        &mut self,
        path: &str,
        out: &mut dyn Outputs,
        f: impl FnOnce(&mut dyn RecordSink) -> R,
    ) -> (R, Option<anyhow::Error>) {
        let mut sink = EngineSink {
            engine: &mut self.engine,
            out: EngineBridge {
                out,
                summary: &mut self.summary,
            },
            progress: &self.progress,
            path,
            printed_errors: 0,
            records: 0,
            first_ts: None,
            last_ts: None,
            stop: self.stop,
        };
        let r = f(&mut sink);
        let failure = sink.out.out.failure();
        (r, failure)
    }

    /// Ends the run: flushes every open flow into `out`.
    pub fn finish(&mut self, out: &mut dyn Outputs) -> anyhow::Result<()> {
        let mut bridge = EngineBridge {
            out,
            summary: &mut self.summary,
        };
        self.engine.finish(&mut bridge);
        if let Some(e) = bridge.out.failure() {
            return Err(e);
        }
        let stats = self.engine.stats();
        self.summary.packets = stats.packets;
        self.summary.firewall_lines = stats.firewall;
        self.summary.auth_records = stats.auth;
        let flows = self.engine.flow_metrics();
        self.summary.flows_evicted = flows.evicted;
        self.summary.signatures = self.engine.signature_mut().map(|sig| {
            let st = sig.stats();
            crate::summary::SignatureSummary {
                rules: st.rules,
                workers: sig.workers(),
                inspected: st.matcher.packets,
                scanned_bytes: st.matcher.scanned_bytes,
                http_messages: st.app.http_requests + st.app.http_responses,
            }
        });
        self.progress.finish();
        Ok(())
    }
}

/// Adapts the engine's output trait to the command's outputs and the summary.
struct EngineBridge<'o, 's> {
    out: &'o mut dyn Outputs,
    summary: &'s mut Summary,
}

impl EngineOutput for EngineBridge<'_, '_> {
    fn connection(&mut self, c: Connection) {
        self.summary.add_connection(&c);
        self.out.connection(&c);
    }
    fn dns(&mut self, d: DnsLog) {
        self.summary.dns_records += 1;
        self.out.dns(&d);
    }
    fn auth(&mut self, a: AuthLog) {
        self.out.auth(&a);
    }
    fn alert(&mut self, a: Alert) {
        self.summary.alerts += 1;
        if let Some(n) = self.summary.alerts_by_detector.get_mut(&a.detector) {
            *n += 1;
        } else {
            self.summary
                .alerts_by_detector
                .insert(a.detector.clone(), 1);
        }
        self.out.alert(&a);
    }
    fn connection_verdict(&mut self, c: &Connection, v: &tripline_detect::ConnVerdict<'_>) {
        self.out.connection_verdict(c, v);
    }
}

/// The record sink a source pushes into during [`Run::feed`].
struct EngineSink<'a, 'o, 's> {
    engine: &'a mut Engine,
    out: EngineBridge<'o, 's>,
    progress: &'a Progress,
    path: &'a str,
    printed_errors: u64,
    records: u64,
    first_ts: Option<Timestamp>,
    last_ts: Option<Timestamp>,
    stop: Option<&'static std::sync::atomic::AtomicBool>,
}

impl RecordSink for EngineSink<'_, '_, '_> {
    fn record(&mut self, rec: &Record<'_>) {
        self.records += 1;
        let ts = rec.ts();
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        self.engine.process(rec, &mut self.out);
    }

    fn error(&mut self, err: InputError) {
        if self.printed_errors < MAX_PRINTED_ERRORS {
            self.progress.println(&format!("tripline: {err}"));
        }
        self.printed_errors += 1;
        self.out.out.input_error(&err);
    }

    fn progress(&mut self, bytes_done: u64) {
        self.progress.set_input_bytes(bytes_done);
        self.progress.set_records(self.path, self.records);
    }

    fn idle(&mut self) {
        self.engine.idle(&mut self.out);
    }

    fn should_stop(&self) -> bool {
        self.stop
            .is_some_and(|f| f.load(std::sync::atomic::Ordering::Relaxed))
    }
}
