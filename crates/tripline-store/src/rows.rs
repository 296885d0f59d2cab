//! Record ↔ row mapping: the insert statements and the decoders.

use crate::store::{from_sql_u64, sql_u64};
use crate::{InputId, StoredConnection};
use rusqlite::{Connection as Db, Row, params};
use std::fmt::Write as _;
use std::net::IpAddr;
use tripline_core::{
    Alert, AuthEvent, AuthLog, ConnOrigin, ConnState, Connection, Direction, DnsData, DnsEvent,
    DnsLog, DnsOrigin, InputError, Location, Timestamp,
};

pub(crate) const INSERT_CONNECTION: &str = "INSERT INTO connections (input_id, start_ns, end_ns, src, sport, dst, \
    dport, protocol, orig_packets, orig_bytes, resp_packets, resp_bytes, state, history, community_id, direction, \
    origin, fw_prefix, fw_in, fw_out) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, \
    ?16, ?17, ?18, ?19, ?20)";

const INSERT_DNS: &str = "INSERT INTO dns (input_id, ts_ns, origin, event, client, server, txid, name, qtype, \
    rcode, from_config, blocked) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

const INSERT_DNS_ANSWER: &str =
    "INSERT INTO dns_answers (dns_id, pos, name, kind, data, ttl) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

const INSERT_AUTH: &str = "INSERT INTO auth (input_id, ts_ns, host, service, pid, event, method, user, \
    invalid_user, src, port) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";

const INSERT_ALERT: &str = "INSERT INTO alerts (input_id, ts_ns, detector, gid, sid, rev, msg, category, \
    severity, src, sport, dst, dport, protocol, community_id, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
    ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)";

const INSERT_INPUT_ERROR: &str = "INSERT INTO input_errors (input_id, location_kind, location_value, kind, \
    message) VALUES (?1, ?2, ?3, ?4, ?5)";

/// The columns [`connection_from_row`] reads, in order.
pub(crate) const CONNECTION_COLUMNS: &str = "id, input_id, start_ns, end_ns, src, sport, dst, dport, protocol, \
    orig_packets, orig_bytes, resp_packets, resp_bytes, state, history, community_id, direction, origin, \
    fw_prefix, fw_in, fw_out";

/// Reusable text buffers for addresses, so inserting a row does not allocate.
#[derive(Default)]
pub(crate) struct AddrText {
    a: String,
    b: String,
}

impl AddrText {
    fn two(&mut self, x: IpAddr, y: IpAddr) -> (&str, &str) {
        fill(&mut self.a, x);
        fill(&mut self.b, y);
        (&self.a, &self.b)
    }

    fn two_opt(&mut self, x: Option<IpAddr>, y: Option<IpAddr>) -> (Option<&str>, Option<&str>) {
        if let Some(x) = x {
            fill(&mut self.a, x);
        }
        if let Some(y) = y {
            fill(&mut self.b, y);
        }
        (x.map(|_| self.a.as_str()), y.map(|_| self.b.as_str()))
    }
}

fn fill(buf: &mut String, addr: IpAddr) {
    buf.clear();
    // Writing to a String cannot fail.
    let _ = write!(buf, "{addr}");
}

/// Inserts one connection.
pub(crate) fn insert_connection(
    db: &Db,
    input: Option<i64>,
    c: &Connection,
    text: &mut AddrText,
) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(INSERT_CONNECTION)?;
    let (src, dst) = text.two(c.src, c.dst);
    let (origin, prefix, iin, iout) = match &c.origin {
        ConnOrigin::Capture => ("capture", None, None, None),
        ConnOrigin::Firewall {
            prefix,
            in_iface,
            out_iface,
        } => (
            "firewall",
            Some(prefix.as_str()),
            Some(in_iface.as_str()),
            Some(out_iface.as_str()),
        ),
    };
    stmt.execute(params![
        input,
        c.start.0,
        c.end.0,
        src,
        c.sport,
        dst,
        c.dport,
        c.protocol,
        sql_u64(c.orig_packets),
        sql_u64(c.orig_bytes),
        sql_u64(c.resp_packets),
        sql_u64(c.resp_bytes),
        c.state.as_str(),
        c.history,
        c.community_id,
        c.direction.as_str(),
        origin,
        prefix,
        iin,
        iout,
    ])?;
    Ok(())
}

