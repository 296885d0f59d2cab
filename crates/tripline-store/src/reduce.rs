//! The compact connection record formats of `tripline reduce`: CSV and
//! JSON lines.

use serde::{Serialize, Serializer};
use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use tripline_core::{ConnOrigin, Connection, Timestamp, ip_proto};

/// The CSV header, in column order.
pub const CSV_HEADER: [&str; 17] = [
    "date",
    "time",
    "src",
    "srcport",
    "dst",
    "dstport",
    "protocol",
    "direction",
    "state",
    "orig_pkts",
    "orig_bytes",
    "resp_pkts",
    "resp_bytes",
    "duration",
    "community_id",
    "history",
    "origin",
];

/// The protocol column: tripline's lower-case name, else the number.
struct ProtoName(u8);

impl fmt::Display for ProtoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match ip_proto::name(self.0) {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for ProtoName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The origin column: `capture`, or `firewall:PREFIX` (`firewall` when the
/// LOG prefix is empty).
struct OriginText<'a>(&'a ConnOrigin);

impl fmt::Display for OriginText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ConnOrigin::Capture => f.write_str("capture"),
            ConnOrigin::Firewall { prefix, .. } if prefix.trim().is_empty() => {
                f.write_str("firewall")
            }
            ConnOrigin::Firewall { prefix, .. } => write!(f, "firewall:{}", prefix.trim()),
        }
    }
}

/// Writes connections as CSV with [`CSV_HEADER`]: date `YYYY-MM-DD` and time
/// `HH:MM:SS.uuuuuu` in UTC, protocol by name, duration in seconds with
/// microseconds. Quoting is the `csv` crate's (RFC 4180).
pub struct ConnCsvWriter<W: Write> {
    csv: csv::Writer<W>,
    field: Vec<u8>,
    rows: u64,
}

impl<W: Write> ConnCsvWriter<W> {
    /// Starts a CSV stream on `out` and writes the header.
    pub fn new(out: W) -> io::Result<Self> {
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out);
        csv.write_record(CSV_HEADER)?;
        Ok(ConnCsvWriter {
            csv,
            field: Vec::with_capacity(64),
            rows: 0,
        })
    }

    /// Rows written (header not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn put(&mut self, args: fmt::Arguments<'_>) -> io::Result<()> {
        self.field.clear();
        self.field.write_fmt(args)?;
        self.csv.write_field(&self.field)?;
        Ok(())
    }

    /// Writes one connection.
    pub fn write(&mut self, c: &Connection) -> io::Result<()> {
        let (y, mo, d, h, mi, s) = c.start.to_civil();
        self.put(format_args!("{y:04}-{mo:02}-{d:02}"))?;
        self.put(format_args!(
            "{h:02}:{mi:02}:{s:02}.{:06}",
            c.start.subsec_micros()
        ))?;
        self.put(format_args!("{}", c.src))?;
        self.put(format_args!("{}", c.sport))?;
        self.put(format_args!("{}", c.dst))?;
        self.put(format_args!("{}", c.dport))?;
        self.put(format_args!("{}", ProtoName(c.protocol)))?;
        self.csv.write_field(c.direction.as_str())?;
        self.csv.write_field(c.state.as_str())?;
        self.put(format_args!("{}", c.orig_packets))?;
        self.put(format_args!("{}", c.orig_bytes))?;
        self.put(format_args!("{}", c.resp_packets))?;
        self.put(format_args!("{}", c.resp_bytes))?;
        self.put(format_args!("{:.6}", c.duration()))?;
        self.csv.write_field(&c.community_id)?;
        self.csv.write_field(&c.history)?;
        self.put(format_args!("{}", OriginText(&c.origin)))?;
        self.csv.write_record(None::<&[u8]>)?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes buffered rows to the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.csv.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(self) -> io::Result<W> {
        self.csv.into_inner().map_err(|e| e.into_error())
    }
}

/// A timestamp as RFC 3339 UTC with microseconds, written without allocating.
struct Rfc3339(Timestamp);

impl Serialize for Rfc3339 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// One JSON-lines record: the CSV columns, with `ts`/`end` instead of
/// `date`/`time` and the full origin object.
#[derive(Serialize)]
struct ConnJson<'a> {
    ts: Rfc3339,
    end: Rfc3339,
    src: IpAddr,
    srcport: u16,
    dst: IpAddr,
    dstport: u16,
    protocol: ProtoName,
    direction: &'static str,
    state: &'static str,
    orig_pkts: u64,
    orig_bytes: u64,
    resp_pkts: u64,
    resp_bytes: u64,
    duration: f64,
    community_id: &'a str,
    history: &'a str,
    origin: &'a ConnOrigin,
}

/// Writes connections as JSON lines (one object per line).
pub struct ConnJsonWriter<W: Write> {
    out: W,
    rows: u64,
}

impl<W: Write> ConnJsonWriter<W> {
    /// A JSON-lines stream on `out` (wrap files in a `BufWriter`).
    pub fn new(out: W) -> Self {
        ConnJsonWriter { out, rows: 0 }
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one connection.
    pub fn write(&mut self, c: &Connection) -> io::Result<()> {
        let rec = ConnJson {
            ts: Rfc3339(c.start),
            end: Rfc3339(c.end),
            src: c.src,
            srcport: c.sport,
            dst: c.dst,
            dstport: c.dport,
            protocol: ProtoName(c.protocol),
            direction: c.direction.as_str(),
            state: c.state.as_str(),
            orig_pkts: c.orig_packets,
            orig_bytes: c.orig_bytes,
            resp_pkts: c.resp_packets,
            resp_bytes: c.resp_bytes,
            duration: c.duration(),
            community_id: &c.community_id,
            history: &c.history,
            origin: &c.origin,
        };
        serde_json::to_writer(&mut self.out, &rec).map_err(io::Error::other)?;
        self.out.write_all(b"\n")?;
        self.rows += 1;
        Ok(())
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
