//! One signature inspector: the matcher with the flow view, reassembly and
//! application parsers for the flows it sees. The detector runs one in the
//! engine's thread, or one per worker thread ([`super::workers`]), each
//! seeing a share of the flows.
//!
//! Per packet: the flow view ([`super::flows`]) gives direction,
//! `established` and the flow's flowbits; [`super::buffers`] fills the
//! inspection buffers (payload, `dns.query`, ...); TCP segments go through
//! the reassembler when a rule needs it ([`super::app`]); the matcher picks
//! candidates with its prefilter and verifies them; each match becomes a
//! [`Raised`] alert.

use super::alert;
use super::app::{AppInspect, RequestFields, Transaction};
use super::buffers::Scratch;
use super::flows::{FlowKey, FlowOptions, SigFlows};
use super::{SignatureConfig, SignatureStats};
use tripline_core::{Alert, Header, LinkInfo, Timestamp};
use tripline_rules::header::AppProto;
use tripline_rules::matcher::{Buffers, FlowContext, Pending};
use tripline_rules::{FlowBits, Inspect, Match, SignatureMatcher};

/// An alert a match raised, with the cross-flow decision still to make
/// when the inspector defers it (see [`tripline_rules::matcher::CrossFlow`]).
pub(crate) struct Raised {
    pub alert: Alert,
    pub pending: Option<Pending>,
}

/// One packet, as the inspector reads it.
#[derive(Clone, Copy)]
pub(crate) struct PacketView<'a> {
    pub ts: Timestamp,
    pub header: &'a Header,
    pub payload: &'a [u8],
    pub link: &'a LinkInfo,
    /// The packet's flow ([`FlowKey::of`] its header).
    pub key: FlowKey,
}

/// The matcher and the per-flow state of the flows one inspector sees.
pub(crate) struct Inspector {
    matcher: SignatureMatcher,
    flows: SigFlows,
    scratch: Scratch,
    app: AppInspect,
    /// A rule needs reassembled TCP streams (application layer or raw
    /// stream inspection); without one, segments are not reassembled.
    reassemble: bool,
    /// A rule inspects the raw stream of established TCP flows.
    stream_rules: bool,
    matches: Vec<Match>,
}

/// What an alert reports of the packet that matched.
struct Evidence<'a> {
    ts: Timestamp,
    header: &'a Header,
    payload: &'a [u8],
    app: Option<AppProto>,
    /// The frame's link layer (VLAN, MAC addresses), for packets.
    link: Option<&'a LinkInfo>,
    /// The application buffers of the matched transaction or packet.
    buffers: Option<Buffers<'a>>,
    /// Where the packet came from (`None` for firewall log records).
    source: Option<alert::PacketSource>,
    /// The matched transaction's number in its flow.
    tx_id: Option<u64>,
    /// For a response: the request it answers.
    request: Option<&'a RequestFields>,
}

impl<'a> Evidence<'a> {
    fn of(ts: Timestamp, header: &'a Header, payload: &'a [u8], app: Option<AppProto>) -> Self {
        Evidence {
            ts,
            header,
            payload,
            app,
            link: None,
            buffers: None,
            source: None,
            tx_id: None,
            request: None,
        }
    }

    /// From a packet of `source`.
    fn from(self, source: alert::PacketSource) -> Self {
        Evidence {
            source: Some(source),
            ..self
        }
    }

    /// For the application transaction `tx` (its number in its flow, the
    /// request a response answers, its buffers).
    fn with_tx(self, tx: &Transaction<'a>) -> Self {
        Evidence {
            tx_id: Some(tx.tx_id),
            request: tx.request,
            buffers: Some(tx.buffers),
            ..self
        }
    }

    /// With the application buffers the rule saw.
    fn with_buffers(self, buffers: Buffers<'a>) -> Self {
        Evidence {
            buffers: Some(buffers),
            ..self
        }
    }

    /// With the packet's link layer.
    fn with_link(self, link: &'a LinkInfo) -> Self {
        Evidence {
            link: Some(link),
            ..self
        }
    }
}

