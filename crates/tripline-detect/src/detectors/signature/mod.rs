//! The `signature` detector: Suricata/Snort rules (crate `tripline-rules`)
//! matched on every captured packet, and the header-only rules also on
//! firewall log lines (the one `Header` model), so psad-style header
//! signatures are ordinary rules.
//!
//! [`inspector`] does the work for a packet: the flow view ([`flows`]),
//! the inspection buffers ([`buffers`]), the reassembled streams and
//! application transactions ([`app`]), the matcher, and the alerts
//! ([`alert`]). TCP segments go through the bounded reassembler when a
//! loaded rule needs it: application buffers (`http.*`, `tls.sni`, ...)
//! come from the reassembled streams, and on established flows payload
//! rules also see the raw stream (Suricata's stream inspection: the bytes
//! that became in order with the packet plus an overlap before them, each
//! stream position alerting once; `flow:only_stream`/`no_stream`, `dsize`,
//! `tcp-pkt`, `tcp-stream` choose between stream and packet as in
//! Suricata). Rule sets without such rules do not reassemble at all.
//!
//! One inspector runs in the engine's thread, or ([`SignatureConfig::workers`])
//! one per worker thread, each owning the flows that hash to it
//! ([`workers`]); the alerts are the same either way.

mod alert;
mod app;
mod buffers;
mod flows;
mod inspector;
mod workers;

use super::{DetectContext, Detector};
use crate::engine::EngineOutput;
use crate::reassembly::ReassemblyConfig;
use inspector::{Inspector, PacketView, Raised};
use std::sync::Arc;
use tripline_core::Record;
use tripline_rules::matcher::{MatcherLimits, MatcherStats};
use tripline_rules::{Classifications, Rule};
use workers::Workers;

/// Configuration of the signature detector.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SignatureConfig {
    /// Run the detector (needs rules).
    pub enabled: bool,
    /// The loaded rules.
    pub rules: Arc<Vec<Rule>>,
    /// classification.config, for alert categories and default severities.
    pub classifications: Option<Arc<Classifications>>,
    /// Count TCP flows picked up mid-stream as established
    /// (Suricata's `stream.midstream`, default false).
    pub midstream: bool,
    /// Let TCP sessions seen from one side only become established
    /// (Suricata's `stream.async-oneside`, default false).
    pub async_oneside: bool,
    /// Most flows tracked for flow state and flowbits.
    pub max_flows: usize,
    /// Threshold / xbits table caps.
    pub limits: MatcherLimits,
    /// Run header-only rules on firewall log records.
    pub on_firewall_logs: bool,
    /// Caps of the TCP reassembly behind application buffers and raw
    /// stream inspection (`depth` is Suricata's `stream.reassembly.depth`);
    /// its look-back `window` is the overlap the stream inspection keeps
    /// before the new bytes.
    pub reassembly: ReassemblyConfig,
    /// HTTP parser caps: body bytes kept for inspection (Suricata's
    /// `request-body-limit`/`response-body-limit`) and decompression layers.
    pub http: tripline_ingest::app::http::HttpLimits,
    /// Worker threads matching in parallel, each owning the flows that
    /// hash to it (0: match in the engine's thread). Any count gives the
    /// same alerts as one worker; with workers they are handed on in
    /// batches (see the `workers` module), and each worker gets its share
    /// of `max_flows` and the reassembly caps.
    pub workers: usize,
}

impl SignatureConfig {
    /// Defaults with `rules`.
    pub fn with_rules(rules: Vec<Rule>, classifications: Option<Classifications>) -> Self {
        SignatureConfig {
            enabled: true,
            rules: Arc::new(rules),
            classifications: classifications.map(Arc::new),
            midstream: false,
            async_oneside: false,
            max_flows: 100_000,
            limits: MatcherLimits::default(),
            on_firewall_logs: true,
            reassembly: ReassemblyConfig::default(),
            http: Default::default(),
            workers: 0,
        }
    }
}

/// Counters of the signature detector.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignatureStats {
    /// Rules the matcher runs.
    pub rules: usize,
    /// Rules the matcher refused (unsupported constructs).
    pub refused: usize,
    /// Matcher counters.
    pub matcher: MatcherStats,
    /// Flows evicted from the flow view.
    pub flows_evicted: u64,
    /// Application-layer counters (HTTP/TLS messages, parse errors, body
    /// decoding outcomes).
    pub app: crate::reassembly::AppStats,
}

impl SignatureStats {
    /// Adds another inspector's counters (rules and refused excepted).
    fn add(&mut self, o: &SignatureStats) {
        self.matcher.add(&o.matcher);
        self.flows_evicted += o.flows_evicted;
        self.app.add(&o.app);
    }
}

/// The detector.
pub struct SignatureDetector {
    config: Arc<SignatureConfig>,
    rules: usize,
    refused: Vec<(usize, String)>,
    run: Run,
    raised: Vec<Raised>,
}

/// Where inspection runs.
enum Run {
    /// In the engine's thread.
    Inline(Box<Inspector>),
    /// In worker threads, one share of the flows each.
    Workers(Box<Workers>),
}