/// Inserts one DNS record and its answers.
pub(crate) fn insert_dns(
    db: &Db,
    input: Option<i64>,
    d: &DnsLog,
    text: &mut AddrText,
) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(INSERT_DNS)?;
    let (client, server) = text.two_opt(d.client, d.server);
    let dns_id = stmt.insert(params![
        input,
        d.ts.0,
        dns_origin_str(d.origin),
        dns_event_str(d.event),
        client,
        server,
        d.id,
        d.name,
        d.qtype,
        d.rcode,
        d.from_config,
        d.blocked,
    ])?;
    if d.answers.is_empty() {
        return Ok(());
    }
    let mut ans = db.prepare_cached(INSERT_DNS_ANSWER)?;
    for (pos, a) in d.answers.iter().enumerate() {
        let (kind, data) = match &a.data {
            DnsData::Addr(ip) => {
                fill(&mut text.a, *ip);
                ("addr", Some(text.a.as_str()))
            }
            DnsData::Cname(target) => ("cname", Some(target.as_str())),
            DnsData::NxDomain => ("nxdomain", None),
            DnsData::NoData => ("nodata", None),
            DnsData::Other(s) => ("other", Some(s.as_str())),
        };
        ans.execute(params![dns_id, pos as i64, a.name, kind, data, a.ttl])?;
    }
    Ok(())
}

/// Inserts one auth event.
pub(crate) fn insert_auth(
    db: &Db,
    input: Option<i64>,
    a: &AuthLog,
    text: &mut AddrText,
) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(INSERT_AUTH)?;
    let (src, _) = text.two_opt(a.src, None);
    stmt.execute(params![
        input,
        a.ts.0,
        a.host,
        a.service,
        a.pid,
        auth_event_str(a.event),
        a.method,
        a.user,
        a.invalid_user,
        src,
        a.port,
    ])?;
    Ok(())
}

/// Inserts one alert (details as JSON text).
pub(crate) fn insert_alert(
    db: &Db,
    input: Option<i64>,
    a: &Alert,
    text: &mut AddrText,
) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(INSERT_ALERT)?;
    let details = serde_json::to_string(&a.details)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    let (src, dst) = text.two_opt(a.src, a.dst);
    stmt.execute(params![
        input,
        a.ts.0,
        a.detector,
        a.gid,
        a.sid,
        a.rev,
        a.msg,
        a.category,
        a.severity.0,
        src,
        a.sport,
        dst,
        a.dport,
        a.protocol,
        a.community_id,
        details,
    ])?;
    Ok(())
}

/// Inserts one input error message.
pub(crate) fn insert_input_error(db: &Db, input: i64, e: &InputError) -> rusqlite::Result<()> {
    let mut stmt = db.prepare_cached(INSERT_INPUT_ERROR)?;
    let (kind, value) = location_parts(e.location);
    stmt.execute(params![input, kind, value, e.kind.as_str(), e.message])?;
    Ok(())
}

/// A location as (kind, value) columns.
pub(crate) fn location_parts(loc: Location) -> (&'static str, Option<i64>) {
    match loc {
        Location::Offset(o) => ("offset", Some(sql_u64(o))),
        Location::Line(l) => ("line", Some(sql_u64(l))),
        Location::File => ("file", None),
    }
}

/// The inverse of [`location_parts`].
pub(crate) fn location_from_parts(kind: &str, value: Option<i64>) -> Option<Location> {
    match (kind, value) {
        ("offset", Some(v)) => Some(Location::Offset(from_sql_u64(v))),
        ("line", Some(v)) => Some(Location::Line(from_sql_u64(v))),
        ("file", _) => Some(Location::File),
        _ => None,
    }
}

