//! `tripline config import-iptraffic FILE`: the legacy iptraffic
//! configuration ("Poor Man's IDS") as tripline TOML.
//!
//! The legacy file is a loose INI: `#` remarks, blank lines, a `[us]`
//! section of home address text prefixes (`192.168.1.` or `2001:db8:`
//! match every address that starts so; a full address is one host) and an
//! `[ignores]` section of tab-separated records: our address, our port,
//! their address, their port, domain (or `*`), protocol (`TCP`, `UDP`,
//! `ICMP`, ports being the ICMP type), 1 incoming / 0 outgoing. Addresses are
//! prefixes as in `[us]` or `*`; port 0 matches all.
//!
//! `[us]` becomes `home_net`, each ignore record one `[[connwatch.allow]]`
//! table (noting its line). Bad lines are reported on stderr as
//! `FILE:LINE: problem`, the good ones are still converted, and the exit
//! status is 1 when there was any bad line.

use anyhow::{Context, Result};
use std::net::IpAddr;
use std::path::Path;
use std::process::ExitCode;
use tripline_core::Cidr;
use tripline_detect::AllowRule;
use tripline_detect::allow_list::{DirectionMatch, DomainPattern, ProtoMatch, toml_string};

/// What a legacy file converts to.
#[derive(Debug, Default, PartialEq)]
pub struct Imported {
    /// `[us]` prefixes.
    pub home_net: Vec<Cidr>,
    /// `[ignores]` records with their line numbers.
    pub rules: Vec<(usize, AllowRule)>,
    /// Bad lines: (line number, problem).
    pub errors: Vec<(usize, String)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Section {
    None,
    Us,
    Ignores,
    Unknown,
}

/// Converts the text of a legacy file.
pub fn convert(text: &str) -> Imported {
    let mut out = Imported::default();
    let mut section = Section::None;
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end_matches('\r');
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if t.starts_with('[') && t.ends_with(']') {
            section = match t[1..t.len() - 1].trim().to_ascii_lowercase().as_str() {
                "us" => Section::Us,
                "ignores" => Section::Ignores,
                other => {
                    out.errors.push((
                        n,
                        format!("unknown section [{other}] (its lines are skipped)"),
                    ));
                    Section::Unknown
                }
            };
            continue;
        }
        match section {
            Section::None => out
                .errors
                .push((n, "line outside any section ([us] or [ignores])".into())),
            Section::Unknown => {}
            Section::Us => match legacy_prefix(t) {
                Ok(c) => out.home_net.push(c),
                Err(e) => out.errors.push((n, e)),
            },
            Section::Ignores => match ignore_record(line) {
                Ok(mut r) => {
                    r.note = Some(format!("iptraffic line {n}"));
                    out.rules.push((n, r));
                }
                Err(e) => out.errors.push((n, e)),
            },
        }
    }
    out
}

/// One `[ignores]` record.
fn ignore_record(line: &str) -> Result<AllowRule, String> {
    let f: Vec<&str> = line
        .trim_matches(|c| c == '\r' || c == '\n')
        .split('\t')
        .map(str::trim)
        .collect();
    if f.len() != 7 {
        return Err(format!(
            "expected 7 tab-separated fields (our address, our port, their address, their port, \
             domain, protocol, 1 incoming/0 outgoing), found {}",
            f.len()
        ));
    }
    let addr = |s: &str, what: &str| -> Result<Option<Cidr>, String> {
        if s == "*" {
            Ok(None)
        } else {
            legacy_prefix(s)
                .map(Some)
                .map_err(|e| format!("{what}: {e}"))
        }
    };
    let port = |s: &str, what: &str| -> Result<Option<u16>, String> {
        match s.parse::<u16>() {
            Ok(0) => Ok(None),
            Ok(p) => Ok(Some(p)),
            Err(_) => Err(format!("{what}: {s:?} is not a port number (0 to 65535)")),
        }
    };
    let domain = if f[4] == "*" {
        DomainPattern::Any
    } else {
        f[4].parse::<DomainPattern>()
            .map_err(|e| format!("domain: {e}"))?
    };
    let proto = match f[5].to_ascii_uppercase().as_str() {
        "TCP" => ProtoMatch::Tcp,
        "UDP" => ProtoMatch::Udp,
        "ICMP" => ProtoMatch::Icmp,
        _ => return Err(format!("protocol: {:?} is not TCP, UDP or ICMP", f[5])),
    };
    let direction = match f[6] {
        "1" => DirectionMatch::In,
        "0" => DirectionMatch::Out,
        other => {
            return Err(format!(
                "direction: {other:?} is not 1 (incoming) or 0 (outgoing)"
            ));
        }
    };
    Ok(AllowRule {
        ours: addr(f[0], "our address")?,
        our_port: port(f[1], "our port")?,
        theirs: addr(f[2], "their address")?,
        their_port: port(f[3], "their port")?,
        domain,
        proto,
        direction,
        note: None,
    })
}

