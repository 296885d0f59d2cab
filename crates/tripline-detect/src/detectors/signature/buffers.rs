//! Filling the inspection buffers of one packet: the payload always, and
//! the application buffers the packet carries (`dns.query` from a parsed
//! DNS message). The text is written into reusable scratch space.

use tripline_core::{Header, Transport};
use tripline_ingest::app::dns;
use tripline_rules::Buffer;
use tripline_rules::Inspect;
use tripline_rules::header::AppProto;

/// Reusable space for the buffers of one packet.
#[derive(Default)]
pub(crate) struct Scratch {
    query: String,
    app: Option<AppProto>,
}

impl Scratch {
    /// Forgets the previous packet.
    pub(crate) fn clear(&mut self) {
        self.query.clear();
        self.app = None;
    }

    /// Parses what the packet carries and points `inspect`'s buffers at it.
    pub(crate) fn fill<'s>(&'s mut self, h: &Header, payload: &[u8], inspect: &mut Inspect<'s>) {
        self.clear();
        let (tcp, sport, dport) = match h.transport {
            Transport::Udp(u) => (false, u.sport, u.dport),
            Transport::Tcp(t) => (true, t.sport, t.dport),
            _ => return,
        };
        if payload.is_empty() || (sport != 53 && dport != 53) {
            return;
        }
        let msg = if tcp {
            dns::parse_tcp_message(payload)
        } else {
            dns::parse_message(payload)
        };
        let Ok(msg) = msg else {
            return;
        };
        self.app = Some(AppProto::Dns);
        // `dns.query` is a request buffer (as in Suricata): responses repeat
        // the question but do not fill it.
        if let Some(q) = msg.question.filter(|_| !msg.qr) {
            for (i, label) in q.name.labels().enumerate() {
                if i > 0 {
                    self.query.push('.');
                }
                self.query.push_str(&String::from_utf8_lossy(label));
            }
        }
        inspect.app_proto = self.app;
        if !self.query.is_empty() {
            inspect.buffers.set(Buffer::DnsQuery, self.query.as_bytes());
        }
    }
}