/// A stored row that failed to decode.
pub(crate) struct BadRow {
    /// Its row id.
    pub rowid: i64,
    /// The column and why.
    pub detail: String,
}

/// Decodes a row selected with [`CONNECTION_COLUMNS`].
pub(crate) fn connection_from_row(
    row: &Row<'_>,
) -> rusqlite::Result<Result<StoredConnection, BadRow>> {
    let id: i64 = row.get(0)?;
    let input: Option<i64> = row.get(1)?;
    let src: String = row.get(4)?;
    let dst: String = row.get(6)?;
    let state: String = row.get(13)?;
    let direction: String = row.get(16)?;
    let origin: String = row.get(17)?;
    let bad = |detail: String| Ok(Err(BadRow { rowid: id, detail }));
    let Ok(src) = src.parse::<IpAddr>() else {
        return bad(format!("src {src:?} is not an address"));
    };
    let Ok(dst) = dst.parse::<IpAddr>() else {
        return bad(format!("dst {dst:?} is not an address"));
    };
    let Some(state) = ConnState::parse(&state) else {
        return bad(format!("unknown state {state:?}"));
    };
    let Some(direction) = direction_parse(&direction) else {
        return bad(format!("unknown direction {direction:?}"));
    };
    let origin = match origin.as_str() {
        "capture" => ConnOrigin::Capture,
        "firewall" => ConnOrigin::Firewall {
            prefix: row.get::<_, Option<String>>(18)?.unwrap_or_default(),
            in_iface: row.get::<_, Option<String>>(19)?.unwrap_or_default(),
            out_iface: row.get::<_, Option<String>>(20)?.unwrap_or_default(),
        },
        other => return bad(format!("unknown origin {other:?}")),
    };
    Ok(Ok(StoredConnection {
        id,
        input: input.map(InputId),
        conn: Connection {
            start: Timestamp(row.get(2)?),
            end: Timestamp(row.get(3)?),
            src,
            sport: row.get(5)?,
            dst,
            dport: row.get(7)?,
            protocol: row.get(8)?,
            orig_packets: from_sql_u64(row.get(9)?),
            orig_bytes: from_sql_u64(row.get(10)?),
            resp_packets: from_sql_u64(row.get(11)?),
            resp_bytes: from_sql_u64(row.get(12)?),
            state,
            history: row.get(14)?,
            community_id: row.get(15)?,
            direction,
            origin,
        },
    }))
}

fn direction_parse(s: &str) -> Option<Direction> {
    [
        Direction::Inbound,
        Direction::Outbound,
        Direction::Internal,
        Direction::External,
    ]
    .into_iter()
    .find(|d| d.as_str() == s)
}

/// Stable column text for a DNS origin.
pub(crate) fn dns_origin_str(o: DnsOrigin) -> &'static str {
    match o {
        DnsOrigin::Dnsmasq => "dnsmasq",
        DnsOrigin::Packet => "packet",
    }
}

/// Stable column text for a DNS event (also used in EVE extras).
pub(crate) fn dns_event_str(e: DnsEvent) -> &'static str {
    match e {
        DnsEvent::Query => "query",
        DnsEvent::Forwarded => "forwarded",
        DnsEvent::Reply => "reply",
        DnsEvent::Cached => "cached",
        DnsEvent::Config => "config",
        DnsEvent::Hosts => "hosts",
    }
}

/// Stable column text for an auth event.
pub(crate) fn auth_event_str(e: AuthEvent) -> &'static str {
    match e {
        AuthEvent::Failed => "failed",
        AuthEvent::Accepted => "accepted",
        AuthEvent::InvalidUser => "invalid_user",
        AuthEvent::TooManyFailures => "too_many_failures",
        AuthEvent::ClosedPreauth => "closed_preauth",
    }
}
