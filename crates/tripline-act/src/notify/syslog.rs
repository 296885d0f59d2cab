//! Syslog: RFC 5424 (with the alert's key fields as structured data) or RFC
//! 3164, to the local daemon over `/dev/log`, or to a collector over UDP
//! (RFC 5426) or TCP (RFC 6587 octet counting or LF framing).

use super::notice::{Notice, danger_level};
use super::text::{header_token, one_line};
use super::{Channel, DeliveryError, NotifyError, SyslogConfig, SyslogFormat, SyslogFraming};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{TcpStream, ToSocketAddrs, UdpSocket};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Largest datagram sent (RFC 5426 asks receivers for at least 2048 bytes);
/// longer messages are cut at a character boundary.
pub const MAX_DATAGRAM: usize = 2048;

/// Largest message on a TCP stream.
pub const MAX_STREAM_MESSAGE: usize = 8192;

/// The SD-ID of tripline's structured data element.
pub const SD_ID: &str = "tripline@32473";

/// Where messages go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyslogTarget {
    /// A local datagram socket (`/dev/log`).
    Unix(PathBuf),
    /// A collector over UDP (`host:port`).
    Udp(String),
    /// A collector over TCP (`host:port`).
    Tcp(String),
}

impl SyslogTarget {
    /// Parses `unix:PATH`, `udp:HOST:PORT` or `tcp:HOST:PORT`.
    pub fn parse(s: &str) -> Result<SyslogTarget, NotifyError> {
        let bad = || {
            NotifyError::Config(format!(
                "syslog target {s:?}: expected unix:PATH, udp:HOST:PORT or tcp:HOST:PORT"
            ))
        };
        let (scheme, rest) = s.split_once(':').ok_or_else(bad)?;
        let host_port = |r: &str| -> Result<String, NotifyError> {
            let (_, port) = r.rsplit_once(':').ok_or_else(bad)?;
            port.parse::<u16>().map_err(|_| bad())?;
            Ok(r.to_string())
        };
        match scheme {
            "unix" if !rest.is_empty() => Ok(SyslogTarget::Unix(PathBuf::from(rest))),
            "udp" => Ok(SyslogTarget::Udp(host_port(rest)?)),
            "tcp" => Ok(SyslogTarget::Tcp(host_port(rest)?)),
            _ => Err(bad()),
        }
    }
}

/// The facility number for a name.
pub fn facility_code(name: &str) -> Option<u8> {
    Some(match name {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "authpriv" => 10,
        "local0" => 16,
        "local1" => 17,
        "local2" => 18,
        "local3" => 19,
        "local4" => 20,
        "local5" => 21,
        "local6" => 22,
        "local7" => 23,
        _ => return None,
    })
}

/// The syslog severity for a notice: high alerts are `crit` (2), medium
/// `warning` (4), low `notice` (5), others and digests `info` (6).
fn syslog_severity(n: &Notice) -> u8 {
    match n {
        Notice::Alert(a) => match a.alert.severity.0 {
            1 => 2,
            2 => 4,
            3 => 5,
            _ => 6,
        },
        Notice::Digest(_) => 6,
    }
}

/// Sends notices as syslog messages.
pub struct SyslogChannel {
    target: SyslogTarget,
    format: SyslogFormat,
    framing: SyslogFraming,
    facility: u8,
    app_name: String,
    hostname: String,
    timeout: Duration,
    tcp: Mutex<Option<TcpStream>>,
}

impl SyslogChannel {
    /// A channel as configured.
    pub fn new(cfg: &SyslogConfig) -> Result<SyslogChannel, NotifyError> {
        let facility = facility_code(&cfg.facility).ok_or_else(|| {
            NotifyError::Config(format!("syslog facility {:?} is unknown", cfg.facility))
        })?;
        let hostname = cfg.hostname.clone().unwrap_or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default()
        });
        Ok(SyslogChannel {
            target: SyslogTarget::parse(&cfg.target)?,
            format: cfg.format,
            framing: cfg.framing,
            facility,
            app_name: header_token(&cfg.app_name, 48),
            hostname: header_token(&hostname, 255),
            timeout: Duration::from_secs(cfg.timeout.max(1)),
            tcp: Mutex::new(None),
        })
    }

    /// The message for `n` (without transport framing).
    pub fn format(&self, n: &Notice) -> String {
        let pri = u32::from(self.facility) * 8 + u32::from(syslog_severity(n));
        let pid = std::process::id();
        let mut m = String::with_capacity(512);
        match self.format {
            SyslogFormat::Rfc5424 => {
                let msgid = match n {
                    Notice::Alert(_) => "alert",
                    Notice::Digest(_) => "digest",
                };
                let _ = write!(
                    m,
                    "<{pri}>1 {} {} {} {pid} {msgid} ",
                    n.ts(),
                    self.hostname,
                    self.app_name
                );
                structured_data(&mut m, n);
                m.push(' ');
                m.push_str(&n.log_line());
            }
            SyslogFormat::Rfc3164 => {
                let (_, mo, d, h, mi, s) = n.ts().to_civil();
                const MONTHS: [&str; 12] = [
                    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                    "Dec",
                ];
                let month = MONTHS[(mo.clamp(1, 12) - 1) as usize];
                let _ = write!(
                    m,
                    "<{pri}>{month} {d:>2} {h:02}:{mi:02}:{s:02} {} {}[{pid}]: {}",
                    self.hostname,
                    self.app_name,
                    n.log_line()
                );
            }
        }
        m
    }

    fn send_tcp(&self, msg: &[u8]) -> Result<(), DeliveryError> {
        let SyslogTarget::Tcp(addr) = &self.target else {
            return Err(DeliveryError::new("not a TCP target"));
        };
        let mut framed = Vec::with_capacity(msg.len() + 8);
        match self.framing {
            SyslogFraming::Octet => {
                framed.extend_from_slice(msg.len().to_string().as_bytes());
                framed.push(b' ');
                framed.extend_from_slice(msg);
            }
            SyslogFraming::Lf => {
                framed.extend_from_slice(msg);
                framed.push(b'\n');
            }
        }
        let mut guard = self
            .tcp
            .lock()
            .map_err(|_| DeliveryError::new("syslog connection lock poisoned"))?;
        // One retry on a fresh connection: the collector may have closed an idle one.
        let mut last = String::new();
        for _ in 0..2 {
            if guard.is_none() {
                match connect(addr, self.timeout) {
                    Ok(s) => *guard = Some(s),
                    Err(e) => {
                        last = e;
                        continue;
                    }
                }
            }
            if let Some(s) = guard.as_mut() {
                match s.write_all(&framed).and_then(|()| s.flush()) {
                    Ok(()) => return Ok(()),
                    Err(e) => {
                        last = format!("writing to {addr}: {e}");
                        *guard = None;
                    }
                }
            }
        }
        Err(DeliveryError(last))
    }
}

