//! The `signature` detector: Suricata/Snort rules (crate `tripline-rules`)
//! matched on every captured packet, and the header-only rules also on
//! firewall log lines (the one `Header` model), so psad-style header
//! signatures are ordinary rules.
//!
//! Per packet: the flow view ([`flows`]) gives direction, `established` and
//! the flow's flowbits; [`buffers`] fills the inspection buffers (payload,
//! `dns.query`, ...); the matcher picks candidates with its prefilter and
//! verifies them; each match becomes an [`Alert`] ([`alert`]).

mod alert;
mod app;
mod buffers;
mod flows;

use super::{DetectContext, Detector};
use crate::engine::EngineOutput;
use flows::{FlowOptions, SigFlows};
use std::sync::Arc;
use tripline_core::{Header, Record};
use tripline_rules::matcher::{FlowContext, MatcherLimits, MatcherStats};
use tripline_rules::{Classifications, FlowBits, Inspect, Match, Rule, SignatureMatcher};

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
    /// Most flows tracked for flow state and flowbits.
    pub max_flows: usize,
    /// Threshold / xbits table caps.
    pub limits: MatcherLimits,
    /// Run header-only rules on firewall log records.
    pub on_firewall_logs: bool,
}

impl SignatureConfig {
    /// Defaults with `rules`.
    pub fn with_rules(rules: Vec<Rule>, classifications: Option<Classifications>) -> Self {
        SignatureConfig {
            enabled: true,
            rules: Arc::new(rules),
            classifications: classifications.map(Arc::new),
            midstream: false,
            max_flows: 100_000,
            limits: MatcherLimits::default(),
            on_firewall_logs: true,
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
}

/// The detector.
pub struct SignatureDetector {
    config: SignatureConfig,
    matcher: SignatureMatcher,
    refused: Vec<(usize, String)>,
    flows: SigFlows,
    scratch: buffers::Scratch,
    app: app::AppInspect,
    matches: Vec<Match>,
}

impl SignatureDetector {
    /// Compiles the configured rules.
    pub fn new(config: SignatureConfig) -> Self {
        let (matcher, refused) = SignatureMatcher::new(&config.rules, config.limits);
        let flows = SigFlows::new(
            config.max_flows,
            FlowOptions {
                midstream: config.midstream,
                idle_timeout_ns: 600_000_000_000,
            },
        );
        SignatureDetector {
            refused: refused.into_iter().map(|(i, e)| (i, e.0)).collect(),
            matcher,
            flows,
            scratch: buffers::Scratch::default(),
            app: app::AppInspect::new(crate::reassembly::ReassemblyConfig::default()),
            matches: Vec::new(),
            config,
        }
    }

    /// Rules the matcher could not run: (index in the rule list, reason).
    pub fn refused(&self) -> &[(usize, String)] {
        &self.refused
    }

    /// Counters so far.
    pub fn stats(&self) -> SignatureStats {
        SignatureStats {
            rules: self.matcher.len(),
            refused: self.refused.len(),
            matcher: self.matcher.stats(),
            flows_evicted: self.flows.evicted(),
        }
    }
}

/// What an alert reports of the packet that matched.
struct Evidence<'a> {
    ts: tripline_core::Timestamp,
    header: &'a Header,
    payload: &'a [u8],
    app: Option<tripline_rules::header::AppProto>,
}

impl<'a> Evidence<'a> {
    fn of(
        ts: tripline_core::Timestamp,
        header: &'a Header,
        payload: &'a [u8],
        app: Option<tripline_rules::header::AppProto>,
    ) -> Self {
        Evidence {
            ts,
            header,
            payload,
            app,
        }
    }
}

/// Turns the matches into alerts (and empties the list).
fn emit(
    config: &SignatureConfig,
    matches: &mut Vec<Match>,
    e: &Evidence<'_>,
    out: &mut dyn EngineOutput,
) {
    let classes = config.classifications.as_deref();
    for m in matches.drain(..) {
        out.alert(alert::from_match(
            &config.rules[m.rule],
            classes,
            e.ts,
            e.header,
            e.payload,
            e.app,
        ));
    }
}

/// Payload length of a logged packet, from the logged IP total length.
fn logged_payload_len(h: &Header) -> usize {
    let ip_hdr = if h.ip.version == 6 {
        40
    } else {
        20 + h.ip.options.as_bytes().len()
    };
    let l4 = match h.transport {
        tripline_core::Transport::Tcp(t) => 20 + t.options.as_bytes().len(),
        tripline_core::Transport::Udp(_) => 8,
        tripline_core::Transport::Icmp(_) => 8,
        tripline_core::Transport::Other => 0,
    };
    usize::from(h.ip.total_len).saturating_sub(ip_hdr + l4)
}

impl Detector for SignatureDetector {
    fn name(&self) -> &'static str {
        "signature"
    }

    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        Some(self)
    }

    fn on_record(
        &mut self,
        rec: &Record<'_>,
        _ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        match rec {
            Record::Packet(p) => {
                if p.header.ip.is_fragment_piece() {
                    return;
                }
                let key = flows::FlowKey::of(&p.header);
                let (flow, f) = self.flows.observe(p.ts, &p.header, p.payload.len());
                let Self {
                    config,
                    matcher,
                    scratch,
                    app,
                    matches,
                    ..
                } = self;
                // Application transactions completed by this segment.
                if p.header.protocol == 6 {
                    app.segment(
                        &key,
                        &p.header,
                        p.payload,
                        p.ts,
                        flow.to_server,
                        &mut |tx| {
                            let ctx = tripline_rules::matcher::FlowContext {
                                to_server: tx.to_server,
                                stream: true,
                                ..flow
                            };
                            let mut i = Inspect::packet(p.ts, &p.header, &[], ctx);
                            i.buffers = tx.buffers;
                            i.app_proto = Some(tx.proto);
                            matcher.inspect(&i, &mut f.bits, matches);
                            let evidence = Evidence::of(p.ts, &p.header, p.payload, Some(tx.proto));
                            emit(config, matches, &evidence, out);
                        },
                    );
                }
                let mut inspect = Inspect::packet(p.ts, &p.header, p.payload, flow);
                scratch.fill(&p.header, p.payload, &mut inspect);
                if inspect.app_proto.is_none() && p.header.protocol == 6 {
                    inspect.app_proto = app.proto(&key);
                }
                let evidence = Evidence::of(p.ts, &p.header, p.payload, inspect.app_proto);
                matcher.inspect(&inspect, &mut f.bits, matches);
                emit(config, matches, &evidence, out);
            }
            Record::Firewall(fw) if self.config.on_firewall_logs => {
                let flow = FlowContext {
                    to_server: true,
                    ..FlowContext::default()
                };
                let inspect =
                    Inspect::header_only(fw.ts, &fw.header, logged_payload_len(&fw.header), flow);
                self.scratch.clear();
                self.matcher
                    .inspect(&inspect, &mut FlowBits::default(), &mut self.matches);
                let evidence = Evidence::of(fw.ts, &fw.header, &[], None);
                emit(&self.config, &mut self.matches, &evidence, out);
            }
            _ => {}
        }
    }
}
