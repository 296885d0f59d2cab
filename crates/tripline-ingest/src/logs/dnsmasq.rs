//! dnsmasq `log-queries` messages, one at a time.
//!
//! Forms: `query[TYPE] name from client`, `forwarded name to server`,
//! `reply|cached|cached-stale|config name is DATA`, `/path/to/hosts name is
//! addr`, each optionally preceded by `log-queries=extra`'s `serial
//! client/port ` (`1234 10.0.0.2/53412 query[A] ...`). DATA is an address,
//! `<CNAME>` (the target follows as the next line's name), `NXDOMAIN`,
//! `NODATA`, `NODATA-IPv4`, `NODATA-IPv6`, `<HTTPS>`-style type markers, a
//! name (PTR answers, logged as `reply 10.99.2.2 is www.example.com`), or an
//! rcode (`reply error is REFUSED`). Everything else dnsmasq says (start-up,
//! `using nameserver`, `read /etc/hosts - N names`, DHCP, DNSSEC) is chatter.
//!
//! Grouping answers into one record per question is
//! [`super::dnsmasq_replies`]'s job; this module only reads one message.

use super::LineError;
use std::net::IpAddr;

/// Where dnsmasq took an answer from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerSource<'a> {
    /// `reply`: from upstream.
    Reply,
    /// `cached` or `cached-stale`: from the cache.
    Cached,
    /// `config`: from `address=`, `local=` and similar options.
    Config,
    /// A hosts file (`/etc/hosts`, `addn-hosts`), by path.
    Hosts(&'a str),
}

/// What one dnsmasq message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsmasqEvent<'a> {
    /// `query[TYPE] name from client`.
    Query {
        /// `A`, `AAAA`, `PTR`, `TYPE65`...
        qtype: &'a str,
        /// The name asked.
        name: &'a str,
        /// Who asked.
        client: IpAddr,
    },
    /// `forwarded name to server`.
    Forwarded {
        /// The name forwarded.
        name: &'a str,
        /// The upstream server.
        server: IpAddr,
    },
    /// `reply|cached|config|/hosts name is data`.
    Answer {
        /// Where the answer came from.
        source: AnswerSource<'a>,
        /// The owner name as logged (an address for PTR answers).
        name: &'a str,
        /// The data as logged.
        data: &'a str,
    },
    /// Start-up lines, statistics, DHCP, DNSSEC...: nothing to record.
    Chatter,
}

/// One dnsmasq message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DnsmasqLine<'a> {
    /// `log-queries=extra` serial number of the query this line belongs to.
    pub serial: Option<u32>,
    /// `log-queries=extra` client address and port.
    pub client: Option<(IpAddr, u16)>,
    /// What the line says.
    pub event: DnsmasqEvent<'a>,
}

/// Parses one dnsmasq message (the text after the syslog envelope).
///
/// Chatter is `Ok` with [`DnsmasqEvent::Chatter`]; a message that starts like
/// a query, forward or answer but is malformed is a `BadField`.
pub fn parse(msg: &str) -> Result<DnsmasqLine<'_>, LineError> {
    let (serial, client, msg) = extra_prefix(msg)?;
    let (verb, rest) = split(msg);
    let event = if let Some(qtype) = verb.strip_prefix("query[") {
        let qtype = qtype
            .strip_suffix(']')
            .filter(|t| !t.is_empty())
            .ok_or(LineError::bad("query", "no [TYPE]"))?;
        let (name, rest) = split(rest);
        let client = rest
            .strip_prefix("from ")
            .ok_or(LineError::bad("query", "no 'from'"))?;
        DnsmasqEvent::Query {
            qtype,
            name: nonempty(name, "name")?,
            client: address(client, "client")?,
        }
    } else if verb == "forwarded" {
        let (name, rest) = split(rest);
        let server = rest
            .strip_prefix("to ")
            .ok_or(LineError::bad("forwarded", "no 'to'"))?;
        DnsmasqEvent::Forwarded {
            name: nonempty(name, "name")?,
            server: address(server, "server")?,
        }
    } else if let Some(source) = answer_source(verb) {
        let (name, rest) = split(rest);
        let data = rest
            .strip_prefix("is ")
            .ok_or(LineError::bad(verb_field(source), "no 'is'"))?;
        DnsmasqEvent::Answer {
            source,
            name: nonempty(name, "name")?,
            data: nonempty(data, "data")?,
        }
    } else {
        DnsmasqEvent::Chatter
    };
    Ok(DnsmasqLine {
        serial,
        client,
        event,
    })
}

fn verb_field(source: AnswerSource<'_>) -> &'static str {
    match source {
        AnswerSource::Reply => "reply",
        AnswerSource::Cached => "cached",
        AnswerSource::Config => "config",
        AnswerSource::Hosts(_) => "hosts file",
    }
}

fn answer_source(verb: &str) -> Option<AnswerSource<'_>> {
    Some(match verb {
        "reply" => AnswerSource::Reply,
        "cached" | "cached-stale" => AnswerSource::Cached,
        "config" => AnswerSource::Config,
        path if path.starts_with('/') && path.len() > 1 => AnswerSource::Hosts(path),
        _ => return None,
    })
}

