//! The `signature` detector: Suricata/Snort rules (crate `tripline-rules`)
//! matched on every captured packet, and the header-only rules also on
//! firewall log lines (the one `Header` model), so psad-style header
//! signatures are ordinary rules.
//!
//! Per packet: the flow view ([`flows`]) gives direction, `established` and
//! the flow's flowbits; [`buffers`] fills the inspection buffers (payload,
//! `dns.query`, ...); the matcher picks candidates with its prefilter and
//! verifies them; each match becomes an [`Alert`] ([`alert`]).
//!
//! TCP segments go through the bounded reassembler ([`app`]) when a loaded
//! rule needs it: application buffers (`http.*`, `tls.sni`, ...) come from
//! the reassembled streams, and on established flows payload rules also see
//! the raw stream (Suricata's stream inspection: the bytes that became in
//! order with the packet plus an overlap before them, each stream position
//! alerting once; `flow:only_stream`/`no_stream`, `dsize`, `tcp-pkt`,
//! `tcp-stream` choose between stream and packet as in Suricata). Rule sets
//! without such rules do not reassemble at all.

mod alert;
mod app;
mod buffers;
mod flows;

use super::{DetectContext, Detector};
use crate::engine::EngineOutput;
use crate::reassembly::ReassemblyConfig;
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

/// The detector.
pub struct SignatureDetector {
    config: SignatureConfig,
    matcher: SignatureMatcher,
    refused: Vec<(usize, String)>,
    flows: SigFlows,
    scratch: buffers::Scratch,
    app: app::AppInspect,
    /// A rule needs reassembled TCP streams (application layer or raw
    /// stream inspection); without one, segments are not reassembled.
    reassemble: bool,
    /// A rule inspects the raw stream of established TCP flows.
    stream_rules: bool,
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
                async_oneside: config.async_oneside,
                idle_timeout_ns: 600_000_000_000,
            },
        );
        let stream_rules = matcher.inspects_stream();
        let app_rules = matcher.uses_app_layer();
        SignatureDetector {
            refused: refused.into_iter().map(|(i, e)| (i, e.0)).collect(),
            reassemble: stream_rules || app_rules,
            stream_rules,
            matcher,
            flows,
            scratch: buffers::Scratch::default(),
            app: app::AppInspect::new(config.reassembly.clone(), config.http.clone(), app_rules),
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
            app: self.app.stats(),
        }
    }
}

/// What an alert reports of the packet that matched.
struct Evidence<'a> {
    ts: tripline_core::Timestamp,
    header: &'a Header,
    payload: &'a [u8],
    app: Option<tripline_rules::header::AppProto>,
    /// The frame's link layer (VLAN, MAC addresses), for packets.
    link: Option<&'a tripline_core::LinkInfo>,
    /// The application buffers of the matched transaction or packet.
    buffers: Option<tripline_rules::matcher::Buffers<'a>>,
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
            link: None,
            buffers: None,
        }
    }

    /// With the application buffers the rule saw.
    fn with_buffers(self, buffers: tripline_rules::matcher::Buffers<'a>) -> Self {
        Evidence {
            buffers: Some(buffers),
            ..self
        }
    }

    /// With the packet's link layer.
    fn with_link(self, link: &'a tripline_core::LinkInfo) -> Self {
        Evidence {
            link: Some(link),
            ..self
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
        let mut a = alert::from_match(
            &config.rules[m.rule],
            classes,
            e.ts,
            e.header,
            e.payload,
            e.app,
        );
        if let Some(link) = e.link {
            alert::add_link(&mut a, link);
        }
        if let (Some(app), Some(b)) = (e.app, e.buffers.as_ref()) {
            alert::add_app(&mut a, app, b);
        }
        out.alert(a);
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
                    reassemble,
                    stream_rules,
                    ..
                } = self;
                let tcp = p.header.protocol == 6 && *reassemble;
                // Application transactions completed by this segment.
                let mut position = None;
                if tcp {
                    position = app.segment(
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
                            let evidence = Evidence::of(p.ts, &p.header, p.payload, Some(tx.proto))
                                .with_link(&p.link)
                                .with_buffers(tx.buffers);
                            emit(config, matches, &evidence, out);
                        },
                    );
                }
                let mut inspect = Inspect::packet(p.ts, &p.header, p.payload, flow);
                scratch.fill(&p.header, p.payload, &mut inspect);
                if inspect.app_proto.is_none() && tcp {
                    inspect.app_proto = app.proto(&key);
                }
                // Raw stream inspection on established flows (as Suricata,
                // whose stream engine takes data only once the session is).
                if let Some(pos) = position.filter(|_| *stream_rules && flow.established) {
                    inspect.stream = Some(app.stream_data(&key, &pos, config.reassembly.window));
                }
                let evidence = Evidence::of(p.ts, &p.header, p.payload, inspect.app_proto)
                    .with_link(&p.link)
                    .with_buffers(inspect.buffers);
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

    /// The input ended: transactions the parsers still hold (a request
    /// whose head never ended, a body cut by the end of the capture) are
    /// completed and inspected, as Suricata does when a flow ends.
    fn finish(&mut self, _ctx: &DetectContext<'_>, out: &mut dyn EngineOutput) {
        let Self {
            config,
            matcher,
            app,
            flows,
            matches,
            ..
        } = self;
        app.flush(&mut |key, tx| {
            let Some((header, ts, flow, bits)) = flows.at_end(key, tx.to_server) else {
                return;
            };
            let mut i = Inspect::packet(ts, &header, &[], flow);
            i.buffers = tx.buffers;
            i.app_proto = Some(tx.proto);
            matcher.inspect(&i, bits, matches);
            let evidence = Evidence::of(ts, &header, &[], Some(tx.proto)).with_buffers(tx.buffers);
            emit(config, matches, &evidence, out);
        });
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

    #[test]
    fn reassembles_only_for_rules_that_need_streams() {
        let d = detector(&[
            r#"alert udp any any -> any any (content:"x"; sid:1;)"#,
            r#"alert tcp any any -> any any (flags:S; sid:2;)"#,
            r#"alert tcp any any -> any any (dsize:>10; content:"x"; sid:3;)"#,
            r#"alert tcp any any -> any any (flow:no_stream; content:"x"; sid:4;)"#,
            r#"alert tcp-pkt any any -> any any (content:"x"; sid:5;)"#,
        ]);
        assert!(!d.reassemble && !d.stream_rules);
        let d = detector(&[r#"alert tcp any any -> any any (content:"x"; sid:1;)"#]);
        assert!(d.reassemble && d.stream_rules);
        let d = detector(&[r#"alert http any any -> any any (http.uri; content:"x"; sid:1;)"#]);
        assert!(d.reassemble && !d.stream_rules);
    }
}