fn connect(addr: &str, timeout: Duration) -> Result<TcpStream, String> {
    let addrs = addr
        .to_socket_addrs()
        .map_err(|e| format!("resolving {addr}: {e}"))?;
    let mut last = format!("{addr}: no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                let _ = s.set_write_timeout(Some(timeout));
                return Ok(s);
            }
            Err(e) => last = format!("connecting to {a}: {e}"),
        }
    }
    Err(last)
}

/// Cuts `s` to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Appends an SD-PARAM value with `"`, `\` and `]` escaped (RFC 5424 6.3.3).
fn push_param(m: &mut String, name: &str, value: &str) {
    let _ = write!(m, " {name}=\"");
    for ch in one_line(value, 200).chars() {
        if matches!(ch, '"' | '\\' | ']') {
            m.push('\\');
        }
        m.push(ch);
    }
    m.push('"');
}

fn structured_data(m: &mut String, n: &Notice) {
    match n {
        Notice::Alert(a) => {
            let al = &a.alert;
            let _ = write!(m, "[{SD_ID}");
            if let Some(src) = al.src {
                push_param(m, "src", &src.to_string());
            }
            if let Some(dst) = al.dst {
                push_param(m, "dst", &dst.to_string());
            }
            if let Some(p) = al.dport {
                push_param(m, "dport", &p.to_string());
            }
            push_param(m, "sid", &al.sid.to_string());
            push_param(m, "severity", &al.severity.0.to_string());
            if let Some(dl) = danger_level(al) {
                push_param(m, "danger_level", &dl.to_string());
            }
            push_param(m, "detector", &al.detector);
            m.push(']');
        }
        Notice::Digest(d) => {
            let _ = write!(m, "[{SD_ID}");
            push_param(m, "digest_alerts", &d.alerts.to_string());
            m.push(']');
        }
    }
}

impl Channel for SyslogChannel {
    fn name(&self) -> &'static str {
        "syslog"
    }

    fn deliver(&self, n: &Notice) -> Result<(), DeliveryError> {
        let msg = self.format(n);
        match &self.target {
            SyslogTarget::Unix(path) => {
                let sock = UnixDatagram::unbound()
                    .map_err(|e| DeliveryError(format!("unix socket: {e}")))?;
                let _ = sock.set_write_timeout(Some(self.timeout));
                sock.send_to(cut(&msg, MAX_DATAGRAM).as_bytes(), path)
                    .map(|_| ())
                    .map_err(|e| DeliveryError(format!("sending to {}: {e}", path.display())))
            }
            SyslogTarget::Udp(addr) => {
                let to = addr
                    .to_socket_addrs()
                    .map_err(|e| DeliveryError(format!("resolving {addr}: {e}")))?
                    .next()
                    .ok_or_else(|| DeliveryError(format!("{addr}: no address")))?;
                let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                let sock =
                    UdpSocket::bind(bind).map_err(|e| DeliveryError(format!("udp socket: {e}")))?;
                sock.send_to(cut(&msg, MAX_DATAGRAM).as_bytes(), to)
                    .map(|_| ())
                    .map_err(|e| DeliveryError(format!("sending to {to}: {e}")))
            }
            SyslogTarget::Tcp(_) => self.send_tcp(cut(&msg, MAX_STREAM_MESSAGE).as_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            SyslogTarget::parse("unix:/dev/log").unwrap(),
            SyslogTarget::Unix("/dev/log".into())
        );
        assert_eq!(
            SyslogTarget::parse("udp:[::1]:514").unwrap(),
            SyslogTarget::Udp("[::1]:514".into())
        );
        assert!(SyslogTarget::parse("tcp:host").is_err());
        assert!(SyslogTarget::parse("http://x").is_err());
        assert!(SyslogTarget::parse("unix:").is_err());
    }

    #[test]
    fn params_are_escaped_and_cut_respects_characters() {
        let mut m = String::new();
        push_param(&mut m, "msg", "a\"b]c\\d\ne");
        assert_eq!(m, r#" msg="a\"b\]c\\d\\x0ae""#);
        assert_eq!(cut("ééé", 3), "é");
        assert!(facility_code("local7") == Some(23) && facility_code("nope").is_none());
    }
}