/// (serial, client and port, rest of the message).
type ExtraPrefix<'a> = (Option<u32>, Option<(IpAddr, u16)>, &'a str);

/// `serial client/port ` of `log-queries=extra`, if present.
fn extra_prefix(msg: &str) -> Result<ExtraPrefix<'_>, LineError> {
    let (first, rest) = split(msg);
    if first.is_empty() || !first.bytes().all(|c| c.is_ascii_digit()) {
        return Ok((None, None, msg));
    }
    let serial = first
        .parse::<u32>()
        .map_err(|_| LineError::bad("serial", "out of range"))?;
    let (peer, rest) = split(rest);
    // Digits not followed by address/port: not the extra form (chatter).
    let Some((ip, port)) = peer.rsplit_once('/') else {
        return Ok((None, None, msg));
    };
    let ip = address(ip, "client")?;
    let port = port
        .parse::<u16>()
        .map_err(|_| LineError::bad("client", "bad port"))?;
    Ok((Some(serial), Some((ip, port)), rest))
}

fn split(s: &str) -> (&str, &str) {
    match memchr::memchr(b' ', s.as_bytes()) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    }
}

fn nonempty<'a>(s: &'a str, field: &'static str) -> Result<&'a str, LineError> {
    if s.is_empty() {
        Err(LineError::bad(field, "empty"))
    } else {
        Ok(s)
    }
}

/// An address, allowing dnsmasq's `#port` suffix on servers.
fn address(s: &str, field: &'static str) -> Result<IpAddr, LineError> {
    let s = s.split_once('#').map_or(s, |(a, _)| a);
    s.parse()
        .map_err(|_| LineError::bad(field, "not an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(msg: &str) -> DnsmasqEvent<'_> {
        parse(msg).unwrap().event
    }

    #[test]
    fn reads_the_forms() {
        assert_eq!(
            ev("query[AAAA] www.example.com from 10.99.1.2"),
            DnsmasqEvent::Query {
                qtype: "AAAA",
                name: "www.example.com",
                client: "10.99.1.2".parse().unwrap()
            }
        );
        assert_eq!(
            ev("forwarded www.example.com to 10.99.2.53"),
            DnsmasqEvent::Forwarded {
                name: "www.example.com",
                server: "10.99.2.53".parse().unwrap()
            }
        );
        assert_eq!(
            ev("reply video.example.com is <CNAME>"),
            DnsmasqEvent::Answer {
                source: AnswerSource::Reply,
                name: "video.example.com",
                data: "<CNAME>"
            }
        );
        assert_eq!(
            ev("cached-stale a is 1.2.3.4"),
            DnsmasqEvent::Answer {
                source: AnswerSource::Cached,
                name: "a",
                data: "1.2.3.4"
            }
        );
        assert_eq!(
            ev("/srv/datasets/dnsconn/config/lan_hosts nas.home.lan is 10.99.1.3"),
            DnsmasqEvent::Answer {
                source: AnswerSource::Hosts("/srv/datasets/dnsconn/config/lan_hosts"),
                name: "nas.home.lan",
                data: "10.99.1.3"
            }
        );
        let extra = parse("1234 10.0.0.2/53412 query[A] example.org from 10.0.0.2").unwrap();
        assert_eq!(
            (extra.serial, extra.client.map(|c| c.1)),
            (Some(1234), Some(53412))
        );
        assert_eq!(
            ev("forwarded x to fd99:2::53#53"),
            DnsmasqEvent::Forwarded {
                name: "x",
                server: "fd99:2::53".parse().unwrap()
            }
        );
    }

    #[test]
    fn chatter_is_not_an_error() {
        for msg in [
            "started, version 2.90 cachesize 150",
            "compile time options: IPv6 GNU-getopt DBus",
            "using nameserver 10.99.2.53#53",
            "read /srv/datasets/dnsconn/config/lan_hosts - 3 names",
            "exiting on receipt of SIGTERM",
            "3 addresses in use",
            "",
        ] {
            assert_eq!(ev(msg), DnsmasqEvent::Chatter, "{msg}");
        }
    }

    #[test]
    fn malformed_lines_name_the_field() {
        for (msg, field) in [
            ("query[A] x from nowhere", "client"),
            ("query[] x from 1.2.3.4", "query"),
            ("query[A] x", "query"),
            ("forwarded x to", "forwarded"),
            ("forwarded x to 1.2.3", "server"),
            ("reply x", "reply"),
            ("reply x is ", "data"),
            ("12 1.2.3/9 query[A] x from 1.2.3.4", "client"),
        ] {
            match parse(msg) {
                Err(LineError::BadField { field: got, .. }) => assert_eq!(got, field, "{msg}"),
                other => panic!("{msg}: {other:?}"),
            }
        }
    }
}
