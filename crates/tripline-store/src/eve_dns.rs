//! The EVE `dns` event, version 3 (Suricata 8): requests carry `queries`,
//! responses carry `queries`, `rcode` and `answers` (and optionally
//! `grouped`); a response's `src_ip` is the responder.

use crate::eve::{EveOptions, EveTime, Event, FlowVar, Metadata};
use crate::rows::dns_event_str;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use tripline_core::{DnsData, DnsEvent, DnsLog, DnsOrigin};

/// The `dns` object.
#[derive(Serialize)]
pub(crate) struct DnsBody<'a> {
    version: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    qr: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rcode: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    queries: Vec<Query<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    answers: Vec<Answer<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grouped: Option<BTreeMap<&'static str, Vec<Rdata<'a>>>>,
}

#[derive(Serialize)]
struct Query<'a> {
    rrname: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rrtype: Option<&'a str>,
}

#[derive(Serialize)]
struct Answer<'a> {
    rrname: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rrtype: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rdata: Option<Rdata<'a>>,
}

#[derive(Serialize, Clone, Copy)]
#[serde(untagged)]
enum Rdata<'a> {
    Addr(IpAddr),
    Text(&'a str),
}

/// Record types whose `grouped` entry is a list of strings in the schema.
const GROUPED_STRING_TYPES: &[&str] = &["A", "AAAA", "CNAME", "MX", "NS", "NULL", "PTR", "TXT"];

fn is_request(e: DnsEvent) -> bool {
    matches!(e, DnsEvent::Query | DnsEvent::Forwarded)
}

/// The response code: as logged, else inferred from the answers.
fn rcode(d: &DnsLog) -> &str {
    if let Some(r) = d.rcode.as_deref().filter(|r| !r.is_empty()) {
        return r;
    }
    if d.answers.iter().any(|a| a.data == DnsData::NxDomain) {
        "NXDOMAIN"
    } else {
        "NOERROR"
    }
}

fn answer<'a>(d: &'a DnsLog, a: &'a tripline_core::DnsAnswer) -> Option<Answer<'a>> {
    let other_type =
        Some(d.qtype.as_str()).filter(|t| !t.is_empty() && !matches!(*t, "A" | "AAAA" | "CNAME"));
    let (rrtype, rdata) = match &a.data {
        DnsData::Addr(ip @ IpAddr::V4(_)) => (Some("A"), Some(Rdata::Addr(*ip))),
        DnsData::Addr(ip @ IpAddr::V6(_)) => (Some("AAAA"), Some(Rdata::Addr(*ip))),
        DnsData::Cname(t) => (
            Some("CNAME"),
            Some(t.as_str()).filter(|t| !t.is_empty()).map(Rdata::Text),
        ),
        DnsData::Other(t) => (other_type, Some(Rdata::Text(t))),
        // Not resource records: they show as the rcode.
        DnsData::NxDomain | DnsData::NoData => return None,
    };
    Some(Answer {
        rrname: &a.name,
        rrtype,
        ttl: a.ttl,
        rdata,
    })
}

/// Builds the whole `dns` event for one record.
pub(crate) fn dns_event<'a>(d: &'a DnsLog, opts: &'a EveOptions) -> Event<'a> {
    let request = is_request(d.event);
    let queries = vec![Query {
        rrname: &d.name,
        rrtype: Some(d.qtype.as_str()).filter(|t| !t.is_empty()),
    }];
    let answers: Vec<Answer<'a>> = if request {
        Vec::new()
    } else {
        d.answers.iter().filter_map(|a| answer(d, a)).collect()
    };
    let grouped = (opts.dns_grouped && !answers.is_empty())
        .then(|| {
            let mut g: BTreeMap<&'static str, Vec<Rdata<'a>>> = BTreeMap::new();
            for a in &answers {
                let (Some(t), Some(r)) = (a.rrtype, a.rdata) else {
                    continue;
                };
                if let Some(key) = GROUPED_STRING_TYPES.iter().find(|k| **k == t) {
                    g.entry(key).or_default().push(r);
                }
            }
            g
        })
        .filter(|g| !g.is_empty());
    let body = DnsBody {
        version: 3,
        kind: if request { "request" } else { "response" },
        id: d.id,
        qr: (!request).then_some(true),
        rcode: (!request).then(|| rcode(d)),
        queries,
        answers,
        grouped,
    };
    // Version 3: a response goes from the server to the client.
    let (src, dst) = if request {
        (d.client, d.server)
    } else {
        (d.server, d.client)
    };
    let metadata = opts.extras.then(|| {
        let mut flowvars = vec![
            FlowVar {
                key: "tripline.dns_event",
                value: dns_event_str(d.event),
            },
            FlowVar {
                key: "tripline.dns_origin",
                value: match d.origin {
                    DnsOrigin::Dnsmasq => "dnsmasq",
                    DnsOrigin::Packet => "packet",
                },
            },
        ];
        if d.from_config {
            flowvars.push(FlowVar {
                key: "tripline.from_config",
                value: "true",
            });
        }
        if d.blocked {
            flowvars.push(FlowVar {
                key: "tripline.blocked",
                value: "true",
            });
        }
        Metadata { flowvars }
    });
    Event {
        timestamp: Some(EveTime(d.ts)),
        event_type: "dns",
        src_ip: src,
        dest_ip: dst,
        host: opts.sensor_name.as_deref(),
        dns: Some(body),
        metadata,
        ..Event::default()
    }
}
