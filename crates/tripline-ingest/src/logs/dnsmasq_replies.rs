//! Turning dnsmasq's line-per-answer log into one DNS record per question.
//!
//! dnsmasq logs each answer record on its own line. Consecutive
//! `reply`/`cached`/`config`/hosts lines that answer the same question form
//! one group: same source, same process, same (or no) `log-queries=extra`
//! serial, within a second, and either the same name and address family
//! (A answers do not continue an AAAA group) or the target of the CNAME
//! before it (`reply video.example.com is <CNAME>` then `reply
//! files.example.net is 10.99.2.3`: the CNAME's target is that next name).
//! A repeated answer starts a new group.
//!
//! Emission: a group is emitted when the next line arrives that does not
//! continue it (any line, from any program, so records stay in time order),
//! or when [`DnsmasqAssembler::flush`] is called at the end of input (or when
//! a followed log goes idle). There is no lookahead beyond that one line.
//!
//! Attribution: queries are remembered by name (bounded: at most
//! [`MAX_NAMES`] names, [`PER_NAME`] queries each, oldest evicted and
//! counted). A group is attributed to the latest query for its question name
//! whose type fits the answers' family, preferring one not yet answered;
//! with `log-queries=extra` the serial picks the query.

use super::dnsmasq::{AnswerSource, DnsmasqEvent, DnsmasqLine};
use std::collections::HashMap;
use std::net::IpAddr;
use tripline_core::{DnsAnswer, DnsData, DnsEvent, DnsLog, DnsOrigin, Record, Timestamp};

/// Most query names remembered for attribution.
pub const MAX_NAMES: usize = 4096;
/// Most recent queries remembered per name.
pub const PER_NAME: usize = 8;

/// The address family an answer or query type implies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Family {
    V4,
    V6,
}

#[derive(Clone, Debug)]
struct RecentQuery {
    seq: u64,
    qtype: String,
    client: IpAddr,
    serial: Option<u32>,
    server: Option<IpAddr>,
    answered: bool,
}

/// One group of answer lines waiting for its last line.
#[derive(Debug)]
struct Group {
    ts: Timestamp,
    pid: Option<u32>,
    event: DnsEvent,
    hosts_path: String,
    serial: Option<u32>,
    client: Option<IpAddr>,
    question: String,
    last_logged_name: String,
    ptr: bool,
    family: Option<Family>,
    rcode: Option<&'static str>,
    answers: Vec<DnsAnswer>,
}

/// Groups dnsmasq answer lines and attributes them to the queries before them.
#[derive(Debug, Default)]
pub struct DnsmasqAssembler {
    pending: Option<Group>,
    recent: HashMap<String, Vec<RecentQuery>>,
    seq: u64,
    last_forwarded: String,
    evicted: u64,
}

