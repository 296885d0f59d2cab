//! Alerts held back while the detectors look at one event, then handed on
//! with the source's passive OS guess attached.
//!
//! The osfp detector sits in the same list as the detectors whose alerts it
//! should annotate, so it cannot be consulted while one of them runs (the
//! list is borrowed mutably). The engine therefore collects the alerts of
//! one event (a record, a connection, a DNS event, the end of input) in a
//! reused buffer and releases them once every detector has seen the event;
//! by then osfp has also fingerprinted the current packet. Connection, DNS
//! and auth products pass straight through, so alerts still reach the
//! output before the connection that caused them.

use crate::detectors::Detector;
use crate::detectors::connwatch::ConnVerdict;
use crate::detectors::osfp::OsfpDetector;
use crate::engine::EngineOutput;
use tripline_core::{Alert, AuthLog, Connection, DnsLog};

/// An [`EngineOutput`] that holds alerts until [`HeldAlerts::release`].
pub(super) struct HeldAlerts<'o> {
    out: &'o mut dyn EngineOutput,
    /// The alerts, each with whether the engine should annotate it.
    held: &'o mut Vec<(Alert, bool)>,
}

impl<'o> HeldAlerts<'o> {
    /// Wraps `out`; `held` is the engine's buffer (empty between events, its
    /// capacity kept so steady-state processing does not allocate for it).
    pub(super) fn new(out: &'o mut dyn EngineOutput, held: &'o mut Vec<(Alert, bool)>) -> Self {
        HeldAlerts { out, held }
    }

    /// Hands the held alerts on in the order they were raised, each with
    /// the OS guess of its source when the osfp detector (at `osfp` in
    /// `detectors`) has one and the detector did not decide it already
    /// ([`EngineOutput::alert_annotated`]).
    pub(super) fn release(&mut self, detectors: &mut [Box<dyn Detector>], osfp: Option<usize>) {
        if self.held.is_empty() {
            return;
        }
        let fingerprints = osfp
            .and_then(|i| detectors.get_mut(i))
            .and_then(|d| d.as_any_mut())
            .and_then(|a| a.downcast_ref::<OsfpDetector>());
        for (mut alert, annotate) in self.held.drain(..) {
            if let Some(f) = fingerprints.filter(|_| annotate) {
                f.annotate(&mut alert);
            }
            self.out.alert(alert);
        }
    }
}

impl EngineOutput for HeldAlerts<'_> {
    fn connection(&mut self, c: Connection) {
        self.out.connection(c);
    }

    fn dns(&mut self, d: DnsLog) {
        self.out.dns(d);
    }

    fn auth(&mut self, a: AuthLog) {
        self.out.auth(a);
    }

    fn alert(&mut self, a: Alert) {
        self.held.push((a, true));
    }

    fn alert_annotated(&mut self, a: Alert) {
        self.held.push((a, false));
    }

    fn connection_verdict(&mut self, c: &Connection, v: &ConnVerdict<'_>) {
        self.out.connection_verdict(c, v);
    }
}
