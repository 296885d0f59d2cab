//! Detectors: one file each behind the [`Detector`] trait, registered here.
//!
//! A detector sees every record, every finished connection and every DNS
//! event, and raises alerts through [`EngineOutput::alert`]. It keeps its own
//! bounded state. Adding a detector means one new file, one line in
//! [`registry`] and its configuration section.

pub mod bruteforce;
pub mod connwatch;
pub mod filter;
pub mod osfp;
pub mod scan;
pub mod signature;
pub mod tripwire;

use crate::dns_cache::NameLookup;
use crate::engine::{EngineConfig, EngineOutput};
use std::any::Any;
use tripline_core::{Connection, DnsLog, HomeNets, Record, Timestamp};

/// What a detector may consult besides the record itself.
#[derive(Clone, Copy, Debug)]
pub struct DetectContext<'a> {
    /// The configured home networks.
    pub home_nets: &'a HomeNets,
    /// The engine's clock: the latest record time seen (capture time).
    pub now: Timestamp,
    /// The osfp detector's guesses as of the current record, for
    /// detectors that run after it and hand alerts on later (in
    /// [`Detector::on_record`] only; `None` elsewhere or without osfp).
    pub os: Option<&'a osfp::OsfpDetector>,
}

/// One detection method.
pub trait Detector {
    /// Stable short name (`scan`, `tripwire`...), used in alerts and metrics.
    fn name(&self) -> &'static str;

    /// Every input record, in order.
    fn on_record(&mut self, rec: &Record<'_>, ctx: &DetectContext<'_>, out: &mut dyn EngineOutput);

    /// Every connection record (from the flow table or a firewall line),
    /// before it is handed to the outputs.
    fn on_connection(
        &mut self,
        _conn: &Connection,
        _ctx: &DetectContext<'_>,
        _out: &mut dyn EngineOutput,
    ) {
    }

    /// Every connection record with the DNS name the engine's cache gives
    /// it (direct unless a home address originated it). The engine calls
    /// this, not [`Detector::on_connection`]; by default it forwards there.
    fn on_named_connection(
        &mut self,
        conn: &Connection,
        _names: &NameLookup<'_>,
        ctx: &DetectContext<'_>,
        out: &mut dyn EngineOutput,
    ) {
        self.on_connection(conn, ctx, out);
    }

    /// The detector as `Any`, for the few that expose state to the engine's
    /// owner (connwatch's "seen" memory); `None` by default.
    fn as_any_mut(&mut self) -> Option<&mut dyn Any> {
        None
    }

    /// Every DNS event, from a DNS log or parsed from a DNS packet.
    fn on_dns(&mut self, _dns: &DnsLog, _ctx: &DetectContext<'_>, _out: &mut dyn EngineOutput) {}

    /// The engine's clock moved without input, or live input is waiting
    /// for data: hand on what is held back.
    fn on_advance(&mut self, _ctx: &DetectContext<'_>, _out: &mut dyn EngineOutput) {}

    /// End of input: report what is still pending.
    fn finish(&mut self, _ctx: &DetectContext<'_>, _out: &mut dyn EngineOutput) {}
}

/// The detectors enabled by `config`, in a fixed order (so alerts come out
/// in the same order on every run). None are built in yet: the scan,
/// tripwire and connwatch detectors register here when they land.
pub fn registry(config: &EngineConfig) -> Vec<Box<dyn Detector>> {
    let mut v: Vec<Box<dyn Detector>> = Vec::new();
    if config.connwatch.enabled {
        v.push(Box::new(connwatch::Connwatch::new(
            config.connwatch.clone(),
        )));
    }
    if config.scan.enabled {
        v.push(Box::new(scan::ScanDetector::new(config.scan.clone())));
    }
    if config.tripwire.enabled {
        v.push(Box::new(tripwire::TripwireDetector::new(
            config.tripwire.clone(),
        )));
    }
    if config.bruteforce.enabled {
        v.push(Box::new(bruteforce::BruteforceDetector::new(
            config.bruteforce.clone(),
        )));
    }
    if config.osfp.enabled {
        v.push(Box::new(osfp::OsfpDetector::new(config.osfp.clone())));
    }
    if config.signature.enabled && !config.signature.rules.is_empty() {
        v.push(Box::new(signature::SignatureDetector::new(
            config.signature.clone(),
        )));
    }
    if config.filter.enabled && !config.filter.filters.is_empty() {
        // Rejected expressions were reported when the list was loaded.
        let (filter, _rejected) = filter::FilterDetector::new(config.filter.clone());
        v.push(Box::new(filter));
    }
    v
}