/// Turns the matches into raised alerts (and empties the list); `bits`
/// are the flow's flowbits after the matches, for its traffic tags.
fn raise(
    config: &SignatureConfig,
    matcher: &SignatureMatcher,
    bits: &FlowBits,
    matches: &mut Vec<Match>,
    e: &Evidence<'_>,
    out: &mut Vec<Raised>,
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
        if let Some(source) = e.source {
            alert::add_packet_source(&mut a, e.header, source);
            alert::add_match(&mut a, m.stream, e.tx_id);
        }
        if let Some(link) = e.link {
            alert::add_link(&mut a, link);
        }
        alert::add_traffic(
            &mut a,
            matcher
                .traffic_tags(bits)
                .map(|t| (t.is_id, t.name.as_str())),
        );
        if let (Some(app), Some(b)) = (e.app, e.buffers.as_ref()) {
            alert::add_app(&mut a, app, b, e.request);
        }
        out.push(Raised {
            alert: a,
            pending: m.pending,
        });
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

impl Inspector {
    /// An inspector running `matcher`; `max_flows` and the reassembly caps
    /// are this inspector's share.
    pub(crate) fn new(
        config: &SignatureConfig,
        matcher: SignatureMatcher,
        max_flows: usize,
        reassembly: crate::reassembly::ReassemblyConfig,
    ) -> Self {
        let flows = SigFlows::new(
            max_flows,
            FlowOptions {
                midstream: config.midstream,
                async_oneside: config.async_oneside,
                idle_timeout_ns: 600_000_000_000,
            },
        );
        let stream_rules = matcher.inspects_stream();
        let app_rules = matcher.uses_app_layer();
        Inspector {
            reassemble: stream_rules || app_rules,
            stream_rules,
            matcher,
            flows,
            scratch: Scratch::default(),
            app: AppInspect::new(reassembly, config.http.clone(), app_rules),
            matches: Vec::new(),
        }
    }

    /// The matcher (to switch it to deferred mode, to settle its own
    /// pending matches, for its cross-flow rules).
    pub(crate) fn matcher_mut(&mut self) -> &mut SignatureMatcher {
        &mut self.matcher
    }

    /// True when segments are reassembled (for tests).
    #[cfg(test)]
    pub(crate) fn reassembles(&self) -> (bool, bool) {
        (self.reassemble, self.stream_rules)
    }

    /// Counters (rules/refused left zero: the detector knows them).
    pub(crate) fn stats(&self) -> SignatureStats {
        SignatureStats {
            matcher: self.matcher.stats(),
            flows_evicted: self.flows.evicted(),
            app: self.app.stats(),
            ..SignatureStats::default()
        }
    }

    /// Inspects one captured packet (not a fragment piece).
    pub(crate) fn packet(
        &mut self,
        config: &SignatureConfig,
        p: PacketView<'_>,
        out: &mut Vec<Raised>,
    ) {
        let key = p.key;
        let (flow, f) = self.flows.observe(p.ts, p.header, p.payload.len());
        let Self {
            matcher,
            scratch,
            app,
            matches,
            reassemble,
            stream_rules,
            ..
        } = self;
        let tcp = p.header.protocol == 6 && *reassemble;
        let source = if flow.reassembled_fragment {
            alert::PacketSource::Defrag
        } else {
            alert::PacketSource::Wire
        };
        // Application transactions completed by this segment.
        let mut position = None;
        if tcp {
            position = app.segment(&key, p.header, p.payload, p.ts, flow.to_server, &mut |tx| {
                // A transaction, not a packet: IP-only rules were evaluated
                // on the packets.
                let ctx = FlowContext {
                    to_server: tx.to_server,
                    stream: true,
                    repeat: true,
                    ..flow
                };
                let i = Inspect::transaction(p.ts, p.header, p.payload, ctx, tx.proto, tx.buffers);
                matcher.inspect(&i, &mut f.bits, matches);
                let evidence = Evidence::of(p.ts, p.header, p.payload, Some(tx.proto))
                    .from(source)
                    .with_tx(tx)
                    .with_link(p.link);
                raise(config, matcher, &f.bits, matches, &evidence, out);
            });
        }
        let mut inspect = Inspect::packet(p.ts, p.header, p.payload, flow);
        scratch.fill(p.header, p.payload, &mut inspect);
        if inspect.app_proto.is_none() && tcp {
            inspect.app_proto = app.proto(&key);
        }
        // Raw stream inspection on established flows (as Suricata, whose
        // stream engine takes data only once the session is).
        if let Some(pos) = position.filter(|_| *stream_rules && flow.established) {
            inspect.stream = Some(app.stream_data(&key, &pos, config.reassembly.window));
        }
        let evidence = Evidence::of(p.ts, p.header, p.payload, inspect.app_proto)
            .from(source)
            .with_link(p.link)
            .with_buffers(inspect.buffers);
        matcher.inspect(&inspect, &mut f.bits, matches);
        raise(config, matcher, &f.bits, matches, &evidence, out);
    }

    /// Inspects one firewall log record with the header-only rules.
    pub(crate) fn firewall(
        &mut self,
        config: &SignatureConfig,
        ts: Timestamp,
        header: &Header,
        out: &mut Vec<Raised>,
    ) {
        let flow = FlowContext {
            to_server: true,
            ..FlowContext::default()
        };
        let inspect = Inspect::header_only(ts, header, logged_payload_len(header), flow);
        self.scratch.clear();
        let mut bits = FlowBits::default();
        self.matcher.inspect(&inspect, &mut bits, &mut self.matches);
        let evidence = Evidence::of(ts, header, &[], None);
        raise(
            config,
            &self.matcher,
            &bits,
            &mut self.matches,
            &evidence,
            out,
        );
    }

    /// The input ended: transactions the parsers still hold (a request
    /// whose head never ended, a body cut by the end of the capture) are
    /// completed and inspected, as Suricata does when a flow ends; in flow
    /// key order, each alert with its flow's key.
    pub(crate) fn finish(&mut self, config: &SignatureConfig, out: &mut Vec<(FlowKey, Raised)>) {
        let Self {
            matcher,
            app,
            flows,
            matches,
            ..
        } = self;
        let mut raised = Vec::new();
        app.flush(&mut |key, tx| {
            let Some((header, ts, flow, bits)) = flows.at_end(key, tx.to_server) else {
                return;
            };
            let i = Inspect::transaction(ts, &header, &[], flow, tx.proto, tx.buffers);
            matcher.inspect(&i, bits, matches);
            let evidence = Evidence::of(ts, &header, &[], Some(tx.proto))
                .from(alert::PacketSource::FlowEnd)
                .with_tx(tx);
            raise(config, matcher, bits, matches, &evidence, &mut raised);
            out.extend(raised.drain(..).map(|r| (*key, r)));
        });
    }
}