impl SignatureDetector {
    /// Compiles the configured rules and, with `workers` > 0, starts the
    /// worker threads. A rule set whose cross-flow state cannot be settled
    /// outside the workers, or a worker thread that cannot start, leaves
    /// the rules running inline, with a warning.
    pub fn new(config: SignatureConfig) -> Self {
        let config = Arc::new(config);
        let n = config.workers;
        let (first, refused) = workers::inspector_share(&config, n);
        let rules = config.rules.len() - refused.len();
        let refused = refused.into_iter().map(|(i, e)| (i, e.0)).collect();
        let run = match n {
            0 => Run::Inline(Box::new(first)),
            _ => match workers::defer(first).and_then(|f| Workers::start(config.clone(), n, f)) {
                Ok(workers) => Run::Workers(Box::new(workers)),
                Err(reason) => {
                    tracing::warn!("signature workers: {reason}; inspecting in one thread instead");
                    Run::Inline(Box::new(workers::inspector_share(&config, 1).0))
                }
            },
        };
        SignatureDetector {
            config,
            rules,
            refused,
            run,
            raised: Vec::new(),
        }
    }

    /// Rules the matcher could not run: (index in the rule list, reason).
    pub fn refused(&self) -> &[(usize, String)] {
        &self.refused
    }

    /// Worker threads inspecting (0: inline in the engine's thread).
    pub fn workers(&self) -> usize {
        match &self.run {
            Run::Inline(_) => 0,
            Run::Workers(w) => w.len(),
        }
    }

    /// Counters so far (with workers: as of the alerts handed on).
    pub fn stats(&self) -> SignatureStats {
        let s = match &self.run {
            Run::Inline(i) => i.stats(),
            Run::Workers(w) => w.stats(),
        };
        SignatureStats {
            rules: self.rules,
            refused: self.refused.len(),
            ..s
        }
    }
}

impl Detector for SignatureDetector {
    fn name(&self) -> &'static str {
        "signature"
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn on_record(&mut self, rec: &Record<'_>, ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        let view = match rec {
            Record::Packet(p) if !p.header.ip.is_fragment_piece() => Some(PacketView {
                ts: p.ts,
                header: &p.header,
                payload: p.payload,
                link: &p.link,
                key: flows::FlowKey::of(&p.header),
            }),
            Record::Firewall(_) if self.config.on_firewall_logs => None,
            _ => return,
        };
        match (&mut self.run, view, rec) {
            (Run::Workers(w), Some(p), _) => w.packet(p, ctx.os, out),
            (Run::Workers(w), None, Record::Firewall(fw)) => {
                w.firewall(fw.ts, &fw.header, ctx.os, out)
            }
            (Run::Inline(i), view, rec) => {
                match (view, rec) {
                    (Some(p), _) => i.packet(&self.config, p, &mut self.raised),
                    (None, Record::Firewall(fw)) => {
                        i.firewall(&self.config, fw.ts, &fw.header, &mut self.raised)
                    }
                    _ => {}
                }
                for r in self.raised.drain(..) {
                    out.alert(r.alert);
                }
            }
            _ => {}
        }
    }

    /// Live input went quiet: alerts still in the workers' hands are
    /// handed on.
    fn on_advance(&mut self, _ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        if let Run::Workers(w) = &mut self.run {
            w.drain(out);
        }
    }

    /// The input ended: transactions the parsers still hold (a request
    /// whose head never ended, a body cut by the end of the capture) are
    /// completed and inspected, as Suricata does when a flow ends.
    fn finish(&mut self, _ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        match &mut self.run {
            Run::Inline(i) => {
                let mut at_end = Vec::new();
                i.finish(&self.config, &mut at_end);
                for (_, r) in at_end {
                    out.alert(r.alert);
                }
            }
            Run::Workers(w) => w.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripline_core::HomeNets;
    use tripline_rules::{Variables, parse_rule};

    fn detector(texts: &[&str]) -> SignatureDetector {
        let vars = Variables::suricata_defaults(&HomeNets::default());
        let rules = texts
            .iter()
            .map(|t| parse_rule(t, &vars).unwrap_or_else(|e| panic!("{t}: {e}")))
            .collect();
        SignatureDetector::new(SignatureConfig::with_rules(rules, None))
    }

    fn reassembles(d: &SignatureDetector) -> (bool, bool) {
        match &d.run {
            Run::Inline(i) => i.reassembles(),
            Run::Workers(_) => unreachable!("inline by default"),
        }
    }

    #[test]
    fn reassembles_only_for_rules_that_need_streams() {
        let d = detector(&[
            r#"alert udp any any -> any any (content:"x"; sid:1;)"#,
            r#"alert tcp any any -> any any (flags:S; sid:2;)"#,
            r#"alert tcp any any -> any any (dsize:>10; content:"x"; sid:3;)"#,
            r#"alert tcp any any -> any any (flow:no_stream; content:"x"; sid:4;)"#,
            r#"alert tcp-pkt any any -> any any (content:"x"; sid:5;)"#,
        ]);
        assert_eq!(reassembles(&d), (false, false));
        let d = detector(&[r#"alert tcp any any -> any any (content:"x"; sid:1;)"#]);
        assert_eq!(reassembles(&d), (true, true));
        let d = detector(&[r#"alert http any any -> any any (http.uri; content:"x"; sid:1;)"#]);
        assert_eq!(reassembles(&d), (true, false));
    }
}