impl DnsmasqAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queries dropped from the attribution memory because of its caps.
    pub fn evicted_queries(&self) -> u64 {
        self.evicted
    }

    /// True when a group is waiting for its next line.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes one dnsmasq message logged at `ts` by process `pid`.
    pub fn push(
        &mut self,
        ts: Timestamp,
        pid: Option<u32>,
        line: &DnsmasqLine<'_>,
        emit: &mut dyn FnMut(&Record<'_>),
    ) {
        match line.event {
            DnsmasqEvent::Query {
                qtype,
                name,
                client,
            } => {
                self.flush(emit);
                let client = line.client.map_or(client, |c| c.0);
                self.remember(name, qtype, client, line.serial);
                emit(&Record::Dns(DnsLog {
                    ts,
                    origin: DnsOrigin::Dnsmasq,
                    event: DnsEvent::Query,
                    client: Some(client),
                    server: None,
                    id: line.serial,
                    name: name.to_string(),
                    qtype: qtype.to_string(),
                    rcode: None,
                    answers: Vec::new(),
                    from_config: false,
                    blocked: false,
                }));
            }
            DnsmasqEvent::Forwarded { name, server } => {
                self.flush(emit);
                self.last_forwarded.clear();
                self.last_forwarded.push_str(name);
                let query = self.find(name, None, line.serial).map(|q| {
                    q.server = Some(server);
                    (q.client, q.qtype.clone(), q.serial)
                });
                let (client, qtype, serial) = match query {
                    Some((c, t, s)) => (Some(c), t, s.or(line.serial)),
                    None => (line.client.map(|c| c.0), String::new(), line.serial),
                };
                emit(&Record::Dns(DnsLog {
                    ts,
                    origin: DnsOrigin::Dnsmasq,
                    event: DnsEvent::Forwarded,
                    client,
                    server: Some(server),
                    id: serial,
                    name: name.to_string(),
                    qtype,
                    rcode: None,
                    answers: Vec::new(),
                    from_config: false,
                    blocked: false,
                }));
            }
            DnsmasqEvent::Answer { source, name, data } => {
                self.answer(ts, pid, line, source, name, data, emit)
            }
            DnsmasqEvent::Chatter => self.flush(emit),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &mut self,
        ts: Timestamp,
        pid: Option<u32>,
        line: &DnsmasqLine<'_>,
        source: AnswerSource<'_>,
        name: &str,
        data: &str,
        emit: &mut dyn FnMut(&Record<'_>),
    ) {
        let (event, path) = match source {
            AnswerSource::Reply => (DnsEvent::Reply, ""),
            AnswerSource::Cached => (DnsEvent::Cached, ""),
            AnswerSource::Config => (DnsEvent::Config, ""),
            AnswerSource::Hosts(p) => (DnsEvent::Hosts, p),
        };
        let (answer, family, rcode) = answer_data(data);
        let ptr = matches!(answer, Some(DnsData::Other(_))) && name.parse::<IpAddr>().is_ok();
        let continues = self.pending.as_ref().is_some_and(|g| {
            let last = g.answers.last();
            let after_cname = matches!(
                last,
                Some(DnsAnswer {
                    data: DnsData::Cname(_),
                    ..
                })
            ) && name != g.last_logged_name;
            let same_name =
                name == g.last_logged_name && g.family.zip(family).is_none_or(|(a, b)| a == b);
            let repeated = g.last_logged_name == name
                && last.is_some_and(|a| Some(&a.data) == answer.as_ref());
            g.pid == pid
                && g.event == event
                && g.hosts_path == path
                && g.serial == line.serial
                && g.rcode.is_none()
                && rcode.is_none()
                && ts.0.saturating_sub(g.ts.0) <= 1_000_000_000
                && (after_cname || same_name)
                && !repeated
        });
        if !continues {
            self.flush(emit);
            let question = if rcode.is_some() && answer.is_none() {
                self.last_forwarded.clone()
            } else if ptr {
                reverse_name(name)
            } else {
                name.to_string()
            };
            self.pending = Some(Group {
                ts,
                pid,
                event,
                hosts_path: path.to_string(),
                serial: line.serial,
                client: line.client.map(|c| c.0),
                question,
                last_logged_name: String::new(),
                ptr,
                family: None,
                rcode: None,
                answers: Vec::new(),
            });
        }
        let Some(g) = self.pending.as_mut() else {
            return;
        };
        let new_name = continues && g.last_logged_name != name;
        if let Some(DnsAnswer {
            data: DnsData::Cname(target),
            ..
        }) = g.answers.last_mut()
            && target.is_empty()
            && new_name
        {
            target.push_str(name);
        }
        g.family = g.family.or(family);
        g.rcode = g.rcode.or(rcode);
        g.last_logged_name.clear();
        g.last_logged_name.push_str(name);
        if let Some(data) = answer {
            let owner = if ptr {
                reverse_name(name)
            } else {
                name.to_string()
            };
            g.answers.push(DnsAnswer {
                name: owner,
                data,
                ttl: None,
            });
        }
    }

    /// Emits the waiting group, if any (end of input, idle follow).
    pub fn flush(&mut self, emit: &mut dyn FnMut(&Record<'_>)) {
        let Some(g) = self.pending.take() else { return };
        let serial = g.serial;
        let (client, qtype, server, id) = match self.find(&g.question, g.family, serial) {
            Some(q) => {
                q.answered = true;
                (Some(q.client), q.qtype.clone(), q.server, q.serial)
            }
            None => (None, String::new(), None, None),
        };
        let qtype = if !qtype.is_empty() {
            qtype
        } else if g.ptr {
            "PTR".to_string()
        } else {
            match g.family {
                Some(Family::V4) => "A".to_string(),
                Some(Family::V6) => "AAAA".to_string(),
                None => String::new(),
            }
        };
        let nxdomain = g.answers.iter().any(|a| a.data == DnsData::NxDomain);
        let from_config = matches!(g.event, DnsEvent::Config | DnsEvent::Hosts);
        let localhost = g.question == "localhost" || g.question.ends_with(".localhost");
        let sinkhole = g
            .answers
            .iter()
            .any(|a| matches!(a.data, DnsData::Addr(ip) if is_sinkhole(ip)));
        let blocked =
            !localhost && ((from_config && sinkhole) || (g.event == DnsEvent::Config && nxdomain));
        let rcode = g
            .rcode
            .unwrap_or(if nxdomain { "NXDOMAIN" } else { "NOERROR" });
        emit(&Record::Dns(DnsLog {
            ts: g.ts,
            origin: DnsOrigin::Dnsmasq,
            event: g.event,
            client: g.client.or(client),
            server: if g.event == DnsEvent::Reply {
                server
            } else {
                None
            },
            id: serial.or(id),
            name: g.question,
            qtype,
            rcode: Some(rcode.to_string()),
            answers: g.answers,
            from_config,
            blocked,
        }));
    }

    fn remember(&mut self, name: &str, qtype: &str, client: IpAddr, serial: Option<u32>) {
        self.seq += 1;
        if self.recent.len() >= MAX_NAMES && !self.recent.contains_key(name) {
            // Drop every name not asked during the last MAX_NAMES / 2 queries:
            // amortised O(1), and at least half of the map goes.
            let threshold = self.seq.saturating_sub(MAX_NAMES as u64 / 2);
            let mut dropped = 0u64;
            self.recent.retain(|_, qs| {
                let keep = qs.last().is_some_and(|q| q.seq >= threshold);
                if !keep {
                    dropped += qs.len() as u64;
                }
                keep
            });
            self.evicted += dropped;
        }
        let list = self.recent.entry(name.to_string()).or_default();
        if list.len() >= PER_NAME {
            list.remove(0);
            self.evicted += 1;
        }
        list.push(RecentQuery {
            seq: self.seq,
            qtype: qtype.to_string(),
            client,
            serial,
            server: None,
            answered: false,
        });
    }

    /// The query a group or forward belongs to (see the module docs).
    fn find(
        &mut self,
        name: &str,
        family: Option<Family>,
        serial: Option<u32>,
    ) -> Option<&mut RecentQuery> {
        let list = self.recent.get_mut(name)?;
        if serial.is_some()
            && let Some(i) = list.iter().rposition(|q| q.serial == serial)
        {
            return list.get_mut(i);
        }
        let fits = |q: &RecentQuery| family.is_none() || qtype_family(&q.qtype) == family;
        let i = list
            .iter()
            .rposition(|q| fits(q) && !q.answered)
            .or_else(|| list.iter().rposition(fits))
            .or(list.len().checked_sub(1))?;
        list.get_mut(i)
    }
}

fn qtype_family(qtype: &str) -> Option<Family> {
    match qtype {
        "A" => Some(Family::V4),
        "AAAA" => Some(Family::V6),
        _ => None,
    }
}

/// 0.0.0.0, `::` and 127.x: the answers a blocklist gives.
fn is_sinkhole(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_unspecified() || v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_unspecified(),
    }
}

/// (answer, family it implies, rcode it implies) for the DATA of `name is DATA`.
fn answer_data(data: &str) -> (Option<DnsData>, Option<Family>, Option<&'static str>) {
    match data {
        "NXDOMAIN" => (Some(DnsData::NxDomain), None, None),
        "NODATA" => (Some(DnsData::NoData), None, None),
        "NODATA-IPv4" => (Some(DnsData::NoData), Some(Family::V4), None),
        "NODATA-IPv6" => (Some(DnsData::NoData), Some(Family::V6), None),
        "<CNAME>" => (Some(DnsData::Cname(String::new())), None, None),
        "REFUSED" => (None, None, Some("REFUSED")),
        "SERVFAIL" => (None, None, Some("SERVFAIL")),
        "NOTIMP" => (None, None, Some("NOTIMP")),
        "FORMERR" => (None, None, Some("FORMERR")),
        _ => match data.parse::<IpAddr>() {
            Ok(ip @ IpAddr::V4(_)) => (Some(DnsData::Addr(ip)), Some(Family::V4), None),
            Ok(ip @ IpAddr::V6(_)) => (Some(DnsData::Addr(ip)), Some(Family::V6), None),
            Err(_) => (Some(DnsData::Other(data.to_string())), None, None),
        },
    }
}

/// `10.99.2.2` → `2.2.99.10.in-addr.arpa` (and nibbles under `ip6.arpa`).
fn reverse_name(addr: &str) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => {
            let o = v4.octets();
            let _ = write!(out, "{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0]);
        }
        Ok(IpAddr::V6(v6)) => {
            for b in v6.octets().iter().rev() {
                let _ = write!(out, "{:x}.{:x}.", b & 0xf, b >> 4);
            }
            out.push_str("ip6.arpa");
        }
        Err(_) => out.push_str(addr),
    }
    out
}

#[cfg(test)]
#[path = "dnsmasq_replies_tests.rs"]
mod tests;