/// A legacy text prefix (`192.168.1.`, `10.`, `2001:db8:`) or full address
/// as a CIDR prefix.
pub fn legacy_prefix(s: &str) -> Result<Cidr, String> {
    let bad = |why: &str| format!("{s:?}: {why}");
    if s.contains(':') {
        if !s.ends_with(':') || s.ends_with(":::") {
            let a: IpAddr = s
                .parse()
                .map_err(|_| bad("not an IPv6 address or prefix ending in ':'"))?;
            return Cidr::new(a, 128).ok_or_else(|| bad("invalid"));
        }
        let head = &s[..s.len() - 1];
        if head.contains("::") || head.ends_with(':') || head.is_empty() {
            return Err(bad(
                "a prefix must spell out its leading groups (write 2001:db8: not 2001::)",
            ));
        }
        let groups: Vec<&str> = head.split(':').collect();
        if groups.len() > 7
            || groups
                .iter()
                .any(|g| g.is_empty() || g.len() > 4 || !g.bytes().all(|b| b.is_ascii_hexdigit()))
        {
            return Err(bad(
                "not an IPv6 prefix (1 to 7 groups of 1-4 hex digits, then ':')",
            ));
        }
        let a: IpAddr = format!("{head}::")
            .parse()
            .map_err(|_| bad("not an IPv6 prefix"))?;
        return Cidr::new(a, 16 * groups.len() as u8).ok_or_else(|| bad("invalid"));
    }
    if let Some(head) = s.strip_suffix('.') {
        let octets: Vec<&str> = head.split('.').collect();
        if octets.len() > 3
            || octets
                .iter()
                .any(|o| o.parse::<u8>().is_err() || o.len() > 3)
        {
            return Err(bad("not an IPv4 prefix (1 to 3 numbers 0-255, then '.')"));
        }
        let mut b = [0u8; 4];
        for (i, o) in octets.iter().enumerate() {
            b[i] = o.parse().map_err(|_| bad("octet out of range"))?;
        }
        return Cidr::new(IpAddr::from(b), 8 * octets.len() as u8).ok_or_else(|| bad("invalid"));
    }
    let a: IpAddr = s
        .parse()
        .map_err(|_| bad("not an address or a prefix ending in '.' or ':'"))?;
    Cidr::new(a, if a.is_ipv4() { 32 } else { 128 }).ok_or_else(|| bad("invalid"))
}

/// The TOML text of an import.
pub fn to_toml(imp: &Imported, source: &str) -> String {
    let mut s = format!(
        "# Converted from {} by `tripline config import-iptraffic`.\n",
        toml_string(source).trim_matches('"')
    );
    if imp.home_net.is_empty() {
        s.push_str("# No [us] section: home_net keeps its default.\n");
    } else {
        let nets: Vec<String> = imp.home_net.iter().map(|c| format!("\"{c}\"")).collect();
        s.push_str(&format!("home_net = [{}]\n", nets.join(", ")));
    }
    for (_, r) in &imp.rules {
        s.push('\n');
        s.push_str(&r.to_toml());
    }
    s
}

/// Runs the command: TOML on stdout, bad lines on stderr.
pub fn run(file: &Path) -> Result<ExitCode> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let text = String::from_utf8_lossy(&text);
    let imp = convert(&text);
    print!("{}", to_toml(&imp, &file.display().to_string()));
    for (line, e) in &imp.errors {
        eprintln!("{}:{line}: {e}", file.display());
    }
    if imp.errors.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "tripline: {} bad lines in {} (not converted)",
            imp.errors.len(),
            file.display()
        );
        Ok(ExitCode::from(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let p = |s: &str| legacy_prefix(s).map(|c| c.to_string());
        assert_eq!(p("192.168.1.").unwrap(), "192.168.1.0/24");
        assert_eq!(p("10.").unwrap(), "10.0.0.0/8");
        assert_eq!(p("192.168.1.7").unwrap(), "192.168.1.7/32");
        assert_eq!(p("2001:db8:").unwrap(), "2001:db8::/32");
        assert_eq!(p("2001:db8:0:1:").unwrap(), "2001:db8:0:1::/64");
        assert_eq!(p("2001:db8::5").unwrap(), "2001:db8::5/128");
        for bad in [
            "192.168.1",
            "300.1.",
            "1.2.3.4.",
            "2001::",
            "gggg:",
            "a:b:c:d:e:f:1:2:",
            "",
        ] {
            assert!(legacy_prefix(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn converts_and_reports_bad_lines() {
        let text = "# remark\n[us]\n192.168.1.\n2001:db8:\n\n[ignores]\n\
                    *\t0\t*\t443\twww.example.com\tTCP\t0\n\
                    192.168.1.5\t22\t*\t0\t*\tTCP\t1\n\
                    *\t0\t*\t8\t*\tICMP\t0\n\
                    *\t0\t*\t443\tTCP\t0\n\
                    *\t0\t*\t53\t*\tSCTP\t0\n\
                    *\t0\t*\t99999\t*\tUDP\t0\n\
                    *\t0\t*\t53\t*\tUDP\t2\n\
                    [other]\nwhatever\n";
        let imp = convert(text);
        assert_eq!(imp.home_net.len(), 2);
        assert_eq!(imp.rules.len(), 3);
        let lines: Vec<usize> = imp.errors.iter().map(|e| e.0).collect();
        assert_eq!(lines, vec![10, 11, 12, 13, 14]);
        assert!(imp.errors[0].1.contains("found 6"));
        assert!(imp.errors[1].1.contains("SCTP"));
        let toml_text = to_toml(&imp, "legacy.conf");
        // The output is a valid tripline configuration with the same meaning.
        let cfg = crate::config::Config::parse(&toml_text, "import").unwrap();
        assert_eq!(cfg.home_net, imp.home_net);
        assert_eq!(cfg.connwatch.allow.len(), 3);
        let r = &cfg.connwatch.allow[0];
        assert_eq!(
            (r.their_port, r.proto, r.direction, r.domain.to_string()),
            (
                Some(443),
                ProtoMatch::Tcp,
                DirectionMatch::Out,
                "www.example.com".to_string()
            )
        );
        assert_eq!(
            cfg.connwatch.allow[1].ours.unwrap().to_string(),
            "192.168.1.5/32"
        );
        assert_eq!(cfg.connwatch.allow[1].direction, DirectionMatch::In);
        assert_eq!(cfg.connwatch.allow[2].proto, ProtoMatch::Icmp);
        assert!(convert("10.\n").errors[0].1.contains("outside any section"));
    }
}
